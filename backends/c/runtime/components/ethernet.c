/* ethernet(net): Ethernet II framing lives in the IPv4 stack (net/); the
 * instance is the graph's record that it is in the image. */
#include "components/component.h"

void SC_FN(init)(void) {}
