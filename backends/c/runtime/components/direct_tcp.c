/* direct_tcp(ip, max_connections, send_buffer, idle_timeout): the Tcp
 * interface over the direct stack's TCP (net/tcp.c) on hvt; the twin of
 * socket_tcp.c on the hosted targets.
 *
 * TCP is started by the first listen (start()), not by init: an image that
 * never listens never calls tcp_init, so --gc-sections drops net/tcp.c
 * from it (bench/size.py shows the difference).
 *
 * State, all static (the instance is its own translation unit):
 *  - the connection table (max_connections entries, each with its 64 KiB
 *    receive buffer) and the send pool (send_buffer bytes in 2 KiB
 *    blocks), shared by every connection; net/tcp.c owns their contents.
 *    A full table evicts the idlest connection (net/tcp.c), so new clients
 *    are served while idle ones hold slots; a connection without progress
 *    for idle_timeout is reset.
 *  - one record per listening port: its on_data.
 *
 * Data: each chunk of in-order input (at most 64 KiB) goes to on_data; its
 * reply is queued whole with tcp_send, or, when the send pool cannot take
 * all of it, the connection is reset: a reply is never cut short under a
 * FIN.  net/tcp.c stops handing input over while a connection has 64 KiB
 * or more waiting to be sent, so a client that does not read its answers is
 * stopped by its own receive window, never by the image.  The event arena
 * is reset after each on_data (its reply has been copied into the pool).
 *
 * close(c): FIN after what is queued; input from then on is dropped
 * (net/tcp.c).  Called from inside on_data for that connection, it takes
 * effect after the reply returned by on_data is queued.
 *
 * The callbacks below are tcp.h's `struct tcp_handler`: opened and ended
 * are not seen by the Tcp interface yet (the v1.1 on_event will see them),
 * so they only keep the counters. */
#include "components/component.h"
#include "components/listening.h"
#include "net/net.h"
#include "net/tcp.h"

extern unsigned sc_hvt_listeners;

typedef sc_opt_bytes (*tcp_on_data)(Conn, sc_bytes);

#define POOL_BLOCKS ((SC_CONST_send_buffer + TCP_BLOCK - 1u) / TCP_BLOCK)
_Static_assert(SC_CONST_max_connections > 0, "direct_tcp: max_connections must be at least 1");
_Static_assert(POOL_BLOCKS > 0 && POOL_BLOCKS < TCP_NO_BLOCK, "direct_tcp: send_buffer");

static struct tcp_conn conns[SC_CONST_max_connections];
static struct tcp_block pool[POOL_BLOCKS];

static struct listener {
    tcp_on_data on_data;
} listeners[TCP_LISTENERS];
static unsigned listener_count;
static bool started;

/* The connection whose on_data is running, and whether it asked to be closed. */
static uint32_t current_id;
static bool close_after_reply;

void SC_FN(init)(void) {}

static Conn conn_of(const struct tcp_peer *who) {
    return (Conn){ who->peer, who->peer_port, who->id };
}

static void received(void *ctx, const struct tcp_peer *who, const uint8_t *data, size_t len) {
    const struct listener *l = ctx;
    current_id = who->id;
    close_after_reply = false;
    sc_opt_bytes reply = l->on_data(conn_of(who), (sc_bytes){ data, len });
    current_id = 0;
    if (reply.some && reply.value.len > 0 &&
        tcp_send(who->id, reply.value.ptr, reply.value.len) != 0)
        tcp_abort(who->id);  /* whole or not at all: the pool is full, or it closed */
    else if (close_after_reply)
        tcp_close(who->id);
    close_after_reply = false;
    sc_arena_reset();
}

static const struct tcp_handler handler = { NULL, received, NULL };

/* Start TCP on the stack, once (the IPv4 component's init has run). */
static void start(void) {
    if (started) return;
    struct tcp_config cfg = { conns, SC_CONST_max_connections, pool, POOL_BLOCKS,
                              (uint64_t)SC_CONST_idle_timeout };
    if (tcp_init(&cfg) != 0) sc_trap("direct_tcp", "cannot start TCP (no IPv4 address?)");
    started = true;
}

void SC_FN(listen)(uint16_t port, tcp_on_data on_data) {
    start();
    if (listener_count == TCP_LISTENERS) sc_trap("direct_tcp", "too many TCP listeners");
    struct listener *l = &listeners[listener_count];
    l->on_data = on_data;
    if (tcp_listen(port, &handler, l) != 0)
        sc_trap("direct_tcp", "cannot listen on the TCP port (taken?)");
    listener_count++;
    sc_hvt_listeners++;
    sc_listening("tcp", port);
}

void SC_FN(close)(Conn c) {
    if (c.id != 0 && c.id == current_id) {
        close_after_reply = true;  /* after the reply on_data is about to give */
        return;
    }
    tcp_close(c.id);
}
