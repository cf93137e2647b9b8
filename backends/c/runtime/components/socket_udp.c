/* socket_udp(ip): UDP over host sockets (unix target). */
#define _POSIX_C_SOURCE 200809L
#include "components/component.h"
#include "platform/posix/posix.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 16
#define BATCH 64

static struct listener { int fd; uint16_t port; sc_udp_handler handler; } listeners[MAX_LISTENERS];
static size_t count;
static uint8_t packet[65536];

void SC_FN(init)(void) {}

static void ready(void *ctx) {
    struct listener *l = ctx;
    for (int i = 0; i < BATCH; i++) {
        struct sockaddr_in peer;
        socklen_t peer_len = sizeof peer;
        ssize_t n = recvfrom(l->fd, packet, sizeof packet, MSG_DONTWAIT, (struct sockaddr *)&peer, &peer_len);
        if (n < 0) return;
        Datagram d = { ntohl(peer.sin_addr.s_addr), ntohs(peer.sin_port), l->port, { packet, (size_t)n } };
        sc_opt_bytes reply = l->handler(d);
        if (reply.some)
            sendto(l->fd, reply.value.ptr, reply.value.len, MSG_DONTWAIT, (struct sockaddr *)&peer, peer_len);
        sc_arena_reset();
    }
}

void SC_FN(listen)(uint16_t port, sc_udp_handler handler) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { 0 };
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(SC_OP(ip, address)());
    if (fd < 0 || count == MAX_LISTENERS || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        sc_trap("socket_udp", "cannot listen on the UDP port");
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    listeners[count] = (struct listener){ fd, ntohs(addr.sin_port), handler };
    posix_watch(fd, ready, &listeners[count]);
    count++;
    char where[64];
    uint32_t a = SC_OP(ip, address)();
    snprintf(where, sizeof where, "%u.%u.%u.%u:%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255,
             (unsigned)ntohs(addr.sin_port));
    fprintf(stderr, "listening: udp %s\n", where);
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
