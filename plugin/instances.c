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
#include "table.h"

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

static uint64_t member_hash(const void *item) {
  const struct host_stats *b = &((const struct member *)item)->last;
  struct hasher s = hash_begin();
  hash_addr_in(&s, &b->addr);
  return hash_end(&s, b->family | b->kind << 8, 2);
}

static bool member_same(const void *item, const void *key) {
  const struct host_stats *a = &((const struct member *)item)->last;
  const struct host_stats *b = &((const struct member *)key)->last;
  return a->kind == b->kind && a->family == b->family &&
         memcmp(&a->addr, &b->addr, sizeof(a->addr)) == 0;
}

static uint64_t instance_hash(const void *item) {
  return hash_bytes(((const struct instance *)item)->name, NAMES_SIZE);
}

static bool instance_same(const void *item, const void *key) {
  return memcmp(((const struct instance *)item)->name,
                ((const struct instance *)key)->name, NAMES_SIZE) == 0;
}

struct instances *instances_new(void) {
  struct instances *in = calloc(1, sizeof(*in));
  if (in == NULL)
    return NULL;
  if (table_init(&in->members, sizeof(struct member), member_hash,
                 member_same) < 0 ||
      table_init(&in->instances, sizeof(struct instance), instance_hash,
                 instance_same) < 0) {
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

static void add_counters_growth(struct ct_counters *i,
                                const struct ct_counters *now,
                                const struct ct_counters *last) {
  i->packets += growth(now->packets, last->packets);
  i->bytes += growth(now->bytes, last->bytes);
}

/* Adds bucket b, last seen as last, to instance i. */
static void add_bucket(struct host_stats *i, const struct host_stats *b,
                       const struct host_stats *last) {
  add_counters_growth(&i->traffic.tx, &b->traffic.tx, &last->traffic.tx);
  add_counters_growth(&i->traffic.rx, &b->traffic.rx, &last->traffic.rx);
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
 * them), and the longest idle instances beyond the bound. */
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
