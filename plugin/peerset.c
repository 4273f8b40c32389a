/* peerset.c: open addressing, linear probing, load <= 3/4 (a count per
 * read has no deletions, so probes stay short). Keys are keyed hashes
 * already (hash.h), so their low bits choose the slot; 0 is mapped to 1 so that
 * it can mark a free slot (a collision only undercounts a gauge by one). */
#include "peerset.h"

#include <stdlib.h>
#include <string.h>

#define PEERSET_MIN 256u

void peerset_clear(struct peerset *set) {
  if (set->keys)
    memset(set->keys, 0, (set->mask + 1) * sizeof(*set->keys));
  set->count = 0;
}

/* Returns 1 when key went into a free slot of keys (size mask + 1). */
static int place(uint64_t *keys, size_t mask, uint64_t key) {
  size_t s = key & mask;
  for (; keys[s] != 0; s = (s + 1) & mask)
    if (keys[s] == key)
      return 0;
  keys[s] = key;
  return 1;
}

static int grow(struct peerset *set) {
  size_t size = set->keys ? 2 * (set->mask + 1) : PEERSET_MIN;
  uint64_t *keys = calloc(size, sizeof(*keys));
  if (keys == NULL)
    return -1;
  for (size_t i = 0; set->keys && i <= set->mask; i++)
    if (set->keys[i] != 0)
      place(keys, size - 1, set->keys[i]);
  free(set->keys);
  set->keys = keys;
  set->mask = size - 1;
  return 0;
}

int peerset_reserve(struct peerset *set, size_t n) {
  while (set->keys == NULL || 4 * (set->count + n) > 3 * (set->mask + 1))
    if (grow(set) < 0)
      return -1;
  return 0;
}

static uint64_t nonzero(uint64_t key) { return key == 0 ? 1 : key; }

int peerset_add(struct peerset *set, uint64_t key) {
  if (peerset_reserve(set, 1) < 0)
    return -1;
  int added = place(set->keys, set->mask, nonzero(key));
  set->count += added;
  return added;
}

void peerset_add_many(struct peerset *set, const uint64_t *keys, size_t n,
                      bool *added) {
  for (size_t i = 0; i < n; i++)
    __builtin_prefetch(&set->keys[nonzero(keys[i]) & set->mask], 1);
  for (size_t i = 0; i < n; i++) {
    added[i] = place(set->keys, set->mask, nonzero(keys[i]));
    set->count += added[i];
  }
}

void peerset_free(struct peerset *set) {
  free(set->keys);
  *set = (struct peerset){0};
}

size_t peerset_memory(const struct peerset *set) {
  return set->keys ? (set->mask + 1) * sizeof(*set->keys) : 0;
}
