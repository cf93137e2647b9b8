/*
 * TCP (RFC 9293) for the direct IPv4 stack: see tcp.h for the interface and
 * README.md for what is implemented and how it departs from the RFCs.
 *
 * Portable freestanding C11 like net.c (platform.h, net.h and <string.h>
 * only); segments are byte arrays read and written through get/put helpers
 * after a length check, never struct overlays.
 *
 * Where things live:
 *  - established connections and active opens: the caller's table
 *    (tcp_config.conns); each has a linear receive buffer (in-order bytes
 *    not yet handed over, then the out-of-order ranges after them) and a
 *    send queue, a chain of blocks from the shared pool;
 *  - passive half-open connections: the SYN table, so that a SYN flood
 *    evicts half-open entries and never takes a connection slot;
 *  - TIME_WAIT: its own small table, so a closed connection gives its
 *    buffers back at once.
 *
 * Callbacks only ever run inside net_poll (segment input and timers), one at
 * a time: events that a call made from a callback causes are queued and
 * delivered after it returns.
 */
#include <string.h>

#include "net.h"
#include "platform.h"
#include "tcp.h"

#define IP_PROTO_TCP 6u
#define TCP_HLEN 20u
#define TH_FIN 0x01u
#define TH_SYN 0x02u
#define TH_RST 0x04u
#define TH_PSH 0x08u
#define TH_ACK 0x10u

#define OPT_EOL 0u
#define OPT_NOP 1u
#define OPT_MSS 2u
#define OPT_WS 3u
#define WS_MAX 14u          /* RFC 7323 2.3 */
#define DEFAULT_MSS 536u    /* RFC 9293 3.7.1: without an MSS option */
#define NS_PER_S 1000000000ull
#define REPLIES_PER_S 200u  /* RSTs and challenge ACKs (RFC 5961 7) per second */
#define CWND_MAX (1u << 30)
#define EPHEMERAL_FIRST 49152u /* RFC 6335 */

/* ---- bytes and sequence numbers ------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
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

/* Sequence-space comparisons (RFC 9293 3.4): modulo 2^32. */
static bool seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static bool seq_leq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static uint32_t max32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

/* ---- state ------------------------------------------------------------------ */

struct listener {
    uint16_t port; /* 0: free */
    const struct tcp_handler *handler;
    void *ctx;
};

/* A passive open that has seen a SYN and answered SYN-ACK. */
struct syn_entry {
    bool used;
    bool ws_ok;
    uint8_t snd_shift; /* the peer's window scale */
    uint8_t tries;     /* SYN-ACKs sent */
    uint16_t peer_port, local_port, mss;
    uint32_t peer, iss, irs;
    uint64_t sent_at, born;
    const struct listener *listener;
};

struct tw_entry {
    bool used;
    uint16_t peer_port, local_port;
    uint32_t peer, snd_nxt, rcv_nxt;
    uint64_t until;
};

enum event_kind { EV_OPENED, EV_ENDED };

struct event {
    uint8_t kind, why;
    const struct tcp_handler *handler;
    void *ctx;
    struct tcp_peer who;
};

static struct {
    bool up;
    struct tcp_config cfg;
    uint32_t pool_free;        /* free-list head */
    size_t pool_free_count;
    uint32_t next_id;
    uint64_t secret[2];        /* for initial sequence numbers and ports */
    unsigned depth;            /* callbacks running (0 or 1) */
    struct tcp_conn *delivering;
    uint64_t reply_window;     /* start of the current second of RSTs/challenge ACKs */
    unsigned replies;
    struct listener listeners[TCP_LISTENERS];
    struct syn_entry syn[TCP_SYN_BACKLOG];
    struct tw_entry tw[TCP_TIME_WAIT_MAX];
    struct event events[TCP_EVENT_QUEUE];
    unsigned ev_head, ev_count;
} tcp;

/* The counters (tcp_stats), outside `tcp` so that a test can find them by
 * their symbol in a running image (tests/test_hvt_tcp_netns.py reads them
 * through QEMU's monitor): every field is a uint64_t, in tcp.h's order. */
static struct tcp_stats tcp_counters;

/* A received segment, parsed. */
struct seg {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    uint16_t mss;      /* 0: no option */
    int ws;            /* -1: no option */
    const uint8_t *data;
    uint32_t len;
};

static void output(struct tcp_conn *c, uint64_t now);

/* ---- initial sequence numbers (RFC 6528) -------------------------------- */

/* A 64-bit mixing function (splitmix64's finalizer): not cryptographic, but
 * keyed by a boot-time secret, so sequence numbers are not guessable from
 * one connection to the next without seeing the secret's effects. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t tuple_hash(uint32_t peer, uint16_t peer_port, uint16_t local_port)
{
    uint64_t h = mix64(tcp.secret[0] ^ ((uint64_t)peer << 32 | (uint64_t)peer_port << 16 |
                                        local_port));
    return mix64(h ^ tcp.secret[1] ^ net_address());
}

/* RFC 6528: ISN = M + F(4-tuple, secret), M a timer ticking every 4 us. */
static uint32_t isn_for(uint32_t peer, uint16_t peer_port, uint16_t local_port, uint64_t now)
{
    return (uint32_t)(now / 4000u) + (uint32_t)tuple_hash(peer, peer_port, local_port);
}

/* ---- the send pool ------------------------------------------------------- */

static uint32_t block_alloc(void)
{
    uint32_t b = tcp.pool_free;
    tcp.pool_free = tcp.cfg.pool[b].next;
    tcp.cfg.pool[b].next = TCP_NO_BLOCK;
    tcp.pool_free_count--;
    return b;
}

static void block_free(uint32_t b)
{
    tcp.cfg.pool[b].next = tcp.pool_free;
    tcp.pool_free = b;
    tcp.pool_free_count++;
}

static void sq_clear(struct tcp_conn *c)
{
    while (c->sq_head != TCP_NO_BLOCK) {
        uint32_t next = tcp.cfg.pool[c->sq_head].next;
        block_free(c->sq_head);
        c->sq_head = next;
    }
    c->sq_tail = TCP_NO_BLOCK;
    c->sq_head_off = c->sq_blocks = c->sq_len = 0;
    c->sq_cache_block = TCP_NO_BLOCK;
}

/* Room in the queue: what fits in the tail block plus every free block. */
static size_t sq_space(const struct tcp_conn *c)
{
    size_t used = (size_t)c->sq_head_off + c->sq_len;
    size_t tail_room = c->sq_blocks == 0 ? 0 : (size_t)c->sq_blocks * TCP_BLOCK - used;
    return tail_room + tcp.pool_free_count * TCP_BLOCK;
}

static void sq_append(struct tcp_conn *c, const uint8_t *data, size_t len)
{
    while (len > 0) {
        size_t used = (size_t)c->sq_head_off + c->sq_len;
        size_t room = (size_t)c->sq_blocks * TCP_BLOCK - used;
        if (room == 0) {
            uint32_t b = block_alloc();
            if (c->sq_tail == TCP_NO_BLOCK)
                c->sq_head = b;
            else
                tcp.cfg.pool[c->sq_tail].next = b;
            c->sq_tail = b;
            c->sq_blocks++;
            room = TCP_BLOCK;
        }
        size_t at = TCP_BLOCK - room;
        size_t n = len < room ? len : room;
        memcpy(tcp.cfg.pool[c->sq_tail].data + at, data, n);
        c->sq_len += (uint32_t)n;
        data += n;
        len -= n;
    }
}

/* Drop the first n queued bytes (acknowledged). */
static void sq_drop(struct tcp_conn *c, uint32_t n)
{
    c->sq_len -= n;
    if (c->sq_len == 0) {
        sq_clear(c);
        return;
    }
    c->sq_head_off += n;
    while (c->sq_head_off >= TCP_BLOCK) {
        uint32_t next = tcp.cfg.pool[c->sq_head].next;
        if (c->sq_cache_block == c->sq_head)
            c->sq_cache_block = TCP_NO_BLOCK;
        else if (c->sq_cache_block != TCP_NO_BLOCK)
            c->sq_cache_off -= TCP_BLOCK;
        block_free(c->sq_head);
        c->sq_head = next;
        c->sq_blocks--;
        c->sq_head_off -= TCP_BLOCK;
    }
}

/* Copy len queued bytes from queue offset off (off + len <= sq_len). */
static void sq_copy(struct tcp_conn *c, uint32_t off, uint8_t *out, size_t len)
{
    size_t pos = (size_t)c->sq_head_off + off; /* from the start of the head block */
    uint32_t b = c->sq_head;
    size_t b_pos = 0;
    if (c->sq_cache_block != TCP_NO_BLOCK && c->sq_cache_off <= pos) {
        b = c->sq_cache_block;
        b_pos = c->sq_cache_off;
    }
    while (pos - b_pos >= TCP_BLOCK) {
        b = tcp.cfg.pool[b].next;
        b_pos += TCP_BLOCK;
    }
    c->sq_cache_block = b;
    c->sq_cache_off = (uint32_t)b_pos;
    while (len > 0) {
        size_t at = pos - b_pos;
        size_t n = TCP_BLOCK - at < len ? TCP_BLOCK - at : len;
        memcpy(out, tcp.cfg.pool[b].data + at, n);
        out += n;
        len -= n;
        pos += n;
        if (pos - b_pos == TCP_BLOCK && len > 0) {
            b = tcp.cfg.pool[b].next;
            b_pos += TCP_BLOCK;
        }
    }
}

/* ---- events ---------------------------------------------------------------- */

static void push_event(enum event_kind kind, enum tcp_end why, const struct tcp_conn *c)
{
    if (tcp.ev_count == TCP_EVENT_QUEUE) {
        tcp_counters.events_lost++;
        return;
    }
    struct event *e = &tcp.events[(tcp.ev_head + tcp.ev_count) % TCP_EVENT_QUEUE];
    e->kind = (uint8_t)kind;
    e->why = (uint8_t)why;
    e->handler = c->handler;
    e->ctx = c->ctx;
    e->who = c->who;
    tcp.ev_count++;
}

/* Deliver queued events, one callback at a time (never from a callback). */
static void dispatch(void)
{
    if (tcp.depth > 0)
        return;
    while (tcp.ev_count > 0) {
        struct event e = tcp.events[tcp.ev_head];
        tcp.ev_head = (tcp.ev_head + 1) % TCP_EVENT_QUEUE;
        tcp.ev_count--;
        tcp.depth++;
        if (e.kind == EV_OPENED) {
            if (e.handler->opened)
                e.handler->opened(e.ctx, &e.who);
        } else if (e.handler->ended) {
            e.handler->ended(e.ctx, &e.who, (enum tcp_end)e.why);
        }
        tcp.depth--;
    }
}

/* ---- segment output ----------------------------------------------------------- */

struct out {
    uint32_t dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    uint16_t mss;  /* 0: no MSS option */
    int ws;        /* -1: no window-scale option */
};

/* Send one segment; len bytes of data from c's queue at offset off. */
static int emit(const struct out *o, struct tcp_conn *c, uint32_t off, size_t len)
{
    uint8_t *t = net_ip_payload();
    size_t hl = TCP_HLEN;
    if (o->mss) {
        t[hl] = OPT_MSS;
        t[hl + 1] = 4;
        put16(t + hl + 2, o->mss);
        hl += 4;
    }
    if (o->ws >= 0) {
        t[hl] = OPT_NOP;
        t[hl + 1] = OPT_WS;
        t[hl + 2] = 3;
        t[hl + 3] = (uint8_t)o->ws;
        hl += 4;
    }
    put16(t, o->sport);
    put16(t + 2, o->dport);
    put32(t + 4, o->seq);
    put32(t + 8, o->ack);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = o->flags;
    put16(t + 14, o->wnd);
    put16(t + 16, 0);
    put16(t + 18, 0);
    if (len > 0)
        sq_copy(c, off, t + hl, len);
    put16(t + 16, net_pseudo_checksum(net_address(), o->dst, IP_PROTO_TCP, t, hl + len));
    if (net_ip_send(o->dst, IP_PROTO_TCP, hl + len) != 0) {
        tcp_counters.tx_errors++;
        return -1;
    }
    tcp_counters.tx_segments++;
    return 0;
}

/* RSTs and challenge ACKs to strangers: at most REPLIES_PER_S a second. */
static bool reply_allowed(uint64_t now)
{
    if (now - tcp.reply_window >= NS_PER_S) {
        tcp.reply_window = now;
        tcp.replies = 0;
    }
    if (tcp.replies >= REPLIES_PER_S)
        return false;
    tcp.replies++;
    return true;
}

/* RFC 9293 3.10.7.1: the RST answering s when there is no connection. */
static void send_rst_for(const struct seg *s, uint64_t now)
{
    if (s->flags & TH_RST || !reply_allowed(now))
        return;
    struct out o = {s->src, s->dport, s->sport, 0, 0, TH_RST, 0, 0, -1};
    if (s->flags & TH_ACK) {
        o.seq = s->ack;
    } else {
        o.flags |= TH_ACK;
        o.ack = s->seq + s->len + (s->flags & TH_SYN ? 1u : 0u) + (s->flags & TH_FIN ? 1u : 0u);
    }
    if (emit(&o, NULL, 0, 0) == 0)
        tcp_counters.rst_sent++;
}

static uint32_t rcv_space(const struct tcp_conn *c)
{
    return tcp.cfg.rcv_buf_size - c->rb_len;
}

/* The window field for c, and remember what was advertised. */
static uint16_t window_field(struct tcp_conn *c, bool syn)
{
    uint32_t w = rcv_space(c);
    uint32_t field = syn ? min32(w, 65535u) : min32(w >> c->rcv_shift, 65535u);
    c->rcv_adv = syn ? field : field << c->rcv_shift;
    return (uint16_t)field;
}

static struct out conn_out(struct tcp_conn *c, uint32_t seq, uint8_t flags)
{
    struct out o = {c->who.peer, c->who.local_port, c->who.peer_port, seq, 0, flags, 0, 0, -1};
    if (flags & TH_ACK) {
        o.ack = c->rcv_nxt;
        c->acked_rcv_nxt = c->rcv_nxt;
        c->ack_now = c->ack_owed = false;
    }
    o.wnd = window_field(c, (flags & TH_SYN) != 0);
    return o;
}

static uint16_t our_mss(void)
{
    size_t mtu = net_mtu();
    return (uint16_t)(mtu > 40u ? mtu - 40u : DEFAULT_MSS);
}

/* The smallest shift that makes the whole receive buffer advertisable. */
static uint8_t our_shift(void)
{
    uint8_t s = 0;
    while ((tcp.cfg.rcv_buf_size >> s) > 65535u && s < WS_MAX)
        s++;
    return s;
}

static void send_syn(struct tcp_conn *c)
{
    uint8_t flags = c->state == TCP_SYN_SENT ? TH_SYN : (uint8_t)(TH_SYN | TH_ACK);
    struct out o = conn_out(c, c->iss, flags);
    o.mss = our_mss();
    o.ws = c->state == TCP_SYN_SENT || c->ws_ok ? our_shift() : -1;
    (void)emit(&o, NULL, 0, 0);
}

static void send_ack(struct tcp_conn *c)
{
    struct out o = conn_out(c, c->snd_nxt, TH_ACK);
    (void)emit(&o, NULL, 0, 0);
}

static void send_rst(struct tcp_conn *c)
{
    struct out o = conn_out(c, c->snd_nxt, TH_RST | TH_ACK);
    if (emit(&o, NULL, 0, 0) == 0)
        tcp_counters.rst_sent++;
}

/* Data (and FIN when it follows) from sequence number seq. */
static void send_data(struct tcp_conn *c, uint32_t seq, uint32_t len, bool fin)
{
    uint32_t off = seq - c->snd_una;
    uint8_t flags = TH_ACK;
    if (fin)
        flags |= TH_FIN;
    if (len > 0 && off + len == c->sq_len)
        flags |= TH_PSH;
    struct out o = conn_out(c, seq, flags);
    (void)emit(&o, c, off, len);
}

/* ---- connections ---------------------------------------------------------- */

static void conn_free(struct tcp_conn *c)
{
    sq_clear(c);
    c->state = TCP_FREE;
    c->rto_at = 0;
}

/* The connection is over: queue its last event and free its slot. */
static void conn_end(struct tcp_conn *c, enum tcp_end why)
{
    if (why == TCP_END_CLOSED)
        tcp_counters.closed++;
    else if (why == TCP_END_RESET)
        tcp_counters.reset++;
    push_event(EV_ENDED, why, c);
    conn_free(c);
}

static void conn_abort(struct tcp_conn *c)
{
    if (c->state != TCP_SYN_SENT)
        send_rst(c);
    conn_end(c, c->state == TCP_SYN_SENT ? TCP_END_FAILED : TCP_END_RESET);
}

static struct tcp_conn *conn_by_tuple(uint32_t peer, uint16_t peer_port, uint16_t local_port)
{
    for (size_t i = 0; i < tcp.cfg.max_conns; i++) {
        struct tcp_conn *c = &tcp.cfg.conns[i];
        if (c->state != TCP_FREE && c->who.peer == peer && c->who.peer_port == peer_port &&
            c->who.local_port == local_port)
            return c;
    }
    return NULL;
}

static struct tcp_conn *conn_by_id(uint32_t id)
{
    if (!tcp.up || id == 0)
        return NULL;
    for (size_t i = 0; i < tcp.cfg.max_conns; i++) {
        struct tcp_conn *c = &tcp.cfg.conns[i];
        if (c->state != TCP_FREE && c->who.id == id)
            return c;
    }
    return NULL;
}

static bool alive(const struct tcp_conn *c, uint32_t id)
{
    return c->state != TCP_FREE && c->who.id == id;
}

/* A free slot: an unused one, else the idlest connection is reset.  NULL
 * only when the one connection left is the one in a callback. */
static struct tcp_conn *conn_alloc(void)
{
    struct tcp_conn *idlest = NULL;
    for (size_t i = 0; i < tcp.cfg.max_conns; i++) {
        struct tcp_conn *c = &tcp.cfg.conns[i];
        if (c->state == TCP_FREE)
            return c;
        if (c != tcp.delivering && (idlest == NULL || c->last_progress < idlest->last_progress))
            idlest = c;
    }
    if (idlest == NULL)
        return NULL;
    tcp_counters.evicted++;
    conn_abort(idlest);
    return idlest;
}

/* A new connection in slot c, with no queue and an empty receive buffer. */
static void conn_setup(struct tcp_conn *c, uint32_t peer, uint16_t peer_port,
                       uint16_t local_port, const struct tcp_handler *h, void *ctx,
                       uint64_t now)
{
    memset(c, 0, offsetof(struct tcp_conn, rbuf)); /* keeps rbuf: its bytes need no clearing */
    if (++tcp.next_id == 0)
        tcp.next_id = 1;
    c->who = (struct tcp_peer){tcp.next_id, peer, peer_port, local_port};
    c->handler = h;
    c->ctx = ctx;
    c->sq_head = c->sq_tail = c->sq_cache_block = TCP_NO_BLOCK;
    c->rto_ns = TCP_RTO_INITIAL_NS;
    c->ssthresh = CWND_MAX;
    c->last_progress = now;
    c->mss = DEFAULT_MSS;
}

/* RFC 5681 3.1 / RFC 6928: the initial window, ten segments up to 14,600 bytes. */
static void start_window(struct tcp_conn *c)
{
    c->cwnd = min32(10u * c->mss, max32(2u * c->mss, 14600u));
}

static void to_time_wait(struct tcp_conn *c, uint64_t now)
{
    struct tw_entry *slot = NULL;
    for (unsigned i = 0; i < TCP_TIME_WAIT_MAX && slot == NULL; i++)
        if (!tcp.tw[i].used)
            slot = &tcp.tw[i];
    if (slot == NULL) { /* bounded: the one closest to expiry goes */
        slot = &tcp.tw[0];
        for (unsigned i = 1; i < TCP_TIME_WAIT_MAX; i++)
            if (tcp.tw[i].until < slot->until)
                slot = &tcp.tw[i];
        tcp_counters.time_wait_evicted++;
    }
    *slot = (struct tw_entry){true, c->who.peer_port, c->who.local_port, c->who.peer,
                              c->snd_nxt, c->rcv_nxt, now + TCP_TIME_WAIT_NS};
    conn_end(c, TCP_END_CLOSED);
}

/* RFC 6298 2.2-2.4, in nanoseconds, with clock granularity G = 1 ms. */
static void rtt_sample(struct tcp_conn *c, uint64_t r)
{
    if (c->srtt_ns == 0) {
        c->srtt_ns = r ? r : 1;
        c->rttvar_ns = r / 2;
    } else {
        uint64_t diff = c->srtt_ns > r ? c->srtt_ns - r : r - c->srtt_ns;
        c->rttvar_ns = (3 * c->rttvar_ns + diff) / 4;
        c->srtt_ns = (7 * c->srtt_ns + r) / 8;
    }
    uint64_t k = 4 * c->rttvar_ns;
    uint64_t rto = c->srtt_ns + (k > 1000000u ? k : 1000000u);
    c->rto_ns = rto < TCP_RTO_MIN_NS ? TCP_RTO_MIN_NS : rto > TCP_RTO_MAX_NS ? TCP_RTO_MAX_NS : rto;
}

/* Bytes in flight (data and FIN). */
static uint32_t flight(const struct tcp_conn *c)
{
    return c->snd_nxt - c->snd_una;
}

/* Whether our FIN should go once the queue is sent. */
static bool fin_wanted(const struct tcp_conn *c)
{
    return c->app_closed || (c->peer_fin && c->rb_len == 0 && tcp.delivering != c);
}

/* Retransmit the first unacknowledged segment (fast retransmit, partial ACK). */
static void retransmit_head(struct tcp_conn *c)
{
    uint32_t outstanding = c->snd_max - c->snd_una;
    uint32_t len = min32(min32(c->mss, outstanding), c->sq_len);
    bool fin = c->fin_sent && len == c->sq_len && outstanding > c->sq_len;
    if (len == 0 && !fin)
        return;
    c->rtt_timing = false; /* Karn: no sample from a retransmission */
    tcp_counters.segments_retransmitted++;
    send_data(c, c->snd_una, len, fin);
}

/*
 * Limited transmit (RFC 3042): on the first and the second duplicate ACK,
 * one segment of data never sent before, when the peer's window allows and
 * the flight stays within cwnd + 2 segments; cwnd itself is not changed.
 * The extra segments draw the duplicate ACKs that fast retransmit needs,
 * so a loss in a small window (a short response, a cwnd cut by an earlier
 * loss) is repaired without waiting for the retransmission timeout.
 */
static void limited_transmit(struct tcp_conn *c)
{
    uint32_t data_end = c->snd_una + c->sq_len;
    if (c->snd_nxt != c->snd_max || !seq_lt(c->snd_nxt, data_end))
        return; /* going back over sent data, or nothing new to send */
    uint32_t len = min32(data_end - c->snd_nxt, c->mss);
    uint32_t after = flight(c) + len;
    if (after > c->snd_wnd || after > c->cwnd + 2u * c->mss)
        return;
    tcp_counters.limited_transmits++;
    send_data(c, c->snd_nxt, len, false);
    c->snd_nxt += len;
    c->snd_max = c->snd_nxt;
}

/*
 * Send what the windows allow: new data from snd_nxt, then our FIN when it
 * is wanted; an owed ACK rides on the first segment or goes alone.
 */
static void output(struct tcp_conn *c, uint64_t now)
{
    if (c->state == TCP_FREE)
        return;
    if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
        if (c->ack_now && c->state == TCP_SYN_RECEIVED)
            send_syn(c);
        c->ack_now = false;
        return;
    }
    for (unsigned guard = 0; guard < 4096u; guard++) {
        uint32_t data_end = c->snd_una + c->sq_len;
        uint32_t unsent = seq_lt(c->snd_nxt, data_end) ? data_end - c->snd_nxt : 0;
        uint32_t wnd = min32(c->snd_wnd, c->cwnd);
        uint32_t usable = wnd > flight(c) ? wnd - flight(c) : 0;
        if (unsent > 0) {
            uint32_t len = min32(min32(unsent, c->mss), usable);
            /* Sender-side silly window avoidance (RFC 9293 3.8.6.2.1): a
             * short segment only when it is the rest, or nothing is in flight. */
            if (len == 0 || (len < c->mss && len < unsent && flight(c) > 0))
                break;
            bool fin = len == unsent && fin_wanted(c) && len < usable;
            send_data(c, c->snd_nxt, len, fin);
            if (!c->rtt_timing) {
                c->rtt_timing = true;
                c->rtt_seq = c->snd_nxt + len;
                c->rtt_start = now;
            }
            c->snd_nxt += len;
            if (fin) {
                c->fin_sent = true;
                c->snd_nxt++;
            }
            if (seq_lt(c->snd_max, c->snd_nxt))
                c->snd_max = c->snd_nxt;
        } else if (fin_wanted(c) && !c->fin_sent && c->snd_nxt == data_end) {
            send_data(c, c->snd_nxt, 0, true);
            c->fin_sent = true;
            c->snd_nxt++;
            if (seq_lt(c->snd_max, c->snd_nxt))
                c->snd_max = c->snd_nxt;
        } else {
            break;
        }
        if (c->fin_sent && c->state == TCP_ESTABLISHED)
            c->state = TCP_FIN_WAIT_1;
        else if (c->fin_sent && c->state == TCP_CLOSE_WAIT)
            c->state = TCP_LAST_ACK;
        if (c->rto_at == 0 || c->persisting) {
            c->persisting = false;
            c->rto_at = now + c->rto_ns;
        }
    }
    if (c->ack_now)
        send_ack(c);
    /* Zero window, data waiting, nothing in flight: the persist timer. */
    uint32_t data_end = c->snd_una + c->sq_len;
    if (c->snd_wnd == 0 && seq_lt(c->snd_nxt, data_end) && flight(c) == 0 && c->rto_at == 0) {
        c->persisting = true;
        c->rto_at = now + c->rto_ns;
    }
}

/* ---- receiving data -------------------------------------------------------------- */

/* Take the out-of-order ranges that now touch the in-order data. */
static void ooo_absorb(struct tcp_conn *c, uint32_t advanced)
{
    bool again = true;
    while (again) {
        again = false;
        unsigned k = 0;
        for (unsigned i = 0; i < c->ooo_count; i++) {
            struct tcp_range r = c->ooo[i];
            r.start = r.start > advanced ? r.start - advanced : 0;
            r.end = r.end > advanced ? r.end - advanced : 0;
            if (r.end == 0)
                continue; /* wholly behind rcv_nxt now */
            c->ooo[k++] = r;
        }
        c->ooo_count = (uint8_t)k;
        advanced = 0;
        for (unsigned i = 0; i < c->ooo_count; i++) {
            if (c->ooo[i].start == 0) {
                advanced = c->ooo[i].end;
                c->rcv_nxt += advanced;
                c->rb_len += advanced;
                again = true;
                break;
            }
        }
    }
}

/*
 * Record [start, end) as held out of order; false when there is no room.
 * The ranges are kept disjoint and never touching, so one pass that merges
 * every range overlapping or touching the growing union is enough.
 */
static bool ooo_add(struct tcp_conn *c, uint32_t start, uint32_t end)
{
    unsigned k = 0;
    for (unsigned i = 0; i < c->ooo_count; i++) {
        struct tcp_range r = c->ooo[i];
        if (r.start <= end && r.end >= start) {
            start = min32(start, r.start);
            end = max32(end, r.end);
        } else {
            c->ooo[k++] = r;
        }
    }
    if (k == TCP_OOO_RANGES)
        return false; /* nothing merged and no free range: the table is as it was */
    c->ooo[k++] = (struct tcp_range){start, end};
    c->ooo_count = (uint8_t)k;
    return true;
}

/* Put the segment's text (RFC 9293 3.10.7.4, seventh step) into rbuf. */
static void place(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len,
                  uint64_t now)
{
    int32_t off = (int32_t)(seq - c->rcv_nxt);
    if (off < 0) { /* starts before rcv_nxt: the old part is a duplicate */
        uint32_t skip = (uint32_t)-off;
        if (skip >= len) {
            c->ack_now = true;
            return;
        }
        data += skip;
        len -= skip;
        off = 0;
    }
    uint32_t space = rcv_space(c);
    if ((uint32_t)off >= space) {
        c->ack_now = true;
        return;
    }
    if (len > space - (uint32_t)off)
        len = space - (uint32_t)off;
    if (c->app_closed) { /* input after close is acknowledged and dropped */
        if (off == 0) {
            c->rcv_nxt += len;
            c->last_progress = now;
        }
        c->ack_now = true;
        return;
    }
    memcpy(c->rbuf + c->rb_len + (uint32_t)off, data, len);
    if (off == 0) {
        bool filled_hole = c->ooo_count > 0;
        c->rcv_nxt += len;
        c->rb_len += len;
        ooo_absorb(c, len);
        c->last_progress = now;
        /* RFC 5681 4.2: ACK at once when a hole fills, else at least every
         * second full segment; otherwise by the end of this poll. */
        if (filled_hole || c->rcv_nxt - c->acked_rcv_nxt >= 2u * c->mss)
            c->ack_now = true;
        else
            c->ack_owed = true;
        return;
    }
    if (ooo_add(c, (uint32_t)off, (uint32_t)off + len))
        tcp_counters.ooo_held++;
    else
        tcp_counters.ooo_dropped++;
    c->ack_now = true; /* a duplicate ACK tells the sender about the hole */
}

/* Hand in-order input to the application while the send queue is short. */
static void deliver(struct tcp_conn *c, uint64_t now)
{
    uint32_t id = c->who.id;
    while (alive(c, id) && c->rb_len > 0 && !c->app_closed && c->sq_len < TCP_DELIVER_BELOW &&
           tcp.depth == 0) {
        uint32_t n = c->rb_len;
        tcp.delivering = c;
        tcp.depth++;
        if (c->handler->data)
            c->handler->data(c->ctx, &c->who, c->rbuf, n);
        tcp.depth--;
        tcp.delivering = NULL;
        uint32_t held = 0; /* out-of-order bytes after the delivered ones */
        for (unsigned i = 0; i < c->ooo_count; i++)
            held = max32(held, c->ooo[i].end);
        if (held > 0)
            memmove(c->rbuf, c->rbuf + n, held);
        c->rb_len -= n;
        if (c->abort_pending) {
            conn_abort(c);
            return;
        }
        if (c->app_closed) {
            c->rb_len = 0;
            c->ooo_count = 0;
        }
        dispatch();
    }
    if (!alive(c, id))
        return;
    if (c->app_closed && c->rb_len > 0) {
        c->rb_len = 0;
        c->ooo_count = 0;
    }
    /* A window update when the window grew by a useful amount (RFC 9293 3.8.6.2.2). */
    uint32_t space = rcv_space(c);
    if (space > c->rcv_adv && space - c->rcv_adv >= min32(tcp.cfg.rcv_buf_size / 2u, 2u * c->mss))
        c->ack_now = true;
    output(c, now);
}

/* ---- segment input ----------------------------------------------------------------- */

/* RFC 9293 3.10.7.4, first step: is the sequence number acceptable? */
static bool acceptable(const struct tcp_conn *c, const struct seg *s)
{
    uint32_t wnd = rcv_space(c);
    uint32_t seg_len = s->len + (s->flags & TH_SYN ? 1u : 0u) + (s->flags & TH_FIN ? 1u : 0u);
    uint32_t rel = s->seq - c->rcv_nxt;
    if (seg_len == 0)
        return wnd == 0 ? s->seq == c->rcv_nxt : rel < wnd;
    if (wnd == 0)
        return false;
    uint32_t last = s->seq + seg_len - 1 - c->rcv_nxt;
    return rel < wnd || last < wnd;
}

static void challenge_ack(struct tcp_conn *c, uint64_t now)
{
    if (!reply_allowed(now))
        return;
    tcp_counters.challenge_acks++;
    send_ack(c);
}

/* The options of a SYN: MSS and window scale. */
static void take_syn_options(struct tcp_conn *c, const struct seg *s)
{
    uint16_t peer_mss = s->mss ? s->mss : DEFAULT_MSS;
    c->mss = (uint16_t)min32(peer_mss, our_mss());
    if (c->mss < 64u)
        c->mss = 64u; /* a tiny MSS option would only make us send tiny segments */
    c->ws_ok = s->ws >= 0;
    c->snd_shift = c->ws_ok ? (uint8_t)s->ws : 0;
    c->rcv_shift = c->ws_ok ? our_shift() : 0;
}

/* The ACK field of a segment on a synchronized connection (fifth step). */
static bool take_ack(struct tcp_conn *c, const struct seg *s, uint64_t now)
{
    if (seq_lt(c->snd_max, s->ack)) { /* acknowledges what was never sent */
        tcp_counters.out_of_window++;
        c->ack_now = true;
        return false;
    }
    bool window_same = ((uint32_t)s->wnd << c->snd_shift) == c->snd_wnd;
    if (seq_lt(c->snd_una, s->ack)) {
        uint32_t acked = s->ack - c->snd_una;
        uint32_t data = min32(acked, c->sq_len);
        sq_drop(c, data);
        c->snd_una = s->ack;
        if (seq_lt(c->snd_nxt, c->snd_una))
            c->snd_nxt = c->snd_una;
        if (acked > data)
            c->fin_sent = true; /* the FIN is acknowledged (snd_una is past it) */
        if (c->rtt_timing && seq_leq(c->rtt_seq, s->ack)) {
            rtt_sample(c, now - c->rtt_start);
            c->rtt_timing = false;
        }
        c->retries = 0;
        c->persist_shift = 0;
        if (c->in_recovery) {
            if (seq_leq(c->recover, s->ack)) {
                c->in_recovery = false;
                c->cwnd = c->ssthresh;
            } else { /* RFC 6582: a partial ACK retransmits the next hole */
                retransmit_head(c);
                c->cwnd = (c->cwnd > acked ? c->cwnd - acked : 0) + c->mss;
            }
        } else if (c->cwnd < c->ssthresh) {
            c->cwnd = min32(c->cwnd + min32(acked, c->mss), CWND_MAX);
        } else {
            c->cwnd = min32(c->cwnd + max32(1u, (uint32_t)((uint64_t)c->mss * c->mss / c->cwnd)),
                            CWND_MAX);
        }
        c->dupacks = 0;
        c->persisting = false;
        c->rto_at = c->snd_una == c->snd_max ? 0 : now + c->rto_ns;
        c->last_progress = now;
    } else if (s->ack == c->snd_una && s->len == 0 && !(s->flags & (TH_SYN | TH_FIN)) &&
               window_same && c->snd_wnd > 0 && c->snd_max != c->snd_una) {
        /* RFC 5681 3.2: a duplicate ACK */
        c->dupacks++;
        if (c->dupacks == 3 && !c->in_recovery) {
            c->ssthresh = max32(flight(c) / 2u, 2u * c->mss);
            tcp_counters.fast_retransmits++;
            retransmit_head(c);
            c->cwnd = c->ssthresh + 3u * c->mss;
            c->in_recovery = true;
            c->recover = c->snd_max;
        } else if (c->in_recovery) {
            c->cwnd = min32(c->cwnd + c->mss, CWND_MAX);
        } else if (c->dupacks < 3) {
            limited_transmit(c);
        }
    }
    /* RFC 9293 3.10.7.4: the send window, from the newest segment only. */
    if (seq_lt(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && seq_leq(c->snd_wl2, s->ack))) {
        c->snd_wnd = (uint32_t)s->wnd << c->snd_shift;
        c->snd_wl1 = s->seq;
        c->snd_wl2 = s->ack;
    }
    return true;
}

/* A segment for a connection in a synchronized state (or SYN_RECEIVED). */
static void conn_input(struct tcp_conn *c, const struct seg *s, uint64_t now)
{
    uint32_t id = c->who.id;
    if (!acceptable(c, s)) {
        tcp_counters.out_of_window++;
        if (!(s->flags & TH_RST)) {
            c->ack_now = true;
            output(c, now);
        }
        return;
    }
    if (s->flags & TH_RST) { /* RFC 5961 3.2: only an exact RST resets */
        if (s->seq == c->rcv_nxt) {
            tcp_counters.rst_received++;
            conn_end(c, TCP_END_RESET);
        } else {
            challenge_ack(c, now);
        }
        return;
    }
    if (s->flags & TH_SYN) { /* RFC 5961 4.2 */
        challenge_ack(c, now);
        return;
    }
    if (!(s->flags & TH_ACK))
        return;
    if (c->state == TCP_SYN_RECEIVED) {
        if (!seq_lt(c->snd_una, s->ack) || seq_lt(c->snd_max, s->ack)) {
            send_rst_for(s, now);
            return;
        }
        c->state = TCP_ESTABLISHED;
        c->snd_una = c->iss + 1; /* our SYN is acknowledged; queue byte 0 follows it */
        if (seq_lt(c->snd_nxt, c->snd_una))
            c->snd_nxt = c->snd_una;
        c->snd_wnd = (uint32_t)s->wnd << c->snd_shift;
        c->snd_wl1 = s->seq;
        c->snd_wl2 = s->ack;
        tcp_counters.opened_active++;
        push_event(EV_OPENED, TCP_END_CLOSED, c);
    }
    if (!take_ack(c, s, now)) {
        output(c, now);
        return;
    }
    bool fin_acked = c->fin_sent && c->snd_una == c->snd_max && c->sq_len == 0;
    switch (c->state) {
    case TCP_FIN_WAIT_1:
        if (fin_acked)
            c->state = TCP_FIN_WAIT_2;
        break;
    case TCP_CLOSING:
        if (fin_acked) {
            to_time_wait(c, now);
            return;
        }
        break;
    case TCP_LAST_ACK:
        if (fin_acked) {
            conn_end(c, TCP_END_CLOSED);
            return;
        }
        break;
    default:
        break;
    }
    bool text_ok = c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
                   c->state == TCP_FIN_WAIT_2;
    if (s->len > 0) {
        if (text_ok)
            place(c, s->seq, s->data, s->len, now);
        else
            c->ack_now = true; /* after the peer's FIN: nothing more can come */
    }
    if (s->flags & TH_FIN) {
        if (!text_ok || c->peer_fin) {
            c->ack_now = true; /* a retransmitted FIN */
        } else if (s->seq + s->len == c->rcv_nxt) {
            c->rcv_nxt++;
            c->peer_fin = true;
            c->ack_now = true;
            c->last_progress = now;
            if (c->state == TCP_ESTABLISHED) {
                c->state = TCP_CLOSE_WAIT;
            } else if (c->state == TCP_FIN_WAIT_1) {
                if (fin_acked) {
                    send_ack(c);
                    to_time_wait(c, now);
                    return;
                }
                c->state = TCP_CLOSING;
            } else {
                send_ack(c);
                to_time_wait(c, now);
                return;
            }
        } /* a FIN beyond a hole waits for its retransmission */
    }
    dispatch();
    if (!alive(c, id))
        return;
    deliver(c, now);
}

/* A segment for a connection in SYN_SENT (RFC 9293 3.10.7.3). */
static void syn_sent_input(struct tcp_conn *c, const struct seg *s, uint64_t now)
{
    bool ack = (s->flags & TH_ACK) != 0;
    if (ack && (seq_leq(s->ack, c->iss) || seq_lt(c->snd_max, s->ack))) {
        tcp_counters.out_of_window++;
        send_rst_for(s, now);
        return;
    }
    if (s->flags & TH_RST) {
        if (ack) {
            tcp_counters.rst_received++;
            tcp_counters.failed_active++;
            conn_end(c, TCP_END_FAILED);
        }
        return;
    }
    if (!(s->flags & TH_SYN))
        return;
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    c->acked_rcv_nxt = c->rcv_nxt;
    take_syn_options(c, s);
    start_window(c);
    if (!ack) { /* simultaneous open */
        c->state = TCP_SYN_RECEIVED;
        c->ack_now = true;
        output(c, now);
        return;
    }
    c->snd_una = s->ack;
    c->snd_nxt = c->snd_max = s->ack;
    c->snd_wnd = s->wnd; /* never scaled in a SYN */
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    if (c->retries == 0)
        rtt_sample(c, now - c->rtt_start);
    c->retries = 0;
    c->rto_at = 0;
    c->state = TCP_ESTABLISHED;
    c->last_progress = now;
    tcp_counters.opened_active++;
    push_event(EV_OPENED, TCP_END_CLOSED, c);
    c->ack_now = true;
    output(c, now);
    dispatch();
}

/* ---- passive opens: listeners and the SYN table ----------------------------------- */

static struct listener *listener_for(uint16_t port)
{
    for (unsigned i = 0; i < TCP_LISTENERS; i++)
        if (tcp.listeners[i].port == port)
            return &tcp.listeners[i];
    return NULL;
}

static struct syn_entry *syn_find(uint32_t peer, uint16_t peer_port, uint16_t local_port)
{
    for (unsigned i = 0; i < TCP_SYN_BACKLOG; i++) {
        struct syn_entry *e = &tcp.syn[i];
        if (e->used && e->peer == peer && e->peer_port == peer_port &&
            e->local_port == local_port)
            return e;
    }
    return NULL;
}

static void send_syn_ack(const struct syn_entry *e)
{
    struct out o = {e->peer, e->local_port, e->peer_port, e->iss, e->irs + 1,
                    TH_SYN | TH_ACK, (uint16_t)min32(tcp.cfg.rcv_buf_size, 65535u), our_mss(),
                    e->ws_ok ? our_shift() : -1};
    (void)emit(&o, NULL, 0, 0);
}

static void listen_input(struct listener *l, const struct seg *s, uint64_t now)
{
    if (s->flags & TH_RST)
        return;
    if (s->flags & TH_ACK) {
        send_rst_for(s, now);
        return;
    }
    if (!(s->flags & TH_SYN))
        return;
    tcp_counters.syn_received++;
    struct syn_entry *e = NULL;
    for (unsigned i = 0; i < TCP_SYN_BACKLOG && e == NULL; i++)
        if (!tcp.syn[i].used)
            e = &tcp.syn[i];
    if (e == NULL) { /* a full backlog: the oldest half-open entry goes */
        e = &tcp.syn[0];
        for (unsigned i = 1; i < TCP_SYN_BACKLOG; i++)
            if (tcp.syn[i].born < e->born)
                e = &tcp.syn[i];
        tcp_counters.syn_evicted++;
    }
    *e = (struct syn_entry){true, s->ws >= 0, s->ws >= 0 ? (uint8_t)s->ws : 0, 1, s->sport,
                            s->dport, s->mss ? s->mss : DEFAULT_MSS, s->src,
                            isn_for(s->src, s->sport, s->dport, now), s->seq, now, now, l};
    send_syn_ack(e);
}

static void syn_entry_input(struct syn_entry *e, const struct seg *s, uint64_t now)
{
    if (s->flags & TH_RST) {
        if (s->seq == e->irs + 1)
            e->used = false;
        return;
    }
    if (s->flags & TH_SYN) {
        if (!(s->flags & TH_ACK) && s->seq == e->irs) {
            send_syn_ack(e); /* our SYN-ACK was lost */
        } else if (!(s->flags & TH_ACK)) {
            e->used = false; /* a new attempt on the same ports */
            listen_input((struct listener *)e->listener, s, now);
        }
        return;
    }
    if (!(s->flags & TH_ACK))
        return;
    if (s->ack != e->iss + 1) {
        send_rst_for(s, now);
        return;
    }
    if (s->seq != e->irs + 1) {
        tcp_counters.out_of_window++;
        send_syn_ack(e);
        return;
    }
    struct syn_entry half = *e;
    e->used = false;
    struct tcp_conn *c = conn_alloc();
    if (c == NULL) {
        send_rst_for(s, now);
        return;
    }
    conn_setup(c, half.peer, half.peer_port, half.local_port, half.listener->handler,
               half.listener->ctx, now);
    c->state = TCP_ESTABLISHED;
    c->iss = half.iss;
    c->snd_una = c->snd_nxt = c->snd_max = half.iss + 1;
    c->irs = half.irs;
    c->rcv_nxt = c->acked_rcv_nxt = half.irs + 1;
    struct seg syn = {0};
    syn.mss = half.mss;
    syn.ws = half.ws_ok ? half.snd_shift : -1;
    take_syn_options(c, &syn);
    start_window(c);
    c->snd_wnd = (uint32_t)s->wnd << c->snd_shift;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    c->rcv_adv = tcp.cfg.rcv_buf_size;
    if (half.tries == 1)
        rtt_sample(c, now - half.sent_at);
    tcp_counters.opened_passive++;
    uint32_t id = c->who.id;
    push_event(EV_OPENED, TCP_END_CLOSED, c);
    dispatch();
    if (!alive(c, id))
        return;
    if (s->len > 0 || (s->flags & TH_FIN))
        conn_input(c, s, now);
    else
        deliver(c, now);
}

/* ---- TIME_WAIT ---------------------------------------------------------------------- */

static struct tw_entry *tw_find(uint32_t peer, uint16_t peer_port, uint16_t local_port)
{
    for (unsigned i = 0; i < TCP_TIME_WAIT_MAX; i++) {
        struct tw_entry *e = &tcp.tw[i];
        if (e->used && e->peer == peer && e->peer_port == peer_port &&
            e->local_port == local_port)
            return e;
    }
    return NULL;
}

/* RFC 9293 3.10.7.4 in TIME_WAIT; RSTs are ignored (RFC 1337). */
static void tw_input(struct tw_entry *e, const struct seg *s, uint64_t now)
{
    if (s->flags & TH_RST)
        return;
    if ((s->flags & TH_SYN) && !(s->flags & TH_ACK) && seq_lt(e->rcv_nxt, s->seq)) {
        /* RFC 9293 3.6.1: a new incarnation may start above the old numbers. */
        e->used = false;
        struct listener *l = listener_for(s->dport);
        if (l != NULL)
            listen_input(l, s, now);
        return;
    }
    if (s->len == 0 && !(s->flags & (TH_SYN | TH_FIN)))
        return;
    if (s->flags & TH_FIN)
        e->until = now + TCP_TIME_WAIT_NS;
    if (!reply_allowed(now))
        return;
    struct out o = {e->peer, e->local_port, e->peer_port, e->snd_nxt, e->rcv_nxt, TH_ACK,
                    (uint16_t)min32(tcp.cfg.rcv_buf_size, 65535u), 0, -1};
    (void)emit(&o, NULL, 0, 0);
}

/* ---- parsing ------------------------------------------------------------------------ */

enum parse { PARSED, BAD_HEADER, BAD_CHECKSUM, BAD_OPTIONS, BAD_FLAGS };

static enum parse parse(struct seg *s, uint32_t src, uint32_t dst, const uint8_t *p, size_t n)
{
    if (n < TCP_HLEN)
        return BAD_HEADER;
    size_t off = (size_t)(p[12] >> 4) * 4u;
    if (off < TCP_HLEN || off > n)
        return BAD_HEADER;
    if (net_pseudo_checksum(src, dst, IP_PROTO_TCP, p, n) != 0)
        return BAD_CHECKSUM;
    s->src = src;
    s->dst = dst;
    s->sport = get16(p);
    s->dport = get16(p + 2);
    if (s->sport == 0 || s->dport == 0)
        return BAD_HEADER;
    s->seq = get32(p + 4);
    s->ack = get32(p + 8);
    s->flags = p[13] & 0x3fu; /* ECE and CWR are ignored: no ECN */
    s->wnd = get16(p + 14);
    s->data = p + off;
    s->len = (uint32_t)(n - off);
    uint8_t f = s->flags;
    if (((f & TH_SYN) && (f & (TH_FIN | TH_RST))) || ((f & TH_RST) && (f & TH_FIN)) ||
        !(f & (TH_SYN | TH_ACK | TH_RST)))
        return BAD_FLAGS; /* no flag, FIN alone, SYN with FIN or RST, ... */
    s->mss = 0;
    s->ws = -1;
    for (size_t i = TCP_HLEN; i < off;) {
        uint8_t kind = p[i];
        if (kind == OPT_EOL)
            break;
        if (kind == OPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= off || p[i + 1] < 2 || i + p[i + 1] > off)
            return BAD_OPTIONS; /* RFC 9293 3.1: an impossible length */
        uint8_t len = p[i + 1];
        if (kind == OPT_MSS && len == 4 && (f & TH_SYN))
            s->mss = get16(p + i + 2);
        else if (kind == OPT_WS && len == 3 && (f & TH_SYN))
            s->ws = p[i + 2] > WS_MAX ? (int)WS_MAX : p[i + 2]; /* RFC 7323 2.3 */
        i += len;
    }
    return PARSED;
}

static void tcp_input(uint32_t src, uint32_t dst, bool to_broadcast, const uint8_t *p,
                      size_t n, uint64_t now)
{
    tcp_counters.rx_segments++;
    if (to_broadcast) { /* RFC 1122 4.2.3.10 */
        tcp_counters.bad_address++;
        return;
    }
    struct seg s;
    switch (parse(&s, src, dst, p, n)) {
    case PARSED:
        break;
    case BAD_HEADER:
        tcp_counters.bad_header++;
        return;
    case BAD_CHECKSUM:
        tcp_counters.bad_checksum++;
        return;
    case BAD_OPTIONS:
        tcp_counters.bad_options++;
        return;
    case BAD_FLAGS:
        tcp_counters.bad_flags++;
        return;
    }
    struct tcp_conn *c = conn_by_tuple(s.src, s.sport, s.dport);
    if (c != NULL) {
        if (c->state == TCP_SYN_SENT)
            syn_sent_input(c, &s, now);
        else
            conn_input(c, &s, now);
    } else {
        struct tw_entry *tw = tw_find(s.src, s.sport, s.dport);
        struct syn_entry *half = tw ? NULL : syn_find(s.src, s.sport, s.dport);
        struct listener *l = tw || half ? NULL : listener_for(s.dport);
        if (tw != NULL) {
            tw_input(tw, &s, now);
        } else if (half != NULL) {
            syn_entry_input(half, &s, now);
        } else if (l != NULL) {
            listen_input(l, &s, now);
        } else {
            tcp_counters.no_connection++;
            send_rst_for(&s, now);
        }
    }
    dispatch();
}

/* ---- timers ----------------------------------------------------------------------- */

static void on_rto(struct tcp_conn *c, uint64_t now)
{
    c->rto_at = 0;
    if (c->persisting) { /* RFC 9293 3.8.6.1: probe the zero window with one byte */
        c->persisting = false;
        uint32_t data_end = c->snd_una + c->sq_len;
        if (c->snd_wnd == 0 && seq_lt(c->snd_nxt, data_end)) {
            tcp_counters.window_probes++;
            send_data(c, c->snd_nxt, 1, false);
            if (seq_lt(c->snd_max, c->snd_nxt + 1))
                c->snd_max = c->snd_nxt + 1; /* so that an ACK of the byte is acceptable */
            if (c->persist_shift < 16)
                c->persist_shift++;
            uint64_t wait = c->rto_ns << c->persist_shift;
            c->persisting = true;
            c->rto_at = now + (wait < TCP_PERSIST_MAX_NS ? wait : TCP_PERSIST_MAX_NS);
        } else {
            output(c, now);
        }
        return;
    }
    c->retries++;
    c->rto_ns = c->rto_ns * 2 < TCP_RTO_MAX_NS ? c->rto_ns * 2 : TCP_RTO_MAX_NS; /* RFC 6298 5.5 */
    c->rtt_timing = false;
    tcp_counters.retransmit_timeouts++;
    if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
        if (c->retries > TCP_SYN_RETRIES) {
            if (c->state == TCP_SYN_SENT)
                tcp_counters.failed_active++;
            conn_abort(c);
            return;
        }
        send_syn(c);
        c->rto_at = now + c->rto_ns;
        return;
    }
    if (c->retries > TCP_MAX_RETRIES) {
        conn_abort(c);
        return;
    }
    if (c->snd_una == c->snd_max)
        return; /* nothing outstanding after all */
    /* RFC 5681 3.1 (4): on a timeout, half the flight and one segment. */
    c->ssthresh = max32(flight(c) / 2u, 2u * c->mss);
    c->cwnd = c->mss;
    c->in_recovery = false;
    c->dupacks = 0;
    /* Go back to the first unacknowledged byte. */
    c->snd_nxt = c->snd_una;
    if (c->sq_len > 0 || c->fin_sent)
        tcp_counters.segments_retransmitted++;
    c->fin_sent = false;
    output(c, now);
    if (c->rto_at == 0)
        c->rto_at = now + c->rto_ns;
}

static void tcp_timers(uint64_t now)
{
    for (size_t i = 0; i < tcp.cfg.max_conns; i++) {
        struct tcp_conn *c = &tcp.cfg.conns[i];
        if (c->state == TCP_FREE)
            continue;
        if (tcp.cfg.idle_ns && now - c->last_progress >= tcp.cfg.idle_ns) {
            tcp_counters.idle_timeouts++;
            conn_abort(c);
            continue;
        }
        if (c->rto_at && now >= c->rto_at)
            on_rto(c, now);
        if (c->state != TCP_FREE && (c->ack_owed || c->ack_now))
            send_ack(c);
    }
    for (unsigned i = 0; i < TCP_SYN_BACKLOG; i++) {
        struct syn_entry *e = &tcp.syn[i];
        if (!e->used || now - e->sent_at < (TCP_RTO_INITIAL_NS << (e->tries - 1)))
            continue;
        if (e->tries > TCP_SYN_RETRIES) {
            e->used = false;
            tcp_counters.syn_dropped++;
        } else {
            e->tries++;
            e->sent_at = now;
            send_syn_ack(e);
        }
    }
    for (unsigned i = 0; i < TCP_TIME_WAIT_MAX; i++)
        if (tcp.tw[i].used && now >= tcp.tw[i].until)
            tcp.tw[i].used = false;
    dispatch();
}

static uint64_t tcp_deadline(void)
{
    uint64_t next = UINT64_MAX;
    if (tcp.ev_count > 0)
        return 0;
    for (size_t i = 0; i < tcp.cfg.max_conns; i++) {
        const struct tcp_conn *c = &tcp.cfg.conns[i];
        if (c->state == TCP_FREE)
            continue;
        if (c->ack_owed || c->ack_now)
            return 0;
        if (c->rto_at && c->rto_at < next)
            next = c->rto_at;
        if (tcp.cfg.idle_ns && c->last_progress + tcp.cfg.idle_ns < next)
            next = c->last_progress + tcp.cfg.idle_ns;
    }
    for (unsigned i = 0; i < TCP_SYN_BACKLOG; i++) {
        const struct syn_entry *e = &tcp.syn[i];
        if (!e->used)
            continue;
        uint64_t at = e->sent_at + (TCP_RTO_INITIAL_NS << (e->tries - 1));
        if (at < next)
            next = at;
    }
    return next; /* TIME_WAIT expiry needs no wakeup: it only frees an entry */
}

static const struct net_protocol tcp_protocol = {IP_PROTO_TCP, tcp_input, tcp_timers,
                                                 tcp_deadline};

/* ---- the interface ------------------------------------------------------------------ */

int tcp_init(const struct tcp_config *cfg)
{
    /* The stack must be up, not addressed: a DHCP image listens before its
     * lease comes (segments reach TCP only once it has an address). */
    if (net_mtu() == 0 || cfg->conns == NULL || cfg->max_conns == 0 || cfg->pool == NULL ||
        cfg->pool_blocks == 0 || cfg->pool_blocks >= TCP_NO_BLOCK || cfg->rcv_bufs == NULL ||
        cfg->rcv_buf_size < TCP_RCV_BUF_MIN || cfg->rcv_buf_size > TCP_RCV_BUF_MAX)
        return -1;
    memset(&tcp, 0, sizeof tcp);
    memset(&tcp_counters, 0, sizeof tcp_counters);
    tcp.cfg = *cfg;
    for (size_t i = 0; i < cfg->max_conns; i++) {
        cfg->conns[i].state = TCP_FREE;
        cfg->conns[i].sq_head = cfg->conns[i].sq_tail = TCP_NO_BLOCK;
        cfg->conns[i].rbuf = cfg->rcv_bufs + i * cfg->rcv_buf_size;
    }
    for (size_t i = 0; i < cfg->pool_blocks; i++)
        cfg->pool[i].next = i + 1 < cfg->pool_blocks ? (uint32_t)(i + 1) : TCP_NO_BLOCK;
    tcp.pool_free = 0;
    tcp.pool_free_count = cfg->pool_blocks;
    uint64_t t = platform_monotonic_ns();
    tcp.secret[0] = mix64(t ^ platform_wall_ns());
    tcp.secret[1] = mix64(tcp.secret[0] ^ (uint64_t)(uintptr_t)cfg->conns ^ t << 17);
    tcp.up = true;
    net_set_protocol(&tcp_protocol);
    return 0;
}

int tcp_listen(uint16_t port, const struct tcp_handler *h, void *ctx)
{
    if (!tcp.up || port == 0 || h == NULL || listener_for(port) != NULL)
        return -1;
    struct listener *l = listener_for(0);
    if (l == NULL)
        return -1;
    *l = (struct listener){port, h, ctx};
    return 0;
}

static bool port_in_use(uint16_t port, uint32_t dst, uint16_t dst_port)
{
    return listener_for(port) != NULL || conn_by_tuple(dst, dst_port, port) != NULL ||
           tw_find(dst, dst_port, port) != NULL;
}

uint32_t tcp_connect(uint32_t dst, uint16_t port, const struct tcp_handler *h, void *ctx)
{
    if (!tcp.up || dst == 0 || port == 0 || h == NULL || dst == net_address())
        return 0;
    uint64_t now = platform_monotonic_ns();
    uint16_t local = 0;
    uint32_t start = (uint32_t)(tuple_hash(dst, port, 0) + now / 1000u);
    for (uint32_t i = 0; i < 65536u - EPHEMERAL_FIRST && local == 0; i++) {
        uint16_t p = (uint16_t)(EPHEMERAL_FIRST + (start + i) % (65536u - EPHEMERAL_FIRST));
        if (!port_in_use(p, dst, port))
            local = p;
    }
    if (local == 0)
        return 0;
    struct tcp_conn *c = conn_alloc();
    if (c == NULL)
        return 0;
    conn_setup(c, dst, port, local, h, ctx, now);
    c->state = TCP_SYN_SENT;
    c->iss = isn_for(dst, port, local, now);
    c->snd_una = c->iss;
    c->snd_nxt = c->snd_max = c->iss + 1;
    c->rcv_adv = tcp.cfg.rcv_buf_size;
    c->rtt_start = now;
    c->rto_at = now + c->rto_ns;
    send_syn(c);
    return c->who.id;
}

/* Open for tcp_send: not closed by us, our FIN not sent, not being reset. */
static bool sendable(const struct tcp_conn *c)
{
    bool state = c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED ||
                 c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT;
    return state && !c->app_closed && !c->fin_sent && !c->abort_pending;
}

int tcp_send(uint32_t id, const uint8_t *data, size_t len)
{
    struct tcp_conn *c = conn_by_id(id);
    if (c == NULL || !sendable(c) || (data == NULL && len != 0))
        return -1;
    if (len > sq_space(c) || len > UINT32_MAX - c->sq_len) {
        tcp_counters.send_refused++;
        return -1;
    }
    sq_append(c, data, len);
    output(c, platform_monotonic_ns());
    return 0;
}

size_t tcp_send_space(uint32_t id)
{
    struct tcp_conn *c = conn_by_id(id);
    if (c == NULL || !sendable(c))
        return 0;
    return sq_space(c);
}

void tcp_close(uint32_t id)
{
    struct tcp_conn *c = conn_by_id(id);
    if (c == NULL || c->app_closed)
        return;
    c->app_closed = true;
    if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
        conn_abort(c);
        return;
    }
    if (tcp.delivering != c)
        c->rb_len = c->ooo_count = 0;
    output(c, platform_monotonic_ns());
}

void tcp_abort(uint32_t id)
{
    struct tcp_conn *c = conn_by_id(id);
    if (c == NULL)
        return;
    if (tcp.delivering == c)
        c->abort_pending = true;
    else
        conn_abort(c);
}

const struct tcp_peer *tcp_find(uint32_t id)
{
    struct tcp_conn *c = conn_by_id(id);
    return c == NULL || c->abort_pending ? NULL : &c->who;
}

const struct tcp_stats *tcp_stats(void)
{
    return &tcp_counters;
}

size_t tcp_open_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < tcp.cfg.max_conns; i++)
        n += tcp.cfg.conns[i].state != TCP_FREE;
    return n;
}

size_t tcp_syn_count(void)
{
    size_t n = 0;
    for (unsigned i = 0; i < TCP_SYN_BACKLOG; i++)
        n += tcp.syn[i].used;
    return n;
}

size_t tcp_time_wait_count(void)
{
    size_t n = 0;
    for (unsigned i = 0; i < TCP_TIME_WAIT_MAX; i++)
        n += tcp.tw[i].used;
    return n;
}
