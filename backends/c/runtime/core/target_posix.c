/* The event loop's waiting on the unix target: poll the host sockets. */
#include "core/sc.h"
#include "platform/posix/posix.h"

#include <string.h>

void sc_target_wait(uint64_t deadline_ns, bool forever) {
    posix_wait(deadline_ns, forever);
    sc_arena_reset();
}

bool sc_target_listening(void) { return posix_watching() > 0; }

/* A host process has memory to spare: a fixed megabyte, as hvt had before
 * its arena came from the heap. */
struct platform_region sc_target_arena(void) {
    static _Alignas(16) uint8_t arena[1u << 20];
    return (struct platform_region){ (uintptr_t)arena, sizeof arena };
}

/* The arguments, as given: one argv entry is one argument, spaces and all.
 * More entries than 4,096 cannot fit in SC_BOOT_LIMIT bytes anyway. */
static sc_str args[SC_BOOT_LIMIT + 1];
static bool args_cut;

const sc_str *sc_target_args(size_t *count) {
    char **argv;
    size_t n = posix_args(&argv);
    args_cut = n > sizeof args / sizeof args[0];
    if (args_cut) n = sizeof args / sizeof args[0];
    for (size_t i = 0; i < n; i++) args[i] = (sc_str){ argv[i], strlen(argv[i]) };
    *count = n;
    return args;
}

bool sc_target_args_cut(void) { return args_cut; }
