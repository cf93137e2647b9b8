/* http_server(tcp, site): static files over HTTP/1.1, the twin of
 * backends/python/runtime/http_server.py.  The responses were built at
 * compile time from the files of `site` (a kv_ro): the generated instance
 * file names the table SC_HTTP_SITE and gives the size of its largest
 * response as SC_HTTP_MAX_RESPONSE; runtime/http/http_engine.c parses the
 * requests and copies the answers.  `site` itself is not called at run time.
 *
 * State, all static (the instance is its own translation unit):
 *  - the unfinished request of a connection waits in one of MAX_CLIENTS
 *    slots of 2 KiB, or, when longer, one of LARGE_CLIENTS slots, keyed by
 *    Conn.id (at most HTTP_MAX_PENDING bytes: the engine
 *    answers 414 or 431 before a request grows larger; pending.h).  A slot
 *    is freed when its request is complete or its connection ends
 *    (on_event); when all are taken, the least recently used one is
 *    reclaimed and its connection closed (the Python twin drops the oldest
 *    buffer of its 4096 without closing; closing is the safer of the two).
 *  - input is staged after the unfinished request in pieces of PIECE bytes;
 *    the engine decides about a request from at most HTTP_MAX_PENDING bytes
 *    from its start, so answering piece by piece answers as the Python twin
 *    does with the whole buffer.
 *  - a chunk's answers are gathered in `out` (OUT_CAP bytes, at least one
 *    of the largest response); when the answers to a pipeline do not all
 *    fit, those that do are sent and the connection is closed after them
 *    (the Python twin would send them all; clients retry what was not
 *    answered on a new connection). */
#include "components/component.h"
#include "http/http_engine.h"

#include <string.h>

#define MAX_CLIENTS 64
#define PIECE 65536u
#define OUT_MIN (256u * 1024u)
#define OUT_CAP (SC_HTTP_MAX_RESPONSE > OUT_MIN ? SC_HTTP_MAX_RESPONSE : OUT_MIN)

extern const struct http_site SC_HTTP_SITE;

#define PENDING_CLIENTS MAX_CLIENTS
#define PENDING_BYTES HTTP_MAX_PENDING
/* Most requests' heads are a few hundred bytes: the MAX_CLIENTS slots hold
 * 2 KiB each and LARGE_CLIENTS slots the longest head the engine reads,
 * 224 KiB in all instead of 64 x HTTP_MAX_PENDING (1.5 MiB). */
#define LARGE_CLIENTS 4
#define PENDING_SMALL_BYTES 2048u
#define PENDING_LARGE_CLIENTS LARGE_CLIENTS
#include "components/pending.h"

static uint8_t stage[HTTP_MAX_PENDING + PIECE];
static uint8_t out[OUT_CAP];

void SC_FN(init)(void) {}

static sc_opt_bytes on_data(Conn conn, sc_bytes data) {
    size_t len = pending_take(conn.id, stage);  /* bytes in stage */
    size_t out_len = 0, taken = 0;
    bool cut = false;  /* close the connection after the reply */
    for (;;) {
        size_t piece = data.len - taken;
        if (piece > sizeof stage - len) piece = sizeof stage - len;
        if (piece > 0) memcpy(stage + len, data.ptr + taken, piece);
        len += piece;
        taken += piece;
        size_t n = 0;
        bool close_after = false, full = false;
        size_t consumed = http_handle(&SC_HTTP_SITE, stage, len, out + out_len,
                                      sizeof out - out_len, &n, &close_after, &full);
        out_len += n;
        if (close_after || full || consumed > len) {
            cut = true;
            len = 0;
            break;
        }
        memmove(stage, stage + consumed, len - consumed);
        len -= consumed;
        if (len > HTTP_MAX_PENDING) {  /* cannot happen (see above); never overflow a slot */
            cut = true;
            len = 0;
            break;
        }
        if (taken == data.len) break;
    }
    if (cut) {
        SC_OP(tcp, close)(conn);
    } else if (len > 0) {
        pending_keep(conn, stage, len);
    }
    if (out_len == 0) return (sc_opt_bytes){ false, { 0, 0 } };
    return (sc_opt_bytes){ true, { out, out_len } };
}

void SC_FN(serve)(uint16_t port) { pending_serve(port, on_data); }
