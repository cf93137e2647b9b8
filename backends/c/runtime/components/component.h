/*
 * What a component implementation sees.  Each instance is its own
 * translation unit: the generated file defines SC_INSTANCE (the prefix of
 * the instance's functions), SC_CONST_<param> for each `const` parameter and
 * SC_DEV_<param> for each device parameter, then includes the component's
 * source.  The C compiler sees the constants as literals and drops what they
 * rule out.
 */
#ifndef SPECC_COMPONENT_H
#define SPECC_COMPONENT_H

#include "core/sc.h"
#include "instances.h"

#define SC_PASTE2(a, b) a##b
#define SC_PASTE(a, b) SC_PASTE2(a, b)
/* This instance's function `name`: dev_udp4_listen for SC_FN(listen). */
#define SC_FN(name) SC_PASTE(SC_INSTANCE, SC_PASTE(_, name))
/* Operation `op` of the device given as parameter `dev`. */
#define SC_OP(dev, op) SC_PASTE(SC_PASTE(SC_DEV_, dev), SC_PASTE(_, op))

#endif
