/*
 * Host test of tcp.c (built only by tests/test_hvt_tcp.py, with the host's
 * gcc, -fsanitize=address,undefined, together with net.c).  tcp.c is
 * included whole, so its static functions and state can be looked at, on top
 * of a fake platform: a link between the stack and a test peer that
 * can drop, duplicate and reorder frames from a seeded generator, and a
 * clock the test moves.
 *
 * The peer is a small TCP of the test's own, written from RFC 9293 and
 * independent of tcp.c: go-back-N sending with a fixed retransmission
 * timeout, in-order-only receiving (anything else draws a duplicate ACK),
 * MSS and window-scale options, a receive window the test sets.  Every
 * frame the stack sends is decoded and checked (IPv4 and TCP checksums,
 * header fields, window and options) whatever the test.
 *
 * Prints "tcp host test: N checks, 0 failed" and exits 0 when all pass.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tcp.c" /* net.c is its own translation unit, as in an image */

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
#define MS 1000000ull

static const uint32_t OUR_IP = IP4(10, 0, 2, 15);
static const uint32_t PEER_IP = IP4(10, 0, 2, 100);
static const uint8_t OUR_MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t PEER_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x64};

/* ---- a seeded generator -------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* ---- the link and the fake platform -------------------------------------------------- */

struct frame {
    size_t len;
    uint64_t due; /* when it arrives */
    uint8_t data[NET_FRAME_MAX];
};

#define QUEUE 4096
struct queue {
    struct frame f[QUEUE];
    unsigned count;
};
static struct queue to_stack, to_peer;

/* Loss, duplication and reordering, in percent, for both directions. */
static unsigned drop_pct, dup_pct, reorder_pct;
static uint64_t link_delay = 1 * MS;
static uint64_t fake_now = 5000 * MS;
static uint64_t frames_dropped, frames_duplicated, frames_reordered;
static bool link_down; /* everything is dropped */
static bool peer_deaf; /* the peer ignores what it receives */
static unsigned drop_stack_frame; /* the stack's frame with this number is lost (0: none) */
static unsigned stack_frames_sent;

static void check_sent_frame(const uint8_t *f, size_t len);

static void enqueue(struct queue *q, const uint8_t *data, size_t len, bool faults)
{
    unsigned copies = 1;
    uint64_t delay = link_delay;
    if (faults) {
        if (link_down || (drop_pct && rnd() % 100 < drop_pct)) {
            frames_dropped++;
            return;
        }
        if (dup_pct && rnd() % 100 < dup_pct) {
            copies = 2;
            frames_duplicated++;
        }
        if (reorder_pct && rnd() % 100 < reorder_pct) {
            delay += (1 + rnd() % 5) * MS; /* later than the frames behind it */
            frames_reordered++;
        }
    }
    for (unsigned k = 0; k < copies; k++) {
        if (q->count == QUEUE) {
            fprintf(stderr, "test bug: link queue full\n");
            exit(2);
        }
        struct frame *f = &q->f[q->count++];
        f->len = len;
        f->due = fake_now + delay + k * MS;
        memcpy(f->data, data, len);
    }
}

/* The first due frame of q (earliest due time, then order), removed. */
static bool dequeue(struct queue *q, struct frame *out)
{
    unsigned best = QUEUE;
    for (unsigned i = 0; i < q->count; i++)
        if (q->f[i].due <= fake_now && (best == QUEUE || q->f[i].due < q->f[best].due))
            best = i;
    if (best == QUEUE)
        return false;
    *out = q->f[best];
    memmove(&q->f[best], &q->f[best + 1], (q->count - best - 1) * sizeof q->f[0]);
    q->count--;
    return true;
}

int platform_net_info(uint8_t mac[6], size_t *mtu)
{
    memcpy(mac, OUR_MAC, 6);
    *mtu = 1500;
    return 0;
}

int platform_net_write(const void *frame, size_t len)
{
    check_sent_frame(frame, len);
    stack_frames_sent++;
    if (stack_frames_sent == drop_stack_frame) {
        frames_dropped++;
        return 0;
    }
    enqueue(&to_peer, frame, len, true);
    return 0;
}

ptrdiff_t platform_net_read(void *buf, size_t cap)
{
    static struct frame f;
    if (!dequeue(&to_stack, &f))
        return 0;
    if (f.len > cap)
        return -1;
    memcpy(buf, f.data, f.len);
    return (ptrdiff_t)f.len;
}

uint64_t platform_monotonic_ns(void)
{
    return fake_now;
}

uint64_t platform_wall_ns(void)
{
    return fake_now + 1700000000ull * 1000000000ull;
}

/* ---- an independent decoder ---------------------------------------------------------- */

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

/* RFC 1071, folding as it goes. */
static uint16_t ref_sum(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 2) {
        s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0u);
        s = (s & 0xffffu) + (s >> 16);
    }
    return (uint16_t)s;
}

static uint16_t ref_tcp_checksum(uint32_t src, uint32_t dst, const uint8_t *t, size_t n)
{
    uint8_t ph[12];
    wr32(ph, src);
    wr32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = 6;
    wr16(ph + 10, (unsigned)n);
    uint32_t s = ref_sum(0, ph, 12);
    return (uint16_t)~ref_sum(s, t, n);
}

struct tseg {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    int mss, ws; /* -1: absent */
    const uint8_t *data;
    size_t len;
};

static void fail_frame(const char *why, const uint8_t *f, size_t len)
{
    failures++;
    fprintf(stderr, "sent frame (%zu bytes) is bad: %s:", len, why);
    for (size_t i = 0; i < len && i < 80; i++)
        fprintf(stderr, " %02x", f[i]);
    fprintf(stderr, "\n");
}

/* Decode an IPv4/TCP frame from the stack; false (and a failure) if it is bad. */
static bool decode(const uint8_t *f, size_t len, struct tseg *s)
{
    const uint8_t *ip = f + 14;
    size_t total = rd16(ip + 2);
    if (ip[0] != 0x45 || 14 + total > len || total < 40)
        return fail_frame("IP header", f, len), false;
    if (ref_sum(0, ip, 20) != 0xffffu)
        return fail_frame("IP checksum", f, len), false;
    const uint8_t *t = ip + 20;
    size_t n = total - 20;
    size_t off = (size_t)(t[12] >> 4) * 4;
    if (off < 20 || off > n)
        return fail_frame("data offset", f, len), false;
    if (ref_tcp_checksum(rd32(ip + 12), rd32(ip + 16), t, n) != 0)
        return fail_frame("TCP checksum", f, len), false;
    s->src = rd32(ip + 12);
    s->dst = rd32(ip + 16);
    s->sport = rd16(t);
    s->dport = rd16(t + 2);
    s->seq = rd32(t + 4);
    s->ack = rd32(t + 8);
    s->flags = t[13];
    s->wnd = rd16(t + 14);
    s->mss = s->ws = -1;
    for (size_t i = 20; i < off;) {
        if (t[i] == 0)
            break;
        if (t[i] == 1) {
            i++;
            continue;
        }
        if (i + 1 >= off || t[i + 1] < 2 || i + t[i + 1] > off)
            return fail_frame("options", f, len), false;
        if (t[i] == 2 && t[i + 1] == 4)
            s->mss = rd16(t + i + 2);
        if (t[i] == 3 && t[i + 1] == 3)
            s->ws = t[i + 2];
        i += t[i + 1];
    }
    s->data = t + off;
    s->len = n - off;
    return true;
}

static void check_sent_frame(const uint8_t *f, size_t len)
{
    checks++;
    if (len < 60 || len > NET_FRAME_MAX || memcmp(f + 6, OUR_MAC, 6) != 0)
        return fail_frame("Ethernet", f, len);
    if (rd16(f + 12) == 0x0806)
        return;
    if (rd16(f + 12) != 0x0800 || f[14 + 9] != 6)
        return fail_frame("not TCP", f, len);
    struct tseg s;
    if (!decode(f, len, &s))
        return;
    uint8_t fl = s.flags;
    if ((fl & 0x02 && fl & 0x05) || !(fl & 0x16))
        return fail_frame("flags", f, len);
    if (s.len > 1460)
        return fail_frame("segment above the MSS", f, len);
    if ((fl & 0x02) == 0 && (s.mss >= 0 || s.ws >= 0))
        return fail_frame("SYN options without SYN", f, len);
    if ((fl & 0x02) && s.mss != 1460)
        return fail_frame("MSS option", f, len);
}

/* ---- the peer ---------------------------------------------------------------------- */

#define PEER_BUF (4u << 20)

struct peer {
    uint16_t port, stack_port;
    bool listening;          /* answers a SYN (for tcp_connect) */
    bool synced, fin_in, fin_out, rst_in;
    bool send_ws;            /* offer window scaling */
    uint8_t ws_out;          /* the shift we offer */
    uint8_t stack_shift;     /* the shift the stack offered */
    bool scaling;
    uint32_t iss, snd_una, snd_nxt, rcv_nxt;
    uint32_t stack_wnd;      /* the stack's window, bytes */
    uint32_t rwnd;           /* ours, bytes */
    uint64_t last_send;      /* for go-back-N */
    uint64_t rto;
    uint8_t *out;            /* to send */
    size_t out_len;
    bool close_after;        /* FIN after out */
    uint8_t *in;             /* received */
    size_t in_len;
    unsigned dup_acks_sent, acks_in, rsts_in, segs_in;
    unsigned probes_seen;    /* segments of data while our window was 0 */
    bool syn_ack_ok;         /* the SYN-ACK had MSS and (when offered) window scale */
};

static struct peer P;

static void peer_reset(uint16_t port)
{
    uint8_t *out = P.out, *in = P.in;
    memset(&P, 0, sizeof P);
    P.out = out ? out : malloc(PEER_BUF);
    P.in = in ? in : malloc(PEER_BUF);
    if (P.out == NULL || P.in == NULL)
        exit(2);
    P.port = port;
    P.send_ws = true;
    P.ws_out = 7;
    P.rwnd = 256u * 1024u;
    P.rto = 300 * MS;
    P.iss = 0x10000000u + port * 77u;
}

/* A frame from the peer to the stack, through the link. */
static void peer_emit(uint8_t flags, uint32_t seq, const uint8_t *data, size_t len, bool syn_opts)
{
    uint8_t f[NET_FRAME_MAX];
    memcpy(f, OUR_MAC, 6);
    memcpy(f + 6, PEER_MAC, 6);
    wr16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    uint8_t *t = ip + 20;
    size_t hl = 20;
    if (syn_opts) {
        t[20] = 2;
        t[21] = 4;
        wr16(t + 22, 1460);
        hl = 24;
        if (P.send_ws) {
            t[24] = 1;
            t[25] = 3;
            t[26] = 3;
            t[27] = P.ws_out;
            hl = 28;
        }
    }
    wr16(t, P.port);
    wr16(t + 2, P.stack_port);
    wr32(t + 4, seq);
    wr32(t + 8, flags & 0x10 ? P.rcv_nxt : 0);
    t[12] = (uint8_t)(hl / 4 << 4);
    t[13] = flags;
    uint32_t w = P.rwnd;
    wr16(t + 14, (flags & 0x02) ? (w > 65535 ? 65535 : w)
                                : ((w >> (P.scaling ? P.ws_out : 0)) > 65535
                                       ? 65535
                                       : w >> (P.scaling ? P.ws_out : 0)));
    wr16(t + 16, 0);
    wr16(t + 18, 0);
    if (len > 0)
        memcpy(t + hl, data, len);
    wr16(t + 16, ref_tcp_checksum(PEER_IP, OUR_IP, t, hl + len));
    ip[0] = 0x45;
    ip[1] = 0;
    wr16(ip + 2, (unsigned)(20 + hl + len));
    wr16(ip + 4, 1);
    wr16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 6;
    wr16(ip + 10, 0);
    wr32(ip + 12, PEER_IP);
    wr32(ip + 16, OUR_IP);
    wr16(ip + 10, (uint16_t)~ref_sum(0, ip, 20));
    size_t n = 14 + 20 + hl + len;
    if (n < 60) {
        memset(f + n, 0, 60 - n);
        n = 60;
    }
    enqueue(&to_stack, f, n, true);
}

static void peer_ack(void)
{
    peer_emit(0x10, P.snd_nxt, NULL, 0, false);
}

static void peer_connect(uint16_t stack_port)
{
    P.stack_port = stack_port;
    P.snd_una = P.iss;
    P.snd_nxt = P.iss + 1;
    P.last_send = fake_now;
    peer_emit(0x02, P.iss, NULL, 0, true);
}

/* Send what the stack's window allows, go-back-N on timeout. */
static void peer_output(void)
{
    if (!P.synced || P.rst_in)
        return;
    uint32_t data_end = P.iss + 1 + (uint32_t)P.out_len;
    if (P.snd_una != P.snd_nxt && fake_now - P.last_send >= P.rto) {
        P.snd_nxt = P.snd_una; /* timeout: everything again */
        if (P.fin_out && P.snd_una == data_end + 1)
            P.snd_nxt = data_end + 1;
    }
    for (int k = 0; k < 64; k++) {
        uint32_t in_flight = P.snd_nxt - P.snd_una;
        uint32_t wnd = P.stack_wnd < 64u * 1024u ? P.stack_wnd : 64u * 1024u;
        if (seq_lt(P.snd_nxt, data_end)) {
            uint32_t left = data_end - P.snd_nxt;
            uint32_t room = wnd > in_flight ? wnd - in_flight : 0;
            uint32_t n = left < 1460 ? left : 1460;
            if (n > room)
                n = room;
            if (n == 0)
                break;
            peer_emit(0x18, P.snd_nxt, P.out + (P.snd_nxt - P.iss - 1), n, false);
            P.snd_nxt += n;
            P.last_send = fake_now;
        } else if (P.close_after && P.snd_nxt == data_end) {
            peer_emit(0x11, P.snd_nxt, NULL, 0, false);
            P.snd_nxt++;
            P.fin_out = true;
            P.last_send = fake_now;
        } else {
            break;
        }
    }
}

static void peer_input(const uint8_t *f, size_t len)
{
    if (rd16(f + 12) == 0x0806) { /* answer the stack's ARP request for us */
        const uint8_t *a = f + 14;
        if (rd16(a + 6) != 1 || rd32(a + 24) != PEER_IP)
            return;
        uint8_t r[60] = {0};
        memcpy(r, OUR_MAC, 6);
        memcpy(r + 6, PEER_MAC, 6);
        wr16(r + 12, 0x0806);
        wr16(r + 14, 1);
        wr16(r + 16, 0x0800);
        r[18] = 6;
        r[19] = 4;
        wr16(r + 20, 2);
        memcpy(r + 22, PEER_MAC, 6);
        wr32(r + 28, PEER_IP);
        memcpy(r + 32, OUR_MAC, 6);
        wr32(r + 38, OUR_IP);
        enqueue(&to_stack, r, 60, false);
        return;
    }
    struct tseg s;
    if (peer_deaf || !decode(f, len, &s) || s.dport != P.port)
        return;
    P.segs_in++;
    if (s.flags & 0x04) {
        P.rst_in = true;
        P.rsts_in++;
        return;
    }
    if (s.flags & 0x02) { /* SYN-ACK to our SYN, or a SYN to us */
        P.syn_ack_ok = s.mss == 1460 && (P.send_ws ? s.ws >= 0 : s.ws < 0);
        if (s.flags & 0x10) {
            if (s.ack != P.iss + 1)
                return;
            P.snd_una = s.ack;
        } else if (P.listening) {
            P.stack_port = s.sport;
            P.snd_una = P.iss;
            P.snd_nxt = P.iss + 1;
        } else { /* a closed port: RST, ACK */
            P.stack_port = s.sport;
            P.rcv_nxt = s.seq + 1;
            peer_emit(0x14, 0, NULL, 0, false);
            return;
        }
        P.rcv_nxt = s.seq + 1;
        P.stack_shift = s.ws >= 0 ? (uint8_t)s.ws : 0;
        P.scaling = P.send_ws && s.ws >= 0;
        P.stack_wnd = s.wnd;
        if (s.flags & 0x10) {
            P.synced = true;
            peer_ack();
        } else {
            peer_emit(0x12, P.iss, NULL, 0, true);
        }
        return;
    }
    if (!(s.flags & 0x10))
        return;
    if (!P.synced && s.ack == P.iss + 1) { /* the ACK of our SYN-ACK (listening) */
        P.synced = true;
        P.snd_una = s.ack;
    }
    P.acks_in++;
    if (seq_lt(P.snd_una, s.ack) && seq_leq(s.ack, P.snd_nxt))
        P.snd_una = s.ack;
    P.stack_wnd = (uint32_t)s.wnd << (P.scaling ? P.stack_shift : 0);
    if (s.len > 0 && P.rwnd == 0)
        P.probes_seen++;
    if (s.len > 0 || (s.flags & 0x01)) {
        uint32_t room = P.rwnd;
        if (s.seq == P.rcv_nxt && s.len <= room && P.in_len + s.len <= PEER_BUF) {
            memcpy(P.in + P.in_len, s.data, s.len);
            P.in_len += s.len;
            P.rcv_nxt += (uint32_t)s.len;
            if (s.flags & 0x01) {
                P.fin_in = true;
                P.rcv_nxt++;
            }
        } else if (s.seq == P.rcv_nxt && s.len == 0 && (s.flags & 0x01)) {
            P.fin_in = true;
            P.rcv_nxt++;
        } else {
            P.dup_acks_sent++;
        }
        peer_ack();
    }
}

/* One millisecond of the world. */
static void step(void)
{
    fake_now += 1 * MS;
    net_poll();
    struct frame f;
    while (dequeue(&to_peer, &f))
        peer_input(f.data, f.len);
    peer_output();
}

#define RUN_UNTIL(cond, max_ms)                                                       \
    do {                                                                              \
        for (unsigned _i = 0; _i < (max_ms) && !(cond); _i++)                          \
            step();                                                                   \
    } while (0)

/* ---- the application on the stack -------------------------------------------------- */

struct app {
    bool echo;             /* send back what arrives */
    bool close_on_data;    /* tcp_close after the first chunk */
    bool abort_on_data;    /* tcp_abort from inside data() */
    size_t reply_size;     /* send this many pattern bytes for each chunk (0: none) */
    unsigned opened, ended, closed, resets, failed;
    uint32_t last_id;
    uint8_t *in;
    size_t in_len;
    unsigned send_failures;
};

static struct app A;

static void app_opened(void *ctx, const struct tcp_peer *c)
{
    struct app *a = ctx;
    a->opened++;
    a->last_id = c->id;
    CHECK(c->peer == PEER_IP && c->id != 0);
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 7 + i / 251);
}

static void app_data(void *ctx, const struct tcp_peer *c, const uint8_t *d, size_t n)
{
    struct app *a = ctx;
    CHECK(a->in_len + n <= PEER_BUF);
    if (a->in_len + n <= PEER_BUF) {
        memcpy(a->in + a->in_len, d, n);
        a->in_len += n;
    }
    if (a->echo && tcp_send(c->id, d, n) != 0)
        a->send_failures++;
    if (a->reply_size) {
        static uint8_t big[1 << 20];
        for (size_t i = 0; i < a->reply_size && i < sizeof big; i++)
            big[i] = pattern(i);
        if (tcp_send(c->id, big, a->reply_size) != 0)
            a->send_failures++;
    }
    if (a->close_on_data)
        tcp_close(c->id);
    if (a->abort_on_data)
        tcp_abort(c->id);
}

static void app_ended(void *ctx, const struct tcp_peer *c, enum tcp_end why)
{
    struct app *a = ctx;
    (void)c;
    a->ended++;
    if (why == TCP_END_CLOSED)
        a->closed++;
    else if (why == TCP_END_RESET)
        a->resets++;
    else
        a->failed++;
}

static const struct tcp_handler app_handler = {app_opened, app_data, app_ended};

#define TEST_CONNS 8
#define TEST_BLOCKS 1536 /* 3 MiB of send pool */
#define TEST_RCV_BUF 65536u /* the receive window the cases below were written for */
static struct tcp_conn conns[TEST_CONNS];
static struct tcp_block pool[TEST_BLOCKS];
static uint8_t rcv_bufs[TEST_CONNS * TEST_RCV_BUF];

static void start(size_t max_conns, uint64_t idle_ns)
{
    to_stack.count = to_peer.count = 0;
    drop_pct = dup_pct = reorder_pct = 0;
    link_down = false;
    link_delay = 1 * MS;
    frames_dropped = frames_duplicated = frames_reordered = 0;
    if (net_init(OUR_IP, 24, IP4(10, 0, 2, 2)) != 0)
        exit(2);
    memset(conns, 0, sizeof conns);
    struct tcp_config cfg = {conns, max_conns, pool, TEST_BLOCKS, idle_ns, rcv_bufs,
                             TEST_RCV_BUF};
    if (tcp_init(&cfg) != 0)
        exit(2);
    uint8_t *in = A.in;
    memset(&A, 0, sizeof A);
    A.in = in ? in : malloc(PEER_BUF);
    if (A.in == NULL)
        exit(2);
    CHECK(tcp_listen(80, &app_handler, &A) == 0);
    to_peer.count = 0; /* the ARP announcement */
}

/* A connection from the peer (port) to the stack's port 80, established. */
static void open_from_peer(uint16_t port)
{
    peer_reset(port);
    peer_connect(80);
    unsigned before = A.opened;
    RUN_UNTIL(P.synced && A.opened > before, 20000);
    CHECK(P.synced && A.opened == before + 1);
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 13 + seed + i / 509);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_handshake_and_echo(void)
{
    start(TEST_CONNS, 0);
    open_from_peer(40000);
    CHECK(P.syn_ack_ok);
    CHECK(P.scaling && P.stack_shift == our_shift());
    CHECK(tcp_open_count() == 1 && tcp_syn_count() == 0);
    const struct tcp_conn *c = &conns[0];
    CHECK(c->state == TCP_ESTABLISHED && c->mss == 1460 && c->snd_shift == 7);
    A.echo = true;
    P.out_len = 200000;
    fill_pattern(P.out, P.out_len, 1);
    RUN_UNTIL(P.in_len == P.out_len, 20000);
    CHECK(A.in_len == P.out_len && memcmp(A.in, P.out, P.out_len) == 0);
    CHECK(P.in_len == P.out_len && memcmp(P.in, P.out, P.out_len) == 0);
    CHECK(A.send_failures == 0);
    /* The peer closes: the stack finishes in order (CLOSE_WAIT, LAST_ACK). */
    P.close_after = true;
    RUN_UNTIL(A.ended == 1, 5000);
    CHECK(A.closed == 1 && P.fin_in && tcp_open_count() == 0);
    CHECK(tcp_stats()->retransmit_timeouts == 0 && tcp_stats()->bad_checksum == 0);
    /* Without window scaling on the peer's side, none on ours. */
    open_from_peer(40001);
    (void)c;
    peer_reset(40002);
    P.send_ws = false;
    peer_connect(80);
    RUN_UNTIL(P.synced, 1000);
    CHECK(P.syn_ack_ok && !P.scaling);
}

static void test_lossy_link(uint64_t seed, unsigned drop, unsigned dup, unsigned reorder)
{
    start(TEST_CONNS, 0);
    rng_state = seed;
    open_from_peer(41000);
    drop_pct = drop;
    dup_pct = dup;
    reorder_pct = reorder;
    A.echo = true;
    P.out_len = 300000;
    fill_pattern(P.out, P.out_len, (uint32_t)seed);
    RUN_UNTIL(P.in_len == P.out_len, 600000);
    CHECK(A.in_len == P.out_len && memcmp(A.in, P.out, P.out_len) == 0);
    CHECK(P.in_len == P.out_len && memcmp(P.in, P.out, P.out_len) == 0);
    P.close_after = true;
    RUN_UNTIL(A.ended == 1 && P.fin_in, 600000);
    CHECK(A.closed == 1);
    const struct tcp_stats *st = tcp_stats();
    printf("lossy link (seed %llu, %u%% drop, %u%% dup, %u%% reorder): %llu dropped, "
           "%llu duplicated, %llu reordered; stack: %llu timeouts, %llu fast retransmits, "
           "%llu out-of-order held, %llu out of window\n",
           (unsigned long long)seed, drop, dup, reorder, (unsigned long long)frames_dropped,
           (unsigned long long)frames_duplicated, (unsigned long long)frames_reordered,
           (unsigned long long)st->retransmit_timeouts, (unsigned long long)st->fast_retransmits,
           (unsigned long long)st->ooo_held, (unsigned long long)st->out_of_window);
    if (reorder || drop)
        CHECK(st->ooo_held > 0);
    if (drop)
        CHECK(st->segments_retransmitted > 0);
}

static void test_big_response_and_backpressure(void)
{
    start(TEST_CONNS, 0);
    open_from_peer(42000);
    /* Each request draws 1 MiB; the peer pipelines three. */
    A.reply_size = 1u << 20;
    P.out_len = 3;
    memcpy(P.out, "abc", 3);
    RUN_UNTIL(P.snd_una == P.iss + 4, 2000);
    RUN_UNTIL(P.in_len == A.reply_size, 60000);
    CHECK(P.in_len == A.reply_size);
    bool ok = true;
    for (size_t i = 0; i < P.in_len && ok; i++)
        ok = P.in[i] == pattern(i);
    CHECK(ok);
    /* Backpressure: the peer stops reading, the stack stops taking input. */
    P.rwnd = 0;
    P.in_len = 0;
    A.reply_size = 200000;
    P.out_len = 3 + 200000;
    fill_pattern(P.out + 3, 200000, 9);
    RUN_UNTIL(false, 20000);
    const struct tcp_conn *c = &conns[0];
    CHECK(c->sq_len >= TCP_DELIVER_BELOW);
    CHECK(c->rb_len > 0);               /* input held, not handed over */
    CHECK(P.stack_wnd < 2000);          /* the window closed on the peer */
    CHECK(tcp_stats()->window_probes > 0 && P.probes_seen > 0);
    unsigned probes = (unsigned)tcp_stats()->window_probes;
    RUN_UNTIL(false, 60000);
    CHECK(tcp_stats()->window_probes > probes); /* still probing, backing off */
    CHECK(tcp_stats()->window_probes < probes + 20);
    CHECK(tcp_open_count() == 1);
    /* The peer reads again: everything arrives, in order. */
    P.rwnd = 1u << 20;
    peer_ack(); /* a window update */
    size_t expect = A.in_len; /* delivered so far */
    RUN_UNTIL(A.in_len == 3 + 200000 && c->sq_len == 0, 200000);
    CHECK(A.in_len == 3 + 200000 && memcmp(A.in + 3, P.out + 3, 200000) == 0);
    CHECK(expect < A.in_len);
    CHECK(A.send_failures == 0);
    /* A response larger than the whole pool is refused whole, nothing queued. */
    static uint8_t huge[TEST_BLOCKS * TCP_BLOCK + 1];
    CHECK(tcp_send(c->who.id, huge, sizeof huge) == -1);
    CHECK(c->sq_len == 0 && tcp_stats()->send_refused == 1);
    CHECK(tcp_send_space(c->who.id) == (size_t)TEST_BLOCKS * TCP_BLOCK);
}

static void test_active_open(void)
{
    start(TEST_CONNS, 0);
    peer_reset(8080);
    P.listening = true;
    uint32_t id = tcp_connect(PEER_IP, 8080, &app_handler, &A);
    CHECK(id != 0);
    RUN_UNTIL(A.opened == 1 && P.synced, 5000);
    CHECK(A.opened == 1 && P.synced && P.syn_ack_ok);
    CHECK(tcp_stats()->opened_active == 1);
    const struct tcp_peer *who = tcp_find(id);
    CHECK(who != NULL && who->peer == PEER_IP && who->peer_port == 8080 &&
          who->local_port >= EPHEMERAL_FIRST);
    uint8_t msg[5000];
    fill_pattern(msg, sizeof msg, 3);
    CHECK(tcp_send(id, msg, sizeof msg) == 0);
    RUN_UNTIL(P.in_len == sizeof msg, 5000);
    CHECK(P.in_len == sizeof msg && memcmp(P.in, msg, sizeof msg) == 0);
    P.out_len = 1000;
    fill_pattern(P.out, 1000, 4);
    RUN_UNTIL(A.in_len == 1000, 5000);
    CHECK(A.in_len == 1000 && memcmp(A.in, P.out, 1000) == 0);
    /* We close first: FIN_WAIT_1, FIN_WAIT_2, then TIME_WAIT once the peer closes. */
    tcp_close(id);
    RUN_UNTIL(P.fin_in && conns[0].state != TCP_FIN_WAIT_1, 5000);
    CHECK(conns[0].state == TCP_FIN_WAIT_2);
    CHECK(tcp_send(id, msg, 1) == -1);
    P.close_after = true;
    RUN_UNTIL(A.ended == 1, 5000);
    CHECK(A.closed == 1 && tcp_time_wait_count() == 1 && tcp_open_count() == 0);
    /* A retransmitted FIN in TIME_WAIT draws an ACK. */
    unsigned acks = P.segs_in;
    peer_emit(0x11, P.snd_nxt - 1, NULL, 0, false);
    RUN_UNTIL(P.segs_in > acks, 100);
    CHECK(P.segs_in == acks + 1);
    /* TIME_WAIT ends after 2 MSL. */
    fake_now += TCP_TIME_WAIT_NS;
    step();
    CHECK(tcp_time_wait_count() == 0);

    /* Nobody listens: RST, and ended(failed). */
    peer_reset(8081);
    id = tcp_connect(PEER_IP, 8081, &app_handler, &A);
    RUN_UNTIL(A.failed == 1, 5000);
    CHECK(A.failed == 1 && tcp_open_count() == 0);
    /* Nobody answers: SYN retransmissions with backoff, then ended(failed). */
    link_down = true;
    id = tcp_connect(PEER_IP, 8082, &app_handler, &A);
    CHECK(id != 0);
    RUN_UNTIL(A.failed == 2, 200000);
    CHECK(A.failed == 2);
    CHECK(tcp_connect(0, 80, &app_handler, &A) == 0 &&
          tcp_connect(OUR_IP, 80, &app_handler, &A) == 0);
}

static void test_rst(void)
{
    start(TEST_CONNS, 0);
    open_from_peer(43000);
    /* An RST whose sequence number is in the window but not exact: challenge ACK. */
    unsigned segs = P.segs_in;
    peer_emit(0x04, P.snd_nxt + 100, NULL, 0, false);
    RUN_UNTIL(P.segs_in > segs, 100);
    CHECK(P.segs_in == segs + 1 && tcp_stats()->challenge_acks == 1 && tcp_open_count() == 1);
    /* Out of the window: ignored silently. */
    peer_emit(0x04, P.snd_nxt + 1000000, NULL, 0, false);
    RUN_UNTIL(false, 50);
    CHECK(tcp_open_count() == 1 && P.segs_in == segs + 1);
    /* A SYN on an open connection: challenge ACK too. */
    peer_emit(0x02, P.snd_nxt, NULL, 0, true);
    RUN_UNTIL(false, 50);
    CHECK(tcp_stats()->challenge_acks == 2 && tcp_open_count() == 1);
    /* The exact one resets. */
    peer_emit(0x04, P.snd_nxt, NULL, 0, false);
    RUN_UNTIL(A.ended == 1, 100);
    CHECK(A.resets == 1 && tcp_open_count() == 0 && tcp_stats()->rst_received == 1);
    /* A segment for no connection gets an RST; an RST for none gets nothing. */
    peer_reset(43001);
    P.stack_port = 81;
    peer_emit(0x02, P.iss, NULL, 0, true);
    RUN_UNTIL(P.rst_in, 100);
    CHECK(P.rst_in && tcp_stats()->no_connection == 1);
    peer_reset(43002);
    P.stack_port = 81;
    peer_emit(0x04, 5, NULL, 0, false);
    RUN_UNTIL(false, 50);
    CHECK(!P.rst_in && tcp_stats()->no_connection == 2);
    /* RST from the stack: the application aborts inside its own callback. */
    open_from_peer(43003);
    A.abort_on_data = true;
    P.out_len = 10;
    memset(P.out, 'x', 10);
    RUN_UNTIL(P.rst_in, 1000);
    CHECK(P.rst_in && A.resets == 2 && tcp_open_count() == 0);
    /* RST in every other state: SYN_SENT, FIN_WAIT_1, CLOSE_WAIT. */
    A.abort_on_data = false;
    open_from_peer(43004);
    tcp_close(A.last_id);
    link_down = true; /* so the FIN is not acknowledged */
    RUN_UNTIL(false, 10);
    link_down = false;
    CHECK(conns[0].state == TCP_FIN_WAIT_1);
    peer_emit(0x04, P.snd_nxt, NULL, 0, false);
    RUN_UNTIL(A.ended == 3, 100);
    CHECK(A.resets == 3 && tcp_open_count() == 0);
    open_from_peer(43005);
    A.echo = false;
    link_down = true;
    P.close_after = true;
    peer_output(); /* its FIN is lost... */
    link_down = false;
    peer_emit(0x11, P.snd_nxt - 1, NULL, 0, false); /* ...and sent again */
    RUN_UNTIL(conns[0].state == TCP_LAST_ACK || conns[0].state == TCP_CLOSE_WAIT, 100);
    peer_emit(0x04, P.snd_nxt, NULL, 0, false);
    RUN_UNTIL(A.ended == 4, 100);
    CHECK(A.ended == 4 && tcp_open_count() == 0);
}

static void test_retransmission_timeout(void)
{
    start(TEST_CONNS, 0);
    open_from_peer(44000);
    const struct tcp_conn *c = &conns[0];
    uint64_t rto0 = c->rto_ns;
    CHECK(rto0 >= TCP_RTO_MIN_NS && rto0 < TCP_RTO_INITIAL_NS); /* measured: ~2 ms RTT */
    link_down = true;
    uint8_t msg[100] = {0};
    CHECK(tcp_send(c->who.id, msg, sizeof msg) == 0);
    RUN_UNTIL(tcp_stats()->retransmit_timeouts == 1, 10000);
    CHECK(c->rto_ns == 2 * rto0); /* RFC 6298 5.5: backed off */
    RUN_UNTIL(A.ended == 1, 2000000);
    CHECK(A.resets == 1 && tcp_stats()->retransmit_timeouts == TCP_MAX_RETRIES + 1);
}

static void test_fast_retransmit(void)
{
    start(TEST_CONNS, 0);
    open_from_peer(45000);
    /* Drop exactly one early segment of a large response. */
    A.reply_size = 100000;
    P.out_len = 1;
    P.out[0] = 'q';
    drop_stack_frame = stack_frames_sent + 4; /* the fourth segment of the answer */
    /* Three duplicate ACKs resend it well before any timeout could. */
    RUN_UNTIL(tcp_stats()->fast_retransmits == 1, 100);
    CHECK(tcp_stats()->fast_retransmits == 1 && tcp_stats()->retransmit_timeouts == 0);
    RUN_UNTIL(P.in_len == A.reply_size, 20000);
    drop_stack_frame = 0;
    CHECK(P.in_len == A.reply_size);
}

/* RFC 3042: with a window of three segments and the first one lost, only
 * two duplicate ACKs can come back; the two new segments limited transmit
 * sends on them draw the third, and fast retransmit repairs the loss with
 * no timeout.  Without limited transmit this waits for the RTO. */
static void test_limited_transmit(void)
{
    start(TEST_CONNS, 0);
    open_from_peer(45500);
    struct tcp_conn *c = &conns[0];
    c->cwnd = 3u * c->mss; /* as after an earlier loss */
    A.reply_size = 20u * c->mss;
    P.out_len = 1;
    P.out[0] = 'q';
    drop_stack_frame = stack_frames_sent + 1; /* the first segment of the answer */
    RUN_UNTIL(tcp_stats()->fast_retransmits == 1, 100);
    CHECK(tcp_stats()->limited_transmits == 2);
    CHECK(tcp_stats()->fast_retransmits == 1 && tcp_stats()->retransmit_timeouts == 0);
    RUN_UNTIL(P.in_len == A.reply_size, 20000);
    drop_stack_frame = 0;
    CHECK(P.in_len == A.reply_size && tcp_stats()->retransmit_timeouts == 0);
}

static void test_syn_flood_and_eviction(void)
{
    start(4, 0);
    /* 1000 SYNs from 1000 ports: the backlog stays bounded, no slot is taken. */
    peer_deaf = true;
    for (unsigned i = 0; i < 1000; i++) {
        peer_reset((uint16_t)(20000 + i));
        peer_connect(80);
        if (i % 50 == 0)
            step();
    }
    RUN_UNTIL(false, 20);
    CHECK(tcp_syn_count() == TCP_SYN_BACKLOG && tcp_open_count() == 0);
    CHECK(tcp_stats()->syn_evicted == 1000 - TCP_SYN_BACKLOG);
    /* The half-open entries time out after their SYN-ACK retries. */
    RUN_UNTIL(tcp_syn_count() == 0, 100000);
    CHECK(tcp_syn_count() == 0 && tcp_stats()->syn_dropped == TCP_SYN_BACKLOG);
    peer_deaf = false;
    /* A full table: the idlest connection is reset to make room. */
    for (unsigned i = 0; i < 4; i++) {
        open_from_peer((uint16_t)(30000 + i));
        RUN_UNTIL(false, 10);
    }
    CHECK(tcp_open_count() == 4);
    uint32_t first_id = conns[0].who.id;
    open_from_peer(30010);
    CHECK(tcp_open_count() == 4 && tcp_stats()->evicted == 1 && A.resets == 1);
    CHECK(tcp_find(first_id) == NULL);
}

static void test_idle_timeout(void)
{
    start(TEST_CONNS, 2000 * MS);
    open_from_peer(46000);
    RUN_UNTIL(false, 1000);
    CHECK(tcp_open_count() == 1);
    P.out_len = 5;
    memset(P.out, 'a', 5);
    RUN_UNTIL(A.in_len == 5, 100);
    RUN_UNTIL(false, 1500); /* progress reset the clock */
    CHECK(tcp_open_count() == 1);
    RUN_UNTIL(A.ended == 1 && P.rst_in, 1000);
    CHECK(A.resets == 1 && tcp_stats()->idle_timeouts == 1 && P.rst_in);
    /* TIME_WAIT is bounded too. */
    start(TEST_CONNS, 0);
    A.close_on_data = true;
    for (unsigned i = 0; i < TCP_TIME_WAIT_MAX + 10; i++) {
        open_from_peer((uint16_t)(47000 + i));
        P.out_len = 1;
        P.out[0] = 'x';
        RUN_UNTIL(P.fin_in, 100);
        P.close_after = true;
        RUN_UNTIL(A.ended == i + 1, 100);
    }
    CHECK(A.closed == TCP_TIME_WAIT_MAX + 10);
    CHECK(tcp_time_wait_count() == TCP_TIME_WAIT_MAX && tcp_stats()->time_wait_evicted == 10);
}

/* Segments broken in one way each, counted exactly. */
static void test_bad_segments(void)
{
    start(TEST_CONNS, 0);
    open_from_peer(48000);
    struct tcp_stats before = *tcp_stats();
    uint8_t t[60];
    memset(t, 0, sizeof t);
    wr16(t, P.port);
    wr16(t + 2, 80);
    wr32(t + 4, P.snd_nxt);
    wr32(t + 8, P.rcv_nxt);
    t[12] = 5 << 4;
    t[13] = 0x10;
    wr16(t + 14, 1000);
    uint32_t src = PEER_IP, dst = OUR_IP;
#define FEED(buf, n)                                                                 \
    tcp_input(src, dst, false, buf, n, fake_now)
#define FIX(buf, n)                                                                  \
    do {                                                                             \
        wr16(buf + 16, 0);                                                           \
        wr16(buf + 16, ref_tcp_checksum(src, dst, buf, n));                          \
    } while (0)
    uint8_t b[60];
    memcpy(b, t, 20);
    FIX(b, 20);
    b[16] ^= 1;
    FEED(b, 20); /* checksum */
    memcpy(b, t, 20);
    FIX(b, 20);
    FEED(b, 19); /* short */
    memcpy(b, t, 20);
    b[12] = 4 << 4;
    FIX(b, 20);
    FEED(b, 20); /* offset below 5 */
    memcpy(b, t, 20);
    b[12] = 6 << 4;
    FIX(b, 20);
    FEED(b, 20); /* offset past the end */
    memcpy(b, t, 20);
    wr16(b, 0);
    FIX(b, 20);
    FEED(b, 20); /* source port 0 */
    static const uint8_t bad_flags[] = {0x00, 0x03, 0x06, 0x05, 0x01, 0x08, 0x20, 0x07};
    for (unsigned i = 0; i < sizeof bad_flags; i++) {
        memcpy(b, t, 20);
        b[13] = bad_flags[i];
        FIX(b, 20);
        FEED(b, 20);
    }
    static const uint8_t bad_opts[][4] = {{2, 0, 0, 0}, {2, 1, 0, 0}, {3, 5, 0, 0}, {1, 1, 1, 8}};
    for (unsigned i = 0; i < 4; i++) {
        memcpy(b, t, 20);
        b[12] = 6 << 4;
        memcpy(b + 20, bad_opts[i], 4);
        FIX(b, 24);
        FEED(b, 24);
    }
    tcp_input(src, IP4(10, 0, 2, 255), true, t, 20, fake_now); /* to a broadcast */
    /* Out of the window: data far ahead, an ACK of unsent data. */
    memcpy(b, t, 20);
    wr32(b + 4, P.snd_nxt + 0x40000000u);
    memcpy(b + 20, "zz", 2);
    FIX(b, 22);
    FEED(b, 22);
    memcpy(b, t, 20);
    wr32(b + 8, P.rcv_nxt + 0x100000u);
    FIX(b, 20);
    FEED(b, 20);
    const struct tcp_stats *st = tcp_stats();
    CHECK(st->bad_checksum == before.bad_checksum + 1);
    CHECK(st->bad_header == before.bad_header + 4);
    CHECK(st->bad_flags == before.bad_flags + sizeof bad_flags);
    CHECK(st->bad_options == before.bad_options + 4);
    CHECK(st->bad_address == before.bad_address + 1);
    CHECK(st->out_of_window == before.out_of_window + 2);
    CHECK(tcp_open_count() == 1 && A.in_len == 0);
#undef FEED
#undef FIX
}

/* 10,000 random malformed segments at a live connection and a listener,
 * each in a buffer of exactly its length; then the stack still serves. */
static void test_fuzz(unsigned iterations)
{
    start(TEST_CONNS, 0);
    rng_state = 0x5eed;
    open_from_peer(49000);
    A.echo = true;
    struct tcp_stats before = *tcp_stats();
    for (unsigned it = 0; it < iterations; it++) {
        uint8_t seg[1600];
        size_t n = 20 + rnd() % 60;
        for (size_t i = 0; i < n; i++)
            seg[i] = (uint8_t)rnd();
        switch (rnd() % 4) {
        case 0: /* to the live connection, near its numbers */
            wr16(seg, P.port);
            wr16(seg + 2, 80);
            wr32(seg + 4, P.snd_nxt + rnd() % 3000 - 1500);
            wr32(seg + 8, P.rcv_nxt + rnd() % 3000 - 1500);
            break;
        case 1: /* to the listener */
            wr16(seg, (uint16_t)(1 + rnd() % 60000));
            wr16(seg + 2, 80);
            break;
        case 2: /* a closed port */
            break;
        default: /* an option area of random lengths */
            wr16(seg, P.port);
            wr16(seg + 2, 80);
            seg[12] = (uint8_t)((5 + rnd() % 11) << 4);
            break;
        }
        if (rnd() % 2) { /* often a plausible header, so the state machine sees it */
            static const uint8_t flags[] = {0x02, 0x10, 0x11, 0x12, 0x14, 0x18, 0x04, 0x19};
            seg[12] = (uint8_t)(rnd() % 4 ? 5 << 4 : seg[12]);
            seg[13] = flags[rnd() % sizeof flags];
        }
        if (rnd() % 4 != 0) { /* usually a right checksum, so the checks behind it run */
            wr16(seg + 16, 0);
            wr16(seg + 16, ref_tcp_checksum(PEER_IP, OUR_IP, seg, n));
        }
        uint8_t *exact = malloc(n);
        if (exact == NULL)
            exit(2);
        memcpy(exact, seg, n);
        tcp_input(PEER_IP, OUR_IP, false, exact, n, fake_now);
        free(exact);
        if (it % 64 == 0)
            step();
    }
    const struct tcp_stats *st = tcp_stats();
    uint64_t dropped = (st->bad_checksum - before.bad_checksum) +
                       (st->bad_header - before.bad_header) +
                       (st->bad_flags - before.bad_flags) +
                       (st->bad_options - before.bad_options);
    printf("fuzz: %u segments, %llu dropped as malformed, %llu out of window, %llu RSTs sent\n",
           iterations, (unsigned long long)dropped,
           (unsigned long long)(st->out_of_window - before.out_of_window),
           (unsigned long long)(st->rst_sent - before.rst_sent));
    CHECK(dropped > iterations / 4);
    /* The stack still serves: a new connection echoes. */
    RUN_UNTIL(false, 3000);
    open_from_peer(49001);
    P.out_len = 3000;
    fill_pattern(P.out, 3000, 77);
    RUN_UNTIL(P.in_len == 3000, 5000);
    CHECK(P.in_len == 3000 && memcmp(P.in, P.out, 3000) == 0);
}

int main(int argc, char **argv)
{
    unsigned iterations = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000;
    test_handshake_and_echo();
    test_lossy_link(1, 5, 0, 0);
    test_lossy_link(2, 0, 5, 10);
    test_lossy_link(3, 5, 3, 10);
    test_big_response_and_backpressure();
    test_active_open();
    test_rst();
    test_retransmission_timeout();
    test_fast_retransmit();
    test_limited_transmit();
    test_syn_flood_and_eviction();
    test_idle_timeout();
    test_bad_segments();
    test_fuzz(iterations);
    printf("tcp host test: %u checks, %u failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
