/* table.c: see table.h. */
#include "table.h"

#include <stdlib.h>
#include <string.h>

long table_find(const struct table *t, const void *key, size_t *slot) {
  size_t s = t->hash(key) & t->slot_mask;
  for (; t->slots[s] != 0; s = (s + 1) & t->slot_mask)
    if (t->same(table_at(t, t->slots[s] - 1), key))
      return (long)t->slots[s] - 1;
  *slot = s;
  return -1;
}

/* Puts every item into the empty index. */
static void fill_index(struct table *t) {
  size_t s;
  for (size_t pos = 0; pos < t->count; pos++) {
    table_find(t, table_at(t, pos), &s);
    t->slots[s] = (uint32_t)pos + 1;
  }
}

/* Indexes every item afresh, in at least slots slots. Returns 0, or -1
 * when out of memory (the old index stays). */
static int reindex(struct table *t, size_t slots) {
  size_t size = 16;
  while (size < slots || size < 2 * t->count + 2)
    size *= 2;
  uint32_t *fresh = calloc(size, sizeof(*fresh));
  if (fresh == NULL)
    return -1;
  free(t->slots);
  t->slots = fresh;
  t->slot_mask = size - 1;
  fill_index(t);
  return 0;
}

int table_init(struct table *t, size_t item_size,
               uint64_t (*hash)(const void *item),
               bool (*same)(const void *item, const void *key)) {
  *t = (struct table){.item_size = item_size, .hash = hash, .same = same};
  return reindex(t, 0);
}

void table_free(struct table *t) {
  free(t->items);
  free(t->slots);
  t->items = NULL;
  t->slots = NULL;
  t->count = t->capacity = 0;
}

void *table_get(struct table *t, const void *key) {
  size_t slot;
  if (2 * (t->count + 1) > t->slot_mask + 1 &&
      reindex(t, 2 * (t->slot_mask + 1)) < 0)
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
  t->slots[slot] = (uint32_t)++t->count;
  return item;
}

/* Returns the slot that holds the item at pos. */
static size_t slot_holding(const struct table *t, size_t pos) {
  size_t s = t->hash(table_at(t, pos)) & t->slot_mask;
  while (t->slots[s] != pos + 1)
    s = (s + 1) & t->slot_mask;
  return s;
}

/* Frees slot hole. Linear probing finds an item by walking from its home
 * slot to the first free one, so a free slot must not cut a walk short:
 * each later item of the run that could not be found past the hole moves
 * back into it, leaving a new hole (Knuth's algorithm R). */
static void free_slot(struct table *t, size_t hole) {
  for (size_t s = (hole + 1) & t->slot_mask; t->slots[s] != 0;
       s = (s + 1) & t->slot_mask) {
    size_t home = t->hash(table_at(t, t->slots[s] - 1)) & t->slot_mask;
    bool found_past_hole =
        hole < s ? hole < home && home <= s : hole < home || home <= s;
    if (found_past_hole)
      continue;
    t->slots[hole] = t->slots[s];
    hole = s;
  }
  t->slots[hole] = 0;
}

void *table_replace(struct table *t, size_t pos, const void *key) {
  size_t slot;
  free_slot(t, slot_holding(t, pos));
  table_find(t, key, &slot);
  void *item = table_at(t, pos);
  memcpy(item, key, t->item_size);
  t->slots[slot] = (uint32_t)pos + 1;
  return item;
}

void table_truncate(struct table *t, size_t count) {
  t->count = count;
  memset(t->slots, 0, (t->slot_mask + 1) * sizeof(*t->slots));
  fill_index(t);
}

size_t table_memory(const struct table *t) {
  return t->capacity * t->item_size + (t->slot_mask + 1) * sizeof(*t->slots);
}
