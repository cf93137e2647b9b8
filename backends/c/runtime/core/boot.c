/* Reading the runtime parameters at boot, by the rules of backends/boot.py
 * (the same rules runtime/params.py follows on the python target).
 *
 * The generated app_main passes the image's table (sc_boot_table): its help
 * text, one sc_arg per parameter and the wording of every message, all
 * written by the C back end from the image's Boot.  The arguments come from
 * sc_target_args(): argv on unix, the words of the kernel command line on
 * hvt.  Every error is one line and exit status 64. */
#include "sc.h"

#include <string.h>

static const sc_boot_table *table;

/* Write a message: each "{N}" of the template is replaced by piece N. */
typedef struct { const char *ptr; size_t len; } piece;

static _Noreturn void say(int message, const piece *pieces, size_t count) {
    const char *t = table->messages[message];
    while (*t) {
        if (t[0] == '{' && t[1] >= '0' && t[1] <= '9' && t[2] == '}' &&
            (size_t)(t[1] - '0') < count) {
            const piece *p = &pieces[t[1] - '0'];
            platform_error_write(p->ptr, p->len);
            t += 3;
            continue;
        }
        size_t n = 0;
        while (t[n] && t[n] != '{') n++;
        if (n == 0) n = 1; /* a '{' that starts no placeholder */
        platform_error_write(t, n);
        t += n;
    }
    platform_error_write("\n", 1);
    platform_exit(SC_EXIT_USAGE);
}

static piece text(const char *s) { return (piece){ s, strlen(s) }; }

/* ---- did you mean ---------------------------------------------------------- */

static size_t edit_distance(const char *a, size_t an, const char *b, size_t bn) {
    size_t row[SC_BOOT_LONGEST + 1];
    for (size_t j = 0; j <= bn; j++) row[j] = j;
    for (size_t i = 1; i <= an; i++) {
        size_t previous = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t here = row[j];
            size_t best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            if (previous + (a[i - 1] != b[j - 1]) < best) best = previous + (a[i - 1] != b[j - 1]);
            row[j] = best;
            previous = here;
        }
    }
    return row[bn];
}

static const char *suggestion(const char *name, size_t n) {
    if (n > SC_BOOT_LONGEST) return 0;
    const char *best = 0;
    size_t best_distance = 0;
    for (size_t i = 0; i < table->count; i++) {
        const char *flag = table->args[i].flag;
        size_t fn = strlen(flag);
        if (fn > SC_BOOT_LONGEST) continue;
        size_t d = edit_distance(name, n, flag, fn);
        if (d <= 2 && d < n && (!best || d < best_distance)) {
            best = flag;
            best_distance = d;
        }
    }
    return best;
}

/* ---- values ------------------------------------------------------------------ */

/* Decimal digits, single '_' between digits, no leading zero. */
static bool number(const char *t, size_t n, uint64_t *out, bool *overflow) {
    if (n == 0 || (t[0] == '0' && n > 1)) return false;
    uint64_t v = 0;
    *overflow = false;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '_') {
            if (i == 0 || i + 1 == n || t[i + 1] < '0' || t[i + 1] > '9') return false;
            continue;
        }
        if (t[i] < '0' || t[i] > '9') return false;
        uint64_t digit = (uint64_t)(t[i] - '0');
        if (v > (UINT64_MAX - digit) / 10) *overflow = true;
        else v = v * 10 + digit;
    }
    *out = v;
    return true;
}

static bool octet(const char *t, size_t n, uint32_t *out, uint32_t max) {
    if (n == 0 || n > 3 || (t[0] == '0' && n > 1)) return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9') return false;
        v = v * 10 + (uint32_t)(t[i] - '0');
    }
    *out = v;
    return v <= max;
}

static bool ipv4(const char *t, size_t n, uint32_t *out) {
    uint32_t v = 0;
    size_t start = 0;
    for (int part = 0; part < 4; part++) {
        size_t end = start;
        while (end < n && t[end] != '.') end++;
        if ((part < 3) != (end < n)) return false;
        uint32_t o;
        if (!octet(t + start, end - start, &o, 255)) return false;
        v = v << 8 | o;
        start = end + 1;
    }
    *out = v;
    return true;
}

static bool utf8_valid(const char *s, size_t n) {
    const uint8_t *t = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        uint8_t c = t[i];
        size_t more;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) { more = 1; cp = c & 0x1fu; }
        else if (c >= 0xe0 && c <= 0xef) { more = 2; cp = c & 0x0fu; }
        else if (c >= 0xf0 && c <= 0xf4) { more = 3; cp = c & 0x07u; }
        else return false;
        if (n - i <= more) return false; /* cut short */
        for (size_t k = 1; k <= more; k++) {
            if ((t[i + k] & 0xc0u) != 0x80u) return false;
            cp = cp << 6 | (t[i + k] & 0x3fu);
        }
        if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += more + 1;
    }
    return true;
}

typedef struct { const char *unit; uint64_t scale; } unit;
static const unit duration_units[] = { { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 },
    { "s", 1000000000 }, { "m", 60000000000 }, { "h", 3600000000000 }, { 0, 0 } };
static const unit size_units[] = { { "KiB", 1u << 10 }, { "MiB", 1u << 20 },
    { "GiB", 1u << 30 }, { "B", 1 }, { 0, 0 } };

/* A number and a unit: false when the syntax is wrong; *range_error when
 * the value passes `high`. */
static bool scaled(const char *t, size_t n, const unit *units, uint64_t high, uint64_t *out,
                   bool *range_error) {
    /* The longest unit that ends the text ("ms" before "s"). */
    const unit *found = 0;
    for (const unit *u = units; u->unit; u++) {
        size_t un = strlen(u->unit);
        if (un <= n && memcmp(t + n - un, u->unit, un) == 0 &&
            (!found || un > strlen(found->unit)))
            found = u;
    }
    if (!found) return false;
    uint64_t v;
    bool overflow;
    if (!number(t, n - strlen(found->unit), &v, &overflow)) return false;
    *range_error = overflow || v > high / found->scale;
    *out = v * found->scale;
    return true;
}

static void parse(size_t index, const char *t, size_t n) {
    const sc_arg *a = &table->args[index];
    sc_arg_value *v = &table->values[index];
    piece pieces[3] = { text(a->flag), { t, n }, text(a->what) };
    bool ok = false, range_error = false, overflow = false;
    if (SC_BOOT_OPTIONS && a->optional && n == 4 && memcmp(t, "none", 4) == 0) {
        v->none = true;
        return;
    }
    /* A kind this build does not parse (SC_BOOT_PARSES) is in no table of
     * it: the case is left empty rather than compiled. */
    switch (a->kind) {
    case SC_ARG_UINT:
        if (!SC_BOOT_PARSES(SC_ARG_UINT)) break;
        ok = number(t, n, &v->u, &overflow);
        range_error = overflow || v->u > a->high;
        break;
    case SC_ARG_INT: {
        if (!SC_BOOT_PARSES(SC_ARG_INT)) break;
        bool negative = n > 0 && t[0] == '-';
        uint64_t magnitude;
        ok = number(t + negative, n - negative, &magnitude, &overflow);
        range_error = overflow || magnitude > (negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX);
        v->i = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
        break;
    }
    case SC_ARG_BOOL:
        if (!SC_BOOT_PARSES(SC_ARG_BOOL)) break;
        ok = (n == 4 && memcmp(t, "true", 4) == 0) || (n == 5 && memcmp(t, "false", 5) == 0);
        v->u = n == 4;
        break;
    case SC_ARG_STRING:
        if (!SC_BOOT_PARSES(SC_ARG_STRING)) break;
        ok = utf8_valid(t, n);
        break;
    case SC_ARG_IPV4: {
        if (!SC_BOOT_PARSES(SC_ARG_IPV4)) break;
        uint32_t address;
        ok = ipv4(t, n, &address);
        v->u = address;
        break;
    }
    case SC_ARG_CIDR: {
        if (!SC_BOOT_PARSES(SC_ARG_CIDR)) break;
        const char *slash = memchr(t, '/', n);
        uint32_t address, prefix;
        ok = slash && ipv4(t, (size_t)(slash - t), &address) &&
             octet(slash + 1, n - (size_t)(slash - t) - 1, &prefix, 32);
        if (ok) v->cidr = (sc_cidr){ address, (uint8_t)prefix };
        break;
    }
    case SC_ARG_DURATION:
        if (!SC_BOOT_PARSES(SC_ARG_DURATION)) break;
        ok = scaled(t, n, duration_units, a->high, &v->u, &range_error);
        v->i = (int64_t)v->u;
        break;
    case SC_ARG_SIZE:
        if (!SC_BOOT_PARSES(SC_ARG_SIZE)) break;
        ok = scaled(t, n, size_units, a->high, &v->u, &range_error);
        break;
    case SC_ARG_ENUM:
        if (!SC_BOOT_PARSES(SC_ARG_ENUM)) break;
        for (size_t k = 0; a->variants[k]; k++)
            if (strlen(a->variants[k]) == n && memcmp(a->variants[k], t, n) == 0) {
                ok = true;
                v->u = k;
            }
        break;
    }
    if (!ok) say(SC_MSG_BAD_VALUE, pieces, 3);
    if (range_error) {
        pieces[2] = text(a->range_text);
        say(SC_MSG_OUT_OF_RANGE, pieces, 3);
    }
}

/* ---- the arguments ------------------------------------------------------- */

void sc_boot(const sc_boot_table *boot) {
    table = boot;
    size_t count;
    const sc_str *args = sc_target_args(&count);
    size_t joined = 0;
    for (size_t i = 0; i < count; i++) joined += args[i].len + (i > 0);
    if (sc_target_args_cut() || joined > SC_BOOT_LIMIT) {
        char digits[24];
        size_t k = sizeof digits;
        uint64_t limit = SC_BOOT_LIMIT;
        do digits[--k] = (char)('0' + limit % 10); while ((limit /= 10) != 0);
        piece p = { digits + k, sizeof digits - k };
        say(SC_MSG_TOO_LONG, &p, 1);
    }
    for (size_t i = 0; i < count; i++) {
        const char *w = args[i].ptr;
        size_t n = args[i].len;
        if ((n == 6 && memcmp(w, "--help", 6) == 0) || (n == 2 && memcmp(w, "-h", 2) == 0)) {
            platform_console_write(boot->usage, strlen(boot->usage));
            platform_exit(0);
        }
        const char *eq = memchr(w, '=', n);
        piece whole = { w, n };
        if (n < 2 || w[0] != '-' || w[1] != '-' || !eq || eq == w + 2) say(SC_MSG_MALFORMED, &whole, 1);
        piece name[2] = { { w + 2, (size_t)(eq - w - 2) }, { 0, 0 } };
        size_t index = boot->count;
        for (size_t k = 0; k < boot->count; k++)
            if (strlen(boot->args[k].flag) == name[0].len &&
                memcmp(boot->args[k].flag, name[0].ptr, name[0].len) == 0)
                index = k;
        if (index == boot->count) {
            const char *close = suggestion(name[0].ptr, name[0].len);
            if (!close) say(SC_MSG_UNKNOWN, name, 1);
            name[1] = text(close);
            say(SC_MSG_SUGGEST, name, 2);
        }
        if (boot->values[index].text) say(SC_MSG_TWICE, name, 1);
        boot->values[index].text = eq + 1;
        boot->values[index].len = n - (size_t)(eq + 1 - w);
    }
    for (size_t k = 0; k < boot->count; k++)
        if (boot->values[k].text) parse(k, boot->values[k].text, boot->values[k].len);
}

_Noreturn void sc_boot_requires_failed(size_t index) {
    const sc_arg *a = &table->args[index];
    const sc_arg_value *v = &table->values[index];
    piece pieces[4] = { text(a->flag), v->text ? (piece){ v->text, v->len } : text(a->default_text),
                        text(a->requires_text), text(a->requires_at) };
    say(SC_MSG_REQUIRES, pieces, 4);
}

const sc_arg_value *sc_boot_value(const char *flag) {
    for (size_t k = 0; table && k < table->count; k++)
        if (strcmp(table->args[k].flag, flag) == 0)
            return table->values[k].text ? &table->values[k] : 0;
    return 0;
}
