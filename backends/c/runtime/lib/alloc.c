/*
 * Bump allocation over the platform heap (see alloc.h).
 */
#include "alloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "platform.h"

static uintptr_t next, end;
static bool started;

static void start(void)
{
    if (!started) {
        struct platform_region r = platform_heap();
        next = r.base;
        end = r.base + r.size;
        started = true;
    }
}

void *heap_alloc(size_t size, size_t align)
{
    start();
    if (align == 0 || (align & (align - 1)) != 0)
        return NULL;
    uintptr_t p = (next + align - 1) & ~(uintptr_t)(align - 1);
    if (p < next || p > end || end - p < size)
        return NULL;
    next = p + size;
    /* posix hands out malloc'd memory with no zeroing promise; do it here
     * so that both targets behave the same. */
    memset((void *)p, 0, size);
    return (void *)p;
}

size_t heap_remaining(void)
{
    start();
    return end - next;
}

struct platform_region heap_take_rest(void)
{
    start();
    struct platform_region r = {next, end - next};
    next = end;
    return r;
}
