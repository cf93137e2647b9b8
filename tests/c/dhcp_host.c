/*
 * Host test of the dhcp_ipv4 component (runtime/components/dhcp_ipv4.c),
 * built by tests/test_hvt_dhcp.py with AddressSanitizer and UBSan: the
 * component is included as is, over a fake IPv4 stack and clock that record
 * what it sends and configures.  Every message it sends is decoded here
 * independently (RFC 2131 section 2 layout, RFC 2132 options).
 *
 * Checked: DISCOVER, OFFER, REQUEST, ACK; replies for another transaction,
 * client or server ignored; NAK; retransmission with backoff (4, 8, 16, 32,
 * 64, 64 s, +-1 s); renewal at T1 (unicast, ciaddr, no server id), rebinding
 * at T2 (broadcast), the lease running out; T1/T2 from options 58/59 and
 * the defaults; then mutated and random replies in every state, which must
 * never crash it nor configure an unusable address.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SC_INSTANCE dev_ip
#include "components/dhcp_ipv4.c"

/* ---- the fake stack, clock and runtime ----------------------------------- */

static uint64_t now_ns = 1000000000ull;
static uint32_t configured_addr, configured_gw;
static uint8_t configured_prefix;
static unsigned configures, announcements;
static net_udp_handler handler;
static sc_thunk ticker;
static int64_t tick_period;
static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct sent { uint32_t dst; uint16_t dport, sport; size_t len; uint8_t data[1500]; };
static struct sent sent[64];
static unsigned nsent;
#define SENT(i) sent[(i) % 64] /* the last 64 */

uint64_t platform_monotonic_ns(void) { return now_ns; }
int platform_net_info(uint8_t mac[6], size_t *mtu) { memcpy(mac, MAC, 6); *mtu = 1500; return 0; }
int net_init(uint32_t a, uint8_t p, uint32_t g) { return a == 0 && p == 0 && g == 0 ? 0 : -1; }
int net_configure(uint32_t a, uint8_t p, uint32_t g) {
    configures++;
    configured_addr = a; configured_prefix = p; configured_gw = g;
    return 0;
}
uint32_t net_address(void) { return configured_addr; }
int net_udp_listen(uint16_t port, net_udp_handler h, void *ctx) {
    (void)ctx;
    if (port != 68) return -1;
    handler = h;
    return 0;
}
int net_udp_send(uint32_t dst, uint16_t dport, uint16_t sport, const uint8_t *p, size_t len) {
    struct sent *s = &SENT(nsent);
    s->len = 0;
    if (len <= sizeof s->data) {
        s->dst = dst; s->dport = dport; s->sport = sport;
        s->len = len; memcpy(s->data, p, len);
    }
    nsent++;
    return 0;
}
void sc_every(int64_t period, sc_thunk f) { tick_period = period; ticker = f; }
_Noreturn void sc_trap(const char *pos, const char *message) {
    printf("trap: %s: %s\n", pos, message);
    exit(3);
}
void sc_listening_address_known(void) { announcements++; }
static bool quiet;
int console_printf(const char *fmt, ...) {
    if (quiet) return 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

static unsigned checks, failures;
#define CHECK(cond)                                                                     \
    do {                                                                                \
        checks++;                                                                       \
        if (!(cond)) {                                                                  \
            failures++;                                                                 \
            printf("%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
        }                                                                               \
    } while (0)

#define IP4(a, b, c_, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c_) << 8 | (d))
#define SERVER IP4(10, 0, 2, 2)
#define OFFERED IP4(10, 0, 2, 15)
#define S 1000000000ull

/* Advance the clock in tick steps, running the component's timer. */
static void run_for(uint64_t ns) {
    uint64_t end = now_ns + ns;
    while (now_ns < end) {
        now_ns += (uint64_t)tick_period;
        if (now_ns > end) now_ns = end;
        ticker();
    }
}

/* ---- decoding what it sent -------------------------------------------------- */

struct decoded {
    bool ok;
    uint32_t xid, ciaddr, requested, server_id;
    uint16_t flags;
    int type;
    bool asks_mask_router_lease;
};

static struct decoded decode(const struct sent *s) {
    struct decoded d = {0};
    const uint8_t *m = s->data;
    if (s->dport != 67 || s->sport != 68 || s->len < 300 || s->len > 576) return d;
    if (m[0] != 1 || m[1] != 1 || m[2] != 6 || memcmp(m + 28, MAC, 6) != 0) return d;
    if (get32(m + 236) != 0x63825363u) return d;
    d.xid = get32(m + 4);
    d.flags = (uint16_t)(m[10] << 8 | m[11]);
    d.ciaddr = get32(m + 12);
    if (get32(m + 16) || get32(m + 20) || get32(m + 24)) return d; /* yiaddr, siaddr, giaddr */
    d.type = -1;
    for (size_t i = 240; i < s->len;) {
        uint8_t code = m[i++];
        if (code == 0) continue;
        if (code == 255) { d.ok = d.type > 0; return d; }
        if (i >= s->len || i + 1 + m[i] > s->len) return d;
        uint8_t len = m[i++];
        const uint8_t *v = m + i;
        i += len;
        if (code == 53 && len == 1) d.type = v[0];
        if (code == 50 && len == 4) d.requested = get32(v);
        if (code == 54 && len == 4) d.server_id = get32(v);
        if (code == 55) {
            bool mask = memchr(v, 1, len), router = memchr(v, 3, len), lease = memchr(v, 51, len);
            d.asks_mask_router_lease = mask && router && lease;
        }
    }
    return d;
}

static struct decoded last(void) {
    CHECK(nsent >= 1);
    return nsent >= 1 ? decode(&SENT(nsent - 1)) : (struct decoded){0};
}

/* ---- replies from a fake server ---------------------------------------------- */

struct offer {
    int type;
    uint32_t xid, yiaddr, server, mask, router, lease, t1, t2;
    bool no_mask, no_lease;
    const uint8_t *mac;
};

static size_t reply(uint8_t *m, const struct offer *o) {
    memset(m, 0, 576);
    m[0] = 2; m[1] = 1; m[2] = 6;
    put32(m + 4, o->xid);
    put32(m + 16, o->yiaddr);
    memcpy(m + 28, o->mac ? o->mac : MAC, 6);
    put32(m + 236, 0x63825363u);
    uint8_t *p = m + 240;
    *p++ = 53; *p++ = 1; *p++ = (uint8_t)o->type;
    if (o->server) { *p++ = 54; *p++ = 4; put32(p, o->server); p += 4; }
    if (!o->no_mask) { *p++ = 1; *p++ = 4; put32(p, o->mask ? o->mask : 0xffffff00u); p += 4; }
    if (o->router) { *p++ = 3; *p++ = 8; put32(p, o->router); put32(p + 4, IP4(10, 0, 2, 99)); p += 8; }
    if (!o->no_lease) { *p++ = 51; *p++ = 4; put32(p, o->lease ? o->lease : 100); p += 4; }
    if (o->t1) { *p++ = 58; *p++ = 4; put32(p, o->t1); p += 4; }
    if (o->t2) { *p++ = 59; *p++ = 4; put32(p, o->t2); p += 4; }
    *p++ = 255;
    return 300;
}

static void deliver(const struct offer *o) {
    uint8_t m[576];
    size_t n = reply(m, o);
    handler(NULL, SERVER, 67, 68, m, n);
}

static struct offer standard(int type, uint32_t xid) {
    return (struct offer){.type = type, .xid = xid, .yiaddr = OFFERED, .server = SERVER,
                          .router = SERVER};
}

/* Boot the component and bind a lease; returns the REQUEST's xid. */
static uint32_t start_and_bind(struct offer ack) {
    memset(&c, 0, sizeof c);
    nsent = configures = announcements = 0;
    configured_addr = 0;
    dev_ip_init();
    struct decoded discover = last();
    deliver(&(struct offer){.type = DHCPOFFER, .xid = discover.xid, .yiaddr = OFFERED,
                            .server = SERVER, .router = SERVER});
    struct decoded request = last();
    ack.type = DHCPACK;
    ack.xid = request.xid;
    deliver(&ack);
    return request.xid;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_discover_offer_request_ack(void) {
    memset(&c, 0, sizeof c);
    nsent = configures = announcements = 0;
    configured_addr = 0;
    dev_ip_init();
    CHECK(handler != NULL && ticker != NULL && tick_period > 0 && tick_period <= (int64_t)S);
    CHECK(nsent == 1);
    struct decoded d = last();
    CHECK(d.ok && d.type == DHCPDISCOVER && d.ciaddr == 0 && (d.flags & 0x8000));
    CHECK(sent[0].dst == 0xffffffffu && d.asks_mask_router_lease && d.requested == 0);
    uint32_t xid = d.xid;

    /* Not ours: another transaction, another client, a request, no server id. */
    static const uint8_t other_mac[6] = {2, 0, 0, 0, 0, 9};
    struct offer o = standard(DHCPOFFER, xid + 1);
    deliver(&o);
    o = standard(DHCPOFFER, xid); o.mac = other_mac; deliver(&o);
    o = standard(DHCPOFFER, xid); o.server = 0; deliver(&o);
    o = standard(DHCPOFFER, xid); o.yiaddr = IP4(127, 0, 0, 1); deliver(&o);
    o = standard(DHCPACK, xid); deliver(&o);
    uint8_t m[576];
    size_t n = reply(m, &(struct offer){.type = DHCPOFFER, .xid = xid, .yiaddr = OFFERED,
                                        .server = SERVER});
    m[0] = 1; /* a BOOTREQUEST */
    handler(NULL, SERVER, 67, 68, m, n);
    handler(NULL, SERVER, 999, 68, m, n); /* not from port 67 */
    CHECK(nsent == 1 && configures == 0);

    deliver(&(struct offer){.type = DHCPOFFER, .xid = xid, .yiaddr = OFFERED, .server = SERVER,
                            .router = SERVER});
    CHECK(nsent == 2);
    d = last();
    CHECK(d.ok && d.type == DHCPREQUEST && d.xid == xid && d.ciaddr == 0 && (d.flags & 0x8000));
    CHECK(d.requested == OFFERED && d.server_id == SERVER && sent[1].dst == 0xffffffffu);
    /* A second offer, and an ACK from another server, are ignored. */
    o = standard(DHCPOFFER, xid); o.yiaddr = IP4(10, 0, 2, 16); deliver(&o);
    o = standard(DHCPACK, xid); o.server = IP4(10, 0, 2, 3); deliver(&o);
    CHECK(nsent == 2 && configures == 0);
    deliver(&(struct offer){.type = DHCPACK, .xid = xid, .yiaddr = OFFERED, .server = SERVER,
                            .router = SERVER, .lease = 100});
    CHECK(configures == 1 && configured_addr == OFFERED && configured_prefix == 24 &&
          configured_gw == SERVER);
    CHECK(announcements == 1 && c.state == BOUND);
}

static void test_backoff(void) {
    memset(&c, 0, sizeof c);
    nsent = 0;
    dev_ip_init();
    uint64_t t0 = now_ns, prev = now_ns;
    static const unsigned expect[] = {4, 8, 16, 32, 64, 64};
    for (unsigned i = 0; i < 6; i++) {
        unsigned before = nsent;
        while (nsent == before && now_ns - prev < 100 * S) run_for((uint64_t)tick_period);
        uint64_t gap = now_ns - prev;
        CHECK(nsent == before + 1 && last().type == DHCPDISCOVER);
        /* +-1 s of jitter, plus one tick of timer resolution. */
        CHECK(gap + S >= expect[i] * S && gap <= expect[i] * S + S + (uint64_t)tick_period);
        prev = now_ns;
    }
    CHECK(now_ns - t0 < 200 * S);

    /* Requesting: after 4 REQUESTs without an answer, back to DISCOVER. */
    struct decoded d = last();
    deliver(&(struct offer){.type = DHCPOFFER, .xid = d.xid, .yiaddr = OFFERED, .server = SERVER});
    unsigned requests = 0;
    for (unsigned i = 0; i < 200 && last().type == DHCPREQUEST; i++) {
        unsigned before = nsent;
        run_for(S);
        if (nsent != before && last().type == DHCPREQUEST) requests++;
    }
    CHECK(requests == 3 && last().type == DHCPDISCOVER); /* 1 + 3 retransmissions */
}

static void test_nak(void) {
    memset(&c, 0, sizeof c);
    nsent = configures = 0;
    dev_ip_init();
    struct decoded d = last();
    deliver(&(struct offer){.type = DHCPOFFER, .xid = d.xid, .yiaddr = OFFERED, .server = SERVER});
    d = last();
    deliver(&(struct offer){.type = DHCPNAK, .xid = d.xid, .server = SERVER, .no_mask = true,
                            .no_lease = true});
    CHECK(last().type == DHCPDISCOVER && last().xid != d.xid && configures == 0);
}

static void test_renew_rebind_expire(void) {
    start_and_bind((struct offer){.yiaddr = OFFERED, .server = SERVER, .router = SERVER,
                                  .lease = 100});
    CHECK(configures == 1);
    unsigned before = nsent;
    run_for(49 * S);
    CHECK(nsent == before); /* nothing until T1 = 50 s */
    run_for(2 * S);
    CHECK(nsent == before + 1);
    struct decoded d = last();
    CHECK(d.ok && d.type == DHCPREQUEST && d.ciaddr == OFFERED && !(d.flags & 0x8000));
    CHECK(d.requested == 0 && d.server_id == 0 && SENT(nsent - 1).dst == SERVER);
    CHECK(c.state == RENEWING);
    /* The ACK renews; the unchanged address is not configured again. */
    deliver(&(struct offer){.type = DHCPACK, .xid = d.xid, .yiaddr = OFFERED, .server = SERVER,
                            .router = SERVER, .lease = 100});
    CHECK(c.state == BOUND && configures == 1 && announcements == 1);

    /* No answer at T1: the retry waits at least 60 s but not past T2 =
     * 87 s (7/8 of 100 in whole seconds), where the REQUEST is broadcast
     * (REBINDING). */
    before = nsent;
    run_for(51 * S);
    CHECK(nsent == before + 1 && c.state == RENEWING);
    run_for(35 * S);
    CHECK(nsent == before + 1);
    run_for(2 * S);
    CHECK(nsent == before + 2 && c.state == REBINDING);
    d = last();
    CHECK(d.type == DHCPREQUEST && d.ciaddr == OFFERED && SENT(nsent - 1).dst == 0xffffffffu);
    /* Still no answer: at the lease's end the address goes, DISCOVER again. */
    run_for(13 * S);
    CHECK(c.state == SELECTING && configured_addr == 0 && configures == 2);
    CHECK(last().type == DHCPDISCOVER);
}

static void test_t1_t2_options(void) {
    start_and_bind((struct offer){.yiaddr = OFFERED, .server = SERVER, .router = SERVER,
                                  .lease = 1000, .t1 = 10, .t2 = 20});
    CHECK(c.t1 - c.bound_at == 10 * S && c.t2 - c.bound_at == 20 * S);
    /* Out of order: the defaults. */
    start_and_bind((struct offer){.yiaddr = OFFERED, .server = SERVER, .router = SERVER,
                                  .lease = 1000, .t1 = 900, .t2 = 2000});
    CHECK(c.t1 - c.bound_at == 500 * S && c.t2 - c.bound_at == 875 * S);
    /* No mask: /32 and the router, off-link then, is dropped. */
    start_and_bind((struct offer){.yiaddr = OFFERED, .server = SERVER, .router = SERVER,
                                  .no_mask = true});
    CHECK(configured_prefix == 32 && configured_gw == 0);
    /* A router off the subnet is not used; an infinite lease never renews. */
    start_and_bind((struct offer){.yiaddr = OFFERED, .server = SERVER,
                                  .router = IP4(192, 168, 1, 1), .lease = 0xffffffffu});
    CHECK(configured_prefix == 24 && configured_gw == 0 && c.expiry == UINT64_MAX);
    unsigned before = nsent;
    run_for(100000 * S / 100);
    CHECK(nsent == before);
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void) {
    rnd_state ^= rnd_state << 13; rnd_state ^= rnd_state >> 17; rnd_state ^= rnd_state << 5;
    return rnd_state;
}

static void test_fuzz(unsigned iterations) {
    quiet = true;
    for (unsigned i = 0; i < iterations; i++) {
        if (i % 1000 == 0) {
            memset(&c, 0, sizeof c);
            configured_addr = 0;
            dev_ip_init();
        }
        uint8_t m[700];
        struct decoded d = last();
        static const int types[] = {DHCPOFFER, DHCPACK, DHCPNAK};
        size_t n = reply(m, &(struct offer){.type = types[rnd() % 3], .xid = d.xid,
                                            .yiaddr = rnd() % 4 ? OFFERED : rnd(),
                                            .server = rnd() % 4 ? SERVER : rnd(),
                                            .router = rnd(), .mask = rnd() % 2 ? 0 : rnd(),
                                            .lease = rnd() % 300, .t1 = rnd() % 400,
                                            .t2 = rnd() % 400});
        unsigned flips = rnd() % 8;
        for (unsigned k = 0; k < flips; k++) m[240 + rnd() % 60] = (uint8_t)rnd();
        if (rnd() % 4 == 0) n = rnd() % n;
        if (rnd() % 16 == 0) { n = rnd() % sizeof m; for (size_t k = 0; k < n; k++) m[k] = (uint8_t)rnd(); }
        uint32_t before = configured_addr;
        handler(NULL, SERVER, 67, 68, m, n);
        if (configured_addr != before && configured_addr != 0) {
            uint32_t top = configured_addr >> 24;
            CHECK(top != 0 && top != 127 && top < 224 && configured_prefix <= 32);
        }
        if (rnd() % 8 == 0) run_for((uint64_t)(rnd() % 20) * S);
    }
    quiet = false;
}

int main(int argc, char **argv) {
    unsigned iterations = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
    test_discover_offer_request_ack();
    test_backoff();
    test_nak();
    test_renew_rebind_expire();
    test_t1_t2_options();
    test_fuzz(iterations);
    printf("dhcp host test: %u checks, %u failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
