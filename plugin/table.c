/* table.c: see table.h. */
#include "table.h"

#include <stdlib.h>
#include <string.h>

long table_find(const struct table *t, const void *key, size_t *slot) {
  size_t s = slots_home(&t->slots, t->hash(key));
  for (; t->slots.slot[s] != 0; s = slots_next(&t->slots, s))
    if (t->same(table_at(t, t->slots.slot[s] - 1), key))
      return (long)t->slots.slot[s] - 1;
  *slot = s;
  return -1;
}

static uint64_t hash_at(size_t pos, const void *table) {
  const struct table *t = table;
  return t->hash(table_at(t, pos));
}

/* Indexes every item afresh, in slots for at least count items. Returns
 * 0, or -1 when out of memory (the old index stays). */
static int reindex(struct table *t, size_t count) {
  return slots_refill(&t->slots, slots_size_for(count, 16), 0, t->count,
                      hash_at, t);
}

int table_init(struct table *t, size_t item_size,
               uint64_t (*hash)(const void *item),
               bool (*same)(const void *item, const void *key)) {
  *t = (struct table){.item_size = item_size, .hash = hash, .same = same};
  return reindex(t, 0);
}

void table_free(struct table *t) {
  free(t->items);
  slots_free(&t->slots);
  t->items = NULL;
  t->count = t->capacity = 0;
}

void *table_get(struct table *t, const void *key) {
  size_t slot;
  if (2 * (t->count + 1) > t->slots.mask + 1 &&
      reindex(t, t->slots.mask + 1) < 0)
    return NULL;
  long pos = table_find(t, key, &slot);
  if (pos >= 0)
    return table_at(t, (size_t)pos);
  if (t->count == t->capacity) {
    size_t capacity = t->capacity ? 2 * t->capacity : 16;
    unsigned char *items = realloc(t->items, capacity * t->item_size);
    if (items == NULL)
      return NULL;
    t->items = items;
    t->capacity = capacity;
  }
  void *item = table_at(t, t->count);
  memcpy(item, key, t->item_size);
  t->slots.slot[slot] = (uint32_t)++t->count;
  return item;
}

void *table_replace(struct table *t, size_t pos, const void *key) {
  slots_remove(&t->slots, slots_holding(&t->slots, hash_at(pos, t), pos),
               hash_at, t);
  void *item = table_at(t, pos);
  memcpy(item, key, t->item_size);
  slots_put(&t->slots, t->hash(item), pos);
  return item;
}

void table_truncate(struct table *t, size_t count) {
  t->count = count;
  /* The same size: reusing the memory cannot fail. */
  slots_refill(&t->slots, t->slots.mask + 1, 0, count, hash_at, t);
}

size_t table_memory(const struct table *t) {
  return t->capacity * t->item_size + slots_memory(&t->slots);
}
