/* kernel_stats.h: the kernel's own conntrack statistics: the per-CPU
 * counters (IPCTNL_MSG_CT_GET_STATS_CPU, summed over CPUs) and the table's
 * size and limit (IPCTNL_MSG_CT_GET_STATS), read over netlink, not /proc. */
#ifndef CTFLOW_KERNEL_STATS_H
#define CTFLOW_KERNEL_STATS_H

#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>

struct kernel_stats {
  uint64_t cpu[CTA_STATS_MAX + 1]; /* by CTA_STATS_*, summed over CPUs */
  uint32_t reported;               /* bit n: the kernel reports CTA_STATS n */
  uint32_t entries;
  uint32_t max_entries;
  bool have_cpu, have_global;
};

/* Adds one per-CPU statistics message to *stats. Returns 0, or -1 when the
 * message is malformed. */
int kernel_stats_add_cpu(struct kernel_stats *stats,
                         const struct nlmsghdr *nlh);

/* Takes entries and limit from a global statistics message. Returns 0, or -1
 * when the message is malformed or lacks either. */
int kernel_stats_set_global(struct kernel_stats *stats,
                            const struct nlmsghdr *nlh);

/* Returns the series name of CTA_STATS_* attr ("found", "early_drop"), or
 * NULL for the ones the kernel no longer fills in. */
const char *kernel_stat_name(unsigned attr);

#endif
