/* dns_over_tcp(tcp, zone): DNS over TCP (RFC 7766), the twin of
 * backends/python/runtime/dns_over_tcp.py.  Each message is preceded by its
 * length in two bytes; a chunk may hold several messages and a message may
 * span chunks.  Every complete message is answered with
 * zone.answer_tcp(msg, udp_size): never cut, its OPT advertising the
 * server's UDP size, as NSD does over TCP.  Answers are framed the same
 * way, and a chunk's answers go back as one reply.
 *
 * State, all static (the instance is its own translation unit):
 *  - the unfinished message of a connection waits in one of MAX_CLIENTS
 *    slots of 1 KiB, or, when longer, one of LARGE_CLIENTS slots of a
 *    whole message, keyed by Conn.id (pending.h).  A slot is freed when its message
 *    is complete or its connection ends (on_event); when all are taken, the
 *    least recently used one is reclaimed and its connection closed.
 *  - a message longer than MAX_MESSAGE closes its connection.  With the
 *    default, the largest a two-byte length can say, that never happens (nor
 *    does the Python twin's cap on what it buffers); lower it to cap memory.
 *  - a chunk's answers are gathered in a static buffer of OUT_CAP bytes; a
 *    chunk whose answers do not fit gets those that do, then its connection
 *    is closed after the reply (RFC 7766 clients retry on a new connection).
 *
 * dns_zone takes 64 KiB of the event arena for each answer; when the arena
 * runs low between answers, it is reset.  That is safe: the chunk has been
 * copied into `stage` by then and the answers into `out`, and the Tcp
 * implementation holds nothing in the arena across on_data (socket_tcp's
 * chunk is a static buffer and it resets the arena after each on_data). */
#include "components/component.h"

#include <string.h>

#define MAX_CLIENTS 64
#define MAX_MESSAGE 65535u                   /* the largest message accepted */
#define PIECE 65536u                         /* input staged per round */
#define OUT_CAP (4u * (2u + 65535u))         /* a chunk's answers, framed */
#define ANSWER_ARENA (65535u + 1024u)        /* what one zone.answer may take */

#define PENDING_CLIENTS MAX_CLIENTS
#define PENDING_BYTES (2 + MAX_MESSAGE)
/* Queries are short (a question and an OPT record: a few hundred bytes), so
 * the MAX_CLIENTS slots hold 1 KiB each and only LARGE_CLIENTS hold the
 * longest message: 192 KiB in all instead of 64 x 64 KiB. */
#define LARGE_CLIENTS 2
#define PENDING_SMALL_BYTES 1024u
#define PENDING_LARGE_CLIENTS LARGE_CLIENTS
#include "components/pending.h"

/* An unfinished message (< 2 + MAX_MESSAGE bytes) followed by new input. */
static uint8_t stage[2 + MAX_MESSAGE + PIECE];
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
        bool staged = taken == data.len;  /* nothing left in `data`: the arena may go */
        size_t at = 0;
        while (!cut && len - at >= 2) {
            size_t n = (size_t)stage[at] << 8 | stage[at + 1];
            if (n > MAX_MESSAGE) { cut = true; break; }
            if (len - at - 2 < n) break;
            if (sc_arena_free() < ANSWER_ARENA) {
                if (!staged) { cut = true; break; }
                sc_arena_reset();
            }
            sc_opt_bytes reply = SC_OP(zone, answer_tcp)((sc_bytes){ stage + at + 2, n },
                                                       SC_CONST_udp_size);
            if (reply.some) {
                if (reply.value.len > 65535 || sizeof out - out_len < 2 + reply.value.len) {
                    cut = true;
                    break;
                }
                out[out_len] = (uint8_t)(reply.value.len >> 8);
                out[out_len + 1] = (uint8_t)reply.value.len;
                memcpy(out + out_len + 2, reply.value.ptr, reply.value.len);
                out_len += 2 + reply.value.len;
            }
            at += 2 + n;
        }
        memmove(stage, stage + at, len - at);
        len -= at;
        /* What is left is one unfinished message, so the next piece has room. */
        if (cut || staged) break;
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
