/*
 * hvt test image for the IPv4 stack (built only by tests/test_hvt_net.py,
 * with net.c): 10.0.2.15/24 via 10.0.2.2, QEMU user networking's defaults.
 *
 * A UDP echo service on port 7: every datagram comes back to its sender,
 * same payload, from port 7.  The datagram "stop" instead makes the image
 * print its counters and exit with status 5.  ICMP echo and ARP are answered
 * by the stack itself.
 */
#include <string.h>

#include "fmt.h"
#include "net.h"
#include "platform.h"

#define ECHO_PORT 7
#define STOP_STATUS 5
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

struct echo {
    uint64_t echoed;
    uint64_t send_failures;
    bool stop;
};

static void on_datagram(void *ctx, uint32_t src, uint16_t src_port, uint16_t dst_port,
                        const uint8_t *payload, size_t len)
{
    struct echo *echo = ctx;
    (void)dst_port;
    if (len == 4 && memcmp(payload, "stop", 4) == 0) {
        echo->stop = true;
        return;
    }
    if (net_udp_send(src, src_port, ECHO_PORT, payload, len) == 0)
        echo->echoed++;
    else
        echo->send_failures++;
}

int app_main(void)
{
    static struct echo echo;
    if (net_init(IP4(10, 0, 2, 15), 24, IP4(10, 0, 2, 2)) != 0) {
        console_printf("udp-echo: no network interface\n");
        return 3;
    }
    if (net_udp_listen(ECHO_PORT, on_datagram, &echo) != 0) {
        console_printf("udp-echo: FAIL: cannot listen on port %d\n", ECHO_PORT);
        return 4;
    }
    console_printf("udp-echo: listening on 10.0.2.15:%d\n", ECHO_PORT);
    while (!echo.stop) {
        net_poll();
        (void)platform_yield_until(platform_monotonic_ns() + 10000000u);
    }
    const struct net_stats *s = net_stats();
    console_printf("udp-echo: echoed %llu, send failures %llu\n", (unsigned long long)echo.echoed,
                   (unsigned long long)echo.send_failures);
    console_printf("net: rx %llu malformed %llu ignored %llu oversize %llu fragments %llu\n",
                   (unsigned long long)s->rx_frames, (unsigned long long)s->rx_malformed,
                   (unsigned long long)s->rx_ignored, (unsigned long long)s->rx_oversize,
                   (unsigned long long)s->rx_fragments);
    console_printf("net: arp replies %llu requests %llu unresolved %llu\n",
                   (unsigned long long)s->arp_replies, (unsigned long long)s->arp_requests,
                   (unsigned long long)s->arp_unresolved);
    console_printf("net: icmp echo %llu unreachable %llu udp delivered %llu no-listener %llu\n",
                   (unsigned long long)s->icmp_echo_replies, (unsigned long long)s->icmp_unreachable,
                   (unsigned long long)s->udp_delivered, (unsigned long long)s->udp_no_listener);
    console_printf("net: tx %llu errors %llu\n", (unsigned long long)s->tx_frames,
                   (unsigned long long)s->tx_errors);
    console_printf("udp-echo: stop, exiting %d\n", STOP_STATUS);
    return STOP_STATUS;
}
