/* hosts.c: buckets in one array, found by address through an index of
 * slots (slots.h). Hosts join at the end; forgotten ones leave at the
 * end of a read, when the array is compacted and indexed anew, so
 * positions are stable within a read: the peer pairs key on them, and are
 * counted before the compaction and cleared when the next read begins. */
#include "hosts.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define FIXED_BUCKETS 2

int hosts_init(struct hosts *h, const struct hosts_settings *settings) {
  *h = (struct hosts){
      .settings = *settings, .v6_max = settings->max_hosts, .capacity = 16};
  if (h->settings.max_new == 0)
    h->settings.max_new = HOSTS_MAX_NEW;
  if (h->settings.forget_after == 0)
    h->settings.forget_after = HOSTS_FORGET_AFTER;
  h->buckets = calloc(h->capacity, sizeof(*h->buckets));
  if (h->buckets == NULL ||
      slots_reset(&h->index, slots_size_for(settings->max_hosts, 16)) < 0) {
    hosts_free(h);
    return -1;
  }
  h->buckets[0].kind = BUCKET_TOTAL;
  h->buckets[1].kind = BUCKET_OTHER;
  h->count = FIXED_BUCKETS;
  return 0;
}

void hosts_free(struct hosts *h) {
  free(h->buckets);
  slots_free(&h->index);
  peerset_free(&h->peers);
  peerset_free(&h->refused);
  *h = (struct hosts){0};
}

void hosts_reserve_ipv4(struct hosts *h, size_t v4) {
  size_t half = h->settings.max_hosts / 2;
  h->v6_max = h->settings.max_hosts - (v4 < half ? v4 : half);
}

struct host_stats *hosts_total(struct hosts *h) {
  return &h->buckets[0];
}
struct host_stats *hosts_other(struct hosts *h) {
  return &h->buckets[1];
}

/* Returns a new bucket for addr at position count, or NULL. */
static struct host_stats *append(struct hosts *h, uint8_t family,
                                 const union ct_addr *addr) {
  if (h->count == h->capacity) {
    size_t capacity = 2 * h->capacity;
    struct host_stats *b = realloc(h->buckets, capacity * sizeof(*b));
    if (b == NULL)
      return NULL;
    h->buckets = b;
    h->capacity = capacity;
  }
  struct host_stats *b = &h->buckets[h->count++];
  *b =
      (struct host_stats){.addr = *addr, .family = family, .kind = BUCKET_HOST};
  return b;
}

/* Returns the free index slot of addr, or the slot of its bucket. */
static size_t slot_of(const struct hosts *h, uint8_t family,
                      const union ct_addr *addr) {
  size_t s = slots_home(&h->index, hash_addr(family, addr));
  for (; h->index.slot[s] != 0; s = slots_next(&h->index, s)) {
    const struct host_stats *b = &h->buckets[h->index.slot[s] - 1];
    if (b->family == family && memcmp(&b->addr, addr, sizeof(*addr)) == 0)
      break;
  }
  return s;
}

static enum host_family host_family_of(uint8_t family) {
  return family == AF_INET6 ? HOST_V6 : HOST_V4;
}

/* Returns the counter of hosts refused for want of room, or of max_new;
 * NULL when a host of family f may have a new bucket. */
static uint64_t *refusal(struct hosts *h, enum host_family f) {
  if (h->count - FIXED_BUCKETS >= h->settings.max_hosts ||
      (f == HOST_V6 && h->v6_count >= h->v6_max))
    return &h->no_room;
  /* The first read admits the hosts already in the table: there is no
   * telling a guest's addresses from the others', and every one of them
   * was there before ctflow. */
  if (h->first_read_done && h->admitted[f] >= h->settings.max_new)
    return &h->deferred;
  return NULL;
}

/* Counts addr in *counter unless it was refused since the last read
 * ended. */
static void count_refusal(struct hosts *h, uint64_t *counter, uint8_t family,
                          const union ct_addr *addr) {
  if (h->refused.count < HOSTS_REFUSALS_COUNTED &&
      peerset_add(&h->refused, hash_addr(family, addr)) > 0)
    (*counter)++;
}

struct host_stats *hosts_find(struct hosts *h, uint8_t family,
                              const union ct_addr *addr) {
  size_t s = slot_of(h, family, addr);
  if (h->index.slot[s] != 0)
    return &h->buckets[h->index.slot[s] - 1];
  struct host_select *select = h->settings.select;
  if (select && !host_select_wants(select, family, addr))
    return hosts_other(h);
  enum host_family f = host_family_of(family);
  uint64_t *refused = refusal(h, f);
  if (refused != NULL) {
    count_refusal(h, refused, family, addr);
    return hosts_other(h);
  }
  struct host_stats *b = append(h, family, addr);
  if (b == NULL)
    return hosts_other(h);
  h->index.slot[s] = (uint32_t)h->count;
  h->v6_count += f == HOST_V6;
  h->admitted[f]++;
  return b;
}

static void queue_pair(struct hosts *h, size_t pos, uint64_t remote) {
  h->pending_pairs[h->pending] = remote + pos * 0x9e3779b97f4a7c15ull;
  h->pending_owners[h->pending++] = (uint32_t)pos;
}

void hosts_count_peers(struct hosts *h) {
  bool added[HOSTS_PEER_BATCH];
  peerset_add_many(&h->peers, h->pending_pairs, h->pending, added);
  for (size_t i = 0; i < h->pending; i++)
    h->buckets[h->pending_owners[i]].peers += added[i];
  h->pending = 0;
}

void hosts_begin_read(struct hosts *h) {
  for (size_t i = 0; i < h->count; i++) {
    memset(h->buckets[i].connections, 0, sizeof(h->buckets[i].connections));
    h->buckets[i].peers = 0;
  }
  peerset_clear(&h->peers);
  h->pending = 0; /* a read cut short leaves its pairs */
}

/* Returns whether bucket b had entries in this read or traffic since the
 * last. */
static bool busy(const struct host_stats *b) {
  if (b->carried)
    return true;
  for (int p = 0; p < PROTO_CLASSES; p++)
    if (b->connections[p] != 0)
      return true;
  return false;
}

static uint64_t hash_at(size_t pos, const void *hosts) {
  const struct host_stats *b = &((const struct hosts *)hosts)->buckets[pos];
  return hash_addr(b->family, &b->addr);
}

size_t hosts_end_read(struct hosts *h) {
  hosts_count_peers(h); /* while the positions are the read's */
  size_t kept = FIXED_BUCKETS;
  h->buckets[0].carried = h->buckets[1].carried = false;
  h->v6_count = 0;
  memset(h->admitted, 0, sizeof(h->admitted));
  peerset_clear(&h->refused);
  h->first_read_done = true;
  for (size_t i = FIXED_BUCKETS; i < h->count; i++) {
    struct host_stats *b = &h->buckets[i];
    b->idle = busy(b) ? 0 : b->idle + 1;
    b->carried = false;
    if (b->idle >= h->settings.forget_after)
      continue;
    if (kept != i)
      h->buckets[kept] = *b;
    h->v6_count += b->family == AF_INET6;
    kept++;
  }
  size_t forgotten = h->count - kept;
  if (forgotten == 0)
    return 0;
  h->count = kept;
  /* The same size: reusing the memory cannot fail. */
  slots_refill(&h->index, h->index.mask + 1, FIXED_BUCKETS, kept, hash_at, h);
  return forgotten;
}

/* Returns 1 when the remote address hashed to remote is new for the bucket
 * at position pos. The address hash is keyed, so one hash serves every
 * bucket: an odd step per position gives each bucket's pairs keys of their
 * own, spread over the set even for a remote all buckets share. */
int hosts_add_peer(struct hosts *h, struct host_stats *bucket, uint8_t family,
                   const union ct_addr *remote) {
  size_t pos = bucket - h->buckets;
  size_t pairs = pos != 0 ? 2 : 1; /* the bucket's and total's */
  if (h->pending + pairs > HOSTS_PEER_BATCH)
    hosts_count_peers(h);
  /* Room for every pending pair now, so that adding them cannot fail. */
  if (peerset_reserve(&h->peers, h->pending + pairs) < 0)
    return -1;
  uint64_t hash = hash_addr(family, remote);
  if (pos != 0)
    queue_pair(h, pos, hash);
  queue_pair(h, 0, hash);
  return 0;
}

size_t hosts_memory(const struct hosts *h) {
  return h->capacity * sizeof(*h->buckets) + slots_memory(&h->index) +
         peerset_memory(&h->peers) + peerset_memory(&h->refused);
}
