/* collector.h: ctflow's core, free of collectd. One collector_read() dumps
 * the conntrack table, adds what every entry grew since the last read to
 * its host, forgets entries that left the table, and reads the kernel's
 * statistics; a thread counts DESTROY events meanwhile. The caller turns
 * the report into series.
 *
 * The data path, kernel to collectd (README, "Layout", lists the files in
 * this order):
 *
 *   kernel I/O         nlsock ─ ctnetlink (dump, statistics)   events (thread)
 *                                  │                               │
 *   parsing                     ct_parse ── kernel_stats        ct_parse
 *                                  │ struct ct_entry               │
 *   accounting        filter ─ accounting_add()      accounting_end()
 *   (under fairlock)     flowtable: growth since the last read
 *                        classify + hosts: the entry's bucket, rule 3
 *                        hosts_add_peer, flowkeys_add
 *                                  │ end of interval (collector.c)
 *   naming            names (HostName, HostsFile) ─ instances
 *                                  │ struct report
 *   glue              ctflow.c: value lists to plugin_dispatch_values()
 */
#ifndef CTFLOW_COLLECTOR_H
#define CTFLOW_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "accounting.h"
#include "filter.h"
#include "host_select.h"
#include "hosts.h"
#include "instances.h"
#include "kernel_stats.h"
#include "localnet.h"
#include "log.h"

struct collector_config {
  struct localnet local;
  size_t max_hosts;
  /* MaxNewHosts: new hosts per family and read after the first; 0:
   * HOSTS_MAX_NEW. */
  size_t max_new_hosts;
  bool events;                 /* Events: count DESTROY events */
  size_t event_buffer;         /* the event socket's buffer to start with */
  size_t event_buffer_max;     /* EventBufferSize */
  size_t top_flows;            /* TopFlows: keys with series of their own */
  enum flow_key_kind flow_key; /* FlowKey */
  size_t max_flow_keys;        /* MaxFlowKeys: keys tracked at most */
  /* ForgetAfter: reads without traffic before a flow key goes, and without
   * entries or traffic before a host goes; 0: HOSTS_FORGET_AFTER. */
  uint32_t forget_after;
  /* NetNamespace: the namespace whose table to read, a name under
   * /run/netns or an absolute path (netns.h); NULL: the caller's. */
  const char *netns;
  bool enable_acct; /* EnableAccounting: set nf_conntrack_acct=1 at start */
  struct entry_filter filter; /* Protocol, Zone, Mark; zeroed: every entry */
  /* Host, IgnoreSelected: the caller's, kept until collector_free(); NULL:
   * every host gets series of its own. */
  struct host_select *select;
  /* HostName, HostsFile: the caller's, kept until collector_free(), read
   * again at every read; NULL: hosts go by their addresses. */
  struct names *names;
  log_fn log;
};

struct self_stats {
  double read_seconds; /* how long the last read took */
  size_t flows;        /* entries tracked (tombstones included) */
  size_t memory;       /* bytes held for flows, hosts and peers */
  size_t flow_memory;  /* of which for flows */
  /* Netlink datagrams and messages refused since start: not from the
   * kernel, or malformed. */
  uint64_t bad_messages;
  bool events;             /* DESTROY events were asked for and subscribed */
  uint64_t events_lost;    /* times events were lost (socket overflows) */
  uint64_t events_dropped; /* events not counted: tombstones were full */
  uint64_t event_reader_failures; /* 1 once the event reader has stopped */
  /* Hosts refused a bucket, each once a read: for want of MaxNewHosts, and
   * for want of room (MaxHosts, the IPv6 share). */
  uint64_t hosts_deferred, hosts_no_room;
  uint64_t flow_keys_evicted; /* to make room for heavier ones */
};

/* What the last read found, for the caller alone: events that come in
 * while the caller dispatches it do not change it. */
struct report {
  struct host_stats *buckets; /* [0] total, [1] other, then hosts */
  size_t count;
  /* The buckets under the plugin instances they go out as (their names,
   * or their addresses): what to dispatch (instances_next()). */
  const struct instances *instances;
  struct table_gauges table; /* TCP states, offloaded entries */
  struct kernel_stats kernel;
  struct self_stats self;
  /* Top flows (TopFlows > 0): the interval's heaviest keys, heaviest
   * first, and everything else since the start ("other"). */
  struct key_stats *top;
  size_t top_count;
  struct traffic flows_other;
};

struct collector;

/* Draws the hash tables' key (hash_init(): once per process), opens the
 * conntrack socket and, with events, subscribes to them before any dump (with
 * nf_conntrack_events=2 only entries created after that send events); with
 * enable_acct, sets nf_conntrack_acct=1 first. All of it in config->netns: the
 * sockets are made there and keep it, and the calling thread is back where it
 * was on return. Returns NULL after logging why (no getrandom(), no such
 * namespace, no permission, no nf_conntrack_netlink, out of memory); a failure
 * to set nf_conntrack_acct is logged and not fatal. */
struct collector *collector_new(const struct collector_config *config);
void collector_free(struct collector *collector);

/* Reads the table once and ends the interval: entries that left the table
 * are forgotten, the hosts' and the flow keys' interval ends (idle ones
 * are forgotten, the top flows picked), the names are read again and the
 * buckets filed under their instances. Returns 0, or -1 after logging
 * why. A read that fails midway keeps the growth it added and forgets no
 * entry, so the next read counts the rest: nothing is lost or counted
 * twice. */
int collector_read(struct collector *collector);

/* Returns the report of the last successful read. */
const struct report *collector_report(const struct collector *collector);

#endif
