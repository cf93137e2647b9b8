/*
 * A bump allocator over platform_heap(): memory for the life of the image,
 * never freed.  Specialized unikernels size their state at compile time, so
 * this is for the little that cannot be (buffers sized by a runtime
 * parameter).  An application uses either this or platform_heap() directly,
 * not both.
 */
#ifndef SPECC_LIB_ALLOC_H
#define SPECC_LIB_ALLOC_H

#include <stddef.h>

#include "platform.h"

/* size bytes aligned to align (a power of two), zeroed; NULL when the heap
 * is exhausted or align is not a power of two. */
void *heap_alloc(size_t size, size_t align);

/* Bytes still available (before alignment). */
size_t heap_remaining(void);

/* Everything still available, not zeroed (pages never touched cost the
 * host nothing); heap_alloc returns NULL afterwards. */
struct platform_region heap_take_rest(void);

#endif
