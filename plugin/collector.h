/* collector.h: ctflow's core, free of collectd. One collector_read() dumps
 * the conntrack table, adds what every entry grew since the last read to
 * its host (SPEC, "Accounting"), forgets entries that left the table, and
 * reads the kernel's statistics. The caller turns the results into series. */
#ifndef CTFLOW_COLLECTOR_H
#define CTFLOW_COLLECTOR_H

#include <stddef.h>

#include "accounting.h"
#include "hosts.h"
#include "kernel_stats.h"
#include "localnet.h"

struct collector_config {
  struct localnet local;
  size_t max_hosts;
  log_fn log;
};

struct self_stats {
  double read_seconds;   /* how long the last read took */
  size_t flows;          /* entries tracked */
  size_t memory;         /* bytes held for flows and hosts */
  uint64_t bad_messages; /* malformed messages skipped since start */
};

struct collector;

/* Opens the conntrack socket. Returns NULL after logging why (no
 * permission, no nf_conntrack_netlink, out of memory). */
struct collector *collector_new(const struct collector_config *config);
void collector_free(struct collector *collector);

/* Reads the table once. Returns 0, or -1 after logging why. A read that
 * fails midway keeps the growth it added and forgets no entry, so the next
 * read counts the rest: nothing is lost or counted twice. */
int collector_read(struct collector *collector);

struct hosts *collector_hosts(struct collector *collector);
const struct kernel_stats *collector_kernel(const struct collector *collector);
const struct self_stats *collector_self(const struct collector *collector);

#endif
