/*
 * hvt: boot sequence, console, exit, command line and heap.
 */
#include <string.h>

#include "fmt.h"
#include "hvt.h"

/* ---- console: 16550 UART on COM1 ----------------------------------- */

#define COM1 0x3f8
#define UART_THR 0 /* transmit holding register (DLAB=0) */
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20

void hvt_serial_init(void)
{
    /* QEMU does not care, but Firecracker and real 16550s start with
     * whatever the firmware left: polled mode, 115200 8N1, FIFOs on. */
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, 0x80); /* DLAB: the next two are the divisor */
    outb(COM1 + 0, 0x01);
    outb(COM1 + 1, 0x00);
    outb(COM1 + UART_LCR, 0x03);
    outb(COM1 + UART_FCR, 0x07);
    outb(COM1 + UART_MCR, 0x03);
}

/* With the FIFOs on (hvt_serial_init), THRE says the transmit FIFO is
 * empty: 16 bytes may follow before the UART needs asking again.  One
 * status read per 16 bytes instead of per byte: under TCG each is a QEMU
 * exit. */
#define UART_TX_FIFO 16u

static void serial_putc(char c)
{
    /* In .data, not the BSS: the console may speak before platform_main
     * knows that the BSS is in RAM. */
    static unsigned room __attribute__((section(".data.serial")));
    if (room == 0) {
        /* Bounded wait: a wedged UART must not hang the image forever. */
        for (unsigned i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & UART_LSR_THRE); i++)
            cpu_relax();
        room = UART_TX_FIFO;
    }
    room--;
    outb(COM1 + UART_THR, (uint8_t)c);
}

void platform_console_write(const char *buf, size_t len)
{
    static unsigned traced;
    if (traced < 2 && len > 0) {
        traced++;
        hvt_trace("console write");
    }
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n')
            serial_putc('\r');
        serial_putc(buf[i]);
    }
}

void platform_error_write(const char *buf, size_t len)
{
    platform_console_write(buf, len);
}

/* ---- exit ----------------------------------------------------------- */

/* -device isa-debug-exit,iobase=0xf4,iosize=4: a write of v makes QEMU
 * exit with (v << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4

_Noreturn void platform_exit(int status)
{
    if (status < 0 || status > PLATFORM_EXIT_MAX) {
        console_printf("platform: exit status %d is outside 0..%d\n", status, PLATFORM_EXIT_MAX);
        status = PLATFORM_EXIT_ABORT;
    }
    outl(DEBUG_EXIT_PORT, (uint32_t)status);
    /* Still here: no isa-debug-exit device.  Say so, then stop for good
     * (interrupts are off, so hlt only wakes for NMIs). */
    console_printf("platform: exit(%d): no isa-debug-exit device at 0x%x; halting\n", status,
                   DEBUG_EXIT_PORT);
    for (;;)
        __asm__ volatile("cli; hlt");
}

_Noreturn void platform_abort(const char *why)
{
    console_printf("platform: abort: %s\n", why);
    platform_exit(PLATFORM_EXIT_ABORT);
}

/* ---- command line ---------------------------------------------------- */

static char cmdline[PLATFORM_CMDLINE_MAX];
static bool cmdline_cut;

const char *platform_cmdline(void)
{
    return cmdline;
}

bool platform_cmdline_cut(void)
{
    return cmdline_cut;
}

/* Copied because the loader's copy sits in RAM we do not otherwise own;
 * minus the virtio_mmio.device= words QEMU may append (virtio_net.c). */
static void cmdline_init(const struct hvm_start_info *si)
{
    if (si->cmdline_paddr == 0)
        return;
    const char *src = (const char *)(uintptr_t)si->cmdline_paddr;
    size_t n = strnlen(src, sizeof cmdline - 1);
    memcpy(cmdline, src, n);
    cmdline[n] = '\0';
    cmdline_cut = src[n] != '\0'; /* core/boot.c says the arguments are too long */
    hvt_net_take_cmdline(cmdline);
}

/* ---- memory --------------------------------------------------------- */

/* Everything is identity-mapped up to here (paging.c). */
#define MAPPED_LIMIT (4ull << 30)

static uintptr_t heap_next, heap_end;
static bool heap_published;

static uintptr_t align_up(uintptr_t v, uintptr_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/* The end of the RAM region of the PVH memory map that holds addr, or 0
 * when none does (or there is no map).  For the region from 1 MiB that is
 * QEMU's -m (below the PCI hole), so messages call it the machine's RAM.  No static data: it runs before
 * the BSS is cleared. */
static uint64_t ram_end_at(const struct hvm_start_info *si, uintptr_t addr)
{
    uint64_t end = 0;
    if (si->version >= 1 && si->memmap_paddr != 0) {
        const struct hvm_memmap_entry *e =
            (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
        for (uint32_t i = 0; i < si->memmap_entries; i++) {
            if (e[i].type == HVM_MEMMAP_TYPE_RAM && e[i].addr <= addr &&
                addr < e[i].addr + e[i].size)
                end = e[i].addr + e[i].size;
        }
    }
    return end > MAPPED_LIMIT ? MAPPED_LIMIT : end;
}

static uint64_t kib_up(uint64_t bytes)
{
    return (bytes + 1023) / 1024;
}

/* The loader put the image's file contents in RAM, but the BSS after them
 * may run past the end of it when the image's static tables are larger
 * than -m allows: writes there vanish under QEMU and the image would fault
 * at its first use of them, which with -no-reboot is a silent exit 0.
 * Check before anything is written there.  Only the boot stack and page
 * tables are in use so far (link.ld puts them first); this code and
 * console_printf use no static data.
 *
 * The BSS is not cleared here: it is already zero.  The ELF gABI (program
 * header, p_memsz) defines the bytes of a segment past its p_filesz to
 * hold 0, and the loaders that boot this image (QEMU's -kernel, Firecracker)
 * put it into fresh RAM, which the host gives zeroed; qemu_command() passes
 * -no-reboot, so the image never starts again in RAM it has used.  Clearing
 * it anyway cost 0.3-0.5 ms under TCG: 140 KiB of stores, and a host page
 * fault for each page, most of which the image never touches otherwise. */
static void image_fits_or_exit(const struct hvm_start_info *si)
{
    uint64_t end = ram_end_at(si, (uintptr_t)__image_start);
    if (end != 0 && end < (uintptr_t)__image_end) {
        console_printf("platform: out of memory at boot: the image's code and static data "
                       "need %lu KiB of RAM and the machine has %lu KiB: give QEMU more -m\n",
                       (unsigned long)kib_up((uintptr_t)__image_end),
                       (unsigned long)(end / 1024));
        platform_exit(PLATFORM_EXIT_NO_MEMORY);
    }
}

/* The heap is the rest of the RAM region that holds the image. */
static void heap_init(const struct hvm_start_info *si)
{
    uintptr_t start = align_up((uintptr_t)__image_end, HVT_PAGE_SIZE);
    if (si->version < 1 || si->memmap_paddr == 0)
        platform_abort("no memory map in hvm_start_info");
    uint64_t end = ram_end_at(si, start);
    if (end == 0) { /* the image ends exactly where RAM does: nothing left for the heap */
        console_printf("platform: out of memory at boot: no RAM is left after the image "
                       "(it ends at %lu KiB): give QEMU more -m\n",
                       (unsigned long)(start / 1024));
        platform_exit(PLATFORM_EXIT_NO_MEMORY);
    }
    heap_next = start;
    heap_end = (uintptr_t)end & ~(uintptr_t)(HVT_PAGE_SIZE - 1);
}

void *hvt_boot_alloc_uninit(size_t size, size_t align, const char *what)
{
    if (heap_published)
        platform_abort("hvt_boot_alloc after app_main started");
    uintptr_t p = align_up(heap_next, align);
    if (p > heap_end || heap_end - p < size) {
        console_printf("platform: out of memory at boot: %s need %lu KiB, %lu KiB of RAM is "
                       "left, and the machine has %lu KiB: give QEMU more -m\n",
                       what, (unsigned long)kib_up(size),
                       (unsigned long)(p > heap_end ? 0 : (heap_end - p) / 1024),
                       (unsigned long)(heap_end / 1024));
        platform_exit(PLATFORM_EXIT_NO_MEMORY);
    }
    heap_next = p + size;
    return (void *)p;
}

void *hvt_boot_alloc(size_t size, size_t align, const char *what)
{
    return memset(hvt_boot_alloc_uninit(size, align, what), 0, size);
}

struct platform_region platform_heap(void)
{
    struct platform_region r = {heap_next, heap_end - heap_next};
    return r;
}

/* ---- boot --------------------------------------------------------------- */

uint64_t hvt_boot_tsc;

_Noreturn void platform_main(uint64_t start_info_paddr);

/* Called from boot.S in long mode on the boot stack, under the temporary
 * 1 GiB identity map; the BSS may lie past the end of RAM until
 * image_fits_or_exit says otherwise. */
_Noreturn void platform_main(uint64_t start_info_paddr)
{
    uint64_t tsc = rdtsc(); /* kept in a local until the BSS is known to be in RAM */
    hvt_serial_init();
    const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)start_info_paddr;
    if (si == NULL || si->magic != HVM_START_MAGIC)
        platform_abort("not started through PVH (bad hvm_start_info magic)");
    image_fits_or_exit(si);
    hvt_boot_tsc = tsc;
    hvt_trace_at(hvt_entry_tsc, "PVH entry");
    hvt_trace_at(tsc, "C entered");
    hvt_traps_init();
    hvt_trace("traps");
    /* Read everything the loader left before boot allocations may reuse
     * that memory. */
    cmdline_init(si);
    hvt_trace("command line");
    heap_init(si);
    hvt_paging_init();
    hvt_trace("page tables");
    hvt_apic_init();
    hvt_trace("APIC");
    /* The clock calibration's window spans the network's start, which
     * needs no clock: ~0.5 ms of boot that would otherwise be spent only
     * sampling the PIT. */
    hvt_calibrate_start();
    hvt_net_init();
    hvt_trace("virtio-net");
    hvt_clock_init();
    hvt_trace("clock");
    heap_published = true;
    platform_exit(app_main());
}
