/* flowkeys.c: keys in a table (table.h), and a quickselect that picks the
 * interval's heaviest keys in O(keys) instead of sorting them all. A full
 * table changes hands by sampling (as caches evict approximately): finding
 * the lightest key exactly would cost a heap updated on every add, and the
 * adds are the hot path. */
#include "flowkeys.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "protocols.h"

struct flow_key flow_key_of(enum flow_key_kind kind, const struct ct_entry *e,
                            const struct owner *o) {
  /* Rule 2 (a port forward): the host's end is the reply source. */
  bool reply_side = o->rule == RULE_REPLY_SRC;
  const struct ct_tuple *t = &e->orig;
  struct flow_key key = {
      .local = reply_side ? e->reply.src : t->src,
      .remote = reply_side ? e->reply.dst : t->dst,
      .family = t->l3proto,
      .l4proto = t->l4proto,
  };
  if (protocol_has_ports(t->l4proto)) {
    key.service_port = t->dst_port;
    if (kind == FLOW_KEY_5TUPLE)
      key.local_port = reply_side ? e->reply.src_port : t->src_port;
  }
  return key;
}

static uint64_t key_hash(const void *item) {
  const struct flow_key *key = &((const struct key_stats *)item)->key;
  struct hasher s = hash_begin();
  hash_addr_in(&s, &key->local);
  hash_addr_in(&s, &key->remote);
  return hash_end(&s,
                  (uint64_t)key->service_port << 32 |
                      (uint64_t)key->local_port << 16 | key->family << 8 |
                      key->l4proto,
                  6);
}

static bool key_same(const void *item, const void *probe) {
  const struct flow_key *a = &((const struct key_stats *)item)->key;
  const struct flow_key *b = &((const struct key_stats *)probe)->key;
  return a->family == b->family && a->l4proto == b->l4proto &&
         a->service_port == b->service_port && a->local_port == b->local_port &&
         memcmp(&a->local, &b->local, sizeof(a->local)) == 0 &&
         memcmp(&a->remote, &b->remote, sizeof(a->remote)) == 0;
}

int flowkeys_init(struct flowkeys *k, enum flow_key_kind kind,
                  size_t max_keys) {
  *k = (struct flowkeys){
      .kind = kind, .max_keys = max_keys, .victim = FLOWKEYS_NO_VICTIM};
  return table_init(&k->keys, sizeof(struct key_stats), key_hash, key_same);
}

void flowkeys_free(struct flowkeys *k) { table_free(&k->keys); }

static uint64_t interval_bytes(const struct key_stats *ks) {
  return ks->interval.rx.bytes + ks->interval.tx.bytes;
}

/* Returns what the key at pos carried lately: what a newcomer must
 * outweigh to take its place. */
static uint64_t weight(const struct flowkeys *k, size_t pos) {
  const struct key_stats *ks = flowkeys_at(k, pos);
  return ks->recent + interval_bytes(ks);
}

/* Returns the next sampled position among n (xorshift64*; the newcomers'
 * key hashes stir its state). */
static size_t sample(struct flowkeys *k, size_t n) {
  k->sample ^= k->sample >> 12;
  k->sample ^= k->sample << 25;
  k->sample ^= k->sample >> 27;
  return (size_t)((k->sample * 0x2545f4914f6cdd1dull) >> 32) % n;
}

/* Makes the lightest of FLOWKEYS_SAMPLE keys the victim, for the newcomer
 * probe. */
static void choose_victim(struct flowkeys *k, const struct key_stats *probe) {
  size_t n = flowkeys_count(k);
  bool all = n <= FLOWKEYS_SAMPLE;
  k->sample ^= k->keys.hash(probe);
  if (k->sample == 0) /* xorshift's one fixed point */
    k->sample = 1;
  for (size_t i = 0; i < (all ? n : FLOWKEYS_SAMPLE); i++) {
    size_t pos = all ? i : sample(k, n);
    if (i == 0 || weight(k, pos) < weight(k, k->victim))
      k->victim = pos;
  }
}

/* Returns the place of the victim, given to probe's key when it brings
 * more than bytes the victim carried lately; else NULL. */
static struct key_stats *
take_place(struct flowkeys *k, const struct key_stats *probe, uint64_t bytes) {
  if (k->victim == FLOWKEYS_NO_VICTIM)
    choose_victim(k, probe);
  if (bytes <= weight(k, k->victim))
    return NULL;
  struct key_stats *ks = table_replace(&k->keys, k->victim, probe);
  k->evicted++;
  /* The next newcomer chooses: this one has yet to get its bytes. */
  k->victim = FLOWKEYS_NO_VICTIM;
  return ks;
}

/* Returns the key's aggregates, adding them while there is room or when
 * bytes win it a place; NULL when they do not, or when out of memory. */
static struct key_stats *find(struct flowkeys *k, const struct flow_key *key,
                              uint64_t bytes) {
  struct key_stats probe = {.key = *key};
  size_t slot;
  if (k->keys.count < k->max_keys)
    return table_get(&k->keys, &probe);
  long pos = table_find(&k->keys, &probe, &slot);
  return pos < 0 ? take_place(k, &probe, bytes) : flowkeys_at(k, (size_t)pos);
}

void flowkeys_add(struct flowkeys *k, const struct flow_key *key,
                  const struct ct_counters *tx, const struct ct_counters *rx) {
  traffic_add(&k->interval, tx, rx);
  struct key_stats *ks = find(k, key, tx->bytes + rx->bytes);
  if (ks == NULL)
    return;
  traffic_add(&ks->since_tracked, tx, rx);
  traffic_add(&ks->interval, tx, rx);
}

/* Returns whether key a ranks above key b: more bytes, then seen first (a
 * total order, so that ties are broken the same way every time). */
static bool heavier(const struct flowkeys *k, uint32_t a, uint32_t b) {
  uint64_t ba = interval_bytes(flowkeys_at(k, a)),
           bb = interval_bytes(flowkeys_at(k, b));
  return ba > bb || (ba == bb && a < b);
}

static void swap(uint32_t *a, uint32_t *b) {
  uint32_t t = *a;
  *a = *b;
  *b = t;
}

/* Reorders pos[0..n) so that its first top ranks above the rest
 * (quickselect: O(n) on average). */
static void select_top(const struct flowkeys *k, uint32_t *pos, size_t n,
                       size_t top) {
  size_t lo = 0, hi = n;
  while (hi - lo > 1) {
    swap(&pos[lo + (hi - lo) / 2], &pos[hi - 1]);
    uint32_t pivot = pos[hi - 1];
    size_t store = lo;
    for (size_t i = lo; i < hi - 1; i++)
      if (heavier(k, pos[i], pivot))
        swap(&pos[i], &pos[store++]);
    swap(&pos[store], &pos[hi - 1]);
    if (store == top || store + 1 == top)
      return;
    if (store < top)
      lo = store + 1;
    else
      hi = store;
  }
}

/* Orders pos[0..n) heaviest first (n is TopFlows: small). */
static void sort_top(const struct flowkeys *k, uint32_t *pos, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && heavier(k, pos[j], pos[j - 1]); j--)
      swap(&pos[j], &pos[j - 1]);
}

static void subtract(struct ct_counters *c, const struct ct_counters *d) {
  c->packets -= d->packets;
  c->bytes -= d->bytes;
}

/* Starts the next interval: counts idleness, forgets keys idle for
 * idle_limit intervals (their series end) and reindexes what is left. */
static void next_interval(struct flowkeys *k, uint32_t idle_limit) {
  size_t kept = 0, count = flowkeys_count(k);
  for (size_t i = 0; i < count; i++) {
    struct key_stats *ks = flowkeys_at(k, i);
    /* Keys are fed only traffic that has packets. */
    bool moved = ks->interval.rx.packets || ks->interval.tx.packets;
    ks->idle = moved ? 0 : ks->idle + 1;
    ks->recent = ks->recent / 2 + interval_bytes(ks);
    ks->interval = (struct traffic){0};
    if (ks->idle >= idle_limit)
      continue;
    if (kept != i)
      *flowkeys_at(k, kept) = *ks;
    kept++;
  }
  k->interval = (struct traffic){0};
  k->victim = FLOWKEYS_NO_VICTIM; /* weights and positions change */
  if (kept != count)
    table_truncate(&k->keys, kept);
}

size_t flowkeys_end_interval(struct flowkeys *k, size_t n, uint32_t idle_limit,
                             struct key_stats *top) {
  /* Positions of the keys that carried anything; without memory for
   * them, every key of the interval goes to "other". */
  size_t count = flowkeys_count(k);
  uint32_t *pos = malloc((count + 1) * sizeof(*pos));
  size_t candidates = 0, chosen = 0;
  struct traffic rest = k->interval;
  if (pos != NULL) {
    for (size_t i = 0; i < count; i++)
      if (interval_bytes(flowkeys_at(k, i)) > 0)
        pos[candidates++] = (uint32_t)i;
    chosen = candidates < n ? candidates : n;
    if (candidates > chosen)
      select_top(k, pos, candidates, chosen);
    sort_top(k, pos, chosen);
    for (size_t i = 0; i < chosen; i++) {
      top[i] = *flowkeys_at(k, pos[i]);
      subtract(&rest.tx, &top[i].interval.tx);
      subtract(&rest.rx, &top[i].interval.rx);
    }
    free(pos);
  }
  traffic_add(&k->other, &rest.tx, &rest.rx);
  next_interval(k, idle_limit);
  return chosen;
}

/* Returns l4proto's name, or its number written into buf. */
static const char *proto_name(uint8_t l4proto, char *buf, size_t size) {
  const char *name = protocol_name(l4proto);
  if (name != NULL)
    return name;
  snprintf(buf, size, "%u", l4proto);
  return buf;
}

int flow_key_format(const struct flow_key *key, enum flow_key_kind kind,
                    char *buf, size_t size) {
  char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN], proto[8];
  inet_ntop(key->family, &key->local, local, sizeof(local));
  inet_ntop(key->family, &key->remote, remote, sizeof(remote));
  const char *p = proto_name(key->l4proto, proto, sizeof(proto));
  if (!protocol_has_ports(key->l4proto))
    return snprintf(buf, size, "%s-%s-%s", local, remote, p);
  if (kind == FLOW_KEY_CONVERSATION)
    return snprintf(buf, size, "%s-%s-%s-%u", local, remote, p,
                    key->service_port);
  return snprintf(buf, size, "%s-%s-%s-%u-%u", local, remote, p,
                  key->service_port, key->local_port);
}

size_t flowkeys_memory(const struct flowkeys *k) {
  return table_memory(&k->keys);
}
