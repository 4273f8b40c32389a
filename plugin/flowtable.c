/* flowtable.c: flows in fixed-size chunks that never move, found through
 * an index of 32-bit slots (slots.h).
 *
 * 48 bytes a flow plus 4 to 8 bytes of index keeps a million tracked
 * entries near 56 MB, and chunks mean growing the table never copies or
 * briefly doubles the flows themselves. */
#include "flowtable.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "slots.h"

#define CHUNK_SHIFT 12
#define CHUNK_FLOWS (1u << CHUNK_SHIFT)
#define INDEX_MIN 1024u

struct flowtable {
  struct flow **chunks;
  size_t chunk_count; /* allocated chunks */
  size_t chunk_slots; /* capacity of the chunks array */
  size_t count;       /* flows in use: positions 0..count-1 */
  struct slots index; /* positions by tuple hash */
  /* The position after the last flow found. The kernel dumps its hash
   * buckets in the same order every time and flows are appended in dump
   * order, so this is usually the flow asked for next: one compare
   * instead of an index probe and a cache miss. */
  size_t next;
};

static struct flow *flow_at(const struct flowtable *t, size_t pos) {
  return &t->chunks[pos >> CHUNK_SHIFT][pos & (CHUNK_FLOWS - 1)];
}

static uint64_t tuple_hash_at(size_t pos, const void *table) {
  return flow_at(table, pos)->tuple_hash;
}

/* Returns 0 after giving the index size slots and refilling it. */
static int index_rebuild(struct flowtable *t, size_t size) {
  return slots_refill(&t->index, size, 0, t->count, tuple_hash_at, t);
}

struct flowtable *flowtable_new(void) {
  struct flowtable *t = calloc(1, sizeof(*t));
  if (t == NULL || index_rebuild(t, INDEX_MIN) < 0) {
    free(t);
    return NULL;
  }
  return t;
}

void flowtable_free(struct flowtable *t) {
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->chunk_count; i++)
    free(t->chunks[i]);
  free(t->chunks);
  slots_free(&t->index);
  free(t);
}

uint64_t flow_tuple_hash(const struct ct_entry *e) {
  /* Field by field, not the struct's bytes: its padding is not part of
   * the key, whoever built the entry. */
  const struct ct_tuple *t = &e->orig;
  struct hasher s = hash_begin();
  hash_addr_in(&s, &t->src);
  hash_addr_in(&s, &t->dst);
  hash_word(&s, (uint64_t)t->src_port << 48 | (uint64_t)t->dst_port << 32 |
                    (uint64_t)e->zone << 16 | t->l3proto << 8 | t->l4proto);
  return hash_end(&s, 0, 0);
}

/* Returns 0 when position count has a chunk to live in. */
static int reserve_position(struct flowtable *t) {
  if ((t->count >> CHUNK_SHIFT) < t->chunk_count)
    return 0;
  if (t->chunk_count == t->chunk_slots) {
    size_t slots = t->chunk_slots ? 2 * t->chunk_slots : 16;
    struct flow **chunks = realloc(t->chunks, slots * sizeof(*chunks));
    if (chunks == NULL)
      return -1;
    t->chunks = chunks;
    t->chunk_slots = slots;
  }
  struct flow *chunk = malloc(CHUNK_FLOWS * sizeof(*chunk));
  if (chunk == NULL)
    return -1;
  t->chunks[t->chunk_count++] = chunk;
  return 0;
}

struct flow *flowtable_find(struct flowtable *t, uint32_t id,
                            uint64_t tuple_hash) {
  if (t->next < t->count) {
    struct flow *f = flow_at(t, t->next);
    if (f->id == id && f->tuple_hash == tuple_hash) {
      t->next++;
      return f;
    }
  }
  for (size_t s = slots_home(&t->index, tuple_hash); t->index.slot[s] != 0;
       s = slots_next(&t->index, s)) {
    struct flow *f = flow_at(t, t->index.slot[s] - 1);
    if (f->id == id && f->tuple_hash == tuple_hash) {
      t->next = t->index.slot[s];
      return f;
    }
  }
  return NULL;
}

struct flow *flowtable_upsert(struct flowtable *t, uint32_t id,
                              uint64_t tuple_hash) {
  struct flow *found = flowtable_find(t, id, tuple_hash);
  if (found != NULL)
    return found;
  if (2 * (t->count + 1) > t->index.mask + 1 &&
      index_rebuild(t, 2 * (t->index.mask + 1)) < 0)
    return NULL;
  if (reserve_position(t) < 0)
    return NULL;
  struct flow *f = flow_at(t, t->count);
  *f = (struct flow){.tuple_hash = tuple_hash, .id = id};
  slots_put(&t->index, tuple_hash, t->count++);
  t->next = t->count;
  return f;
}

/* Frees the chunks beyond the one that holds the last flow, keeping one
 * spare so that a table hovering at a chunk boundary does not churn. */
static void release_chunks(struct flowtable *t) {
  size_t keep = (t->count >> CHUNK_SHIFT) + 2;
  while (t->chunk_count > keep)
    free(t->chunks[--t->chunk_count]);
}

/* Returns the index slot that holds position pos. */
static size_t slot_holding(const struct flowtable *t, size_t pos) {
  return slots_holding(&t->index, flow_at(t, pos)->tuple_hash, pos);
}

/* Removes the flow at pos: the last flow takes its place. */
static void remove_at(struct flowtable *t, size_t pos) {
  size_t last = t->count - 1;
  slots_remove(&t->index, slot_holding(t, pos), tuple_hash_at, t);
  if (pos != last) {
    t->index.slot[slot_holding(t, last)] = (uint32_t)pos + 1;
    *flow_at(t, pos) = *flow_at(t, last);
  }
  t->count = last;
}

static bool kept(const struct flow *f, uint32_t gen, bool forget_unseen) {
  return f->seen == gen || (!forget_unseen && f->seen != FLOW_ENDED);
}

/* Keeps the flows kept() keeps, in their order; the index is then stale. */
static void compact(struct flowtable *t, uint32_t gen, bool forget_unseen) {
  size_t n = 0;
  for (size_t pos = 0; pos < t->count; pos++) {
    const struct flow *f = flow_at(t, pos);
    if (!kept(f, gen, forget_unseen))
      continue;
    if (n != pos)
      *flow_at(t, n) = *f;
    n++;
  }
  t->count = n;
}

size_t flowtable_sweep(struct flowtable *t, uint32_t gen, bool forget_unseen) {
  /* A few flows gone (the usual read: the entries that ended since the
   * last): each takes the last flow's place, and only their slots change.
   * Many gone: compacting and indexing every flow again is cheaper than
   * as many slot moves, so past 1/32 of the table the sweep compacts the
   * rest. (ctflow-bench --sweep: 1M flows, 1% gone, 9-11 ms where
   * compacting took 58; 100k flows, 10% gone, slot moves took 4.9 ms
   * where compacting takes 2.2-2.6.) */
  size_t before = t->count, gone = 0;
  bool compacted = false;
  for (size_t pos = 0; pos < t->count;) {
    if (kept(flow_at(t, pos), gen, forget_unseen)) {
      pos++;
      continue;
    }
    if (++gone * 32 > before) {
      compact(t, gen, forget_unseen);
      compacted = true;
      break;
    }
    remove_at(t, pos); /* pos now holds the last flow: look again */
  }
  size_t removed = before - t->count;
  if (removed == 0)
    return 0;
  size_t fits = slots_size_for(t->count, INDEX_MIN);
  if (compacted) {
    /* Refilling at the size the index has cannot fail for want of
     * memory. */
    if (index_rebuild(t, fits) < 0)
      index_rebuild(t, t->index.mask + 1);
  } else if (fits * 8 <= t->index.mask + 1) {
    /* A table shrinking read by read does not keep the index of its
     * largest size; on failure the old one still serves. */
    index_rebuild(t, fits);
  }
  t->next = 0;
  release_chunks(t);
  return removed;
}

size_t flowtable_count(const struct flowtable *t) { return t->count; }

size_t flowtable_longest_run(const struct flowtable *t) {
  size_t size = t->index.mask + 1, longest = 0, run = 0;
  /* Twice round, so that a run across the end counts whole. */
  for (size_t i = 0; i < 2 * size && longest < size; i++) {
    run = t->index.slot[i & t->index.mask] != 0 ? run + 1 : 0;
    if (run > longest)
      longest = run;
  }
  return longest;
}

size_t flowtable_memory(const struct flowtable *t) {
  return sizeof(*t) + t->chunk_slots * sizeof(*t->chunks) +
         t->chunk_count * CHUNK_FLOWS * sizeof(struct flow) +
         slots_memory(&t->index);
}

void flow_end(struct flow *f) { f->seen = FLOW_ENDED; }

/* Returns whether any counter of now is below the same one of last. */
static bool went_down(const struct flow *last, const struct ct_entry *now) {
  return now->orig_counters.packets < last->orig.packets ||
         now->orig_counters.bytes < last->orig.bytes ||
         now->reply_counters.packets < last->reply.packets ||
         now->reply_counters.bytes < last->reply.bytes;
}

struct growth flow_advance(struct flow *f, const struct ct_entry *e) {
  /* Zeroing (conntrack -L -z) resets all four counters of an entry at
   * once, and one that went down proves it: then every counter's whole
   * new value is growth, even one that has climbed back above its last
   * value since. (When all four have climbed back, nothing shows it.) */
  struct growth g = {.orig = e->orig_counters, .reply = e->reply_counters};
  if (!went_down(f, e)) {
    g.orig.packets -= f->orig.packets;
    g.orig.bytes -= f->orig.bytes;
    g.reply.packets -= f->reply.packets;
    g.reply.bytes -= f->reply.bytes;
  }
  f->orig = e->orig_counters;
  f->reply = e->reply_counters;
  return g;
}
