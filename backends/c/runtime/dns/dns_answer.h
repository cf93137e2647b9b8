/*
 * The run-time half of `dns_zone` in C: answer one DNS message from a table
 * precomputed at compile time.
 *
 * This is the twin of backends/python/runtime/dns_answer.py and gives the
 * same bytes for every input (tests/test_dns_c.py checks it).  The table is
 * backends/dns/precompute.py's `build_table()` output, turned into C by
 * backends/dns/c_table.py; the layout below mirrors the Python shape with
 * the tuples flattened into shared arrays, indexes instead of pointers, so
 * that a table is one block of read-only data.
 *
 * Freestanding: no allocation, no I/O; only memcpy/memcmp, which both the
 * hvt runtime (lib/include/string.h) and a hosted libc provide.
 */
#ifndef SPECC_DNS_ANSWER_H
#define SPECC_DNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>

/* The table shape this code reads: precompute.py's FORMAT. */
#define DNS_TABLE_FORMAT 1

/* One entry of a node's qtype -> answer map.  Each map is a run of
 * entries in `types`, sorted by qtype (binary searched). */
struct dns_type_answer {
    uint16_t qtype;
    uint32_t answer; /* index in `answers` */
};

/* An existing name of the zone (empty non-terminals included). */
struct dns_node {
    uint32_t name;          /* offset of its key (lower-cased wire name) in `names` */
    uint32_t exact;         /* first entry of the exact map in `types` */
    uint32_t exact_count;
    uint32_t exact_default; /* answer for a qtype not in the exact map */
    uint32_t below;         /* first entry of the below map in `types` */
    uint32_t below_count;
    uint32_t below_default; /* answer for a qtype not in the below map */
    uint8_t name_len;       /* at most 255, as any wire name */
};

/* One RRset of an answer's body, in body order. */
struct dns_rrset {
    uint32_t end;   /* end offset in the body */
    uint16_t count; /* records in it */
    uint8_t kind;   /* 0 answer, 1 authority, 2 optional authority, 3 additional */
};

/* One precomputed answer: precompute.py's (flags, qlen, body, relocs,
 * rrsets, class_any), the variable parts as runs of the shared arrays. */
struct dns_table_answer {
    uint32_t body;        /* offset in `bodies` */
    uint32_t body_len;
    uint32_t relocs;      /* first entry in `relocs` */
    uint32_t reloc_count;
    uint32_t rrsets;      /* first entry in `rrsets` */
    uint32_t rrset_count;
    int32_t class_any;    /* answer for QCLASS ANY, -1: this one cut after its answers */
    uint16_t flags;       /* AA and the rcode */
    uint16_t qlen;        /* length of the question name the body was laid out for */
};

struct dns_table {
    uint32_t format; /* DNS_TABLE_FORMAT */
    const uint8_t *apex;
    uint32_t apex_len;
    /* Nodes sorted by key, compared as bytes (memcmp, then the shorter
     * first: Python's bytes order). */
    const struct dns_node *nodes;
    uint32_t node_count;
    /* The hash index over the nodes: slot_mask + 1 slots (a power of two,
     * at least 2 * node_count), each 0 or 1 + a node's index; a key is at
     * the FNV-1a hash of the key & slot_mask or in the slots after it
     * (linear probing), before the next empty one (c_table.py). */
    const uint32_t *slots;
    uint32_t slot_mask;
    const uint8_t *names;
    uint32_t names_len;
    const struct dns_type_answer *types;
    uint32_t types_len;
    const struct dns_table_answer *answers;
    uint32_t answer_count;
    const uint8_t *bodies;
    uint32_t bodies_len;
    const uint32_t *relocs; /* positions in a body of pointers to relocate */
    uint32_t relocs_len;
    const struct dns_rrset *rrsets;
    uint32_t rrsets_len;
};

/* The size limit of a reply over TCP: the most its two-byte length prefix
 * can say (RFC 7766 8). */
#define DNS_ANSWER_TCP_LIMIT 65535u

/* An `out_cap` large enough for any reply over UDP with this `max_size`: a
 * reply is at most its size limit, or 288 bytes (header, a 255-byte name,
 * type, class and an OPT with an Extended DNS Error) when nothing else
 * fits.  Over TCP, DNS_ANSWER_TCP_LIMIT is enough. */
#define DNS_ANSWER_OUT_CAP(max_size) ((max_size) > 512 ? (size_t)(max_size) : (size_t)512)

/*
 * Answer `query` (`query_len` bytes) from table `t` into `out`.
 *
 * Returns the reply's length, or 0 when the message gets no reply (shorter
 * than a header, or a response) - or when the reply would not fit in
 * `out_cap`, which never happens with DNS_ANSWER_OUT_CAP(max_size) over
 * UDP and DNS_ANSWER_TCP_LIMIT over TCP.
 * `max_size` is the server's UDP payload size: the largest reply over UDP
 * and the size its OPT record advertises, over UDP and over TCP alike (RFC
 * 6891 6.2.3: the field is about UDP, so NSD, Knot and BIND advertise their
 * UDP size over TCP too).  Over TCP a reply is never cut: its limit is
 * DNS_ANSWER_TCP_LIMIT.  `tcp` is 0 for UDP, positive for TCP, negative for
 * "TCP when max_size >= 65535" (Python's tcp=None; DnsZone.answer's rule).
 * Reads only query[0 .. query_len), writes only out[0 .. out_cap).
 */
size_t dns_answer(const struct dns_table *t, const uint8_t *query, size_t query_len,
                  uint8_t *out, size_t out_cap, size_t max_size, int tcp);

/*
 * Whether `t` is consistent: its format, sorted unique keys within
 * `names`, sorted maps and every index and offset within its array.
 * dns_answer() trusts the table; this is for a test or a boot-time check.
 */
int dns_table_valid(const struct dns_table *t);

#endif
