/* The event loop's waiting on the unix target: poll the host sockets. */
#include "core/sc.h"
#include "platform/posix/posix.h"

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
