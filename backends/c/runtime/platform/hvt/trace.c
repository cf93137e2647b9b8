/*
 * The boot trace (build with SPECC_HVT_TRACE=boot, which defines
 * HVT_BOOT_TRACE): each boot step, and the first few frames in and out,
 * stamped with the TSC.  Under TCG the guest TSC starts near 0 when QEMU
 * starts the virtual CPU and counts at the host's TSC rate, so the stamps
 * also say how long QEMU took before the image's first instruction.
 *
 * Nothing is printed while the image boots: printing under TCG costs a
 * QEMU write per byte and would move every later stamp, and the first
 * query is answered while the image is still translating code for the
 * first time.  The stamps wait in a table until the image has been quiet
 * (no new stamp) for QUIET_NS and is about to halt: clock.c's halt then
 * wakes after at most that long to print them, as "[boot] <ms> ms (+<us>
 * us) <step>" lines.  A normal build compiles none of this (hvt.h makes
 * these no-ops).
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

#define QUIET_NS 10000000u /* 10 ms */

static void flush(void)
{
    for (; nprinted < nsteps; nprinted++) {
        uint64_t us = micros(steps[nprinted].tsc);
        uint64_t delta = nprinted ? us - micros(steps[nprinted - 1].tsc) : us;
        console_printf("[boot] %lu.%03lu ms (+%lu us) %s\n", (unsigned long)(us / 1000),
                       (unsigned long)(us % 1000), (unsigned long)delta, steps[nprinted].what);
    }
}

uint64_t hvt_trace_idle(uint64_t wait_ns)
{
    if (nprinted == nsteps || hvt_tsc_hz == 0)
        return wait_ns;
    uint64_t quiet = micros(rdtsc() - steps[nsteps - 1].tsc) * 1000u;
    if (quiet >= QUIET_NS) {
        flush();
        return wait_ns;
    }
    return wait_ns < QUIET_NS - quiet ? wait_ns : QUIET_NS - quiet;
}

#endif
