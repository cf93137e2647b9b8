/* dns_zone(zone): answers precomputed at compile time (backends/dns), or,
 * unspecialized (--no-specialize, SC_DNS_RECORDS defined), decided at run
 * time from the zone's records (dns/dns_resolve.h). */
#include "components/component.h"
#ifdef SC_DNS_RECORDS
#include "dns/dns_resolve.h"

/* The generated record table of this instance. */
extern const struct dns_records SC_DNS_RECORDS;
#define SC_DNS_ZONE SC_DNS_RECORDS
#define SC_DNS_ANSWER dns_resolve
#else
#include "dns/dns_answer.h"

/* The generated table of this instance: SC_DNS_TABLE names it. */
extern const struct dns_table SC_DNS_TABLE;
#define SC_DNS_ZONE SC_DNS_TABLE
#define SC_DNS_ANSWER dns_answer
#endif

void SC_FN(init)(void) {}

static sc_opt_bytes reply(sc_bytes query, uint16_t max_size, int tcp, size_t cap) {
    uint8_t *out = sc_alloc(cap);
    size_t n = SC_DNS_ANSWER(&SC_DNS_ZONE, query.ptr, query.len, out, cap, max_size, tcp);
    if (n == 0) return (sc_opt_bytes){ false, { 0, 0 } };
    return (sc_opt_bytes){ true, { out, n } };
}

/* Over UDP; -1: as over TCP when max_size is 65535 (the Python twin's
 * tcp=None), which is how callers asked for TCP answers before answer_tcp. */
sc_opt_bytes SC_FN(answer)(sc_bytes query, uint16_t max_size) {
    size_t cap = max_size >= DNS_ANSWER_TCP_LIMIT ? DNS_ANSWER_TCP_LIMIT
                                                  : DNS_ANSWER_OUT_CAP(max_size);
    return reply(query, max_size, -1, cap);
}

/* Over TCP: never cut; `udp_size` is only advertised. */
sc_opt_bytes SC_FN(answer_tcp)(sc_bytes query, uint16_t udp_size) {
    return reply(query, udp_size, 1, DNS_ANSWER_TCP_LIMIT);
}
