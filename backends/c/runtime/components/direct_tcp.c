/* direct_tcp(ip, max_connections, send_buffer, receive_window, idle_timeout): the Tcp
 * interface over the direct stack's TCP (net/tcp.c) on hvt; the twin of
 * socket_tcp.c on the hosted targets.
 *
 * TCP is started by the first listen or connect (start()), not by init: an
 * image that never calls either never calls tcp_init, so --gc-sections
 * drops net/tcp.c from it (bench/size.py shows the difference).
 *
 * State, all static (the instance is its own translation unit):
 *  - the connection table (max_connections entries), their receive
 *    buffers (receive_window bytes each: the largest window a connection
 *    advertises, so it bounds what a peer sends ahead) and the send pool
 *    (send_buffer bytes in 2 KiB blocks), shared by every connection;
 *    net/tcp.c owns their contents.  All of it is sized by those consts
 *    at compile time, so they set the image's memory (QEMU -m): an image
 *    whose tables do not fit says so at boot (platform.c).
 *    A full table evicts the idlest connection (net/tcp.c), so new clients
 *    are served while idle ones hold slots; a connection without progress
 *    for idle_timeout is reset.
 *  - one record per listening port: its on_data; one per port given to
 *    on_event: its function.
 *  - one record per open connection that has someone to tell its events
 *    (made at `opened` for an accepted connection, by connect for an active
 *    one): the on_data and on_event it was given, so that a connection keeps
 *    the on_event it was accepted with.  MAX_RECORDS also covers the
 *    connections that have ended but whose event has not been delivered yet.
 *
 * Data: each chunk of in-order input (at most receive_window) goes to on_data; its
 * reply is queued whole with tcp_send, or, when the send pool cannot take
 * all of it, the connection is reset: a reply is never cut short under a
 * FIN.  send() queues the same way and says false (queuing nothing) when
 * the pool cannot take all of it.  net/tcp.c stops handing input over while
 * a connection has 64 KiB or more waiting to be sent, so a client that does
 * not read its answers is stopped by its own receive window, never by the
 * image.  The event arena is reset after each on_data and on_event (a
 * reply has been copied into the pool by then).
 *
 * close(c): FIN after what is queued; input from then on is dropped
 * (net/tcp.c).  Called from inside on_data for that connection, it takes
 * effect after the reply returned by on_data is queued.
 *
 * Events: net/tcp.c delivers opened and ended only from net_poll, after any
 * callback that caused them returned, never from inside a call made by the
 * program; ended is a connection's last call.  An active connection counts
 * as a listener of the loop (sc_hvt_listeners) until it ends, so that an
 * image whose main only connects runs until its connections are over.
 * connect returns 0, as for a full table, when net/tcp.c refuses at once:
 * TCP cannot start, the address is 0 or the image's own, the port is 0, or
 * no ephemeral port is free. */
#include "components/component.h"
#include "components/listening.h"
#include "net/net.h"
#include "net/tcp.h"

extern unsigned sc_hvt_listeners;

typedef sc_opt_bytes (*tcp_on_data)(Conn, sc_bytes);
typedef void (*tcp_on_event)(Conn, TcpEvent);

#define POOL_BLOCKS ((SC_CONST_send_buffer + TCP_BLOCK - 1u) / TCP_BLOCK)
_Static_assert(SC_CONST_max_connections > 0, "direct_tcp: max_connections must be at least 1");
_Static_assert(POOL_BLOCKS > 0 && POOL_BLOCKS < TCP_NO_BLOCK, "direct_tcp: send_buffer");
_Static_assert(SC_CONST_receive_window >= TCP_RCV_BUF_MIN &&
               SC_CONST_receive_window <= TCP_RCV_BUF_MAX,
               "direct_tcp: receive_window must be 2KiB to 1GiB");

static struct tcp_conn conns[SC_CONST_max_connections];
static uint8_t rcv_bufs[SC_CONST_max_connections][SC_CONST_receive_window];
static struct tcp_block pool[POOL_BLOCKS];

static struct listener {
    tcp_on_data on_data;
    uint16_t port;
} listeners[TCP_LISTENERS];
static unsigned listener_count;
static struct { uint16_t port; tcp_on_event f; } event_handlers[TCP_LISTENERS];
static unsigned event_handler_count;
static bool started;

#define MAX_RECORDS (SC_CONST_max_connections + TCP_EVENT_QUEUE)
static struct record {
    uint32_t id;            /* 0: free */
    bool active;            /* made by connect (it counts in sc_hvt_listeners) */
    tcp_on_data on_data;
    tcp_on_event on_event;
} records[MAX_RECORDS];

/* The connection whose on_data is running, and whether it asked to be closed. */
static uint32_t current_id;
static bool close_after_reply;

void SC_FN(init)(void) {}

static Conn conn_of(const struct tcp_peer *who) {
    return (Conn){ who->peer, who->peer_port, who->id };
}

/* A chunk of input for on_data, and its reply. */
static void hand_over(tcp_on_data on_data, const struct tcp_peer *who, const uint8_t *data,
                      size_t len) {
    current_id = who->id;
    close_after_reply = false;
    sc_opt_bytes reply = on_data(conn_of(who), (sc_bytes){ data, len });
    current_id = 0;
    if (reply.some && reply.value.len > 0 &&
        tcp_send(who->id, reply.value.ptr, reply.value.len) != 0)
        tcp_abort(who->id);  /* whole or not at all: the pool is full, or it closed */
    else if (close_after_reply)
        tcp_close(who->id);
    close_after_reply = false;
    sc_arena_reset();
}

static void received(void *ctx, const struct tcp_peer *who, const uint8_t *data, size_t len) {
    const struct listener *l = ctx;
    hand_over(l->on_data, who, data, len);
}

static struct record *record_of(uint32_t id) {
    for (size_t i = 0; i < MAX_RECORDS; i++)
        if (records[i].id == id) return &records[i];
    return NULL;
}

static tcp_on_event handler_of(uint16_t port) {
    for (unsigned i = 0; i < event_handler_count; i++)
        if (event_handlers[i].port == port) return event_handlers[i].f;
    return NULL;
}

static void tell(tcp_on_event f, const struct tcp_peer *who, uint8_t event) {
    f(conn_of(who), event);
    sc_arena_reset();
}

/* An accepted connection: it keeps the on_event of its port as it is now. */
static void accepted(void *ctx, const struct tcp_peer *who) {
    const struct listener *l = ctx;
    tcp_on_event f = handler_of(l->port);
    if (f == NULL) return;
    struct record *r = record_of(0);
    if (r == NULL) return;  /* cannot happen: MAX_RECORDS covers every connection */
    *r = (struct record){ who->id, false, l->on_data, f };
    tell(f, who, TcpEvent_opened);
}

static uint8_t event_of(enum tcp_end why) {
    return why == TCP_END_CLOSED ? TcpEvent_closed : why == TCP_END_RESET ? TcpEvent_reset
                                                                         : TcpEvent_failed;
}

/* The last call for a connection, accepted or made. */
static void ended(void *ctx, const struct tcp_peer *who, enum tcp_end why) {
    (void)ctx;
    struct record *r = record_of(who->id);
    if (r == NULL) return;
    tcp_on_event f = r->on_event;
    if (r->active) sc_hvt_listeners--;
    *r = (struct record){ 0 };
    tell(f, who, event_of(why));
}

static const struct tcp_handler handler = { accepted, received, ended };

/* The callbacks of a connection made by connect (ctx: its record). */
static void client_opened(void *ctx, const struct tcp_peer *who) {
    const struct record *r = ctx;
    tell(r->on_event, who, TcpEvent_opened);
}

static void client_received(void *ctx, const struct tcp_peer *who, const uint8_t *data,
                            size_t len) {
    const struct record *r = ctx;
    hand_over(r->on_data, who, data, len);
}

static const struct tcp_handler client_handler = { client_opened, client_received, ended };

/* Start TCP on the stack, once (the IPv4 component's init has run). */
static void start(void) {
    if (started) return;
    struct tcp_config cfg = { conns, SC_CONST_max_connections, pool, POOL_BLOCKS,
                              (uint64_t)SC_CONST_idle_timeout, &rcv_bufs[0][0],
                              (uint32_t)SC_CONST_receive_window };
    if (tcp_init(&cfg) != 0) sc_trap("direct_tcp", "cannot start TCP (no IPv4 address?)");
    started = true;
}

void SC_FN(listen)(uint16_t port, tcp_on_data on_data) {
    start();
    if (listener_count == TCP_LISTENERS) sc_trap("direct_tcp", "too many TCP listeners");
    struct listener *l = &listeners[listener_count];
    l->on_data = on_data;
    l->port = port;
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

void SC_FN(on_event)(uint16_t port, tcp_on_event f) {
    for (unsigned i = 0; i < event_handler_count; i++) {
        if (event_handlers[i].port == port) {
            event_handlers[i].f = f;
            return;
        }
    }
    if (event_handler_count == TCP_LISTENERS) sc_trap("direct_tcp", "too many TCP event handlers");
    event_handlers[event_handler_count].port = port;
    event_handlers[event_handler_count].f = f;
    event_handler_count++;
}

uint32_t SC_FN(connect)(uint32_t to, uint16_t port, tcp_on_data on_data, tcp_on_event on_event) {
    start();
    struct record *r = record_of(0);
    if (r == NULL) return 0;
    uint32_t id = tcp_connect(to, port, &client_handler, r);
    if (id == 0) return 0;
    *r = (struct record){ id, true, on_data, on_event };
    sc_hvt_listeners++;  /* the loop runs until the connection is over */
    return id;
}

bool SC_FN(send)(Conn c, sc_bytes data) {
    return tcp_send(c.id, data.ptr, data.len) == 0;
}
