/* console_log(level): log lines at or above the level (LogLevel in
 * declaration order: debug 0, info 1, warn 2, error 3). */
#include "components/component.h"

void SC_FN(init)(void) {}

static void line(const char *prefix, size_t n, sc_str m) {
    sc_buf b = { 0, 0, 0 };
    sc_buf_lit(&b, prefix, n);
    sc_buf_str(&b, m);
    sc_buf_lit(&b, "\n", 1);
    sc_console(sc_buf_done(&b));
}

void SC_FN(debug)(sc_str m) { if (SC_CONST_level <= 0) line("[debug] ", 8, m); }
void SC_FN(info)(sc_str m) { if (SC_CONST_level <= 1) line("[info] ", 7, m); }
void SC_FN(warn)(sc_str m) { if (SC_CONST_level <= 2) line("[warn] ", 7, m); }
void SC_FN(error)(sc_str m) { line("[error] ", 8, m); }
