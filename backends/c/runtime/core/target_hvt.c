/* The event loop's waiting on the hvt target: poll the virtio-net device
 * through the IPv4 stack until a frame or the deadline. */
#include "core/sc.h"
#include "net/net.h"

/* Listening sockets the direct components opened (direct_udp counts them). */
unsigned sc_hvt_listeners;

void sc_target_wait(uint64_t deadline_ns, bool forever) {
    net_poll();
    sc_arena_reset();
    uint64_t now = platform_monotonic_ns();
    /* Waiting "forever" still wakes up now and then: ARP and the clock need it. */
    uint64_t until = forever || deadline_ns - now > 100000000u ? now + 100000000u : deadline_ns;
    if (platform_yield_until(until)) {
        net_poll();
        sc_arena_reset();
    }
}

bool sc_target_listening(void) { return sc_hvt_listeners > 0; }
