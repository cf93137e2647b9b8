/*
 * Host test of net.c (built only by tests/test_hvt_net.py, with the host's
 * gcc, -fsanitize=address,undefined): net.c is included whole, so its
 * static functions can be called, on top of a fake platform that queues
 * received frames, records sent ones and lets the test move the clock.
 *
 * Every frame the stack sends goes through check_sent_frame(), an
 * independent decoder (its own checksum code): a frame that is not
 * well-formed Ethernet/ARP/IPv4/ICMP/UDP fails the run, whatever the test.
 * The fuzzer feeds mutated frames through eth_input() in buffers of exactly
 * the frame's length, so AddressSanitizer sees any read past the end.
 *
 * Prints "net host test: N checks, 0 failed" and exits 0 when all pass.
 */
#include <stdio.h>
#include <stdlib.h>

#include "net.c"

static unsigned checks, failures;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        checks++;                                                                      \
        if (!(cond)) {                                                                 \
            failures++;                                                                \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,       \
                    __func__, #cond);                                                  \
        }                                                                              \
    } while (0)

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint32_t OUR_IP = IP4(10, 0, 2, 15);
static const uint32_t GW_IP = IP4(10, 0, 2, 2);
static const uint32_t PEER_IP = IP4(10, 0, 2, 100);
static const uint32_t FAR_IP = IP4(192, 0, 2, 1); /* off the subnet */
static const uint8_t OUR_MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t GW_MAC[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
static const uint8_t PEER_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x64};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- the fake platform --------------------------------------------------- */

struct frame {
    size_t len;
    uint8_t data[NET_FRAME_MAX];
};

#define QUEUE 512
static struct frame rxq[QUEUE];
static unsigned rx_head, rx_count;
static struct frame sent[QUEUE];
static unsigned nsent;
static bool have_interface = true;
static size_t fake_mtu = 1500;
static bool write_fails;
static uint64_t fake_now = 5 * NS_PER_S;

int platform_net_info(uint8_t mac[6], size_t *mtu)
{
    if (!have_interface)
        return -1;
    memcpy(mac, OUR_MAC, 6);
    *mtu = fake_mtu;
    return 0;
}

static void check_sent_frame(const uint8_t *f, size_t len);

int platform_net_write(const void *frame, size_t len)
{
    check_sent_frame(frame, len);
    if (write_fails || len == 0 || len > NET_FRAME_MAX)
        return -1;
    if (nsent < QUEUE) {
        sent[nsent].len = len;
        memcpy(sent[nsent].data, frame, len);
        nsent++;
    }
    return 0;
}

/* A length above NET_FRAME_MAX stands for a frame too long for cap. */
ptrdiff_t platform_net_read(void *buf, size_t cap)
{
    if (!have_interface)
        return -1;
    if (rx_count == 0)
        return 0;
    struct frame *f = &rxq[rx_head];
    rx_head = (rx_head + 1) % QUEUE;
    rx_count--;
    if (f->len > cap)
        return -1;
    memcpy(buf, f->data, f->len);
    return (ptrdiff_t)f->len;
}

uint64_t platform_monotonic_ns(void)
{
    return fake_now;
}

static void deliver(const uint8_t *data, size_t len)
{
    if (rx_count == QUEUE) {
        fprintf(stderr, "test bug: receive queue full\n");
        exit(2);
    }
    struct frame *f = &rxq[(rx_head + rx_count) % QUEUE];
    f->len = len;
    memcpy(f->data, data, len < NET_FRAME_MAX ? len : NET_FRAME_MAX);
    rx_count++;
}

static void reset_sent(void)
{
    nsent = 0;
}

/* ---- an independent encoder and decoder -------------------------------------- */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static void wr16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v >> 16);
    wr16(p + 2, v & 0xffffu);
}

/* RFC 1071, folding as it goes: the reference for net.c's csum_add/csum_fold. */
static uint16_t ref_checksum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i < n; i += 2) {
        s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0u);
        s = (s & 0xffffu) + (s >> 16);
    }
    return (uint16_t)~s;
}

/* Checksum over pseudo-header + UDP datagram, built in one buffer. */
static uint16_t ref_udp_checksum(uint32_t src, uint32_t dst, const uint8_t *udp, size_t n)
{
    static uint8_t buf[12 + 65536];
    wr32(buf, src);
    wr32(buf + 4, dst);
    buf[8] = 0;
    buf[9] = 17;
    wr16(buf + 10, (unsigned)n);
    memcpy(buf + 12, udp, n);
    return ref_checksum(buf, 12 + n);
}

static void fail_frame(const char *why, const uint8_t *f, size_t len)
{
    failures++;
    fprintf(stderr, "sent frame (%zu bytes) is bad: %s:", len, why);
    for (size_t i = 0; i < len && i < 64; i++)
        fprintf(stderr, " %02x", f[i]);
    fprintf(stderr, "\n");
}

static void check_sent_frame(const uint8_t *f, size_t len)
{
    checks++;
    if (len < 60 || len > NET_FRAME_MAX)
        return fail_frame("length", f, len);
    if (memcmp(f + 6, OUR_MAC, 6) != 0)
        return fail_frame("source MAC", f, len);
    if (rd16(f + 12) == 0x0806) {
        const uint8_t *a = f + 14;
        if (rd16(a) != 1 || rd16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
            return fail_frame("ARP header", f, len);
        if ((rd16(a + 6) != 1 && rd16(a + 6) != 2) || memcmp(a + 8, OUR_MAC, 6) != 0 ||
            rd32(a + 14) != net.addr)
            return fail_frame("ARP sender", f, len);
        if (rd16(a + 6) == 1 && memcmp(f, BCAST, 6) != 0)
            return fail_frame("ARP request not broadcast", f, len);
        if (rd16(a + 6) == 2 && memcmp(f, a + 18, 6) != 0)
            return fail_frame("ARP reply not to the requester", f, len);
        return;
    }
    if (rd16(f + 12) != 0x0800)
        return fail_frame("ethertype", f, len);
    const uint8_t *ip = f + 14;
    size_t total = rd16(ip + 2);
    if (ip[0] != 0x45 || total < 20 || 14 + total > len || (len > 60 && 14 + total != len))
        return fail_frame("IP version, length", f, len);
    if (ref_checksum(ip, 20) != 0)
        return fail_frame("IP checksum", f, len);
    if (rd16(ip + 6) != 0x4000 || ip[8] != 64 || rd32(ip + 12) != net.addr)
        return fail_frame("IP flags, TTL or source", f, len);
    uint32_t dst = rd32(ip + 16);
    if (dst == 0 || dst == net.addr || (dst >> 28) == 0xe)
        return fail_frame("IP destination", f, len);
    const uint8_t *p = ip + 20;
    size_t n = total - 20;
    if (ip[9] == 1) {
        if (n < 8 || ref_checksum(p, n) != 0 || (p[0] != 0 && p[0] != 3))
            return fail_frame("ICMP", f, len);
    } else if (ip[9] == 17) {
        if (n < 8 || rd16(p + 4) != n || rd16(p + 6) == 0 ||
            ref_udp_checksum(net.addr, dst, p, n) != 0)
            return fail_frame("UDP", f, len);
    } else {
        return fail_frame("IP protocol", f, len);
    }
}

static size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, unsigned type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    wr16(f + 12, type);
    return 14;
}

static size_t arp(uint8_t *f, const uint8_t *eth_dst, unsigned op, const uint8_t *sha, uint32_t spa,
                  const uint8_t *tha, uint32_t tpa)
{
    eth(f, eth_dst, sha, 0x0806);
    uint8_t *a = f + 14;
    wr16(a, 1);
    wr16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    wr16(a + 6, op);
    memcpy(a + 8, sha, 6);
    wr32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    wr32(a + 24, tpa);
    memset(f + 42, 0, 18);
    return 60;
}

/* An IPv4 frame around payload (len bytes); ihl in words (options zeroed). */
static size_t ipv4_ihl(uint8_t *f, const uint8_t *src_mac, const uint8_t *dst_mac, uint32_t src,
                       uint32_t dst, unsigned proto, unsigned frag, unsigned ihl,
                       const uint8_t *payload, size_t len)
{
    eth(f, dst_mac, src_mac, 0x0800);
    uint8_t *ip = f + 14;
    size_t hl = ihl * 4u;
    memset(ip, 0, hl);
    ip[0] = (uint8_t)(0x40 | ihl);
    wr16(ip + 2, (unsigned)(hl + len));
    wr16(ip + 4, 0x1234);
    wr16(ip + 6, frag);
    ip[8] = 64;
    ip[9] = (uint8_t)proto;
    wr32(ip + 12, src);
    wr32(ip + 16, dst);
    wr16(ip + 10, ref_checksum(ip, hl));
    memcpy(ip + hl, payload, len);
    size_t n = 14 + hl + len;
    if (n < 60) {
        memset(f + n, 0, 60 - n);
        n = 60;
    }
    return n;
}

static size_t ipv4(uint8_t *f, const uint8_t *src_mac, uint32_t src, uint32_t dst, unsigned proto,
                   const uint8_t *payload, size_t len)
{
    return ipv4_ihl(f, src_mac, OUR_MAC, src, dst, proto, 0, 5, payload, len);
}

/* A UDP datagram (header + data) in u; csum: 1 compute, 0 leave zero. */
static size_t udp(uint8_t *u, uint32_t src, uint32_t dst, unsigned sport, unsigned dport,
                  const void *data, size_t len, bool csum)
{
    wr16(u, sport);
    wr16(u + 2, dport);
    wr16(u + 4, (unsigned)(8 + len));
    wr16(u + 6, 0);
    memcpy(u + 8, data, len);
    if (csum) {
        uint16_t c = ref_udp_checksum(src, dst, u, 8 + len);
        wr16(u + 6, c == 0 ? 0xffff : c);
    }
    return 8 + len;
}

static size_t udp_frame(uint8_t *f, const uint8_t *src_mac, uint32_t src, uint32_t dst,
                        unsigned sport, unsigned dport, const void *data, size_t len)
{
    uint8_t u[1500];
    size_t n = udp(u, src, dst, sport, dport, data, len, true);
    return ipv4(f, src_mac, src, dst, 17, u, n);
}

static size_t icmp_echo(uint8_t *f, const uint8_t *src_mac, uint32_t src, uint32_t dst,
                        const void *data, size_t len)
{
    uint8_t m[1500];
    m[0] = 8;
    m[1] = 0;
    wr16(m + 2, 0);
    wr16(m + 4, 0xbeef);
    wr16(m + 6, 7);
    memcpy(m + 8, data, len);
    wr16(m + 2, ref_checksum(m, 8 + len));
    return ipv4(f, src_mac, src, dst, 1, m, 8 + len);
}

static void poll_frame(const uint8_t *f, size_t len)
{
    deliver(f, len);
    net_poll();
}

/* ---- a UDP listener that records (and optionally echoes) ---------------------- */

struct seen {
    unsigned calls;
    uint32_t src;
    uint16_t sport, dport;
    size_t len;
    uint8_t data[1500];
    bool echo;
    bool nest; /* call net_poll from the handler */
};

static void on_udp(void *ctx, uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *payload,
                   size_t len)
{
    struct seen *s = ctx;
    s->calls++;
    s->src = src;
    s->sport = sport;
    s->dport = dport;
    s->len = len;
    memcpy(s->data, payload, len < sizeof s->data ? len : sizeof s->data);
    if (s->nest)
        net_poll();
    if (s->echo)
        (void)net_udp_send(src, sport, dport, payload, len);
}

static struct seen seen;

static void start(uint32_t gateway)
{
    have_interface = true;
    fake_mtu = 1500;
    write_fails = false;
    rx_head = rx_count = 0;
    reset_sent();
    memset(&seen, 0, sizeof seen);
    if (net_init(OUR_IP, 24, gateway) != 0) {
        fprintf(stderr, "net_init failed\n");
        exit(2);
    }
    reset_sent(); /* the ARP announcement net_init sends (test_init checks it) */
    CHECK(net_udp_listen(7, on_udp, &seen) == 0);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_checksum(void)
{
    /* RFC 1071 section 3's example: the sum is ddf2, so the checksum 220d. */
    static const uint8_t rfc[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK(csum_fold(csum_add(0, rfc, 8)) == 0x220d);
    CHECK(csum_fold(csum_add(csum_add(0, rfc, 4), rfc + 4, 4)) == 0x220d);
    /* A well-known IPv4 header (checksum b861), and its verification. */
    uint8_t hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                       0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK(csum_fold(csum_add(0, hdr, 20)) == 0xb861);
    wr16(hdr + 10, 0xb861);
    CHECK(csum_fold(csum_add(0, hdr, 20)) == 0);
    /* Odd lengths pad with a zero byte. */
    static const uint8_t odd[3] = {0x12, 0x34, 0x56};
    CHECK(csum_fold(csum_add(0, odd, 3)) == (uint16_t) ~(0x1234 + 0x5600));
    /* Many carries: 64 KiB of ff. */
    static uint8_t big[65535];
    memset(big, 0xff, sizeof big);
    CHECK(csum_fold(csum_add(0, big, sizeof big)) == ref_checksum(big, sizeof big));
    /* Random data against the reference. */
    srand(1);
    for (int i = 0; i < 2000; i++) {
        uint8_t d[300];
        size_t n = (size_t)rand() % sizeof d;
        for (size_t k = 0; k < n; k++)
            d[k] = (uint8_t)rand();
        CHECK(csum_fold(csum_add(0, d, n)) == ref_checksum(d, n));
    }
    static const uint8_t udp8[8] = {0x12, 0x34, 0x00, 0x07, 0x00, 0x08, 0x00, 0x00};
    CHECK(csum_fold(csum_add(csum_pseudo(OUR_IP, GW_IP, 17, 8), udp8, 8)) ==
          ref_udp_checksum(OUR_IP, GW_IP, udp8, 8));
}

static void test_init(void)
{
    have_interface = false;
    CHECK(net_init(OUR_IP, 24, GW_IP) == -1);
    CHECK(net_address() == 0);
    net_poll(); /* harmless before init */
    CHECK(net_udp_send(GW_IP, 7, 7, (const uint8_t *)"x", 1) == -1);
    CHECK(net_udp_listen(7, on_udp, &seen) == -1);
    have_interface = true;
    CHECK(net_init(0, 24, GW_IP) == -1);
    CHECK(net_init(OUR_IP, 33, GW_IP) == -1);
    fake_mtu = 40;
    CHECK(net_init(OUR_IP, 24, GW_IP) == -1);
    fake_mtu = 9000; /* clamped to our buffers */
    CHECK(net_init(OUR_IP, 24, GW_IP) == 0);
    CHECK(net.mtu == 1500);
    fake_mtu = 1500;
    reset_sent();
    CHECK(net_init(OUR_IP, 24, GW_IP) == 0);
    CHECK(net_address() == OUR_IP);
    /* An ARP announcement: a broadcast request for our own address. */
    CHECK(nsent == 1 && memcmp(sent[0].data, "\xff\xff\xff\xff\xff\xff", 6) == 0);
    CHECK(nsent == 1 && rd16(sent[0].data + 12) == 0x0806 && rd16(sent[0].data + 14 + 6) == 1);
    CHECK(nsent == 1 && rd32(sent[0].data + 14 + 14) == OUR_IP &&
          rd32(sent[0].data + 14 + 24) == OUR_IP);
    reset_sent();
}

/* Without an address (DHCP's INIT): limited broadcasts from 0.0.0.0 only,
 * no ARP answered; net_configure then gives the address, keeping listeners. */
static void test_unconfigured_then_configured(void)
{
    have_interface = true;
    fake_mtu = 1500;
    rx_head = rx_count = 0;
    memset(&seen, 0, sizeof seen);
    CHECK(net_init(0, 24, 0) == -1);
    CHECK(net_init(0, 0, GW_IP) == -1);
    reset_sent();
    CHECK(net_init(0, 0, 0) == 0);
    CHECK(nsent == 0); /* nothing to announce */
    CHECK(net_address() == 0);
    CHECK(net_udp_listen(68, on_udp, &seen) == 0);
    CHECK(net_udp_send(0xffffffffu, 67, 68, (const uint8_t *)"discover", 8) == 0);
    CHECK(nsent == 1 && memcmp(sent[0].data, BCAST, 6) == 0);
    CHECK(nsent == 1 && rd32(sent[0].data + 14 + 12) == 0 &&
          rd32(sent[0].data + 14 + 16) == 0xffffffffu);
    CHECK(net_udp_send(GW_IP, 67, 68, (const uint8_t *)"x", 1) == -1); /* no route */
    reset_sent();
    uint8_t f[NET_FRAME_MAX];
    static const uint8_t zero[6];
    poll_frame(f, arp(f, BCAST, 1, PEER_MAC, PEER_IP, zero, 0)); /* "who has 0.0.0.0" */
    CHECK(nsent == 0);
    poll_frame(f, udp_frame(f, GW_MAC, GW_IP, 0xffffffffu, 67, 68, "offer", 5));
    CHECK(seen.calls == 1 && seen.src == GW_IP && seen.len == 5);
    poll_frame(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 67, 68, "unicast", 7));
    CHECK(seen.calls == 1); /* not our address (yet) */

    CHECK(net_configure(OUR_IP, 33, GW_IP) == -1);
    CHECK(net_configure(OUR_IP, 24, GW_IP) == 0);
    CHECK(net_address() == OUR_IP);
    CHECK(nsent == 1 && rd16(sent[0].data + 12) == 0x0806 && rd32(sent[0].data + 14 + 24) == OUR_IP);
    poll_frame(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 67, 68, "ack", 3));
    CHECK(seen.calls == 2 && seen.len == 3); /* the listener survived */
    CHECK(net_configure(0, 0, 0) == 0); /* the lease ran out */
    CHECK(net_address() == 0);
    poll_frame(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 67, 68, "late", 4));
    CHECK(seen.calls == 2);
}

static void test_listen(void)
{
    start(GW_IP);
    CHECK(net_udp_listen(7, on_udp, &seen) == -1); /* taken */
    CHECK(net_udp_listen(0, on_udp, &seen) == -1);
    CHECK(net_udp_listen(8, NULL, &seen) == -1);
    unsigned added = 1;
    for (uint16_t p = 100; added < NET_UDP_LISTENERS; p++, added++)
        CHECK(net_udp_listen(p, on_udp, &seen) == 0);
    CHECK(net_udp_listen(9999, on_udp, &seen) == -1); /* full */
}

static void test_arp_reply_and_learning(void)
{
    start(GW_IP);
    uint8_t f[NET_FRAME_MAX];
    static const uint8_t zero[6];
    poll_frame(f, arp(f, BCAST, 1, PEER_MAC, PEER_IP, zero, OUR_IP));
    CHECK(nsent == 1);
    const uint8_t *r = sent[0].data;
    CHECK(memcmp(r, PEER_MAC, 6) == 0);
    CHECK(rd16(r + 14 + 6) == 2);
    CHECK(memcmp(r + 14 + 8, OUR_MAC, 6) == 0 && rd32(r + 14 + 14) == OUR_IP);
    CHECK(memcmp(r + 14 + 18, PEER_MAC, 6) == 0 && rd32(r + 14 + 24) == PEER_IP);
    CHECK(net_stats()->arp_replies == 1);
    /* Learnt: a datagram to the peer leaves at once, to its MAC. */
    reset_sent();
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"abc", 3) == 0);
    CHECK(nsent == 1 && memcmp(sent[0].data, PEER_MAC, 6) == 0 && rd16(sent[0].data + 12) == 0x0800);

    /* A request for someone else: no reply, and its sender is not added. */
    start(GW_IP);
    poll_frame(f, arp(f, BCAST, 1, PEER_MAC, PEER_IP, zero, IP4(10, 0, 2, 3)));
    CHECK(nsent == 0);
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"abc", 3) == 0);
    CHECK(nsent == 1 && rd16(sent[0].data + 12) == 0x0806); /* had to ask */
    /* ... but it updates an entry we already have (RFC 826's merge). */
    static const uint8_t new_mac[6] = {0x02, 0, 0, 0, 0, 0x65};
    poll_frame(f, arp(f, BCAST, 1, PEER_MAC, PEER_IP, zero, IP4(10, 0, 2, 3)));
    CHECK(nsent == 2 && memcmp(sent[1].data, PEER_MAC, 6) == 0); /* the pending packet left */
    poll_frame(f, arp(f, BCAST, 1, new_mac, PEER_IP, zero, IP4(10, 0, 2, 3)));
    reset_sent();
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"abc", 3) == 0);
    CHECK(nsent == 1 && memcmp(sent[0].data, new_mac, 6) == 0);

    /* Bad ARP: group sender MAC, a claim on our address, odd hardware type, short. */
    start(GW_IP);
    uint64_t mal = net_stats()->rx_malformed, ign = net_stats()->rx_ignored;
    size_t n = arp(f, BCAST, 1, BCAST, PEER_IP, zero, OUR_IP);
    memcpy(f + 6, PEER_MAC, 6);
    poll_frame(f, n);
    poll_frame(f, arp(f, BCAST, 1, PEER_MAC, OUR_IP, zero, OUR_IP));
    n = arp(f, BCAST, 1, PEER_MAC, PEER_IP, zero, OUR_IP);
    wr16(f + 14, 6);
    poll_frame(f, n);
    arp(f, BCAST, 3, PEER_MAC, PEER_IP, zero, OUR_IP);
    poll_frame(f, n);
    arp(f, BCAST, 1, PEER_MAC, PEER_IP, zero, OUR_IP);
    poll_frame(f, 14 + 27);
    CHECK(nsent == 0);
    CHECK(net_stats()->rx_malformed == mal + 2);
    CHECK(net_stats()->rx_ignored == ign + 3);
    /* A probe (sender 0.0.0.0) for our address is answered, nothing learnt. */
    poll_frame(f, arp(f, BCAST, 1, PEER_MAC, 0, zero, OUR_IP));
    CHECK(nsent == 1 && rd32(sent[0].data + 14 + 24) == 0);
}

static void test_icmp_echo(void)
{
    start(GW_IP);
    uint8_t f[NET_FRAME_MAX];
    const char *data = "ping data";
    poll_frame(f, icmp_echo(f, GW_MAC, GW_IP, OUR_IP, data, strlen(data))); /* padded to 60 */
    CHECK(nsent == 1);
    const uint8_t *r = sent[0].data, *ip = r + 14, *m = ip + 20;
    CHECK(memcmp(r, GW_MAC, 6) == 0);
    CHECK(rd32(ip + 12) == OUR_IP && rd32(ip + 16) == GW_IP && ip[9] == 1);
    CHECK(rd16(ip + 2) == 20 + 8 + strlen(data));
    CHECK(m[0] == 0 && m[1] == 0 && rd16(m + 4) == 0xbeef && rd16(m + 6) == 7);
    CHECK(memcmp(m + 8, data, strlen(data)) == 0);
    CHECK(net_stats()->icmp_echo_replies == 1);

    /* Large echo, the whole MTU. */
    reset_sent();
    uint8_t big[1472];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    poll_frame(f, icmp_echo(f, GW_MAC, GW_IP, OUR_IP, big, sizeof big));
    CHECK(nsent == 1 && sent[0].len == 1514 && memcmp(sent[0].data + 42, big, sizeof big) == 0);

    /* Not answered: to the broadcast address, bad checksum, an echo reply. */
    reset_sent();
    size_t n = icmp_echo(f, GW_MAC, GW_IP, IP4(10, 0, 2, 255), data, 4);
    memcpy(f, BCAST, 6);
    poll_frame(f, n);
    n = icmp_echo(f, GW_MAC, GW_IP, OUR_IP, data, 4);
    f[14 + 20 + 9] ^= 1;
    poll_frame(f, n);
    uint8_t m2[12] = {0, 0, 0, 0, 0, 1, 0, 1, 'a', 'b', 'c', 'd'};
    wr16(m2 + 2, ref_checksum(m2, sizeof m2));
    poll_frame(f, ipv4(f, GW_MAC, GW_IP, OUR_IP, 1, m2, sizeof m2));
    /* Shorter than an ICMP header, with a correct checksum. */
    uint64_t mal = net_stats()->rx_malformed;
    uint8_t m3[4] = {8, 0, 0, 0};
    wr16(m3 + 2, ref_checksum(m3, sizeof m3));
    poll_frame(f, ipv4(f, GW_MAC, GW_IP, OUR_IP, 1, m3, sizeof m3));
    CHECK(net_stats()->rx_malformed == mal + 1);
    CHECK(nsent == 0);
    CHECK(net_stats()->icmp_echo_replies == 2);
}

static void test_udp_input(void)
{
    start(GW_IP);
    uint8_t f[NET_FRAME_MAX], u[1500];
    poll_frame(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 40000, 7, "hello", 5));
    CHECK(seen.calls == 1 && seen.src == GW_IP && seen.sport == 40000 && seen.dport == 7);
    CHECK(seen.len == 5 && memcmp(seen.data, "hello", 5) == 0);

    /* Checksum 0: none, accepted.  A wrong one: dropped. */
    size_t n = udp(u, GW_IP, OUR_IP, 1, 7, "abc", 3, false);
    poll_frame(f, ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, n));
    CHECK(seen.calls == 2 && seen.len == 3);
    uint64_t mal = net_stats()->rx_malformed;
    n = udp(u, GW_IP, OUR_IP, 1, 7, "abc", 3, true);
    u[9] ^= 0x40;
    poll_frame(f, ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, n));
    CHECK(seen.calls == 2 && net_stats()->rx_malformed == mal + 1);

    /* UDP length beyond the IP payload: dropped; below it: the rest is ignored. */
    n = udp(u, GW_IP, OUR_IP, 1, 7, "abcdef", 6, false);
    wr16(u + 4, 15);
    poll_frame(f, ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, n));
    CHECK(seen.calls == 2 && net_stats()->rx_malformed == mal + 2);
    wr16(u + 4, 7);
    poll_frame(f, ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, n));
    CHECK(seen.calls == 2 && net_stats()->rx_malformed == mal + 3);
    wr16(u + 4, 11);
    poll_frame(f, ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, n));
    CHECK(seen.calls == 3 && seen.len == 3 && memcmp(seen.data, "abc", 3) == 0);
    /* Checksummed datagram with trailing IP payload after it. */
    n = udp(u, GW_IP, OUR_IP, 1, 7, "xyz", 3, true);
    memcpy(u + n, "junk", 4);
    poll_frame(f, ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, n + 4));
    CHECK(seen.calls == 4 && seen.len == 3 && memcmp(seen.data, "xyz", 3) == 0);
    /* Empty datagram. */
    poll_frame(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 2, 7, "", 0));
    CHECK(seen.calls == 5 && seen.len == 0);
    /* IP options (IHL 6) are skipped. */
    n = udp(u, GW_IP, OUR_IP, 3, 7, "opt", 3, true);
    poll_frame(f, ipv4_ihl(f, GW_MAC, OUR_MAC, GW_IP, OUR_IP, 17, 0, 6, u, n));
    CHECK(seen.calls == 6 && seen.sport == 3 && memcmp(seen.data, "opt", 3) == 0);
    /* To the subnet broadcast and the limited broadcast, as link broadcasts. */
    n = udp(u, GW_IP, IP4(10, 0, 2, 255), 4, 7, "b1", 2, true);
    poll_frame(f, ipv4_ihl(f, GW_MAC, BCAST, GW_IP, IP4(10, 0, 2, 255), 17, 0, 5, u, n));
    n = udp(u, GW_IP, 0xffffffffu, 5, 7, "b2", 2, true);
    poll_frame(f, ipv4_ihl(f, GW_MAC, BCAST, GW_IP, 0xffffffffu, 17, 0, 5, u, n));
    /* And the old {subnet, 0} form (RFC 1122 3.3.6). */
    n = udp(u, GW_IP, IP4(10, 0, 2, 0), 5, 7, "b0", 2, true);
    poll_frame(f, ipv4_ihl(f, GW_MAC, BCAST, GW_IP, IP4(10, 0, 2, 0), 17, 0, 5, u, n));
    CHECK(seen.calls == 9 && seen.sport == 5);
    /* Our address as a link broadcast: dropped (RFC 1122 3.3.6). */
    n = udp(u, GW_IP, OUR_IP, 6, 7, "b3", 2, true);
    poll_frame(f, ipv4_ihl(f, GW_MAC, BCAST, GW_IP, OUR_IP, 17, 0, 5, u, n));
    CHECK(seen.calls == 9);
    /* Destination port 0. */
    poll_frame(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 6, 0, "z", 1));
    CHECK(seen.calls == 9);
}

static void test_port_unreachable(void)
{
    start(GW_IP);
    uint8_t f[NET_FRAME_MAX];
    size_t n = udp_frame(f, GW_MAC, GW_IP, OUR_IP, 5000, 9, "closed", 6);
    uint8_t orig[28];
    memcpy(orig, f + 14, 28);
    poll_frame(f, n);
    CHECK(nsent == 1 && net_stats()->udp_no_listener == 1);
    const uint8_t *ip = sent[0].data + 14, *m = ip + 20;
    CHECK(ip[9] == 1 && rd32(ip + 16) == GW_IP && rd16(ip + 2) == 20 + 8 + 28);
    CHECK(m[0] == 3 && m[1] == 3 && rd32(m + 4) == 0 && memcmp(m + 8, orig, 28) == 0);
    /* Not for broadcasts. */
    reset_sent();
    uint8_t u[64];
    n = udp(u, GW_IP, 0xffffffffu, 5000, 9, "x", 1, true);
    poll_frame(f, ipv4_ihl(f, GW_MAC, BCAST, GW_IP, 0xffffffffu, 17, 0, 5, u, n));
    CHECK(nsent == 0);
    /* Rate limited. */
    for (unsigned i = 0; i < NET_ICMP_ERRORS_PER_S + 50; i++)
        poll_frame(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 5000, 9, "x", 1));
    CHECK(nsent == NET_ICMP_ERRORS_PER_S - 1);
    fake_now += NS_PER_S;
    poll_frame(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 5000, 9, "x", 1));
    CHECK(nsent == NET_ICMP_ERRORS_PER_S);
}

static void test_ip_input_checks(void)
{
    start(GW_IP);
    uint8_t f[NET_FRAME_MAX], u[64];
    size_t un = udp(u, GW_IP, OUR_IP, 1, 7, "data", 4, true);
    struct net_stats before = *net_stats();
    size_t n;

    n = ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, un); /* version 6 */
    f[14] = 0x65;
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, un); /* IHL 4 */
    f[14] = 0x44;
    wr16(f + 24, 0);
    wr16(f + 24, ref_checksum(f + 14, 16));
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, un); /* total length past the frame */
    wr16(f + 16, 1000);
    wr16(f + 24, 0);
    wr16(f + 24, ref_checksum(f + 14, 20));
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, un); /* total length below the header */
    wr16(f + 16, 19);
    wr16(f + 24, 0);
    wr16(f + 24, ref_checksum(f + 14, 20));
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, un); /* header checksum */
    f[24] ^= 0x10;
    poll_frame(f, n);
    poll_frame(f, 14 + 19); /* truncated header */
    n = ipv4_ihl(f, GW_MAC, OUR_MAC, GW_IP, OUR_IP, 17, 0, 15, u, un); /* IHL past total */
    wr16(f + 16, 40);
    wr16(f + 24, 0);
    wr16(f + 24, ref_checksum(f + 14, 60));
    poll_frame(f, n);
    CHECK(net_stats()->rx_malformed == before.rx_malformed + 7);

    n = ipv4(f, GW_MAC, GW_IP, IP4(10, 0, 2, 16), 17, u, un); /* not our address */
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, IP4(10, 0, 2, 255), OUR_IP, 17, u, un); /* broadcast source */
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, IP4(224, 0, 0, 1), OUR_IP, 17, u, un); /* multicast source */
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, OUR_IP, OUR_IP, 17, u, un); /* our own source */
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, GW_IP, OUR_IP, 6, u, un); /* TCP: unsupported */
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, un); /* another MAC */
    f[0] ^= 2;
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, un); /* multicast MAC */
    f[0] = 0x01;
    poll_frame(f, n);
    n = ipv4(f, BCAST, GW_IP, OUR_IP, 17, u, un); /* group source MAC */
    poll_frame(f, n);
    n = ipv4(f, OUR_MAC, GW_IP, OUR_IP, 17, u, un); /* our own MAC as source */
    poll_frame(f, n);
    n = ipv4(f, GW_MAC, GW_IP, OUR_IP, 17, u, un); /* IPv6 ethertype */
    wr16(f + 12, 0x86dd);
    poll_frame(f, n);
    CHECK(net_stats()->rx_ignored == before.rx_ignored + 10);

    /* Fragments: the first (MF), a middle one, the last (offset only). */
    poll_frame(f, ipv4_ihl(f, GW_MAC, OUR_MAC, GW_IP, OUR_IP, 17, 0x2000, 5, u, un));
    poll_frame(f, ipv4_ihl(f, GW_MAC, OUR_MAC, GW_IP, OUR_IP, 17, 0x2000 | 185, 5, u, un));
    poll_frame(f, ipv4_ihl(f, GW_MAC, OUR_MAC, GW_IP, OUR_IP, 17, 370, 5, u, un));
    /* DF alone is fine. */
    poll_frame(f, ipv4_ihl(f, GW_MAC, OUR_MAC, GW_IP, OUR_IP, 17, 0x4000, 5, u, un));
    CHECK(net_stats()->rx_fragments == before.rx_fragments + 3);
    CHECK(seen.calls == 1);

    /* Runt, oversize. */
    poll_frame(f, 13);
    deliver(f, NET_FRAME_MAX + 1);
    net_poll();
    CHECK(net_stats()->rx_malformed == before.rx_malformed + 8);
    CHECK(net_stats()->rx_oversize == before.rx_oversize + 1);
    CHECK(nsent == 0);
}

static void test_send_and_resolve(void)
{
    start(GW_IP);
    uint8_t f[NET_FRAME_MAX];
    static const uint8_t zero[6];
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"query", 5) == 0);
    CHECK(nsent == 1);
    const uint8_t *a = sent[0].data + 14;
    CHECK(rd16(a + 6) == 1 && rd32(a + 24) == PEER_IP && rd32(a + 14) == OUR_IP);
    /* A second one replaces it (RFC 1122: keep the latest); no second request. */
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"query", 5) == 0);
    CHECK(nsent == 1 && net_stats()->arp_unresolved == 1);
    poll_frame(f, arp(f, OUR_MAC, 2, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP));
    CHECK(nsent == 2);
    const uint8_t *p = sent[1].data;
    CHECK(memcmp(p, PEER_MAC, 6) == 0 && rd32(p + 14 + 16) == PEER_IP);
    CHECK(rd16(p + 34) == 1000 && rd16(p + 36) == 53 && memcmp(p + 42, "query", 5) == 0);
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"now", 3) == 0);
    CHECK(nsent == 3 && memcmp(sent[2].data, PEER_MAC, 6) == 0);

    /* Off the subnet: through the gateway. */
    reset_sent();
    CHECK(net_udp_send(FAR_IP, 53, 1000, (const uint8_t *)"far", 3) == 0);
    CHECK(nsent == 1 && rd32(sent[0].data + 14 + 24) == GW_IP);
    poll_frame(f, arp(f, OUR_MAC, 2, GW_MAC, GW_IP, OUR_MAC, OUR_IP));
    CHECK(nsent == 2 && memcmp(sent[1].data, GW_MAC, 6) == 0 &&
          rd32(sent[1].data + 14 + 16) == FAR_IP);

    /* Broadcast: no ARP. */
    reset_sent();
    CHECK(net_udp_send(0xffffffffu, 67, 68, (const uint8_t *)"b", 1) == 0);
    CHECK(net_udp_send(IP4(10, 0, 2, 255), 67, 68, (const uint8_t *)"b", 1) == 0);
    CHECK(nsent == 2 && memcmp(sent[0].data, BCAST, 6) == 0 && memcmp(sent[1].data, BCAST, 6) == 0);

    /* Refused. */
    reset_sent();
    uint8_t big[NET_UDP_PAYLOAD_MAX + 1];
    memset(big, 'x', sizeof big);
    CHECK(net_udp_send(GW_IP, 7, 7, big, sizeof big) == -1);
    CHECK(net_udp_send(0, 7, 7, big, 1) == -1);
    CHECK(net_udp_send(GW_IP, 0, 7, big, 1) == -1);
    CHECK(net_udp_send(OUR_IP, 7, 7, big, 1) == -1);
    CHECK(net_udp_send(IP4(224, 0, 0, 251), 5353, 5353, big, 1) == -1);
    CHECK(net_udp_send(IP4(127, 0, 0, 1), 7, 7, big, 1) == -1);
    CHECK(net_udp_send(IP4(10, 0, 2, 0), 7, 7, big, 1) == -1); /* the subnet's number */
    CHECK(net_udp_send(GW_IP, 7, 7, NULL, 1) == -1);
    CHECK(nsent == 0);
    CHECK(net_udp_send(GW_IP, 7, 0, NULL, 0) == 0); /* source port 0, empty */
    CHECK(net_udp_send(GW_IP, 7, 7, big, NET_UDP_PAYLOAD_MAX) == 0);
    CHECK(nsent == 2 && sent[1].len == NET_FRAME_MAX);
    write_fails = true;
    CHECK(net_udp_send(GW_IP, 7, 7, big, 1) == -1);
    CHECK(net_stats()->tx_errors == 1);
    write_fails = false;

    /* Without a gateway, only the subnet. */
    start(0);
    CHECK(net_udp_send(FAR_IP, 53, 1000, (const uint8_t *)"far", 3) == -1);
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"near", 4) == 0);

    /* A smaller MTU limits datagrams. */
    fake_mtu = 576;
    CHECK(net_init(OUR_IP, 24, GW_IP) == 0);
    CHECK(net_udp_send(0xffffffffu, 7, 7, big, 548) == 0);
    CHECK(net_udp_send(0xffffffffu, 7, 7, big, 549) == -1);
    fake_mtu = 1500;

    /* /32 with a gateway: everything goes through it. */
    CHECK(net_init(OUR_IP, 32, GW_IP) == 0);
    reset_sent();
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"x", 1) == 0);
    CHECK(nsent == 1 && rd32(sent[0].data + 14 + 24) == GW_IP);
    /* No broadcast address on a /32: a unicast through the gateway. */
    CHECK(net_udp_send(IP4(10, 0, 2, 255), 53, 1000, (const uint8_t *)"x", 1) == 0);
    CHECK(nsent == 1 && memcmp(sent[0].data, BCAST, 6) == 0 && rd16(sent[0].data + 12) == 0x0806);
    (void)zero;
}

static void test_checksum_never_zero(void)
{
    start(GW_IP);
    uint8_t f[NET_FRAME_MAX];
    poll_frame(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 1, 7, "learn", 5));
    unsigned ffff = 0;
    for (unsigned v = 0; v < 65536; v++) {
        reset_sent();
        uint8_t d[2] = {(uint8_t)(v >> 8), (uint8_t)v};
        CHECK(net_udp_send(GW_IP, 7, 7, d, 2) == 0);
        if (nsent == 1 && rd16(sent[0].data + 34 + 6) == 0xffff)
            ffff++;
    }
    CHECK(ffff >= 1); /* the datagrams whose checksum computes to 0 */
}

static void test_arp_retries_and_ageing(void)
{
    start(GW_IP);
    uint8_t f[NET_FRAME_MAX];
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"lost", 4) == 0);
    for (int i = 0; i < 20; i++) {
        fake_now += NET_ARP_RETRY_NS;
        net_poll();
    }
    CHECK(nsent == NET_ARP_TRIES); /* requests only */
    CHECK(net_stats()->arp_requests == NET_ARP_TRIES);
    CHECK(net_stats()->arp_unresolved == 1);
    for (unsigned i = 0; i < nsent; i++)
        CHECK(rd16(sent[i].data + 12) == 0x0806);
    reset_sent();
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"new", 3) == 0); /* starts afresh */
    CHECK(nsent == 1 && rd16(sent[0].data + 12) == 0x0806);

    /* Learnt from an IPv4 frame; forgotten after NET_ARP_MAX_AGE_NS. */
    start(GW_IP);
    seen.echo = true;
    poll_frame(f, udp_frame(f, PEER_MAC, PEER_IP, OUR_IP, 3333, 7, "echo me", 7));
    CHECK(nsent == 1 && memcmp(sent[0].data, PEER_MAC, 6) == 0); /* no ARP round trip */
    CHECK(rd16(sent[0].data + 34) == 7 && rd16(sent[0].data + 36) == 3333);
    CHECK(memcmp(sent[0].data + 42, "echo me", 7) == 0);
    fake_now += NET_ARP_MAX_AGE_NS - 1;
    reset_sent();
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"x", 1) == 0);
    CHECK(nsent == 1 && rd16(sent[0].data + 12) == 0x0800);
    fake_now += 1; /* aged out: found so by the lookup */
    reset_sent();
    CHECK(net_udp_send(PEER_IP, 53, 1000, (const uint8_t *)"x", 1) == 0);
    CHECK(nsent == 1 && rd16(sent[0].data + 12) == 0x0806);
    /* ... or by the timers in net_poll. */
    poll_frame(f, udp_frame(f, PEER_MAC, PEER_IP, OUR_IP, 3333, 7, "again", 5));
    CHECK(arp_find(PEER_IP, fake_now) != NULL);
    fake_now += NET_ARP_MAX_AGE_NS;
    net_poll();
    CHECK(net.arp[0].state == ARP_FREE && net.arp[1].state == ARP_FREE);
    /* Off-subnet sources are not learnt (their MAC is a router's). */
    start(GW_IP);
    poll_frame(f, udp_frame(f, PEER_MAC, FAR_IP, OUR_IP, 3333, 7, "far", 3));
    CHECK(arp_find(FAR_IP, fake_now) == NULL);
}

static void test_cache_eviction(void)
{
    start(GW_IP);
    uint8_t f[NET_FRAME_MAX];
    static const uint8_t zero[6];
    for (unsigned i = 0; i < NET_ARP_ENTRIES + 4; i++) {
        uint8_t mac[6] = {0x02, 0, 0, 0, 1, (uint8_t)i};
        fake_now += 1000;
        poll_frame(f, arp(f, BCAST, 1, mac, IP4(10, 0, 2, 20 + i), zero, OUR_IP));
    }
    CHECK(net_stats()->arp_replies == NET_ARP_ENTRIES + 4);
    CHECK(arp_find(IP4(10, 0, 2, 20), fake_now) == NULL); /* the oldest went */
    CHECK(arp_find(IP4(10, 0, 2, 20 + NET_ARP_ENTRIES + 3), fake_now) != NULL);
    /* A table full of pending entries: the oldest pending packet is dropped. */
    start(GW_IP);
    for (unsigned i = 0; i < NET_ARP_ENTRIES + 1; i++) {
        fake_now += 1000;
        CHECK(net_udp_send(IP4(10, 0, 2, 20 + i), 53, 1000, (const uint8_t *)"q", 1) == 0);
    }
    CHECK(net_stats()->arp_unresolved == 1);
}

static void test_nested_poll(void)
{
    start(GW_IP);
    uint8_t f[NET_FRAME_MAX];
    seen.nest = true;
    deliver(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 1, 7, "one", 3));
    deliver(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 2, 7, "two", 3));
    net_poll();
    CHECK(seen.calls == 2 && seen.sport == 2); /* in order, not nested */
    /* The budget: a long queue takes several polls. */
    seen.nest = false;
    for (unsigned i = 0; i < NET_POLL_BUDGET + 10; i++)
        deliver(f, udp_frame(f, GW_MAC, GW_IP, OUR_IP, 3, 7, "x", 1));
    net_poll();
    CHECK(seen.calls == 2 + NET_POLL_BUDGET && rx_count == 10);
    net_poll();
    CHECK(rx_count == 0);
}

/* ---- the fuzzer ---------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Hand one frame to the stack in a buffer of exactly its length. */
static enum verdict feed_exact(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        exit(2);
    memcpy(copy, data, len);
    enum verdict v = eth_input(copy, len, fake_now);
    free(copy);
    return v;
}

static void test_fuzz(unsigned iterations)
{
    start(GW_IP);
    seen.echo = true;
    CHECK(net_udp_listen(9, on_udp, &seen) == 0);
    uint8_t seeds[8][NET_FRAME_MAX];
    size_t seed_len[8];
    static const uint8_t zero[6];
    seed_len[0] = arp(seeds[0], BCAST, 1, PEER_MAC, PEER_IP, zero, OUR_IP);
    seed_len[1] = arp(seeds[1], OUR_MAC, 2, GW_MAC, GW_IP, OUR_MAC, OUR_IP);
    seed_len[2] = icmp_echo(seeds[2], GW_MAC, GW_IP, OUR_IP, "0123456789abcdef", 16);
    seed_len[3] = udp_frame(seeds[3], GW_MAC, GW_IP, OUR_IP, 1234, 7, "echo this", 9);
    seed_len[4] = udp_frame(seeds[4], PEER_MAC, PEER_IP, OUR_IP, 1234, 99, "closed", 6);
    uint8_t u[64];
    size_t un = udp(u, GW_IP, OUR_IP, 1, 9, "options", 7, false);
    seed_len[5] = ipv4_ihl(seeds[5], GW_MAC, OUR_MAC, GW_IP, OUR_IP, 17, 0, 8, u, un);
    uint8_t big[1400];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)rnd();
    seed_len[6] = udp_frame(seeds[6], GW_MAC, GW_IP, OUR_IP, 5, 7, big, sizeof big);
    seed_len[7] = icmp_echo(seeds[7], PEER_MAC, PEER_IP, OUR_IP, big, 1000);

    unsigned taken = 0;
    static uint8_t f[NET_FRAME_MAX + 64];
    for (unsigned it = 0; it < iterations; it++) {
        unsigned s = rnd() % 8;
        size_t len = seed_len[s];
        memcpy(f, seeds[s], len);
        unsigned kind = rnd() % 10;
        if (kind == 0) { /* pure noise, random length */
            len = rnd() % (NET_FRAME_MAX + 1);
            for (size_t i = 0; i < len; i++)
                f[i] = (uint8_t)rnd();
            if (rnd() % 2)
                memcpy(f, OUR_MAC, 6);
            if (rnd() % 2)
                wr16(f + 12, rnd() % 2 ? 0x0800 : 0x0806);
        } else {
            unsigned flips = 1 + rnd() % 4;
            for (unsigned k = 0; k < flips; k++) {
                size_t at = rnd() % (len < 80 ? len : (rnd() % 2 ? 80 : len));
                static const uint8_t interesting[] = {0, 1, 0x40, 0x45, 0x4f, 0x5f, 0x7f,
                                                      0x80, 0xfe, 0xff};
                f[at] = rnd() % 2 ? (uint8_t)rnd() : interesting[rnd() % sizeof interesting];
            }
            if (rnd() % 4 == 0) /* truncate */
                len = rnd() % (len + 1);
            else if (rnd() % 8 == 0 && len + 16 <= NET_FRAME_MAX) /* trailing bytes */
                len += rnd() % 16;
            /* Often repair the IP header checksum, so mutations reach further. */
            if (len >= 34 && rd16(f + 12) == 0x0800 && rnd() % 4 != 0) {
                size_t hl = (size_t)(f[14] & 0xf) * 4;
                if (hl >= 20 && 14 + hl <= len) {
                    wr16(f + 24, 0);
                    wr16(f + 24, ref_checksum(f + 14, hl));
                }
            }
        }
        if (rnd() % 64 == 0)
            fake_now += NET_ARP_RETRY_NS;
        if (feed_exact(f, len) == TAKEN)
            taken++;
        if (rnd() % 32 == 0) { /* and sometimes through net_poll, with timers */
            deliver(f, len);
            net_poll();
        }
        if (nsent > QUEUE - 16)
            reset_sent();
    }
    /* The stack still works after all that. */
    reset_sent();
    seen.calls = 0;
    uint8_t g[NET_FRAME_MAX];
    poll_frame(g, udp_frame(g, GW_MAC, GW_IP, OUR_IP, 4242, 7, "still alive", 11));
    CHECK(seen.calls == 1 && nsent == 1 && memcmp(sent[0].data + 42, "still alive", 11) == 0);
    CHECK(taken > iterations / 20);
    printf("fuzz: %u frames, %u taken (%llu malformed-by-poll, %llu sent)\n", iterations, taken,
           (unsigned long long)net_stats()->rx_malformed, (unsigned long long)net_stats()->tx_frames);
}

int main(int argc, char **argv)
{
    unsigned iterations = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200000;
    test_checksum();
    test_init();
    test_unconfigured_then_configured();
    test_listen();
    test_arp_reply_and_learning();
    test_icmp_echo();
    test_udp_input();
    test_port_unreachable();
    test_ip_input_checks();
    test_send_and_resolve();
    test_checksum_never_zero();
    test_arp_retries_and_ageing();
    test_cache_eviction();
    test_nested_poll();
    test_fuzz(iterations);
    printf("net host test: %u checks, %u failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
