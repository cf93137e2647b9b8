/*
 * Unfinished input per connection, for components that speak a protocol
 * over a Tcp device (dns_over_tcp, http_server).  A slot is freed when its
 * input is complete, and when its connection ends (pending_serve registers
 * on_event for the port; a program that registers its own on_event for the
 * same port replaces it).  When every slot is taken all the same, the least
 * recently used one is reclaimed and its connection closed.
 *
 * Include it once, in the component's source, after defining
 * PENDING_CLIENTS (slots) and PENDING_BYTES (the largest unfinished input);
 * the component's Tcp device parameter must be named `tcp`.  A component
 * whose inputs are mostly far shorter than PENDING_BYTES (DNS queries) may
 * also define PENDING_SMALL_BYTES and PENDING_LARGE_CLIENTS: then the
 * PENDING_CLIENTS slots hold PENDING_SMALL_BYTES each and PENDING_LARGE_CLIENTS
 * more hold PENDING_BYTES, so memory is not PENDING_CLIENTS x the largest
 * input; a longer input takes a large slot (reclaiming the least recently
 * used one), a short one any free slot.
 */
#ifndef SPECC_COMPONENT_PENDING_H
#define SPECC_COMPONENT_PENDING_H

#include <string.h>

#ifndef PENDING_SMALL_BYTES
#define PENDING_SMALL_BYTES PENDING_BYTES
#define PENDING_LARGE_CLIENTS 0
#endif
_Static_assert(PENDING_SMALL_BYTES <= PENDING_BYTES, "pending.h: small slots above PENDING_BYTES");
_Static_assert(PENDING_SMALL_BYTES == PENDING_BYTES || PENDING_LARGE_CLIENTS > 0,
               "pending.h: small slots need large ones for the longest input");

#define PENDING_SLOTS (PENDING_CLIENTS + PENDING_LARGE_CLIENTS)
static uint8_t pending_small[PENDING_CLIENTS][PENDING_SMALL_BYTES];
#if PENDING_LARGE_CLIENTS > 0
static uint8_t pending_large[PENDING_LARGE_CLIENTS][PENDING_BYTES];
#endif

static struct pending {
    bool used;
    Conn conn;
    uint64_t last_use;
    size_t len;
} pending[PENDING_SLOTS];
static uint64_t pending_uses;

/* Slot i's bytes and their capacity: the small slots first, then the large. */
static uint8_t *pending_buf(size_t i) {
#if PENDING_LARGE_CLIENTS > 0
    if (i >= PENDING_CLIENTS) return pending_large[i - PENDING_CLIENTS];
#endif
    return pending_small[i];
}

static size_t pending_cap(size_t i) {
    return i < PENDING_CLIENTS ? PENDING_SMALL_BYTES : PENDING_BYTES;
}

/* Move conn's unfinished input into `into` (PENDING_BYTES at least); its length. */
static size_t pending_take(uint32_t id, uint8_t *into) {
    for (size_t i = 0; i < PENDING_SLOTS; i++) {
        if (pending[i].used && pending[i].conn.id == id) {
            memcpy(into, pending_buf(i), pending[i].len);
            pending[i].used = false;
            return pending[i].len;
        }
    }
    return 0;
}

/* Keep the unfinished input `data` of conn (len <= PENDING_BYTES). */
static void pending_keep(Conn conn, const uint8_t *data, size_t len) {
    size_t slot = PENDING_SLOTS;
    for (size_t i = 0; i < PENDING_SLOTS && slot == PENDING_SLOTS; i++)
        if (!pending[i].used && pending_cap(i) >= len) slot = i;
    if (slot == PENDING_SLOTS) {  /* reclaim the least recently used slot that can hold it */
        for (size_t i = 0; i < PENDING_SLOTS; i++)
            if (pending_cap(i) >= len &&
                (slot == PENDING_SLOTS || pending[i].last_use < pending[slot].last_use))
                slot = i;
        pending[slot].used = false;
        SC_OP(tcp, close)(pending[slot].conn);
    }
    pending[slot].used = true;
    pending[slot].conn = conn;
    pending[slot].last_use = ++pending_uses;
    pending[slot].len = len;
    memcpy(pending_buf(slot), data, len);
}

/* Forget the unfinished input of a connection that ended. */
static void pending_ended(Conn conn, TcpEvent event) {
    if (event != TcpEvent_closed && event != TcpEvent_reset) return;
    for (size_t i = 0; i < PENDING_SLOTS; i++)
        if (pending[i].used && pending[i].conn.id == conn.id) pending[i].used = false;
}

/* Serve port with on_data, the connections' ends freeing their slots. */
static void pending_serve(uint16_t port, sc_opt_bytes (*on_data)(Conn, sc_bytes)) {
    SC_OP(tcp, on_event)(port, pending_ended);  /* first: it applies to what is accepted later */
    SC_OP(tcp, listen)(port, on_data);
}

#endif
