/*
 * PVH entry: from 32-bit protected mode to 64-bit C.
 *
 * The loader (QEMU's firmware for -kernel) reads the Xen ELF note below,
 * loads the PT_LOAD segments at their physical addresses and jumps to the
 * note's address with: paging off, CR0.PE set, CR4 clear, flat 32-bit CS
 * and DS, interrupts off, %ebx = physical address of hvm_start_info.
 * Nothing else is promised: no GDT we may keep, no stack.
 *
 * This file only does what C cannot: a temporary identity map of the first
 * GiB (2 MiB pages, writable and executable) so that long mode can start;
 * hvt_paging_init() in C then builds the real, W^X tables.
 */

#define CR0_MP   (1 << 1)
#define CR0_EM   (1 << 2)
#define CR0_NE   (1 << 5)
#define CR0_WP   (1 << 16)
#define CR0_PG   (1 << 31)
#define CR4_PAE  (1 << 5)
#define CR4_OSFXSR     (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

#define SEL_CODE64 0x08
#define SEL_DATA   0x10

/* XEN_ELFNOTE_PHYS32_ENTRY (type 18), name "Xen".  4-byte alignment because
 * QEMU pads the name to the PT_NOTE's p_align; an 8-byte descriptor because
 * QEMU 7.2 reads a size_t from a 64-bit ELF (newer QEMU reads 32 bits). */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4                 /* namesz */
        .long 8                 /* descsz */
        .long 18                /* type */
        .asciz "Xen"
        .balign 4
        .quad _pvh_start
        .balign 4

        .section .text.boot, "ax", @progbits
        .code32
        .globl _pvh_start
        .type _pvh_start, @function
_pvh_start:
        cli
        cld
        movl %ebx, %esi                 /* hvm_start_info, kept for C */
        /* The TSC at the image's first instruction, for the boot trace and
         * the self-test's boot time (hvt_entry_tsc is in .data: the loader
         * put it there, nothing clears it). */
        rdtsc
        movl %eax, hvt_entry_tsc
        movl %edx, hvt_entry_tsc + 4

        lgdt hvt_gdt_desc
        movl $SEL_DATA, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
        movl %eax, %fs
        movl %eax, %gs

        /* The boot page tables, in the BSS, which the loader left zeroed
         * (platform.c, image_fits_or_exit: the ELF rule for p_memsz).  They
         * and the stack after them come right after the loaded data
         * (link.ld), so they are in RAM whenever the image could be loaded
         * at all.  Only their first entries and the whole boot_pd are
         * used, and all of those are written here. */
        movl $boot_pdpt + 0x3, boot_pml4        /* present | writable */
        movl $boot_pd + 0x3, boot_pdpt
        movl $boot_pd, %edi
        movl $0x83, %eax                        /* present | writable | 2 MiB */
        movl $512, %ecx
1:      movl %eax, (%edi)
        addl $0x200000, %eax
        addl $8, %edi
        loop 1b

        /* PAE for long mode; OSFXSR/OSXMMEXCPT and CR0.MP/!EM so compiled
         * code may use SSE (GCC does for copies and zeroing). */
        movl %cr4, %eax
        orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
        movl %eax, %cr4
        movl $boot_pml4, %eax
        movl %eax, %cr3
        movl $MSR_EFER, %ecx
        rdmsr
        orl $EFER_LME, %eax
        wrmsr
        movl %cr0, %eax
        andl $~CR0_EM, %eax
        /* WP: read-only pages bind the kernel too; that is the W^X point. */
        orl $(CR0_PG | CR0_WP | CR0_NE | CR0_MP), %eax
        movl %eax, %cr0
        ljmp $SEL_CODE64, $long_mode

        .code64
long_mode:
        movq $__stack_top, %rsp
        xorl %ebp, %ebp
        movl %esi, %edi                 /* zero-extended: platform_main(start_info) */
        call platform_main
2:      cli
        hlt
        jmp 2b
        .size _pvh_start, . - _pvh_start

/*
 * CPU exception entry points for vectors 0..31.  Each pushes a dummy error
 * code where the CPU pushes none, then the vector, so hvt_trap() sees one
 * frame layout.  They run on IST1 (see traps.c), so even a stack overflow
 * into the guard page gets reported instead of triple-faulting.
 */
        .section .text.traps, "ax", @progbits
.macro TRAP_NOERR vec
trap_\vec:
        pushq $0
        pushq $\vec
        jmp trap_common
.endm
.macro TRAP_ERR vec
trap_\vec:
        pushq $\vec
        jmp trap_common
.endm
        .irp vec, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
        TRAP_NOERR \vec
        .endr
        .irp vec, 8,10,11,12,13,14,17,21,29,30
        TRAP_ERR \vec
        .endr

trap_common:
        pushq %rax
        pushq %rbx
        pushq %rcx
        pushq %rdx
        pushq %rsi
        pushq %rdi
        pushq %rbp
        pushq %r8
        pushq %r9
        pushq %r10
        pushq %r11
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        movq %rsp, %rdi                 /* 16-byte aligned: 22 quadwords pushed */
        call hvt_trap                   /* never returns */
3:      cli
        hlt
        jmp 3b

/*
 * Device interrupts (apic.c): the vector, every caller-saved register and
 * the SSE state (fxsave; the C handler may use SSE like any C code) are
 * saved on the current stack, then hvt_irq(vector) runs and iretq resumes.
 * They only ever interrupt the `sti; hlt` of platform_yield_until.
 * Stack: 16-byte aligned by the CPU, 5 quadwords pushed, then the vector
 * and 10 registers make 16 quadwords: fxsave's area and the call are
 * aligned.
 */
.macro IRQ vec
irq_\vec:
        pushq $\vec
        jmp irq_common
.endm
        IRQ 48
        IRQ 49
        IRQ 255

irq_common:
        pushq %rax
        pushq %rcx
        pushq %rdx
        pushq %rsi
        pushq %rdi
        pushq %r8
        pushq %r9
        pushq %r10
        pushq %r11
        pushq %rbp
        subq $512, %rsp
        fxsave (%rsp)
        movq 592(%rsp), %rdi            /* the vector: above 512 + 10 * 8 */
        call hvt_irq
        fxrstor (%rsp)
        addq $512, %rsp
        popq %rbp
        popq %r11
        popq %r10
        popq %r9
        popq %r8
        popq %rdi
        popq %rsi
        popq %rdx
        popq %rcx
        popq %rax
        addq $8, %rsp
        iretq

        .section .rodata.traps, "a", @progbits
        .balign 8
        .globl hvt_irq_stubs
hvt_irq_stubs:                          /* vectors 0x30, 0x31, 0xff */
        .quad irq_48, irq_49, irq_255

        .section .rodata.traps, "a", @progbits
        .balign 8
        .globl hvt_trap_stubs
hvt_trap_stubs:
        .irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .quad trap_\vec
        .endr

/* The GDT is writable data: ltr marks the TSS descriptor busy in place. */
        .section .data.gdt, "aw", @progbits
        .balign 16
        .globl hvt_gdt
hvt_gdt:
        .quad 0
        .quad 0x00af9a000000ffff        /* 0x08: 64-bit code, ring 0 */
        .quad 0x00cf92000000ffff        /* 0x10: flat data */
        .quad 0, 0                      /* 0x18: TSS, filled by hvt_traps_init */
hvt_gdt_end:
        .balign 8
        .globl hvt_gdt_desc
hvt_gdt_desc:
        .word hvt_gdt_end - hvt_gdt - 1
        .quad hvt_gdt

        .balign 8
        .globl hvt_entry_tsc
hvt_entry_tsc:
        .quad 0

        .section .bss.boot, "aw", @nobits
        .balign 4096
boot_pml4:
        .skip 4096
boot_pdpt:
        .skip 4096
boot_pd:
        .skip 4096

        .section .note.GNU-stack, "", @progbits
