/*
 * What the two run-time halves of `dns_zone` share: reading a query (header,
 * question, sections, EDNS), writing a reply's header, OPT and refusals,
 * and the size a reply must fit in.  dns_answer.c (answers precomputed at
 * compile time) and dns_resolve.c (answers decided at run time from the
 * zone's records, the unspecialized build) include it, then dns_steps.h.
 *
 * A header of static functions rather than a translation unit of its own:
 * each engine stays one unit that the compiler optimizes whole, as the
 * specialized image's packet path was measured with, and its code is what
 * it was before the generic engine existed (the specialized .hvt is
 * byte-identical).  Include it once, from one of the two engines.
 */
#ifndef SPECC_DNS_MESSAGE_H
#define SPECC_DNS_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memcpy, memcmp: lib/include/string.h on hvt, libc on unix */


enum {
    QR = 0x8000,
    AA = 0x0400,
    TC = 0x0200,
    RD = 0x0100,
    AD = 0x0020,
};

enum { NOERROR = 0, FORMERR = 1, NXDOMAIN = 3, NOTIMP = 4, REFUSED = 5, NOTAUTH = 9 };
enum { OPCODE_QUERY = 0, OPCODE_NOTIFY = 4 };
enum { TYPE_TXT = 16, TYPE_OPT = 41, TYPE_IXFR = 251, TYPE_AXFR = 252, TYPE_ANY = 255 };
enum { CLASS_IN = 1, CLASS_CH = 3, CLASS_ANY = 255 };
/* Extended DNS Errors (RFC 8914); NO_EDE: an OPT without the option. */
enum { EDE_PROHIBITED = 18, EDE_NOT_AUTHORITATIVE = 20, EDE_NOT_SUPPORTED = 21, NO_EDE = -1 };

enum {
    HEADER_LEN = 12,
    MAX_NAME = 255,
    OPT_LEN = 11,                 /* an OPT record without options */
    MAX_NSCOUNT = 64,             /* IXFR: more authority records is FORMERR */
    MINIMAL_RESPONSE_SIZE = 1232, /* NSD leaves optional records out past this, over UDP */
    SMALLEST_LIMIT = 512,
    LARGEST_PAYLOAD = 65535,
};

/* The CHAOS names NSD knows (and here refuses to tell about). */
static const uint8_t CHAOS_ID_SERVER[] = "\x02id\x06server";
static const uint8_t CHAOS_HOSTNAME_BIND[] = "\x08hostname\x04" "bind";
static const uint8_t CHAOS_VERSION_SERVER[] = "\x07version\x06server";
static const uint8_t CHAOS_VERSION_BIND[] = "\x07version\x04" "bind";

/* -- writing ------------------------------------------------------------- */

/* A reply being written into out[0 .. cap): a write that would pass the
 * end is not done and marks the reply as overflowed. */
struct writer {
    uint8_t *out;
    size_t cap;
    size_t len;
    bool overflow;
};

static void put(struct writer *w, const uint8_t *src, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (n)
        memcpy(w->out + w->len, src, n);
    w->len += n;
}

/* put() of two bytes, without its call to memcpy (a reply has eight). */
static void put_u16(struct writer *w, uint32_t value)
{
    if (w->overflow || 2 > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    w->out[w->len] = (uint8_t)(value >> 8);
    w->out[w->len + 1] = (uint8_t)value;
    w->len += 2;
}

static size_t finish(const struct writer *w)
{
    return w->overflow ? 0 : w->len;
}

/* -- reading the query ----------------------------------------------------- */

static uint32_t get_u16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

/* The parts of the query every reply needs. */
struct query {
    const uint8_t *wire;
    size_t len;
    uint32_t flags;
    uint32_t opcode;
    size_t qend;                 /* offset after the question; 0 if malformed */
    uint8_t qname[MAX_NAME];     /* the question name, ASCII lower-cased */
    size_t qname_len;
    uint32_t qtype, qclass;
};

/* The offset after the question (name, type, class), 0 if malformed: no
 * compression, label lengths within the message, the name at most 255. */
static size_t question_end(const uint8_t *q, size_t size)
{
    size_t position = HEADER_LEN;
    for (;;) {
        if (position >= size)
            return 0;
        size_t length = q[position];
        if (length == 0)
            break;
        if ((length & 0xC0) || position + length + 2 > size ||
            position + length + 2 > HEADER_LEN + MAX_NAME)
            return 0;
        position += length + 1;
    }
    position += 1;
    if (position + 4 > size)
        return 0;
    return position + 4;
}

/* Python's bytes.lower(): ASCII only, as NSD compares names.  Length bytes
 * are below 64, so never touched. */
static void lower_name(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
    }
}

/* Fills `qu` from the header and, when well-formed, the question. */
static void read_query(struct query *qu, const uint8_t *wire, size_t len)
{
    qu->wire = wire;
    qu->len = len;
    qu->flags = get_u16(wire + 2);
    qu->opcode = (qu->flags >> 11) & 0xF;
    qu->qend = question_end(wire, len);
    qu->qname_len = 0;
    qu->qtype = qu->qclass = 0;
    if (qu->qend == 0)
        return;
    qu->qname_len = qu->qend - 4 - HEADER_LEN;
    lower_name(qu->qname, wire + HEADER_LEN, qu->qname_len);
    qu->qtype = get_u16(wire + qu->qend - 4);
    qu->qclass = get_u16(wire + qu->qend - 2);
}

static uint32_t count_at(const struct query *qu, size_t offset)
{
    return get_u16(qu->wire + offset);
}

/* The offset after the RR at `position` (its owner may be compressed), 0 if
 * it does not fit in the message. */
static size_t skip_rr(const uint8_t *q, size_t size, size_t position)
{
    for (;;) {
        if (position >= size)
            return 0;
        size_t length = q[position];
        if (length == 0) {
            position += 1;
            break;
        }
        if (length & 0xC0) {
            position += 2;
            break;
        }
        position += length + 1;
    }
    if (position + 10 > size)
        return 0;
    size_t rdlength = get_u16(q + position + 8);
    position += 10 + rdlength;
    return position <= size ? position : 0;
}

/* What an OPT record says (RFC 6891). */
struct opt {
    bool ok;        /* a well-formed OPT record (owner the root, options within the rdata) */
    uint32_t udp_size;
    bool dnssec_ok; /* the DO bit (RFC 3225) */
    uint32_t version;
};

/* Reads the OPT RR at `position`.  A version other than 0 is reported
 * before its options are checked: the reply is BADVERS whatever they are. */
static struct opt parse_opt(const uint8_t *q, size_t size, size_t position)
{
    struct opt o = {false, 0, false, 0};
    if (position + OPT_LEN > size || q[position] != 0 || get_u16(q + position + 1) != TYPE_OPT)
        return o;
    uint32_t udp_size = get_u16(q + position + 3);
    uint32_t version = q[position + 6];
    bool dnssec_ok = (q[position + 7] & 0x80) != 0;
    size_t rdlength = get_u16(q + position + 9);
    position += OPT_LEN;
    if (version)
        return (struct opt){true, udp_size, dnssec_ok, version};
    size_t end = position + rdlength;
    if (end > size)
        return o;
    while (end - position >= 4) {
        position += 4 + get_u16(q + position + 2);
        if (position > end)
            return o;
    }
    if (position != end)
        return o;
    return (struct opt){true, udp_size, dnssec_ok, 0};
}

/* -- reply pieces ------------------------------------------------------------ */

/* The header: the query's ID, `flags` with `rcode` in its low bits. */
static void write_header(struct writer *w, const struct query *qu, uint32_t flags, uint32_t rcode,
                         uint32_t qdcount, uint32_t ancount, uint32_t nscount, uint32_t arcount)
{
    put(w, qu->wire, 2);
    put_u16(w, (flags & ~0xFu) | (rcode & 0xF));
    put_u16(w, qdcount);
    put_u16(w, ancount);
    put_u16(w, nscount);
    put_u16(w, arcount);
}

static size_t header_only(struct writer *w, const struct query *qu, uint32_t flags, uint32_t rcode)
{
    write_header(w, qu, flags, rcode, 0, 0, 0, 0);
    return finish(w);
}

/* Our OPT record: `max_size` advertised, DO copied, an EDE when ede >= 0. */
static void write_opt(struct writer *w, size_t max_size, bool dnssec_ok, uint8_t extended_rcode,
                      int ede)
{
    size_t payload = max_size < SMALLEST_LIMIT ? SMALLEST_LIMIT : max_size;
    if (payload > LARGEST_PAYLOAD)
        payload = LARGEST_PAYLOAD;
    const uint8_t fixed[] = {
        0, 0, TYPE_OPT, (uint8_t)(payload >> 8), (uint8_t)payload,
        extended_rcode, 0, dnssec_ok ? 0x80 : 0, 0,
        0, ede < 0 ? 0 : 6,  /* rdlength */
    };
    put(w, fixed, sizeof fixed);
    if (ede >= 0) {
        const uint8_t option[] = {0, 15, 0, 2, (uint8_t)(ede >> 8), (uint8_t)ede};
        put(w, option, sizeof option);
    }
}

/* What the reply needs to know of the query's EDNS. */
struct edns {
    bool present;
    bool dnssec_ok;
    size_t max_size;
};

/* An error reply with the question (or without, when `with_question` is
 * false), and the OPT when the query had one. */
static size_t refusal(struct writer *w, const struct query *qu, uint32_t flags, uint32_t rcode,
                      bool with_question, const struct edns *e, int ede)
{
    write_header(w, qu, flags, rcode, with_question ? 1 : 0, 0, 0, e->present ? 1 : 0);
    if (with_question)
        put(w, qu->wire + HEADER_LEN, qu->qend - HEADER_LEN);
    if (e->present)
        write_opt(w, e->max_size, e->dnssec_ok, 0, ede);
    return finish(w);
}

/* -- looking up -------------------------------------------------------------- */

/* Python's bytes order: memcmp over the common length, then the shorter first. */
static int compare_names(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c)
        return c;
    return (a_len > b_len) - (a_len < b_len);
}

/* 32-bit FNV-1a, as c_table.py's name_hash(), which placed the keys. */
static uint32_t name_hash(const uint8_t *p, size_t n)
{
    uint32_t h = 0x811C9DC5u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x01000193u;
    return h;
}

static bool is_chaos_name(const uint8_t *name, size_t len)
{
    /* sizeof counts the string's NUL, which is the root label's length byte. */
    return compare_names(name, len, CHAOS_ID_SERVER, sizeof CHAOS_ID_SERVER) == 0 ||
           compare_names(name, len, CHAOS_HOSTNAME_BIND, sizeof CHAOS_HOSTNAME_BIND) == 0 ||
           compare_names(name, len, CHAOS_VERSION_SERVER, sizeof CHAOS_VERSION_SERVER) == 0 ||
           compare_names(name, len, CHAOS_VERSION_BIND, sizeof CHAOS_VERSION_BIND) == 0;
}

static int64_t clamp_size(size_t size)
{
    return size > (size_t)INT64_MAX ? INT64_MAX : (int64_t)size;
}

/* The size the reply must fit in: over TCP the most a length prefix can
 * say, whatever the server's UDP size (which is only advertised). */
static int64_t size_limit(const struct edns *e, const struct opt *o, bool tcp)
{
    if (tcp)
        return LARGEST_PAYLOAD;
    if (!e->present)
        return SMALLEST_LIMIT;
    int64_t client = o->udp_size < SMALLEST_LIMIT ? SMALLEST_LIMIT : o->udp_size;
    int64_t server = clamp_size(e->max_size);
    if (server < SMALLEST_LIMIT)
        server = SMALLEST_LIMIT;
    return client < server ? client : server;
}

#endif
