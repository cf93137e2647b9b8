/*
 * The run-time half of the unspecialized `dns_zone` (`specc compile
 * --no-specialize`): answer one DNS message from the zone's records,
 * deciding the answer when the question comes, as NSD does.
 *
 * The specialized build precomputes every answer at compile time
 * (dns_answer.h); this engine is what that specialization saves.  The zone
 * is still read at compile time (a Zone is a compile-time value), so its
 * records reach the image as a table, backends/dns/record_table.py's
 * `records_to_c()` output: every name the answers can name, its RRsets and
 * their wire rdata.  The replies are those of dns_answer() for the same zone,
 * byte for byte (tests/test_dns_resolve.py), which decides them the way
 * backends/dns/resolve.py does and compresses names as backends/dns/wire.py.
 *
 * Freestanding: no allocation, no I/O.  Not reentrant: the table's scratch
 * (compression offsets, the RRsets of the answer being built) is one per
 * zone, for the one answer the event loop builds at a time.
 */
#ifndef SPECC_DNS_RESOLVE_H
#define SPECC_DNS_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "dns_answer.h" /* DNS_ANSWER_TCP_LIMIT and DNS_ANSWER_OUT_CAP: the same bounds */

/* The table shape this code reads: record_table.py's FORMAT. */
#define DNS_RECORDS_FORMAT 1
/* No name, RRset or wildcard. */
#define DNS_NONE 0xFFFFFFFFu

/* What a name is (`flags` of struct dns_name). */
enum {
    DNS_NAME_EXISTS = 1,  /* it or a name below it owns records (empty non-terminals exist) */
    DNS_NAME_IN_ZONE = 2, /* at or below the apex */
    DNS_NAME_CUT = 4,     /* below the apex, with NS records: a zone cut */
};

/* A name: the zone's existing names, the names in rdata that answers follow
 * (NS, MX, KX, SRV and CNAME targets) or compress (NS, CNAME, PTR, MX, SOA),
 * and every suffix of these, the root included.  Names are unique when
 * lower-cased; a name's id is its index in `names`. */
struct dns_name {
    uint32_t key;         /* offset of its lower-cased wire form in `keys` */
    uint32_t parent;      /* the name one label shorter; DNS_NONE for the root */
    uint32_t wildcard;    /* the name `*.` this name, when it exists; else DNS_NONE */
    uint32_t rrsets;      /* its first RRset in `rrsets` */
    uint16_t rrset_count; /* in zone order (what ANY picks from) */
    uint8_t key_len;
    uint8_t flags;        /* DNS_NAME_* */
};

/* One RRset: class IN, its records' rdata a run of `rdatas`. */
struct dns_record_set {
    uint32_t ttl;
    uint32_t rdata;  /* first record in `rdatas` */
    uint32_t count;
    uint16_t type;
};

/* One record's rdata, in wire form without compression, names in their own
 * case.  `refs` lists the names a reply writes compressed (the RDATA names
 * of NS, CNAME, PTR, MX and SOA, RFC 3597 4); `target` is the name an NS,
 * MX, KX or SRV record brings addresses for, or a CNAME points to. */
struct dns_rdata {
    uint32_t data;      /* offset in `data` */
    uint32_t refs;      /* first entry in `refs` */
    uint32_t target;    /* a name id, or DNS_NONE */
    uint16_t len;
    uint16_t target_at; /* the target's offset in the rdata */
    uint8_t ref_count;
};

/* A name inside rdata that is written compressed. */
struct dns_name_ref {
    uint32_t name; /* its id */
    uint16_t at;   /* its offset in the rdata */
};

/* An RRset of the answer being built, in resolve.py's `Item` terms. */
struct dns_item {
    const uint8_t *owner; /* the owner's wire form as written; NULL: the question's name */
    uint32_t owner_name;  /* the owner's id */
    uint32_t rrset;       /* index in `rrsets` */
    uint32_t key;         /* what repeats are found by: the RRset's index, DNS_KEY_SOA_NEGATIVE,
                           * or DNS_NONE for records synthesized from a wildcard (never equal) */
    uint8_t section;
};

#define DNS_KEY_SOA_NEGATIVE 0xFFFFFFFEu

/* Where a name was written in the reply being built, valid when `stamp` is
 * the scratch's generation (no clearing between replies). */
struct dns_offset {
    uint32_t stamp;
    uint16_t offset;
};

/* Which item holds an RRset in the answer being built, valid when `stamp`
 * is the scratch's generation: repeats are found without a search. */
struct dns_seen {
    uint32_t stamp;
    uint32_t item;
};

/* The writable part of a zone: one per zone, in .bss. */
struct dns_scratch {
    struct dns_item *items;
    uint32_t item_cap;          /* enough for any answer of the zone (record_table.py) */
    struct dns_offset *offsets; /* one per name */
    struct dns_seen *seen;      /* one per RRset, and one for the negative SOA */
    uint32_t generation;
};

struct dns_records {
    uint32_t format;       /* DNS_RECORDS_FORMAT */
    const uint8_t *apex;   /* lower-cased wire name */
    uint32_t apex_len;
    const uint8_t *origin; /* the apex as the zone spells it: the owner of its SOA and NS */
    uint32_t apex_name;    /* the apex's id */
    uint32_t soa;          /* the apex SOA RRset */
    uint32_t soa_negative_ttl; /* min(SOA TTL, SOA minimum), RFC 2308 */
    uint32_t ns;           /* the apex NS RRset */
    const struct dns_name *names;
    uint32_t name_count;
    const uint8_t *keys;
    uint32_t keys_len;
    /* An open-addressing index over the existing names, as dns_table's:
     * slot_mask + 1 slots, each 0 or 1 + a name id, found from the FNV-1a
     * hash of the key (c_table.py's hash_slots). */
    const uint32_t *slots;
    uint32_t slot_mask;
    const struct dns_record_set *rrsets;
    uint32_t rrset_count;
    const struct dns_rdata *rdatas;
    uint32_t rdata_count;
    const struct dns_name_ref *refs;
    uint32_t ref_count;
    const uint8_t *data;
    uint32_t data_len;
    struct dns_scratch *scratch;
};

/*
 * Answer `query` (`query_len` bytes) from zone `z` into `out`: the contract
 * of dns_answer() in dns_answer.h, with the same reply for the same zone.
 */
size_t dns_resolve(const struct dns_records *z, const uint8_t *query, size_t query_len,
                   uint8_t *out, size_t out_cap, size_t max_size, int tcp);

/*
 * Whether `z` is consistent: every index and offset within its array,
 * every name's key one label more than its parent's, every rdata name
 * spelled (case aside) as the name it refers to, and scratch enough for
 * any answer.  dns_resolve() trusts the table; this is for a test or a
 * boot-time check.
 */
int dns_records_valid(const struct dns_records *z);

#endif
