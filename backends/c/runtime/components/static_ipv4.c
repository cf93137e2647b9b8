/* static_ipv4(eth, address, gateway): the direct IPv4 stack with a fixed
 * address (net/).  SC_CONST_address_ip / _prefix and SC_CONST_gateway_some /
 * SC_CONST_gateway come from the instance's constants. */
#include "components/component.h"
#include "net/net.h"

void SC_FN(init)(void) {
    uint32_t gateway = SC_CONST_gateway_some ? (uint32_t)SC_CONST_gateway : 0;
    if (net_init(SC_CONST_address_ip, SC_CONST_address_prefix, gateway) != 0)
        sc_trap("static_ipv4", "no network interface");
}

uint32_t SC_FN(address)(void) { return net_address(); }
