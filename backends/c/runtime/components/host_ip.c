/* host_ip(): the host's IP stack; sockets bind to --bind (default 0.0.0.0). */
#include "components/component.h"

static uint32_t bind_address;

void SC_FN(init)(void) {
    size_t n;
    const char *text = sc_param("bind", &n);
    bind_address = text ? sc_param_ipv4("bind", text, n) : 0;
}

uint32_t SC_FN(address)(void) { return bind_address; }
