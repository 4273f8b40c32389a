/* hosts.h: per-host aggregates: what each local host sent and received since
 * ctflow started, and its connections and peers as of the last read. Two
 * buckets are always there: "total" (every entry) and "other" (host rule
 * 3, and hosts refused a bucket). A host with no entries and no traffic for
 * forget_after reads in a row is forgotten: its bucket goes (its slot
 * under MaxHosts too), and if it comes back it starts again from zero.
 *
 * Every bucket is a set of series for collectd's writers (nine files with
 * rrdtool), and LAN guests choose their addresses: a /64 holds 2^64 IPv6
 * addresses. So a host gets a bucket only within three bounds: max_hosts
 * in all; for an IPv6 host, max_hosts less the room kept for IPv4 hosts
 * (hosts_reserve_ipv4()), so that addresses a guest can mint at will
 * cannot crowd out IPv4 hosts, which the IPv4 networks bound; and max_new
 * new buckets per family between the ends of two reads, except in the
 * first read (the hosts in the table when ctflow starts). A host refused goes
 * to "other" and is asked about again at its next entry: a host refused for
 * want of max_new gets its bucket at a later read if it is still there. */
#ifndef CTFLOW_HOSTS_H
#define CTFLOW_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct_entry.h"
#include "host_select.h"
#include "peerset.h"
#include "protocols.h"
#include "slots.h"
#include "traffic.h"

enum bucket_kind { BUCKET_TOTAL, BUCKET_OTHER, BUCKET_HOST };

/* Reads without entries or traffic before a host is forgotten, unless
 * told otherwise (ForgetAfter). */
#define HOSTS_FORGET_AFTER 30

/* New buckets per family between the ends of two reads, unless told
 * otherwise (MaxNewHosts). */
#define HOSTS_MAX_NEW 16

/* Distinct hosts refused between the ends of two reads that are counted
 * (deferred, no_room): the set that tells them apart is bounded whatever
 * the number of addresses guests send from. */
#define HOSTS_REFUSALS_COUNTED 16384

/* Peer pairs looked up together: a million-entry table's peer set is far
 * bigger than the CPU's caches, and lookups one at a time each wait for a
 * cache miss (peerset_add was 58% of ctflow's own time in a read). */
#define HOSTS_PEER_BATCH 64

enum host_family { HOST_V4, HOST_V6, HOST_FAMILIES };

/* What hosts are told when made (hosts_init()). */
struct hosts_settings {
  size_t max_hosts; /* MaxHosts: buckets of hosts' own at most */
  /* MaxNewHosts: new buckets per family allowed between the ends of two
   * reads once the first read has ended; 0: HOSTS_MAX_NEW. */
  size_t max_new;
  /* ForgetAfter: idle reads before a host goes; 0: HOSTS_FORGET_AFTER. */
  uint32_t forget_after;
  /* Host and IgnoreSelected: the hosts that may have a bucket; NULL: all.
   * The caller's, and it must outlive the hosts. */
  struct host_select *select;
};

struct host_stats {
  union ct_addr addr; /* BUCKET_HOST only */
  uint8_t family;     /* BUCKET_HOST only */
  uint8_t kind;       /* enum bucket_kind */
  bool carried;       /* traffic or a new connection since the last read */
  uint32_t idle;      /* whole reads in a row without entries or traffic */
  /* Since the plugin started (DERIVE). */
  struct traffic traffic;
  uint64_t new_connections;
  /* As of the last read (GAUGE). */
  uint32_t connections[PROTO_CLASSES];
  uint32_t peers;
};

struct hosts {
  struct host_stats *buckets; /* [0] total, [1] other, then hosts */
  size_t count;
  size_t capacity;
  struct slots index;             /* bucket positions by address (hosts only) */
  struct hosts_settings settings; /* as told, with the defaults filled in */
  size_t v6_max;   /* IPv6 hosts at most (hosts_reserve_ipv4()) */
  size_t v6_count; /* IPv6 hosts with a bucket */
  size_t admitted[HOST_FAMILIES]; /* new buckets since a read ended */
  bool first_read_done;
  struct peerset refused; /* hosts refused a bucket since a read ended */
  uint64_t deferred;      /* hosts refused for want of max_new */
  uint64_t no_room;     /* hosts refused for want of room (max_hosts, v6_max) */
  struct peerset peers; /* (bucket, remote address) seen this read */
  /* Pairs of this read not yet looked up in peers, and their buckets'
   * positions: they go in HOSTS_PEER_BATCH at a time (peerset_add_many()). */
  uint64_t pending_pairs[HOSTS_PEER_BATCH];
  uint32_t pending_owners[HOSTS_PEER_BATCH];
  size_t pending;
};

/* Returns 0, or -1 when out of memory (hosts then holds nothing). */
int hosts_init(struct hosts *hosts, const struct hosts_settings *settings);
void hosts_free(struct hosts *hosts);

/* Keeps room for v4 IPv4 hosts, at most half of max_hosts, that IPv6
 * hosts cannot take: they may hold max_hosts less that room. */
void hosts_reserve_ipv4(struct hosts *hosts, size_t v4);

/* Return the fixed buckets. Valid until the next hosts_find() or
 * hosts_end_read(). */
struct host_stats *hosts_total(struct hosts *hosts);
struct host_stats *hosts_other(struct hosts *hosts);

/* Returns the bucket of the local host addr: its own once it has one, or
 * when select wants it and the bounds admit it (see above); else "other"
 * (and when out of memory). A host refused for want of room or of max_new
 * counts once between the ends of two reads in no_room or deferred (up to
 * HOSTS_REFUSALS_COUNTED hosts). A host is admitted once: the selection is
 * asked only for hosts without a bucket. Valid until the next hosts_find()
 * or hosts_end_read(). O(1). */
struct host_stats *hosts_find(struct hosts *hosts, uint8_t family,
                              const union ct_addr *addr);

/* Zeroes the gauges before a read counts the table again. */
void hosts_begin_read(struct hosts *hosts);

/* Ends a whole read: counts each host's idle reads (no entries in this
 * read, no traffic since the last) and forgets those idle forget_after
 * reads in a row. The others keep their counters but may move: positions
 * hold only from one hosts_end_read() to the next. Renews max_new. Returns
 * the number of hosts forgotten. */
size_t hosts_end_read(struct hosts *hosts);

/* Counts remote as a peer of bucket (and of total) unless already seen this
 * read; the peers gauges include it after the next hosts_count_peers()
 * (hosts_end_read() calls it). Returns -1 when out of memory, else 0. */
int hosts_add_peer(struct hosts *hosts, struct host_stats *bucket,
                   uint8_t family, const union ct_addr *remote);

/* Brings the peers gauges up to date with every hosts_add_peer() so far. */
void hosts_count_peers(struct hosts *hosts);

/* Returns the bytes of memory the aggregates hold. */
size_t hosts_memory(const struct hosts *hosts);

#endif
