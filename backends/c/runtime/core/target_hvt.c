/* The event loop's waiting on the hvt target: halt in the platform until a
 * frame or the deadline, and dispatch frames through the IPv4 stack; and
 * the readiness lines (components/listening.h). */
#include "components/listening.h"
#include "alloc.h"
#include "core/sc.h"
#include "net/net.h"

/* Listening sockets the direct components opened (direct_udp counts them). */
unsigned sc_hvt_listeners;

void sc_target_wait(uint64_t deadline_ns, bool forever) {
    net_poll();
    sc_arena_reset();
    /* Wake for the loop's own deadline or the network's (ARP retries, TCP
     * timers), whichever is first; an idle image with neither sleeps until
     * a frame arrives (the platform re-arms its timer at the LAPIC's
     * longest count).  An overdue deadline returns at once. */
    uint64_t until = net_deadline();
    if (!forever && deadline_ns < until)
        until = deadline_ns;
    if (platform_yield_until(until)) {
        net_poll();
        sc_arena_reset();
    }
}

bool sc_target_listening(void) { return sc_hvt_listeners > 0; }

/* The arena is what the heap still holds once the platform took its rings
 * and page tables, not zeroed: QEMU backs only the pages an event touches.
 * Taken from lib/alloc.c so that a later heap_alloc gets NULL instead of
 * memory the arena uses. */
struct platform_region sc_target_arena(void) { return heap_take_rest(); }

#define LISTENING_MAX 32
static struct { const char *protocol; uint16_t port; } listening[LISTENING_MAX];
static unsigned nlistening;

static char *put_text(char *p, const char *s, size_t max) {
    while (*s && max--) *p++ = *s++;
    return p;
}

static char *put_decimal(char *p, unsigned v) {
    char digits[10];
    unsigned n = 0;
    do digits[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    while (n) *p++ = digits[--n];
    return p;
}

/* "listening: udp 10.0.2.15:53", assembled by hand rather than with
 * console_printf: this line is on the way to the first answer, and under
 * TCG translating the formatter for it cost ~0.5 ms of boot. */
static void print_listening(unsigned i, uint32_t a) {
    char line[80]; /* 11 + 32 + 1 + 15 + 1 + 5 + 1 at most */
    char *p = put_text(line, "listening: ", 11);
    p = put_text(p, listening[i].protocol, 32);
    *p++ = ' ';
    for (int shift = 24; shift >= 0; shift -= 8) {
        p = put_decimal(p, a >> shift & 255);
        *p++ = shift ? '.' : ':';
    }
    p = put_decimal(p, listening[i].port);
    *p++ = '\n';
    platform_console_write(line, (size_t)(p - line));
}

void sc_listening(const char *protocol, uint16_t port) {
    if (nlistening == LISTENING_MAX) return; /* only the line is lost */
    listening[nlistening].protocol = protocol;
    listening[nlistening].port = port;
    uint32_t a = net_address();
    if (a != 0) print_listening(nlistening, a);
    nlistening++;
}

void sc_listening_address_known(void) {
    uint32_t a = net_address();
    if (a == 0) return;
    for (unsigned i = 0; i < nlistening; i++) print_listening(i, a);
}

/* ---- the arguments: the words of the kernel command line ------------------ */

/* Words are separated by spaces.  A '"' starts or ends a quoted part, in
 * which a space belongs to the word and \" and \\ stand for " and \ (the
 * quoting backends/boot.py hvt_command_line writes for an argument with a
 * space, a quote or a backslash).  The quotes themselves are dropped. */
static char words[PLATFORM_CMDLINE_MAX];
static sc_str args[SC_BOOT_LIMIT + 1];
static bool args_cut;

const sc_str *sc_target_args(size_t *count) {
    const char *p = platform_cmdline();
    size_t used = 0, n = 0;
    args_cut = platform_cmdline_cut();
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        if (n == sizeof args / sizeof args[0]) {
            args_cut = true;
            break;
        }
        char *start = words + used;
        bool quoted = false;
        while (*p && (quoted || *p != ' ')) {
            if (*p == '"') {
                quoted = !quoted;
                p++;
            } else if (quoted && *p == '\\' && (p[1] == '"' || p[1] == '\\')) {
                words[used++] = p[1];
                p += 2;
            } else {
                words[used++] = *p++;
            }
        }
        args[n++] = (sc_str){ start, (size_t)(words + used - start) };
    }
    *count = n;
    return args;
}

bool sc_target_args_cut(void) { return args_cut; }
