/* The event loop's waiting on the hvt target: halt in the platform until a
 * frame or the deadline, and dispatch frames through the IPv4 stack; and
 * the readiness lines (components/listening.h). */
#include "components/listening.h"
#include "core/sc.h"
#include "fmt.h"
#include "net/net.h"

/* Listening sockets the direct components opened (direct_udp counts them). */
unsigned sc_hvt_listeners;

void sc_target_wait(uint64_t deadline_ns, bool forever) {
    net_poll();
    sc_arena_reset();
    uint64_t now = platform_monotonic_ns();
    /* Waiting "forever" still wakes up now and then: ARP and the clock need
     * it.  An overdue deadline returns at once. */
    uint64_t until = forever || (deadline_ns > now && deadline_ns - now > 100000000u)
                         ? now + 100000000u : deadline_ns;
    if (platform_yield_until(until)) {
        net_poll();
        sc_arena_reset();
    }
}

bool sc_target_listening(void) { return sc_hvt_listeners > 0; }

#define LISTENING_MAX 32
static struct { const char *protocol; uint16_t port; } listening[LISTENING_MAX];
static unsigned nlistening;

static void print_listening(unsigned i, uint32_t a) {
    console_printf("listening: %s %u.%u.%u.%u:%u\n", listening[i].protocol, (unsigned)(a >> 24),
                   (unsigned)(a >> 16 & 255), (unsigned)(a >> 8 & 255), (unsigned)(a & 255),
                   (unsigned)listening[i].port);
}

void sc_listening(const char *protocol, uint16_t port) {
    if (nlistening == LISTENING_MAX) return; /* only the line is lost */
    listening[nlistening].protocol = protocol;
    listening[nlistening].port = port;
    uint32_t a = net_address();
    if (a != 0) print_listening(nlistening, a);
    nlistening++;
}

void sc_listening_address_known(void) {
    uint32_t a = net_address();
    if (a == 0) return;
    for (unsigned i = 0; i < nlistening; i++) print_listening(i, a);
}
