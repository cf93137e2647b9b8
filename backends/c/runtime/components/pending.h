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
 * the component's Tcp device parameter must be named `tcp`.
 */
#ifndef SPECC_COMPONENT_PENDING_H
#define SPECC_COMPONENT_PENDING_H

#include <string.h>

static struct pending {
    bool used;
    Conn conn;
    uint64_t last_use;
    size_t len;
    uint8_t buf[PENDING_BYTES];
} pending[PENDING_CLIENTS];
static uint64_t pending_uses;

/* Move conn's unfinished input into `into` (PENDING_BYTES at least); its length. */
static size_t pending_take(uint32_t id, uint8_t *into) {
    for (size_t i = 0; i < PENDING_CLIENTS; i++) {
        if (pending[i].used && pending[i].conn.id == id) {
            memcpy(into, pending[i].buf, pending[i].len);
            pending[i].used = false;
            return pending[i].len;
        }
    }
    return 0;
}

/* Keep the unfinished input `data` of conn (len <= PENDING_BYTES). */
static void pending_keep(Conn conn, const uint8_t *data, size_t len) {
    struct pending *slot = NULL;
    for (size_t i = 0; i < PENDING_CLIENTS && slot == NULL; i++)
        if (!pending[i].used) slot = &pending[i];
    if (slot == NULL) {  /* reclaim the least recently used slot */
        slot = &pending[0];
        for (size_t i = 1; i < PENDING_CLIENTS; i++)
            if (pending[i].last_use < slot->last_use) slot = &pending[i];
        slot->used = false;
        SC_OP(tcp, close)(slot->conn);
    }
    slot->used = true;
    slot->conn = conn;
    slot->last_use = ++pending_uses;
    slot->len = len;
    memcpy(slot->buf, data, len);
}

/* Forget the unfinished input of a connection that ended. */
static void pending_ended(Conn conn, TcpEvent event) {
    if (event != TcpEvent_closed && event != TcpEvent_reset) return;
    for (size_t i = 0; i < PENDING_CLIENTS; i++)
        if (pending[i].used && pending[i].conn.id == conn.id) pending[i].used = false;
}

/* Serve port with on_data, the connections' ends freeing their slots. */
static void pending_serve(uint16_t port, sc_opt_bytes (*on_data)(Conn, sc_bytes)) {
    SC_OP(tcp, on_event)(port, pending_ended);  /* first: it applies to what is accepted later */
    SC_OP(tcp, listen)(port, on_data);
}

#endif
