/* dns_zone(zone): answers precomputed at compile time (backends/dns). */
#include "components/component.h"
#include "dns/dns_answer.h"

/* The generated table of this instance: SC_DNS_TABLE names it. */
extern const struct dns_table SC_DNS_TABLE;

void SC_FN(init)(void) {}

sc_opt_bytes SC_FN(answer)(sc_bytes query, uint16_t max_size) {
    size_t cap = max_size > 512 ? max_size : 512;
    uint8_t *out = sc_alloc(cap);
    /* -1: TCP when max_size is 65535, as dns_over_tcp asks (the Python twin's tcp=None). */
    size_t n = dns_answer(&SC_DNS_TABLE, query.ptr, query.len, out, cap, max_size, -1);
    if (n == 0) return (sc_opt_bytes){ false, { 0, 0 } };
    return (sc_opt_bytes){ true, { out, n } };
}
