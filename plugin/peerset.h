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

void peerset_free(struct peerset *set);

/* Returns the bytes of memory the set holds. */
size_t peerset_memory(const struct peerset *set);

#endif
