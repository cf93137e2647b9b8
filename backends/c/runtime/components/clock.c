/* clock(): monotonic time since boot. */
#include "components/component.h"

void SC_FN(init)(void) {}

int64_t SC_FN(now)(void) { return sc_now(); }
