/*
 * printf-style formatting onto a sink (see fmt.h).
 */
#include "fmt.h"

#include <stdbool.h>
#include <stdint.h>

#include "platform.h"

/* SC_FMT_FULL 0 (a specialized image whose C code is all the runtime's
 * own: backends/c/features.py) compiles only what the runtime's format
 * strings use, which tests/test_runtime_formats.py checks: the conversions
 * d u x s p %, the 0 flag, a width in digits, the lengths l ll z.  Anything
 * else is then shown as written, as an unknown conversion always is. */
#ifndef SC_FMT_FULL
#define SC_FMT_FULL 1
#endif

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16 };

struct out {
    fmt_sink sink;
    void *ctx;
    int count;
};

static void emit(struct out *o, const char *s, size_t n)
{
    if (n) {
        o->sink(o->ctx, s, n);
        o->count += (int)n;
    }
}

static void pad(struct out *o, char c, int n)
{
    static const char spaces[16] = "                ", zeros[16] = "0000000000000000";
    const char *src = c == '0' ? zeros : spaces;
    for (; n > 0; n -= 16)
        emit(o, src, n < 16 ? (size_t)n : 16);
}

/* One integer: sign or 0x prefix, zero fill to the precision (or to the
 * width with the 0 flag), space padding to the width. */
static void format_int(struct out *o, uintmax_t v, bool negative, unsigned base, bool upper,
                       int flags, int width, int prec)
{
    char digits[24];
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    while (v) {
        digits[n++] = set[v % base];
        v /= base;
    }
    if (!SC_FMT_FULL) { /* no precision, and no flag but 0 (and %p's #) */
        prec = -1;
        flags &= F_ZERO | F_ALT;
    }
    if (prec < 0)
        prec = 1;
    else
        flags &= ~F_ZERO; /* as in C: a precision disables 0-padding */

    char prefix[2];
    int plen = 0;
    if (negative)
        prefix[plen++] = '-';
    else if (flags & F_PLUS)
        prefix[plen++] = '+';
    else if (flags & F_SPACE)
        prefix[plen++] = ' ';
    if ((flags & F_ALT) && base == 16 && n) {
        prefix[plen++] = '0';
        prefix[plen++] = upper ? 'X' : 'x';
    } else if (SC_FMT_FULL && (flags & F_ALT) && base == 8 && prec <= n) {
        prec = n + 1;
    }

    int zeros = prec > n ? prec - n : 0;
    int fill = width - plen - zeros - n;
    if ((flags & F_ZERO) && !(flags & F_LEFT) && fill > 0) {
        zeros += fill;
        fill = 0;
    }
    if (!(flags & F_LEFT))
        pad(o, ' ', fill);
    emit(o, prefix, (size_t)plen);
    pad(o, '0', zeros);
    for (int i = n - 1; i >= 0; i--)
        emit(o, &digits[i], 1);
    if (flags & F_LEFT)
        pad(o, ' ', fill);
}

static void format_str(struct out *o, const char *s, int flags, int width, int prec)
{
    if (!s)
        s = "(null)";
    size_t n = 0;
    while (s[n] && (prec < 0 || n < (size_t)prec))
        n++;
    int fill = width - (int)n;
    if (!(flags & F_LEFT))
        pad(o, ' ', fill);
    emit(o, s, n);
    if (flags & F_LEFT)
        pad(o, ' ', fill);
}

int fmt_vformat(fmt_sink sink, void *ctx, const char *fmt, va_list ap)
{
    struct out o = {sink, ctx, 0};
    va_list args;
    va_copy(args, ap);
    while (*fmt) {
        const char *lit = fmt;
        while (*fmt && *fmt != '%')
            fmt++;
        emit(&o, lit, (size_t)(fmt - lit));
        if (!*fmt)
            break;
        const char *spec = fmt++;

        int flags = 0;
        for (;; fmt++) {
            if (SC_FMT_FULL && *fmt == '-')
                flags |= F_LEFT;
            else if (*fmt == '0')
                flags |= F_ZERO;
            else if (!SC_FMT_FULL)
                break;
            else if (*fmt == '+')
                flags |= F_PLUS;
            else if (*fmt == ' ')
                flags |= F_SPACE;
            else if (*fmt == '#')
                flags |= F_ALT;
            else
                break;
        }
        int width = 0;
        if (SC_FMT_FULL && *fmt == '*') {
            width = va_arg(args, int);
            if (width < 0) {
                flags |= F_LEFT;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        int prec = -1;
        if (SC_FMT_FULL && *fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(args, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    prec = prec * 10 + (*fmt++ - '0');
            }
        }
        /* Length modifier, reduced to the size of the argument. */
        int size = 0; /* -2 hh, -1 h, 0 int, 1 long, 2 long long (and the rest) */
        if (SC_FMT_FULL && *fmt == 'h') {
            size = -1;
            if (*++fmt == 'h') {
                size = -2;
                fmt++;
            }
        } else if (*fmt == 'l') {
            size = 1;
            if (*++fmt == 'l') {
                size = 2;
                fmt++;
            }
        } else if (*fmt == 'z' || (SC_FMT_FULL && (*fmt == 'j' || *fmt == 't'))) {
            size = 2; /* size_t, intmax_t, ptrdiff_t: 64 bits here */
            fmt++;
        }

        char conv = *fmt ? *fmt++ : '\0';
        if (!SC_FMT_FULL && conv != 'd' && conv != 'u' && conv != 'x' && conv != 's' &&
            conv != 'p' && conv != '%')
            conv = '\0'; /* not compiled: shown as written */
        switch (conv) {
        case 'd':
        case 'i': {
            intmax_t v = size == 2   ? va_arg(args, long long)
                         : size == 1 ? va_arg(args, long)
                                     : va_arg(args, int);
            if (size == -1)
                v = (short)v;
            else if (size == -2)
                v = (signed char)v;
            uintmax_t mag = v < 0 ? (uintmax_t)0 - (uintmax_t)v : (uintmax_t)v;
            format_int(&o, mag, v < 0, 10, false, flags, width, prec);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uintmax_t v = size == 2   ? va_arg(args, unsigned long long)
                          : size == 1 ? va_arg(args, unsigned long)
                                      : va_arg(args, unsigned);
            if (size == -1)
                v = (unsigned short)v;
            else if (size == -2)
                v = (unsigned char)v;
            unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
            format_int(&o, v, false, base, conv == 'X', flags & ~(F_PLUS | F_SPACE), width,
                       prec);
            break;
        }
        case 'p':
            format_int(&o, (uintptr_t)va_arg(args, void *), false, 16, false, F_ALT, width, -1);
            break;
        case 'c': {
            char c = (char)va_arg(args, int);
            if (!(flags & F_LEFT))
                pad(&o, ' ', width - 1);
            emit(&o, &c, 1);
            if (flags & F_LEFT)
                pad(&o, ' ', width - 1);
            break;
        }
        case 's':
            format_str(&o, va_arg(args, const char *), flags, width, prec);
            break;
        case '%':
            emit(&o, "%", 1);
            break;
        default:
            /* Unknown conversion: show it as written rather than guess. */
            emit(&o, spec, (size_t)(fmt - spec));
            break;
        }
    }
    va_end(args);
    return o.count;
}

/* ---- into a buffer ---- */

struct buffer {
    char *buf;
    size_t cap, len;
};

static void buffer_sink(void *ctx, const char *s, size_t n)
{
    struct buffer *b = ctx;
    for (size_t i = 0; i < n; i++, b->len++)
        if (b->len + 1 < b->cap)
            b->buf[b->len] = s[i];
}

int fmt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct buffer b = {buf, cap, 0};
    int n = fmt_vformat(buffer_sink, &b, fmt, ap);
    if (cap)
        buf[b.len < cap ? b.len : cap - 1] = '\0';
    return n;
}

int fmt_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- onto the console, in chunks so that short pieces do not each cost
 * a platform call ---- */

struct console {
    char buf[128];
    size_t len;
};

static void console_sink(void *ctx, const char *s, size_t n)
{
    struct console *c = ctx;
    for (size_t i = 0; i < n; i++) {
        if (c->len == sizeof c->buf) {
            platform_console_write(c->buf, c->len);
            c->len = 0;
        }
        c->buf[c->len++] = s[i];
    }
}

int console_vprintf(const char *fmt, va_list ap)
{
    struct console c;
    c.len = 0;
    int n = fmt_vformat(console_sink, &c, fmt, ap);
    platform_console_write(c.buf, c.len);
    return n;
}

int console_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = console_vprintf(fmt, ap);
    va_end(ap);
    return n;
}
