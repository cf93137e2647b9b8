/*
 * Readiness lines on hvt: "listening: udp ADDRESS:PORT" on the console, the
 * lines the unix and python targets print on stderr, so that a script waits
 * for them the same way on every target.  A line needs the address, which a
 * DHCP lease may bring only later: components report each port they listen
 * on, and the IPv4 component reports when its address becomes known (or
 * changes); every port is printed then, once per address.  Implemented in
 * core/target_hvt.c.
 */
#ifndef SPECC_COMPONENTS_LISTENING_H
#define SPECC_COMPONENTS_LISTENING_H

#include <stdint.h>

/* protocol: "udp" or "tcp" (a string literal: it is kept). */
void sc_listening(const char *protocol, uint16_t port);
void sc_listening_address_known(void);

#endif
