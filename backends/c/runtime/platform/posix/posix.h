/* What the unix target's components get beyond platform.h: the event loop's
 * file descriptors. */
#ifndef SPECC_PLATFORM_POSIX_H
#define SPECC_PLATFORM_POSIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*posix_callback)(void *ctx);

/* Call callback(ctx) whenever fd is readable (or closed); -1 when the loop
 * watches POSIX_MAX_WATCHED descriptors already. */
#define POSIX_MAX_WATCHED 1024
int posix_watch(int fd, posix_callback callback, void *ctx);
/* What wakes a watched fd's callback: readability, writability (at least one
 * of the two; errors and hang-ups always do). */
void posix_interest(int fd, bool read, bool write);
void posix_unwatch(int fd);
size_t posix_watching(void);
/* Wait for readable descriptors until deadline_ns (or forever) and run their callbacks. */
void posix_wait(uint64_t deadline_ns, bool forever);

/* The program's arguments (argv without the program name). */
size_t posix_args(char ***args);

/* The image cannot listen on a port (busy, privileged, not an address of this
 * host): say which and why on stderr, and exit with EX_UNAVAILABLE (69). */
#define POSIX_EXIT_UNAVAILABLE 69
_Noreturn void posix_cannot_listen(const char *proto, uint32_t address, uint16_t port, int err);

#endif
