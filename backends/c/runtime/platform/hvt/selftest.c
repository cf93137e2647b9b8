/*
 * hvt platform self-test (built only by tests/test_hvt_platform.py).
 *
 * Prints a greeting and the command line, checks the monotonic clock across
 * a busy wait (and against the PIT), asks QEMU's user-mode network for the
 * gateway's MAC with ARP, and exits 7.  selftest.wake halts until a frame
 * arrives instead of the ARP exchange.  Other command-line words make it probe
 * W^X instead: selftest.wx=write (store into .text), selftest.wx=exec (jump
 * into .data), selftest.null (load from page 0), selftest.stack (overflow
 * into the guard page); each must end in a CPU exception report.
 */
#include <string.h>

#include "fmt.h"
#include "hvt.h"
#include "platform.h"

#define SELFTEST_STATUS 7

static const uint8_t gateway_ip[4] = {10, 0, 2, 2}; /* QEMU slirp's gateway */
static const uint8_t our_ip[4] = {10, 0, 2, 15};    /* slirp's first guest address */

static bool has_word(const char *cmdline, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = cmdline; (p = strstr(p, word)) != NULL; p += n) {
        bool starts = p == cmdline || p[-1] == ' ';
        bool ends = p[n] == '\0' || p[n] == ' ';
        if (starts && ends)
            return true;
    }
    return false;
}

/* Recurses until the stack runs into its guard page. */
static unsigned deep(volatile uint8_t *prev, unsigned depth)
{
    volatile uint8_t frame[1024];
    if (depth > 100000) /* 100 MB of stack: never reached, but GCC wants an end */
        return 0;
    frame[0] = (uint8_t)depth;
    frame[sizeof frame - 1] = prev ? prev[0] : 0;
    return frame[0] + deep(frame, depth + 1);
}

/* Deliberate faults; each must stop the image before its "survived" line. */
static int wx_probe(const char *cmdline)
{
    if (has_word(cmdline, "selftest.wx=write")) {
        console_printf("wx: writing into .text at %p\n", (void *)&app_main);
        *(volatile uint8_t *)(uintptr_t)&app_main = 0xc3;
        console_printf("wx: FAIL: the write to .text survived\n");
        return 1;
    }
    if (has_word(cmdline, "selftest.wx=exec")) {
        static uint8_t code_in_data[16] = {0xc3}; /* ret */
        console_printf("wx: calling into .data at %p\n", (void *)code_in_data);
        void (*fn)(void);
        uintptr_t addr = (uintptr_t)code_in_data;
        memcpy(&fn, &addr, sizeof fn);
        fn();
        console_printf("wx: FAIL: the call into .data survived\n");
        return 1;
    }
    if (has_word(cmdline, "selftest.null")) {
        volatile uintptr_t addr = 8;
        console_printf("null: reading address 8\n");
        uint32_t v = *(volatile uint32_t *)addr;
        console_printf("null: FAIL: read 0x%x from page 0\n", (unsigned)v);
        return 1;
    }
    if (has_word(cmdline, "selftest.stack")) {
        console_printf("stack: recursing without end\n");
        unsigned v = deep(NULL, 0);
        console_printf("stack: FAIL: the recursion returned %u\n", v);
        return 1;
    }
    return -1;
}

static uint16_t pit_now(void)
{
    outb(0x43, 0x00); /* latch channel 0, then low byte, high byte */
    uint8_t lo = inb(0x40);
    uint8_t hi = inb(0x40);
    return (uint16_t)(lo | hi << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* An ARP who-has for the gateway; the reply's sender MAC, or false. */
static bool arp_gateway(const uint8_t mac[6], uint8_t gw_mac[6])
{
    uint8_t f[60]; /* minimum Ethernet frame without the FCS */
    memset(f, 0, sizeof f);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    put16(f + 12, 0x0806); /* ARP */
    put16(f + 14, 1);      /* Ethernet */
    put16(f + 16, 0x0800); /* IPv4 */
    f[18] = 6;
    f[19] = 4;
    put16(f + 20, 1); /* request */
    memcpy(f + 22, mac, 6);
    memcpy(f + 28, our_ip, 4);
    memcpy(f + 38, gateway_ip, 4);
    if (platform_net_write(f, sizeof f) != 0) {
        console_printf("arp: send failed\n");
        return false;
    }

    uint64_t deadline = platform_monotonic_ns() + 2000000000ull;
    uint8_t rx[1514];
    while (platform_yield_until(deadline)) {
        ptrdiff_t n;
        while ((n = platform_net_read(rx, sizeof rx)) > 0) {
            bool reply = n >= 42 && rx[12] == 0x08 && rx[13] == 0x06 && rx[20] == 0 &&
                         rx[21] == 2 && memcmp(rx + 28, gateway_ip, 4) == 0;
            if (reply) {
                memcpy(gw_mac, rx + 22, 6);
                return true;
            }
        }
    }
    return false;
}

int app_main(void)
{
    uint64_t t_start = platform_monotonic_ns();
    uint64_t init_cycles = rdtsc() - hvt_boot_tsc;
    console_printf("hello from hvt\n");
    console_printf("boot: %llu us from entering C to app_main\n",
                   (unsigned long long)(init_cycles * 1000000u / hvt_tsc_hz));
    const char *cmdline = platform_cmdline();
    console_printf("cmdline: \"%s\"\n", cmdline);
    struct platform_region heap = platform_heap();
    console_printf("heap: %zu KiB at 0x%lx\n", heap.size / 1024, (unsigned long)heap.base);
    console_printf("cpu: tsc %llu kHz (%s, +-%u ppm), nx %s\n",
                   (unsigned long long)(hvt_tsc_hz / 1000), hvt_tsc_from_pit ? "pit" : "fallback",
                   (unsigned)hvt_tsc_error_ppm, hvt_nx_enabled ? "on" : "off");

    int probe = wx_probe(cmdline);
    if (probe >= 0)
        return probe;

    /* A busy wait of 20 ms by our clock, measured by the PIT too (channel
     * 0 is still counting down from the calibration, wrapping every 55 ms). */
    uint64_t t0 = platform_monotonic_ns();
    uint16_t p0 = pit_now();
    uint64_t t1 = t0, max_step = 0;
    for (uint64_t prev = t0; t1 - t0 < 20000000u; prev = t1) {
        cpu_relax();
        t1 = platform_monotonic_ns();
        if (t1 < prev) {
            console_printf("clock: FAIL: went backwards by %llu ns\n",
                           (unsigned long long)(prev - t1));
            return 5;
        }
        if (t1 - prev > max_step)
            max_step = t1 - prev;
    }
    uint16_t p1 = pit_now();
    uint64_t pit_ns = (uint64_t)(uint16_t)(p0 - p1) * 1000000000ull / 1193182u;
    console_printf("clock: busy wait %llu ns by the tsc, %llu ns by the pit, longest step %llu ns\n",
                   (unsigned long long)(t1 - t0), (unsigned long long)pit_ns,
                   (unsigned long long)max_step);
    console_printf("clock: since app start %llu us, wall %llu s\n",
                   (unsigned long long)((t1 - t_start) / 1000),
                   (unsigned long long)(platform_wall_ns() / 1000000000ull));

    uint8_t mac[6];
    size_t mtu;
    if (platform_net_info(mac, &mtu) != 0) {
        console_printf("net: no device\n");
        return 3;
    }
    console_printf("net: virtio-mmio version %u at 0x%lx (from the %s), "
                   "mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %zu\n",
                   (unsigned)hvt_net_version, (unsigned long)hvt_net_base,
                   hvt_net_found_by_cmdline ? "command line" : "slot scan", mac[0], mac[1], mac[2],
                   mac[3], mac[4], mac[5], mtu);
    /* An idle wait: nothing is pending, so only the LAPIC timer can end
     * it, and not before its deadline. */
    console_printf("irq: virtio-net gsi %d, lapic timer %llu kHz\n",
                   hvt_net_gsi == HVT_NO_GSI ? -1 : (int)hvt_net_gsi,
                   (unsigned long long)(hvt_lapic_timer_hz / 1000));
    uint64_t timer_irqs = hvt_irqs_timer, halts = hvt_halts;
    uint64_t w0 = platform_monotonic_ns();
    bool woke_for_frame = platform_yield_until(w0 + 30000000u);
    uint64_t waited = platform_monotonic_ns() - w0;
    console_printf("idle: waited %llu us for 30000 us, %s, %llu halts, %llu timer interrupts\n",
                   (unsigned long long)(waited / 1000), woke_for_frame ? "a frame" : "the deadline",
                   (unsigned long long)(hvt_halts - halts),
                   (unsigned long long)(hvt_irqs_timer - timer_irqs));
    if (!woke_for_frame && waited < 30000000u) {
        console_printf("idle: FAIL: returned before the deadline\n");
        return 6;
    }

    if (has_word(cmdline, "selftest.wake")) {
        /* Halted until the test sends a frame: only the virtio-net
         * interrupt can end this wait before its 20 s deadline. */
        uint64_t irqs = hvt_irqs_net;
        console_printf("wake: halting until a frame arrives\n");
        uint64_t t0 = platform_monotonic_ns();
        bool frame = platform_yield_until(t0 + 20000000000ull);
        console_printf("wake: %s after %llu us, %llu virtio-net interrupts\n",
                       frame ? "a frame" : "the deadline",
                       (unsigned long long)((platform_monotonic_ns() - t0) / 1000),
                       (unsigned long long)(hvt_irqs_net - irqs));
        return frame ? SELFTEST_STATUS : 8;
    }

    uint8_t gw[6];
    uint64_t net_irqs = hvt_irqs_net;
    uint64_t a0 = platform_monotonic_ns();
    if (!arp_gateway(mac, gw)) {
        console_printf("arp: no reply from 10.0.2.2 within 2 s\n");
        return 4;
    }
    console_printf("arp: 10.0.2.2 is-at %02x:%02x:%02x:%02x:%02x:%02x (%llu us)\n", gw[0], gw[1],
                   gw[2], gw[3], gw[4], gw[5],
                   (unsigned long long)((platform_monotonic_ns() - a0) / 1000));
    console_printf("irq: %llu virtio-net interrupts while waiting for the ARP reply\n",
                   (unsigned long long)(hvt_irqs_net - net_irqs));
    console_printf("selftest: done, exiting %d\n", SELFTEST_STATUS);
    return SELFTEST_STATUS;
}
