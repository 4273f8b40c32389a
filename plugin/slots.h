/* slots.h: the one open-addressing index through which ctflow's tables
 * (tracked flows, host buckets, flow keys, instances) find an item's
 * position from its hash: 32-bit slots, 0 free, else the item's position
 * plus one; linear probing from the slot the hash's low bits choose (the
 * hashes are keyed, hash.h, so nobody can aim items at one run); a power
 * of two of slots, at most half of them taken. The table keeps its items
 * and compares keys itself: a lookup is
 *
 *   for (size_t s = slots_home(x, hash); x->slot[s] != 0;
 *        s = slots_next(x, s))
 *     if (the item at x->slot[s] - 1 is the one sought) ...
 *
 * inline, with no call through a pointer on a table's hot path. */
#ifndef CTFLOW_SLOTS_H
#define CTFLOW_SLOTS_H

#include <stddef.h>
#include <stdint.h>

struct slots {
  uint32_t *slot;
  size_t mask; /* slots - 1 */
};

static inline size_t slots_home(const struct slots *x, uint64_t hash) {
  return hash & x->mask;
}

static inline size_t slots_next(const struct slots *x, size_t s) {
  return (s + 1) & x->mask;
}

/* Returns how many slots count items take: a power of two, at least
 * least, and at least twice count. */
size_t slots_size_for(size_t count, size_t least);

/* Gives x size free slots (from slots_size_for()), reusing its memory when
 * the size is the same. Returns 0, or -1 when out of memory (x is left as
 * it was). */
int slots_reset(struct slots *x, size_t size);
void slots_free(struct slots *x);

/* Puts position pos, whose item hashes to hash, into the first free slot
 * from its home. x has a free slot. */
void slots_put(struct slots *x, uint64_t hash, size_t pos);

/* Returns the slot that holds position pos, whose item hashes to hash. */
size_t slots_holding(const struct slots *x, uint64_t hash, size_t pos);

/* Gives x size free slots, as slots_reset() does, and puts positions first
 * to count - 1 into them; hash_of(pos, items) returns the hash of the item
 * at pos. Returns 0, or -1 when out of memory (x is left as it was). */
int slots_refill(struct slots *x, size_t size, size_t first, size_t count,
                 uint64_t (*hash_of)(size_t pos, const void *items),
                 const void *items);

/* Frees slot hole. A lookup walks from an item's home slot to the first
 * free one, so a free slot must not cut a walk short: each later item of
 * the run that could not be found past the hole moves back into it,
 * leaving a new hole (Knuth's algorithm R). hash_of(pos, items) returns
 * the hash of the item at pos. */
void slots_remove(struct slots *x, size_t hole,
                  uint64_t (*hash_of)(size_t pos, const void *items),
                  const void *items);

/* Returns the bytes of memory the slots take. */
size_t slots_memory(const struct slots *x);

#endif
