/*
 * A small printf-style formatter, portable C (used on every target): the
 * freestanding runtime has no stdio, and the same calls keep hvt and posix
 * output identical.
 *
 * Conversions: d i u x X o c s p %.  Flags: - 0 + space #.  Width and
 * precision, either may be *.  Length: hh h l ll z j t.  No floating point.
 * A specialized image whose C files are all the runtime's own compiles
 * only what the runtime's format strings use (fmt.c, SC_FMT_FULL).
 */
#ifndef SPECC_LIB_FMT_H
#define SPECC_LIB_FMT_H

#include <stdarg.h>
#include <stddef.h>

#define FMT_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Receives the output in pieces; n may be 0. */
typedef void (*fmt_sink)(void *ctx, const char *s, size_t n);

/* Returns the number of characters produced. */
int fmt_vformat(fmt_sink sink, void *ctx, const char *fmt, va_list ap);

/* As C's snprintf: always NUL-terminates when cap > 0, returns the length
 * the whole output would have had. */
int fmt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t cap, const char *fmt, ...) FMT_PRINTF(3, 4);

/* Formats to platform_console_write. */
int console_vprintf(const char *fmt, va_list ap);
int console_printf(const char *fmt, ...) FMT_PRINTF(1, 2);

#endif
