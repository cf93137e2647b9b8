/*
 * The boot trace (build with SPECC_HVT_TRACE=boot, which defines
 * HVT_BOOT_TRACE): each boot step, and the first few frames in and out,
 * stamped with the TSC.  Under TCG the guest TSC starts near 0 when QEMU
 * starts the virtual CPU and counts at the host's TSC rate, so the stamps
 * also say how long QEMU took before the image's first instruction.
 *
 * Nothing is printed while the image boots: printing under TCG costs a
 * QEMU write per byte and would move every later stamp.  The stamps wait
 * in a table until the image is about to halt with nothing to do (first
 * idle, clock.c), then go out as "[boot] <us> <step>" lines.  A normal
 * build compiles none of this (hvt.h makes hvt_trace a no-op).
 */
#include "fmt.h"
#include "hvt.h"

#ifdef HVT_BOOT_TRACE

#define TRACE_MAX 48

struct step {
    uint64_t tsc;
    const char *what;
};
static struct step steps[TRACE_MAX];
static unsigned nsteps, nprinted;

void hvt_trace_at(uint64_t tsc, const char *what)
{
    if (nsteps < TRACE_MAX)
        steps[nsteps++] = (struct step){tsc, what};
}

void hvt_trace(const char *what)
{
    hvt_trace_at(rdtsc(), what);
}

static uint64_t micros(uint64_t tsc)
{
    return (uint64_t)((unsigned __int128)tsc * 1000000u / hvt_tsc_hz);
}

void hvt_trace_flush(void)
{
    if (hvt_tsc_hz == 0)
        return;
    for (; nprinted < nsteps; nprinted++) {
        uint64_t us = micros(steps[nprinted].tsc);
        uint64_t delta = nprinted ? us - micros(steps[nprinted - 1].tsc) : us;
        console_printf("[boot] %lu.%03lu ms (+%lu us) %s\n", (unsigned long)(us / 1000),
                       (unsigned long)(us % 1000), (unsigned long)delta, steps[nprinted].what);
    }
}

#endif
