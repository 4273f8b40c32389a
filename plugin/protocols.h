/* protocols.h: the transport protocols ctflow knows by name, in one table:
 * the names the Protocol option takes and flow keys are written with, the
 * classes of the per-protocol connection series, and which protocols key
 * their entries by ports. */
#ifndef CTFLOW_PROTOCOLS_H
#define CTFLOW_PROTOCOLS_H

#include <stdbool.h>
#include <stdint.h>

/* The classes of ctflow-<host>/current_connections-<class>: icmp covers
 * ICMPv6 too. */
enum proto_class {
  PROTO_TCP,
  PROTO_UDP,
  PROTO_ICMP,
  PROTO_OTHER,
  PROTO_CLASSES
};

/* Returns the name of IPPROTO_* l4proto ("tcp", "icmpv6", ...), or NULL
 * for a protocol without one (written as its number). */
const char *protocol_name(uint8_t l4proto);

/* Returns the IPPROTO_* number of name, matched regardless of case, or -1
 * for a name not in the table. */
int protocol_number(const char *name);

/* Returns the class of IPPROTO_* l4proto. */
enum proto_class proto_class_of(uint8_t l4proto);

/* Returns the name of class ("tcp", "udp", "icmp", "other"). */
const char *proto_class_name(enum proto_class class);

/* Returns whether conntrack keys entries of l4proto by ports. */
bool protocol_has_ports(uint8_t l4proto);

#endif
