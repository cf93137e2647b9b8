/* socket_udp(ip): UDP over host sockets (unix target).  Datagrams are read
 * and answered in batches (recvmmsg/sendmmsg): one system call each way per
 * batch rather than per datagram. */
#define _GNU_SOURCE
#include "components/component.h"
#include "platform/posix/posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 16
#define BATCH 32
#define PACKET 65536
/* Replies live in the event arena; send what is pending before it runs low. */
#define ARENA_RESERVE (256u * 1024u)

static struct listener { int fd; uint16_t port; sc_udp_handler handler; } listeners[MAX_LISTENERS];
static size_t count;
static uint8_t packets[BATCH][PACKET];
static struct sockaddr_in peers[BATCH];
static struct iovec in_iov[BATCH], out_iov[BATCH];
static struct mmsghdr in_msgs[BATCH], out_msgs[BATCH];

void SC_FN(init)(void) {}

static void flush(int fd, unsigned pending) {
    unsigned sent = 0;
    while (sent < pending) {
        int n = sendmmsg(fd, out_msgs + sent, pending - sent, MSG_DONTWAIT);
        if (n <= 0) break;  /* a reply that cannot be sent is dropped, as on a wire */
        sent += (unsigned)n;
    }
    sc_arena_reset();
}

static void ready(void *ctx) {
    struct listener *l = ctx;
    for (int round = 0; round < 4; round++) {
        for (unsigned i = 0; i < BATCH; i++) {
            in_iov[i] = (struct iovec){ packets[i], PACKET };
            in_msgs[i].msg_hdr = (struct msghdr){ .msg_name = &peers[i], .msg_namelen = sizeof peers[i],
                                                  .msg_iov = &in_iov[i], .msg_iovlen = 1 };
        }
        int n = recvmmsg(l->fd, in_msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) return;
        unsigned pending = 0;
        for (int i = 0; i < n; i++) {
            struct sockaddr_in *peer = &peers[i];
            Datagram d = { ntohl(peer->sin_addr.s_addr), ntohs(peer->sin_port), l->port,
                           { packets[i], in_msgs[i].msg_len } };
            sc_opt_bytes reply = l->handler(d);
            if (!reply.some) continue;
            out_iov[pending] = (struct iovec){ (void *)reply.value.ptr, reply.value.len };
            out_msgs[pending].msg_hdr = (struct msghdr){ .msg_name = peer, .msg_namelen = sizeof *peer,
                                                         .msg_iov = &out_iov[pending], .msg_iovlen = 1 };
            pending++;
            if (sc_arena_free() < ARENA_RESERVE) { flush(l->fd, pending); pending = 0; }
        }
        flush(l->fd, pending);
        if (n < BATCH) return;
    }
}

void SC_FN(listen)(uint16_t port, sc_udp_handler handler) {
    if (count == MAX_LISTENERS) sc_trap("socket_udp", "too many UDP listeners");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) sc_trap("socket_udp", "cannot open a UDP socket");
    /* No SO_REUSEADDR: with it two images bind the same UDP port and the second
     * one receives nothing, silently.  A busy port is an error at start. */
    uint32_t a = SC_OP(ip, address)();
    struct sockaddr_in addr = { 0 };
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(a);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        posix_cannot_listen("udp", a, port, errno);
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    listeners[count] = (struct listener){ fd, ntohs(addr.sin_port), handler };
    posix_watch(fd, ready, &listeners[count]);
    count++;
    fprintf(stderr, "listening: udp %u.%u.%u.%u:%u\n", a >> 24, a >> 16 & 255, a >> 8 & 255,
            a & 255, (unsigned)ntohs(addr.sin_port));
}

bool SC_FN(send)(uint32_t to, uint16_t to_port, uint16_t from_port, sc_bytes payload) {
    int fd = -1;
    for (size_t i = 0; i < count; i++) if (listeners[i].port == from_port) fd = listeners[i].fd;
    struct sockaddr_in addr = { 0 };
    addr.sin_family = AF_INET;
    addr.sin_port = htons(to_port);
    addr.sin_addr.s_addr = htonl(to);
    int own = fd < 0;
    if (own) fd = socket(AF_INET, SOCK_DGRAM, 0);
    ssize_t n = sendto(fd, payload.ptr, payload.len, MSG_DONTWAIT, (struct sockaddr *)&addr, sizeof addr);
    if (own) close(fd);
    return n == (ssize_t)payload.len;
}
