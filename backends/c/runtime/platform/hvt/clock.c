/*
 * Clocks: the TSC, calibrated once at boot against the i8254 PIT.
 *
 * Why the PIT: under TCG there is no kvmclock and CPUID says nothing about
 * the TSC rate; microvm has no ACPI PM timer (its ACPI is hardware-reduced)
 * and no HPET; the RTC ticks in whole seconds.  The PIT counts at a fixed
 * 1.193182 MHz in QEMU's virtual clock, which is the host's clock under
 * TCG, as is the guest TSC, so the ratio is the TSC rate.  Channel 0 is
 * used because channel 2's gate is wired to port 0x61, which microvm lacks.
 * Mode 0 (one-shot) so that QEMU stops its periodic 18.2 Hz timer.
 * qemu_command() passes -M microvm,pit=on so the PIT is always there.
 *
 * calibrate.c measures both rates in one millisecond of PIT time; the LAPIC
 * timer (apic.c) wakes platform_yield_until's halt at the next deadline.
 *
 * The wall clock is the CMOS RTC read once, when first asked for (rtc=on),
 * in seconds, plus the monotonic clock.
 */
#include <string.h>

#include "fmt.h"
#include "hvt.h"

uint64_t hvt_tsc_hz;
bool hvt_tsc_from_pit;
uint32_t hvt_tsc_error_ppm;

static uint64_t tsc_base;
static uint64_t ns_per_tick_q32; /* nanoseconds per TSC tick, 32.32 fixed point */
static uint64_t wall_base_ns;

/* CPUID 0x15/0x16 as a fallback (present on recent Intel CPUs under KVM). */
static uint64_t tsc_hz_from_cpuid(void)
{
    uint32_t r[4];
    cpuid(0, r);
    uint32_t max = r[0];
    if (max >= 0x15) {
        cpuid(0x15, r);
        if (r[0] && r[1] && r[2])
            return (uint64_t)r[2] * r[1] / r[0];
    }
    if (max >= 0x16) {
        cpuid(0x16, r);
        if (r[0] & 0xffff)
            return (uint64_t)(r[0] & 0xffff) * 1000000u;
    }
    return 0;
}

/* ---- RTC ---------------------------------------------------------------- */

static uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, (uint8_t)(0x80 | reg)); /* bit 7 keeps NMIs masked */
    return inb(0x71);
}

static unsigned bcd(uint8_t v)
{
    return (v >> 4) * 10u + (v & 0xf);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), via the usual
 * shift of the year start to March so that leap days come last. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Seconds since the epoch from the RTC, or -1 without one. */
static int64_t rtc_epoch_seconds(void)
{
    uint8_t a = cmos_read(0x0a);
    if (a == 0xff || a == 0x00)
        return -1; /* nothing decodes the ports */
    uint8_t now[7], again[7];
    for (unsigned tries = 0; tries < 5; tries++) {
        /* Read twice outside an update cycle; equal reads are consistent. */
        for (unsigned i = 0; i < 100000 && (cmos_read(0x0a) & 0x80); i++)
            cpu_relax();
        static const uint8_t regs[7] = {0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32};
        for (unsigned i = 0; i < 7; i++)
            now[i] = cmos_read(regs[i]);
        for (unsigned i = 0; i < 7; i++)
            again[i] = cmos_read(regs[i]);
        if (memcmp(now, again, sizeof now) == 0)
            break;
    }
    uint8_t b = cmos_read(0x0b);
    bool pm = !(b & 0x02) && (now[2] & 0x80);
    now[2] &= 0x7f;
    unsigned v[7];
    for (unsigned i = 0; i < 7; i++)
        v[i] = (b & 0x04) ? now[i] : bcd(now[i]); /* register B bit 2: binary */
    unsigned hour = v[2];
    if (!(b & 0x02)) /* 12-hour mode */
        hour = hour % 12 + (pm ? 12 : 0);
    unsigned year = v[6] ? v[6] * 100 + v[5] : 2000 + v[5];
    if (v[4] < 1 || v[4] > 12 || v[3] < 1 || v[3] > 31 || hour > 23 || v[1] > 59 || v[0] > 59)
        return -1;
    return days_from_civil(year, v[4], v[3]) * 86400 + hour * 3600 + v[1] * 60 + v[0];
}

/* Without a PIT: the LAPIC timer against the (then uncalibrated or
 * CPUID-derived) TSC over about 1 ms of TSC time. */
static uint64_t lapic_hz_from_tsc(void)
{
    uint32_t l0 = hvt_lapic_timer_count();
    uint64_t t0 = rdtsc(), span = hvt_tsc_hz / 1000;
    while (rdtsc() - t0 < span)
        cpu_relax();
    uint32_t l1 = hvt_lapic_timer_count();
    return (uint64_t)(l0 - l1) * 1000u;
}

/* ---- interface ---------------------------------------------------------- */

void hvt_clock_init(void)
{
    uint64_t lapic_hz = 0;
    hvt_tsc_from_pit = hvt_calibrate_pit(&hvt_tsc_hz, &lapic_hz, &hvt_tsc_error_ppm);
    if (!hvt_tsc_from_pit) {
        hvt_tsc_hz = tsc_hz_from_cpuid();
        lapic_hz = 0;
    }
    if (!hvt_tsc_hz) {
        hvt_tsc_hz = 1000000000u;
        console_printf("platform: no PIT (-M microvm,pit=on) and no CPUID TSC rate; "
                       "assuming 1 GHz, time will be off\n");
    }
    ns_per_tick_q32 = (1000000000ull << 32) / hvt_tsc_hz;
    tsc_base = rdtsc();
    if (lapic_hz == 0)
        lapic_hz = lapic_hz_from_tsc();
    if (lapic_hz != 0)
        hvt_lapic_timer_calibrated(lapic_hz);
    else
        console_printf("platform: the LAPIC timer does not count; waiting polls\n");
}

uint64_t platform_monotonic_ns(void)
{
    /* 128-bit product: no overflow for centuries of uptime. */
    unsigned __int128 t = (unsigned __int128)(rdtsc() - tsc_base) * ns_per_tick_q32;
    return (uint64_t)(t >> 32);
}

/* The RTC is read at the first call rather than at boot: about 20 CMOS
 * port reads (each a QEMU exit) and the code to decode them cost ~0.3 ms
 * of boot under TCG, for images that mostly never ask the time of day.
 * The RTC only counts whole seconds, so reading it later is as exact. */
uint64_t platform_wall_ns(void)
{
    static bool read;
    if (!read) {
        read = true;
        int64_t wall = rtc_epoch_seconds();
        uint64_t mono = platform_monotonic_ns();
        if (wall > 0 && (uint64_t)wall * 1000000000ull > mono)
            wall_base_ns = (uint64_t)wall * 1000000000ull - mono;
    }
    return wall_base_ns + platform_monotonic_ns();
}

uint64_t hvt_halts;

/* The measured alternative (bench/hvt_idle.py): SPECC_HVT_WAIT=poll makes
 * build.py define HVT_WAIT_POLL, and waiting spins as it did before the
 * interrupt path existed.  pause lets a hyperthread sibling (or, under
 * TCG, QEMU's I/O thread) run. */
static bool yield_polling(uint64_t deadline_ns)
{
    for (;;) {
        if (hvt_net_pending())
            return true;
        if (platform_monotonic_ns() >= deadline_ns)
            return false;
        cpu_relax();
    }
}

/*
 * Halting: interrupts are off everywhere else, so the check for a pending
 * frame, the arming of the timer and `sti; hlt` form one sequence that no
 * interrupt can slip into unnoticed: an interrupt raised after the check
 * stays pending in the LAPIC, and sti's one-instruction shadow delivers it
 * only once hlt has started, which then returns at once.
 *
 * The device is asked for receive interrupts only here, while halted; in
 * between (under load, when the ring never empties) VRING_AVAIL_F_NO_INTERRUPT
 * stays set and the device raises none.  Without a known interrupt line the
 * halt is cut to 1 ms, so a frame waits at most that long.
 *
 * The timer is left running after a halt and re-armed only when it would
 * fire after the deadline (or has fired): a halt that a frame ends, the
 * common case under load, then costs no LAPIC access.  Under TCG each is an
 * exit to QEMU under its global lock, and each arming also wakes QEMU's
 * I/O thread to recompute its timeout; arming and stopping around every
 * halt was two exits and one such wake-up per halt (bench/dns.py, issue
 * 13).  A timer that fires early only ends a halt early: the loop looks
 * again and halts again.  Whether it has fired is told by its interrupt,
 * not by the TSC: the two rates are calibrated separately, so the timer may
 * fire a little before timer_due says.
 */
static uint64_t timer_due;  /* when the LAPIC timer fires, as armed */
static uint64_t timer_irqs; /* hvt_irqs_timer when it was armed: it has fired since if not equal */

static bool yield_halting(uint64_t deadline_ns)
{
    bool net_irq = hvt_net_irq_routed();
    for (;;) {
        if (hvt_net_pending())
            return true;
        uint64_t now = platform_monotonic_ns();
        if (now >= deadline_ns)
            return false;
        uint64_t wait = deadline_ns - now;
        if (!net_irq && wait > 1000000u)
            wait = 1000000u;
        if (net_irq) {
            hvt_net_irq_want(true);
            if (hvt_net_pending()) { /* arrived before the device saw the flag */
                hvt_net_irq_want(false);
                return true;
            }
        }
        wait = hvt_trace_idle(wait); /* trace builds: print the boot's stamps */
        if (hvt_irqs_timer != timer_irqs || timer_due <= now || timer_due > now + wait) {
            timer_due = now + hvt_lapic_timer_arm(wait);
            timer_irqs = hvt_irqs_timer;
        }
        hvt_halts++;
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        if (net_irq)
            hvt_net_irq_want(false);
    }
}

bool platform_yield_until(uint64_t deadline_ns)
{
#ifdef HVT_WAIT_POLL
    return yield_polling(deadline_ns);
#else
    if (hvt_lapic_timer_hz == 0)
        return yield_polling(deadline_ns);
    return yield_halting(deadline_ns);
#endif
}
