/*
 * The platform interface: everything the C runtime and the generated
 * application may ask of the machine.  It is deliberately narrow, in the
 * spirit of Solo5's: one implementation per target (platform/hvt for QEMU
 * microvm, platform/posix for a Linux process) and nothing else in the
 * runtime touches hardware or the host OS.
 *
 * Single-threaded, no interrupts visible to the caller: the application
 * polls, and waits only in platform_yield_until (on hvt the CPU halts there
 * until a device interrupt or the deadline's timer).  Every call is safe
 * from app_main() onwards.
 */
#ifndef SPECC_PLATFORM_H
#define SPECC_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The application's entry point.  The platform calls it once, after boot,
 * and exits with its return value (see platform_exit).
 */
int app_main(void);

/* ---- console ------------------------------------------------------- */

/* Write len bytes to the console.  hvt sends "\r\n" for each "\n" so that a
 * raw terminal (QEMU -nographic) shows lines; readers should strip '\r'. */
void platform_console_write(const char *buf, size_t len);
/* Write an error message: stderr on posix, the console on hvt. */
void platform_error_write(const char *buf, size_t len);

/* ---- exit ---------------------------------------------------------- */

/*
 * Only statuses 0..127 reach the host intact.  On hvt the whole QEMU process
 * exits with host status (status << 1) | 1, so the host recovers the image's
 * status as host_status >> 1 when host_status is odd (an even host status
 * means the image did not exit through the platform: a triple fault, or a
 * halt without the isa-debug-exit device).  Host status 1 is ambiguous:
 * image status 0, or QEMU failing to start (it then says why on stderr).
 */
#define PLATFORM_EXIT_MAX 127
#define PLATFORM_EXIT_ABORT 126 /* platform_abort(), or a status out of range */
#define PLATFORM_EXIT_FAULT 127 /* an unexpected CPU exception (hvt) */
/* The machine has too little memory for the image (its static data, a boot
 * allocation or the event arena): 71 is sysexits.h's EX_OSERR, "cannot get
 * a system resource".  The console says what needed how much. */
#define PLATFORM_EXIT_NO_MEMORY 71

_Noreturn void platform_exit(int status);

/* Print "platform: abort: <why>" and exit with PLATFORM_EXIT_ABORT. */
_Noreturn void platform_abort(const char *why);

/* ---- command line -------------------------------------------------- */

/* hvt: the kernel command line, exactly as given (QEMU -append), minus the
 * "virtio_mmio.device=..." words QEMU may append for device discovery.
 * Never NULL; "" when there is none.  Three pages: core/boot.c allows 4,095
 * bytes of arguments, which quoting (backends/boot.py) can make longer;
 * platform_cmdline_cut() says a longer line was cut.  posix: "" (the
 * arguments are posix_args()). */
#define PLATFORM_CMDLINE_MAX 12288
const char *platform_cmdline(void);
bool platform_cmdline_cut(void);

/* ---- memory -------------------------------------------------------- */

/*
 * The free memory the application may use: on hvt the RAM after the image
 * (and after the platform's own boot-time allocations) up to the end of its
 * memory-map region.  Always the same region; the platform never uses it
 * after app_main() starts.  lib/alloc.h is a bump allocator over it.
 */
struct platform_region {
    uintptr_t base;
    size_t size;
};
struct platform_region platform_heap(void);

/* ---- clocks -------------------------------------------------------- */

/* Nanoseconds since boot (on hvt, since the clock started early in the boot
 * sequence; on unix, since the process started); never goes backwards.
 * `now()` of the language is this value. */
uint64_t platform_monotonic_ns(void);

/* Nanoseconds since the Unix epoch, UTC.  On hvt it comes from the CMOS RTC
 * at boot (whole seconds) plus the monotonic clock; without an RTC it is
 * the monotonic clock, i.e. 1970-01-01 at boot. */
uint64_t platform_wall_ns(void);

/*
 * Wait until platform_monotonic_ns() >= deadline_ns or until a received
 * network frame is pending, whichever comes first.  Returns true when a
 * frame is pending (platform_net_read will return it), false on the
 * deadline.  A deadline in the past returns at once.
 *
 * The deadline is absolute, on the platform_monotonic_ns() clock; pass the
 * earliest of everything that must run (timers, retransmissions, ARP
 * retries), and UINT64_MAX for "no deadline".  This is the one place the
 * image sleeps: on hvt the CPU halts (`hlt`) with the virtio-net receive
 * interrupt enabled and a one-shot LAPIC timer armed for the deadline, so
 * an idle image costs its host nothing; a frame wakes it within
 * microseconds, a deadline within the timer's resolution (16 ns at QEMU's
 * 1 GHz LAPIC clock, plus the host's timer slack).  It may return false a
 * little after the deadline, never before it, and true at any time a frame
 * is pending.  A return is no promise of anything else: callers re-check
 * their own state.  Built with SPECC_HVT_WAIT=poll it spins instead
 * (bench/hvt_idle.py's comparison).  posix: poll(2) on the watched sockets.
 */
bool platform_yield_until(uint64_t deadline_ns);

/* ---- network (one Ethernet interface) ------------------------------ */

/* Frames are whole Ethernet frames from the destination MAC on, without the
 * FCS.  The largest frame is mtu + 14 bytes (no VLAN tag room promised). */

/* 0 and the interface's MAC and MTU, or -1 when there is no interface. */
int platform_net_info(uint8_t mac[6], size_t *mtu);

/* Queue one frame for sending: 0 when queued, -1 when there is no interface,
 * len is 0 or above mtu + 14, or the transmit ring stayed full. */
int platform_net_write(const void *frame, size_t len);

/* Take the oldest received frame: its length, 0 when none is pending, -1
 * when there is no interface or the frame was longer than cap (it is then
 * dropped, so the next call sees the next frame). */
ptrdiff_t platform_net_read(void *buf, size_t cap);

#endif
