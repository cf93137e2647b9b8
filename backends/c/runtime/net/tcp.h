/*
 * TCP (RFC 9293) over the direct IPv4 stack (net.h).
 *
 * Single thread, driven by net_poll(): segments arrive through the hook
 * tcp_init() installs in net.c, timers run at the end of each net_poll, and
 * net_deadline() tells the event loop when the next timer is due.  Nothing
 * is allocated: the connection table and the pool of send-buffer blocks are
 * arrays the caller owns (sized by compile-time constants), and so are the
 * receive buffers (tcp_config.rcv_bufs); the listener, SYN and TIME_WAIT
 * tables are static here.  net.c never names a symbol of
 * this file, so an image that does not call tcp_init() links none of it.
 *
 * What it does, and where the RFCs are followed or not: README.md.
 *
 * The application sees connections by id (never 0, unique while open) and
 * three callbacks per listener (or per tcp_connect):
 *   opened(ctx, c)            the handshake is done (c's fields are valid)
 *   data(ctx, c, p, n)        in-order bytes; p is valid during the call
 *   ended(ctx, c, why)        the last call for c: closed in order, reset
 *                             (RST, retransmission or idle timeout,
 *                             eviction) or failed (an active open that
 *                             never completed)
 * Callbacks may call every function below.  Events caused by a call made
 * inside a callback are delivered after that callback returns, never nested.
 */
#ifndef SPECC_NET_TCP_H
#define SPECC_NET_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- sizes (compile-time) ---- */

/* The receive buffer of each connection (tcp_config.rcv_buf_size) is also
 * the largest window it advertises: at least TCP_RCV_BUF_MIN, so that a
 * window holds a full segment or two, at most what window scaling can say
 * (RFC 7323 2.3: 2^14 x 65535). */
#define TCP_RCV_BUF_MIN 2048u
#define TCP_RCV_BUF_MAX (1u << 30)
#define TCP_BLOCK 2048u           /* bytes per send-pool block */
#define TCP_OOO_RANGES 8u         /* out-of-order ranges held per connection */
#define TCP_LISTENERS 8u
#define TCP_SYN_BACKLOG 64u       /* half-open passive connections; the oldest is evicted */
#define TCP_TIME_WAIT_MAX 128u    /* TIME_WAIT entries; the oldest is evicted */
#define TCP_EVENT_QUEUE 64u       /* events waiting for a callback to return */
/* New input is not handed to the application while a connection has more
 * than this many bytes waiting to be sent or acknowledged: the receive
 * buffer then fills and the window closes, which stops the peer. */
#define TCP_DELIVER_BELOW 65536u

/* ---- timing ---- */

#define TCP_RTO_INITIAL_NS 1000000000ull   /* RFC 6298 2.1 */
#define TCP_RTO_MIN_NS 200000000ull        /* RFC 6298 2.4 says 1 s; see README */
#define TCP_RTO_MAX_NS 60000000000ull
#define TCP_MAX_RETRIES 10u                /* retransmission timeouts in a row, then reset */
#define TCP_SYN_RETRIES 5u                 /* SYN or SYN-ACK retransmissions */
#define TCP_TIME_WAIT_NS 60000000000ull    /* 2 MSL with MSL = 30 s */
#define TCP_PERSIST_MAX_NS 60000000000ull

enum tcp_end { TCP_END_CLOSED, TCP_END_RESET, TCP_END_FAILED };

enum tcp_state {
    TCP_FREE,
    TCP_SYN_SENT,
    TCP_SYN_RECEIVED, /* simultaneous open only: passive half-open ones live in the SYN table */
    TCP_ESTABLISHED,
    TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_LAST_ACK,
};

/* Who a connection is with. */
struct tcp_peer {
    uint32_t id;   /* never 0; unique while the connection is open */
    uint32_t peer; /* address, host byte order */
    uint16_t peer_port, local_port;
};

struct tcp_handler {
    void (*opened)(void *ctx, const struct tcp_peer *c);
    void (*data)(void *ctx, const struct tcp_peer *c, const uint8_t *data, size_t len);
    void (*ended)(void *ctx, const struct tcp_peer *c, enum tcp_end why);
};

/* One block of the send pool. */
struct tcp_block {
    uint32_t next; /* index of the next block in its chain, or TCP_NO_BLOCK */
    uint8_t data[TCP_BLOCK];
};
#define TCP_NO_BLOCK UINT32_MAX

struct tcp_range {
    uint32_t start, end; /* offsets from rcv_nxt's place in rbuf, end exclusive */
};

/* A connection: the application's part is `who`, the rest is tcp.c's. */
struct tcp_conn {
    struct tcp_peer who;

    uint8_t state;          /* enum tcp_state */
    bool app_closed;        /* tcp_close: FIN after the queued data, input dropped */
    bool peer_fin;          /* the peer's FIN is in (rcv_nxt counts it) */
    bool fin_sent;          /* our FIN is in flight (snd_nxt counts it) */
    bool abort_pending;     /* tcp_abort from inside this connection's callback */
    bool ack_now;           /* an ACK is owed now (end of this segment's processing) */
    bool ack_owed;          /* an ACK is owed by the end of this poll (delayed ACK) */
    bool persisting;        /* rto_at is the zero-window probe timer */
    bool in_recovery;       /* fast recovery (RFC 5681 3.2, RFC 6582) */
    bool rtt_timing;
    bool ws_ok;             /* both SYNs carried window scale */
    uint8_t snd_shift, rcv_shift;
    uint8_t dupacks;
    uint8_t retries;        /* consecutive retransmission timeouts */
    uint8_t persist_shift;  /* zero-window probe backoff */
    uint8_t ooo_count;

    const struct tcp_handler *handler;
    void *ctx;

    /* send side: queue byte 0 is sequence number snd_una (after the SYN) */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2, recover, rtt_seq;
    uint32_t snd_wnd;       /* the peer's window in bytes, scaled */
    uint32_t cwnd, ssthresh;
    uint16_t mss;           /* what we send per segment */
    uint32_t sq_len;        /* bytes queued from snd_una, sent or not */
    uint32_t sq_head, sq_tail, sq_head_off, sq_blocks;
    uint32_t sq_cache_block, sq_cache_off; /* a chain position: block and its queue offset */
    uint64_t srtt_ns, rttvar_ns, rto_ns, rtt_start;
    uint64_t rto_at;        /* retransmission or persist deadline, 0: none */
    uint64_t last_progress; /* for the idle timeout and eviction */

    /* receive side */
    uint32_t irs, rcv_nxt;
    uint32_t rcv_adv;       /* the window we last advertised, unscaled bytes */
    uint32_t rb_len;        /* in-order bytes in rbuf not yet handed over */
    uint32_t acked_rcv_nxt; /* rcv_nxt as last acknowledged */
    struct tcp_range ooo[TCP_OOO_RANGES];
    uint8_t *rbuf;          /* rcv_buf_size bytes of tcp_config.rcv_bufs (last: conn_setup keeps it) */
};

struct tcp_config {
    struct tcp_conn *conns; /* the connection table */
    size_t max_conns;
    struct tcp_block *pool; /* the send pool, shared by every connection */
    size_t pool_blocks;
    uint64_t idle_ns;       /* a connection without progress this long is reset; 0: never */
    uint8_t *rcv_bufs;      /* max_conns receive buffers of rcv_buf_size bytes, back to back */
    uint32_t rcv_buf_size;  /* TCP_RCV_BUF_MIN .. TCP_RCV_BUF_MAX */
};

/* Start TCP on the stack (after net_init, possibly before the stack has an
 * address, as with DHCP): 0, or -1 when the stack is down or the
 * configuration is empty. */
int tcp_init(const struct tcp_config *cfg);

/* Accept connections on port: 0, or -1 when the table is full or the port
 * is taken or 0. */
int tcp_listen(uint16_t port, const struct tcp_handler *h, void *ctx);

/* Open a connection to dst:port; its id, or 0 when no slot could be had
 * (every connection busy in a callback) or dst cannot be reached.  The
 * outcome comes as opened then ended, or as ended(TCP_END_FAILED). */
uint32_t tcp_connect(uint32_t dst, uint16_t port, const struct tcp_handler *h, void *ctx);

/* Queue all of data on connection id: 0, or -1 when the connection is not
 * open for sending or the data does not fit (nothing is queued then). */
int tcp_send(uint32_t id, const uint8_t *data, size_t len);

/* Bytes tcp_send would take now on id (0 when closed). */
size_t tcp_send_space(uint32_t id);

/* Orderly close: FIN after the queued data; input from now on is dropped. */
void tcp_close(uint32_t id);

/* Reset the connection now (RST); ended(TCP_END_RESET) follows. */
void tcp_abort(uint32_t id);

/* The connection id, or NULL when it is not open. */
const struct tcp_peer *tcp_find(uint32_t id);

/* Counters since tcp_init. */
struct tcp_stats {
    uint64_t rx_segments;       /* segments handed to TCP */
    uint64_t bad_checksum;
    uint64_t bad_header;        /* too short, data offset below 5 or past the end, port 0 */
    uint64_t bad_options;       /* an option whose length is impossible */
    uint64_t bad_flags;         /* SYN+FIN, SYN+RST, no flags, ... */
    uint64_t bad_address;       /* to a broadcast address */
    uint64_t out_of_window;     /* unacceptable sequence numbers or acknowledgements */
    uint64_t no_connection;     /* for no connection and no listener: answered with RST */
    uint64_t rst_sent, rst_received;
    uint64_t challenge_acks;    /* RFC 5961 */
    uint64_t syn_received, syn_evicted, syn_dropped;
    uint64_t opened_passive, opened_active, failed_active;
    uint64_t closed, reset;
    uint64_t evicted;           /* connections reset to make room */
    uint64_t idle_timeouts;
    uint64_t time_wait_evicted;
    uint64_t retransmit_timeouts, fast_retransmits, segments_retransmitted;
    uint64_t limited_transmits; /* RFC 3042: new segments sent on duplicate ACKs 1 and 2 */
    uint64_t window_probes;
    uint64_t ooo_held, ooo_dropped; /* out-of-order segments kept / dropped for want of room */
    uint64_t send_refused;      /* tcp_send that did not fit */
    uint64_t events_lost;       /* the event queue was full (never, with sane sizes) */
    uint64_t tx_segments, tx_errors;
};
const struct tcp_stats *tcp_stats(void);

/* Connections in use (any state but TIME_WAIT), half-open ones, TIME_WAIT ones. */
size_t tcp_open_count(void);
size_t tcp_syn_count(void);
size_t tcp_time_wait_count(void);

#endif
