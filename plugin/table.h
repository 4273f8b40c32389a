/* table.h: an array of fixed-size items found by key through an
 * index of slots (slots.h). The items stay in
 * the order they came; an item is its own key (hash and same look at the
 * key fields of whole items). */
#ifndef CTFLOW_TABLE_H
#define CTFLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slots.h"

struct table {
  unsigned char *items;
  size_t item_size, count, capacity;
  struct slots slots; /* the items' positions by hash */
  uint64_t (*hash)(const void *item);
  bool (*same)(const void *item, const void *key);
};

/* Returns 0 with an empty table, or -1 when out of memory. */
int table_init(struct table *t, size_t item_size,
               uint64_t (*hash)(const void *item),
               bool (*same)(const void *item, const void *key));
void table_free(struct table *t);

static inline void *table_at(const struct table *t, size_t pos) {
  return t->items + pos * t->item_size;
}

/* Returns the position of the item the same as key, or -1 and in *slot
 * the free slot where it would go. */
long table_find(const struct table *t, const void *key, size_t *slot);

/* Returns the item the same as key, appending a copy of key when there is
 * none; NULL when out of memory. */
void *table_get(struct table *t, const void *key);

/* Puts a copy of key, which must not be in the table, at position pos in
 * place of the item there, which leaves the table (the others keep their
 * positions). Returns the item. */
void *table_replace(struct table *t, size_t pos, const void *key);

/* Keeps the first count items (the caller put the ones to keep there)
 * and indexes them again, in the index they had (it only empties). */
void table_truncate(struct table *t, size_t count);

/* Returns the bytes of memory the table holds. */
size_t table_memory(const struct table *t);

#endif
