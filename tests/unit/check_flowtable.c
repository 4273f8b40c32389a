/* check_flowtable.c: the tracked entries, their keys, what they grew since
 * the last read, and the sweep of those that left the kernel's table. */
#include <check.h>
#include <stdint.h>

#include "crafted.h"
#include "entries.h"
#include "flowtable.h"
#include "hash.h"

static struct flowtable *table;

static void setup(void) {
  table = flowtable_new();
  ck_assert_ptr_nonnull(table);
}

static void teardown(void) { flowtable_free(table); }

/* Returns the tracked flow of entry, inserting it if need be. */
static struct flow *flow_of(const struct ct_entry *entry) {
  struct flow *f = flowtable_upsert(table, entry->id, flow_tuple_hash(entry));
  ck_assert_ptr_nonnull(f);
  return f;
}

/* Many flows, told apart by their index i: distinct keys and counters. */
static uint32_t id_of(size_t i) { return (uint32_t)(i / 2); }
static uint64_t tuple_hash_of(size_t i) {
  return 0x9e3779b97f4a7c15ull * (i + 1);
}
static uint64_t bytes_of(size_t i) { return 1000 + 3 * i; }

/* Returns the flow of index i, inserting it if need be. (Loops over many
 * flows assert only on failure: each passing ck_assert costs a write.) */
static struct flow *numbered(size_t i) {
  struct flow *f = flowtable_upsert(table, id_of(i), tuple_hash_of(i));
  if (f == NULL)
    ck_abort_msg("out of memory at flow %zu", i);
  return f;
}

/* Inserts flows 0..n-1, each carrying bytes_of(i) in the original
 * direction and seen by generation 1 + i % 2. */
static void insert_numbered(size_t n) {
  for (size_t i = 0; i < n; i++) {
    struct flow *f = numbered(i);
    f->orig.bytes = bytes_of(i);
    f->seen = 1 + i % 2;
  }
  ck_assert_uint_eq(flowtable_count(table), n);
}

/* Fails unless flow i is still tracked, seen by gen, with its counters. */
static void assert_kept(size_t i, uint32_t gen) {
  struct flow *f = numbered(i);
  if (f->id != id_of(i) || f->tuple_hash != tuple_hash_of(i) ||
      f->seen != gen || f->orig.bytes != bytes_of(i))
    ck_abort_msg("flow %zu: id %u, seen %u, %ju bytes", i, f->id, f->seen,
                 (uintmax_t)f->orig.bytes);
}

/* Fails unless the flows first, first + step, ... below n were forgotten:
 * finding one inserts it anew, never seen. */
static void assert_forgotten(size_t first, size_t step, size_t n) {
  for (size_t i = first; i < n; i += step)
    if (numbered(i)->seen != 0)
      ck_abort_msg("flow %zu survived the sweep", i);
}

static void assert_growth(struct growth g, uint64_t orig_packets,
                          uint64_t orig_bytes, uint64_t reply_packets,
                          uint64_t reply_bytes) {
  ck_assert_uint_eq(g.orig.packets, orig_packets);
  ck_assert_uint_eq(g.orig.bytes, orig_bytes);
  ck_assert_uint_eq(g.reply.packets, reply_packets);
  ck_assert_uint_eq(g.reply.bytes, reply_bytes);
}

START_TEST(a_new_table_is_empty) {
  ck_assert_uint_eq(flowtable_count(table), 0);
}
END_TEST

START_TEST(a_new_flow_is_unseen_and_has_counted_nothing) {
  struct ct_entry e;
  entry_browsing(&e, 42);
  struct flow *f = flow_of(&e);
  ck_assert_uint_eq(f->id, 42);
  ck_assert_uint_eq(f->tuple_hash, flow_tuple_hash(&e));
  ck_assert_uint_eq(f->seen, 0);
  ck_assert_uint_eq(f->orig.bytes + f->orig.packets, 0);
  ck_assert_uint_eq(f->reply.bytes + f->reply.packets, 0);
  ck_assert_uint_eq(flowtable_count(table), 1);
}
END_TEST

START_TEST(the_same_key_twice_returns_the_same_flow) {
  struct ct_entry e;
  entry_browsing(&e, 42);
  struct flow *first = flow_of(&e);
  first->seen = 5;
  ck_assert_ptr_eq(flow_of(&e), first);
  ck_assert_uint_eq(first->seen, 5);
  ck_assert_uint_eq(flowtable_count(table), 1);
}
END_TEST

START_TEST(an_entry_keeps_its_key_as_its_counters_grow) {
  struct ct_entry before, after;
  entry_browsing(&before, 42);
  entry_browsing(&after, 42);
  entry_counters(&after, 10, 5000, 8, 40000);
  ck_assert_uint_eq(flow_tuple_hash(&before), flow_tuple_hash(&after));
}
END_TEST

START_TEST(the_reply_tuple_is_no_part_of_the_key) {
  /* NAT rewrites the reply tuple; the original one names the entry. */
  struct ct_entry masqueraded, direct;
  entry_browsing(&masqueraded, 42);
  entry_tcp(&direct, LAPTOP, 51234, WEB, 443);
  direct.id = 42;
  ck_assert_uint_eq(flow_tuple_hash(&masqueraded), flow_tuple_hash(&direct));
}
END_TEST

START_TEST(an_id_reused_with_another_tuple_is_a_different_flow) {
  struct ct_entry web, dns;
  entry_browsing(&web, 42);
  entry_udp(&dns, PHONE, 5353, RESOLVER, 53);
  dns.id = 42;
  ck_assert_uint_ne(flow_tuple_hash(&web), flow_tuple_hash(&dns));
  struct flow *f = flow_of(&web);
  f->seen = 1;
  ck_assert_ptr_ne(flow_of(&dns), f);
  ck_assert_uint_eq(flowtable_count(table), 2);
}
END_TEST

START_TEST(
    an_id_reused_with_a_tuple_differing_in_one_port_is_a_different_flow) {
  struct ct_entry first, second;
  entry_browsing(&first, 42);
  entry_browsing(&second, 42);
  second.orig.src_port++;
  ck_assert_uint_ne(flow_tuple_hash(&first), flow_tuple_hash(&second));
  struct flow *f = flow_of(&first);
  ck_assert_ptr_ne(flow_of(&second), f);
}
END_TEST

START_TEST(the_same_id_and_tuple_in_another_zone_is_a_different_flow) {
  struct ct_entry zone0, zone1;
  entry_browsing(&zone0, 42);
  entry_browsing(&zone1, 42);
  zone1.zone = 1;
  ck_assert_uint_ne(flow_tuple_hash(&zone0), flow_tuple_hash(&zone1));
  struct flow *f = flow_of(&zone0);
  ck_assert_ptr_ne(flow_of(&zone1), f);
  ck_assert_uint_eq(flowtable_count(table), 2);
}
END_TEST

START_TEST(the_same_tuple_under_other_ids_is_other_flows) {
  /* Enough of them that some probe past the others in the index. */
  const uint32_t n = 1000;
  for (uint32_t id = 0; id < n; id++)
    flowtable_upsert(table, id, 12345)->orig.bytes = id;
  ck_assert_uint_eq(flowtable_count(table), n);
  for (uint32_t id = 0; id < n; id++)
    if (flowtable_upsert(table, id, 12345)->orig.bytes != id)
      ck_abort_msg("ID %u found another ID's flow", id);
  ck_assert_uint_eq(flowtable_count(table), n);
}
END_TEST

START_TEST(a_first_advance_grows_by_the_whole_counters) {
  struct ct_entry e;
  entry_browsing(&e, 42);
  entry_counters(&e, 3, 300, 2, 2000);
  assert_growth(flow_advance(flow_of(&e), &e), 3, 300, 2, 2000);
}
END_TEST

START_TEST(an_advance_grows_by_what_the_counters_gained_since_the_last) {
  struct ct_entry e;
  entry_browsing(&e, 42);
  struct flow *f = flow_of(&e);
  entry_counters(&e, 3, 300, 2, 2000);
  flow_advance(f, &e);
  entry_counters(&e, 5, 700, 4, 5000);
  assert_growth(flow_advance(f, &e), 5 - 3, 700 - 300, 4 - 2, 5000 - 2000);
}
END_TEST

START_TEST(an_advance_stores_the_counters_it_saw) {
  struct ct_entry e;
  entry_browsing(&e, 42);
  entry_counters(&e, 3, 300, 2, 2000);
  struct flow *f = flow_of(&e);
  flow_advance(f, &e);
  ck_assert_uint_eq(f->orig.packets, 3);
  ck_assert_uint_eq(f->orig.bytes, 300);
  ck_assert_uint_eq(f->reply.packets, 2);
  ck_assert_uint_eq(f->reply.bytes, 2000);
}
END_TEST

START_TEST(an_unchanged_entry_grows_by_nothing) {
  struct ct_entry e;
  entry_browsing(&e, 42);
  entry_counters(&e, 3, 300, 2, 2000);
  struct flow *f = flow_of(&e);
  flow_advance(f, &e);
  assert_growth(flow_advance(f, &e), 0, 0, 0, 0);
}
END_TEST

START_TEST(a_counter_that_went_down_was_reset_and_grew_by_its_new_value) {
  /* Zeroed (conntrack -L -z), then 2 packets, 150 bytes each way. */
  struct ct_entry e;
  entry_browsing(&e, 42);
  struct flow *f = flow_of(&e);
  entry_counters(&e, 10, 1000, 10, 1000);
  flow_advance(f, &e);
  entry_counters(&e, 2, 150, 2, 150);
  assert_growth(flow_advance(f, &e), 2, 150, 2, 150);
}
END_TEST

START_TEST(one_counter_that_went_down_shows_all_four_were_reset) {
  /* Zeroing resets all four counters of an entry together: the reply
   * direction has since climbed back above its last values, but the
   * original bytes show the reset, so every new value is growth. */
  struct ct_entry e;
  entry_browsing(&e, 42);
  struct flow *f = flow_of(&e);
  entry_counters(&e, 10, 1000, 10, 1000);
  flow_advance(f, &e);
  entry_counters(&e, 11, 900, 12, 1600);
  assert_growth(flow_advance(f, &e), 11, 900, 12, 1600);
}
END_TEST

START_TEST(a_sweep_removes_the_flows_the_generation_did_not_see) {
  struct flow *stale = flowtable_upsert(table, 1, 100);
  stale->seen = 1;
  flowtable_upsert(table, 2, 200)->seen = 2;
  flowtable_upsert(table, 3, 300)->seen = 2;
  ck_assert_uint_eq(flowtable_sweep(table, 2, true), 1);
  ck_assert_uint_eq(flowtable_count(table), 2);
  /* Gone: asking for it again gives a new, unseen flow. */
  ck_assert_uint_eq(flowtable_upsert(table, 1, 100)->seen, 0);
  ck_assert_uint_eq(flowtable_count(table), 3);
}
END_TEST

START_TEST(a_sweep_removes_flows_never_marked_seen) {
  flowtable_upsert(table, 1, 100);
  ck_assert_uint_eq(flowtable_sweep(table, 1, true), 1);
  ck_assert_uint_eq(flowtable_count(table), 0);
}
END_TEST

START_TEST(a_sweep_keeps_the_flows_it_saw_findable_with_their_counters) {
  struct ct_entry gone, kept;
  entry_udp(&gone, PHONE, 5353, RESOLVER, 53);
  entry_browsing(&kept, 42);
  entry_counters(&kept, 3, 300, 2, 2000);
  flow_of(&gone)->seen = 1;
  struct flow *f = flow_of(&kept);
  flow_advance(f, &kept);
  f->seen = 2;
  flowtable_sweep(table, 2, true);
  f = flow_of(&kept);
  ck_assert_uint_eq(flowtable_count(table), 1);
  ck_assert_uint_eq(f->seen, 2);
  ck_assert_uint_eq(f->id, 42);
  entry_counters(&kept, 4, 400, 3, 3000);
  assert_growth(flow_advance(f, &kept), 1, 100, 1, 1000);
}
END_TEST

START_TEST(a_sweep_that_removes_nothing_returns_0) {
  insert_numbered(10);
  for (size_t i = 0; i < 10; i++)
    numbered(i)->seen = 7;
  ck_assert_uint_eq(flowtable_sweep(table, 7, true), 0);
  ck_assert_uint_eq(flowtable_count(table), 10);
}
END_TEST

START_TEST(a_flow_stays_where_it_is_while_the_table_grows) {
  struct flow *f = numbered(0);
  f->orig.bytes = 777;
  for (size_t i = 1; i < 100000; i++)
    numbered(i);
  ck_assert_ptr_eq(numbered(0), f);
  ck_assert_uint_eq(f->orig.bytes, 777);
}
END_TEST

START_TEST(a_sweep_over_many_chunks_keeps_every_survivor_with_its_counters) {
  const size_t n = 100000;
  insert_numbered(n); /* odd ones seen by generation 2 */
  ck_assert_uint_eq(flowtable_sweep(table, 2, true), n / 2);
  ck_assert_uint_eq(flowtable_count(table), n / 2);
  for (size_t i = 1; i < n; i += 2)
    assert_kept(i, 2);
  /* Finding them inserted nothing. */
  ck_assert_uint_eq(flowtable_count(table), n / 2);
}
END_TEST

START_TEST(a_sweep_over_many_chunks_forgets_every_flow_it_removed) {
  const size_t n = 100000;
  insert_numbered(n); /* even ones seen by generation 1 only */
  flowtable_sweep(table, 2, true);
  assert_forgotten(0, 2, n);
  ck_assert_uint_eq(flowtable_count(table), n);
}
END_TEST

/* The usual read: a few of many flows gone (each takes the last flow's
 * place, and the index keeps every other). */
START_TEST(a_sweep_of_a_few_gone_keeps_the_rest_findable_and_forgets_them) {
  const size_t n = 100000;
  insert_numbered(n);
  for (size_t i = 0; i < n; i++)
    numbered(i)->seen = i % 100 == 7 ? 1 : 2;
  ck_assert_uint_eq(flowtable_sweep(table, 2, true), n / 100);
  ck_assert_uint_eq(flowtable_count(table), n - n / 100);
  for (size_t i = 0; i < n; i++)
    if (i % 100 != 7)
      assert_kept(i, 2);
  ck_assert_uint_eq(flowtable_count(table), n - n / 100);
  assert_forgotten(7, 100, n);
  ck_assert_uint_eq(flowtable_count(table), n);
}
END_TEST

/* A table that loses a few flows read after read ends with an index of
 * its size, not of its largest. */
START_TEST(a_table_that_shrinks_read_by_read_gives_its_index_back) {
  const size_t n = 100000;
  insert_numbered(n);
  size_t full = flowtable_memory(table);
  uint32_t gen = 2;
  for (size_t left = n; left > n / 64; left -= left / 40) {
    gen++;
    for (size_t i = 0; i < n; i++) {
      struct flow *f = flowtable_find(table, id_of(i), tuple_hash_of(i));
      if (f != NULL && i < left - left / 40)
        f->seen = gen;
    }
    flowtable_sweep(table, gen, true);
  }
  ck_assert_uint_lt(flowtable_count(table), n / 32);
  ck_assert_uint_lt(flowtable_memory(table), full / 8);
}
END_TEST

START_TEST(the_memory_grows_with_the_flows_and_a_sweep_gives_it_back) {
  size_t empty = flowtable_memory(table);
  ck_assert_uint_gt(empty, 0);
  insert_numbered(100000);
  size_t full = flowtable_memory(table);
  ck_assert_uint_ge(full, 100000 * sizeof(struct flow));
  ck_assert_uint_eq(flowtable_sweep(table, 3, true), 100000);
  /* An empty table keeps at most a spare chunk or two. */
  ck_assert_uint_lt(flowtable_memory(table), full / 2);
}
END_TEST

START_TEST(a_million_flows_take_at_most_64_bytes_each) {
  /* The design goal (README, "Measured"): at most 64 bytes per tracked
   * entry. */
  const size_t n = 1000000;
  for (size_t i = 0; i < n; i++)
    numbered(i);
  ck_assert_uint_eq(flowtable_count(table), n);
  ck_assert_uint_le(flowtable_memory(table), 64 * n);
}
END_TEST

/* Crafted flows (crafted.h): IPv6 flows that share slots under
 * KNOWN_KEY. */
#define CRAFTED 32

/* Returns candidate flow i: the laptop to candidate remote i on tcp 443,
 * with ID i + 1 (the laptop's flow to the web is the pattern). */
static struct ct_entry candidate_flow(const struct ct_entry *pattern,
                                      uint64_t i) {
  struct ct_entry e = *pattern;
  e.orig.dst = e.reply.src = crafted_candidate(i);
  e.id = (uint32_t)i + 1;
  return e;
}

static struct flow *insert(struct flowtable *t, const struct ct_entry *e) {
  struct flow *f = flowtable_upsert(t, e->id, flow_tuple_hash(e));
  if (f == NULL)
    ck_abort_msg("out of memory");
  return f;
}

/* Returns the longest run of index slots that the flows take in a table
 * made under key. */
static size_t run_of_flows(const uint8_t key[16], const struct ct_entry *e) {
  hash_set_key(key);
  struct flowtable *t = flowtable_new();
  ck_assert_ptr_nonnull(t);
  for (int i = 0; i < CRAFTED; i++)
    insert(t, &e[i]);
  size_t run = flowtable_longest_run(t);
  flowtable_free(t);
  return run;
}

START_TEST(
    flows_crafted_to_share_slots_under_a_known_key_spread_under_another) {
  struct ct_entry flow[CRAFTED], pattern;
  entry_tcp(&pattern, LAPTOP6, 40000, WEB6, 443);
  hash_set_key(KNOWN_KEY);
  struct flowtable *t = flowtable_new();
  ck_assert_ptr_nonnull(t);
  /* The first candidate stays (seen by generation 1); another is kept
   * when the two make a run of 2 (it takes the first one's slot or one
   * beside it), and the sweep of generation 1 takes it out again. */
  flow[0] = candidate_flow(&pattern, 0);
  insert(t, &flow[0])->seen = 1;
  for (uint64_t i = 1, n = 1; n < CRAFTED; i++) {
    flow[n] = candidate_flow(&pattern, i);
    insert(t, &flow[n]);
    n += flowtable_longest_run(t) == 2;
    flowtable_sweep(t, 1, true);
  }
  flowtable_free(t);
  ck_assert_uint_ge(run_of_flows(KNOWN_KEY, flow), CRAFTED);
  ck_assert_uint_le(run_of_flows(SECRET_KEY, flow), CRAFTED / 4);
}
END_TEST

static Suite *flowtable_suite(void) {
  Suite *s = suite_create("flowtable");

  TCase *keys = tcase_create("keys");
  tcase_add_checked_fixture(keys, setup, teardown);
  tcase_add_test(keys, a_new_table_is_empty);
  tcase_add_test(keys, a_new_flow_is_unseen_and_has_counted_nothing);
  tcase_add_test(keys, the_same_key_twice_returns_the_same_flow);
  tcase_add_test(keys, an_entry_keeps_its_key_as_its_counters_grow);
  tcase_add_test(keys, the_reply_tuple_is_no_part_of_the_key);
  tcase_add_test(keys, an_id_reused_with_another_tuple_is_a_different_flow);
  tcase_add_test(
      keys,
      an_id_reused_with_a_tuple_differing_in_one_port_is_a_different_flow);
  tcase_add_test(keys,
                 the_same_id_and_tuple_in_another_zone_is_a_different_flow);
  tcase_add_test(keys, the_same_tuple_under_other_ids_is_other_flows);
  suite_add_tcase(s, keys);

  TCase *advance = tcase_create("advance");
  tcase_add_checked_fixture(advance, setup, teardown);
  tcase_add_test(advance, a_first_advance_grows_by_the_whole_counters);
  tcase_add_test(advance,
                 an_advance_grows_by_what_the_counters_gained_since_the_last);
  tcase_add_test(advance, an_advance_stores_the_counters_it_saw);
  tcase_add_test(advance, an_unchanged_entry_grows_by_nothing);
  tcase_add_test(advance,
                 a_counter_that_went_down_was_reset_and_grew_by_its_new_value);
  tcase_add_test(advance, one_counter_that_went_down_shows_all_four_were_reset);
  suite_add_tcase(s, advance);

  TCase *sweep = tcase_create("sweep");
  tcase_add_checked_fixture(sweep, setup, teardown);
  tcase_add_test(sweep, a_sweep_removes_the_flows_the_generation_did_not_see);
  tcase_add_test(sweep, a_sweep_removes_flows_never_marked_seen);
  tcase_add_test(sweep,
                 a_sweep_keeps_the_flows_it_saw_findable_with_their_counters);
  tcase_add_test(sweep, a_sweep_that_removes_nothing_returns_0);
  suite_add_tcase(s, sweep);

  TCase *scale = tcase_create("scale");
  tcase_add_checked_fixture(scale, setup, teardown);
  tcase_set_timeout(scale, 60);
  tcase_add_test(scale, a_flow_stays_where_it_is_while_the_table_grows);
  tcase_add_test(
      scale, a_sweep_over_many_chunks_keeps_every_survivor_with_its_counters);
  tcase_add_test(scale, a_sweep_over_many_chunks_forgets_every_flow_it_removed);
  tcase_add_test(
      scale, a_sweep_of_a_few_gone_keeps_the_rest_findable_and_forgets_them);
  tcase_add_test(scale, a_table_that_shrinks_read_by_read_gives_its_index_back);
  tcase_add_test(scale,
                 the_memory_grows_with_the_flows_and_a_sweep_gives_it_back);
  tcase_add_test(scale, a_million_flows_take_at_most_64_bytes_each);
  suite_add_tcase(s, scale);

  TCase *crafted = tcase_create("crafted flows");
  tcase_add_test(
      crafted,
      flows_crafted_to_share_slots_under_a_known_key_spread_under_another);
  suite_add_tcase(s, crafted);
  return s;
}

int main(void) { return run_suite(flowtable_suite()); }
