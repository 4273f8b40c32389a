/* accounting.h: the accounting rules (docs/DESIGN.md, "Counting rules")
 * over a stream of entries, free of sockets so that tests can feed it
 * synthetic ones. The accounting is
 * told its settings when made (accounting_init()), and what ctflow learns
 * from the kernel later through the calls below it. A read is
 * accounting_begin_read(), accounting_add() for every entry the dump
 * returns, then accounting_end_read() once the dump was whole; DESTROY
 * events come through accounting_end() at any time. Not thread-safe: the
 * caller serialises the calls. */
#ifndef CTFLOW_ACCOUNTING_H
#define CTFLOW_ACCOUNTING_H

#include <stdbool.h>
#include <stddef.h>

#include "ct_entry.h"
#include "flowkeys.h"
#include "filter.h"
#include "flowtable.h"
#include "hosts.h"
#include "localnet.h"
#include "log.h"

/* TCP_CONNTRACK_NONE .. TCP_CONNTRACK_SYN_SENT2
 * (linux/netfilter/nf_conntrack_tcp.h) */
#define TCP_STATES 10

/* Figures of the whole table as of the last read, not of any host. */
struct table_gauges {
  uint32_t tcp_states[TCP_STATES]; /* TCP entries per state */
  uint32_t offloaded;              /* entries a flowtable has taken over */
};

/* Tombstones a read may make before accounting_limit_tombstones(). */
#define ACCOUNTING_TOMBSTONES 65536

/* What the accounting is told when made. What it points to is the
 * caller's, and must outlive the accounting. */
struct accounting_settings {
  const struct localnet *local; /* LocalNetwork */
  /* MaxHosts, MaxNewHosts, ForgetAfter, Host. IPv4 hosts get the room
   * local's IPv4 networks hold (hosts_reserve_ipv4()). */
  struct hosts_settings hosts;
  /* Protocol, Zone, Mark: entries that do not match are not counted at
   * all; NULL or empty: every entry. */
  const struct entry_filter *filter;
  /* TopFlows: traffic per flow key of kind flow_key, for at most
   * max_flow_keys keys; 0: flow keys are not tracked. */
  enum flow_key_kind flow_key;
  size_t max_flow_keys;
  log_fn log;
};

struct accounting {
  const struct localnet *local;
  log_fn log;
  struct flowtable *flows;
  struct hosts hosts;
  struct table_gauges table;
  struct flowkeys *keys; /* NULL unless flow keys are tracked (TopFlows) */
  const struct entry_filter *filter; /* NULL: every entry */
  uint32_t gen;   /* read generation; flows seen by this read carry it */
  bool baselined; /* a whole dump has set every entry's starting point */
  /* A read is under way: its dump may still return entries whose DESTROY
   * event comes in meanwhile (the kernel filled the batch before). */
  bool reading;
  /* This read's DESTROY events come to accounting_end()
   * (accounting_begin_read()): an entry a dump returns dying is its
   * event's to count. */
  bool events;
  /* Tombstones of entries no dump returned, made since the last read
   * ended (or, during a read, since it began: the read has a budget of its
   * own, so at most twice as many are kept), and at most how many
   * (accounting_limit_tombstones()). Beyond, the event of such an entry is
   * counted without one between reads; during a read it is not counted at
   * all, and counted in events_dropped instead, since the dump in flight
   * may count the entry itself. */
  size_t tombstones, tombstones_max;
  uint64_t events_dropped;
  bool acct_enabled; /* accounting_set_acct_enabled() */
  bool warned_acct, warned_memory, warned_offload;
};

/* Returns 0, or -1 when out of memory (a then holds nothing, and
 * accounting_free(a) frees nothing). */
int accounting_init(struct accounting *a,
                    const struct accounting_settings *settings);
void accounting_free(struct accounting *a);

/* Keeps at most max tombstones a read from now on (see tombstones above):
 * the kernel's nf_conntrack_max, which the caller learns at start and
 * again at every read. */
void accounting_limit_tombstones(struct accounting *a, size_t max);

/* Tells a that EnableAccounting made sure nf_conntrack_acct is 1: entries
 * without counters are older than that, and the user has nothing to set
 * (accounting rule 6's message says so). */
void accounting_set_acct_enabled(struct accounting *a);

/* Starts a read: gauges go to zero, to be counted again. With events, the
 * DESTROY events of the entries that end meanwhile come to
 * accounting_end(). */
void accounting_begin_read(struct accounting *a, bool events);

/* Adds entry: its growth since the last read to its host and to total, and
 * it to the connection gauges unless this read already had it (and to the
 * offloaded gauge when a flowtable has taken it over). With events, an
 * entry the kernel is deleting (IPS_DYING) adds nothing: its DESTROY event
 * counts it, before or after this dump. */
void accounting_add(struct accounting *a, const struct ct_entry *entry);

/* Counts the DESTROY event of entry: its final counters minus what was
 * counted already; an entry that began since the last read is counted
 * whole (accounting rule 3). The entry stays as a tombstone until
 * the end of the read under way, or of the next one: so that a dump in
 * flight, which may still return it, cannot count it again, nor can the
 * same event delivered twice (the kernel redelivers events when a
 * listener asked for reliable delivery, as conntrackd does). */
void accounting_end(struct accounting *a, const struct ct_entry *entry);

/* Ends a whole read: tombstones go; with forget_unseen, entries the dump
 * did not return have left the table and go too (only once every event
 * queued before the dump ended is counted: events_catch_up()); hosts
 * without entries or traffic for ForgetAfter reads are forgotten
 * (hosts_end_read()). A read that failed midway is not ended, so nothing
 * it missed is forgotten. */
void accounting_end_read(struct accounting *a, bool forget_unseen);

/* Returns the bytes of memory held for flows and hosts. */
size_t accounting_memory(const struct accounting *a);

#endif
