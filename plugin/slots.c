/* slots.c: see slots.h. */
#include "slots.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

size_t slots_size_for(size_t count, size_t least) {
  size_t size = 1;
  while (size < least || size < 2 * count)
    size *= 2;
  return size;
}

int slots_reset(struct slots *x, size_t size) {
  if (x->slot != NULL && size == x->mask + 1) {
    memset(x->slot, 0, size * sizeof(*x->slot));
    return 0;
  }
  uint32_t *slot = calloc(size, sizeof(*slot));
  if (slot == NULL)
    return -1;
  free(x->slot);
  x->slot = slot;
  x->mask = size - 1;
  return 0;
}

void slots_free(struct slots *x) {
  free(x->slot);
  *x = (struct slots){0};
}

void slots_put(struct slots *x, uint64_t hash, size_t pos) {
  size_t s = slots_home(x, hash);
  while (x->slot[s] != 0)
    s = slots_next(x, s);
  x->slot[s] = (uint32_t)pos + 1;
}

size_t slots_holding(const struct slots *x, uint64_t hash, size_t pos) {
  size_t s = slots_home(x, hash);
  while (x->slot[s] != pos + 1)
    s = slots_next(x, s);
  return s;
}

int slots_refill(struct slots *x, size_t size, size_t first, size_t count,
                 uint64_t (*hash_of)(size_t pos, const void *items),
                 const void *items) {
  if (slots_reset(x, size) < 0)
    return -1;
  for (size_t pos = first; pos < count; pos++)
    slots_put(x, hash_of(pos, items), pos);
  return 0;
}

void slots_remove(struct slots *x, size_t hole,
                  uint64_t (*hash_of)(size_t pos, const void *items),
                  const void *items) {
  for (size_t s = slots_next(x, hole); x->slot[s] != 0; s = slots_next(x, s)) {
    size_t home = slots_home(x, hash_of(x->slot[s] - 1, items));
    bool found_past_hole =
        hole < s ? hole < home && home <= s : hole < home || home <= s;
    if (found_past_hole)
      continue;
    x->slot[hole] = x->slot[s];
    hole = s;
  }
  x->slot[hole] = 0;
}

size_t slots_memory(const struct slots *x) {
  return x->slot ? (x->mask + 1) * sizeof(*x->slot) : 0;
}
