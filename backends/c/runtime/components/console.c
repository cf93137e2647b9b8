/* console(): text to the console. */
#include "components/component.h"

void SC_FN(init)(void) {}

void SC_FN(write)(sc_str s) { sc_console(s); }
