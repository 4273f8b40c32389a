/* check_instances.c: the plugin instance each bucket goes out under, a
 * dual-stack host summed into one, and names that come, change and go
 * while ctflow runs without making a counter jump. Reads are made by hand:
 * the buckets of a report, with the counters since start each would have. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "entries.h"
#include "instances.h"
#include "logs.h"
#include "names.h"

static struct instances *instances;
static struct names *unnamed, *named, *renamed;

/* The café's hosts by name: unnamed (none), named (the laptop on both of
 * its addresses, the phone), renamed (the phone as "phone-of-ana"). */
static void setup(void) {
  instances = instances_new();
  unnamed = names_new(record_log);
  named = names_new(record_log);
  renamed = names_new(record_log);
  ck_assert_ptr_nonnull(instances);
  ck_assert_ptr_nonnull(unnamed);
  ck_assert_ptr_nonnull(named);
  ck_assert_ptr_nonnull(renamed);
  ck_assert_int_eq(names_add(named, LAPTOP, "laptop"), 0);
  ck_assert_int_eq(names_add(named, LAPTOP6, "laptop"), 0);
  ck_assert_int_eq(names_add(named, PHONE, "phone"), 0);
  ck_assert_int_eq(names_add(renamed, PHONE, "phone-of-ana"), 0);
}

static void teardown(void) {
  instances_free(instances);
  names_free(unnamed);
  names_free(named);
  names_free(renamed);
}

/* Returns a bucket of kind with the given counters since start and
 * gauges; address is NULL for total and other. */
static struct host_stats bucket(enum bucket_kind kind, const char *address,
                                uint64_t rx_bytes, uint64_t tx_bytes,
                                uint32_t tcp, uint32_t peers) {
  struct host_stats b = {
      .kind = kind,
      .traffic = {.rx = {.bytes = rx_bytes, .packets = rx_bytes / 100},
                  .tx = {.bytes = tx_bytes, .packets = tx_bytes / 100}},
      .new_connections = tcp,
      .peers = peers};
  b.connections[PROTO_TCP] = tcp;
  if (address != NULL) {
    b.family = family_of(address);
    b.addr = addr_of(address);
  }
  return b;
}

static struct host_stats host(const char *address, uint64_t rx_bytes,
                              uint64_t tx_bytes) {
  return bucket(BUCKET_HOST, address, rx_bytes, tx_bytes, 1, 1);
}

/* Updates the instances with a read of total, other and the hosts given
 * (up to 4), named by names. */
static void read_with(const struct names *names, size_t n, ...) {
  struct host_stats b[6] = {bucket(BUCKET_TOTAL, NULL, 0, 0, 0, 0),
                            bucket(BUCKET_OTHER, NULL, 0, 0, 0, 0)};
  va_list ap;
  va_start(ap, n);
  ck_assert_uint_le(n, 4);
  for (size_t i = 0; i < n; i++) {
    b[2 + i] = va_arg(ap, struct host_stats);
    b[0].traffic.rx.bytes += b[2 + i].traffic.rx.bytes;
    b[0].traffic.tx.bytes += b[2 + i].traffic.tx.bytes;
  }
  va_end(ap);
  ck_assert_int_eq(instances_update(instances, names, b, 2 + n), 0);
}

/* Returns the instance the last update dispatches under name, or NULL. */
static const struct instance *instance(const char *name) {
  size_t cursor = 0;
  for (const struct instance *i; (i = instances_next(instances, &cursor));)
    if (strcmp(i->name, name) == 0)
      return i;
  return NULL;
}

/* Returns how many instances the last update dispatches. */
static size_t dispatched(void) {
  size_t cursor = 0, n = 0;
  while (instances_next(instances, &cursor))
    n++;
  return n;
}

/* Returns the received bytes of the instance name, failing when the last
 * update does not dispatch it. */
static uint64_t rx_of(const char *name) {
  const struct instance *i = instance(name);
  ck_assert_msg(i != NULL, "no instance \"%s\"", name);
  return i->stats.traffic.rx.bytes;
}

START_TEST(an_unnamed_host_goes_by_its_address_with_its_own_counters) {
  read_with(unnamed, 2, host(LAPTOP, 1000, 200), host(LAPTOP6, 300, 40));
  read_with(unnamed, 2, host(LAPTOP, 5000, 700), host(LAPTOP6, 300, 40));
  const struct instance *i = instance(LAPTOP);
  ck_assert_ptr_nonnull(i);
  ck_assert_uint_eq(i->stats.traffic.rx.bytes, 5000);
  ck_assert_uint_eq(i->stats.traffic.tx.bytes, 700);
  ck_assert_uint_eq(i->stats.traffic.rx.packets, 50);
  ck_assert_uint_eq(rx_of(LAPTOP6), 300);
}
END_TEST

START_TEST(total_and_other_go_by_themselves) {
  read_with(named, 1, host(LAPTOP, 1000, 200));
  ck_assert_ptr_nonnull(instance("total"));
  ck_assert_ptr_nonnull(instance("other"));
  ck_assert_int_eq(instance("total")->stats.kind, BUCKET_TOTAL);
  ck_assert_uint_eq(rx_of("total"), 1000);
  ck_assert_uint_eq(dispatched(), 3);
}
END_TEST

START_TEST(a_named_host_goes_by_its_name_and_not_its_address) {
  read_with(named, 1, host(PHONE, 1000, 200));
  ck_assert_uint_eq(rx_of("phone"), 1000);
  ck_assert_ptr_null(instance(PHONE));
}
END_TEST

START_TEST(a_dual_stack_host_is_one_instance_with_the_sum_of_both) {
  read_with(named, 2, bucket(BUCKET_HOST, LAPTOP, 1000, 200, 3, 2),
            bucket(BUCKET_HOST, LAPTOP6, 300, 40, 2, 1));
  const struct instance *i = instance("laptop");
  ck_assert_ptr_nonnull(i);
  ck_assert_uint_eq(i->stats.traffic.rx.bytes, 1300);
  ck_assert_uint_eq(i->stats.traffic.tx.bytes, 240);
  ck_assert_uint_eq(i->stats.new_connections, 5);
  ck_assert_uint_eq(i->stats.connections[PROTO_TCP], 5);
  ck_assert_uint_eq(i->stats.peers, 3);
  ck_assert_ptr_null(instance(LAPTOP));
  ck_assert_ptr_null(instance(LAPTOP6));
  ck_assert_uint_eq(dispatched(), 3);
}
END_TEST

START_TEST(gauges_of_a_dual_stack_host_are_this_reads_not_summed_over_reads) {
  read_with(named, 2, bucket(BUCKET_HOST, LAPTOP, 1000, 200, 3, 2),
            bucket(BUCKET_HOST, LAPTOP6, 300, 40, 2, 1));
  read_with(named, 2, bucket(BUCKET_HOST, LAPTOP, 1000, 200, 1, 1),
            bucket(BUCKET_HOST, LAPTOP6, 300, 40, 0, 0));
  ck_assert_uint_eq(instance("laptop")->stats.connections[PROTO_TCP], 1);
  ck_assert_uint_eq(instance("laptop")->stats.peers, 1);
}
END_TEST

START_TEST(a_name_given_to_a_host_already_counted_counts_from_then_on) {
  read_with(unnamed, 1, host(PHONE, 50000, 9000));
  read_with(named, 1, host(PHONE, 50700, 9100));
  /* Its 50000 bytes stay with its address's series: only the 700 it grew
   * since go to the name, so the new series starts without a spike. */
  ck_assert_uint_eq(rx_of("phone"), 700);
  ck_assert_uint_eq(instance("phone")->stats.traffic.tx.bytes, 100);
  ck_assert_ptr_null(instance(PHONE));
}
END_TEST

START_TEST(a_renamed_host_stops_its_old_instance_and_grows_the_new_one) {
  read_with(named, 1, host(PHONE, 1000, 200));
  read_with(renamed, 1, host(PHONE, 1500, 300));
  ck_assert_ptr_null(instance("phone"));
  ck_assert_uint_eq(rx_of("phone-of-ana"), 500);
  read_with(renamed, 1, host(PHONE, 1800, 300));
  ck_assert_uint_eq(rx_of("phone-of-ana"), 800);
}
END_TEST

START_TEST(across_renames_every_byte_is_counted_once) {
  read_with(unnamed, 1, host(PHONE, 1000, 0));
  uint64_t as_address = rx_of(PHONE);
  read_with(named, 1, host(PHONE, 1600, 0));
  uint64_t as_phone = rx_of("phone");
  read_with(renamed, 1, host(PHONE, 4000, 0));
  uint64_t as_ana = rx_of("phone-of-ana");
  ck_assert_uint_eq(as_address + as_phone + as_ana, 4000);
  ck_assert_uint_eq(rx_of("total"), 4000);
}
END_TEST

START_TEST(a_name_that_comes_back_continues_where_it_stopped) {
  read_with(named, 1, host(PHONE, 1000, 0));
  read_with(renamed, 1, host(PHONE, 1500, 0));
  read_with(named, 1, host(PHONE, 1600, 0));
  /* phone: 1000, then (while it was phone-of-ana) nothing, then 100. */
  ck_assert_uint_eq(rx_of("phone"), 1100);
  ck_assert_ptr_null(instance("phone-of-ana"));
}
END_TEST

START_TEST(a_host_dual_stack_only_later_adds_its_second_address_growth) {
  read_with(named, 1, host(LAPTOP, 1000, 0));
  read_with(named, 2, host(LAPTOP, 1200, 0), host(LAPTOP6, 300, 0));
  ck_assert_uint_eq(rx_of("laptop"), 1500);
}
END_TEST

START_TEST(idle_names_beyond_the_bound_are_forgotten_longest_idle_first) {
  /* The phone goes by one name after another, each used for one read,
   * until more are idle than the bound keeps. */
  char text[64];
  struct names *each[INSTANCES_IDLE_MIN + 2];
  for (size_t n = 0; n < INSTANCES_IDLE_MIN + 2; n++) {
    snprintf(text, sizeof(text), "phone-%zu", n);
    each[n] = names_new(record_log);
    ck_assert_int_eq(names_add(each[n], PHONE, text), 0);
    read_with(each[n], 1, host(PHONE, 100 * (n + 1), 0));
  }
  /* Back to the first name: forgotten, it starts again from its growth
   * (a counter reset for its writers, never a jump). */
  read_with(each[0], 1, host(PHONE, 100 * (INSTANCES_IDLE_MIN + 3), 0));
  ck_assert_uint_eq(rx_of("phone-0"), 100);
  /* The most recent idle name was kept: back to it, it goes on. */
  read_with(each[INSTANCES_IDLE_MIN + 1], 1,
            host(PHONE, 100 * (INSTANCES_IDLE_MIN + 4), 0));
  snprintf(text, sizeof(text), "phone-%d", INSTANCES_IDLE_MIN + 1);
  ck_assert_uint_eq(rx_of(text), 200);
  for (size_t n = 0; n < INSTANCES_IDLE_MIN + 2; n++)
    names_free(each[n]);
}
END_TEST

START_TEST(a_bucket_made_anew_counts_its_new_counters_whole) {
  read_with(unnamed, 1, host(PHONE, 1000, 0));
  read_with(unnamed, 0);
  read_with(unnamed, 1, host(PHONE, 300, 0));
  ck_assert_uint_eq(rx_of(PHONE), 1300);
}
END_TEST

START_TEST(hosts_that_move_in_the_report_keep_their_own_series) {
  /* A compaction (a host forgotten before them) moves buckets: instances
   * follow addresses, not positions. */
  read_with(named, 3, host(SERVER, 100, 0), host(PHONE, 1000, 0),
            host(LAPTOP, 5000, 0));
  read_with(named, 2, host(LAPTOP, 5200, 0), host(PHONE, 1030, 0));
  ck_assert_uint_eq(rx_of("phone"), 1030);
  ck_assert_uint_eq(rx_of("laptop"), 5200);
  ck_assert_ptr_null(instance(SERVER));
}
END_TEST

START_TEST(a_forgotten_host_s_series_end) {
  read_with(unnamed, 2, host(SERVER, 100, 0), host(PHONE, 1000, 0));
  read_with(unnamed, 1, host(PHONE, 1000, 0));
  ck_assert_ptr_null(instance(SERVER));
  ck_assert_uint_eq(dispatched(), 3);
}
END_TEST

static Suite *instances_suite(void) {
  Suite *s = suite_create("instances");

  TCase *which = tcase_create("which instance");
  tcase_add_checked_fixture(which, setup, teardown);
  tcase_add_test(which,
                 an_unnamed_host_goes_by_its_address_with_its_own_counters);
  tcase_add_test(which, total_and_other_go_by_themselves);
  tcase_add_test(which, a_named_host_goes_by_its_name_and_not_its_address);
  suite_add_tcase(s, which);

  TCase *dual = tcase_create("one name, two addresses");
  tcase_add_checked_fixture(dual, setup, teardown);
  tcase_add_test(dual, a_dual_stack_host_is_one_instance_with_the_sum_of_both);
  tcase_add_test(
      dual, gauges_of_a_dual_stack_host_are_this_reads_not_summed_over_reads);
  tcase_add_test(dual,
                 a_host_dual_stack_only_later_adds_its_second_address_growth);
  suite_add_tcase(s, dual);

  TCase *change = tcase_create("names that change");
  tcase_add_checked_fixture(change, setup, teardown);
  tcase_add_test(change,
                 a_name_given_to_a_host_already_counted_counts_from_then_on);
  tcase_add_test(change,
                 a_renamed_host_stops_its_old_instance_and_grows_the_new_one);
  tcase_add_test(change, across_renames_every_byte_is_counted_once);
  tcase_add_test(change, a_name_that_comes_back_continues_where_it_stopped);
  tcase_add_test(change,
                 idle_names_beyond_the_bound_are_forgotten_longest_idle_first);
  tcase_add_test(change, a_bucket_made_anew_counts_its_new_counters_whole);
  tcase_add_test(change, hosts_that_move_in_the_report_keep_their_own_series);
  tcase_add_test(change, a_forgotten_host_s_series_end);
  suite_add_tcase(s, change);
  return s;
}

int main(void) { return run_suite(instances_suite()); }
