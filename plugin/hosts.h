/* hosts.h: per-host aggregates: what each local host sent and received since
 * ctflow started, and its connections and peers as of the last read. Two
 * buckets are always there: "total" (every entry) and "other" (SPEC rule
 * 3, and hosts beyond MaxHosts). A host with no entries and no traffic for
 * forget_after reads in a row is forgotten: its bucket goes (its slot
 * under MaxHosts too), and if it comes back it starts again from zero. */
#ifndef CTFLOW_HOSTS_H
#define CTFLOW_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct_entry.h"
#include "host_select.h"
#include "peerset.h"

enum proto_class {
  PROTO_TCP,
  PROTO_UDP,
  PROTO_ICMP,
  PROTO_OTHER,
  PROTO_CLASSES
};

/* TCP_CONNTRACK_NONE .. TCP_CONNTRACK_SYN_SENT2
 * (linux/netfilter/nf_conntrack_tcp.h) */
#define TCP_STATES 10

enum bucket_kind { BUCKET_TOTAL, BUCKET_OTHER, BUCKET_HOST };

/* Reads without entries or traffic before a host is forgotten, unless
 * told otherwise (ForgetAfter). */
#define HOSTS_FORGET_AFTER 30

struct host_stats {
  union ct_addr addr; /* BUCKET_HOST only */
  uint8_t family;     /* BUCKET_HOST only */
  uint8_t kind;       /* enum bucket_kind */
  bool carried;       /* traffic or a new connection since the last read */
  uint32_t idle;      /* whole reads in a row without entries or traffic */
  /* Since the plugin started (DERIVE). */
  uint64_t rx_bytes, tx_bytes;
  uint64_t rx_packets, tx_packets;
  uint64_t new_connections;
  /* As of the last read (GAUGE). */
  uint32_t connections[PROTO_CLASSES];
  uint32_t peers;
};

struct hosts {
  struct host_stats *buckets; /* [0] total, [1] other, then hosts */
  size_t count;
  size_t capacity;
  uint32_t *index; /* open addressing over buckets: 0 free, else position */
  size_t index_mask;
  size_t max_hosts;
  /* Host and IgnoreSelected: the hosts that may have a bucket; NULL: all.
   * Not hosts' own. */
  struct host_select *select;
  uint32_t forget_after; /* idle reads before a host goes; HOSTS_FORGET_AFTER */
  struct peerset peers;  /* (bucket, remote address) seen this read */
  uint32_t tcp_states[TCP_STATES]; /* TCP entries of the table per state */
  uint32_t offloaded; /* entries of the table a flowtable has taken over */
};

/* Returns 0, or -1 when out of memory. */
int hosts_init(struct hosts *hosts, size_t max_hosts);
void hosts_free(struct hosts *hosts);

/* Return the fixed buckets. Valid until the next hosts_find() or
 * hosts_end_read(). */
struct host_stats *hosts_total(struct hosts *hosts);
struct host_stats *hosts_other(struct hosts *hosts);

/* Returns the bucket of the local host addr: its own once it has one, or
 * when select wants it and fewer than max_hosts have one; else "other"
 * (and when out of memory). A host is admitted once: the selection is
 * asked only for hosts without a bucket. Valid until the next hosts_find()
 * or hosts_end_read(). O(1). */
struct host_stats *hosts_find(struct hosts *hosts, uint8_t family,
                              const union ct_addr *addr);

/* Zeroes the gauges before a read counts the table again. */
void hosts_begin_read(struct hosts *hosts);

/* Ends a whole read: counts each host's idle reads (no entries in this
 * read, no traffic since the last) and forgets those idle forget_after
 * reads in a row. The others keep their counters but may move: positions
 * hold only from one hosts_end_read() to the next. Returns the number of
 * hosts forgotten. */
size_t hosts_end_read(struct hosts *hosts);

/* Counts remote as a peer of bucket (and of total) unless already seen this
 * read. Returns -1 when out of memory, else 0. */
int hosts_add_peer(struct hosts *hosts, struct host_stats *bucket,
                   uint8_t family, const union ct_addr *remote);

/* Returns the class SPEC's per-protocol series use for an IPPROTO_*. */
enum proto_class proto_class_of(uint8_t l4proto);

/* Returns the bytes of memory the aggregates hold. */
size_t hosts_memory(const struct hosts *hosts);

#endif
