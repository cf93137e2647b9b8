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
#include "dns_message.h"

/* -- looking up -------------------------------------------------------------- */

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

/* The engine's part of dns_steps.h: the answer index, then the answer (the
 * statements dns_answer() had in place of ZONE_ANSWER). */
#define ZONE_FIND(t, qu) lookup(t, (qu)->qname, (qu)->qname_len, (qu)->qtype)
#define ZONE_ANSWER(w, t, qu, reply_flags, found, limit, e, tcp) \
    struct chosen c = choose(t, (uint32_t)found, qu->qclass); \
    return compose(w, t, qu, reply_flags, c, limit, e, tcp)

#define DNS_ZONE struct dns_table
#define DNS_ENTRY dns_answer
#include "dns_steps.h"

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
