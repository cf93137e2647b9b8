/*
 * The TSC and LAPIC timer rates, measured against the i8254 PIT in about
 * 0.5 ms (clock.c explains why the PIT).
 *
 * The PIT counts at 1.193182 MHz: one reading says the time only to within
 * a tick (838 ns), so two readings 0.5 ms apart give the rate to within
 * 2 ticks in 597, 0.3%; the old calibration ran 5 ms to get to ~0.03%.
 * Here the whole window is sampled instead: each sample reads the TSC,
 * the LAPIC timer's count, the TSC, the PIT's count and the TSC, and a
 * least-squares line through the samples gives TSC cycles per PIT tick and
 * per LAPIC tick.  A reading's rounding down to a whole tick is, over
 * samples that fall at every phase of the tick, an error of mean 1/2 tick
 * that the line's slope does not see, and its spread averages out over the
 * samples: under TCG here one takes ~0.7 us, so half a millisecond holds
 * some 700.  Measured on this machine against the host's own TSC rate
 * (2596.131 MHz by CLOCK_MONOTONIC), 10 self-test boots at load 8 with the
 * window spanning the network's start (below): -21 to +68 ppm, error
 * estimates 6-179 ppm; sampled throughout, 0.5 ms gave -25 to +25 ppm (10
 * boots), 1 ms -31 to +64 ppm (6), the 5 ms two-point calibration it
 * replaces -33 to +44 ppm (3).  The LAPIC timer's rate (QEMU's: 62.5 MHz
 * with the divider of 16) came out within 48 ppm.
 *
 * The window opens at hvt_calibrate_start, before platform_main starts the
 * network (its virtio-net setup takes ~0.5 ms under TCG and needs no
 * clock), and closes at hvt_calibrate_pit, sampling until it spans 0.5 ms
 * (128 samples at its start, at least 128 at its end): the samples at
 * either end make the line.  A wrap of the 16-bit PIT count in between
 * would go unseen (the gap has no samples), so when the PIT's OUT pin says
 * the count passed 0 the window is not used and a fresh one is sampled
 * throughout (checked with a 60-120 ms busy wait put in the gap: the
 * fresh windows came out within 70 ppm).  A gap or a preemption long
 * enough to overflow the sums' bounds (from a few ms) spans so many ticks
 * that the window's end points alone give the rate (10-50 ms gaps: within
 * 15 ppm).
 *
 * Under TCG the vCPU thread can be preempted for milliseconds at any
 * instruction.  A preemption between two reads only widens the bracket of
 * TSC readings around them, so samples whose bracket is much wider than the
 * narrowest are left out; one between two samples does no harm at all.
 * Each fit also says how well its line explains its samples: three standard
 * errors of its slope, in ppm (hvt_tsc_error_ppm).  A window whose
 * estimate is over 300 ppm is measured again, up to four times, and the
 * best one is kept: without that, one boot in 8 under load came out 540
 * ppm off (estimate 860).
 *
 * Arithmetic: 128-bit integers (no floating point in the runtime); the
 * window is bounded to 25 ms of PIT ticks so that the sums cannot
 * overflow and the 16-bit PIT count cannot wrap unnoticed between samples
 * (a 55 ms preemption would: the fit's error estimate then fails the
 * 300 ppm check).
 */
#include "hvt.h"

#define PIT_HZ 1193182u
#define PIT_CH0 0x40
#define PIT_CMD 0x43

#define WINDOW_TICKS (PIT_HZ / 2000)   /* 0.5 ms */
#define WINDOW_TICKS_MAX (PIT_HZ / 40) /* 25 ms: a preempted window stops here */
/* Keeps the sums' products below 2^128; a machine fast enough to take
 * them in under 0.5 ms fits a shorter window. */
#define SAMPLES_MAX 4096u
#define SAMPLES_MIN 64u
#define WARM_UP 8u
#define START_SAMPLES 128u /* at hvt_calibrate_start, before the work it overlaps */
#define END_SAMPLES 128u   /* at least, at the end of a window */
#define ATTEMPTS 4
#define GOOD_PPM 300u

static uint16_t pit_read(void)
{
    outb(PIT_CMD, 0x00); /* latch channel 0 */
    uint8_t lo = inb(PIT_CH0);
    uint8_t hi = inb(PIT_CH0);
    return (uint16_t)(lo | hi << 8);
}

/* Running sums for the least squares of y (TSC cycles since the first
 * sample) on x (ticks of the other clock since then). */
struct sums {
    unsigned n;
    unsigned __int128 sx, sy, sxx, sxy, syy;
};

static void add(struct sums *s, uint64_t x, uint64_t y)
{
    s->n++;
    s->sx += x;
    s->sy += y;
    s->sxx += (unsigned __int128)x * x;
    s->sxy += (unsigned __int128)x * y;
    s->syy += (unsigned __int128)y * y;
}

/* The fitted line's slope, sxy / sxx TSC cycles per tick, both n times the
 * centred sums (n Sxy - Sx Sy, n Sxx - Sx^2); 0, 0 when the samples are too
 * few or make no line.  error_ppm: three standard errors of the slope. */
struct line {
    unsigned __int128 sxx, sxy;
    uint32_t error_ppm;
};

static uint64_t isqrt(unsigned __int128 v)
{
    uint64_t r = 0;
    for (int bit = 63; bit >= 0; bit--) {
        uint64_t t = r | (1ull << bit);
        if ((unsigned __int128)t * t <= v)
            r = t;
    }
    return r;
}

static struct line fit(const struct sums *s)
{
    struct line l = {0, 0, UINT32_MAX};
    unsigned n = s->n;
    if (n < SAMPLES_MIN)
        return l;
    unsigned __int128 sxx = n * s->sxx - s->sx * s->sx;
    unsigned __int128 sxy = n * s->sxy - s->sx * s->sy;
    unsigned __int128 syy = n * s->syy - s->sy * s->sy;
    /* Bounds that a 25 ms window of real readings stays within, and that
     * keep the products below 2^128; a negative covariance wraps past
     * them too. */
    if (sxx == 0 || sxy == 0 || sxx >> 62 || sxy >> 63 || syy >> 66)
        return l;
    l.sxx = sxx;
    l.sxy = sxy;
    /* The slope's relative variance (residual variance over the spread of
     * x, over the slope squared) is, in these sums,
     * (syy sxx - sxy^2) / ((n - 2) sxy^2); (3 standard errors in ppm)^2 is
     * 9e12 times that. */
    unsigned __int128 explained = sxy * sxy, total = syy * sxx;
    unsigned __int128 unexplained = total > explained ? total - explained : 0;
    const uint64_t scale = 9000000000000ull;
    if (unexplained > ~(unsigned __int128)0 / scale)
        return l; /* nothing like a line: error_ppm stays UINT32_MAX */
    uint64_t ppm = isqrt(unexplained * scale / explained / (n - 2));
    l.error_ppm = ppm > UINT32_MAX ? UINT32_MAX : (uint32_t)ppm;
    return l;
}

/* Widths beyond twice the narrowest so far (and a margin for TCG's
 * jitter) are preemptions, not reads. */
static bool clean(uint64_t width, uint64_t *narrowest)
{
    if (width < *narrowest)
        *narrowest = width;
    return width <= *narrowest * 2 + 256;
}

/* A clean sample: ticks of the other clock and TSC cycles since the first. */
struct point {
    uint64_t x, y;
};

/* A window being sampled: the sums so far, its first and last clean
 * samples of each clock, and where the clocks stood. */
struct window {
    struct sums pit, lapic;
    struct point pit_ends[2], lapic_ends[2];
    uint64_t base, pit_narrowest, lapic_narrowest;
    uint32_t lapic_first, pit_elapsed;
    uint16_t pit_prev;
    unsigned taken;
};

static void record(struct sums *s, struct point ends[2], uint64_t x, uint64_t y)
{
    if (s->n == 0)
        ends[0] = (struct point){x, y};
    ends[1] = (struct point){x, y};
    add(s, x, y);
}

static void window_open(struct window *w)
{
    *w = (struct window){.pit_narrowest = UINT64_MAX, .lapic_narrowest = UINT64_MAX};
}

/* Sample into w: `count` samples when count is not 0, else until the window
 * spans WINDOW_TICKS with enough clean samples of each clock.  The first
 * call warms up first (code translated, narrowest widths known). */
static void take(struct window *w, unsigned count)
{
    bool opening = w->taken == 0;
    for (unsigned i = 0; w->taken < SAMPLES_MAX; i++) {
        uint64_t a = rdtsc();
        uint32_t l = hvt_lapic_timer_count();
        uint64_t b = rdtsc();
        uint16_t c = pit_read();
        uint64_t d = rdtsc();
        bool lapic_clean = clean(b - a, &w->lapic_narrowest);
        bool pit_clean = clean(d - b, &w->pit_narrowest);
        if (opening && i < WARM_UP) {
            w->base = a;
            w->lapic_first = l;
            w->pit_prev = c;
            continue;
        }
        w->taken++;
        w->pit_elapsed += (uint16_t)(w->pit_prev - c); /* counts down, wraps */
        w->pit_prev = c;
        if (lapic_clean)
            record(&w->lapic, w->lapic_ends, w->lapic_first - l, a + (b - a) / 2 - w->base);
        if (pit_clean)
            record(&w->pit, w->pit_ends, w->pit_elapsed, b + (d - b) / 2 - w->base);
        unsigned here = i - (opening ? WARM_UP : 0) + 1;
        if (count ? here >= count
                  : here >= END_SAMPLES &&
                        (w->pit_elapsed >= WINDOW_TICKS_MAX ||
                         (w->pit_elapsed >= WINDOW_TICKS && w->pit.n >= SAMPLES_MIN &&
                          w->lapic.n >= SAMPLES_MIN)))
            break;
    }
}

/* TSC and LAPIC timer rates in Hz from a window's samples, with the larger
 * of the two fits' error estimates; false when the PIT's samples make no
 * line, *lapic_hz 0 when the LAPIC's do not. */
static bool rates(const struct window *w, uint64_t *tsc_hz, uint64_t *lapic_hz, uint32_t *ppm)
{
    struct line p = fit(&w->pit), t = fit(&w->lapic);
    /* A window stretched by a long preemption can overflow the sums'
     * bounds; it then spans so many ticks that its end points alone give
     * the rate (to 2 PIT ticks in the span: 67 ppm at 25 ms, the old
     * two-point method's). */
    const struct point *pe = w->pit_ends, *le = w->lapic_ends;
    if (p.sxx == 0 && w->pit.n >= SAMPLES_MIN && pe[1].x - pe[0].x >= 4 * WINDOW_TICKS) {
        p.sxx = pe[1].x - pe[0].x;
        p.sxy = pe[1].y - pe[0].y;
        p.error_ppm = (uint32_t)(2000000u / p.sxx);
    }
    if (t.sxx == 0 && w->lapic.n >= SAMPLES_MIN && le[1].x > le[0].x &&
        le[1].y - le[0].y >= (pe[1].y - pe[0].y) / 2) {
        t.sxx = le[1].x - le[0].x; /* over half the window: as good as the PIT's */
        t.sxy = le[1].y - le[0].y;
        t.error_ppm = p.error_ppm;
    }
    if (p.sxx == 0 || p.sxy == 0)
        return false;
    /* cycles per PIT tick: p.sxy / p.sxx; per LAPIC tick: t.sxy / t.sxx. */
    unsigned __int128 hz = p.sxy * PIT_HZ / p.sxx;
    *tsc_hz = (uint64_t)hz;
    *ppm = p.error_ppm;
    *lapic_hz = 0; /* a LAPIC timer that does not count: clock.c says so */
    if (t.sxx != 0 && t.sxy != 0) {
        *lapic_hz = (uint64_t)(hz * t.sxx / t.sxy);
        if (t.error_ppm > *ppm)
            *ppm = t.error_ppm;
    }
    return true;
}

/* Whether channel 0's count has passed 0 since it was programmed (the
 * read-back command's status byte, bit 7: OUT, which mode 0 raises at the
 * terminal count): 65,535 ticks, 55 ms, so a wrap of the 16-bit count
 * between two samples cannot be ruled out. */
static bool pit_passed_zero(void)
{
    outb(PIT_CMD, 0xe2); /* read-back: status only, channel 0 */
    return inb(PIT_CH0) & 0x80;
}

/* The window opened by hvt_calibrate_start, closed by hvt_calibrate_pit. */
static struct window opened;
static bool pit_present;

bool hvt_calibrate_start(void)
{
    outb(PIT_CMD, 0x30); /* channel 0, lobyte/hibyte, mode 0, binary */
    outb(PIT_CH0, 0xff);
    outb(PIT_CH0, 0xff);

    /* A PIT that does not move within many reads is not there. */
    uint16_t first = pit_read();
    unsigned spins = 0;
    while (pit_read() == first)
        if (++spins > 100000)
            return false;
    hvt_trace("PIT counting");
    pit_present = true;
    window_open(&opened);
    take(&opened, START_SAMPLES);
    return true;
}

bool hvt_calibrate_pit(uint64_t *tsc_hz, uint64_t *lapic_hz, uint32_t *error_ppm)
{
    if (!pit_present)
        return false;
    bool found = false;
    *error_ppm = UINT32_MAX;
    /* First the window opened at hvt_calibrate_start, the work in between
     * inside it; then, if it is not good enough or the count may have
     * wrapped unseen, fresh windows, sampled throughout. */
    take(&opened, 0);
    struct window fresh, *w = &opened;
    bool usable = !pit_passed_zero();
    for (unsigned attempt = 0; attempt < ATTEMPTS && *error_ppm > GOOD_PPM; attempt++) {
        if (attempt > 0 || !usable) {
            window_open(&fresh);
            take(&fresh, 0);
            w = &fresh;
        }
        uint64_t t, l;
        uint32_t e;
        if (rates(w, &t, &l, &e) && e < *error_ppm) {
            *tsc_hz = t;
            *lapic_hz = l;
            *error_ppm = e;
            found = true;
        }
    }
    return found;
}
