/*
 * The floor of bench/hvt_boot.py: the least a PVH image can do under QEMU
 * microvm.  Its 32-bit entry writes 0 to isa-debug-exit at once, so QEMU
 * exits with status 1; the time from launching QEMU to its exit is what
 * QEMU itself, its firmware and the ELF loading cost before any image code
 * runs.  Linked with backends/c/runtime/platform/hvt/link.ld (image at
 * 1 MiB, the Xen note in its own PT_NOTE), as the real images are.
 */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4                 /* namesz */
        .long 8                 /* descsz: QEMU 7.2 reads a 64-bit entry */
        .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .balign 4
        .quad _pvh_start
        .balign 4

        .section .text.boot, "ax", @progbits
        .code32
        .globl _pvh_start
_pvh_start:
        xorl %eax, %eax
        outl %eax, $0xf4        /* isa-debug-exit: QEMU exits (0 << 1) | 1 */
1:      hlt
        jmp 1b

        .section .note.GNU-stack, "", @progbits
