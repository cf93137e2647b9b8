/*
 * The direct IPv4 stack (net.h): Ethernet II, ARP (RFC 826), IPv4 (RFC 791,
 * with RFC 1122's host rules), ICMP echo and port unreachable (RFC 792), UDP
 * (RFC 768), the Internet checksum (RFC 1071).
 *
 * Portable freestanding C11: it uses platform.h and <string.h> only, so the
 * host tests compile it with a fake platform.  Frames are byte arrays read
 * and written through get16/put16 and friends (network byte order, no
 * struct overlays): no alignment or aliasing assumptions, and every read is
 * preceded by a length check against the frame actually received.
 */
#include <stdbool.h>
#include <string.h>

#include "net.h"
#include "platform.h"

#define ETH_HLEN 14u
#define ETH_MIN_FRAME 60u /* without the FCS: shorter frames are zero-padded */
#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_ARP 0x0806u

#define ARP_LEN 28u /* Ethernet/IPv4 ARP packet */
#define ARP_HTYPE_ETHERNET 1u
#define ARP_REQUEST 1u
#define ARP_REPLY 2u

#define IP_HLEN 20u
#define IP_HDR_OFF ETH_HLEN
#define IP_DATA_OFF (ETH_HLEN + IP_HLEN) /* where outgoing payloads start */
#define IP_PROTO_ICMP 1u
#define IP_PROTO_UDP 17u
#define IP_FLAG_DF 0x4000u
#define IP_FLAG_MF 0x2000u
#define IP_OFFSET_MASK 0x1fffu
#define IP_MIN_MTU 68u /* RFC 791: every host must take 68-byte datagrams */

#define ICMP_HLEN 8u
#define ICMP_ECHO_REPLY 0u
#define ICMP_DEST_UNREACHABLE 3u
#define ICMP_PORT_UNREACHABLE 3u /* code */
#define ICMP_ECHO_REQUEST 8u

#define UDP_HLEN 8u

#define NS_PER_S 1000000000ull

enum arp_state { ARP_FREE, ARP_PENDING, ARP_RESOLVED };

struct arp_entry {
    uint32_t ip;
    uint8_t state; /* enum arp_state */
    uint8_t tries; /* requests sent while pending */
    uint8_t mac[6];
    uint64_t stamp;     /* resolved: last confirmed; pending: last request sent */
    size_t pending_len; /* 0: no pending packet */
    uint8_t pending[NET_FRAME_MAX]; /* a whole frame, destination MAC still to fill */
};

struct listener {
    uint16_t port; /* 0: free */
    net_udp_handler handler;
    void *ctx;
};

static struct {
    bool up;
    bool polling;
    uint8_t prefix;
    uint8_t mac[6];
    uint32_t addr, mask, gateway;
    size_t mtu;
    uint16_t ip_id;
    uint64_t icmp_window; /* start of the current one-second window */
    unsigned icmp_sent;   /* errors sent in it */
    struct net_stats stats;
    const struct net_protocol *proto; /* TCP, when the image has it */
    struct listener listeners[NET_UDP_LISTENERS];
    struct arp_entry arp[NET_ARP_ENTRIES];
    uint8_t rx[NET_FRAME_MAX];
    uint8_t tx[NET_FRAME_MAX];
} net;

static const uint8_t broadcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- bytes ------------------------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- the Internet checksum (RFC 1071) ----------------------------------- */

/* Add n bytes as big-endian 16-bit words to sum (an odd last byte is the
 * high half of a word).  Chained calls must give every part but the last an
 * even length.  64 bits cannot overflow for any frame.
 *
 * Summed as 32-bit words in the CPU's (little-endian) order, then
 * folded and byte-swapped: RFC 1071 2(A) and 2(B), the sum does not depend
 * on the order of the 16-bit words nor on the byte order once swapped back.
 * A quarter of the loop iterations of a 16-bit word at a time: under QEMU's
 * TCG about 450 fewer guest instructions per answer (3,670 -> 3,210 per
 * frame, counted with -icount).  Congruent modulo 0xffff to the
 * word-by-word sum and zero only when the data is, so csum_fold gives the
 * same value. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "csum_add sums little-endian words");

static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
    typedef uint32_t __attribute__((may_alias, aligned(1))) word32; /* x86: unaligned is fine */
    uint64_t le = 0;
    for (; n >= 8; p += 8, n -= 8)
        le += (uint64_t)*(const word32 *)p + *(const word32 *)(p + 4);
    if (n >= 4) {
        le += *(const word32 *)p;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        le += (uint32_t)p[0] | (uint32_t)p[1] << 8;
        p += 2;
        n -= 2;
    }
    if (n)
        le += p[0];
    while (le >> 16)
        le = (le & 0xffffu) + (le >> 16);
    return sum + (uint16_t)(le << 8 | le >> 8);
}

/* Fold the carries back in and complement: the value to store in a checksum
 * field, or 0 when verifying data that includes a correct checksum. */
static uint16_t csum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

/* The UDP pseudo-header: source, destination, zero, protocol, UDP length. */
static uint64_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    uint8_t ph[12];
    put32(ph, src);
    put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = proto;
    put16(ph + 10, len);
    return csum_add(0, ph, sizeof ph);
}

/* ---- addresses --------------------------------------------------------- */

static bool mac_is_group(const uint8_t *m) /* multicast or broadcast */
{
    return m[0] & 1u;
}

static bool mac_is_zero(const uint8_t *m)
{
    return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0;
}

static bool ip_is_multicast(uint32_t ip)
{
    return ip >> 28 == 0xeu;
}

/* 255.255.255.255 or the subnet's directed broadcast (none on /31, /32). */
static bool ip_is_broadcast(uint32_t ip)
{
    return ip == 0xffffffffu || (net.prefix <= 30 && ip == (net.addr | ~net.mask));
}

static bool ip_on_subnet(uint32_t ip)
{
    return ((ip ^ net.addr) & net.mask) == 0;
}

/* Also the old {subnet, 0} form, which RFC 1122 3.3.6 asks hosts to accept
 * (never sent). */
static bool ip_is_broadcast_rx(uint32_t ip)
{
    return ip_is_broadcast(ip) || (net.prefix <= 30 && ip == (net.addr & net.mask));
}

/* An address another host may have: the only ones learnt, answered and
 * sent to directly.  Not 0.0.0.0/8, loopback, multicast, class E, a
 * broadcast, the subnet's own number or ours. */
static bool ip_is_peer(uint32_t ip)
{
    uint32_t top = ip >> 24;
    if (top == 0 || top == 127 || top >= 224)
        return false;
    if (ip == net.addr || ip_is_broadcast(ip))
        return false;
    return !(net.prefix <= 30 && ip == (net.addr & net.mask));
}

/* ---- sending ---------------------------------------------------------- */

/* Pad frame (whose buffer holds at least ETH_MIN_FRAME bytes) to the
 * Ethernet minimum and hand it to the platform. */
static int eth_send(uint8_t *frame, size_t len)
{
    if (len < ETH_MIN_FRAME) {
        memset(frame + len, 0, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    if (platform_net_write(frame, len) != 0) {
        net.stats.tx_errors++;
        return -1;
    }
    net.stats.tx_frames++;
    return 0;
}

static void eth_header(uint8_t *frame, const uint8_t *dst, uint16_t type)
{
    memcpy(frame, dst, 6);
    memcpy(frame + 6, net.mac, 6);
    put16(frame + 12, type);
}

static int arp_send(uint16_t op, const uint8_t *eth_dst, const uint8_t *tha, uint32_t tpa)
{
    uint8_t f[ETH_MIN_FRAME];
    eth_header(f, eth_dst, ETHERTYPE_ARP);
    uint8_t *a = f + ETH_HLEN;
    put16(a, ARP_HTYPE_ETHERNET);
    put16(a + 2, ETHERTYPE_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, net.mac, 6);
    put32(a + 14, net.addr);
    memcpy(a + 18, tha, 6);
    put32(a + 24, tpa);
    return eth_send(f, ETH_HLEN + ARP_LEN);
}

static void arp_request(uint32_t ip)
{
    static const uint8_t unknown[6];
    net.stats.arp_requests++;
    (void)arp_send(ARP_REQUEST, broadcast_mac, unknown, ip);
}

/* ---- the neighbour cache ------------------------------------------------ */

static void arp_free(struct arp_entry *e)
{
    if (e->pending_len)
        net.stats.arp_unresolved++;
    e->state = ARP_FREE;
    e->pending_len = 0;
}

/* The live entry for ip, forgetting it first if it has aged out. */
static struct arp_entry *arp_find(uint32_t ip, uint64_t now)
{
    for (unsigned i = 0; i < NET_ARP_ENTRIES; i++) {
        struct arp_entry *e = &net.arp[i];
        if (e->state == ARP_FREE || e->ip != ip)
            continue;
        if (e->state == ARP_RESOLVED && now - e->stamp >= NET_ARP_MAX_AGE_NS) {
            arp_free(e);
            return NULL;
        }
        return e;
    }
    return NULL;
}

/* A free entry for ip: an unused one, else the least recently confirmed
 * resolved one, else the oldest pending one (its packet is dropped). */
static struct arp_entry *arp_alloc(uint32_t ip)
{
    struct arp_entry *victim = NULL;
    for (unsigned i = 0; i < NET_ARP_ENTRIES; i++) {
        struct arp_entry *e = &net.arp[i];
        if (e->state == ARP_FREE) {
            victim = e;
            break;
        }
        bool better = victim == NULL ||
                      (e->state == ARP_RESOLVED && victim->state == ARP_PENDING) ||
                      (e->state == victim->state && e->stamp < victim->stamp);
        if (better)
            victim = e;
    }
    arp_free(victim);
    victim->ip = ip;
    victim->tries = 0;
    return victim;
}

/* ip is at mac.  create: add an entry when there is none; else only an
 * existing one is updated (RFC 826's merge).  Sends the pending packet. */
static void arp_learn(uint32_t ip, const uint8_t *mac, bool create, uint64_t now)
{
    if (!ip_is_peer(ip) || mac_is_group(mac) || mac_is_zero(mac))
        return;
    struct arp_entry *e = arp_find(ip, now);
    if (e == NULL) {
        if (!create)
            return;
        e = arp_alloc(ip);
    }
    memcpy(e->mac, mac, 6);
    e->state = ARP_RESOLVED;
    e->stamp = now;
    e->tries = 0;
    if (e->pending_len) {
        memcpy(e->pending, mac, 6);
        (void)eth_send(e->pending, e->pending_len);
        e->pending_len = 0;
    }
}

/* Retry pending resolutions, give up on silent ones, forget old entries. */
static void arp_timers(uint64_t now)
{
    for (unsigned i = 0; i < NET_ARP_ENTRIES; i++) {
        struct arp_entry *e = &net.arp[i];
        if (e->state == ARP_RESOLVED && now - e->stamp >= NET_ARP_MAX_AGE_NS) {
            arp_free(e);
        } else if (e->state == ARP_PENDING && now - e->stamp >= NET_ARP_RETRY_NS) {
            if (e->tries >= NET_ARP_TRIES) {
                arp_free(e);
            } else {
                e->tries++;
                e->stamp = now;
                arp_request(e->ip);
            }
        }
    }
}

/* ---- IPv4 output ---------------------------------------------------------- */

/*
 * Send the packet whose payload (len bytes) is at net.tx + IP_DATA_OFF to
 * dst: the IPv4 header (DF, TTL NET_TTL, no options) and the Ethernet header
 * are filled in here.  0 when sent or queued behind ARP, -1 otherwise.
 */
static int ip_output(uint32_t dst, uint8_t proto, size_t len, uint64_t now)
{
    if (len > net.mtu - IP_HLEN)
        return -1;
    bool bcast = ip_is_broadcast(dst);
    uint32_t hop = dst;
    if (!bcast && net.addr == 0) /* without an address: broadcasts only */
        return -1;
    if (!bcast) {
        if (!ip_is_peer(dst))
            return -1;
        if (!ip_on_subnet(dst))
            hop = net.gateway;
        if (hop == 0)
            return -1;
    }

    uint8_t *ip = net.tx + IP_HDR_OFF;
    ip[0] = 0x45; /* version 4, 5 words */
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(IP_HLEN + len));
    put16(ip + 4, net.ip_id++);
    put16(ip + 6, IP_FLAG_DF);
    ip[8] = NET_TTL;
    ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, net.addr);
    put32(ip + 16, dst);
    put16(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));
    size_t frame_len = IP_DATA_OFF + len;

    if (bcast) {
        eth_header(net.tx, broadcast_mac, ETHERTYPE_IPV4);
        return eth_send(net.tx, frame_len);
    }
    struct arp_entry *e = arp_find(hop, now);
    if (e != NULL && e->state == ARP_RESOLVED) {
        eth_header(net.tx, e->mac, ETHERTYPE_IPV4);
        return eth_send(net.tx, frame_len);
    }
    if (e != NULL && e->pending_len) /* RFC 1122 2.3.2.2: keep the latest packet */
        net.stats.arp_unresolved++;
    if (e == NULL) {
        e = arp_alloc(hop);
        e->state = ARP_PENDING;
        e->tries = 1;
        e->stamp = now;
        arp_request(hop);
    }
    eth_header(net.tx, broadcast_mac, ETHERTYPE_IPV4); /* the MAC is filled in on reply */
    memcpy(e->pending, net.tx, frame_len);
    e->pending_len = frame_len;
    return 0;
}

/* ---- input ---------------------------------------------------------------- */

/* What became of a received frame; eth_input counts the drops. */
enum verdict { TAKEN, MALFORMED, IGNORED, FRAGMENT };

static enum verdict arp_input(const uint8_t *a, size_t n, uint64_t now)
{
    if (n < ARP_LEN)
        return MALFORMED;
    if (get16(a) != ARP_HTYPE_ETHERNET || get16(a + 2) != ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4)
        return IGNORED;
    uint16_t op = get16(a + 6);
    const uint8_t *sha = a + 8;
    uint32_t spa = get32(a + 14), tpa = get32(a + 24);
    if (op != ARP_REQUEST && op != ARP_REPLY)
        return IGNORED;
    if (mac_is_group(sha) || mac_is_zero(sha))
        return MALFORMED;
    if (spa == net.addr) /* someone else claims our address: nothing sane to learn */
        return IGNORED;
    bool for_us = net.addr != 0 && tpa == net.addr; /* no address yet (DHCP): nothing is */
    arp_learn(spa, sha, for_us, now);
    if (op == ARP_REQUEST && for_us) {
        /* Also answers probes (sender 0.0.0.0, RFC 5227): that defends the address. */
        if (arp_send(ARP_REPLY, sha, sha, spa) == 0)
            net.stats.arp_replies++;
    }
    return TAKEN;
}

/* RFC 1812's rate limit, simplified: NET_ICMP_ERRORS_PER_S per second. */
static bool icmp_error_allowed(uint64_t now)
{
    if (now - net.icmp_window >= NS_PER_S) {
        net.icmp_window = now;
        net.icmp_sent = 0;
    }
    if (net.icmp_sent >= NET_ICMP_ERRORS_PER_S)
        return false;
    net.icmp_sent++;
    return true;
}

/* Port unreachable for the datagram whose IP header (ihl bytes, then at
 * least 8 bytes of UDP) is at ip. */
static void icmp_port_unreachable(uint32_t src, const uint8_t *ip, size_t ihl, uint64_t now)
{
    if (!icmp_error_allowed(now))
        return;
    uint8_t *m = net.tx + IP_DATA_OFF;
    size_t quoted = ihl + UDP_HLEN; /* RFC 792: the header and 64 bits of data */
    m[0] = ICMP_DEST_UNREACHABLE;
    m[1] = ICMP_PORT_UNREACHABLE;
    put16(m + 2, 0);
    put32(m + 4, 0);
    memcpy(m + ICMP_HLEN, ip, quoted);
    put16(m + 2, csum_fold(csum_add(0, m, ICMP_HLEN + quoted)));
    if (ip_output(src, IP_PROTO_ICMP, ICMP_HLEN + quoted, now) == 0)
        net.stats.icmp_unreachable++;
}

static enum verdict icmp_input(uint32_t src, uint32_t dst, const uint8_t *m, size_t n,
                               uint64_t now)
{
    if (n < ICMP_HLEN || csum_fold(csum_add(0, m, n)) != 0)
        return MALFORMED;
    /* RFC 1122 3.2.2.6: echo requests to a broadcast address may be ignored. */
    if (m[0] != ICMP_ECHO_REQUEST || m[1] != 0 || dst != net.addr || !ip_is_peer(src))
        return IGNORED;
    uint8_t *r = net.tx + IP_DATA_OFF;
    memcpy(r, m, n); /* identifier, sequence number and data come back as they were */
    r[0] = ICMP_ECHO_REPLY;
    put16(r + 2, 0);
    put16(r + 2, csum_fold(csum_add(0, r, n)));
    if (ip_output(src, IP_PROTO_ICMP, n, now) == 0)
        net.stats.icmp_echo_replies++;
    return TAKEN;
}

static struct listener *udp_listener(uint16_t port)
{
    for (unsigned i = 0; i < NET_UDP_LISTENERS; i++)
        if (net.listeners[i].port == port)
            return &net.listeners[i];
    return NULL;
}

static enum verdict udp_input(uint32_t src, uint32_t dst, const uint8_t *ip, size_t ihl,
                              const uint8_t *u, size_t n, uint64_t now)
{
    if (n < UDP_HLEN)
        return MALFORMED;
    uint16_t ulen = get16(u + 4);
    if (ulen < UDP_HLEN || ulen > n) /* bytes after ulen are IP padding: ignored */
        return MALFORMED;
    if (get16(u + 6) != 0 &&
        csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_UDP, ulen), u, ulen)) != 0)
        return MALFORMED;
    uint16_t src_port = get16(u), dst_port = get16(u + 2);
    if (dst_port == 0)
        return MALFORMED;
    struct listener *l = udp_listener(dst_port);
    if (l == NULL) {
        net.stats.udp_no_listener++;
        /* RFC 1122 3.2.2: never an ICMP error about a broadcast. */
        if (dst == net.addr && ip_is_peer(src))
            icmp_port_unreachable(src, ip, ihl, now);
        return TAKEN;
    }
    net.stats.udp_delivered++;
    l->handler(l->ctx, src, src_port, dst_port, u + UDP_HLEN, (size_t)ulen - UDP_HLEN);
    return TAKEN;
}

static enum verdict ip_input(const uint8_t *frame, size_t len, bool link_broadcast, uint64_t now)
{
    const uint8_t *ip = frame + ETH_HLEN;
    size_t n = len - ETH_HLEN;
    if (n < IP_HLEN || ip[0] >> 4 != 4)
        return MALFORMED;
    size_t ihl = (size_t)(ip[0] & 0xfu) * 4;
    size_t total = get16(ip + 2);
    /* total may be below n: Ethernet pads short frames. */
    if (ihl < IP_HLEN || total < ihl || total > n)
        return MALFORMED;
    if (csum_fold(csum_add(0, ip, ihl)) != 0)
        return MALFORMED;
    if (get16(ip + 6) & (IP_FLAG_MF | IP_OFFSET_MASK))
        return FRAGMENT;
    uint32_t src = get32(ip + 12), dst = get32(ip + 16);
    bool to_broadcast = ip_is_broadcast_rx(dst);
    if (dst != net.addr && !to_broadcast)
        return IGNORED;
    /* RFC 1122 3.2.1.3: discard a broadcast or multicast source, and
     * (3.3.6) a unicast destination that came as a link broadcast. */
    if (src == net.addr || ip_is_multicast(src) || ip_is_broadcast(src) ||
        (link_broadcast && !to_broadcast))
        return IGNORED;
    if (ip_on_subnet(src))
        arp_learn(src, frame + 6, true, now);

    const uint8_t *payload = ip + ihl;
    size_t plen = total - ihl;
    switch (ip[9]) {
    case IP_PROTO_ICMP:
        return icmp_input(src, dst, payload, plen, now);
    case IP_PROTO_UDP:
        return udp_input(src, dst, ip, ihl, payload, plen, now);
    default:
        if (net.proto == NULL || ip[9] != net.proto->number)
            return IGNORED;
        /* The protocol counts its own drops. */
        net.proto->input(src, dst, to_broadcast, payload, plen, now);
        return TAKEN;
    }
}

static enum verdict eth_input(const uint8_t *f, size_t len, uint64_t now)
{
    if (len < ETH_HLEN)
        return MALFORMED;
    bool link_broadcast = memcmp(f, broadcast_mac, 6) == 0;
    if (!link_broadcast && memcmp(f, net.mac, 6) != 0)
        return IGNORED;
    if (mac_is_group(f + 6) || memcmp(f + 6, net.mac, 6) == 0)
        return IGNORED;
    switch (get16(f + 12)) {
    case ETHERTYPE_ARP:
        return arp_input(f + ETH_HLEN, len - ETH_HLEN, now);
    case ETHERTYPE_IPV4:
        return ip_input(f, len, link_broadcast, now);
    default:
        return IGNORED;
    }
}

/* ---- the interface ---------------------------------------------------------- */

/* Our address, subnet and gateway; 0.0.0.0/0 without a gateway is "none
 * yet": limited broadcasts only, from 0.0.0.0 (DHCP's INIT state). */
static void set_address(uint32_t address, uint8_t prefix, uint32_t gateway)
{
    net.addr = address;
    net.prefix = prefix;
    net.mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
    net.gateway = gateway;
    if (address == 0)
        return;
    /* An ARP announcement (RFC 5227 section 2.3): neighbours, and QEMU's user
     * networking in particular, learn our MAC now rather than by asking, so a
     * packet that reached them before we were up is not held for a retry. */
    static const uint8_t unknown[6];
    (void)arp_send(ARP_REQUEST, broadcast_mac, unknown, address);
}

int net_init(uint32_t address, uint8_t prefix, uint32_t gateway)
{
    memset(&net, 0, sizeof net);
    uint8_t mac[6];
    size_t mtu;
    if (platform_net_info(mac, &mtu) != 0 || prefix > 32 ||
        (address == 0 && (prefix != 0 || gateway != 0)))
        return -1;
    if (mtu > NET_FRAME_MAX - ETH_HLEN)
        mtu = NET_FRAME_MAX - ETH_HLEN;
    if (mtu < IP_MIN_MTU)
        return -1;
    memcpy(net.mac, mac, 6);
    net.mtu = mtu;
    net.ip_id = (uint16_t)platform_monotonic_ns();
    net.up = true;
    set_address(address, prefix, gateway);
    return 0;
}

int net_configure(uint32_t address, uint8_t prefix, uint32_t gateway)
{
    if (!net.up || prefix > 32 || (address == 0 && (prefix != 0 || gateway != 0)))
        return -1;
    /* Neighbours learnt under another address or subnet may be wrong now. */
    for (unsigned i = 0; i < NET_ARP_ENTRIES; i++)
        arp_free(&net.arp[i]);
    set_address(address, prefix, gateway);
    return 0;
}

uint32_t net_address(void)
{
    return net.up ? net.addr : 0;
}

void net_poll(void)
{
    if (!net.up || net.polling)
        return;
    net.polling = true;
    for (unsigned i = 0; i < NET_POLL_BUDGET; i++) {
        ptrdiff_t n = platform_net_read(net.rx, sizeof net.rx);
        if (n == 0)
            break;
        if (n < 0 || (size_t)n > sizeof net.rx) {
            net.stats.rx_oversize++;
            continue;
        }
        net.stats.rx_frames++;
        switch (eth_input(net.rx, (size_t)n, platform_monotonic_ns())) {
        case TAKEN:
            break;
        case MALFORMED:
            net.stats.rx_malformed++;
            break;
        case IGNORED:
            net.stats.rx_ignored++;
            break;
        case FRAGMENT:
            net.stats.rx_fragments++;
            break;
        }
    }
    uint64_t now = platform_monotonic_ns();
    arp_timers(now);
    if (net.proto != NULL)
        net.proto->timers(now);
    net.polling = false;
}

int net_udp_listen(uint16_t port, net_udp_handler handler, void *ctx)
{
    if (!net.up || port == 0 || handler == NULL || udp_listener(port) != NULL)
        return -1;
    struct listener *l = udp_listener(0);
    if (l == NULL)
        return -1;
    l->port = port;
    l->handler = handler;
    l->ctx = ctx;
    return 0;
}

int net_udp_send(uint32_t dst, uint16_t dst_port, uint16_t src_port, const uint8_t *payload,
                 size_t len)
{
    if (!net.up || dst_port == 0 || len > net.mtu - IP_HLEN - UDP_HLEN ||
        (payload == NULL && len != 0))
        return -1;
    uint8_t *u = net.tx + IP_DATA_OFF;
    put16(u, src_port);
    put16(u + 2, dst_port);
    put16(u + 4, (uint16_t)(UDP_HLEN + len));
    put16(u + 6, 0);
    if (len)
        memmove(u + UDP_HLEN, payload, len);
    uint64_t sum = csum_pseudo(net.addr, dst, IP_PROTO_UDP, (uint16_t)(UDP_HLEN + len));
    uint16_t c = csum_fold(csum_add(sum, u, UDP_HLEN + len));
    put16(u + 6, c == 0 ? 0xffffu : c); /* RFC 768: 0 means "no checksum" */
    return ip_output(dst, IP_PROTO_UDP, UDP_HLEN + len, platform_monotonic_ns());
}

/* When arp_timers has work: a pending entry's next request (or its drop).
 * A resolved entry's expiry needs no wake-up: arp_find checks the age, and
 * arp_timers frees it at whatever poll comes after. */
static uint64_t arp_deadline(void)
{
    uint64_t due = UINT64_MAX;
    for (unsigned i = 0; i < NET_ARP_ENTRIES; i++) {
        const struct arp_entry *e = &net.arp[i];
        if (e->state == ARP_PENDING && e->stamp + NET_ARP_RETRY_NS < due)
            due = e->stamp + NET_ARP_RETRY_NS;
    }
    return due;
}

uint64_t net_deadline(void)
{
    if (!net.up)
        return UINT64_MAX;
    uint64_t due = arp_deadline();
    if (net.proto != NULL) {
        uint64_t proto = net.proto->deadline();
        if (proto < due)
            due = proto;
    }
    return due;
}

void net_set_protocol(const struct net_protocol *p)
{
    net.proto = p;
}

uint8_t *net_ip_payload(void)
{
    return net.tx + IP_DATA_OFF;
}

int net_ip_send(uint32_t dst, uint8_t proto, size_t len)
{
    if (!net.up)
        return -1;
    return ip_output(dst, proto, len, platform_monotonic_ns());
}

size_t net_mtu(void)
{
    return net.up ? net.mtu : 0;
}

uint16_t net_pseudo_checksum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *p,
                             size_t n)
{
    return csum_fold(csum_add(csum_pseudo(src, dst, proto, (uint16_t)n), p, n));
}

const struct net_stats *net_stats(void)
{
    return &net.stats;
}
