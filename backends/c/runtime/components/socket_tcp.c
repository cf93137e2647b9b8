/* socket_tcp(ip): TCP over host sockets (unix target); the twin of
 * backends/python/runtime/socket_tcp.py.
 *
 * Each connection gets an id (1, 2, ... in the order they are accepted, as
 * in the Python twin) and a slot in a static table; when every slot holds an
 * open connection (or the event loop's table of watched descriptors is
 * full), a new connection is accepted and closed at once.  Each readable
 * event reads one chunk (at most CHUNK bytes) into a static buffer, hands it
 * to on_data, sends the reply back and resets the event arena.
 *
 * Replies are sent with a bounded blocking write, as the Python twin does:
 * the socket stays non-blocking, and when the kernel's send buffer is full
 * the write waits in poll(POLLOUT) for at most SEND_TIMEOUT_NS in all, then
 * gives up and closes the connection.  A slow reader can therefore hold up
 * the loop for that long.  A pending-output buffer flushed when the socket is
 * writable would avoid that, but posix_watch() only reports readability; the
 * loop would need a writable watch first.
 *
 * close(c) closes at once, except when it is called from inside on_data of
 * that very connection: then the connection is closed after on_data's reply
 * has been sent.  Either way on_data is not called for it again, but its
 * socket lingers: it sends FIN after the replies still queued and reads (and
 * drops) what comes until the peer closes too, for at most LINGER_NS
 * (checked when it is readable and when a connection arrives).  Closing a
 * socket with unread input would reset the connection and drop the replies
 * the kernel has not sent yet.  A lingering socket keeps its slot until a
 * new connection needs it: then the one lingering longest is released.
 *
 * A connection is closed outright when the peer closes it, on a read or
 * write error, and when a reply cannot be sent in time. */
#define _GNU_SOURCE
#include "components/component.h"
#include "platform/posix/posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 8
#define MAX_CONNECTIONS 128          /* open connections of this instance */
#define CHUNK 65536                  /* bytes read per readable event (the Python twin's) */
#define ACCEPTS_PER_EVENT 32
#define BACKLOG 128
#define SEND_TIMEOUT_NS (5ull * 1000000000ull)  /* a slow reader's limit, as in Python */
#define LINGER_NS (2ull * 1000000000ull)        /* a closed connection's last reads */

typedef sc_opt_bytes (*tcp_handler)(Conn, sc_bytes);

static struct listener { int fd; tcp_handler on_data; } listeners[MAX_LISTENERS];
static size_t listener_count;

enum state { FREE, OPEN, LINGERING };

static struct connection {
    enum state state;
    int fd;
    Conn conn;
    tcp_handler on_data;
    uint64_t linger_until;  /* LINGERING: when to stop waiting for the peer */
} connections[MAX_CONNECTIONS];

static uint32_t next_id;
static uint8_t chunk[CHUNK];

/* The connection whose on_data is running, and whether it asked to be closed. */
static bool in_callback;
static uint32_t current_id;
static bool close_after_reply;

void SC_FN(init)(void) {}

/* Close the socket now. */
static void release(struct connection *c) {
    if (c->state == FREE) return;
    posix_unwatch(c->fd);
    close(c->fd);
    c->state = FREE;
    c->fd = -1;
}

/* Close the connection: FIN after what is queued, then linger. */
static void finish(struct connection *c) {
    if (c->state != OPEN) return;
    if (shutdown(c->fd, SHUT_WR) != 0) {
        release(c);
        return;
    }
    c->state = LINGERING;
    c->linger_until = platform_monotonic_ns() + LINGER_NS;
}

/* Release the lingering sockets whose time is up. */
static void reap(void) {
    uint64_t now = platform_monotonic_ns();
    for (size_t i = 0; i < MAX_CONNECTIONS; i++)
        if (connections[i].state == LINGERING && now >= connections[i].linger_until)
            release(&connections[i]);
}

/* Send all of data within SEND_TIMEOUT_NS; false when that fails. */
static bool send_all(int fd, const uint8_t *data, size_t len) {
    uint64_t deadline = platform_monotonic_ns() + SEND_TIMEOUT_NS;
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            data += (size_t)n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return false;
        uint64_t now = platform_monotonic_ns();
        if (now >= deadline) return false;
        struct pollfd p = { .fd = fd, .events = POLLOUT, .revents = 0 };
        int ms = (int)((deadline - now + 999999u) / 1000000u);
        if (poll(&p, 1, ms) < 0 && errno != EINTR) return false;
    }
    return true;
}

static void readable(void *ctx) {
    struct connection *c = ctx;
    if (c->state == FREE) return;
    ssize_t n = recv(c->fd, chunk, sizeof chunk, MSG_DONTWAIT);
    bool again = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    if (c->state == LINGERING) {  /* input is dropped; the peer's FIN ends it */
        if ((n <= 0 && !again) || platform_monotonic_ns() >= c->linger_until) release(c);
        return;
    }
    if (again) return;
    if (n <= 0) {  /* the peer closed the connection, or it failed */
        release(c);
        return;
    }
    Conn conn = c->conn;
    in_callback = true;
    current_id = conn.id;
    close_after_reply = false;
    sc_opt_bytes reply = c->on_data(conn, (sc_bytes){ chunk, (size_t)n });
    in_callback = false;
    /* on_data may have closed other connections, never this one (that waits). */
    if (c->state == OPEN && reply.some && reply.value.len > 0 &&
        !send_all(c->fd, reply.value.ptr, reply.value.len))
        release(c);
    else if (close_after_reply)
        finish(c);
    close_after_reply = false;
    sc_arena_reset();
}

static struct connection *free_slot(void) {
    struct connection *oldest = NULL;
    for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
        struct connection *c = &connections[i];
        if (c->state == FREE) return c;
        if (c->state == LINGERING && (oldest == NULL || c->linger_until < oldest->linger_until))
            oldest = c;
    }
    if (oldest != NULL) release(oldest);
    return oldest;
}

static void accept_ready(void *ctx) {
    struct listener *l = ctx;
    reap();
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;  /* EAGAIN: no more waiting; EMFILE and the like: try again later */
        }
        struct connection *c = free_slot();
        if (c == NULL || len != sizeof peer || peer.sin_family != AF_INET) {
            close(fd);  /* the table is full: refuse */
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  /* one send per reply */
        next_id++;
        *c = (struct connection){ OPEN, fd, { ntohl(peer.sin_addr.s_addr), ntohs(peer.sin_port),
                                              next_id }, l->on_data, 0 };
        if (posix_watch(fd, readable, c) != 0) {  /* the loop watches too much already */
            close(fd);
            c->state = FREE;
        }
    }
}

void SC_FN(listen)(uint16_t port, tcp_handler on_data) {
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
    listeners[listener_count] = (struct listener){ fd, on_data };
    if (posix_watch(fd, accept_ready, &listeners[listener_count]) != 0)
        sc_trap("socket_tcp", "too many sockets to watch");
    listener_count++;
    fprintf(stderr, "listening: tcp %u.%u.%u.%u:%u\n", a >> 24, a >> 16 & 255, a >> 8 & 255,
            a & 255, (unsigned)ntohs(addr.sin_port));
}

void SC_FN(close)(Conn c) {
    if (in_callback && c.id == current_id) {
        close_after_reply = true;  /* after the reply on_data is about to give */
        return;
    }
    for (size_t i = 0; i < MAX_CONNECTIONS; i++) {
        if (connections[i].state == OPEN && connections[i].conn.id == c.id) {
            finish(&connections[i]);
            return;
        }
    }
}
