/* The event loop's waiting on the unix target: poll the host sockets. */
#include "core/sc.h"
#include "platform/posix/posix.h"

void sc_target_wait(uint64_t deadline_ns, bool forever) {
    posix_wait(deadline_ns, forever);
    sc_arena_reset();
}

bool sc_target_listening(void) { return posix_watching() > 0; }
