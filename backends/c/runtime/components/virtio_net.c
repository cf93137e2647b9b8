/* virtio_net(): the platform drives the virtio-mmio network device; this
 * instance only checks that it is there. */
#include "components/component.h"

void SC_FN(init)(void) {
    uint8_t mac[6];
    size_t mtu;
    if (platform_net_info(mac, &mtu) != 0) sc_trap("virtio_net", "no virtio-net device");
}
