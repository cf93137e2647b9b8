/*
 * Answer one DNS message from a zone's records: the generic engine of the
 * unspecialized `dns_zone` (dns_resolve.h).
 *
 * The message is read, checked and refused by the steps dns_answer.c uses
 * (dns_message.h, dns_steps.h); what differs is the answer to a question
 * for the zone.  It is decided here, at run time, by the steps of
 * backends/dns/resolve.py, each C function named after the Python one
 * (lookup, authoritative, domain, add_rrset, additional, ...), and written
 * as backends/dns/wire.py lays answers out: names compressed against every
 * name written before through a compressing field, the question's from its
 * closest encloser on.  So the reply is the precomputed engine's, bytes
 * included, and so are its size and where TC cuts it.
 *
 * Safety: the query is read only through dns_message.h's checked readers;
 * the answer is written through `struct body`, which never writes past
 * `out_cap` and stops at the size limit; the number of RRsets an answer
 * holds is bounded by the table's scratch, sized at compile time for the
 * largest answer the zone has.
 */
#include "dns_message.h"
#include "dns_resolve.h"

enum {
    TYPE_NS = 2, TYPE_CNAME = 5, TYPE_SOA = 6, TYPE_PTR = 12, TYPE_MX = 15, TYPE_A = 1,
    TYPE_AAAA = 28, TYPE_SRV = 33, TYPE_KX = 36, TYPE_DS = 43, TYPE_RRSIG = 46,
    TYPE_NSEC = 47, TYPE_DNSKEY = 48, TYPE_NSEC3 = 50,
};

/* resolve.py's sections, in the order the reply has them. */
enum {
    ANSWER, AUTHORITY, OPTIONAL_AUTHORITY, ADDITIONAL_A, ADDITIONAL_AAAA, SECTIONS,
};

enum {
    MAX_CHAIN = 32, /* CNAMEs followed (resolve.py's _MAX_CHAIN) */
    /* wire.py's MAX_POINTER_TARGET: no name is offered for compression past
     * this offset of the layout the precomputed engine relocates. */
    MAX_POINTER_TARGET = 0x3FFF - 255,
};

/* -- the zone ---------------------------------------------------------------- */

static const struct dns_name *name_of(const struct dns_records *z, uint32_t id)
{
    return &z->names[id];
}

static bool has(const struct dns_records *z, uint32_t id, uint32_t flag)
{
    return (name_of(z, id)->flags & flag) != 0;
}

/* ZoneModel.find: the name's first RRset of `type`, or DNS_NONE. */
static uint32_t find(const struct dns_records *z, uint32_t id, uint32_t type)
{
    const struct dns_name *n = name_of(z, id);
    for (uint32_t i = n->rrsets; i < n->rrsets + n->rrset_count; i++)
        if (z->rrsets[i].type == type)
            return i;
    return DNS_NONE;
}

/* ZoneModel.encloser: the closest existing ancestor-or-self of a name in the zone. */
static uint32_t encloser(const struct dns_records *z, uint32_t id)
{
    while (!has(z, id, DNS_NAME_EXISTS))
        id = name_of(z, id)->parent;
    return id;
}

/* ZoneModel.delegation: the highest cut at or above a name, or DNS_NONE. */
static uint32_t delegation(const struct dns_records *z, uint32_t id)
{
    uint32_t found = DNS_NONE;
    while (id != z->apex_name && has(z, id, DNS_NAME_IN_ZONE)) {
        if (has(z, id, DNS_NAME_CUT))
            found = id;
        id = name_of(z, id)->parent;
    }
    return found;
}

/* The existing name whose key is name[0 .. len), or DNS_NONE. */
static uint32_t find_existing(const struct dns_records *z, const uint8_t *name, size_t len)
{
    for (uint32_t at = name_hash(name, len) & z->slot_mask;; at = (at + 1) & z->slot_mask) {
        uint32_t slot = z->slots[at];
        if (slot == 0)
            return DNS_NONE;
        const struct dns_name *n = name_of(z, slot - 1);
        if (n->key_len == len && memcmp(z->keys + n->key, name, len) == 0)
            return slot - 1;
    }
}

/* -- deciding the answer: resolve.py's _Resolver ------------------------------- */

/* A new answer: the offsets and RRsets of the last one forgotten at once,
 * by a new generation; all cleared when it wraps. */
static void next_generation(const struct dns_records *z)
{
    struct dns_scratch *s = z->scratch;
    if (++s->generation == 0) {
        for (uint32_t i = 0; i < z->name_count; i++)
            s->offsets[i].stamp = 0;
        for (uint32_t i = 0; i <= z->rrset_count; i++)
            s->seen[i].stamp = 0;
        s->generation = 1;
    }
}

/* A name as it is spelled somewhere (the question, an rdata, the origin), and
 * its id: the reply writes the spelling, compression goes by the id. */
struct occurrence {
    const uint8_t *wire; /* NULL: the question's own name, written as a pointer to it */
    uint32_t name;
};

struct resolver {
    const struct dns_records *z;
    uint32_t qtype;
    bool class_any;
    struct dns_item *items;
    uint32_t count;
    bool full; /* more RRsets than the scratch holds: a table that lies about its size */
    uint32_t cname_count;
    uint32_t rcode;
    bool aa;
};

/* The occurrence of an ancestor `id` of the name spelled `o` (`len` bytes). */
static struct occurrence ancestor(const struct dns_records *z, struct occurrence o, size_t len,
                                  uint32_t id)
{
    return (struct occurrence){o.wire + (len - name_of(z, id)->key_len), id};
}

static const uint8_t *rdata_of(const struct dns_records *z, const struct dns_rdata *rd)
{
    return z->data + rd->data;
}

/* _Resolver.add: false when the RRset is already in this section or an earlier one. */
static bool add(struct resolver *r, uint32_t section, struct occurrence owner, uint32_t rrset,
                uint32_t key)
{
    struct dns_scratch *s = r->z->scratch;
    struct dns_seen *seen = NULL;
    if (key != DNS_NONE) {
        seen = &s->seen[key == DNS_KEY_SOA_NEGATIVE ? r->z->rrset_count : key];
        if (seen->stamp == s->generation) {
            struct dns_item *item = &r->items[seen->item];
            if (section < item->section) {
                item->section = (uint8_t)section;
                return true;
            }
            return false;
        }
    }
    if (r->count == s->item_cap) {
        r->full = true;
        return false;
    }
    if (seen)
        *seen = (struct dns_seen){s->generation, r->count};
    r->items[r->count++] = (struct dns_item){owner.wire, owner.name, rrset, key, (uint8_t)section};
    return true;
}

/* _Resolver.additional: the target's A and AAAA, from a wildcard if it does not exist. */
static void additional(struct resolver *r, struct occurrence target, bool allow_glue)
{
    const struct dns_records *z = r->z;
    if (!has(z, target.name, DNS_NAME_IN_ZONE))
        return;
    if (!allow_glue && delegation(z, target.name) != DNS_NONE)
        return;
    uint32_t source = target.name;
    bool synthesized = false;
    if (!has(z, target.name, DNS_NAME_EXISTS)) {
        source = name_of(z, encloser(z, target.name))->wildcard;
        if (source == DNS_NONE)
            return;
        synthesized = true;
    }
    static const uint32_t types[2][2] = {{TYPE_A, ADDITIONAL_A}, {TYPE_AAAA, ADDITIONAL_AAAA}};
    for (int i = 0; i < 2; i++) {
        uint32_t rrset = find(z, source, types[i][0]);
        if (rrset != DNS_NONE)
            add(r, types[i][1], target, rrset, synthesized ? DNS_NONE : rrset);
    }
}

/* _Resolver.add_rrset: the RRset, then the addresses of the names it points to. */
static bool add_rrset(struct resolver *r, uint32_t section, struct occurrence owner,
                      uint32_t rrset, uint32_t key)
{
    const struct dns_records *z = r->z;
    bool added = add(r, section, owner, rrset, key);
    const struct dns_record_set *set = &z->rrsets[rrset];
    if (set->type == TYPE_NS || set->type == TYPE_MX || set->type == TYPE_KX ||
        set->type == TYPE_SRV) {
        for (uint32_t i = set->rdata; i < set->rdata + set->count; i++) {
            const struct dns_rdata *rd = &z->rdatas[i];
            if (rd->target != DNS_NONE)
                additional(r, (struct occurrence){rdata_of(z, rd) + rd->target_at, rd->target},
                           set->type == TYPE_NS);
        }
    }
    return added;
}

static struct occurrence origin(const struct dns_records *z)
{
    return (struct occurrence){z->origin, z->apex_name};
}

/* _Resolver.soa (nodata, NXDOMAIN): the SOA with the negative TTL. */
static void soa(struct resolver *r)
{
    if (!r->class_any)
        add_rrset(r, AUTHORITY, origin(r->z), r->z->soa, DNS_KEY_SOA_NEGATIVE);
}

/* _Resolver.pick_for_any: RFC 8482's one RRset, as NSD picks it. */
static uint32_t pick_for_any(const struct dns_records *z, uint32_t id)
{
    const struct dns_name *n = name_of(z, id);
    uint32_t normal = DNS_NONE, least = DNS_NONE;
    for (uint32_t i = n->rrsets; i < n->rrsets + n->rrset_count; i++) {
        uint32_t type = z->rrsets[i].type;
        if (type == TYPE_A || type == TYPE_AAAA || type == TYPE_SOA || type == TYPE_MX ||
            type == TYPE_PTR)
            return i;
        if (type == TYPE_DNSKEY || type == TYPE_RRSIG || type == TYPE_NSEC)
            least = i;
        else if (type != TYPE_NSEC3)
            normal = i;
    }
    return normal != DNS_NONE ? normal : least;
}

static void lookup(struct resolver *r, struct occurrence name, size_t len, uint32_t found,
                   bool exact, struct occurrence owner);

/* _Resolver.domain: the RRsets of `source` for the question, owned by `owner`. */
static void domain(struct resolver *r, uint32_t source, struct occurrence owner, bool synthesized)
{
    const struct dns_records *z = r->z;
    uint32_t rrset;
    if (r->qtype == TYPE_ANY) {
        rrset = pick_for_any(z, source);
        if (rrset == DNS_NONE) {
            soa(r);
            return;
        }
    } else if ((rrset = find(z, source, r->qtype)) == DNS_NONE) {
        uint32_t cname = find(z, source, TYPE_CNAME);
        if (cname == DNS_NONE) {
            soa(r);
            return;
        }
        if (add_rrset(r, ANSWER, owner, cname, synthesized ? DNS_NONE : cname) &&
            r->cname_count < MAX_CHAIN) {
            r->cname_count++;
            const struct dns_rdata *rd = &z->rdatas[z->rrsets[cname].rdata];
            struct occurrence target = {rdata_of(z, rd) + rd->target_at, rd->target};
            if (has(z, target.name, DNS_NAME_IN_ZONE)) {
                uint32_t at = encloser(z, target.name);
                lookup(r, target, name_of(z, target.name)->key_len, at, at == target.name,
                       target);
            }
        }
        return;
    }
    add_rrset(r, ANSWER, owner, rrset, synthesized ? DNS_NONE : rrset);
    if (!r->class_any && r->qtype != TYPE_DNSKEY && r->qtype != TYPE_DS && r->qtype != TYPE_ANY)
        add_rrset(r, OPTIONAL_AUTHORITY, origin(z), z->ns, z->ns);
}

/* _Resolver.authoritative: the name's own records, a wildcard's, or NXDOMAIN. */
static void authoritative(struct resolver *r, struct occurrence name, uint32_t found, bool exact,
                          struct occurrence owner)
{
    if (exact) {
        domain(r, found, (struct occurrence){name.wire, found}, false);
        return;
    }
    uint32_t wildcard = name_of(r->z, found)->wildcard;
    if (wildcard == DNS_NONE) {
        r->rcode = NXDOMAIN;
        soa(r);
        return;
    }
    domain(r, wildcard, owner, true);
}

/* _Resolver.lookup of a name in the zone spelled `name` (`len` bytes), its
 * closest encloser `found` (the name itself when `exact`). */
static void lookup(struct resolver *r, struct occurrence name, size_t len, uint32_t found,
                   bool exact, struct occurrence owner)
{
    const struct dns_records *z = r->z;
    if (exact && r->qtype == TYPE_DS && found == z->apex_name) {
        r->aa = !r->class_any;
        soa(r);
        return;
    }
    uint32_t cut = delegation(z, found);
    if (cut == DNS_NONE || (exact && r->qtype == TYPE_DS && found == cut)) {
        r->aa = !r->class_any;
        authoritative(r, name, found, exact, owner);
        return;
    }
    r->aa = r->cname_count > 0;
    add_rrset(r, AUTHORITY, ancestor(z, name, len, cut), find(z, cut, TYPE_NS),
              find(z, cut, TYPE_NS));
}

/* The question's closest encloser: the longest suffix of the lower-cased
 * question name that exists, DNS_NONE outside the zone. */
static uint32_t question_encloser(const struct dns_records *z, const struct query *qu)
{
    size_t position = 0;
    for (;;) {
        uint32_t found = find_existing(z, qu->qname + position, qu->qname_len - position);
        if (found != DNS_NONE)
            return found;
        if (qu->qname[position] == 0 || qu->qname_len - position <= z->apex_len)
            return DNS_NONE;
        position += (size_t)qu->qname[position] + 1;
    }
}

/* -- writing the answer: wire.py's Encoder -------------------------------------- */

/* The records being written at out[start ..): never past `cap` (what does
 * not fit is counted, not written: `spilled`), never past `end` (`over`). */
struct body {
    uint8_t *out;
    size_t cap;
    size_t len; /* the next offset in the reply */
    size_t end;
    bool over;
    bool spilled;
    /* How much longer the question is than the name the precomputed engine
     * lays this answer out behind (its `qlen`): MAX_POINTER_TARGET applies
     * to offsets in that layout. */
    size_t delta;
    struct dns_scratch *scratch;
};

static void body_put(struct body *b, const uint8_t *src, size_t n)
{
    if (b->over || n > b->end - b->len) {
        b->over = true;
        return;
    }
    if (b->len <= b->cap && n <= b->cap - b->len)
        memcpy(b->out + b->len, src, n);
    else
        b->spilled = true;
    b->len += n;
}

static void body_u16(struct body *b, uint32_t value)
{
    const uint8_t bytes[2] = {(uint8_t)(value >> 8), (uint8_t)value};
    body_put(b, bytes, 2);
}

static uint32_t offset_get(const struct body *b, uint32_t id)
{
    const struct dns_offset *o = &b->scratch->offsets[id];
    return o->stamp == b->scratch->generation ? o->offset : 0;
}

static void offset_set(struct body *b, uint32_t id, size_t offset)
{
    b->scratch->offsets[id] = (struct dns_offset){b->scratch->generation, (uint16_t)offset};
}

/* Encoder.name: `o` compressed against the names written so far, each of
 * its suffixes offered for compression while within MAX_POINTER_TARGET. */
static void put_name(struct body *b, const struct dns_records *z, struct occurrence o)
{
    const uint8_t *wire = o.wire;
    uint32_t id = o.name;
    while (*wire != 0) {
        uint32_t at = offset_get(b, id);
        if (at) {
            body_u16(b, 0xC000 | at);
            return;
        }
        if (b->len - b->delta <= MAX_POINTER_TARGET)
            offset_set(b, id, b->len);
        body_put(b, wire, (size_t)*wire + 1);
        wire += *wire + 1;
        id = name_of(z, id)->parent;
    }
    body_put(b, wire, 1);
}

/* Encoder.record: one RR of class IN; the rdata's names compressed. */
static void put_record(struct body *b, const struct dns_records *z, const struct dns_item *item,
                       uint32_t type, uint32_t ttl, const struct dns_rdata *rd)
{
    if (item->owner == NULL)
        body_u16(b, 0xC000 | HEADER_LEN); /* the question's name: never relocated */
    else
        put_name(b, z, (struct occurrence){item->owner, item->owner_name});
    body_u16(b, type);
    body_u16(b, CLASS_IN);
    body_u16(b, ttl >> 16);
    body_u16(b, ttl & 0xFFFF);
    size_t length_at = b->len;
    body_u16(b, 0);
    const uint8_t *data = rdata_of(z, rd);
    size_t done = 0;
    for (uint32_t i = rd->refs; i < rd->refs + rd->ref_count; i++) {
        const struct dns_name_ref *ref = &z->refs[i];
        body_put(b, data + done, ref->at - done);
        put_name(b, z, (struct occurrence){data + ref->at, ref->name});
        done = (size_t)ref->at + name_of(z, ref->name)->key_len;
    }
    body_put(b, data + done, rd->len - done);
    size_t length = b->len - length_at - 2;
    if (!b->over && length_at + 2 <= b->cap) {
        b->out[length_at] = (uint8_t)(length >> 8);
        b->out[length_at + 1] = (uint8_t)length;
    }
}

/* What was written and how it ended: precompute.py's RRset kinds counted. */
struct written {
    uint32_t counts[4];
    bool truncated;
    bool dropped; /* a kept RRset passed out_cap: dns_answer drops such a reply too */
};

static uint32_t kind_of(uint32_t section)
{
    return section >= ADDITIONAL_A ? 3 : section;
}

/* The items in section order, each RRset kept whole while it fits: the rule
 * of dns_answer.c's cut_records (TC for an answer or authority RRset that
 * does not fit; optional ones left out, over UDP also past 1232 bytes). */
static struct written put_items(struct body *b, const struct resolver *r, bool tcp)
{
    struct written out = {{0, 0, 0, 0}, false, false};
    const struct dns_records *z = r->z;
    for (uint32_t section = ANSWER; section < SECTIONS; section++) {
        for (uint32_t i = 0; i < r->count; i++) {
            const struct dns_item *item = &r->items[i];
            if (item->section != section)
                continue;
            const struct dns_record_set *set = &z->rrsets[item->rrset];
            uint32_t ttl = item->key == DNS_KEY_SOA_NEGATIVE ? z->soa_negative_ttl : set->ttl;
            size_t rrset_at = b->len;
            for (uint32_t j = set->rdata; j < set->rdata + set->count && !b->over; j++)
                put_record(b, z, item, set->type, ttl, &z->rdatas[j]);
            uint32_t kind = kind_of(section);
            if (b->over || (kind >= 2 && !tcp && b->len > MINIMAL_RESPONSE_SIZE)) {
                out.truncated = kind < 2;
                b->len = rrset_at;
                return out;
            }
            if (b->spilled)
                out.dropped = true;
            out.counts[kind] += set->count;
        }
    }
    return out;
}

/* The answer to a question in the zone whose closest encloser is `found`. */
static size_t compose(struct writer *w, const struct dns_records *z, const struct query *qu,
                      uint32_t reply_flags, uint32_t found, int64_t limit, const struct edns *e,
                      bool tcp)
{
    struct resolver r = {z, qu->qtype, qu->qclass == CLASS_ANY, z->scratch->items, 0, false, 0,
                         NOERROR, false};
    bool exact = name_of(z, found)->key_len == qu->qname_len;
    struct occurrence question = {qu->wire + HEADER_LEN, found};
    next_generation(z);
    lookup(&r, question, qu->qname_len, found, exact, (struct occurrence){NULL, found});
    if (r.full)
        return 0;

    size_t question_len = qu->qend - HEADER_LEN;
    size_t start = HEADER_LEN + question_len;
    int64_t room = limit - (int64_t)start - (e->present ? OPT_LEN : 0);
    /* precompute.py lays a name's `below` answers out behind the encloser's
     * name, or `*.` it when that wildcard answers. */
    size_t layout = name_of(z, found)->key_len;
    if (!exact && delegation(z, found) == DNS_NONE && name_of(z, found)->wildcard != DNS_NONE)
        layout += 2;
    struct body b = {w->out, w->cap, start, start + (size_t)(room > 0 ? room : 0), false, false,
                     qu->qname_len - layout, z->scratch};
    /* The question's suffixes from its closest encloser on (Encoder's
     * first_label), at their offsets in the reply. */
    size_t position = HEADER_LEN + qu->qname_len - name_of(z, found)->key_len;
    for (uint32_t id = found; name_of(z, id)->parent != DNS_NONE; id = name_of(z, id)->parent) {
        offset_set(&b, id, position);
        position += (size_t)qu->wire[position] + 1;
    }
    struct written written = put_items(&b, &r, tcp);
    if (written.dropped || w->overflow || start > w->cap)
        return 0;

    uint32_t flags = (r.aa ? AA : 0) | r.rcode;
    if (written.truncated)
        reply_flags |= TC;
    struct writer head = {w->out, w->cap, 0, false};
    write_header(&head, qu, reply_flags | (flags & 0x7FF), flags & 0xF, 1, written.counts[0],
                 written.counts[1] + written.counts[2],
                 written.counts[3] + (e->present ? 1 : 0));
    put(&head, qu->wire + HEADER_LEN, question_len);
    if (head.overflow)
        return 0;
    w->len = b.len;
    if (e->present)
        write_opt(w, e->max_size, e->dnssec_ok, 0, NO_EDE);
    return finish(w);
}

/* The engine's part of dns_steps.h: the closest encloser, then the answer. */
#define ZONE_FIND(t, qu) zone_find(t, qu)
#define ZONE_ANSWER(w, t, qu, reply_flags, found, limit, e, tcp) \
    return compose(w, t, qu, reply_flags, (uint32_t)(found), limit, e, tcp)

static int64_t zone_find(const struct dns_records *z, const struct query *qu)
{
    uint32_t found = question_encloser(z, qu);
    return found == DNS_NONE ? -1 : (int64_t)found;
}

#define DNS_ZONE struct dns_records
#define DNS_ENTRY dns_resolve
#include "dns_steps.h"

/* -- checking a table --------------------------------------------------------- */

static bool within(uint64_t first, uint64_t count, uint64_t len)
{
    return first <= len && count <= len - first;
}

/* Whether `wire` (at most `room` bytes) spells, ASCII case aside, the key of
 * name `id`; its length in *len. */
static bool spells(const struct dns_records *z, const uint8_t *wire, size_t room, uint32_t id,
                   size_t *len)
{
    const struct dns_name *n = name_of(z, id);
    if (n->key_len > room)
        return false;
    for (size_t i = 0; i < n->key_len; i++) {
        uint8_t c = wire[i];
        uint8_t lower = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
        if (lower != z->keys[n->key + i])
            return false;
    }
    *len = n->key_len;
    return true;
}

static bool name_valid(const struct dns_records *z, uint32_t id)
{
    const struct dns_name *n = name_of(z, id);
    if (!within(n->key, n->key_len, z->keys_len) || n->key_len == 0 ||
        !within(n->rrsets, n->rrset_count, z->rrset_count))
        return false;
    if (n->wildcard != DNS_NONE && n->wildcard >= z->name_count)
        return false;
    const uint8_t *key = z->keys + n->key;
    if (n->parent == DNS_NONE)
        return n->key_len == 1 && key[0] == 0 && !(n->flags & DNS_NAME_IN_ZONE);
    if (n->parent >= z->name_count || key[0] == 0 || key[0] > 63)
        return false;
    /* One label, then the parent's key: what lets a name be walked label by
     * label and id by id at once; parents are shorter, so no cycle. */
    const struct dns_name *p = name_of(z, n->parent);
    return (size_t)key[0] + 1 + p->key_len == n->key_len &&
           memcmp(key + key[0] + 1, z->keys + p->key, p->key_len) == 0;
}

static bool rdata_valid(const struct dns_records *z, const struct dns_rdata *rd)
{
    if (!within(rd->data, rd->len, z->data_len) || !within(rd->refs, rd->ref_count, z->ref_count))
        return false;
    const uint8_t *data = rdata_of(z, rd);
    size_t done = 0, len;
    for (uint32_t i = rd->refs; i < rd->refs + rd->ref_count; i++) {
        const struct dns_name_ref *ref = &z->refs[i];
        if (ref->name >= z->name_count || ref->at < done ||
            !spells(z, data + ref->at, rd->len - ref->at, ref->name, &len))
            return false;
        done = ref->at + len;
    }
    if (rd->target != DNS_NONE && (rd->target >= z->name_count || rd->target_at > rd->len ||
                                   !spells(z, data + rd->target_at, rd->len - rd->target_at,
                                           rd->target, &len)))
        return false;
    return true;
}

int dns_records_valid(const struct dns_records *z)
{
    if (z->format != DNS_RECORDS_FORMAT || z->apex_name >= z->name_count ||
        z->soa >= z->rrset_count || z->ns >= z->rrset_count || z->scratch == NULL)
        return 0;
    size_t len;
    if (!spells(z, z->apex, z->apex_len, z->apex_name, &len) || len != z->apex_len ||
        !spells(z, z->origin, len, z->apex_name, &len))
        return 0;
    for (uint32_t i = 0; i < z->name_count; i++)
        if (!name_valid(z, i))
            return 0;
    uint32_t most = 0, most_ns = 0;
    for (uint32_t i = 0; i < z->rrset_count; i++) {
        const struct dns_record_set *s = &z->rrsets[i];
        if (!within(s->rdata, s->count, z->rdata_count) || s->count == 0)
            return 0;
        if (s->type == TYPE_CNAME && z->rdatas[s->rdata].target == DNS_NONE)
            return 0;
        most = s->count > most ? s->count : most;
        if (s->type == TYPE_NS)
            most_ns = s->count > most_ns ? s->count : most_ns;
    }
    for (uint32_t i = 0; i < z->rdata_count; i++)
        if (!rdata_valid(z, &z->rdatas[i]))
            return 0;
    /* The most RRsets an answer holds (record_table.py's item_capacity). */
    if (z->scratch->item_cap < 40 + 2 * (uint64_t)most + 2 * (uint64_t)most_ns)
        return 0;
    uint64_t size = (uint64_t)z->slot_mask + 1, existing = 0;
    for (uint32_t i = 0; i < z->name_count; i++)
        existing += has(z, i, DNS_NAME_EXISTS);
    /* Fewer existing names than slots: a probe ends at an empty one. */
    if ((size & (size - 1)) != 0 || existing >= size)
        return 0;
    for (uint64_t i = 0; i < size; i++)
        if (z->slots[i] > z->name_count ||
            (z->slots[i] && !has(z, z->slots[i] - 1, DNS_NAME_EXISTS)))
            return 0;
    for (uint32_t i = 0; i < z->name_count; i++) {
        const struct dns_name *n = name_of(z, i);
        bool exists = (n->flags & DNS_NAME_EXISTS) != 0;
        if (exists != (find_existing(z, z->keys + n->key, n->key_len) == i))
            return 0;
        /* Every walk up from a name in the zone meets an existing name (the apex). */
        if ((n->flags & DNS_NAME_IN_ZONE) && n->parent != DNS_NONE &&
            !has(z, n->parent, DNS_NAME_IN_ZONE) && i != z->apex_name)
            return 0;
    }
    return has(z, z->apex_name, DNS_NAME_EXISTS) && has(z, z->apex_name, DNS_NAME_IN_ZONE);
}
