/* timer(): functions run after a delay, or every period. */
#include "components/component.h"

void SC_FN(init)(void) {}

void SC_FN(after)(int64_t d, sc_thunk f) { sc_after(d, f); }
void SC_FN(every)(int64_t d, sc_thunk f) { sc_every(d, f); }
