/* filter.h: which conntrack entries ctflow counts at all (Protocol, Zone,
 * Mark). An entry that does not match is not counted anywhere: not in its
 * host, not in other, not in total, not in the flows.
 *
 * Criteria of one kind are OR'd (Protocol "tcp" and Protocol "udp": TCP or
 * UDP), different kinds AND'd (Protocol "udp" and Zone 1: UDP in zone 1);
 * a kind with no criterion matches every entry. */
#ifndef CTFLOW_FILTER_H
#define CTFLOW_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct_entry.h"

#define FILTER_MAX_ZONES 64
#define FILTER_MAX_MARKS 64

struct mark_match {
  uint32_t value; /* already masked */
  uint32_t mask;
};

/* Plain data: copies of it are independent. Zeroed, it matches all. */
struct entry_filter {
  uint8_t protocols[256 / 8]; /* bit n: IPPROTO n is selected */
  size_t protocol_count;
  uint16_t zones[FILTER_MAX_ZONES];
  size_t zone_count;
  struct mark_match marks[FILTER_MAX_MARKS];
  size_t mark_count;
};

/* Adds a protocol by name (tcp udp icmp icmpv6 sctp udplite dccp gre, any
 * case) or number (0-255). Returns 0, or -1 (errno EINVAL) for anything
 * else. */
int filter_add_protocol(struct entry_filter *f, const char *text);

/* Adds a zone, 0-65535. Returns 0, or -1 with errno EINVAL (out of range)
 * or ENOSPC (FILTER_MAX_ZONES given already). */
int filter_add_zone(struct entry_filter *f, long zone);

/* Adds "value/mask" or "value" (mask 0xffffffff), each hex (0x...) or
 * decimal, 32 bits: an entry matches when (mark & mask) == (value & mask).
 * Returns 0, or -1 with errno EINVAL or ENOSPC. */
int filter_add_mark(struct entry_filter *f, const char *text);

/* Returns whether the filter selects nothing out: no criterion given. */
bool filter_is_empty(const struct entry_filter *f);

/* Returns whether entry passes the filter. */
bool filter_match(const struct entry_filter *f, const struct ct_entry *entry);

/* What the kernel can filter in the dump request: a criterion of a kind
 * given exactly once (the kernel takes one mark, one zone and one protocol,
 * not lists). Return whether there is one, filling it in. A kernel that
 * reads zone 0 as "no filter" costs only the user-space check, which is
 * made anyway. */
bool filter_kernel_mark(const struct entry_filter *f, struct mark_match *out);
bool filter_kernel_zone(const struct entry_filter *f, uint16_t *out);
bool filter_kernel_protocol(const struct entry_filter *f, uint8_t *out);

/* A dump request's filter: what of Protocol, Zone and Mark the kernel is
 * asked to apply (by_*: whether each is asked). */
struct kernel_filter {
  bool by_mark, by_zone, by_protocol;
  struct mark_match mark;
  uint16_t zone;
  uint8_t protocol;
};

/* Returns what of f the kernel can apply (filter_kernel_*()). */
struct kernel_filter filter_kernel_part(const struct entry_filter *f);

/* Returns whether k asks the kernel anything. */
bool filter_kernel_asks(const struct kernel_filter *k);

#endif
