/*
 * The platform interface over a Linux process (the `unix` target).  The
 * network is the host's: components use sockets through posix_watch(), and
 * platform_net_* report that there is no raw interface.
 */
#define _POSIX_C_SOURCE 200809L
#include "platform/platform.h"
#include "platform/posix/posix.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int arg_count;
static char **arg_values;
static uint64_t start_ns;  /* CLOCK_MONOTONIC when the process started: its "boot" */
static uint64_t clock_ns(clockid_t id);

static void stop(int signum) {
    (void)signum;
    _exit(0);  /* SIGTERM and SIGINT stop the image cleanly */
}

int main(int argc, char **argv) {
    start_ns = clock_ns(CLOCK_MONOTONIC);
    arg_count = argc - 1;
    arg_values = argv + 1;
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    return app_main();
}

void platform_console_write(const char *buf, size_t len) { fwrite(buf, 1, len, stdout); }

void platform_error_write(const char *buf, size_t len) {
    fflush(stdout);
    fwrite(buf, 1, len, stderr);
}

size_t posix_args(char ***args) {
    *args = arg_values;
    return arg_count > 0 ? (size_t)arg_count : 0;
}

_Noreturn void posix_cannot_listen(const char *proto, uint32_t a, uint16_t port, int err) {
    fprintf(stderr, "cannot listen on %s %u.%u.%u.%u:%u: %s%s\n", proto, a >> 24, a >> 16 & 255,
            a >> 8 & 255, a & 255, (unsigned)port, strerror(err),
            err == EADDRINUSE ? " (another program is using the port)" : "");
    platform_exit(POSIX_EXIT_UNAVAILABLE);
}

_Noreturn void platform_exit(int status) {
    if (status < 0 || status > PLATFORM_EXIT_MAX) {
        /* As hvt says it (whose host cannot see such a status), so that an
         * image stops the same way on every target. */
        printf("platform: exit status %d is outside 0..%d\n", status, PLATFORM_EXIT_MAX);
        status = PLATFORM_EXIT_ABORT;
    }
    fflush(stdout);
    _exit(status);
}

_Noreturn void platform_abort(const char *why) {
    fprintf(stdout, "platform: abort: %s\n", why);
    platform_exit(PLATFORM_EXIT_ABORT);
}

const char *platform_cmdline(void) { return ""; }
bool platform_cmdline_cut(void) { return false; }

struct platform_region platform_heap(void) {
    static struct platform_region region;
    if (region.base == 0) {
        size_t size = 16u << 20;
        void *p = malloc(size);
        if (p == NULL) platform_abort("no memory for the heap");
        region.base = (uintptr_t)p;
        region.size = size;
    }
    return region;
}

static uint64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t platform_monotonic_ns(void) { return clock_ns(CLOCK_MONOTONIC) - start_ns; }
uint64_t platform_wall_ns(void) { return clock_ns(CLOCK_REALTIME); }

int platform_net_info(uint8_t mac[6], size_t *mtu) { (void)mac; (void)mtu; return -1; }
int platform_net_write(const void *frame, size_t len) { (void)frame; (void)len; return -1; }
ptrdiff_t platform_net_read(void *buf, size_t cap) { (void)buf; (void)cap; return -1; }

/* ---- sockets for the host components -------------------------------- */

static struct { int fd; short events; posix_callback callback; void *ctx; } watched[POSIX_MAX_WATCHED];
static size_t watched_count;

int posix_watch(int fd, posix_callback callback, void *ctx) {
    if (watched_count == POSIX_MAX_WATCHED) return -1;
    watched[watched_count].fd = fd;
    watched[watched_count].events = POLLIN;
    watched[watched_count].callback = callback;
    watched[watched_count].ctx = ctx;
    watched_count++;
    return 0;
}

void posix_interest(int fd, bool read, bool write) {
    for (size_t i = 0; i < watched_count; i++) {
        if (watched[i].fd == fd) {
            watched[i].events = (short)((read || !write ? POLLIN : 0) | (write ? POLLOUT : 0));
            return;
        }
    }
}

void posix_unwatch(int fd) {
    for (size_t i = 0; i < watched_count; i++) {
        if (watched[i].fd == fd) {
            watched[i] = watched[--watched_count];
            return;
        }
    }
}

size_t posix_watching(void) { return watched_count; }

void posix_wait(uint64_t deadline_ns, bool forever) {
    struct pollfd fds[POSIX_MAX_WATCHED];
    size_t n = watched_count;
    for (size_t i = 0; i < n; i++) {
        fds[i].fd = watched[i].fd;
        fds[i].events = watched[i].events;
        fds[i].revents = 0;
    }
    int timeout = -1;
    if (!forever) {
        uint64_t now = platform_monotonic_ns();
        timeout = deadline_ns <= now ? 0 : (int)((deadline_ns - now + 999999u) / 1000000u);
    }
    if (poll(fds, (nfds_t)n, timeout) <= 0) return;
    for (size_t i = 0; i < n; i++) {
        if (fds[i].revents & (POLLIN | POLLOUT | POLLERR | POLLHUP)) {
            /* The callback may unwatch; find the entry again by fd. */
            for (size_t k = 0; k < watched_count; k++) {
                if (watched[k].fd == fds[i].fd) {
                    watched[k].callback(watched[k].ctx);
                    break;
                }
            }
        }
    }
}

bool platform_yield_until(uint64_t deadline_ns) {
    posix_wait(deadline_ns, false);
    return false;
}
