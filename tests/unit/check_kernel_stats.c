/* check_kernel_stats.c: the kernel's conntrack statistics, from messages
 * captured from the real kernel (tests/fixtures, made by capture.sh), and
 * from those messages broken. */
#include <arpa/inet.h>
#include <check.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "kernel_stats.h"

/* stats-cpu.bin: one message per CPU of the capture VM (2), back to back.
 * `conntrack -S` printed every statistic 0 but invalid=3 (on cpu 1): the 3
 * echo replies capture.sh sent unasked, which conntrack cannot start an
 * entry with (tests/fixtures/README). */
#define CPUS 2
static const uint64_t cpu_sums[CTA_STATS_MAX + 1] = {[CTA_STATS_INVALID] = 3};

/* The statistics `conntrack -S` printed, i.e. the attributes the capture
 * kernel (6.18) sends. */
static const unsigned kernel_sends =
    1u << CTA_STATS_FOUND | 1u << CTA_STATS_INVALID | 1u << CTA_STATS_INSERT |
    1u << CTA_STATS_INSERT_FAILED | 1u << CTA_STATS_DROP |
    1u << CTA_STATS_EARLY_DROP | 1u << CTA_STATS_ERROR |
    1u << CTA_STATS_SEARCH_RESTART | 1u << CTA_STATS_CLASH_RESOLVE |
    1u << CTA_STATS_CHAIN_TOOLONG;

/* stats-global.bin: the 7 entries capture.sh made, and the VM's
 * nf_conntrack_max (README). */
#define ENTRIES 7
#define MAX_ENTRIES 262144

/* The messages of stats-cpu.bin, each in its own exact-size buffer. */
struct cpu_messages {
  uint8_t *msg[CPUS];
  size_t len[CPUS];
};

static struct cpu_messages load_cpu_messages(void) {
  size_t len, off = 0;
  uint8_t *all = fixture_load("stats-cpu.bin", &len);
  struct cpu_messages m;
  for (int cpu = 0; cpu < CPUS; cpu++) {
    ck_assert_uint_le(off + sizeof(uint32_t), len);
    m.len[cpu] = msg_len(all + off);
    ck_assert_uint_le(off + m.len[cpu], len);
    m.msg[cpu] = fixture_copy(all + off, m.len[cpu]);
    off += m.len[cpu];
  }
  ck_assert_uint_eq(off, len);
  free(all);
  return m;
}

static void free_cpu_messages(struct cpu_messages *m) {
  for (int cpu = 0; cpu < CPUS; cpu++)
    free(m->msg[cpu]);
}

/* Returns the offset of the attribute of type, or 0 when there is none. */
static size_t find_attr(const uint8_t *msg, uint16_t type) {
  for (size_t off = PAYLOAD; off + MNL_ATTR_HDRLEN <= msg_len(msg);
       off += MNL_ALIGN(get_u16(msg + off)))
    if ((get_u16(msg + off + 2) & NLA_TYPE_MASK) == type)
      return off;
  return 0;
}

/* Returns a malloc'd copy of msg without its attribute of type. */
static uint8_t *without_attr(const uint8_t *msg, uint16_t type,
                             size_t *new_len) {
  size_t len = msg_len(msg), off = find_attr(msg, type);
  ck_assert_uint_gt(off, 0);
  size_t gap = MNL_ALIGN(get_u16(msg + off));
  uint8_t *out = malloc(len - gap);
  ck_assert_ptr_nonnull(out);
  memcpy(out, msg, off);
  memcpy(out + off, msg + off + gap, len - off - gap);
  set_msg_len(out, len - gap);
  *new_len = len - gap;
  return out;
}

typedef int (*stats_fn)(struct kernel_stats *, const struct nlmsghdr *);

/* Returns what fn makes of the len bytes at msg, starting from *stats and
 * leaving its result there. fn runs on an exact-size heap copy, where ASan
 * sees kernel_stats' own code read past it, and on a copy before a guard
 * page, where a read by libmnl faults; the two must agree. A copy is never
 * shorter than a netlink header, which fn may read. */
static int run(stats_fn fn, struct kernel_stats *stats, const void *msg,
               size_t len) {
  size_t size = len < MNL_NLMSG_HDRLEN ? MNL_NLMSG_HDRLEN : len;
  uint8_t *padded = calloc(1, size);
  ck_assert_ptr_nonnull(padded);
  memcpy(padded, msg, len);
  struct kernel_stats guarded_stats = *stats;
  void *heap = fixture_copy(padded, size);
  int rc = fn(stats, heap);
  free(heap);
  void *guarded = fixture_guarded_copy(padded, size);
  ck_assert_int_eq(fn(&guarded_stats, guarded), rc);
  fixture_guarded_free(guarded, size);
  free(padded);
  ck_assert_msg(memcmp(&guarded_stats, stats, sizeof(*stats)) == 0,
                "the two copies gave different statistics");
  return rc;
}

/* Returns the statistics summed over the messages, in the order given. */
static struct kernel_stats sum_cpus(struct cpu_messages *m, const int *order) {
  struct kernel_stats stats = {0};
  for (int i = 0; i < CPUS; i++)
    ck_assert_int_eq(
        run(kernel_stats_add_cpu, &stats, m->msg[order[i]], m->len[order[i]]),
        0);
  return stats;
}

static const int in_order[CPUS] = {0, 1};

START_TEST(test_each_statistic_sums_to_what_conntrack_printed) {
  struct cpu_messages m = load_cpu_messages();
  struct kernel_stats stats = sum_cpus(&m, in_order);
  for (unsigned s = 0; s <= CTA_STATS_MAX; s++)
    ck_assert_msg(
        stats.cpu[s] == cpu_sums[s], "statistic %u is %llu, want %llu", s,
        (unsigned long long)stats.cpu[s], (unsigned long long)cpu_sums[s]);
  free_cpu_messages(&m);
}
END_TEST

/* Gives cpu 0 five more invalid packets than it counted: the sum must grow
 * by five, whichever CPU counted the captured three. */
START_TEST(test_counts_of_every_cpu_are_added) {
  struct cpu_messages m = load_cpu_messages();
  size_t off = find_attr(m.msg[0], CTA_STATS_INVALID) + MNL_ATTR_HDRLEN;
  ck_assert_uint_gt(off, MNL_ATTR_HDRLEN);
  uint32_t count;
  memcpy(&count, m.msg[0] + off, sizeof(count));
  count = htonl(ntohl(count) + 5);
  memcpy(m.msg[0] + off, &count, sizeof(count));
  struct kernel_stats stats = sum_cpus(&m, in_order);
  ck_assert_uint_eq(stats.cpu[CTA_STATS_INVALID], 3 + 5);
  free_cpu_messages(&m);
}
END_TEST

START_TEST(test_per_cpu_message_marks_the_statistics_read) {
  struct cpu_messages m = load_cpu_messages();
  struct kernel_stats stats = {0};
  ck_assert_int_eq(run(kernel_stats_add_cpu, &stats, m.msg[0], m.len[0]), 0);
  ck_assert(stats.have_cpu);
  ck_assert(!stats.have_global);
  free_cpu_messages(&m);
}
END_TEST

START_TEST(test_reported_has_a_bit_for_each_statistic_the_kernel_sent) {
  struct cpu_messages m = load_cpu_messages();
  struct kernel_stats stats = sum_cpus(&m, in_order);
  ck_assert_uint_eq(stats.reported, kernel_sends);
  free_cpu_messages(&m);
}
END_TEST

/* Kernels before 5.16 do not send chaintoolong. */
START_TEST(test_statistic_the_kernel_does_not_send_is_not_reported) {
  struct cpu_messages m = load_cpu_messages();
  struct kernel_stats stats = {0};
  for (int cpu = 0; cpu < CPUS; cpu++) {
    size_t len;
    uint8_t *older = without_attr(m.msg[cpu], CTA_STATS_CHAIN_TOOLONG, &len);
    ck_assert_int_eq(run(kernel_stats_add_cpu, &stats, older, len), 0);
    free(older);
  }
  ck_assert_uint_eq(stats.reported,
                    kernel_sends & ~(1u << CTA_STATS_CHAIN_TOOLONG));
  free_cpu_messages(&m);
}
END_TEST

/* CTA_STATS_SEARCHED is one the kernel no longer fills in: no series. */
START_TEST(test_statistic_without_a_name_is_neither_reported_nor_summed) {
  struct cpu_messages m = load_cpu_messages();
  size_t off = find_attr(m.msg[1], CTA_STATS_INVALID);
  set_u16(m.msg[1] + off + 2, CTA_STATS_SEARCHED);
  struct kernel_stats stats = {0};
  ck_assert_int_eq(run(kernel_stats_add_cpu, &stats, m.msg[1], m.len[1]), 0);
  ck_assert_uint_eq(stats.reported & (1u << CTA_STATS_SEARCHED), 0);
  ck_assert_uint_eq(stats.reported & (1u << CTA_STATS_INVALID), 0);
  ck_assert_uint_eq(stats.cpu[CTA_STATS_SEARCHED], 0);
  free_cpu_messages(&m);
}
END_TEST

/* The kernel puts each statistic once in a CPU's message; twice, it would
 * be added twice. */
START_TEST(test_statistic_named_twice_in_one_message_is_refused) {
  struct cpu_messages m = load_cpu_messages();
  size_t off = find_attr(m.msg[1], CTA_STATS_FOUND);
  set_u16(m.msg[1] + off + 2, CTA_STATS_INVALID);
  struct kernel_stats stats = {0};
  ck_assert_int_eq(run(kernel_stats_add_cpu, &stats, m.msg[1], m.len[1]), -1);
  free_cpu_messages(&m);
}
END_TEST

/* README, "Series": derive-<stat> for found invalid insert insert_failed
 * drop early_drop error search_restart clash_resolve chaintoolong. */
START_TEST(test_reported_statistics_have_the_names_the_readme_gives) {
  static const char *const documented[] = {
      "found",         "invalid",     "insert", "insert_failed",
      "drop",          "early_drop",  "error",  "search_restart",
      "clash_resolve", "chaintoolong"};
  struct cpu_messages m = load_cpu_messages();
  struct kernel_stats stats = sum_cpus(&m, in_order);
  unsigned named = 0;
  for (size_t n = 0; n < sizeof(documented) / sizeof(documented[0]); n++)
    for (unsigned s = 0; s <= CTA_STATS_MAX; s++)
      if ((stats.reported & (1u << s)) && kernel_stat_name(s) != NULL &&
          strcmp(kernel_stat_name(s), documented[n]) == 0)
        named |= 1u << s;
  ck_assert_uint_eq(named, stats.reported);
  ck_assert_uint_eq(__builtin_popcount(named), 10);
  free_cpu_messages(&m);
}
END_TEST

START_TEST(test_statistics_the_kernel_dropped_have_no_name) {
  ck_assert_ptr_null(kernel_stat_name(CTA_STATS_UNSPEC));
  ck_assert_ptr_null(kernel_stat_name(CTA_STATS_SEARCHED));
  ck_assert_ptr_null(kernel_stat_name(CTA_STATS_NEW));
  ck_assert_ptr_null(kernel_stat_name(CTA_STATS_IGNORE));
  ck_assert_ptr_null(kernel_stat_name(CTA_STATS_DELETE));
  ck_assert_ptr_null(kernel_stat_name(CTA_STATS_DELETE_LIST));
  ck_assert_ptr_null(kernel_stat_name(CTA_STATS_MAX + 1));
}
END_TEST

START_TEST(test_global_entries_are_the_seven_flows_made) {
  size_t len;
  uint8_t *msg = fixture_load("stats-global.bin", &len);
  struct kernel_stats stats = {0};
  ck_assert_int_eq(run(kernel_stats_set_global, &stats, msg, len), 0);
  ck_assert_uint_eq(stats.entries, ENTRIES);
  free(msg);
}
END_TEST

START_TEST(test_global_max_is_the_nf_conntrack_max_recorded) {
  size_t len;
  uint8_t *msg = fixture_load("stats-global.bin", &len);
  struct kernel_stats stats = {0};
  ck_assert_int_eq(run(kernel_stats_set_global, &stats, msg, len), 0);
  ck_assert_uint_eq(stats.max_entries, MAX_ENTRIES);
  free(msg);
}
END_TEST

START_TEST(test_global_message_marks_the_table_size_read) {
  size_t len;
  uint8_t *msg = fixture_load("stats-global.bin", &len);
  struct kernel_stats stats = {0};
  ck_assert_int_eq(run(kernel_stats_set_global, &stats, msg, len), 0);
  ck_assert(stats.have_global);
  ck_assert(!stats.have_cpu);
  free(msg);
}
END_TEST

static void expect_global_rejected_without(uint16_t type) {
  size_t len, cut_len;
  uint8_t *msg = fixture_load("stats-global.bin", &len);
  uint8_t *cut = without_attr(msg, type, &cut_len);
  struct kernel_stats stats = {0};
  ck_assert_int_eq(run(kernel_stats_set_global, &stats, cut, cut_len), -1);
  ck_assert(!stats.have_global);
  free(cut);
  free(msg);
}

START_TEST(test_global_message_without_entries_is_rejected) {
  expect_global_rejected_without(CTA_STATS_GLOBAL_ENTRIES);
}
END_TEST

START_TEST(test_global_message_without_max_is_rejected) {
  expect_global_rejected_without(CTA_STATS_GLOBAL_MAX_ENTRIES);
}
END_TEST

/* The two messages to break: _i 0 is cpu 1's per-CPU message, 1 the
 * global one. Returns a malloc'd copy, its function and length. */
static uint8_t *message_to_break(int i, stats_fn *fn, size_t *len) {
  if (i == 1) {
    *fn = kernel_stats_set_global;
    return fixture_load("stats-global.bin", len);
  }
  struct cpu_messages m = load_cpu_messages();
  uint8_t *msg = fixture_copy(m.msg[1], m.len[1]);
  *len = m.len[1];
  free_cpu_messages(&m);
  *fn = kernel_stats_add_cpu;
  return msg;
}

/* With nlmsg_len cut too, a per-CPU message that ends after its headers
 * or a whole attribute is one from a kernel that sends fewer statistics;
 * anything else is broken. The global message needs both of its
 * attributes. */
START_TEST(test_message_shortened_is_accepted_only_after_a_whole_attribute) {
  stats_fn fn;
  size_t len;
  uint8_t *msg = message_to_break(_i, &fn, &len);
  for (size_t cut = 0; cut < len; cut++) {
    bool whole = cut == PAYLOAD;
    for (size_t off = PAYLOAD; off < len; off += MNL_ALIGN(get_u16(msg + off)))
      whole |= off + get_u16(msg + off) <= cut &&
               cut <= off + MNL_ALIGN(get_u16(msg + off));
    bool good = whole && fn == kernel_stats_add_cpu;
    uint8_t *part = fixture_copy(msg, len);
    set_msg_len(part, cut);
    struct kernel_stats stats = {0};
    ck_assert_msg(run(fn, &stats, part, cut) == (good ? 0 : -1),
                  "message %d shortened to %zu: %s", _i, cut,
                  good ? "rejected" : "accepted");
    free(part);
  }
  free(msg);
}
END_TEST

enum corruption { RUNS_PAST_END, SHORTER_THAN_HEADER, ZERO };

static void expect_bad_lengths_rejected(int i, enum corruption how) {
  stats_fn fn;
  size_t len;
  uint8_t *msg = message_to_break(i, &fn, &len);
  int n = 0;
  for (size_t off = PAYLOAD; off < len;
       off += MNL_ALIGN(get_u16(msg + off)), n++) {
    uint8_t *bad = fixture_copy(msg, len);
    uint16_t bad_len = how == RUNS_PAST_END         ? len - off + 4
                       : how == SHORTER_THAN_HEADER ? MNL_ATTR_HDRLEN - 1
                                                    : 0;
    set_u16(bad + off, bad_len);
    struct kernel_stats stats = {0};
    ck_assert_msg(run(fn, &stats, bad, len) == -1,
                  "message %d, attribute at %zu of length %u: accepted", i, off,
                  bad_len);
    free(bad);
  }
  ck_assert_int_ge(n, 2);
  free(msg);
}

START_TEST(test_attribute_running_past_the_message_is_rejected) {
  expect_bad_lengths_rejected(_i, RUNS_PAST_END);
}
END_TEST

START_TEST(test_attribute_shorter_than_its_header_is_rejected) {
  expect_bad_lengths_rejected(_i, SHORTER_THAN_HEADER);
}
END_TEST

START_TEST(test_attribute_of_length_zero_is_rejected) {
  expect_bad_lengths_rejected(_i, ZERO);
}
END_TEST

/* 6 bytes: 2 of value, and the next attribute stays where it was. */
START_TEST(test_statistic_that_is_not_a_u32_is_rejected) {
  stats_fn fn;
  size_t len;
  uint8_t *msg = message_to_break(_i, &fn, &len);
  set_u16(msg + PAYLOAD, MNL_ATTR_HDRLEN + 2);
  struct kernel_stats stats = {0};
  ck_assert_int_eq(run(fn, &stats, msg, len), -1);
  free(msg);
}
END_TEST

static Suite *kernel_stats_suite(void) {
  Suite *s = suite_create("kernel_stats");
  TCase *tc = tcase_create("per-CPU");
  tcase_add_test(tc, test_each_statistic_sums_to_what_conntrack_printed);
  tcase_add_test(tc, test_counts_of_every_cpu_are_added);
  tcase_add_test(tc, test_per_cpu_message_marks_the_statistics_read);
  tcase_add_test(tc,
                 test_reported_has_a_bit_for_each_statistic_the_kernel_sent);
  tcase_add_test(tc, test_statistic_the_kernel_does_not_send_is_not_reported);
  tcase_add_test(tc,
                 test_statistic_without_a_name_is_neither_reported_nor_summed);
  tcase_add_test(tc, test_statistic_named_twice_in_one_message_is_refused);
  tcase_add_test(tc, test_reported_statistics_have_the_names_the_readme_gives);
  tcase_add_test(tc, test_statistics_the_kernel_dropped_have_no_name);
  suite_add_tcase(s, tc);

  tc = tcase_create("global");
  tcase_add_test(tc, test_global_entries_are_the_seven_flows_made);
  tcase_add_test(tc, test_global_max_is_the_nf_conntrack_max_recorded);
  tcase_add_test(tc, test_global_message_marks_the_table_size_read);
  tcase_add_test(tc, test_global_message_without_entries_is_rejected);
  tcase_add_test(tc, test_global_message_without_max_is_rejected);
  suite_add_tcase(s, tc);

  tc = tcase_create("malformed");
  tcase_add_loop_test(
      tc, test_message_shortened_is_accepted_only_after_a_whole_attribute, 0,
      2);
  tcase_add_loop_test(tc, test_attribute_running_past_the_message_is_rejected,
                      0, 2);
  tcase_add_loop_test(tc, test_attribute_shorter_than_its_header_is_rejected, 0,
                      2);
  tcase_add_loop_test(tc, test_attribute_of_length_zero_is_rejected, 0, 2);
  tcase_add_loop_test(tc, test_statistic_that_is_not_a_u32_is_rejected, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(kernel_stats_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failures = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failures != 0;
}
