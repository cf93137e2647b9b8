/*
 * specc's firmware for hvt images under QEMU microvm: `-bios` for qboot.
 *
 * It does only what a PVH `-kernel` boot needs, written from the specs
 * (QEMU docs/specs/fw_cfg.rst, Xen's PVH boot ABI in docs/misc/pvh.pandoc
 * and public/arch-x86/hvm/start_info.h, Intel SDM vol. 3 ch. 9):
 *
 * QEMU itself has already put the ELF's PT_LOAD segments at their physical
 * addresses (as ROM blobs, copied into RAM at reset) and left in fw_cfg the
 * PVH entry (FW_CFG_KERNEL_ENTRY), the command line (FW_CFG_CMDLINE_SIZE /
 * _DATA) and the memory map (the file etc/e820).  So from the reset vector:
 * real mode -> flat 32-bit protected mode, read those three through fw_cfg
 * (its DMA interface when FW_CFG_ID says so, else the data port), build an
 * hvm_start_info (version 1, with the memory map and the command line) in
 * low RAM and jump to the entry with %ebx = its address, in the state the
 * PVH ABI promises: CR0 = PE (plus the fixed ET), CR4 = 0, paging off,
 * flat 4 GiB CS/DS/ES/SS, TR a 32-bit TSS with base 0 and limit 0x67,
 * EFLAGS.IF/TF/VM clear.  Nothing else: no interrupts, no ACPI, no PCI, no
 * MTRR set-up (TCG has no memory types; KVM does not apply a guest's MTRRs
 * unless a device is assigned to it; CR0.CD is cleared all the same).
 *
 * Linked at 0xffff0000 as 64 KiB (QEMU wants a multiple of 64 KiB and maps
 * it at the top of 4 GiB, and its last 128 KiB, here all of it, below
 * 1 MiB: 0xf0000); the reset vector is its last 16 bytes.  If something is missing (no kernel entry,
 * a fw_cfg DMA error) it writes a line to the serial port and halts.
 */

#define FW_CFG_PORT_SEL   0x510
#define FW_CFG_PORT_DATA  0x511
#define FW_CFG_PORT_DMA   0x514         /* 64-bit big-endian address; 0x518 low half */
#define FW_CFG_ID         0x01
#define FW_CFG_ID_DMA     0x02
#define FW_CFG_KERNEL_ENTRY 0x10
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_FILE_DIR   0x19
#define FW_CFG_DMA_ERROR  0x01
#define FW_CFG_DMA_READ   0x02
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_FILE_SIZE  64            /* be32 size, be16 select, be16 reserved, name[56] */

#define COM1 0x3f8
#define HVM_START_MAGIC 0x336ec578
#define E820_ENTRY_SIZE 20              /* le64 addr, le64 size, le32 type */
#define MEMMAP_ENTRY_SIZE 24            /* hvm_memmap_table_entry: + le32 reserved */
#define MAX_MEMMAP 128

/* Low RAM this firmware writes (below the image at 1 MiB and below the
 * firmware's own alias at 0xe0000-0xfffff; the image only reads it). */
#define GDT_RAM       0x5000            /* the GDT again, writable, for LTR */
#define STACK_TOP     0x6000
#define DMA_ACCESS    0x6000            /* FWCfgDmaAccess: be32 control, be32 length, be64 address */
#define SCRATCH       0x6010            /* 4-byte fw_cfg reads */
#define FW_CFG_READ   0x6014            /* read_dma or read_pio: the firmware itself may be ROM */
#define START_INFO    0x6100            /* struct hvm_start_info, 56 bytes */
#define MEMMAP        0x6200            /* MAX_MEMMAP entries of 24 bytes */
#define E820_RAW      0x7400            /* MAX_MEMMAP entries of 20 bytes */
#define FILE_DIR      0x8000            /* be32 count, then the entries */
#define FILE_DIR_MAX  ((0x10000 - FILE_DIR - 4) / FW_CFG_FILE_SIZE)
#define CMDLINE       0x10000
#define CMDLINE_MAX   (0xe0000 - CMDLINE)

#define SEL_CODE32 0x08
#define SEL_DATA32 0x10
#define SEL_TSS32  0x18

        .section .text, "ax", @progbits
        .globl fw_base
fw_base:

/* ---- 32-bit protected mode ---------------------------------------------- */
        .code32
start32:
        movl $SEL_DATA32, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
        movl %eax, %fs
        movl %eax, %gs
        movl $STACK_TOP, %esp

        /* The GDT into RAM: LTR marks the TSS descriptor busy, a write the
         * ROM copy might refuse. */
        movl $gdt, %esi
        movl $GDT_RAM, %edi
        movl $(gdt_end - gdt) / 4, %ecx
        rep movsl
        lgdt gdt_ram_desc
        movl $SEL_TSS32, %eax
        ltr %ax

        /* DMA if fw_cfg has it (FW_CFG_ID bit 1), else the data port. */
        movl $read_pio, FW_CFG_READ
        movw $FW_CFG_ID, %ax
        movl $SCRATCH, %edi
        movl $4, %ecx
        call read_pio
        testb $FW_CFG_ID_DMA, SCRATCH
        jz 1f
        movl $read_dma, FW_CFG_READ
1:
        /* The PVH entry: 0 when QEMU found no Xen note (no -kernel). */
        movw $FW_CFG_KERNEL_ENTRY, %ax
        movl $SCRATCH, %edi
        movl $4, %ecx
        call *FW_CFG_READ
        movl SCRATCH, %ebp
        testl %ebp, %ebp
        jnz 1f
        movl $msg_no_kernel, %esi
        jmp fail
1:
        /* hvm_start_info, version 1; cmdline and memmap filled below. */
        movl $START_INFO, %edi
        xorl %eax, %eax
        movl $56 / 4, %ecx
        rep stosl
        movl $HVM_START_MAGIC, START_INFO + 0
        movl $1, START_INFO + 4

        /* The command line, NUL included (FW_CFG_CMDLINE_SIZE counts it);
         * a longer one than fits is cut and still ends in NUL. */
        movw $FW_CFG_CMDLINE_SIZE, %ax
        movl $SCRATCH, %edi
        movl $4, %ecx
        call *FW_CFG_READ
        movl SCRATCH, %ecx
        testl %ecx, %ecx
        jz 2f
        cmpl $CMDLINE_MAX, %ecx
        jbe 1f
        movl $CMDLINE_MAX, %ecx
1:      pushl %ecx
        movw $FW_CFG_CMDLINE_DATA, %ax
        movl $CMDLINE, %edi
        call *FW_CFG_READ
        popl %ecx
        movb $0, CMDLINE - 1(%ecx)
        movl $CMDLINE, START_INFO + 24          /* cmdline_paddr */
2:
        /* The file directory: its count, then as many entries as fit. */
        movw $FW_CFG_FILE_DIR, %ax
        movl $FILE_DIR, %edi
        movl $4, %ecx
        call *FW_CFG_READ
        movl FILE_DIR, %ecx
        bswapl %ecx
        cmpl $FILE_DIR_MAX, %ecx
        jbe 1f
        movl $FILE_DIR_MAX, %ecx
1:      movl %ecx, %ebx                         /* entries to search */
        shll $6, %ecx                           /* * FW_CFG_FILE_SIZE */
        addl $4, %ecx
        movw $FW_CFG_FILE_DIR, %ax
        movl $FILE_DIR, %edi
        call *FW_CFG_READ

        /* etc/e820: compare each name with name_e820, NUL included. */
        movl $FILE_DIR + 4, %edx
3:      testl %ebx, %ebx
        jnz 4f
        movl $msg_no_e820, %esi
        jmp fail
4:      leal 8(%edx), %edi
        movl $name_e820, %esi
        movl $name_e820_end - name_e820, %ecx
        repe cmpsb
        je 5f
        addl $FW_CFG_FILE_SIZE, %edx
        decl %ebx
        jmp 3b
5:      movl 0(%edx), %ecx                      /* be32 size */
        bswapl %ecx
        movzwl 4(%edx), %eax                    /* be16 select */
        xchgb %al, %ah
        cmpl $MAX_MEMMAP * E820_ENTRY_SIZE, %ecx
        jbe 1f
        movl $MAX_MEMMAP * E820_ENTRY_SIZE, %ecx
1:      movl %ecx, %ebx
        movl $E820_RAW, %edi
        call *FW_CFG_READ

        /* e820 (20-byte) entries -> hvm_memmap_table_entry (24 bytes):
         * same addr, size and type (1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5
         * unusable share their numbers), reserved 0. */
        movl %ebx, %eax
        xorl %edx, %edx
        movl $E820_ENTRY_SIZE, %ecx
        divl %ecx
        movl %eax, START_INFO + 48              /* memmap_entries */
        movl $MEMMAP, START_INFO + 40           /* memmap_paddr */
        movl %eax, %edx
        movl $E820_RAW, %esi
        movl $MEMMAP, %edi
        jmp 2f
1:      movl $E820_ENTRY_SIZE / 4, %ecx
        rep movsl
        xorl %eax, %eax
        stosl
        decl %edx
2:      testl %edx, %edx
        jnz 1b

        /* To the image, as the PVH ABI says. */
        movl $0x11, %eax                        /* PE, ET: CD, NW and the rest clear */
        movl %eax, %cr0
        xorl %eax, %eax
        movl %eax, %cr4
        movl $START_INFO, %ebx
        jmp *%ebp

/* read_pio, read_dma (through FW_CFG_READ): item %ax, %ecx bytes to %edi,
 * from the item's start.  Clobber %eax, %ecx, %edx, %esi, %edi. */
read_pio:
        movw $FW_CFG_PORT_SEL, %dx
        outw %ax, %dx
        movw $FW_CFG_PORT_DATA, %dx
        rep insb
        ret

read_dma:
        shll $16, %eax                          /* control: select << 16 | SELECT | READ */
        movw $(FW_CFG_DMA_SELECT | FW_CFG_DMA_READ), %ax
        bswapl %eax
        movl %eax, DMA_ACCESS + 0
        bswapl %ecx
        movl %ecx, DMA_ACCESS + 4
        movl $0, DMA_ACCESS + 8                 /* address, high half */
        bswapl %edi
        movl %edi, DMA_ACCESS + 12
        /* The address register is big-endian: each half byte-swapped. */
        movw $FW_CFG_PORT_DMA, %dx
        xorl %eax, %eax
        outl %eax, %dx
        addw $4, %dx
        movl $DMA_ACCESS, %eax
        bswapl %eax
        outl %eax, %dx                          /* the low half starts the transfer */
1:      movl DMA_ACCESS + 0, %eax               /* done when control reads 0 */
        bswapl %eax
        testl $FW_CFG_DMA_ERROR, %eax
        jnz 2f
        testl %eax, %eax
        jnz 1b
        ret
2:      movl $msg_dma_error, %esi
        /* fall through */

/* fail: print the NUL-terminated %esi on COM1, then halt for good. */
fail:
        movw $COM1, %dx
1:      lodsb
        testb %al, %al
        jz 2f
        outb %al, %dx
        jmp 1b
2:      cli
        hlt
        jmp 2b

/* Accessed bits already set: loading a segment then writes nothing to a
 * GDT that may be ROM. */
        .balign 8
gdt:
        .quad 0
        .quad 0x00cf9b000000ffff                /* 0x08: code, base 0, 4 GiB, 32-bit */
        .quad 0x00cf93000000ffff                /* 0x10: data, base 0, 4 GiB */
        .quad 0x0000890000000067                /* 0x18: 32-bit TSS, base 0, limit 0x67 */
gdt_end:
gdt_desc:
        .word gdt_end - gdt - 1
        .long gdt
gdt_ram_desc:
        .word gdt_end - gdt - 1
        .long GDT_RAM

name_e820:
        .asciz "etc/e820"
name_e820_end:
msg_no_kernel:
        .asciz "specc firmware: no PVH kernel in fw_cfg (FW_CFG_KERNEL_ENTRY is 0)\n"
msg_no_e820:
        .asciz "specc firmware: no etc/e820 in fw_cfg\n"
msg_dma_error:
        .asciz "specc firmware: fw_cfg DMA error\n"

/* ---- real mode, from the reset vector --------------------------------- */
        .code16
start16:
        cli
        cld
        /* CS base is 0xffff0000 after reset: the descriptor by CS offset. */
        lgdtl %cs:(gdt_desc - fw_base)
        movl %cr0, %eax
        orl $1, %eax
        movl %eax, %cr0
        ljmpl $SEL_CODE32, $start32

        .org 0xfff0
        .globl reset_vector
reset_vector:                                   /* 0xfffffff0, CS:IP = f000:fff0 */
        jmp start16
        .org 0x10000

        .section .note.GNU-stack, "", @progbits
