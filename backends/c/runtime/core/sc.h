/*
 * The run-time core of a C image: the values generated code works with,
 * checked arithmetic, traps, string building and the event loop.
 *
 * Memory: strings, bytes and lists built while handling one event (a
 * datagram, a timer) live in an arena that is reset after the event.
 * A handler's reply is consumed by the component before the reset.  The one
 * thing that outlives an event is a top-level `var`: a value assigned to one
 * is copied out of the arena into the var's own storage (sc_keep below).
 * Exhausting the arena traps at the spec position of the operation that
 * asked for memory.
 *
 * Lists are `{ const T *ptr; size_t len; }` structs typedef'd per element
 * type by the generated code (sc_list_u8, sc_list_Peer, ...); the helpers
 * below work on any of them through element sizes.
 */
#ifndef SPECC_SC_H
#define SPECC_SC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/platform.h"

/* ---- values --------------------------------------------------------- */

typedef struct { const uint8_t *ptr; size_t len; } sc_bytes;
typedef struct { const char *ptr; size_t len; } sc_str;
typedef struct { uint32_t address; uint8_t prefix; } sc_cidr;
typedef struct { bool some; sc_bytes value; } sc_opt_bytes;
typedef struct { bool some; sc_str value; } sc_opt_str;

/* The prelude's structs (LANGUAGE.md section 12). */
typedef struct Datagram {
    uint32_t src;
    uint16_t src_port;
    uint16_t dst_port;
    sc_bytes payload;
} Datagram;

typedef struct Conn {
    uint32_t peer;
    uint16_t peer_port;
    uint32_t id;
} Conn;

typedef sc_opt_bytes (*sc_udp_handler)(Datagram);
typedef void (*sc_thunk)(void);

#define SC_STR(literal) ((sc_str){ (literal), sizeof(literal) - 1 })

/* ---- traps ------------------------------------------------------------ */

/* "pos: message" on the console, then exit with status 70 (EX_SOFTWARE). */
_Noreturn void sc_trap(const char *pos, const char *message);
/* The traps whose message carries values, worded as the python target's. */
_Noreturn void sc_trap_index(const char *pos, uint64_t index, uint64_t len);
_Noreturn void sc_trap_slice(const char *pos, uint64_t lo, uint64_t hi, uint64_t len);
#define SC_EXIT_TRAP 70
#define SC_EXIT_USAGE 64

/* ---- checked arithmetic ------------------------------------------------ */

#define SC_ARITH(T, N)                                                               \
    static inline T sc_add_##N(T a, T b, const char *pos) {                         \
        T r; if (__builtin_add_overflow(a, b, &r)) sc_trap(pos, "integer overflow"); \
        return r; }                                                                  \
    static inline T sc_sub_##N(T a, T b, const char *pos) {                         \
        T r; if (__builtin_sub_overflow(a, b, &r)) sc_trap(pos, "integer overflow"); \
        return r; }                                                                  \
    static inline T sc_mul_##N(T a, T b, const char *pos) {                         \
        T r; if (__builtin_mul_overflow(a, b, &r)) sc_trap(pos, "integer overflow"); \
        return r; }
SC_ARITH(uint8_t, u8)
SC_ARITH(uint16_t, u16)
SC_ARITH(uint32_t, u32)
SC_ARITH(uint64_t, u64)
SC_ARITH(int64_t, i64)

/* Division and remainder truncate toward zero (C's own rule), trapping on
 * zero and on the one signed overflow, INT64_MIN / -1. */
#define SC_UDIV(T, N)                                                                \
    static inline T sc_div_##N(T a, T b, const char *pos) {                         \
        if (b == 0) sc_trap(pos, "division by zero");                                \
        return (T)(a / b); }                                                         \
    static inline T sc_rem_##N(T a, T b, const char *pos) {                         \
        if (b == 0) sc_trap(pos, "division by zero");                                \
        return (T)(a % b); }
SC_UDIV(uint8_t, u8)
SC_UDIV(uint16_t, u16)
SC_UDIV(uint32_t, u32)
SC_UDIV(uint64_t, u64)

static inline int64_t sc_div_i64(int64_t a, int64_t b, const char *pos) {
    if (b == 0) sc_trap(pos, "division by zero");
    if (b == -1 && a == INT64_MIN) sc_trap(pos, "integer overflow");
    return a / b;
}

static inline int64_t sc_rem_i64(int64_t a, int64_t b, const char *pos) {
    if (b == 0) sc_trap(pos, "division by zero");
    return b == -1 ? 0 : a % b;
}

/* Duration / Duration (v1.1): a u64, so a negative quotient does not fit;
 * INT64_MIN / -1 is 2^63, which does. */
static inline uint64_t sc_ratio_duration(int64_t a, int64_t b, const char *pos) {
    if (b == 0) sc_trap(pos, "division by zero");
    if (b == -1 && a == INT64_MIN) return UINT64_C(1) << 63;
    if ((a < 0) != (b < 0) && a / b != 0) sc_trap(pos, "integer overflow");
    return (uint64_t)(a / b);
}

/* Shifts: the amount must be 0 .. width-1, and a `<<` whose result does not
 * fit its type traps (LANGUAGE.md section 4); `>>` of a negative i64 is
 * arithmetic.  The shift itself is done on uint64_t, where it is defined. */
#define SC_SHIFT(T, N, W)                                                            \
    static inline T sc_shl_##N(T a, T b, const char *pos) {                         \
        if ((uint64_t)b >= (W)) sc_trap(pos, "shift amount out of range");          \
        T r = (T)((uint64_t)a << (uint64_t)b);                                      \
        if ((T)(r >> b) != a) sc_trap(pos, "integer overflow");                     \
        return r; }                                                                  \
    static inline T sc_shr_##N(T a, T b, const char *pos) {                         \
        if ((uint64_t)b >= (W)) sc_trap(pos, "shift amount out of range");          \
        return (T)(a >> b); }
SC_SHIFT(uint8_t, u8, 8)
SC_SHIFT(uint16_t, u16, 16)
SC_SHIFT(uint32_t, u32, 32)
SC_SHIFT(uint64_t, u64, 64)

static inline int64_t sc_shl_i64(int64_t a, int64_t b, const char *pos) {
    if (b < 0 || b >= 64) sc_trap(pos, "shift amount out of range");
    int64_t r = (int64_t)((uint64_t)a << b);
    if ((r >> b) != a) sc_trap(pos, "integer overflow");
    return r;
}
static inline int64_t sc_shr_i64(int64_t a, int64_t b, const char *pos) {
    if (b < 0 || b >= 64) sc_trap(pos, "shift amount out of range");
    return a >> b;
}

/* A value converted to a narrower type must fit (`as`). */
static inline int64_t sc_fit(int64_t v, int64_t lo, int64_t hi, const char *pos) {
    if (v < lo || v > hi) sc_trap(pos, "integer overflow");
    return v;
}
static inline uint64_t sc_fit_u(uint64_t v, uint64_t hi, const char *pos) {
    if (v > hi) sc_trap(pos, "integer overflow");
    return v;
}

/* ---- bytes and strings ---------------------------------------------------- */

void *sc_alloc(size_t size);       /* from the event's arena; traps when exhausted */
void *sc_alloc_at(size_t size, const char *pos);  /* the same, trapping at pos */
void sc_arena_reset(void);
size_t sc_arena_free(void);        /* bytes still available this event */
/* Exit with a usage message (status 64) unless the arena holds `need`
 * bytes: what the compiler knows one event takes (app_main asks first). */
void sc_arena_require(size_t need);

bool sc_bytes_eq(sc_bytes a, sc_bytes b);
bool sc_str_eq(sc_str a, sc_str b);
int sc_bytes_cmp(sc_bytes a, sc_bytes b);
sc_bytes sc_bytes_concat(sc_bytes a, sc_bytes b, const char *pos);
sc_str sc_str_concat(sc_str a, sc_str b, const char *pos);
uint8_t sc_bytes_at(sc_bytes b, uint64_t i, const char *pos);
sc_bytes sc_bytes_slice(sc_bytes b, bool has_lo, uint64_t lo, bool has_hi, uint64_t hi,
                        const char *pos);

/* Lists: `a + b` of n-byte elements, and the bounds of a slice of a list of
 * len elements (trapping as the python target does). */
const void *sc_list_concat(const void *a, size_t an, const void *b, size_t bn, size_t size,
                           const char *pos);
typedef struct { size_t lo, hi; } sc_range;
sc_range sc_slice_range(size_t len, bool has_lo, uint64_t lo, bool has_hi, uint64_t hi,
                        const char *pos);
sc_opt_str sc_utf8(sc_bytes b);
static inline sc_bytes sc_str_bytes(sc_str s) { return (sc_bytes){ (const uint8_t *)s.ptr, s.len }; }

/* A string built piece by piece (string interpolation); pos, when not NULL,
 * is where running out of memory traps. */
typedef struct { char *ptr; size_t len, cap; const char *pos; } sc_buf;
void sc_buf_str(sc_buf *b, sc_str s);
void sc_buf_lit(sc_buf *b, const char *s, size_t n);
void sc_buf_u64(sc_buf *b, uint64_t v);
void sc_buf_i64(sc_buf *b, int64_t v);
void sc_buf_bool(sc_buf *b, bool v);
void sc_buf_ipv4(sc_buf *b, uint32_t v);
void sc_buf_cidr(sc_buf *b, sc_cidr v);
void sc_buf_duration(sc_buf *b, int64_t ns);
void sc_buf_size(sc_buf *b, uint64_t bytes);
void sc_buf_hex(sc_buf *b, sc_bytes v);
static inline sc_str sc_buf_done(sc_buf *b) { return (sc_str){ b->ptr, b->len }; }

void sc_print(sc_str s);           /* the console, with a newline */
void sc_console(sc_str s);         /* the console, as is */

/* ---- top-level vars ------------------------------------------------------- */

/* The storage of a `var` whose values hold strings, bytes or lists is two
 * halves of SC_VAR_CAPACITY bytes; an assignment deep-copies the new value
 * into the half not in use (the value may still point into the other one,
 * as `s = s[1:]` does).  A value that does not fit traps at the assignment. */
#define SC_VAR_CAPACITY 65536u
typedef struct { uint8_t *base; size_t used; const char *pos; } sc_keep;
static inline const uint8_t *sc_keep_bytes(sc_keep *k, const uint8_t *p, size_t n) {
    if (n > SC_VAR_CAPACITY - k->used) sc_trap(k->pos, "value too big for its `var` (64 KiB)");
    uint8_t *q = k->base + k->used;
    if (n) __builtin_memcpy(q, p, n);
    k->used += n;
    return q;
}
/* Where list elements start: aligned as the arena aligns (16). */
static inline void sc_keep_align(sc_keep *k) {
    k->used = (k->used + 15u) & ~(size_t)15u;
    if (k->used > SC_VAR_CAPACITY) k->used = SC_VAR_CAPACITY;
}

/* ---- time and the event loop ---------------------------------------------- */

int64_t sc_now(void);              /* monotonic Duration since boot, ns */
void sc_after(int64_t delay_ns, sc_thunk f);
void sc_every(int64_t period_ns, sc_thunk f);
void sc_cancel(sc_thunk f);        /* forget every timer that would call f */
void sc_loop_run(void);            /* until nothing can happen any more */

/* What each target's glue provides to the loop: wait for I/O or a deadline
 * (dispatching whatever I/O arrived) and say whether anything listens. */
void sc_target_wait(uint64_t deadline_ns, bool forever);
bool sc_target_listening(void);
/* The memory of the per-event arena (asked once, at the first allocation). */
struct platform_region sc_target_arena(void);

/* The image's arguments: argv on unix, the words of the kernel command line
 * on hvt (target_*.c).  *cut: the platform could not hold them all. */
const sc_str *sc_target_args(size_t *count);
bool sc_target_args_cut(void);

/* ---- boot: the runtime parameters (core/boot.c) -------------------------------- */

/* The rules and the messages are backends/boot.py's; the C back end writes
 * the table (and checks these two numbers against boot.py's). */
#define SC_BOOT_LIMIT 4095  /* bytes of the arguments joined by spaces */
#define SC_BOOT_LONGEST 64  /* names longer than this get no "did you mean" */

enum { SC_ARG_UINT, SC_ARG_INT, SC_ARG_BOOL, SC_ARG_STRING, SC_ARG_IPV4, SC_ARG_CIDR,
       SC_ARG_DURATION, SC_ARG_SIZE, SC_ARG_ENUM };
/* The kinds core/boot.c can parse.  A specialized C build parses only the
 * kinds its parameters have (backends/c/features.py writes SC_BOOT_KINDS,
 * and SC_BOOT_OPTIONS 0 when no parameter is an option, into the
 * generated specialized.h); otherwise every kind. */
#define SC_ARG_BIT(kind) (1u << (kind))
#ifndef SC_BOOT_KINDS
#define SC_BOOT_KINDS 0x1ffu
#endif
#ifndef SC_BOOT_OPTIONS
#define SC_BOOT_OPTIONS 1
#endif
#define SC_BOOT_PARSES(kind) ((SC_BOOT_KINDS & SC_ARG_BIT(kind)) != 0)
enum { SC_MSG_TOO_LONG, SC_MSG_MALFORMED, SC_MSG_UNKNOWN, SC_MSG_SUGGEST, SC_MSG_TWICE,
       SC_MSG_BAD_VALUE, SC_MSG_OUT_OF_RANGE, SC_MSG_REQUIRES, SC_MSG_COUNT };

typedef struct {
    const char *flag;  /* without "--" */
    uint8_t kind;      /* SC_ARG_* */
    bool optional;     /* "none" is a value */
    uint64_t high;     /* the largest value of a uint, duration (ns) or size (bytes) */
    const char *range_text, *what;
    const char *const *variants;  /* an enum's names, NULL-terminated */
    const char *default_text, *requires_text, *requires_at;
} sc_arg;

/* A parsed value: text is NULL when the arguments do not give it. */
typedef struct {
    const char *text;
    size_t len;
    bool none;  /* an option given as "none" */
    uint64_t u;  /* uint, bool, ipv4, size, enum index */
    int64_t i;   /* int, duration */
    sc_cidr cidr;
} sc_arg_value;

typedef struct {
    const char *usage;
    const sc_arg *args;
    sc_arg_value *values;
    size_t count;
    const char *const *messages;  /* SC_MSG_COUNT templates, "{N}" for piece N */
} sc_boot_table;

/* Read the arguments; prints the help and exits 0 for --help, exits 64 on a
 * bad one.  Afterwards values[i] holds parameter i. */
void sc_boot(const sc_boot_table *boot);
_Noreturn void sc_boot_requires_failed(size_t index);
/* For a component that reads a parameter itself: NULL when not given. */
const sc_arg_value *sc_boot_value(const char *flag);
_Noreturn void sc_exit(int status);

#endif
