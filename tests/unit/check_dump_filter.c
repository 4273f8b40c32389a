/* check_dump_filter.c: the filters ctflow puts into its dump request are
 * applied by the kernel itself. Each test loads three entries into the
 * table of a fresh network namespace of its own (namespaces.h) and counts
 * the messages the kernel sent for a dump, before any user-space check:
 *
 *   TCP  10.0.0.1:1000 > 10.0.0.2:80     mark 0x1  zone 1
 *   UDP  10.0.0.1:1001 > 10.0.0.2:53     mark 0x2  zone 2
 *   UDP  2001:db8::1:1002 > 2001:db8::2:53  mark 0x2  zone 2
 *
 * Needs root, nf_conntrack and nf_conntrack_netlink. */
#include "namespaces.h"

#include <sys/socket.h>

#include "ctnetlink.h"
#include "entries.h"
#include "kernel_table.h"
#include "netns.h"

static struct ctnetlink ct;
static struct kernel_filter filter; /* what the dump asks of the kernel */
static int table;

static void setup(void) {
  table = netns_fresh();
  int saved;
  ck_assert_int_eq(netns_enter(table, &saved), 0);
  close(saved);
  table_load(&(struct table_tuple){AF_INET, IPPROTO_TCP, "10.0.0.1", "10.0.0.2",
                                   1000, 80},
             0x1, 1);
  table_load(&(struct table_tuple){AF_INET, IPPROTO_UDP, "10.0.0.1", "10.0.0.2",
                                   1001, 53},
             0x2, 2);
  table_load(&(struct table_tuple){AF_INET6, IPPROTO_UDP, "2001:db8::1",
                                   "2001:db8::2", 1002, 53},
             0x2, 2);
  memset(&ct, 0, sizeof(ct));
  filter = (struct kernel_filter){0};
  ck_assert_int_eq(ctnetlink_open(&ct, -1), 0);
}

static void teardown(void) {
  ctnetlink_close(&ct);
  close(table);
}

struct sent {
  unsigned entries, filtered; /* filtered: flagged NLM_F_DUMP_FILTERED */
};

static int count(const struct nlmsghdr *nlh, void *arg) {
  struct sent *sent = arg;
  sent->entries++;
  if (nlh->nlmsg_flags & NLM_F_DUMP_FILTERED)
    sent->filtered++;
  return MNL_CB_OK;
}

/* Returns what the kernel sent for one table dump with ct's filters. */
static struct sent dump(void) {
  struct sent sent = {0};
  ck_assert_msg(ctnetlink_dump(&ct, &filter, NULL, count, &sent) == 0,
                "dump: %s", strerror(errno));
  return sent;
}

START_TEST(an_unfiltered_dump_brings_every_entry) {
  ck_assert_uint_eq(dump().entries, 3);
}
END_TEST

START_TEST(the_kernel_sends_only_entries_of_the_mark) {
  filter.by_mark = true;
  filter.mark = (struct mark_match){.value = 0x1, .mask = 0xffffffff};
  struct sent sent = dump();
  ck_assert_uint_eq(sent.entries, 1);
  ck_assert_uint_eq(sent.filtered, 1);
}
END_TEST

START_TEST(the_kernel_sends_only_entries_of_the_zone) {
  filter.by_zone = true;
  filter.zone = 1;
  struct sent sent = dump();
  ck_assert_uint_eq(sent.entries, 1);
  ck_assert_uint_eq(sent.filtered, 1);
}
END_TEST

START_TEST(the_kernel_sends_only_entries_of_the_protocol) {
  filter.by_protocol = true;
  filter.protocol = IPPROTO_TCP;
  struct sent sent = dump();
  ck_assert_uint_eq(sent.entries, 1);
  ck_assert_uint_eq(sent.filtered, 1);
}
END_TEST

/* One dump per family: the IPv6 entry comes too. */
START_TEST(a_dump_by_protocol_brings_both_families) {
  filter.by_protocol = true;
  filter.protocol = IPPROTO_UDP;
  struct sent sent = dump();
  ck_assert_uint_eq(sent.entries, 2);
  ck_assert_uint_eq(sent.filtered, 2);
}
END_TEST

START_TEST(the_kernel_ands_protocol_zone_and_mark) {
  filter.by_protocol = true;
  filter.protocol = IPPROTO_UDP;
  filter.by_zone = true;
  filter.zone = 1;
  filter.by_mark = true;
  filter.mark = (struct mark_match){.value = 0x2, .mask = 0xffffffff};
  ck_assert_uint_eq(dump().entries, 0);
}
END_TEST

static Suite *dump_filter_suite(void) {
  Suite *s = suite_create("dump_filter");
  TCase *k = tcase_create("kernel");
  tcase_add_checked_fixture(k, setup, teardown);
  tcase_add_test(k, an_unfiltered_dump_brings_every_entry);
  tcase_add_test(k, the_kernel_sends_only_entries_of_the_mark);
  tcase_add_test(k, the_kernel_sends_only_entries_of_the_zone);
  tcase_add_test(k, the_kernel_sends_only_entries_of_the_protocol);
  tcase_add_test(k, a_dump_by_protocol_brings_both_families);
  tcase_add_test(k, the_kernel_ands_protocol_zone_and_mark);
  suite_add_tcase(s, k);
  return s;
}

int main(void) { return run_suite(dump_filter_suite()); }
