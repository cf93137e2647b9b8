/*
 * Host harness for backends/c/runtime/dns/dns_answer.c, driven by
 * tests/test_dns_c.py: it links dns_answer.c with the generated tables of
 * the test zones and answers framed queries from stdin, so thousands of
 * queries go through one process.  The test also generates the list of
 * tables, `dns_harness_tables` (the zone id is the index in it).
 * Built with -DHARNESS_RECORDS, it answers with dns_resolve.c from record
 * tables instead (tests/test_dns_resolve.py), with the same frames.
 *
 * Request frame, integers big-endian:
 *   u8 zone (an index in dns_harness_tables)
 *   u8 tcp (0: UDP, 1: TCP, 2: "TCP when max_size >= 65535", Python's None)
 *   u32 max_size
 *   u32 out_cap (0: DNS_ANSWER_TCP_LIMIT over TCP, else DNS_ANSWER_OUT_CAP(max_size),
 *   at most 1 MiB)
 *   u32 length, then `length` query bytes
 * Reply frame: u32 length (0: no reply), then the reply bytes.
 *
 * The query and the reply buffer are allocated at their exact sizes for
 * every query, so that AddressSanitizer sees any access past either.
 * `-r N` answers each query N times and reports on stderr the time spent in
 * dns_answer() alone, for a throughput figure without the pipe's cost.
 * `-p N` (bench/dns_engines.py) reads every request first, writes each reply
 * once, then answers the whole set N more times in order and reports that
 * time alone: a figure for a mix of queries, each pass a walk over all of
 * them rather than one query again and again, and no clock read per query.
 * Exit status: 0, 2 on a bad frame or usage, 3 when a table is invalid.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HARNESS_RECORDS
#include "dns_resolve.h"
typedef struct dns_records harness_zone;
#define harness_answer dns_resolve
#define harness_valid dns_records_valid
#else
#include "dns_answer.h"
typedef struct dns_table harness_zone;
#define harness_answer dns_answer
#define harness_valid dns_table_valid
#endif

extern const harness_zone *const dns_harness_tables[];
extern const size_t dns_harness_table_count;

static const size_t MAX_OUT_CAP = 1u << 20;

struct request {
    uint8_t zone;
    uint8_t tcp;
    uint32_t max_size;
    uint32_t out_cap;
    uint32_t length;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads one request header: 1 on success, 0 at a clean end of input, -1 on a cut frame. */
static int read_request(struct request *r)
{
    uint8_t head[14];
    size_t got = fread(head, 1, sizeof head, stdin);
    if (got == 0 && feof(stdin))
        return 0;
    if (got != sizeof head)
        return -1;
    r->zone = head[0];
    r->tcp = head[1];
    r->max_size = be32(head + 2);
    r->out_cap = be32(head + 6);
    r->length = be32(head + 10);
    return r->zone < dns_harness_table_count && r->tcp <= 2 ? 1 : -1;
}

static size_t out_cap_for(const struct request *r)
{
    if (r->out_cap)
        return r->out_cap;
    if (r->tcp == 1 || (r->tcp == 2 && r->max_size >= 65535))
        return DNS_ANSWER_TCP_LIMIT;
    size_t cap = DNS_ANSWER_OUT_CAP(r->max_size);
    return cap < MAX_OUT_CAP ? cap : MAX_OUT_CAP;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_reply(const uint8_t *reply, size_t len)
{
    const uint8_t head[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                             (uint8_t)len};
    if (fwrite(head, 1, sizeof head, stdout) != sizeof head)
        return -1;
    return len && fwrite(reply, 1, len, stdout) != len ? -1 : 0;
}

/* Answers one request `repeat` times; adds the time spent to *elapsed. */
static int answer_one(const struct request *r, long repeat, double *elapsed)
{
    /* malloc(0) may give NULL: keep one byte so the pointer is valid, as
     * a caller's would be; ASan still flags a read of it since length 0. */
    uint8_t *query = malloc(r->length ? r->length : 1);
    size_t cap = out_cap_for(r);
    uint8_t *out = malloc(cap ? cap : 1);
    if (!query || !out || fread(query, 1, r->length, stdin) != r->length) {
        free(query);
        free(out);
        return -1;
    }
    int tcp = r->tcp == 2 ? -1 : r->tcp;
    size_t len = 0;
    double start = now();
    for (long i = 0; i < repeat; i++)
        len = harness_answer(dns_harness_tables[r->zone], query, r->length, out, cap, r->max_size, tcp);
    *elapsed += now() - start;
    int status = write_reply(out, len);
    free(query);
    free(out);
    return status;
}

/* One request of the -p mode, kept with its buffers for every pass. */
struct held {
    struct request r;
    uint8_t *query;
    uint8_t *out;
    size_t cap;
};

static void release(struct held *held, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(held[i].query);
        free(held[i].out);
    }
    free(held);
}

/* The -p mode: read every request, reply to each once, then time `passes`
 * walks over all of them. */
static int answer_passes(long passes)
{
    struct held *held = NULL;
    size_t count = 0, room = 0;
    struct request r;
    int status;
    while ((status = read_request(&r)) == 1) {
        if (count == room) {
            room = room ? 2 * room : 256;
            struct held *grown = realloc(held, room * sizeof *held);
            if (!grown) {
                status = -1;
                break;
            }
            held = grown;
        }
        struct held *h = &held[count];
        h->r = r;
        h->cap = out_cap_for(&r);
        h->query = malloc(r.length ? r.length : 1);
        h->out = malloc(h->cap ? h->cap : 1);
        count++;
        if (!h->query || !h->out || fread(h->query, 1, r.length, stdin) != r.length) {
            status = -1;
            break;
        }
    }
    for (size_t i = 0; status == 0 && i < count; i++) {
        struct held *h = &held[i];
        size_t len = harness_answer(dns_harness_tables[h->r.zone], h->query, h->r.length, h->out,
                                    h->cap, h->r.max_size, h->r.tcp == 2 ? -1 : h->r.tcp);
        status = write_reply(h->out, len);
    }
    if (fflush(stdout) != 0 || status != 0) {
        fprintf(stderr, "bad request frame after %zu queries\n", count);
        release(held, count);
        return 2;
    }
    size_t total = 0;
    double start = now();
    for (long pass = 0; pass < passes; pass++) {
        for (size_t i = 0; i < count; i++) {
            struct held *h = &held[i];
            /* Summed so that no call can be left out as unused. */
            total += harness_answer(dns_harness_tables[h->r.zone], h->query, h->r.length, h->out,
                                    h->cap, h->r.max_size, h->r.tcp == 2 ? -1 : h->r.tcp);
        }
    }
    double elapsed = now() - start;
    double answered = (double)count * (double)passes;
    fprintf(stderr, "answered %.0f queries in %.6f s: %.0f queries/s (%zu reply bytes)\n",
            answered, elapsed, elapsed > 0 ? answered / elapsed : 0.0, total);
    release(held, count);
    return 0;
}

int main(int argc, char **argv)
{
    long repeat = 1, passes = 0;
    if (argc == 3 && strcmp(argv[1], "-r") == 0)
        repeat = strtol(argv[2], NULL, 10);
    else if (argc == 3 && strcmp(argv[1], "-p") == 0)
        repeat = passes = strtol(argv[2], NULL, 10);
    else if (argc != 1)
        repeat = 0;
    if (repeat < 1) {
        fprintf(stderr, "usage: %s [-r REPEAT | -p PASSES] < requests > replies\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < dns_harness_table_count; i++) {
        if (!harness_valid(dns_harness_tables[i])) {
            fprintf(stderr, "table %zu is not valid\n", i);
            return 3;
        }
    }
    if (passes)
        return answer_passes(passes);
    struct request r;
    int status;
    long queries = 0;
    double elapsed = 0;
    while ((status = read_request(&r)) == 1) {
        if (answer_one(&r, repeat, &elapsed) != 0) {
            status = -1;
            break;
        }
        queries++;
    }
    if (fflush(stdout) != 0 || status != 0) {
        fprintf(stderr, "bad request frame after %ld queries\n", queries);
        return 2;
    }
    double answered = (double)queries * (double)repeat;
    fprintf(stderr, "answered %.0f queries in %.6f s: %.0f queries/s\n", answered, elapsed,
            elapsed > 0 ? answered / elapsed : 0.0);
    return 0;
}
