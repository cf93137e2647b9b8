/* The run-time core: see sc.h. */
#include "sc.h"

#include <string.h>

/* ---- traps and exit ------------------------------------------------------- */

static void write_str(const char *s) { platform_console_write(s, strlen(s)); }

_Noreturn void sc_exit(int status) { platform_exit(status); }

_Noreturn void sc_trap(const char *pos, const char *message) {
    write_str(pos);
    write_str(": ");
    write_str(message);
    write_str("\n");
    platform_exit(SC_EXIT_TRAP);
}

/* Decimal digits of v into the end of buf; returns where they start. */
static char *decimal(char *end, uint64_t v) {
    *--end = 0;
    do { *--end = (char)('0' + v % 10); v /= 10; } while (v);
    return end;
}

_Noreturn void sc_trap_index(const char *pos, uint64_t index, uint64_t len) {
    char a[24], b[24];
    write_str(pos);
    write_str(": index ");
    write_str(decimal(a + sizeof a, index));
    write_str(" out of range (length ");
    write_str(decimal(b + sizeof b, len));
    write_str(")\n");
    platform_exit(SC_EXIT_TRAP);
}

_Noreturn void sc_trap_slice(const char *pos, uint64_t lo, uint64_t hi, uint64_t len) {
    char a[24], b[24], c[24];
    write_str(pos);
    write_str(": slice [");
    write_str(decimal(a + sizeof a, lo));
    write_str(":");
    write_str(decimal(b + sizeof b, hi));
    write_str("] out of range (length ");
    write_str(decimal(c + sizeof c, len));
    write_str(")\n");
    platform_exit(SC_EXIT_TRAP);
}


/* ---- the arena -------------------------------------------------------------- */

/* One event's strings and bytes, in memory the target provides
 * (sc_target_arena): on hvt the heap left once the platform has taken its
 * rings and page tables, so that it grows with QEMU's -m instead of being a
 * fixed array in the image; on unix a static megabyte.  Exhausting it is a
 * trap, not a corruption. */
static uint8_t *arena;
static size_t arena_size, arena_used;

static void arena_start(void) {
    if (arena != 0) return;
    struct platform_region r = sc_target_arena();
    uintptr_t base = (r.base + 15u) & ~(uintptr_t)15u;
    if (r.base == 0 || base - r.base >= r.size) sc_trap("runtime", "no memory for the arena");
    arena = (uint8_t *)base;
    arena_size = r.size - (base - r.base);
}

void *sc_alloc_at(size_t size, const char *pos) {
    arena_start();
    size_t start = (arena_used + 15u) & ~(size_t)15u;
    if (start > arena_size || size > arena_size - start)
        sc_trap(pos ? pos : "runtime", "out of memory for this event");
    arena_used = start + size;
    return arena + start;
}

void *sc_alloc(size_t size) { return sc_alloc_at(size, 0); }

void sc_arena_reset(void) { arena_used = 0; }

size_t sc_arena_free(void) { arena_start(); return arena_size - arena_used; }

void sc_arena_require(size_t need) {
    arena_start();
    if (arena_size >= need) return;
    char a[24], b[24];
    write_str("runtime: this image needs ");
    write_str(decimal(a + sizeof a, (need + 1023u) / 1024u));
    write_str(" KiB of arena for one event and has ");
    write_str(decimal(b + sizeof b, arena_size / 1024u));
    write_str(" KiB: give it more memory (QEMU -m)\n");
    platform_exit(PLATFORM_EXIT_NO_MEMORY);
}

/* ---- bytes and strings ---------------------------------------------------------- */

bool sc_bytes_eq(sc_bytes a, sc_bytes b) { return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0); }
bool sc_str_eq(sc_str a, sc_str b) { return sc_bytes_eq(sc_str_bytes(a), sc_str_bytes(b)); }

int sc_bytes_cmp(sc_bytes a, sc_bytes b) {
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c != 0) return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

const void *sc_list_concat(const void *a, size_t an, const void *b, size_t bn, size_t size,
                           const char *pos) {
    if (an + bn == 0) return 0;
    /* Lengths are bounded by the arena, so an + bn cannot wrap; the product
     * is checked before the allocation sees it. */
    size_t total;
    if (__builtin_mul_overflow(an + bn, size, &total))
        sc_trap(pos ? pos : "runtime", "out of memory for this event");
    uint8_t *p = sc_alloc_at(total, pos);
    if (an) memcpy(p, a, an * size);
    if (bn) memcpy(p + an * size, b, bn * size);
    return p;
}

sc_bytes sc_bytes_concat(sc_bytes a, sc_bytes b, const char *pos) {
    const uint8_t *p = sc_list_concat(a.ptr, a.len, b.ptr, b.len, 1, pos);
    return (sc_bytes){ p, a.len + b.len };
}

sc_str sc_str_concat(sc_str a, sc_str b, const char *pos) {
    sc_bytes r = sc_bytes_concat(sc_str_bytes(a), sc_str_bytes(b), pos);
    return (sc_str){ (const char *)r.ptr, r.len };
}

uint8_t sc_bytes_at(sc_bytes b, uint64_t i, const char *pos) {
    if (i >= b.len) sc_trap_index(pos, i, b.len);
    return b.ptr[i];
}

sc_range sc_slice_range(size_t len, bool has_lo, uint64_t lo, bool has_hi, uint64_t hi,
                        const char *pos) {
    uint64_t low = has_lo ? lo : 0, high = has_hi ? hi : len;
    if (low > high || high > len) sc_trap_slice(pos, low, high, len);
    return (sc_range){ (size_t)low, (size_t)high };
}

sc_bytes sc_bytes_slice(sc_bytes b, bool has_lo, uint64_t lo, bool has_hi, uint64_t hi,
                        const char *pos) {
    sc_range r = sc_slice_range(b.len, has_lo, lo, has_hi, hi, pos);
    return (sc_bytes){ b.ptr + r.lo, r.hi - r.lo };
}

/* RFC 3629: shortest forms only, no surrogates, nothing above U+10FFFF. */
sc_opt_str sc_utf8(sc_bytes b) {
    size_t i = 0;
    while (i < b.len) {
        uint8_t c = b.ptr[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > b.len) return (sc_opt_str){ false, { 0, 0 } };
        uint32_t cp = n == 1 ? c : c & (0x7Fu >> n);
        for (size_t k = 1; k < n; k++) {
            if ((b.ptr[i + k] & 0xC0) != 0x80) return (sc_opt_str){ false, { 0, 0 } };
            cp = cp << 6 | (b.ptr[i + k] & 0x3F);
        }
        static const uint32_t min_for[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min_for[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return (sc_opt_str){ false, { 0, 0 } };
        i += n;
    }
    return (sc_opt_str){ true, { (const char *)b.ptr, b.len } };
}

static void buf_grow(sc_buf *b, size_t more) {
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->len + more) cap *= 2;
    char *p = sc_alloc_at(cap, b->pos);
    if (b->len) memcpy(p, b->ptr, b->len);
    b->ptr = p;
    b->cap = cap;
}

void sc_buf_lit(sc_buf *b, const char *s, size_t n) {
    buf_grow(b, n);
    if (n) memcpy(b->ptr + b->len, s, n);
    b->len += n;
}

void sc_buf_str(sc_buf *b, sc_str s) { sc_buf_lit(b, s.ptr, s.len); }

void sc_buf_u64(sc_buf *b, uint64_t v) {
    char digits[20];
    size_t n = 0;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    buf_grow(b, n);
    while (n) b->ptr[b->len++] = digits[--n];
}

void sc_buf_i64(sc_buf *b, int64_t v) {
    if (v < 0) { sc_buf_lit(b, "-", 1); sc_buf_u64(b, (uint64_t)0 - (uint64_t)v); }
    else sc_buf_u64(b, (uint64_t)v);
}

void sc_buf_bool(sc_buf *b, bool v) { if (v) sc_buf_lit(b, "true", 4); else sc_buf_lit(b, "false", 5); }

void sc_buf_ipv4(sc_buf *b, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        sc_buf_u64(b, (v >> shift) & 255u);
        if (shift) sc_buf_lit(b, ".", 1);
    }
}

void sc_buf_cidr(sc_buf *b, sc_cidr v) { sc_buf_ipv4(b, v.address); sc_buf_lit(b, "/", 1); sc_buf_u64(b, v.prefix); }

/* The rule of docs/language.md section 4.11, digit for digit as the
 * compiler (specc/values.py format_duration) and the python runtime write
 * it: a whole number of seconds in the largest of h, m, s that divides it;
 * anything else in the largest of s, ms, us it reaches, with up to three
 * decimals truncated toward zero; below 1us in ns. */
void sc_buf_duration(sc_buf *b, int64_t ns) {
    if (ns == 0) { sc_buf_lit(b, "0s", 2); return; }
    if (ns < 0) sc_buf_lit(b, "-", 1);
    uint64_t n = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns; /* INT64_MIN too */
    static const struct { const char *unit; uint64_t scale; } whole[] = {
        { "h", 3600000000000u }, { "m", 60000000000u }, { "s", 1000000000u } };
    static const struct { const char *unit; uint64_t scale; } decimal[] = {
        { "s", 1000000000u }, { "ms", 1000000u }, { "us", 1000u }, { "ns", 1u } };
    if (n % 1000000000u == 0) {
        for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
            if (n % whole[i].scale == 0) {
                sc_buf_u64(b, n / whole[i].scale);
                sc_buf_lit(b, whole[i].unit, strlen(whole[i].unit));
                return;
            }
        }
    }
    size_t i = 0;
    while (n < decimal[i].scale) i++;
    uint64_t scale = decimal[i].scale;
    sc_buf_u64(b, n / scale);
    uint64_t fraction = scale > 1 ? (n % scale) / (scale / 1000u) : 0; /* three digits */
    if (fraction) {
        char digits[4] = { '.', (char)('0' + fraction / 100), (char)('0' + fraction / 10 % 10),
                           (char)('0' + fraction % 10) };
        size_t len = 4;
        while (digits[len - 1] == '0') len--;
        sc_buf_lit(b, digits, len);
    }
    sc_buf_lit(b, decimal[i].unit, strlen(decimal[i].unit));
}

void sc_buf_size(sc_buf *b, uint64_t n) {
    static const struct { const char *unit; uint64_t scale; } units[] = {
        { "GiB", 1u << 30 }, { "MiB", 1u << 20 }, { "KiB", 1u << 10 }, { "B", 1 } };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (n != 0 && n % units[i].scale == 0) {
            sc_buf_u64(b, n / units[i].scale);
            sc_buf_lit(b, units[i].unit, strlen(units[i].unit));
            return;
        }
    }
    sc_buf_lit(b, "0B", 2);
}

void sc_buf_hex(sc_buf *b, sc_bytes v) {
    static const char hex[] = "0123456789abcdef";
    buf_grow(b, v.len * 2);
    for (size_t i = 0; i < v.len; i++) {
        b->ptr[b->len++] = hex[v.ptr[i] >> 4];
        b->ptr[b->len++] = hex[v.ptr[i] & 15];
    }
}

void sc_console(sc_str s) { platform_console_write(s.ptr, s.len); }
void sc_print(sc_str s) { platform_console_write(s.ptr, s.len); platform_console_write("\n", 1); }

/* ---- time and the event loop ---------------------------------------------------- */

/* The platform's monotonic clock counts from boot (platform.h), so `now()`
 * reads the same on every target: time since the image started. */
int64_t sc_now(void) { return (int64_t)platform_monotonic_ns(); }

/* SC_TIMERS 0: no C file of the image sets a timer (backends/c/features.py),
 * so the loop has no table to scan. */
#ifndef SC_TIMERS
#define SC_TIMERS 1
#endif
#define SC_MAX_TIMERS 64
static struct { uint64_t due; int64_t period; sc_thunk f; bool used; } timers[SC_MAX_TIMERS];

static void add_timer(int64_t delay, int64_t period, sc_thunk f) {
    if (!SC_TIMERS) sc_trap("runtime", "this image was built without timers");
    for (size_t i = 0; i < SC_MAX_TIMERS; i++) {
        if (!timers[i].used) {
            timers[i].used = true;
            timers[i].due = platform_monotonic_ns() + (uint64_t)(delay > 0 ? delay : 0);
            timers[i].period = period;
            timers[i].f = f;
            return;
        }
    }
    sc_trap("runtime", "too many timers");
}

void sc_after(int64_t delay_ns, sc_thunk f) { add_timer(delay_ns, 0, f); }
void sc_every(int64_t period_ns, sc_thunk f) { add_timer(period_ns, period_ns > 0 ? period_ns : 1, f); }

void sc_cancel(sc_thunk f) {
    for (size_t i = 0; SC_TIMERS && i < SC_MAX_TIMERS; i++)
        if (timers[i].used && timers[i].f == f) timers[i].used = false;
}

void sc_loop_run(void) {
    for (;;) {
        uint64_t next = UINT64_MAX;
        bool any = false;
        for (size_t i = 0; SC_TIMERS && i < SC_MAX_TIMERS; i++) {
            if (timers[i].used) { any = true; if (timers[i].due < next) next = timers[i].due; }
        }
        bool listening = sc_target_listening();
        if (!any && !listening) return;
        sc_target_wait(next, !any);
        if (!SC_TIMERS) continue;
        uint64_t now = platform_monotonic_ns();
        for (size_t i = 0; i < SC_MAX_TIMERS; i++) {
            if (timers[i].used && timers[i].due <= now) {
                sc_thunk f = timers[i].f;
                if (timers[i].period > 0) timers[i].due = now + (uint64_t)timers[i].period;
                else timers[i].used = false;
                f();
                sc_arena_reset();
            }
        }
    }
}

