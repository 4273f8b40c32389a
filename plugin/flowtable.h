/* flowtable.h: the conntrack entries ctflow tracks, with the counters it
 * last saw for each, so that a read adds only what they grew since.
 *
 * Conntrack IDs are reused once an entry is freed, so an entry is keyed by
 * its ID together with a hash of its original tuple and zone (accounting
 * rule 4, docs/DESIGN.md). */
#ifndef CTFLOW_FLOWTABLE_H
#define CTFLOW_FLOWTABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "ct_entry.h"

/* seen of a flow whose DESTROY event was counted: a tombstone, kept until
 * the read in which its event came ends, so that a dump in flight cannot
 * count the entry again. Generations skip this value. */
#define FLOW_ENDED UINT32_MAX

struct flow {
  uint64_t tuple_hash; /* original tuple and zone: flow_tuple_hash() */
  uint32_t id;
  uint32_t seen; /* the read generation that last saw the entry */
  /* The counters last counted. */
  struct ct_counters orig;
  struct ct_counters reply;
};

/* What an entry's counters grew since they were last seen. */
struct growth {
  struct ct_counters orig;
  struct ct_counters reply;
};

struct flowtable;

/* Returns an empty table, or NULL when out of memory. */
struct flowtable *flowtable_new(void);
void flowtable_free(struct flowtable *table);

/* Returns the hash that, with the ID, tells entry apart from every other. */
uint64_t flow_tuple_hash(const struct ct_entry *entry);

/* Returns the flow keyed by id and tuple_hash, or NULL when there is none.
 * O(1). */
struct flow *flowtable_find(struct flowtable *table, uint32_t id,
                            uint64_t tuple_hash);

/* Returns the flow keyed by id and tuple_hash, inserting a zeroed one (seen
 * 0) when there is none; NULL when out of memory. The pointer stays valid
 * until the next flowtable_sweep(). O(1). */
struct flow *flowtable_upsert(struct flowtable *table, uint32_t id,
                              uint64_t tuple_hash);

/* Removes every tombstone and, with forget_unseen, the flows whose seen is
 * not gen (entries that left the kernel's table). Returns how many were
 * removed. O(flows). */
size_t flowtable_sweep(struct flowtable *table, uint32_t gen,
                       bool forget_unseen);

/* Returns the number of flows tracked. */
size_t flowtable_count(const struct flowtable *table);

/* Returns the longest run of occupied index slots: the most a lookup may
 * walk. Crafted entries would make it long; the keyed hash keeps it short. */
size_t flowtable_longest_run(const struct flowtable *table);

/* Returns the bytes of memory the table holds. */
size_t flowtable_memory(const struct flowtable *table);

/* Makes flow a tombstone. */
void flow_end(struct flow *flow);

/* Returns what entry's counters grew since flow last saw them, and stores
 * them in flow. A counter lower than before means the entry's counters
 * were reset (conntrack -L -z resets all four together): then all their
 * whole new values are growth (accounting rule 5). */
struct growth flow_advance(struct flow *flow, const struct ct_entry *entry);

#endif
