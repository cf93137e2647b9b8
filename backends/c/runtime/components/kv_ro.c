/* kv_ro(files): a read-only key-value store baked into the image, the twin
 * of backends/python/runtime/kv_ro.py.  The generated file of the instance
 * (backends/http/c_site.py, files_to_c) holds every file's path and contents
 * back to back in SC_KV_DATA and, in SC_KV_INDEX, one row per file:
 * { path offset, path length, contents offset, contents length }, sorted by
 * path (memcmp, shorter first) for a binary search.
 *
 * `keys()` gives the paths as an `sc_list_str` (SC_KV_KEYS, generated
 * with the data): the C targets build no other list, so `len(kv.keys())`
 * is all a spec can do with it there; the lowerer refuses the rest. */
#include "components/component.h"

#include <string.h>

extern const uint8_t SC_KV_DATA[];
extern const uint32_t SC_KV_INDEX[][4];
extern const uint32_t SC_KV_COUNT;
extern const sc_str SC_KV_KEYS[];

void SC_FN(init)(void) {}

sc_opt_bytes SC_FN(get)(sc_str key) {
    size_t lo = 0, hi = SC_KV_COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const uint32_t *row = SC_KV_INDEX[mid];
        size_t m = row[1] < key.len ? row[1] : key.len;
        int c = m > 0 ? memcmp(SC_KV_DATA + row[0], key.ptr, m) : 0;
        if (c == 0) c = row[1] < key.len ? -1 : row[1] > key.len ? 1 : 0;
        if (c == 0) return (sc_opt_bytes){ true, { SC_KV_DATA + row[2], row[3] } };
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return (sc_opt_bytes){ false, { 0, 0 } };
}

sc_list_str SC_FN(keys)(void) { return (sc_list_str){ SC_KV_KEYS, SC_KV_COUNT }; }
