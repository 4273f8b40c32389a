/* peerset.h: a set of 64-bit keys, emptied every read, that answers "is
 * this (host, remote address) pair new?" to count distinct peers. */
#ifndef CTFLOW_PEERSET_H
#define CTFLOW_PEERSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct peerset {
  uint64_t *keys; /* 0 marks a free slot */
  size_t mask;    /* size - 1, a power of two */
  size_t count;
};

/* Empties the set, keeping its memory. */
void peerset_clear(struct peerset *set);

/* Adds key. Returns 1 when it was not yet in the set, 0 when it was, -1 when
 * out of memory. */
int peerset_add(struct peerset *set, uint64_t key);

/* Makes room for n more keys, so that adding them cannot fail. Returns 0,
 * or -1 when out of memory. */
int peerset_reserve(struct peerset *set, size_t n);

/* Adds the n keys, for which peerset_reserve() made room, and sets added[i]
 * to whether keys[i] was not yet in the set. Faster than n calls of
 * peerset_add() in a set bigger than the CPU's caches: it asks for every
 * key's slot before it looks at any, so that the cache misses overlap. */
void peerset_add_many(struct peerset *set, const uint64_t *keys, size_t n,
                      bool *added);

void peerset_free(struct peerset *set);

/* Returns the bytes of memory the set holds. */
size_t peerset_memory(const struct peerset *set);

#endif
