/* dns_zone(zone): answers precomputed at compile time (backends/dns). */
#include "components/component.h"
#include "dns/dns_answer.h"

/* The generated table of this instance: SC_DNS_TABLE names it. */
extern const struct dns_table SC_DNS_TABLE;

void SC_FN(init)(void) {}

static sc_opt_bytes reply(sc_bytes query, uint16_t max_size, int tcp, size_t cap) {
    uint8_t *out = sc_alloc(cap);
    size_t n = dns_answer(&SC_DNS_TABLE, query.ptr, query.len, out, cap, max_size, tcp);
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
