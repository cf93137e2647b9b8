/* direct_udp(ip, max_listeners): UDP over the direct IPv4 stack (hvt). */
#include "components/component.h"
#include "components/listening.h"
#include "net/net.h"

extern unsigned sc_hvt_listeners;

static struct { uint16_t port; sc_udp_handler handler; } listeners[SC_CONST_max_listeners];
static unsigned count;

void SC_FN(init)(void) {}

static void received(void *ctx, uint32_t src, uint16_t src_port, uint16_t dst_port,
                     const uint8_t *payload, size_t len) {
    unsigned i = (unsigned)(uintptr_t)ctx;
    Datagram d = { src, src_port, dst_port, { payload, len } };
    sc_opt_bytes reply = listeners[i].handler(d);
    if (reply.some) net_udp_send(src, src_port, dst_port, reply.value.ptr, reply.value.len);
    sc_arena_reset();
}

void SC_FN(listen)(uint16_t port, sc_udp_handler handler) {
    if (count == SC_CONST_max_listeners || net_udp_listen(port, received, (void *)(uintptr_t)count) != 0)
        sc_trap("direct_udp", "cannot listen on the UDP port");
    listeners[count].port = port;
    listeners[count].handler = handler;
    count++;
    sc_hvt_listeners++;
    sc_listening("udp", port);
}

bool SC_FN(send)(uint32_t to, uint16_t to_port, uint16_t from_port, sc_bytes payload) {
    return net_udp_send(to, to_port, from_port, payload.ptr, payload.len) == 0;
}
