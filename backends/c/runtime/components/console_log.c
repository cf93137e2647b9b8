/* console_log(level): log lines at or above the level (LogLevel in
 * declaration order: debug 0, info 1, warn 2, error 3). */
#include "components/component.h"

void SC_FN(init)(void) {}

/* Straight to the console, in three writes: the runtime is single-threaded,
 * so nothing comes between them, and a log line takes no arena memory (it
 * cannot run out of it while reporting). */
static void line(const char *prefix, size_t n, sc_str m) {
    platform_console_write(prefix, n);
    platform_console_write(m.ptr, m.len);
    platform_console_write("\n", 1);
}

void SC_FN(debug)(sc_str m) { if (SC_CONST_level <= 0) line("[debug] ", 8, m); }
void SC_FN(info)(sc_str m) { if (SC_CONST_level <= 1) line("[info] ", 7, m); }
void SC_FN(warn)(sc_str m) { if (SC_CONST_level <= 2) line("[warn] ", 7, m); }
void SC_FN(error)(sc_str m) { line("[error] ", 8, m); }
