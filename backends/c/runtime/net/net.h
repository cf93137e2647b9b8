/*
 * The direct IPv4 stack: Ethernet II, ARP, IPv4, ICMP echo, UDP, over the
 * platform's raw frames (platform_net_read / platform_net_write).
 *
 * Single interface, single thread, polled: nothing happens between calls.
 * The application calls net_poll() whenever platform_yield_until() reports a
 * pending frame, and at least every few hundred milliseconds otherwise (ARP
 * retries and ageing run there).  No allocation: every table is static and
 * sized by the NET_* limits below.  Addresses and ports are in host byte
 * order everywhere in this interface.
 *
 * Unresolved next hops: net_udp_send never waits.  When the next hop's MAC
 * is unknown it sends an ARP request and keeps the datagram as the entry's
 * one pending packet; the packet leaves when the reply arrives (in a later
 * net_poll), and is dropped after NET_ARP_TRIES unanswered requests, one a
 * second (RFC 1122 2.3.2.1's rate).  A second datagram to the same
 * unresolved next hop replaces the first (RFC 1122 2.3.2.2: keep the
 * latest).  Replies to a peer never need this: the peer's MAC is learnt
 * from its frames.
 *
 * See README.md in this directory for the checks applied to every frame.
 */
#ifndef SPECC_NET_H
#define SPECC_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_FRAME_MAX 1514u       /* Ethernet header + MTU 1500; larger MTUs are clamped */
#define NET_ARP_ENTRIES 16u       /* neighbour cache size, one pending packet each */
#define NET_ARP_MAX_AGE_NS 60000000000ull /* an entry not confirmed for 60 s is forgotten */
#define NET_ARP_RETRY_NS 1000000000ull    /* between ARP requests for one address */
#define NET_ARP_TRIES 3u          /* requests before the pending packet is dropped */
#define NET_UDP_LISTENERS 16u     /* net_udp_listen table size */
#define NET_POLL_BUDGET 256u      /* frames handled per net_poll call at most */
#define NET_ICMP_ERRORS_PER_S 100u /* port-unreachable messages per second at most */
#define NET_TTL 64u
/* The largest UDP payload net_udp_send accepts with MTU 1500 (no fragmentation). */
#define NET_UDP_PAYLOAD_MAX (NET_FRAME_MAX - 14u - 20u - 8u)

/*
 * Start the stack on the platform's interface: our address, the subnet's
 * prefix length (0..32) and the default gateway (0: none, so only the
 * subnet is reachable).  Address, prefix and gateway all 0 start it without
 * an address (DHCP): it then sends and accepts only limited broadcasts
 * (255.255.255.255), from 0.0.0.0, and answers no ARP.  0 on success; -1
 * when there is no interface, the prefix is above 32, or the address is 0
 * with a prefix or gateway.  Calling it again restarts the stack (tables
 * cleared, listeners removed).
 */
int net_init(uint32_t address, uint8_t prefix, uint32_t gateway /* 0: none */);

/* Change the address, prefix and gateway of a started stack, keeping its
 * listeners (DHCP binding, or losing, a lease); the ARP cache is cleared and
 * a new address announced.  Same rules and results as net_init. */
int net_configure(uint32_t address, uint8_t prefix, uint32_t gateway);

/* Our address as given to net_init; 0 before a successful net_init. */
uint32_t net_address(void);

/* Drain received frames (at most NET_POLL_BUDGET per call): answer ARP
 * requests and ICMP echo requests, deliver UDP datagrams to their
 * listeners; then run the ARP timers.  Must not be called from a handler
 * (such a nested call returns at once). */
void net_poll(void);

/*
 * Called from net_poll for each datagram to a listened port.  payload is
 * valid only during the call.  The handler may call net_udp_send and
 * net_udp_listen.  src is the sender's address, src_port its port.
 */
typedef void (*net_udp_handler)(void *ctx, uint32_t src, uint16_t src_port, uint16_t dst_port,
                                const uint8_t *payload, size_t len);

/* Deliver datagrams to port to handler(ctx, ...): 0, or -1 when the table
 * is full, the port is taken or 0, the handler NULL, or before net_init. */
int net_udp_listen(uint16_t port, net_udp_handler handler, void *ctx);

/*
 * Send one datagram from our address (src_port may be 0: RFC 768's "unused")
 * to dst:dst_port, with a checksum, DF set and TTL NET_TTL.  dst may be
 * 255.255.255.255 or the subnet's broadcast address.  0 when sent or queued
 * behind an ARP request (see above); -1 before net_init, when len exceeds
 * the MTU less 28 bytes, dst or dst_port is 0, dst is our own or a
 * multicast address, dst is off the subnet without a gateway, or the
 * platform refused the frame.
 */
int net_udp_send(uint32_t dst, uint16_t dst_port, uint16_t src_port, const uint8_t *payload,
                 size_t len);

/*
 * The earliest time net_poll has work besides received frames (an ARP
 * request to repeat, a TCP timer, an owed acknowledgement), or UINT64_MAX.
 * The event loop waits no longer.
 */
uint64_t net_deadline(void);

/* ---- for protocol modules (tcp.c): not for applications ---------------- */

/* A protocol on top of IPv4.  input gets each accepted datagram of its
 * protocol (src, dst, payload); to_broadcast says dst was a broadcast
 * address.  timers runs at the end of each net_poll, deadline says when it
 * must run next (UINT64_MAX: no hurry). */
struct net_protocol {
    uint8_t number; /* the IPv4 protocol field */
    void (*input)(uint32_t src, uint32_t dst, bool to_broadcast, const uint8_t *payload,
                  size_t len, uint64_t now);
    void (*timers)(uint64_t now);
    uint64_t (*deadline)(void);
};

/* Install p (one protocol module at a time; NULL removes it).  Calling it
 * is what links the module into an image: net.c names none of its symbols.
 * net_init removes it. */
void net_set_protocol(const struct net_protocol *p);

/* Where the payload of the next net_ip_send goes (after the IPv4 header). */
uint8_t *net_ip_payload(void);

/* Send the len bytes at net_ip_payload() to dst as protocol proto:
 * 0 when sent or queued behind ARP, -1 otherwise (as net_udp_send). */
int net_ip_send(uint32_t dst, uint8_t proto, size_t len);

/* The interface's MTU (IPv4 header included); 0 before net_init. */
size_t net_mtu(void);

/* The Internet checksum of p (n bytes) under the IPv4 pseudo-header of
 * (src, dst, proto, n): 0 over a datagram whose checksum is right. */
uint16_t net_pseudo_checksum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *p,
                             size_t n);

/* Counters since net_init, for tests and diagnostics. */
struct net_stats {
    uint64_t rx_frames;        /* frames taken from the platform */
    uint64_t rx_malformed;     /* dropped: truncated, bad length, checksum, version... */
    uint64_t rx_ignored;       /* dropped: well-formed but not for us or unsupported */
    uint64_t rx_oversize;      /* the platform dropped a frame too long for our buffer */
    uint64_t rx_fragments;     /* IPv4 fragments, dropped (no reassembly) */
    uint64_t arp_replies;      /* ARP requests for our address answered */
    uint64_t arp_requests;     /* ARP requests we sent */
    uint64_t arp_unresolved;   /* pending packets dropped: no ARP reply, or a newer one */
    uint64_t icmp_echo_replies;
    uint64_t icmp_unreachable; /* port-unreachable messages sent */
    uint64_t udp_delivered;    /* datagrams passed to a handler */
    uint64_t udp_no_listener;  /* datagrams to a port nobody listens on */
    uint64_t tx_frames;        /* frames the platform accepted */
    uint64_t tx_errors;        /* frames the platform refused */
};
const struct net_stats *net_stats(void);

#endif
