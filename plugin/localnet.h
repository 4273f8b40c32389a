/* localnet.h: the local networks, as CIDR prefixes of either family. */
#ifndef CTFLOW_LOCALNET_H
#define CTFLOW_LOCALNET_H

#include <stdbool.h>
#include <stddef.h>

#include "ct_entry.h"

#define LOCALNET_MAX 64

struct prefix {
  union ct_addr addr; /* host bits cleared */
  uint8_t family;     /* AF_INET or AF_INET6 */
  uint8_t len;        /* prefix length in bits */
};

struct localnet {
  struct prefix prefixes[LOCALNET_MAX];
  size_t count;
};

/* Parses "addr/len" (or a bare address, taken as /32 or /128). Bits set
 * beyond the prefix are cleared, as ip(8) does. Returns 0, or -1 when text is
 * not a CIDR of either family. */
int prefix_parse(const char *text, struct prefix *out);

/* Adds a CIDR. Returns 0, or -1 when text is not a CIDR or the list is full
 * (errno EINVAL or ENOSPC). */
int localnet_add(struct localnet *net, const char *text);

/* Fills net with LocalNetwork's default, the private ranges: 10/8,
 * 172.16/12, 192.168/16, fc00::/7. */
void localnet_set_default(struct localnet *net);

/* Returns whether addr of the given family lies in one of the prefixes. */
bool localnet_contains(const struct localnet *net, uint8_t family,
                       const union ct_addr *addr);

/* Returns how many addresses of family the prefixes hold (overlaps
 * counted twice), or cap when they hold cap or more. */
size_t localnet_addresses(const struct localnet *net, uint8_t family,
                          size_t cap);

#endif
