/*
 * The steps of answering one message, shared by the two run-time halves of
 * `dns_zone` (see dns_message.h): check the header, the question, the
 * sections and EDNS, refuse what is not a standard query for this zone, and
 * hand the rest to the engine.  The including file defines, before it:
 *
 *   DNS_ZONE   the engine's zone type, with `apex` and `apex_len` (the
 *              apex's lower-cased wire name);
 *   DNS_ENTRY  the name of the public function these steps define;
 *   ZONE_FIND(t, qu)  for a question of class IN or ANY, neither AXFR nor
 *              IXFR: an int64_t, negative when the name is outside the zone
 *              (REFUSED), else what ZONE_ANSWER takes as `found`;
 *   ZONE_ANSWER(w, t, qu, reply_flags, found, limit, e, tcp)  statements
 *              that return the size_t length of the answer written by `w`
 *              (0: dropped), `limit` the int64_t size it must fit in.
 *
 * Macros rather than functions: the precomputed engine's code stays what it
 * was when these steps were its own (the specialized image is unchanged).
 */
#ifndef SPECC_DNS_STEPS_H
#define SPECC_DNS_STEPS_H

/* -- the steps of answering ------------------------------------------------- */

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

static bool is_apex(const DNS_ZONE *t, const struct query *qu)
{
    return compare_names(qu->qname, qu->qname_len, t->apex, t->apex_len) == 0;
}

/* AXFR over UDP: NOTIMP; zone transfers: REFUSED at the apex, else NOTAUTH. */
static size_t transfer(struct writer *w, const DNS_ZONE *t, const struct query *qu,
                       uint32_t reply_flags, const struct edns *e, bool tcp)
{
    if (qu->qtype == TYPE_AXFR && !tcp)
        return refusal(w, qu, reply_flags, NOTIMP, true, e, NO_EDE);
    if (is_apex(t, qu))
        return refusal(w, qu, reply_flags, REFUSED, true, e, EDE_PROHIBITED);
    return refusal(w, qu, reply_flags, NOTAUTH, true, e, NO_EDE);
}

/* A standard query with one well-formed question. */
static size_t one_question(struct writer *w, const DNS_ZONE *t, const struct query *qu,
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
    int64_t found = ZONE_FIND(t, qu);
    if (found < 0)
        return refusal(w, qu, reply_flags, REFUSED, true, &e, EDE_NOT_AUTHORITATIVE);
    ZONE_ANSWER(w, t, qu, reply_flags, found, size_limit(&e, &o, tcp), &e, tcp);
}

size_t DNS_ENTRY(const DNS_ZONE *t, const uint8_t *query, size_t query_len,
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

#endif
