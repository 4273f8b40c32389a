/* instances.h: the plugin instance each bucket of a read goes out under,
 * and what it carries there. A host goes by its name (names.h), else by
 * its address as text; "total" and "other" go by themselves.
 *
 * Hosts that share a name, as a dual-stack host's IPv4 and IPv6 addresses
 * do, are one instance: its gauges are the sum of theirs, and its counters
 * add what each of them grew since the last read. A host that gets,
 * changes or loses a name moves its growth from that read on; nothing it
 * carried before follows it, so no DERIVE series jumps by a host's past
 * and no byte is counted under two instances. A host that never had a
 * name counts from the start (accounting rule 1); a name counts from the
 * read it was first used on. An instance no bucket goes under stops being
 * dispatched; its counters are kept for when the name comes back (up to
 * as many idle instances as there are current ones, and at least
 * INSTANCES_IDLE_MIN; beyond that the longest idle are forgotten, and a
 * name that comes back after that starts again from zero: its writers see
 * a counter reset, never a jump). */
#ifndef CTFLOW_INSTANCES_H
#define CTFLOW_INSTANCES_H

#include <stddef.h>
#include <stdint.h>

#include "hosts.h"
#include "names.h"

#define INSTANCES_IDLE_MIN 64

struct instance {
  char name[NAMES_SIZE];   /* the plugin instance, zero-padded */
  struct host_stats stats; /* kind, counters and gauges (addr unused) */
  uint32_t read;           /* the last update that had a bucket under it */
};

struct instances;

/* Returns an empty set, or NULL when out of memory. */
struct instances *instances_new(void);
void instances_free(struct instances *instances);

/* Files one read's buckets (a report's: total, other, then hosts) under
 * their instances, naming hosts by names. Returns 0, or -1 when out of
 * memory: then the caller dispatches nothing this time, and the next
 * update counts what this one could not, so nothing is lost or counted
 * twice. */
int instances_update(struct instances *instances, const struct names *names,
                     const struct host_stats *buckets, size_t count);

/* Returns the next instance (from *cursor, 0 to begin) that had buckets in
 * the last update, or NULL after the last one. Valid until the next update. */
const struct instance *instances_next(const struct instances *instances,
                                      size_t *cursor);

#endif
