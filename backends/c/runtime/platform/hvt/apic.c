/*
 * Interrupt controllers: the local APIC (its one-shot timer and EOI) and
 * the I/O APIC that routes the virtio-mmio line to it (Intel SDM vol. 3A
 * ch. 11 "Advanced Programmable Interrupt Controller"; the 82093AA I/O APIC
 * datasheet for the redirection table).
 *
 * Interrupts are enabled only inside platform_yield_until's `sti; hlt`
 * (clock.c): handlers never interrupt the application, so they need no
 * locking and the application's view stays "single-threaded, polled".
 *
 * microvm: one I/O APIC at 0xfec00000 with 24 pins when ACPI is off (which
 * qemu_command() asks for); virtio-mmio slot i is wired to GSI 5 + i, which
 * QEMU also writes on the command line ("virtio_mmio.device=...:GSI").
 * The legacy 8259 PICs are masked: every line goes through the I/O APIC.
 * Both MMIO windows lie in paging.c's uncached, no-execute device range.
 */
#include "fmt.h"
#include "hvt.h"

#define MSR_APIC_BASE 0x1bu
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ull

#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_COUNT 0x390
#define LAPIC_TIMER_DIV 0x3e0

#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define TIMER_DIV_16 0x3u /* divide configuration 0b0011 */

#define IOAPIC_BASE 0xfec00000u
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_REDIR 0x10 /* two 32-bit registers per pin */
#define REDIR_LEVEL (1u << 15)
#define REDIR_MASKED (1u << 16)

static uintptr_t lapic_base;
static uint32_t lapic_id;
uint64_t hvt_lapic_timer_hz;
volatile uint64_t hvt_irqs_net, hvt_irqs_timer;

static uint32_t lapic_rd(uint32_t off)
{
    return *(volatile uint32_t *)(lapic_base + off);
}

static void lapic_wr(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(lapic_base + off) = v;
}

static uint32_t ioapic_rd(uint32_t reg)
{
    *(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + IOAPIC_REGSEL) = reg;
    return *(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + IOAPIC_WIN);
}

static void ioapic_wr(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + IOAPIC_REGSEL) = reg;
    *(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + IOAPIC_WIN) = v;
}

void hvt_apic_init(void)
{
    /* Mask both 8259s (OCW1): their outputs would arrive on vectors
     * 8..15, which are CPU exceptions.  Harmless where there is no PIC. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);

    uint64_t base = rdmsr(MSR_APIC_BASE);
    wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
    lapic_base = (uintptr_t)(base & APIC_BASE_ADDR_MASK);
    lapic_id = lapic_rd(LAPIC_ID) >> 24;
    lapic_wr(LAPIC_TPR, 0); /* accept every priority */
    lapic_wr(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_wr(LAPIC_LVT_ERROR, LVT_MASKED);
    lapic_wr(LAPIC_SVR, SVR_ENABLE | HVT_VECTOR_SPURIOUS);
    /* Free-running and masked until calibrated against the PIT. */
    lapic_wr(LAPIC_TIMER_DIV, TIMER_DIV_16);
    lapic_wr(LAPIC_LVT_TIMER, LVT_MASKED | HVT_VECTOR_TIMER);
    lapic_wr(LAPIC_TIMER_INIT, 0xffffffffu);
}

uint32_t hvt_lapic_timer_count(void)
{
    return lapic_rd(LAPIC_TIMER_COUNT);
}

void hvt_lapic_timer_calibrated(uint64_t hz)
{
    hvt_lapic_timer_hz = hz;
    lapic_wr(LAPIC_TIMER_INIT, 0);
    lapic_wr(LAPIC_LVT_TIMER, HVT_VECTOR_TIMER); /* one-shot, unmasked */
}

uint64_t hvt_lapic_timer_arm(uint64_t ns)
{
    unsigned __int128 t = (unsigned __int128)ns * hvt_lapic_timer_hz / 1000000000u;
    /* A count of 0 stops the timer; longer waits wake early and re-arm. */
    uint32_t ticks = t == 0 ? 1u : t > 0xffffffffu ? 0xffffffffu : (uint32_t)t;
    lapic_wr(LAPIC_TIMER_INIT, ticks);
    return t > 0xffffffffu ? (uint64_t)ticks * 1000000000u / hvt_lapic_timer_hz : ns;
}

bool hvt_ioapic_route(uint32_t gsi, uint8_t vector)
{
    uint32_t pins = ((ioapic_rd(IOAPIC_REG_VER) >> 16) & 0xff) + 1;
    if (gsi >= pins)
        return false;
    /* virtio-mmio raises a level, active-high line that stays up until the
     * driver acknowledges InterruptStatus; physical destination: this CPU. */
    ioapic_wr(IOAPIC_REG_REDIR + 2 * gsi + 1, lapic_id << 24);
    ioapic_wr(IOAPIC_REG_REDIR + 2 * gsi, REDIR_LEVEL | vector);
    return true;
}

/* Called from the interrupt stubs in boot.S with the interrupted state
 * saved.  The device's own acknowledgement happens first, so that the
 * level line is low when the EOI lets the I/O APIC look at it again. */
void hvt_irq(uint64_t vector);
void hvt_irq(uint64_t vector)
{
    if (vector == HVT_VECTOR_NET) {
        hvt_net_irq_ack();
        hvt_irqs_net++;
    } else if (vector == HVT_VECTOR_TIMER) {
        hvt_irqs_timer++;
    } else {
        return; /* spurious: no EOI (SDM 11.9) */
    }
    lapic_wr(LAPIC_EOI, 0);
}
