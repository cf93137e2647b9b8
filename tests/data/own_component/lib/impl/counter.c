/* counter(out, start, step): a total kept across calls. */
#include "components/component.h"

static uint64_t total = SC_CONST_start;

void SC_FN(init)(void) {
    static const char ready[] = "counter ready\n";
    SC_OP(out, write)((sc_str){ ready, sizeof ready - 1 });
}

uint64_t SC_FN(add)(uint64_t n) {
    total += n * SC_CONST_step;
    return total;
}

uint64_t SC_FN(total)(void) { return total; }
