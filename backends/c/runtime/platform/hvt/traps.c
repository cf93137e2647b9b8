/*
 * CPU exceptions: report and exit, never resume.
 *
 * Without an IDT any fault would triple-fault and QEMU would reset (or,
 * with -no-reboot, exit 0): no clue what happened.  So vectors 0..31 get
 * a handler that prints the vector, error code, RIP and CR2 and exits with
 * PLATFORM_EXIT_FAULT.  Handlers run on a separate stack (IST1 in the TSS)
 * so that a stack overflow into the guard page is reported too.
 * Three more vectors take device interrupts (apic.c): virtio-net, the
 * LAPIC timer and the LAPIC's spurious vector; any other vector has no
 * gate, so a stray one ends as a reported general-protection fault.
 */
#include "fmt.h"
#include "hvt.h"

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
} __attribute__((packed));

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

extern const uint64_t hvt_trap_stubs[32]; /* boot.S */
extern const uint64_t hvt_irq_stubs[3];   /* boot.S: vectors 0x30, 0x31, 0xff */
extern uint64_t hvt_gdt[];                /* boot.S: 0x18 is the TSS slot */

#define SEL_CODE64 0x08
#define SEL_TSS 0x18
#define GATE_INTERRUPT 0x8e /* present, ring 0, 64-bit interrupt gate */
#define TSS_AVAILABLE 0x89  /* present, 64-bit TSS */

static struct idt_gate idt[256];
static struct tss64 tss;
static uint8_t trap_stack[8192] __attribute__((aligned(16)));

_Noreturn void hvt_trap(const struct trap_frame *f);

static const char *const trap_names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
    "invalid opcode", "device not available", "double fault", "coprocessor overrun",
    "invalid TSS", "segment not present", "stack fault", "general protection",
    "page fault", "reserved", "x87 error", "alignment check", "machine check",
    "SIMD error", "virtualization", "control protection",
};

_Noreturn void hvt_trap(const struct trap_frame *f)
{
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    const char *name = trap_names[f->vector & 31] ? trap_names[f->vector & 31] : "reserved";
    console_printf("platform: CPU exception %llu (%s), error 0x%llx, rip 0x%llx, rsp 0x%llx\n",
                   (unsigned long long)f->vector, name, (unsigned long long)f->error,
                   (unsigned long long)f->rip, (unsigned long long)f->rsp);
    if (f->vector == 14) {
        /* Error code bits: present, write, user, reserved bit, fetch. */
        console_printf("platform: page fault at 0x%llx: %s %s%s\n", (unsigned long long)cr2,
                       (f->error & 16)  ? "instruction fetch"
                       : (f->error & 2) ? "write"
                                        : "read",
                       (f->error & 1) ? "of a protected page" : "of an unmapped page",
                       (f->error & 8) ? " (reserved bit set)" : "");
    }
    platform_exit(PLATFORM_EXIT_FAULT);
}

static void set_gate(unsigned vector, uint64_t handler, uint8_t ist)
{
    idt[vector] = (struct idt_gate){
        .offset_lo = (uint16_t)handler,
        .selector = SEL_CODE64,
        .ist = ist,
        .type_attr = GATE_INTERRUPT,
        .offset_mid = (uint16_t)(handler >> 16),
        .offset_hi = (uint32_t)(handler >> 32),
    };
}

void hvt_traps_init(void)
{
    uintptr_t tss_base = (uintptr_t)&tss;
    tss.ist[0] = (uintptr_t)(trap_stack + sizeof trap_stack);
    tss.iomap_base = sizeof tss; /* no I/O bitmap: ring 0 needs none */
    uint64_t limit = sizeof tss - 1;
    hvt_gdt[3] = (limit & 0xffff) | ((tss_base & 0xffffff) << 16) | ((uint64_t)TSS_AVAILABLE << 40) |
                 (((limit >> 16) & 0xf) << 48) | (((uint64_t)tss_base >> 24 & 0xff) << 56);
    hvt_gdt[4] = (uint64_t)tss_base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS) : "memory");

    for (unsigned v = 0; v < 32; v++)
        set_gate(v, hvt_trap_stubs[v], 1);
    /* Interrupts run on the interrupted stack (IST 0): only the halt in
     * platform_yield_until is ever interrupted, with stack to spare. */
    set_gate(HVT_VECTOR_NET, hvt_irq_stubs[0], 0);
    set_gate(HVT_VECTOR_TIMER, hvt_irq_stubs[1], 0);
    set_gate(HVT_VECTOR_SPURIOUS, hvt_irq_stubs[2], 0);
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = {sizeof idt - 1, (uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}
