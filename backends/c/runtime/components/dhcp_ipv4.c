/* dhcp_ipv4(eth): the direct IPv4 stack (net/) with its address from a DHCP
 * server (RFC 2131, options from RFC 2132).
 *
 * The stack starts without an address (net_init(0, 0, 0): broadcasts from
 * 0.0.0.0 only) and the client runs in the event loop, so main() and its
 * listeners start at once; "listening:" lines follow when the lease is bound
 * (components/listening.h).  States and transitions are RFC 2131 figure 5's:
 *
 *   INIT -> DISCOVER sent (SELECTING) -> first valid OFFER: REQUEST
 *   broadcast (REQUESTING) -> ACK: BOUND, the stack configured, the lease
 *   printed | NAK, or no answer after 4 tries: INIT again.
 *   BOUND -> at T1: REQUEST unicast to the server (RENEWING) -> at T2:
 *   REQUEST broadcast (REBINDING) -> ACK: BOUND with the new times | NAK or
 *   the lease running out: the address is dropped, INIT.
 *
 * Retransmission (4.1): 4 s, then doubling up to 64 s, each +-1 s at
 * random, while selecting and requesting; while renewing or rebinding, half
 * the time left until T2 (or the end of the lease), at least 60 s, never
 * past that end.  T1 and T2 come from options 58/59, else 0.5 and 0.875 of
 * the lease (4.4.5).  Only the subnet mask (1), the first router (3), the
 * lease time (51), the server identifier (54) and T1/T2 are used.
 *
 * The BROADCAST flag is set (4.1): without an address the stack accepts
 * only broadcasts, so the server must broadcast its OFFER and ACK.
 *
 * Not done (the code refuses nothing for them, it just does not do them):
 * the 1-10 s random delay before the first DISCOVER (4.4.1; skipped for
 * boot time), the ARP probe of an offered address and DECLINE (2.2, a
 * SHOULD), INIT-REBOOT with a remembered address, RELEASE on exit, option
 * overload (52: sname and file are not searched for options), DHCPINFORM.
 */
#include "components/component.h"
#include "components/listening.h"
#include "fmt.h"
#include "net/net.h"

#include <string.h>

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define BOOTREQUEST 1
#define BOOTREPLY 2
#define HTYPE_ETHERNET 1
#define FLAG_BROADCAST 0x8000u
#define MAGIC_COOKIE 0x63825363u
#define FIXED_LEN 236u  /* op .. file */
#define OPTIONS_AT 240u /* after the magic cookie */
#define MSG_MAX 576u    /* every DHCP host takes 576-byte datagrams (RFC 2131 2) */

#define OPT_PAD 0
#define OPT_SUBNET_MASK 1
#define OPT_ROUTER 3
#define OPT_REQUESTED_IP 50
#define OPT_LEASE_TIME 51
#define OPT_MESSAGE_TYPE 53
#define OPT_SERVER_ID 54
#define OPT_PARAMETER_LIST 55
#define OPT_MAX_MESSAGE 57
#define OPT_T1 58
#define OPT_T2 59
#define OPT_END 255

enum { DHCPDISCOVER = 1, DHCPOFFER, DHCPREQUEST, DHCPDECLINE, DHCPACK, DHCPNAK, DHCPRELEASE };
enum state { INIT, SELECTING, REQUESTING, BOUND, RENEWING, REBINDING };

#define NS_PER_S 1000000000ull
#define TICK_NS (250u * 1000u * 1000u) /* timers are checked four times a second */
#define REQUEST_TRIES 4u               /* in REQUESTING, before INIT again */
#define INFINITE_LEASE 0xffffffffu

static struct {
    enum state state;
    uint8_t mac[6];
    uint32_t xid, rng;
    uint64_t started;   /* this acquisition's start, for `secs` */
    uint64_t next;      /* next retransmission or timer, monotonic ns; 0: none */
    uint64_t backoff;   /* current retransmission interval, ns */
    unsigned tries;     /* REQUESTs sent in REQUESTING */
    uint32_t offered, server;
    /* The lease, once bound. */
    uint32_t address, mask, router, lease_s;
    uint64_t bound_at, t1, t2, expiry; /* monotonic ns; UINT64_MAX: never */
} c;

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* xorshift32: jitter and transaction ids need no more. */
static uint32_t random32(void) {
    c.rng ^= c.rng << 13; c.rng ^= c.rng >> 17; c.rng ^= c.rng << 5;
    return c.rng;
}

static void print_ip(const char *before, uint32_t a) {
    console_printf("%s%u.%u.%u.%u", before, (unsigned)(a >> 24), (unsigned)(a >> 16 & 255),
                   (unsigned)(a >> 8 & 255), (unsigned)(a & 255));
}

static unsigned prefix_of(uint32_t mask) {
    unsigned n = 0;
    while (n < 32 && (mask & (0x80000000u >> n))) n++;
    return n;
}

/* ---- sending -------------------------------------------------------------- */

static void send_message(uint8_t type, uint32_t ciaddr, uint32_t to) {
    uint8_t m[MSG_MAX];
    memset(m, 0, sizeof m);
    m[0] = BOOTREQUEST;
    m[1] = HTYPE_ETHERNET;
    m[2] = 6;
    put32(m + 4, c.xid);
    uint64_t secs = (platform_monotonic_ns() - c.started) / NS_PER_S;
    m[8] = (uint8_t)((secs > 0xffff ? 0xffff : secs) >> 8);
    m[9] = (uint8_t)(secs > 0xffff ? 0xffff : secs);
    /* Broadcast replies unless we can take a unicast to our address. */
    if (ciaddr == 0) { m[10] = FLAG_BROADCAST >> 8; m[11] = 0; }
    put32(m + 12, ciaddr);
    memcpy(m + 28, c.mac, 6);
    put32(m + FIXED_LEN, MAGIC_COOKIE);
    uint8_t *o = m + OPTIONS_AT;
    *o++ = OPT_MESSAGE_TYPE; *o++ = 1; *o++ = type;
    if (type == DHCPREQUEST && c.state == REQUESTING) {
        /* 4.3.2: SELECTING's REQUEST names the offer and its server. */
        *o++ = OPT_REQUESTED_IP; *o++ = 4; put32(o, c.offered); o += 4;
        *o++ = OPT_SERVER_ID; *o++ = 4; put32(o, c.server); o += 4;
    }
    *o++ = OPT_MAX_MESSAGE; *o++ = 2; *o++ = MSG_MAX >> 8; *o++ = MSG_MAX & 255;
    static const uint8_t wanted[] = {OPT_SUBNET_MASK, OPT_ROUTER, OPT_LEASE_TIME, OPT_T1, OPT_T2};
    *o++ = OPT_PARAMETER_LIST; *o++ = sizeof wanted;
    memcpy(o, wanted, sizeof wanted); o += sizeof wanted;
    *o++ = OPT_END;
    size_t len = (size_t)(o - m);
    if (len < 300) len = 300; /* BOOTP relays and old servers expect at least this */
    (void)net_udp_send(to, DHCP_SERVER_PORT, DHCP_CLIENT_PORT, m, len);
}

/* 4 s, 8 s, ... 64 s, each +-1 s. */
static void schedule_retransmit(uint64_t now) {
    int64_t jitter = (int64_t)(random32() % 2001) - 1000;
    c.next = now + c.backoff + (uint64_t)(jitter * 1000000);
    if (c.backoff < 64 * NS_PER_S) c.backoff *= 2;
}

static void start_over(void) {
    uint64_t now = platform_monotonic_ns();
    if (c.state >= BOUND) {
        console_printf("dhcp: lease of");
        print_ip(" ", c.address);
        console_printf(" lost; asking again\n");
        (void)net_configure(0, 0, 0);
        c.address = 0;
    }
    c.state = SELECTING;
    c.xid = random32();
    c.started = now;
    c.backoff = 4 * NS_PER_S;
    send_message(DHCPDISCOVER, 0, 0xffffffffu);
    schedule_retransmit(now);
}

/* While renewing or rebinding: half the time left to `end`, at least 60 s,
 * never past `end` (4.4.5). */
static void schedule_renewal_retry(uint64_t now, uint64_t end) {
    uint64_t wait = end > now ? (end - now) / 2 : 0;
    if (wait < 60 * NS_PER_S) wait = 60 * NS_PER_S;
    c.next = end != UINT64_MAX && now + wait > end ? end : now + wait;
}

/* ---- receiving ---------------------------------------------------------------- */

struct reply {
    uint8_t type;
    uint32_t yiaddr, server, mask, router, lease_s, t1_s, t2_s;
    bool has_mask, has_router, has_lease, has_t1, has_t2;
};

/* Check a BOOTREPLY against our transaction and read its options; false
 * drops it (RFC 2131 4.1: a reply that does not match is discarded). */
static bool parse(const uint8_t *m, size_t n, struct reply *r) {
    if (n < OPTIONS_AT + 3 || m[0] != BOOTREPLY || m[1] != HTYPE_ETHERNET || m[2] != 6)
        return false;
    if (get32(m + 4) != c.xid || memcmp(m + 28, c.mac, 6) != 0 || get32(m + FIXED_LEN) != MAGIC_COOKIE)
        return false;
    memset(r, 0, sizeof *r);
    r->yiaddr = get32(m + 16);
    for (size_t i = OPTIONS_AT; i < n;) {
        uint8_t code = m[i++];
        if (code == OPT_PAD) continue;
        if (code == OPT_END) break;
        if (i >= n || i + 1 + m[i] > n) return false; /* an option past the end */
        size_t len = m[i++];
        const uint8_t *v = m + i;
        i += len;
        switch (code) {
        case OPT_MESSAGE_TYPE: if (len == 1) r->type = v[0]; break;
        case OPT_SERVER_ID: if (len == 4) r->server = get32(v); break;
        case OPT_SUBNET_MASK: if (len == 4) { r->mask = get32(v); r->has_mask = true; } break;
        case OPT_ROUTER: if (len >= 4 && len % 4 == 0) { r->router = get32(v); r->has_router = true; } break;
        case OPT_LEASE_TIME: if (len == 4) { r->lease_s = get32(v); r->has_lease = true; } break;
        case OPT_T1: if (len == 4) { r->t1_s = get32(v); r->has_t1 = true; } break;
        case OPT_T2: if (len == 4) { r->t2_s = get32(v); r->has_t2 = true; } break;
        default: break;
        }
    }
    return r->type != 0;
}

/* A host address: not 0/8, loopback, multicast or class E. */
static bool usable_address(uint32_t a) {
    uint32_t top = a >> 24;
    return top != 0 && top != 127 && top < 224;
}

/* The subnet mask must be contiguous ones.  Without a (valid) one nothing
 * is on-link, /32, rather than a guess from the long-gone address classes. */
static uint32_t mask_from(const struct reply *r) {
    if (!r->has_mask) return 0xffffffffu;
    uint32_t inv = ~r->mask;
    return (inv & (inv + 1)) == 0 && r->mask != 0 ? r->mask : 0xffffffffu;
}

static uint64_t at(uint64_t base, uint64_t seconds) {
    return seconds == INFINITE_LEASE ? UINT64_MAX : base + seconds * NS_PER_S;
}

static void take_lease(const struct reply *r, uint64_t now) {
    bool renewal = c.state == RENEWING || c.state == REBINDING;
    const char *how = c.state == RENEWING ? "renewed" : c.state == REBINDING ? "rebound" : "bound";
    uint32_t mask = mask_from(r);
    uint32_t router = r->has_router && ((r->router ^ r->yiaddr) & mask) == 0 ? r->router : 0;
    bool changed = !renewal || r->yiaddr != c.address || mask != c.mask || router != c.router;
    if (changed && net_configure(r->yiaddr, (uint8_t)prefix_of(mask), router) != 0) {
        start_over();
        return;
    }
    c.address = r->yiaddr;
    c.mask = mask;
    c.router = router;
    if (r->server) c.server = r->server;
    /* 4.4.5: T1 = 0.5, T2 = 0.875 of the lease unless the server says, and
     * then only in the order T1 < T2 < lease.  No lease time: a day. */
    uint32_t lease = r->has_lease ? r->lease_s : 86400u;
    uint64_t t1 = (uint64_t)lease / 2, t2 = (uint64_t)lease * 7 / 8;
    if (r->has_t2 && r->t2_s < lease) t2 = r->t2_s;
    if (r->has_t1 && r->t1_s < t2) t1 = r->t1_s;
    if (t1 > t2) t1 = t2;
    c.lease_s = lease;
    c.bound_at = now;
    c.expiry = at(now, lease);
    c.t1 = lease == INFINITE_LEASE ? UINT64_MAX : now + t1 * NS_PER_S;
    c.t2 = lease == INFINITE_LEASE ? UINT64_MAX : now + t2 * NS_PER_S;
    c.state = BOUND;
    c.next = c.t1 == UINT64_MAX ? 0 : c.t1;
    console_printf("dhcp: %s", how);
    print_ip(" ", c.address);
    console_printf("/%u", prefix_of(c.mask));
    if (c.router) print_ip(" router ", c.router);
    else console_printf(" no router");
    print_ip(" server ", c.server);
    if (lease == INFINITE_LEASE)
        console_printf(" lease infinite\n");
    else
        console_printf(" lease %u s (renew at %llu s, rebind at %llu s)\n", (unsigned)lease,
                       (unsigned long long)t1, (unsigned long long)t2);
    if (changed) sc_listening_address_known();
}

static void received(void *ctx, uint32_t src, uint16_t src_port, uint16_t dst_port,
                     const uint8_t *payload, size_t len) {
    (void)ctx; (void)src; (void)dst_port;
    struct reply r;
    if (src_port != DHCP_SERVER_PORT || !parse(payload, len, &r)) return;
    uint64_t now = platform_monotonic_ns();
    switch (c.state) {
    case SELECTING:
        /* The first acceptable offer (4.4.1 lets the client choose). */
        if (r.type != DHCPOFFER || r.server == 0 || !usable_address(r.yiaddr)) return;
        c.offered = r.yiaddr;
        c.server = r.server;
        c.state = REQUESTING;
        c.tries = 1;
        c.backoff = 4 * NS_PER_S;
        send_message(DHCPREQUEST, 0, 0xffffffffu);
        schedule_retransmit(now);
        return;
    case REQUESTING:
        if (r.server != c.server) return; /* another server's answer to our broadcast */
        if (r.type == DHCPACK && r.yiaddr == c.offered) take_lease(&r, now);
        else if (r.type == DHCPNAK) start_over();
        return;
    case RENEWING:
    case REBINDING:
        if (r.type == DHCPACK && usable_address(r.yiaddr)) take_lease(&r, now);
        else if (r.type == DHCPNAK) start_over();
        return;
    case INIT:
    case BOUND:
        return;
    }
}

/* ---- timers --------------------------------------------------------------------- */

static void tick(void) {
    uint64_t now = platform_monotonic_ns();
    if (c.state >= BOUND && c.expiry != UINT64_MAX && now >= c.expiry) {
        start_over(); /* 4.4.5: the lease ran out; stop using the address */
        return;
    }
    if (c.next == 0 || now < c.next) return;
    switch (c.state) {
    case INIT:
        start_over();
        return;
    case SELECTING:
        send_message(DHCPDISCOVER, 0, 0xffffffffu);
        schedule_retransmit(now);
        return;
    case REQUESTING:
        if (c.tries >= REQUEST_TRIES) { c.state = INIT; start_over(); return; }
        c.tries++;
        send_message(DHCPREQUEST, 0, 0xffffffffu);
        schedule_retransmit(now);
        return;
    case BOUND:
    case RENEWING:
    case REBINDING:
        if (c.state == BOUND || (c.state == RENEWING && now >= c.t2)) {
            c.xid = random32(); /* a new transaction for each state */
            c.started = now;
        }
        if (now >= c.t2) {
            c.state = REBINDING;
            send_message(DHCPREQUEST, c.address, 0xffffffffu);
            schedule_renewal_retry(now, c.expiry);
        } else {
            c.state = RENEWING;
            send_message(DHCPREQUEST, c.address, c.server);
            schedule_renewal_retry(now, c.t2);
        }
        return;
    }
}

void SC_FN(init)(void) {
    size_t mtu;
    if (net_init(0, 0, 0) != 0 || platform_net_info(c.mac, &mtu) != 0)
        sc_trap("dhcp_ipv4", "no network interface");
    c.rng = (uint32_t)platform_monotonic_ns() ^ get32(c.mac + 2) ^ 0x9e3779b9u;
    if (c.rng == 0) c.rng = 1;
    if (net_udp_listen(DHCP_CLIENT_PORT, received, NULL) != 0)
        sc_trap("dhcp_ipv4", "cannot listen on UDP port 68");
    c.state = INIT;
    sc_every(TICK_NS, tick);
    start_over();
}

uint32_t SC_FN(address)(void) { return net_address(); }
