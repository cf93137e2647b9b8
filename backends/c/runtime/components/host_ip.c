/* host_ip(): the host's IP stack; sockets bind to --bind (default 0.0.0.0).
 * core/boot.c has parsed --bind already (its hook, backends/net/component.py,
 * declares it): a bad address never gets here. */
#include "components/component.h"

static uint32_t bind_address;

void SC_FN(init)(void) {
    const sc_arg_value *bind = sc_boot_value("bind");
    bind_address = bind ? (uint32_t)bind->u : 0;
}

uint32_t SC_FN(address)(void) { return bind_address; }
