/* socket_tcp(ip, max_connections, send_buffer, idle_timeout): TCP over host
 * sockets (unix target); the twin of backends/python/runtime/socket_tcp.py.
 *
 * Nothing blocks.  Every socket is non-blocking; the event loop calls
 * ready() when a connection is readable and, while it has output waiting,
 * writable (posix_interest):
 *  - a reply of on_data, and what send() queues, goes to the kernel at once
 *    as far as the kernel takes it; the rest waits in the connection's own
 *    buffer (malloc'd, freed when empty) and goes out as the peer reads.  All
 *    connections together hold at most send_buffer unsent bytes.  send() of
 *    more than is free returns false and queues nothing; a reply of on_data
 *    that does not fit resets the connection.  A response is sent whole or
 *    the connection is reset, never cut short under a FIN.
 *  - while a connection has DELIVER_BELOW bytes or more waiting, its input is
 *    not read: its receive window closes and the peer stops sending, so a
 *    client that sends requests but never reads the answers stops itself and
 *    nobody else.
 *  - a connection with no progress (nothing read, nothing written, and the
 *    kernel's queue for it unchanged) for idle_timeout is reset (0s: never).  When max_connections are open, a
 *    new one (accepted or connected) takes the slot of the idlest, which is
 *    reset; a closing one goes first.  A one-shot timer (sweep) runs at the
 *    next deadline, and is cancelled when no connection is left, so that it
 *    never keeps the loop alive by itself.
 *
 * Each chunk read (at most CHUNK bytes, into a static buffer) goes to
 * on_data; the event arena is reset after it (its reply has been sent or
 * copied by then).  Ids are 1, 2, ... in the order connections are made, as
 * in the Python twin, never 0, unique while open.
 *
 * Closing: close(c) stops on_data for c, sends what is queued, then FIN
 * (shutdown), and reads and drops input until the peer closes too, for at
 * most LINGER_NS (closing a socket with unread input would reset it, and drop
 * what the kernel has not sent yet).  A close from inside c's own on_data
 * takes effect after the reply.  When the peer closes first, what is queued
 * is still sent, then the socket is closed.
 *
 * Events: a connection accepted on a port whose on_event was registered by
 * then, and every connection made by connect, get `opened`, then one of
 * `closed` (orderly, either side) or `reset` (a reset from the peer, a failed
 * read or write, an idle timeout, an eviction, a reply too big for the send
 * buffer) as their last call; a connect that could not be made gets `failed`
 * alone.  Events never reach the program from inside a call of this
 * component: they wait in a queue until the loop's handler that caused them
 * is done, or (caused by main) for a zero-delay timer. */
#define _GNU_SOURCE
#include "components/component.h"
#include "platform/posix/posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 8
#define MAX_CONNECTIONS SC_CONST_max_connections
#define SEND_BUFFER ((uint64_t)SC_CONST_send_buffer)
#define IDLE_NS ((uint64_t)SC_CONST_idle_timeout)
#define CHUNK 65536                  /* bytes read per readable event (the Python twin's) */
#define ACCEPTS_PER_EVENT 32
#define BACKLOG 128
#define DELIVER_BELOW 65536u         /* a connection with this much output waiting is not read */
#define LINGER_NS (2ull * 1000000000ull)  /* a closed connection's wait for the peer's FIN */
/* Events: at most an `opened` and an end per connection between two drains,
 * plus those the callbacks of one drain cause. */
#define EVENT_QUEUE (2u * MAX_CONNECTIONS + 64u)

_Static_assert(SC_CONST_max_connections >= 1, "socket_tcp: max_connections must be at least 1");
_Static_assert(SC_CONST_idle_timeout >= 0, "socket_tcp: idle_timeout must not be negative");

/* The prelude's enum TcpEvent, as instances.h defines it. */
#define EV_OPENED ((uint8_t)TcpEvent_opened)
#define EV_CLOSED ((uint8_t)TcpEvent_closed)
#define EV_RESET ((uint8_t)TcpEvent_reset)
#define EV_FAILED ((uint8_t)TcpEvent_failed)

typedef sc_opt_bytes (*tcp_on_data)(Conn, sc_bytes);
typedef void (*tcp_on_event)(Conn, TcpEvent);

static struct listener { int fd; uint16_t port; tcp_on_data on_data; } listeners[MAX_LISTENERS];
static size_t listener_count;
static struct { uint16_t port; tcp_on_event f; } event_handlers[MAX_LISTENERS];
static size_t event_handler_count;

enum state {
    FREE,
    CONNECTING, /* connect() in progress: waiting for writability */
    OPEN,       /* on_data gets its input */
    CLOSING,    /* closed by us or by the peer: sending what is queued, then FIN */
    LINGERING,  /* FIN sent: dropping input until the peer's FIN, for at most LINGER_NS */
};

static struct connection {
    enum state state;
    int fd;
    Conn conn;
    tcp_on_data on_data;
    tcp_on_event on_event;   /* NULL: nobody listens to its events */
    bool opened;             /* `opened` was (or is about to be) delivered */
    bool peer_closed;        /* the peer's FIN has been read */
    uint8_t *out;            /* output the kernel has not taken: out[sent .. len) */
    size_t out_len, out_sent, out_cap;
    uint64_t last_progress;  /* the last read or write of any byte */
    uint64_t linger_until;   /* LINGERING: when to stop waiting for the peer */
    int kernel_queue;        /* the socket's SIOCOUTQ at the last sweep that asked */
} connections[MAX_CONNECTIONS];

static size_t open_count;    /* connections not FREE */
static uint64_t buffered;    /* unsent bytes held by every connection together */
static uint32_t next_id;
static uint8_t chunk[CHUNK];

/* The connection whose on_data is running, and whether it asked to be closed. */
static uint32_t current_id;
static bool close_after_reply;

static struct { tcp_on_event f; Conn conn; uint8_t why; } events[EVENT_QUEUE];
static size_t event_head, event_count;
static unsigned depth;       /* > 0 inside a handler of the loop: events wait for its end */
static bool drain_armed, sweep_armed;
static uint64_t sweep_at;

void SC_FN(init)(void) {}

static size_t waiting(const struct connection *c) { return c->out_len - c->out_sent; }

/* ---- events ---------------------------------------------------------------- */

static void drain(void) {
    while (event_count > 0) {
        tcp_on_event f = events[event_head].f;
        Conn conn = events[event_head].conn;
        TcpEvent why = events[event_head].why;
        event_head = (event_head + 1) % EVENT_QUEUE;
        event_count--;
        depth++;
        f(conn, why);
        depth--;
        sc_arena_reset();
    }
}

static void drain_timer(void) {
    drain_armed = false;
    drain();
}

static void event(struct connection *c, uint8_t why) {
    if (c->on_event == NULL) return;
    if (event_count == EVENT_QUEUE) sc_trap("socket_tcp", "the event queue is full");
    size_t at = (event_head + event_count) % EVENT_QUEUE;
    events[at].f = c->on_event;
    events[at].conn = c->conn;
    events[at].why = why;
    event_count++;
    if (depth == 0 && !drain_armed) {  /* caused by main: deliver on the loop's next turn */
        drain_armed = true;
        sc_after(0, drain_timer);
    }
}

/* ---- the end of a connection ------------------------------------------------ */

static void sweep(void);

/* Release the socket and the slot, and tell on_event why. */
static void end(struct connection *c, uint8_t why) {
    if (c->state == FREE) return;
    posix_unwatch(c->fd);
    if (why == EV_RESET) {  /* SO_LINGER with a zero timeout: close() sends RST */
        struct linger now = { 1, 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    }
    close(c->fd);
    buffered -= waiting(c);
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_sent = c->out_cap = 0;
    c->state = FREE;
    c->fd = -1;
    open_count--;
    if (open_count == 0 && sweep_armed) {  /* nothing left to time out: let the loop end */
        sc_cancel(sweep);
        sweep_armed = false;
    }
    event(c, c->opened ? why : EV_FAILED);
}

/* ---- timeouts ------------------------------------------------------------------ */

static void arm_sweep(void) {
    uint64_t due = UINT64_MAX;
    for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
        const struct connection *c = &connections[i];
        if (c->state == LINGERING) {
            if (c->linger_until < due) due = c->linger_until;
        } else if (c->state != FREE && IDLE_NS > 0 && c->last_progress + IDLE_NS < due) {
            due = c->last_progress + IDLE_NS;
        }
    }
    if (sweep_armed && (due == UINT64_MAX || due < sweep_at)) {
        sc_cancel(sweep);
        sweep_armed = false;
    }
    if (sweep_armed || due == UINT64_MAX) return;  /* the armed one runs first and re-arms */
    uint64_t now = platform_monotonic_ns();
    sweep_armed = true;
    sweep_at = due;
    sc_after(due > now ? (int64_t)(due - now) : 0, sweep);
}

/* Whether the peer took some of what the kernel holds for it since the last
 * look (its queue of unsent and unacknowledged bytes changed, down to 0
 * included): then the connection is not idle, though this component had
 * nothing left to write.  A slow reader of a large response is not reset
 * while it reads. */
static bool kernel_draining(struct connection *c) {
    int queued = 0;
    if (ioctl(c->fd, SIOCOUTQ, &queued) != 0) return false;
    bool changed = queued != c->kernel_queue;
    c->kernel_queue = queued;
    return changed;
}

static void sweep(void) {
    sweep_armed = false;
    depth++;
    uint64_t now = platform_monotonic_ns();
    for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
        struct connection *c = &connections[i];
        if (c->state == LINGERING && now >= c->linger_until)
            end(c, EV_CLOSED);
        else if (c->state != FREE && c->state != LINGERING && IDLE_NS > 0 &&
                 now - c->last_progress >= IDLE_NS) {
            if (kernel_draining(c))
                c->last_progress = now;
            else
                end(c, EV_RESET);
        }
    }
    depth--;
    drain();
    arm_sweep();
}

/* ---- output ---------------------------------------------------------------------- */

static void update_interest(struct connection *c) {
    if (c->state == FREE || c->state == CONNECTING) return;
    bool write = waiting(c) > 0;
    bool read = !c->peer_closed && !(c->state == OPEN && waiting(c) >= DELIVER_BELOW);
    posix_interest(c->fd, read, write);
}

/* Bytes of data the kernel took now; -1 when the connection failed (it is reset). */
static ptrdiff_t write_now(struct connection *c, const uint8_t *data, size_t len) {
    size_t taken = 0;
    while (taken < len) {
        ssize_t n = send(c->fd, data + taken, len - taken, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            taken += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        end(c, EV_RESET);
        return -1;
    }
    if (taken > 0) c->last_progress = platform_monotonic_ns();
    return (ptrdiff_t)taken;
}

/* Keep data (what the kernel did not take) in c's buffer: false when the
 * send buffer cannot hold it (nothing is kept then). */
static bool keep(struct connection *c, const uint8_t *data, size_t len) {
    if ((uint64_t)len > SEND_BUFFER - buffered) return false;
    if (c->out_sent > 0) {  /* what was sent makes room first */
        memmove(c->out, c->out + c->out_sent, waiting(c));
        c->out_len -= c->out_sent;
        c->out_sent = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 65536;
        while (cap < c->out_len + len) cap *= 2;
        uint8_t *grown = realloc(c->out, cap);
        if (grown == NULL) return false;
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    buffered += len;
    update_interest(c);
    return true;
}

/* Send data after what is queued on c: false when the rest would not fit
 * the send buffer (some of it may have gone out; the caller resets). */
static bool queue(struct connection *c, const uint8_t *data, size_t len) {
    if (waiting(c) == 0) {
        ptrdiff_t taken = write_now(c, data, len);
        if (taken < 0) return true;  /* reset already */
        data += taken;
        len -= (size_t)taken;
        if (len == 0) return true;
    }
    return keep(c, data, len);
}

static void shut(struct connection *c);

static void flush(struct connection *c) {
    if (waiting(c) == 0) return;
    ptrdiff_t taken = write_now(c, c->out + c->out_sent, waiting(c));
    if (taken < 0) return;
    c->out_sent += (size_t)taken;
    buffered -= (uint64_t)taken;
    if (waiting(c) == 0) {
        free(c->out);  /* an idle connection holds no memory */
        c->out = NULL;
        c->out_len = c->out_sent = c->out_cap = 0;
        if (c->state == CLOSING) {
            shut(c);
            return;
        }
    }
    update_interest(c);
}

/* ---- closing ---------------------------------------------------------------------- */

/* Everything queued is with the kernel: FIN, then wait for the peer's. */
static void shut(struct connection *c) {
    if (c->peer_closed) {
        end(c, EV_CLOSED);
        return;
    }
    if (shutdown(c->fd, SHUT_WR) != 0) {
        end(c, EV_RESET);
        return;
    }
    c->state = LINGERING;
    c->linger_until = platform_monotonic_ns() + LINGER_NS;
    update_interest(c);
    arm_sweep();
}

/* Our orderly close: no more on_data; FIN once what is queued is sent. */
static void finish(struct connection *c) {
    if (c->state == CONNECTING) {
        end(c, EV_FAILED);
    } else if (c->state == OPEN) {
        c->state = CLOSING;
        if (waiting(c) == 0) shut(c);
    }
}

/* The peer's FIN: what is queued still goes out, then the socket closes. */
static void peer_finished(struct connection *c) {
    c->peer_closed = true;
    if (c->state == OPEN) c->state = CLOSING;
    if (waiting(c) == 0)
        end(c, EV_CLOSED);
    else
        update_interest(c);
}

/* ---- input ------------------------------------------------------------------------- */

static void read_input(struct connection *c) {
    if (c->peer_closed || (c->state == OPEN && waiting(c) >= DELIVER_BELOW)) return;
    ssize_t n = recv(c->fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) end(c, EV_RESET);
        return;
    }
    if (n == 0) {
        peer_finished(c);
        return;
    }
    c->last_progress = platform_monotonic_ns();
    if (c->state != OPEN) return;  /* closed by us: input is dropped until the peer's FIN */
    Conn conn = c->conn;
    current_id = conn.id;
    close_after_reply = false;
    sc_opt_bytes reply = c->on_data(conn, (sc_bytes){ chunk, (size_t)n });
    current_id = 0;
    /* on_data may have closed other connections, never this one (that waits),
     * but a send() of its own may have failed and reset it. */
    if (c->state == OPEN && c->conn.id == conn.id) {
        if (reply.some && reply.value.len > 0 && !queue(c, reply.value.ptr, reply.value.len))
            end(c, EV_RESET);  /* whole or not at all */
        else if (close_after_reply)
            finish(c);
        update_interest(c);
    }
    close_after_reply = false;
    sc_arena_reset();
}

static void connected(struct connection *c) {
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
    if (error == EINPROGRESS || error == EAGAIN) return;
    if (error != 0) {
        end(c, EV_FAILED);
        return;
    }
    c->state = OPEN;
    c->opened = true;
    c->last_progress = platform_monotonic_ns();
    event(c, EV_OPENED);
    update_interest(c);
}

static void ready(void *ctx) {
    struct connection *c = ctx;
    uint32_t id = c->conn.id;
    depth++;
    if (c->state == CONNECTING) {
        connected(c);
    } else if (c->state != FREE) {
        flush(c);
        if (c->state != FREE && c->conn.id == id) read_input(c);
    }
    depth--;
    drain();
}

/* ---- opening ---------------------------------------------------------------------- */

static uint32_t fresh_id(void) {
    for (;;) {
        next_id++;
        if (next_id == 0) continue;
        bool taken = false;
        for (size_t i = 0; i < MAX_CONNECTIONS && !taken; i++)
            taken = connections[i].state != FREE && connections[i].conn.id == next_id;
        if (!taken) return next_id;
    }
}

/* The connection to reset for room: the idlest, a closing one first; NULL
 * when the only candidate is in the middle of its on_data. */
static struct connection *idlest(void) {
    struct connection *victim = NULL;
    for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
        struct connection *c = &connections[i];
        if (c->state == FREE || c->conn.id == current_id) continue;
        bool closing = c->state >= CLOSING;
        if (victim == NULL || closing > (victim->state >= CLOSING) ||
            (closing == (victim->state >= CLOSING) && c->last_progress < victim->last_progress))
            victim = c;
    }
    return victim;
}

static bool evict_idlest(void) {
    struct connection *victim = idlest();
    if (victim != NULL) end(victim, EV_RESET);
    return victim != NULL;
}

/* A free slot, if need be by resetting the idlest connection; NULL when
 * none can be given up. */
static struct connection *make_room(void) {
    for (size_t i = 0; i < MAX_CONNECTIONS; i++)
        if (connections[i].state == FREE) return &connections[i];
    struct connection *victim = idlest();
    if (victim != NULL) end(victim, EV_RESET);
    return victim;
}

/* Take the slot c for the socket fd. */
static bool take(struct connection *c, int fd, Conn conn, enum state state, tcp_on_data on_data,
                 tcp_on_event on_event) {
    if (posix_watch(fd, ready, c) != 0) return false;  /* the loop watches too much already */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  /* one send per reply */
    *c = (struct connection){ .state = state, .fd = fd, .conn = conn, .on_data = on_data,
                              .on_event = on_event, .opened = state == OPEN,
                              .last_progress = platform_monotonic_ns() };
    open_count++;
    return true;
}

static tcp_on_event handler_of(uint16_t port) {
    for (size_t i = 0; i < event_handler_count; i++)
        if (event_handlers[i].port == port) return event_handlers[i].f;
    return NULL;
}

static void accept_ready(void *ctx) {
    struct listener *l = ctx;
    depth++;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            /* Out of descriptors: the table is full in the kernel's terms.  The
             * idlest connection makes room, as it would for a full table;
             * waiting instead would leave the listener readable and the loop
             * spinning on it. */
            if ((errno == EMFILE || errno == ENFILE) && open_count > 0 && evict_idlest()) continue;
            break;  /* EAGAIN: no more waiting */
        }
        struct connection *c = len == sizeof peer && peer.sin_family == AF_INET ? make_room() : NULL;
        Conn conn = { ntohl(peer.sin_addr.s_addr), ntohs(peer.sin_port), 0 };
        if (c != NULL) conn.id = fresh_id();
        if (c == NULL || !take(c, fd, conn, OPEN, l->on_data, handler_of(l->port))) {
            close(fd);
            continue;
        }
        event(c, EV_OPENED);
    }
    depth--;
    drain();
    arm_sweep();
}

/* ---- operations ---------------------------------------------------------------------- */

void SC_FN(listen)(uint16_t port, tcp_on_data on_data) {
    if (listener_count == MAX_LISTENERS) sc_trap("socket_tcp", "too many TCP listeners");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) sc_trap("socket_tcp", "cannot open a TCP socket");
    /* SO_REUSEADDR lets a restarted image bind while its old connections sit
     * in TIME_WAIT; on Linux it never lets two sockets listen on one port, so
     * a live listener still makes bind fail (EADDRINUSE). */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    uint32_t a = SC_OP(ip, address)();
    struct sockaddr_in addr = { 0 };
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(a);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, BACKLOG) != 0)
        posix_cannot_listen("tcp", a, port, errno);
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    listeners[listener_count] = (struct listener){ fd, port, on_data };
    if (posix_watch(fd, accept_ready, &listeners[listener_count]) != 0)
        sc_trap("socket_tcp", "too many sockets to watch");
    listener_count++;
    fprintf(stderr, "listening: tcp %u.%u.%u.%u:%u\n", a >> 24, a >> 16 & 255, a >> 8 & 255,
            a & 255, (unsigned)ntohs(addr.sin_port));
}

void SC_FN(on_event)(uint16_t port, tcp_on_event f) {
    for (size_t i = 0; i < event_handler_count; i++) {
        if (event_handlers[i].port == port) {
            event_handlers[i].f = f;
            return;
        }
    }
    if (event_handler_count == MAX_LISTENERS) sc_trap("socket_tcp", "too many TCP event handlers");
    event_handlers[event_handler_count].port = port;
    event_handlers[event_handler_count].f = f;
    event_handler_count++;
}

uint32_t SC_FN(connect)(uint32_t to, uint16_t port, tcp_on_data on_data, tcp_on_event on_event) {
    struct connection *c = make_room();
    if (c == NULL) return 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    Conn conn = { to, port, fresh_id() };
    if (!take(c, fd, conn, CONNECTING, on_data, on_event)) {
        close(fd);
        return 0;
    }
    posix_interest(fd, false, true);
    struct sockaddr_in addr = { 0 };
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(to);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS)
        end(c, EV_FAILED);  /* delivered after this call */
    /* A connect that succeeds at once is seen writable on the loop's next turn. */
    arm_sweep();
    return conn.id;
}

bool SC_FN(send)(Conn c, sc_bytes data) {
    for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
        struct connection *k = &connections[i];
        if (k->state != FREE && k->conn.id == c.id) {
            /* Only what surely fits, as if the kernel took none: nothing is
             * queued otherwise. */
            if (k->state != OPEN || k->peer_closed || (uint64_t)data.len > SEND_BUFFER - buffered)
                return false;
            if (data.len > 0 && !queue(k, data.ptr, data.len)) end(k, EV_RESET);
            return true;
        }
    }
    return false;
}

void SC_FN(close)(Conn c) {
    if (c.id != 0 && c.id == current_id) {
        close_after_reply = true;  /* after the reply on_data is about to give */
        return;
    }
    for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
        if (connections[i].state != FREE && connections[i].conn.id == c.id) {
            finish(&connections[i]);
            return;
        }
    }
}
