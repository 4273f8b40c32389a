/* instances.c: every read, each bucket's growth since the last read goes
 * to the instance its name says now. Two small tables hold the state: the
 * members (a bucket's counters as of the last read, by kind and address)
 * and the instances (their counters, by name). */
#include "instances.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

/* An array of items found by key through an open-addressing index. */
struct table {
  unsigned char *items;
  size_t item_size, count, capacity;
  uint32_t *slots;  /* 0 free, else an item's position + 1 */
  size_t slot_mask; /* slots - 1: a power of two, over twice count */
  uint64_t (*hash)(const void *item);
  bool (*same)(const void *item, const void *key);
};

/* A bucket as the last update that had it saw it. */
struct member {
  struct host_stats last;
  uint32_t read;
};

struct instances {
  struct table members;   /* struct member, by kind and address */
  struct table instances; /* struct instance, by name */
  uint32_t read;          /* updates so far */
  size_t current;         /* instances that had buckets in this update */
};

static void *table_at(const struct table *t, size_t pos) {
  return t->items + pos * t->item_size;
}

/* Returns the position of the item the same as key, or -1 and in *slot
 * the free slot where it would go. */
static long table_find(const struct table *t, const void *key, size_t *slot) {
  size_t s = t->hash(key) & t->slot_mask;
  for (; t->slots[s] != 0; s = (s + 1) & t->slot_mask)
    if (t->same(table_at(t, t->slots[s] - 1), key))
      return (long)t->slots[s] - 1;
  *slot = s;
  return -1;
}

/* Indexes every item afresh, in at least slots slots. Returns 0, or -1
 * when out of memory (the old index stays). */
static int table_reindex(struct table *t, size_t slots) {
  size_t size = 16, s;
  while (size < slots || size < 2 * t->count + 2)
    size *= 2;
  uint32_t *fresh = calloc(size, sizeof(*fresh));
  if (fresh == NULL)
    return -1;
  free(t->slots);
  t->slots = fresh;
  t->slot_mask = size - 1;
  for (size_t pos = 0; pos < t->count; pos++) {
    table_find(t, table_at(t, pos), &s);
    t->slots[s] = (uint32_t)pos + 1;
  }
  return 0;
}

/* Returns the item the same as key, appending a copy of key when there is
 * none; NULL when out of memory. */
static void *table_get(struct table *t, const void *key) {
  size_t slot;
  if (2 * (t->count + 1) > t->slot_mask + 1 &&
      table_reindex(t, 2 * (t->slot_mask + 1)) < 0)
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

/* Keeps the first count items and indexes them again. Returns 0, or -1
 * when out of memory (all items stay). */
static int table_truncate(struct table *t, size_t count) {
  size_t old = t->count;
  t->count = count;
  if (table_reindex(t, 0) == 0)
    return 0;
  t->count = old;
  return -1;
}

static void table_free(struct table *t) {
  free(t->items);
  free(t->slots);
}

static uint64_t member_hash(const void *item) {
  const struct host_stats *b = &((const struct member *)item)->last;
  return hash_bytes(&b->addr, sizeof(b->addr), b->family | b->kind << 8);
}

static bool member_same(const void *item, const void *key) {
  const struct host_stats *a = &((const struct member *)item)->last;
  const struct host_stats *b = &((const struct member *)key)->last;
  return a->kind == b->kind && a->family == b->family &&
         memcmp(&a->addr, &b->addr, sizeof(a->addr)) == 0;
}

static uint64_t instance_hash(const void *item) {
  return hash_bytes(((const struct instance *)item)->name, NAMES_SIZE, 0);
}

static bool instance_same(const void *item, const void *key) {
  return memcmp(((const struct instance *)item)->name,
                ((const struct instance *)key)->name, NAMES_SIZE) == 0;
}

struct instances *instances_new(void) {
  struct instances *in = calloc(1, sizeof(*in));
  if (in == NULL)
    return NULL;
  in->members = (struct table){.item_size = sizeof(struct member),
                               .hash = member_hash,
                               .same = member_same};
  in->instances = (struct table){.item_size = sizeof(struct instance),
                                 .hash = instance_hash,
                                 .same = instance_same};
  if (table_reindex(&in->members, 0) < 0 ||
      table_reindex(&in->instances, 0) < 0) {
    instances_free(in);
    return NULL;
  }
  return in;
}

void instances_free(struct instances *in) {
  if (in == NULL)
    return;
  table_free(&in->members);
  table_free(&in->instances);
  free(in);
}

/* Writes the plugin instance of bucket b, zero-padded. */
static void instance_name(const struct names *names, const struct host_stats *b,
                          char name[NAMES_SIZE]) {
  const char *text = b->kind == BUCKET_TOTAL ? "total"
                     : b->kind == BUCKET_OTHER
                         ? "other"
                         : names_lookup(names, b->family, &b->addr);
  memset(name, 0, NAMES_SIZE);
  if (text != NULL)
    strncpy(name, text, NAMES_SIZE - 1);
  else
    inet_ntop(b->family, &b->addr, name, NAMES_SIZE);
}

/* Returns what a counter grew from last to now. One that went down started
 * over (its bucket was made anew): its value is its growth. */
static uint64_t growth(uint64_t now, uint64_t last) {
  return now >= last ? now - last : now;
}

/* Adds bucket b, last seen as last, to instance i. */
static void add_bucket(struct host_stats *i, const struct host_stats *b,
                       const struct host_stats *last) {
  i->rx_bytes += growth(b->rx_bytes, last->rx_bytes);
  i->tx_bytes += growth(b->tx_bytes, last->tx_bytes);
  i->rx_packets += growth(b->rx_packets, last->rx_packets);
  i->tx_packets += growth(b->tx_packets, last->tx_packets);
  i->new_connections += growth(b->new_connections, last->new_connections);
  for (int p = 0; p < PROTO_CLASSES; p++)
    i->connections[p] += b->connections[p];
  /* A dual-stack host's IPv4 and IPv6 peers are distinct addresses, so
   * their sum is exact; two IPv4 addresses of one name may share a peer,
   * which their sum counts twice. */
  i->peers += b->peers;
}

/* Files bucket b under its instance. Returns 0, or -1 when out of memory. */
static int file_bucket(struct instances *in, const struct names *names,
                       const struct host_stats *b) {
  struct instance key = {.stats.kind = b->kind};
  struct member member_key = {
      .last = {.addr = b->addr, .family = b->family, .kind = b->kind}};
  instance_name(names, b, key.name);
  struct member *m = table_get(&in->members, &member_key);
  struct instance *i = m ? table_get(&in->instances, &key) : NULL;
  if (i == NULL)
    return -1;
  if (i->read != in->read) {
    memset(i->stats.connections, 0, sizeof(i->stats.connections));
    i->stats.peers = 0;
    i->read = in->read;
    in->current++;
  }
  add_bucket(&i->stats, b, &m->last);
  m->last = *b;
  m->read = in->read;
  return 0;
}

/* Orders members of this update first. */
static int by_member_read(const void *a, const void *b) {
  uint32_t x = ((const struct member *)a)->read;
  uint32_t y = ((const struct member *)b)->read;
  return x > y ? -1 : x < y;
}

/* Orders the instances most recently used first. */
static int by_instance_read(const void *a, const void *b) {
  uint32_t x = ((const struct instance *)a)->read;
  uint32_t y = ((const struct instance *)b)->read;
  return x > y ? -1 : x < y;
}

/* Forgets members whose bucket this update did not have (hosts.c forgot
 * them), and the longest idle instances beyond the bound. A failure to
 * forget (no memory to index anew) is only put off. */
static void forget(struct instances *in, size_t members) {
  struct table *t = &in->members;
  if (t->count > members) {
    qsort(t->items, t->count, t->item_size, by_member_read);
    table_truncate(t, members);
  }
  t = &in->instances;
  size_t idle_max =
      in->current > INSTANCES_IDLE_MIN ? in->current : INSTANCES_IDLE_MIN;
  if (t->count - in->current > idle_max) {
    qsort(t->items, t->count, t->item_size, by_instance_read);
    table_truncate(t, in->current + idle_max);
  }
}

int instances_update(struct instances *in, const struct names *names,
                     const struct host_stats *buckets, size_t count) {
  in->read++;
  in->current = 0;
  for (size_t i = 0; i < count; i++)
    if (file_bucket(in, names, &buckets[i]) < 0)
      return -1;
  forget(in, count);
  return 0;
}

const struct instance *instances_next(const struct instances *in,
                                      size_t *cursor) {
  while (*cursor < in->instances.count) {
    const struct instance *i = table_at(&in->instances, (*cursor)++);
    if (i->read == in->read)
      return i;
  }
  return NULL;
}
