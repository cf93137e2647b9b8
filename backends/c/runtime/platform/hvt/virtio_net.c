/*
 * virtio-net over virtio-mmio: one receive and one transmit queue.
 *
 * Discovery: QEMU microvm (with acpi=off, or Firecracker) names its
 * transports on the kernel command line, "virtio_mmio.device=512@0xfeb00e00:12";
 * hvt_net_take_cmdline() collects and removes those words so that the
 * application sees its own parameters only.  With ACPI on, microvm appends
 * nothing to a PVH image's command line, so we also probe the fixed slots
 * 0xfeb00000 + 0x200 * i (i < 24), from the top: QEMU fills them from the
 * top, so that finds the first -device virtio-net-device of the QEMU command
 * line.  Every slot answers with the magic "virt"; device id 0 means empty.
 *
 * Both transport versions: 1 (legacy, QEMU's default: one page-number
 * register per queue, guest-chosen alignment) and 2 (virtio 1.0, with
 * -global virtio-mmio.force-legacy=false: three 64-bit ring addresses and
 * FEATURES_OK).  The ring memory layout below suits both.
 *
 * Each frame travels in a single descriptor holding the virtio-net header
 * and the frame; QEMU (and Firecracker) accept any layout.  Only the MAC
 * feature is negotiated (plus VERSION_1 for version 2), so there is no
 * offload, no merged buffers and frames are at most 1514 bytes.
 *
 * Interrupts: the transport's line (the GSI after the colon on the command
 * line, else 5 + slot, microvm's wiring with ACPI off) is routed through the
 * I/O APIC to HVT_VECTOR_NET.  Receive interrupts are suppressed with
 * VRING_AVAIL_F_NO_INTERRUPT except while platform_yield_until halts
 * (hvt_net_irq_want); transmit interrupts always: sent buffers are taken
 * back on the next write.  EVENT_IDX is not negotiated: the flag suffices
 * when only an empty ring ever asks for an interrupt.
 */
#include <string.h>

#include "fmt.h"
#include "hvt.h"

#define MMIO_BASE 0xfeb00000u
#define MMIO_STRIDE 0x200u
#define MMIO_SLOTS 24u

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEVICE_FEATURES 0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_GUEST_PAGE_SIZE 0x028 /* legacy only */
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_ALIGN 0x03c /* legacy only */
#define R_QUEUE_PFN 0x040   /* legacy only */
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC_LO 0x080
#define R_QUEUE_DESC_HI 0x084
#define R_QUEUE_AVAIL_LO 0x090
#define R_QUEUE_AVAIL_HI 0x094
#define R_QUEUE_USED_LO 0x0a0
#define R_QUEUE_USED_HI 0x0a4
#define R_CONFIG 0x100

#define MAGIC_VIRT 0x74726976u /* "virt" little-endian */
#define DEVICE_ID_NET 1u

#define S_ACKNOWLEDGE 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_FAILED 128u

#define F_MAC (1u << 5)
#define F_HI_VERSION_1 (1u << 0) /* feature bit 32 */

#define INT_USED_BUFFER 1u /* InterruptStatus / InterruptACK bits */
#define INT_CONFIG_CHANGE 2u

#define VRING_DESC_F_WRITE 2u
#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define VRING_USED_F_NO_NOTIFY 1u

/* Descriptors per queue.  Transmit has 128: with 64, a client keeping 100
 * queries in flight (dnsperf -q 100) got about a third of the answers per
 * second, and per QEMU CPU second, that 128 or 256 give, over user
 * networking and tap alike (bench/dns.py, issue 13); 128 rather than QEMU's
 * 256 keeps the buffers at (128 + 128) x 2 KiB, so -m 2 leaves the arena its
 * room.  Receive has 128 too: with 64, fewer than the 100 queries in flight,
 * QEMU found the ring empty about once every 27 frames (it then queues the
 * frames and waits for the guest's notification); with 128 never, and user
 * networking answered 5-27% more in three A/B pairs (load 9-11). */
#define RX_QUEUE_SIZE 128u
#define TX_QUEUE_SIZE 128u
#define BUF_SIZE 2048u  /* header + 1514-byte frame, with room to spare */
#define FRAME_MAX 1514u /* MTU 1500 + Ethernet header */
#define RXQ 0u
#define TXQ 1u

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vring_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct vring_used_elem {
    uint32_t id;
    uint32_t len;
};

struct vring_used {
    uint16_t flags;
    uint16_t idx;
    struct vring_used_elem ring[];
};

struct queue {
    uint16_t size;
    uint16_t avail_idx; /* our copy of avail->idx */
    uint16_t used_seen; /* used entries consumed so far */
    volatile struct vring_desc *desc;
    volatile struct vring_avail *avail;
    volatile struct vring_used *used;
    uint8_t *bufs; /* size * BUF_SIZE, buffer i belongs to descriptor i */
};

uint32_t hvt_net_version;
uintptr_t hvt_net_base;
uint32_t hvt_net_gsi = HVT_NO_GSI;

static struct queue rxq, txq;
static uint16_t tx_free[TX_QUEUE_SIZE];
static unsigned tx_nfree;
static size_t hdr_len;
static uint8_t mac[6];

static uint32_t rd(uint32_t off)
{
    return *(volatile uint32_t *)(hvt_net_base + off);
}

static void wr(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(hvt_net_base + off) = v;
}

static uintptr_t align_up(uintptr_t v, uintptr_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Lay out descriptors, then the available ring, then (on the next page:
 * legacy's QueueAlign) the used ring, and tell the device where. */
static bool queue_setup(struct queue *q, uint32_t index, uint32_t wanted)
{
    wr(R_QUEUE_SEL, index);
    uint32_t max = rd(R_QUEUE_NUM_MAX);
    if (max == 0)
        return false;
    if (hvt_net_version >= 2 && rd(R_QUEUE_READY) != 0)
        return false;
    q->size = (uint16_t)(max < wanted ? max : wanted);
    size_t desc_avail = align_up(16u * q->size + 6u + 2u * q->size, HVT_PAGE_SIZE);
    size_t used = align_up(6u + 8u * q->size, HVT_PAGE_SIZE);
    uint8_t *mem = hvt_boot_alloc(desc_avail + used, HVT_PAGE_SIZE, "the virtio-net rings");
    q->desc = (volatile struct vring_desc *)mem;
    q->avail = (volatile struct vring_avail *)(mem + 16u * q->size);
    q->used = (volatile struct vring_used *)(mem + desc_avail);
    /* Not zeroed: the device writes a receive buffer before we read it, and
     * we write a transmit buffer before the device reads it.  Zeroing these
     * 384 KiB took ~0.35 ms of boot under TCG, mostly host page faults. */
    q->bufs = hvt_boot_alloc_uninit((size_t)q->size * BUF_SIZE, 16, "the virtio-net buffers");
    /* Off until a halt asks for them (hvt_net_irq_want). */
    q->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;

    wr(R_QUEUE_NUM, q->size);
    if (hvt_net_version == 1) {
        wr(R_QUEUE_ALIGN, HVT_PAGE_SIZE);
        wr(R_QUEUE_PFN, (uint32_t)((uintptr_t)mem / HVT_PAGE_SIZE));
    } else {
        uint64_t d = (uintptr_t)q->desc, a = (uintptr_t)q->avail, u = (uintptr_t)q->used;
        wr(R_QUEUE_DESC_LO, (uint32_t)d);
        wr(R_QUEUE_DESC_HI, (uint32_t)(d >> 32));
        wr(R_QUEUE_AVAIL_LO, (uint32_t)a);
        wr(R_QUEUE_AVAIL_HI, (uint32_t)(a >> 32));
        wr(R_QUEUE_USED_LO, (uint32_t)u);
        wr(R_QUEUE_USED_HI, (uint32_t)(u >> 32));
        wr(R_QUEUE_READY, 1);
    }
    return true;
}

/* Make avail->idx visible after the ring entries it covers, then kick the
 * device unless it said it is already looking. */
static void queue_publish(struct queue *q, uint32_t index)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    q->avail->idx = q->avail_idx;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!(q->used->flags & VRING_USED_F_NO_NOTIFY))
        wr(R_QUEUE_NOTIFY, index);
}

static void rx_post(uint16_t id)
{
    rxq.desc[id].addr = (uintptr_t)(rxq.bufs + (size_t)id * BUF_SIZE);
    rxq.desc[id].len = BUF_SIZE;
    rxq.desc[id].flags = VRING_DESC_F_WRITE;
    rxq.avail->ring[rxq.avail_idx % rxq.size] = id;
    rxq.avail_idx++;
}

static bool device_init(void)
{
    wr(R_STATUS, 0); /* reset */
    wr(R_STATUS, S_ACKNOWLEDGE);
    wr(R_STATUS, S_ACKNOWLEDGE | S_DRIVER);

    wr(R_DEVICE_FEATURES_SEL, 0);
    uint32_t offered = rd(R_DEVICE_FEATURES);
    wr(R_DRIVER_FEATURES_SEL, 0);
    wr(R_DRIVER_FEATURES, offered & F_MAC);
    uint32_t status = S_ACKNOWLEDGE | S_DRIVER;
    if (hvt_net_version >= 2) {
        wr(R_DEVICE_FEATURES_SEL, 1);
        if (!(rd(R_DEVICE_FEATURES) & F_HI_VERSION_1))
            return false;
        wr(R_DRIVER_FEATURES_SEL, 1);
        wr(R_DRIVER_FEATURES, F_HI_VERSION_1);
        status |= S_FEATURES_OK;
        wr(R_STATUS, status);
        if (!(rd(R_STATUS) & S_FEATURES_OK))
            return false;
        hdr_len = 12; /* virtio 1.0: num_buffers is always there */
    } else {
        wr(R_GUEST_PAGE_SIZE, HVT_PAGE_SIZE);
        hdr_len = 10;
    }

    if (offered & F_MAC) {
        for (unsigned i = 0; i < 6; i++)
            mac[i] = *(volatile uint8_t *)(hvt_net_base + R_CONFIG + i);
    } else {
        static const uint8_t fallback[6] = {0x02, 0, 0, 0, 0, 0x01}; /* locally administered */
        memcpy(mac, fallback, sizeof mac);
    }

    hvt_trace("virtio-net features");
    if (!queue_setup(&rxq, RXQ, RX_QUEUE_SIZE) || !queue_setup(&txq, TXQ, TX_QUEUE_SIZE))
        return false;
    hvt_trace("virtio-net queues");
    for (uint16_t i = 0; i < rxq.size; i++)
        rx_post(i);
    for (uint16_t i = 0; i < txq.size; i++)
        tx_free[tx_nfree++] = i;

    wr(R_STATUS, status | S_DRIVER_OK);
    queue_publish(&rxq, RXQ);
    return true;
}

/* Transports named on the command line, probed before the fixed slots. */
#define CMDLINE_DEVICES_MAX 8
static uintptr_t cmdline_bases[CMDLINE_DEVICES_MAX];
static uint32_t cmdline_gsis[CMDLINE_DEVICES_MAX];
static unsigned cmdline_nbases;
bool hvt_net_found_by_cmdline;

static bool parse_number(const char *s, const char *end, uint64_t *out)
{
    unsigned base = 10;
    if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    uint64_t v = 0;
    if (s == end)
        return false;
    for (; s < end; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
            d = (unsigned)((*s | 0x20) - 'a' + 10);
        else
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

/* One virtio_mmio.device= word's value, <size>@<base>:<irq>[:<id>]: its
 * base and interrupt line, recorded when the base is one we may probe. */
static void take_device(const char *v, const char *end)
{
    const char *at = v, *colon, *irq_end;
    while (at < end && *at != '@')
        at++;
    for (colon = at; colon < end && *colon != ':'; colon++)
        ;
    if (colon == end)
        return;
    for (irq_end = colon + 1; irq_end < end && *irq_end != ':'; irq_end++)
        ;
    uint64_t base, gsi;
    if (!parse_number(colon + 1, irq_end, &gsi) || gsi > 255)
        gsi = HVT_NO_GSI;
    /* Probing reads the address: keep to what paging.c maps, above page 0
     * and low memory. */
    if (at < end && parse_number(at + 1, colon, &base) && base >= 0x100000 &&
        base < (4ull << 30) - HVT_PAGE_SIZE && cmdline_nbases < CMDLINE_DEVICES_MAX) {
        cmdline_gsis[cmdline_nbases] = (uint32_t)gsi;
        cmdline_bases[cmdline_nbases++] = (uintptr_t)base;
    }
}

/* One pass, copying the command line onto itself without those words and
 * the space QEMU put before each (after it, for a first word).  Plain
 * loops rather than strstr/memchr/memmove: under TCG each distinct piece of
 * code run at boot costs its translation, several microseconds a block. */
void hvt_net_take_cmdline(char *cmdline)
{
    static const char key[] = "virtio_mmio.device=";
    char *w = cmdline;
    for (const char *r = cmdline; *r;) {
        if (*r == ' ') {
            *w++ = *r++;
            continue;
        }
        const char *end = r;
        while (*end && *end != ' ')
            end++;
        size_t k = 0;
        while (k < sizeof key - 1 && r + k < end && r[k] == key[k])
            k++;
        if (k < sizeof key - 1) { /* someone else's word */
            while (r < end)
                *w++ = *r++;
            continue;
        }
        take_device(r + k, end);
        if (w > cmdline)
            w--; /* the space before it */
        else if (*end == ' ')
            end++;
        r = end;
    }
    *w = '\0';
}

static bool try_device(uintptr_t base)
{
    volatile uint32_t *regs = (volatile uint32_t *)base;
    if (regs[R_MAGIC / 4] != MAGIC_VIRT || regs[R_DEVICE_ID / 4] != DEVICE_ID_NET)
        return false;
    hvt_net_base = base;
    hvt_net_version = regs[R_VERSION / 4];
    hvt_trace("virtio-net found");
    if ((hvt_net_version == 1 || hvt_net_version == 2) && device_init())
        return true;
    console_printf("platform: virtio-net at 0x%lx (version %u) failed to start\n",
                   (unsigned long)base, (unsigned)hvt_net_version);
    wr(R_STATUS, S_FAILED);
    hvt_net_base = 0;
    hvt_net_version = 0;
    return false;
}

/* microvm with ACPI off wires its 8 transports to GSI 5..12. */
#define MICROVM_GSI_BASE 5u
#define MICROVM_GSI_SLOTS 8u

static void route_interrupt(uint32_t gsi)
{
    if (gsi != HVT_NO_GSI && hvt_ioapic_route(gsi, HVT_VECTOR_NET)) {
        hvt_net_gsi = gsi;
        return;
    }
    console_printf("platform: no interrupt line for virtio-net at 0x%lx; "
                   "waiting checks for frames every millisecond\n", (unsigned long)hvt_net_base);
}

void hvt_net_init(void)
{
    for (unsigned i = 0; i < cmdline_nbases; i++)
        if (try_device(cmdline_bases[i])) {
            hvt_net_found_by_cmdline = true;
            route_interrupt(cmdline_gsis[i]);
            return;
        }
    for (unsigned i = MMIO_SLOTS; i-- > 0;)
        if (try_device(MMIO_BASE + i * MMIO_STRIDE)) {
            route_interrupt(i < MICROVM_GSI_SLOTS ? MICROVM_GSI_BASE + i : HVT_NO_GSI);
            return;
        }
}

bool hvt_net_irq_routed(void)
{
    return hvt_net_gsi != HVT_NO_GSI;
}

void hvt_net_irq_want(bool on)
{
    rxq.avail->flags = on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
    /* The flag must be visible before the caller looks at used->idx again. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Both causes acknowledged without reading InterruptStatus first: under TCG
 * every access to the transport is an exit to QEMU's device model under its
 * global lock, which the I/O thread holds while it feeds the ring, so one
 * access instead of two per interrupt.  Clearing a bit that is not set is
 * harmless (the register is "write 1 to clear"), and a configuration change
 * (bit 1) needs no action: the only configuration read is the MAC, at boot. */
void hvt_net_irq_ack(void)
{
    wr(R_INTERRUPT_ACK, INT_USED_BUFFER | INT_CONFIG_CHANGE);
}

bool hvt_net_pending(void)
{
    return hvt_net_base && rxq.used->idx != rxq.used_seen;
}

int platform_net_info(uint8_t out_mac[6], size_t *mtu)
{
    if (!hvt_net_base)
        return -1;
    memcpy(out_mac, mac, sizeof mac);
    *mtu = FRAME_MAX - 14;
    return 0;
}

/* The boot trace's name for a frame, by its EtherType. */
static inline const char *frame_kind(const void *frame, size_t len, const char *arp,
                                     const char *ipv4, const char *other)
{
    const uint8_t *f = frame;
    if (len < 14 || f[12] != 0x08)
        return other;
    return f[13] == 0x06 ? arp : f[13] == 0x00 ? ipv4 : other;
}

/* Take back the descriptors of frames the device has sent. */
static void tx_reclaim(void)
{
    while (txq.used->idx != txq.used_seen) {
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint32_t id = txq.used->ring[txq.used_seen % txq.size].id;
        if (id < txq.size)
            tx_free[tx_nfree++] = (uint16_t)id;
        txq.used_seen++;
    }
}

int platform_net_write(const void *frame, size_t len)
{
    if (!hvt_net_base || len == 0 || len > FRAME_MAX)
        return -1;
    tx_reclaim();
    /* A full ring empties as fast as QEMU's I/O thread runs; give it a
     * bounded moment rather than dropping at once. */
    for (uint64_t deadline = 0; tx_nfree == 0; tx_reclaim()) {
        uint64_t now = platform_monotonic_ns();
        if (deadline == 0)
            deadline = now + 10000000u;
        else if (now >= deadline)
            return -1;
        cpu_relax();
    }
    static unsigned traced;
    if (traced < 4) {
        traced++;
        hvt_trace(frame_kind(frame, len, "frame out ARP", "frame out IPv4", "frame out"));
    }
    uint16_t id = tx_free[--tx_nfree];
    uint8_t *buf = txq.bufs + (size_t)id * BUF_SIZE;
    memset(buf, 0, hdr_len); /* no checksum offload, no segmentation */
    memcpy(buf + hdr_len, frame, len);
    txq.desc[id].addr = (uintptr_t)buf;
    txq.desc[id].len = (uint32_t)(hdr_len + len);
    txq.desc[id].flags = 0;
    txq.avail->ring[txq.avail_idx % txq.size] = id;
    txq.avail_idx++;
    queue_publish(&txq, TXQ);
    return 0;
}

/*
 * Under TCG, QEMU's software TLB starts at 256 direct-mapped entries and is
 * resized only when the guest flushes it: at a flush, if more than 70% of
 * the entries were filled since the last one, it doubles
 * (accel/tcg/cputlb.c, tlb_mmu_resize_locked).  This image never flushes
 * after boot, so it kept 256 entries, while one answer touches the rings,
 * 128 pages of packet buffers, the code and, for a large zone, pages all over
 * its table: refilling entries (x86_cpu_tlb_fill, the page walk) took about
 * 15% of the vCPU thread (perf on QEMU under dnsperf, issue 13).
 * Reloading CR3 every 4,096 received frames flushes it, so it grows to fit
 * and stays; the cost is one refill of the working set per 4,096 frames.
 * Under KVM the same flush costs about as little.
 */
#define TLB_FLUSH_FRAMES 4096u
static unsigned frames_since_flush;

static void tlb_flush_now_and_then(void)
{
    if (++frames_since_flush < TLB_FLUSH_FRAMES)
        return;
    frames_since_flush = 0;
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3) : : "memory");
}

ptrdiff_t platform_net_read(void *out, size_t cap)
{
    if (!hvt_net_base)
        return -1;
    if (rxq.used->idx == rxq.used_seen)
        return 0;
    tlb_flush_now_and_then();
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    volatile struct vring_used_elem *e = &rxq.used->ring[rxq.used_seen % rxq.size];
    uint32_t id = e->id, len = e->len;
    rxq.used_seen++;
    if (id >= rxq.size)
        return -1; /* a device bug; nothing sane to re-post */
    static unsigned traced;
    if (traced < 4 && len > hdr_len) {
        traced++;
        hvt_trace(frame_kind(rxq.bufs + (size_t)id * BUF_SIZE + hdr_len, len - hdr_len,
                             "frame in ARP", "frame in IPv4", "frame in"));
    }
    ptrdiff_t n = -1;
    if (len > hdr_len && len - hdr_len <= cap) {
        n = (ptrdiff_t)(len - hdr_len);
        memcpy(out, rxq.bufs + (size_t)id * BUF_SIZE + hdr_len, (size_t)n);
    }
    rx_post((uint16_t)id);
    queue_publish(&rxq, RXQ);
    return n;
}
