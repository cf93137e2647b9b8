/*
 * Answer one DNS message from a precomputed table: the C twin of
 * backends/python/runtime/dns_answer.py, byte for byte (the rules, after
 * NSD 4.6, are listed in that file's docstring and not repeated here).
 *
 * Each step mirrors one Python function of the same name, so the two are
 * read side by side: check the header, parse the one question, look the
 * lower-cased name up, copy the precomputed records behind the question as
 * the client sent it, relocate compression pointers, patch header and
 * EDNS, and cut with TC at the size the client can take.
 *
 * Safety: every read of the query is checked against its length, and every
 * write goes through `struct writer`, which refuses to pass `out_cap`; a
 * reply that does not fit is dropped (dns_answer returns 0) rather than
 * cut, since a cut reply would differ from the Python one.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memcpy, memcmp: lib/include/string.h on hvt, libc on unix */

#include "dns_answer.h"

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

/* The node whose key is `name`, by the hash index: probe from the name's
 * slot to the next empty one.  dns_table_valid() checks that there is one. */
static const struct dns_node *find_node(const struct dns_table *t, const uint8_t *name,
                                        size_t len)
{
    for (uint32_t i = name_hash(name, len) & t->slot_mask;; i = (i + 1) & t->slot_mask) {
        uint32_t slot = t->slots[i];
        if (slot == 0)
            return NULL;
        const struct dns_node *node = &t->nodes[slot - 1];
        if (node->name_len == len && memcmp(t->names + node->name, name, len) == 0)
            return node;
    }
}

/* map.get(qtype, fallback) over a run of `types` sorted by qtype. */
static uint32_t map_get(const struct dns_table *t, uint32_t first, uint32_t count, uint32_t qtype,
                        uint32_t fallback)
{
    size_t low = first, high = (size_t)first + count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (t->types[mid].qtype == qtype)
            return t->types[mid].answer;
        if (t->types[mid].qtype < qtype)
            low = mid + 1;
        else
            high = mid;
    }
    return fallback;
}

/* The answer index for `qname` (lower-cased wire), -1 outside the zone: the
 * node's exact answers, else the below answers of its closest ancestor. */
static int64_t lookup(const struct dns_table *t, const uint8_t *qname, size_t len, uint32_t qtype)
{
    const struct dns_node *node = find_node(t, qname, len);
    if (node)
        return map_get(t, node->exact, node->exact_count, qtype, node->exact_default);
    size_t position = 0;
    while (position < len && qname[position] != 0 && len - position > t->apex_len) {
        position += (size_t)qname[position] + 1;
        if (position >= len)
            break;
        node = find_node(t, qname + position, len - position);
        if (node)
            return map_get(t, node->below, node->below_count, qtype, node->below_default);
    }
    return -1;
}

static bool is_chaos_name(const uint8_t *name, size_t len)
{
    /* sizeof counts the string's NUL, which is the root label's length byte. */
    return compare_names(name, len, CHAOS_ID_SERVER, sizeof CHAOS_ID_SERVER) == 0 ||
           compare_names(name, len, CHAOS_HOSTNAME_BIND, sizeof CHAOS_HOSTNAME_BIND) == 0 ||
           compare_names(name, len, CHAOS_VERSION_SERVER, sizeof CHAOS_VERSION_SERVER) == 0 ||
           compare_names(name, len, CHAOS_VERSION_BIND, sizeof CHAOS_VERSION_BIND) == 0;
}

/* -- composing an answer ----------------------------------------------------- */

/* The answer to send: a table answer, or (QCLASS ANY without an answer of
 * its own) that answer cut after its answer section, with AA clear. */
struct chosen {
    const struct dns_table_answer *answer;
    bool answer_section_only;
};

static struct chosen choose(const struct dns_table *t, uint32_t index, uint32_t qclass)
{
    const struct dns_table_answer *a = &t->answers[index];
    if (qclass != CLASS_ANY)
        return (struct chosen){a, false};
    if (a->class_any >= 0)
        return (struct chosen){&t->answers[a->class_any], false};
    return (struct chosen){a, true};
}

/* Where the records are cut, the counts per kind and whether TC is due. */
struct cut {
    size_t end;
    uint32_t counts[4];
    bool truncated;
};

/* Keeps whole RRsets while they fit in `room`; an answer or authority
 * RRset that does not fit sets TC, an optional one is just left out, over
 * UDP also past MINIMAL_RESPONSE_SIZE.  Stops at the first left out. */
static struct cut cut_records(const struct dns_table *t, struct chosen c, size_t start,
                              int64_t room, bool tcp)
{
    struct cut cut = {0, {0, 0, 0, 0}, false};
    const struct dns_rrset *rrsets = t->rrsets + c.answer->rrsets;
    for (uint32_t i = 0; i < c.answer->rrset_count; i++) {
        const struct dns_rrset *r = &rrsets[i];
        if (c.answer_section_only && r->kind != 0)
            continue;
        if ((int64_t)r->end > room ||
            (r->kind >= 2 && !tcp && start + r->end > MINIMAL_RESPONSE_SIZE)) {
            cut.truncated = r->kind < 2;
            break;
        }
        cut.end = r->end;
        cut.counts[r->kind & 3] += r->count;
    }
    /* A slice, as in Python, should an RRset end past its body. */
    if (cut.end > c.answer->body_len)
        cut.end = c.answer->body_len;
    return cut;
}

/* Adds `delta` to each compression pointer listed in relocs that lies
 * within the `cut` bytes of records written at `records`. */
static void relocate(const struct dns_table *t, const struct dns_table_answer *a,
                     uint8_t *records, size_t cut, uint32_t delta)
{
    const uint32_t *relocs = t->relocs + a->relocs;
    for (uint32_t i = 0; i < a->reloc_count; i++) {
        size_t at = relocs[i];
        if (at >= cut)
            break;
        if (at + 1 >= cut)
            continue; /* a pointer cut in two: not in a table precompute.py writes */
        uint32_t pointer = (get_u16(records + at) + delta) & 0xFFFF;
        records[at] = (uint8_t)(pointer >> 8);
        records[at + 1] = (uint8_t)pointer;
    }
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

static size_t compose(struct writer *w, const struct dns_table *t, const struct query *qu,
                      uint32_t reply_flags, struct chosen c, int64_t limit, const struct edns *e,
                      bool tcp)
{
    const struct dns_table_answer *a = c.answer;
    uint32_t flags = c.answer_section_only ? a->flags & ~(uint32_t)AA : a->flags;
    size_t question_len = qu->qend - HEADER_LEN;
    size_t start = HEADER_LEN + question_len;
    int64_t room = limit - (int64_t)start - (e->present ? OPT_LEN : 0);
    struct cut cut = cut_records(t, c, start, room, tcp);
    if (cut.truncated)
        reply_flags |= TC;
    write_header(w, qu, reply_flags | (flags & 0x7FF), flags & 0xF, 1, cut.counts[0],
                 cut.counts[1] + cut.counts[2], cut.counts[3] + (e->present ? 1 : 0));
    put(w, qu->wire + HEADER_LEN, question_len);
    size_t records_at = w->len;
    put(w, t->bodies + a->body, cut.end);
    uint32_t delta = (uint32_t)(question_len - 4 - a->qlen);
    if (!w->overflow && delta)
        relocate(t, a, w->out + records_at, cut.end, delta);
    if (e->present)
        write_opt(w, e->max_size, e->dnssec_ok, 0, NO_EDE);
    return finish(w);
}

/* -- the steps of dns_answer ------------------------------------------------ */

/* QDCOUNT other than 1: FORMERR with every flag clear, except just an OPT
 * record (a DNS cookie or EDNS probe), which gets NOERROR with an OPT. */
static size_t no_single_question(struct writer *w, const struct query *qu, size_t max_size)
{
    if (count_at(qu, 4) == 0 && count_at(qu, 6) == 0 && count_at(qu, 8) == 0 &&
        count_at(qu, 10) == 1) {
        struct opt o = parse_opt(qu->wire, qu->len, HEADER_LEN);
        if (o.ok && o.version == 0) {
            write_header(w, qu, QR | (qu->flags & RD), NOERROR, 0, 0, 0, 1);
            write_opt(w, max_size, o.dnssec_ok, 0, NO_EDE);
            return finish(w);
        }
    }
    return header_only(w, qu, QR, FORMERR);
}

/* Checks the sections after the question; FORMERR unless they hold at
 * most an IXFR's SOA in authority and one OPT in additional. */
static bool read_sections(const struct query *qu, struct opt *o)
{
    uint32_t ancount = count_at(qu, 6), nscount = count_at(qu, 8), arcount = count_at(qu, 10);
    if (ancount || (nscount && qu->qtype != TYPE_IXFR) || nscount > MAX_NSCOUNT)
        return false;
    size_t position = qu->qend;
    for (uint32_t i = 0; i < nscount; i++) {
        position = skip_rr(qu->wire, qu->len, position);
        if (position == 0)
            return false;
    }
    *o = (struct opt){false, 0, false, 0};
    if (arcount) {
        *o = parse_opt(qu->wire, qu->len, position);
        if (!o->ok || arcount > 1)
            return false;
    }
    return true;
}

/* A question of a class other than IN and ANY: REFUSED, with an EDE. */
static size_t other_class(struct writer *w, const struct query *qu, uint32_t reply_flags,
                          const struct edns *e)
{
    if (qu->qclass == CLASS_CH) {
        bool known = is_chaos_name(qu->qname, qu->qname_len) &&
                     (qu->qtype == TYPE_TXT || qu->qtype == TYPE_ANY);
        return refusal(w, qu, reply_flags, REFUSED, true, e,
                       known ? EDE_PROHIBITED : EDE_NOT_SUPPORTED);
    }
    return refusal(w, qu, reply_flags, REFUSED, false, e, EDE_NOT_SUPPORTED);
}

static bool is_apex(const struct dns_table *t, const struct query *qu)
{
    return compare_names(qu->qname, qu->qname_len, t->apex, t->apex_len) == 0;
}

/* AXFR over UDP: NOTIMP; zone transfers: REFUSED at the apex, else NOTAUTH. */
static size_t transfer(struct writer *w, const struct dns_table *t, const struct query *qu,
                       uint32_t reply_flags, const struct edns *e, bool tcp)
{
    if (qu->qtype == TYPE_AXFR && !tcp)
        return refusal(w, qu, reply_flags, NOTIMP, true, e, NO_EDE);
    if (is_apex(t, qu))
        return refusal(w, qu, reply_flags, REFUSED, true, e, EDE_PROHIBITED);
    return refusal(w, qu, reply_flags, NOTAUTH, true, e, NO_EDE);
}

/* A standard query with one well-formed question. */
static size_t one_question(struct writer *w, const struct dns_table *t, const struct query *qu,
                           size_t max_size, bool tcp)
{
    uint32_t rd_only = QR | (qu->flags & RD) | (qu->opcode << 11);
    struct opt o;
    if (!read_sections(qu, &o))
        return header_only(w, qu, rd_only, FORMERR);
    struct edns e = {o.ok, o.dnssec_ok, max_size};
    uint32_t reply_flags = QR | (qu->flags & RD);
    if (o.version) {
        write_header(w, qu, reply_flags, NOERROR, 1, 0, 0, 1);
        put(w, qu->wire + HEADER_LEN, qu->qend - HEADER_LEN);
        write_opt(w, max_size, false, 1, NO_EDE); /* BADVERS: extended rcode 1 */
        return finish(w);
    }
    if (qu->qclass != CLASS_IN && qu->qclass != CLASS_ANY)
        return other_class(w, qu, reply_flags, &e);
    if (qu->qtype == TYPE_AXFR || qu->qtype == TYPE_IXFR)
        return transfer(w, t, qu, reply_flags, &e, tcp);
    int64_t found = lookup(t, qu->qname, qu->qname_len, qu->qtype);
    if (found < 0)
        return refusal(w, qu, reply_flags, REFUSED, true, &e, EDE_NOT_AUTHORITATIVE);
    struct chosen c = choose(t, (uint32_t)found, qu->qclass);
    return compose(w, t, qu, reply_flags, c, size_limit(&e, &o, tcp), &e, tcp);
}

size_t dns_answer(const struct dns_table *t, const uint8_t *query, size_t query_len,
                  uint8_t *out, size_t out_cap, size_t max_size, int tcp_flag)
{
    struct writer w = {out, out_cap, 0, false};
    bool tcp = tcp_flag < 0 ? max_size >= LARGEST_PAYLOAD : tcp_flag != 0;
    if (query_len < HEADER_LEN)
        return 0;
    struct query qu;
    read_query(&qu, query, query_len);
    if (qu.flags & QR)
        return 0;
    if (qu.opcode != OPCODE_QUERY && qu.opcode != OPCODE_NOTIFY)
        return header_only(&w, &qu, (qu.flags & ~(uint32_t)AD) | QR, NOTIMP);
    if ((qu.flags & 0xF) || qu.qend == 0)
        return header_only(&w, &qu, QR | (qu.flags & RD) | (qu.opcode << 11), FORMERR);
    if (qu.opcode == OPCODE_NOTIFY) /* no notify is accepted */
        return header_only(&w, &qu, (qu.flags & ~(uint32_t)AD) | QR,
                           is_apex(t, &qu) ? REFUSED : NXDOMAIN);
    if (count_at(&qu, 4) != 1)
        return no_single_question(&w, &qu, max_size);
    return one_question(&w, t, &qu, max_size, tcp);
}

/* -- checking a table --------------------------------------------------------- */

static bool within(uint64_t first, uint64_t count, uint64_t len)
{
    return first <= len && count <= len - first;
}

static bool map_valid(const struct dns_table *t, uint32_t first, uint32_t count, uint32_t fallback)
{
    if (!within(first, count, t->types_len) || fallback >= t->answer_count)
        return false;
    for (uint32_t i = first; i < first + count; i++) {
        if (t->types[i].answer >= t->answer_count)
            return false;
        if (i > first && t->types[i - 1].qtype >= t->types[i].qtype)
            return false;
    }
    return true;
}

static bool node_valid(const struct dns_table *t, uint32_t index)
{
    const struct dns_node *node = &t->nodes[index];
    if (!within(node->name, node->name_len, t->names_len) || node->name_len == 0)
        return false;
    if (index > 0) {
        const struct dns_node *prev = &t->nodes[index - 1];
        if (compare_names(t->names + prev->name, prev->name_len, t->names + node->name,
                          node->name_len) >= 0)
            return false;
    }
    return map_valid(t, node->exact, node->exact_count, node->exact_default) &&
           map_valid(t, node->below, node->below_count, node->below_default);
}

static bool answer_valid(const struct dns_table *t, const struct dns_table_answer *a)
{
    if (!within(a->body, a->body_len, t->bodies_len) ||
        !within(a->relocs, a->reloc_count, t->relocs_len) ||
        !within(a->rrsets, a->rrset_count, t->rrsets_len))
        return false;
    if (a->class_any < -1 || (a->class_any >= 0 && (uint32_t)a->class_any >= t->answer_count))
        return false;
    for (uint32_t i = 0; i < a->reloc_count; i++)
        if ((uint64_t)t->relocs[a->relocs + i] + 2 > a->body_len)
            return false;
    for (uint32_t i = 0; i < a->rrset_count; i++) {
        const struct dns_rrset *r = &t->rrsets[a->rrsets + i];
        if (r->kind > 3 || r->end > a->body_len)
            return false;
    }
    return true;
}

/* A power of two of slots, fewer nodes than slots (so a probe ends), every
 * slot empty or a node, and every node found at its own index. */
static bool slots_valid(const struct dns_table *t)
{
    uint64_t size = (uint64_t)t->slot_mask + 1;
    if ((size & (size - 1)) != 0 || t->node_count >= size)
        return false;
    for (uint64_t i = 0; i < size; i++)
        if (t->slots[i] > t->node_count)
            return false;
    for (uint32_t i = 0; i < t->node_count; i++) {
        const struct dns_node *node = &t->nodes[i];
        if (find_node(t, t->names + node->name, node->name_len) != node)
            return false;
    }
    return true;
}

int dns_table_valid(const struct dns_table *t)
{
    if (t->format != DNS_TABLE_FORMAT || t->apex_len == 0 || t->apex_len > MAX_NAME)
        return 0;
    for (uint32_t i = 0; i < t->node_count; i++)
        if (!node_valid(t, i))
            return 0;
    if (!slots_valid(t))
        return 0;
    for (uint32_t i = 0; i < t->answer_count; i++)
        if (!answer_valid(t, &t->answers[i]))
            return 0;
    return 1;
}
