/*
 * The final page tables: identity map of the first 4 GiB, W^X.
 *
 * - 2 MiB pages everywhere, read-write and no-execute;
 * - every 2 MiB region that holds part of the image (and the one holding
 *   page 0) is split into 4 KiB pages with per-section rights from the
 *   linker script: .text read-only and executable, .rodata (with the PVH
 *   note) read-only and no-execute, .data/.bss/stack read-write and
 *   no-execute;
 * - not present: page 0 (NULL dereferences fault) and the stack guard page;
 * - the platform MMIO window (0xfe000000 up: virtio-mmio, IOAPIC, LAPIC) is
 *   uncached.
 * CR0.WP (set in boot.S) makes read-only binding in ring 0 as well.  Without
 * NX support in the CPU (EFER.NXE unavailable) the NX bits are left out, as
 * they would then be reserved bits; W^X is reduced to "text is read-only".
 */
#include "fmt.h"
#include "hvt.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)

#define MSR_EFER 0xc0000080u
#define EFER_NXE (1ull << 11)

#define MAP_GIB 4u
#define MMIO_WINDOW 0xfe000000ull
#define SIZE_2M (2ull << 20)

bool hvt_nx_enabled;

static uint64_t nx_bit(void)
{
    return hvt_nx_enabled ? PTE_NX : 0;
}

static uint64_t small_page_flags(uint64_t addr)
{
    uintptr_t a = (uintptr_t)addr;
    if (a < HVT_PAGE_SIZE)
        return 0;
    if (a >= (uintptr_t)__stack_guard && a < (uintptr_t)__stack_guard + HVT_PAGE_SIZE)
        return 0;
    if (a >= (uintptr_t)__image_start && a < (uintptr_t)__text_end)
        return PTE_P;
    if (a >= (uintptr_t)__text_end && a < (uintptr_t)__rodata_end)
        return PTE_P | nx_bit();
    return PTE_P | PTE_W | nx_bit();
}

void hvt_paging_init(void)
{
    uint32_t r[4];
    cpuid(0x80000000u, r);
    if (r[0] >= 0x80000001u) {
        cpuid(0x80000001u, r);
        hvt_nx_enabled = (r[3] >> 20) & 1;
    }
    if (hvt_nx_enabled)
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    else
        console_printf("platform: CPU without NX: data pages stay executable\n");

    uint64_t *pml4 = hvt_boot_alloc(HVT_PAGE_SIZE, HVT_PAGE_SIZE, "the page tables");
    uint64_t *pdpt = hvt_boot_alloc(HVT_PAGE_SIZE, HVT_PAGE_SIZE, "the page tables");
    /* Every entry of the directories and of the 4 KiB tables is written
     * below, so they need no zeroing. */
    uint64_t *pd = hvt_boot_alloc_uninit(MAP_GIB * HVT_PAGE_SIZE, HVT_PAGE_SIZE, "the page tables");
    pml4[0] = (uintptr_t)pdpt | PTE_P | PTE_W;
    for (unsigned g = 0; g < MAP_GIB; g++)
        pdpt[g] = ((uintptr_t)pd + g * HVT_PAGE_SIZE) | PTE_P | PTE_W;
    for (uint64_t i = 0; i < MAP_GIB * 512ull; i++) {
        uint64_t addr = i * SIZE_2M;
        uint64_t flags = PTE_P | PTE_W | PTE_PS | nx_bit();
        if (addr >= MMIO_WINDOW)
            flags |= PTE_PCD | PTE_PWT;
        pd[i] = addr | flags;
    }

    uint64_t last = ((uintptr_t)__image_end - 1) / SIZE_2M;
    for (uint64_t region = 0; region <= last; region++) {
        uint64_t *pt = hvt_boot_alloc_uninit(HVT_PAGE_SIZE, HVT_PAGE_SIZE, "the page tables");
        for (uint64_t j = 0; j < 512; j++) {
            uint64_t addr = region * SIZE_2M + j * HVT_PAGE_SIZE;
            uint64_t flags = small_page_flags(addr);
            pt[j] = flags ? (addr | flags) : 0;
        }
        pd[region] = (uintptr_t)pt | PTE_P | PTE_W;
    }

    /* Loading CR3 also flushes every old translation (no global pages). */
    __asm__ volatile("mov %0, %%cr3" : : "r"((uintptr_t)pml4) : "memory");
}
