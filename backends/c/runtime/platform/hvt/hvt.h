/*
 * Internals shared by the hvt platform's files (not part of the platform
 * interface).  hvt: QEMU microvm, PVH boot, long mode, identity-mapped.
 */
#ifndef SPECC_HVT_H
#define SPECC_HVT_H

#include "platform.h"

#define HVT_PAGE_SIZE 4096u

/* hvm_start_info, from Xen's public arch-x86/hvm/start_info.h ABI: what the
 * loader passes in %ebx.  Fields after rsdp_paddr exist from version 1. */
#define HVM_START_MAGIC 0x336ec578u
struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};

#define HVM_MEMMAP_TYPE_RAM 1u
struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

/* Linker-script symbols (link.ld); only their addresses mean anything. */
extern char __image_start[], __text_end[], __rodata_end[];
extern char __stack_guard[], __image_end[], __bss_start[], __bss_end[];

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* Memory obtained at boot, before app_main: zeroed, never freed, carved
 * from the front of the heap region so the image stays small.  When the
 * RAM cannot hold it, the image says what (`what`) needed how much and
 * exits with PLATFORM_EXIT_NO_MEMORY. */
void *hvt_boot_alloc(size_t size, size_t align, const char *what);
/* The same, not zeroed: for memory the caller writes in full before it
 * reads it (page tables, frame buffers); zeroing costs a store per word
 * and, under TCG, a host page fault per page touched. */
void *hvt_boot_alloc_uninit(size_t size, size_t align, const char *what);

void hvt_serial_init(void);
void hvt_traps_init(void);
void hvt_paging_init(void);
void hvt_clock_init(void);
/* TSC and LAPIC timer rates against the PIT (calibrate.c): the window
 * opens at hvt_calibrate_start (after hvt_apic_init: the LAPIC timer must
 * count) and closes in hvt_calibrate_pit (hvt_clock_init), so that boot
 * work in between, which must not need the clock, runs inside it.  Both
 * false without a PIT. */
bool hvt_calibrate_start(void);
bool hvt_calibrate_pit(uint64_t *tsc_hz, uint64_t *lapic_hz, uint32_t *error_ppm);
void hvt_net_take_cmdline(char *cmdline);
void hvt_net_init(void);
bool hvt_net_pending(void);

/* Interrupts (apic.c).  Enabled only inside platform_yield_until's
 * `sti; hlt`; boot.S's stubs call hvt_irq(vector). */
#define HVT_VECTOR_NET 0x30
#define HVT_VECTOR_TIMER 0x31
#define HVT_VECTOR_SPURIOUS 0xff
void hvt_apic_init(void);
uint32_t hvt_lapic_timer_count(void); /* free-running during calibration */
void hvt_lapic_timer_calibrated(uint64_t hz);
/* One-shot, HVT_VECTOR_TIMER, in ns from now; returns the ns it was armed
 * for (less than asked when that is past the counter's 32 bits). */
uint64_t hvt_lapic_timer_arm(uint64_t ns);
bool hvt_ioapic_route(uint32_t gsi, uint8_t vector);
/* virtio-net's side: interrupts wanted or not; the handler's ack. */
bool hvt_net_irq_routed(void);
void hvt_net_irq_want(bool on);
void hvt_net_irq_ack(void);

/* The boot trace (trace.c): a TSC stamp per boot step, printed once the
 * image has been idle a while; compiled only with HVT_BOOT_TRACE
 * (SPECC_HVT_TRACE=boot).  hvt_trace_idle(wait) is called before each
 * halt: it prints the stamps when the time has come, else returns how long
 * the halt may last so that it comes. */
#ifdef HVT_BOOT_TRACE
void hvt_trace(const char *what);
void hvt_trace_at(uint64_t tsc, const char *what);
uint64_t hvt_trace_idle(uint64_t wait_ns);
#else
static inline void hvt_trace(const char *what) { (void)what; }
static inline void hvt_trace_at(uint64_t tsc, const char *what) { (void)tsc; (void)what; }
static inline uint64_t hvt_trace_idle(uint64_t wait_ns) { return wait_ns; }
#endif

/* Diagnostics for the self-test and crash reports. */
extern uint64_t hvt_entry_tsc; /* TSC at the first instruction (boot.S) */
extern uint64_t hvt_boot_tsc; /* TSC on entry to C */
extern uint64_t hvt_tsc_hz;
extern bool hvt_tsc_from_pit;
extern uint32_t hvt_tsc_error_ppm; /* calibration uncertainty bound */
extern bool hvt_nx_enabled;
extern uint32_t hvt_net_version; /* virtio-mmio version, 0 without a device */
extern uintptr_t hvt_net_base;
extern bool hvt_net_found_by_cmdline; /* else by probing the microvm slots */
extern uint32_t hvt_net_gsi;            /* its interrupt line, HVT_NO_GSI when unknown */
#define HVT_NO_GSI 0xffffffffu
extern uint64_t hvt_lapic_timer_hz;     /* 0: not calibrated, platform_yield_until polls */
/* Interrupts taken, counted by hvt_irq in interrupt context.  volatile:
 * nothing in C calls hvt_irq (boot.S's stubs do), so with -flto GCC's
 * whole-program analysis otherwise concludes that no C function changes
 * them and folds a read after platform_yield_until into the one before. */
extern volatile uint64_t hvt_irqs_net, hvt_irqs_timer;
extern uint64_t hvt_halts;              /* hlt instructions executed by platform_yield_until */

#endif
