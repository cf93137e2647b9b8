/* socket_udp(ip): UDP over host sockets (unix target).  Datagrams are read
 * and answered in batches (recvmmsg/sendmmsg): one system call each way per
 * batch rather than per datagram; within a batch, replies to one peer go out
 * together as UDP GSO sends where the kernel takes them. */
#define _GNU_SOURCE
#include "components/component.h"
#include "platform/posix/posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 16
/* Large enough to take a client's whole window at once (dnsperf -q 100):
 * the more replies a batch has for one peer, the fewer GSO sends. */
#define BATCH 128
#define PACKET 65536
/* Replies live in the event arena; send what is pending before it runs low. */
#define ARENA_RESERVE (256u * 1024u)
/* UDP GSO: at most UDP_MAX_SEGMENTS of Linux 4.18 (later kernels take 128)
 * segments, no more than one IPv4 datagram's worth of payload in all, and
 * segments that fit a 1500-byte MTU (the route's MTU bounds the segment). */
#define GSO_SEGMENTS 64
#define GSO_BYTES 65507u
#define GSO_SEGMENT_MAX 1472u

static struct listener { int fd; uint16_t port; bool gso; sc_udp_handler handler; } listeners[MAX_LISTENERS];
static size_t count;
static uint8_t packets[BATCH][PACKET];
static struct sockaddr_in peers[BATCH];
static struct iovec in_iov[BATCH];
static struct mmsghdr in_msgs[BATCH];

/* The replies of one batch, before they are sent; then their buffers in
 * the order they go out (out_iov), each with its peer (out_peer). */
static struct reply { const uint8_t *ptr; size_t len; const struct sockaddr_in *peer; } replies[BATCH];
static struct iovec out_iov[BATCH];
static const struct sockaddr_in *out_peer[BATCH];
static unsigned out_count;
static struct mmsghdr out_msgs[BATCH];
static _Alignas(struct cmsghdr) uint8_t out_control[BATCH][CMSG_SPACE(sizeof(uint16_t))];

void SC_FN(init)(void) {}

static bool same_peer(const struct sockaddr_in *a, const struct sockaddr_in *b) {
    return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* Message m: `segments` replies from out_iov[first], to one peer.  More than
 * one go as a single UDP GSO send (UDP_SEGMENT, Linux 4.18), which the kernel
 * cuts back into one datagram per reply; every reply but the last has the
 * segment size.  Routing, the IP layer and the device are then passed once
 * for the group rather than once for each datagram. */
static void message(unsigned m, unsigned first, unsigned segments) {
    struct msghdr *h = &out_msgs[m].msg_hdr;
    *h = (struct msghdr){ .msg_name = (void *)out_peer[first], .msg_namelen = sizeof *out_peer[first],
                          .msg_iov = &out_iov[first], .msg_iovlen = segments };
    if (segments < 2) return;
    h->msg_control = out_control[m];
    h->msg_controllen = sizeof out_control[m];
    struct cmsghdr *c = CMSG_FIRSTHDR(h);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t size = (uint16_t)out_iov[first].iov_len;
    memcpy(CMSG_DATA(c), &size, sizeof size);
}

static void add(const struct reply *r) {
    out_iov[out_count] = (struct iovec){ (void *)r->ptr, r->len };
    out_peer[out_count++] = r->peer;
}

/* The pending replies as messages.  With GSO the replies to one peer of one
 * size go together, and one shorter reply to that peer may end the group:
 * taken largest first, a peer's replies make the fewest such groups.  They
 * then leave in another order than their queries came (UDP promises none);
 * each is the same bytes to the same peer.  An empty reply is never
 * grouped: as a segment it would vanish. */
static unsigned group(bool gso, unsigned pending) {
    unsigned order[BATCH];
    for (unsigned i = 0; i < pending; i++) {
        unsigned k = i;
        for (; k > 0 && replies[order[k - 1]].len < replies[i].len; k--) order[k] = order[k - 1];
        order[k] = i;
    }
    bool taken[BATCH] = { false };
    unsigned m = 0;
    out_count = 0;
    for (unsigned i = 0; i < pending; i++) {
        if (taken[i]) continue;
        const struct reply *r = &replies[order[i]];
        unsigned first = out_count;
        add(r);
        size_t total = r->len;
        bool closed = !gso || r->len == 0 || r->len > GSO_SEGMENT_MAX;
        for (unsigned j = i + 1; j < pending && !closed && out_count - first < GSO_SEGMENTS; j++) {
            const struct reply *q = &replies[order[j]];
            if (taken[j] || q->len == 0 || total + q->len > GSO_BYTES
                || !same_peer(q->peer, r->peer)) continue;
            closed = q->len < r->len;  /* a shorter segment can only be the last */
            taken[j] = true;
            add(q);
            total += q->len;
        }
        message(m++, first, out_count - first);
    }
    return m;
}

/* Whether errno says the kernel refused a GSO send as such (too old a
 * kernel, a device that cannot take it, an MTU below GSO_SEGMENT_MAX). */
static bool gso_refused(void) {
    return errno == EINVAL || errno == EIO || errno == EMSGSIZE || errno == ENOPROTOOPT;
}

/* How many of the messages were sent, or given up one by one, before the
 * socket filled up or the kernel refused a GSO send (flush says what then).
 * sendmmsg stops at the first message that fails: a message to a peer this
 * host will not send to (a broadcast address, a firewall's drop) is dropped
 * alone, so one such peer never costs the replies to the others queued
 * after it in the batch. */
static unsigned send_messages(int fd, unsigned messages) {
    unsigned sent = 0;
    while (sent < messages) {
        int n = sendmmsg(fd, out_msgs + sent, messages - sent, MSG_DONTWAIT);
        if (n > 0) { sent += (unsigned)n; continue; }
        if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS
            || errno == EINTR)
            break;  /* the socket is full: the rest is dropped, as on a wire */
        if (out_msgs[sent].msg_hdr.msg_iovlen > 1 && gso_refused()) break;
        sent++;  /* this peer cannot be sent to: drop its reply and go on */
    }
    return sent;
}

static void flush(struct listener *l, unsigned pending) {
    unsigned messages = group(l->gso, pending);
    unsigned sent = send_messages(l->fd, messages);
    if (sent < messages && out_msgs[sent].msg_hdr.msg_iovlen > 1 && gso_refused()) {
        /* The kernel refused the GSO send itself (too old, a device that
         * cannot take it, an MTU below GSO_SEGMENT_MAX): send the rest one
         * datagram each, and never group on this socket again. */
        l->gso = false;
        unsigned from = (unsigned)(out_msgs[sent].msg_hdr.msg_iov - out_iov), m = 0;
        for (unsigned v = from; v < out_count; v++) message(m++, v, 1);
        send_messages(l->fd, m);
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
            replies[pending++] = (struct reply){ reply.value.ptr, reply.value.len, peer };
            if (sc_arena_free() < ARENA_RESERVE) { flush(l, pending); pending = 0; }
        }
        flush(l, pending);
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
    listeners[count] = (struct listener){ fd, ntohs(addr.sin_port), true, handler };
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
