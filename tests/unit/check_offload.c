/* check_offload.c: entries a flowtable has taken over (IPS_OFFLOAD, and
 * IPS_HW_OFFLOAD for a device's), through ct_parse and the accounting as a
 * dump brings them. The kernel here is built without CONFIG_NF_FLOW_TABLE,
 * so no entry can be offloaded for real: the messages are ones captured
 * from it (tests/fixtures) with the status bit set in a copy. */
#include <arpa/inet.h>
#include <check.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/linux_nf_conntrack_common.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <string.h>

#include "accounting.h"
#include "ct_parse.h"
#include "entries.h"
#include "fixture.h"
#include "logs.h"

/* 10.77.0.1 -> 10.77.0.2 (both in the default LocalNetwork: "other"); the
 * kernel listed orig 2 packets, 112 bytes. */
#define TCP4 "ipv4-tcp-established.bin"
#define TCP4_ORIG_BYTES 112
#define TCP6 "ipv6-tcp-established.bin"
#define UDP4 "ipv4-udp.bin"

static struct localnet local;
static struct accounting accounting;

static void setup(void) {
  localnet_set_default(&local);
  struct accounting_settings settings = {
      .local = &local, .hosts = {.max_hosts = 4096}, .log = record_log};
  ck_assert_int_eq(accounting_init(&accounting, &settings), 0);
  logs_clear();
}

static void teardown(void) { accounting_free(&accounting); }

/* Returns the entry of fixture name with extra IPS_* bits added to the
 * status the kernel sent: CTA_STATUS is a big-endian u32. */
static struct ct_entry entry_with_status(const char *name, uint32_t extra) {
  size_t len;
  struct nlmsghdr *nlh = fixture_load(name, &len);
  struct nlattr *attr;
  bool found = false;
  mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
    if (mnl_attr_get_type(attr) != CTA_STATUS)
      continue;
    uint32_t status = ntohl(mnl_attr_get_u32(attr)) | extra;
    uint32_t wire = htonl(status);
    memcpy(mnl_attr_get_payload(attr), &wire, sizeof(wire));
    found = true;
  }
  ck_assert_msg(found, "%s has no CTA_STATUS", name);
  struct ct_entry e;
  ck_assert_int_eq(ct_parse(nlh, len, &e), 0);
  free(nlh);
  return e;
}

/* One whole read whose dump returned n entries. */
static void read_entries(const struct ct_entry *entries, size_t n) {
  accounting_begin_read(&accounting, false);
  for (size_t i = 0; i < n; i++)
    accounting_add(&accounting, &entries[i]);
  accounting_end_read(&accounting, true);
}

START_TEST(an_offloaded_entry_parses_with_ips_offload) {
  struct ct_entry e = entry_with_status(TCP4, IPS_OFFLOAD);
  ck_assert_uint_eq(e.status & IPS_OFFLOAD, IPS_OFFLOAD);
  ck_assert_uint_eq(e.status & IPS_ASSURED, IPS_ASSURED); /* kept */
}
END_TEST

START_TEST(an_offloaded_entry_is_counted_as_offloaded) {
  struct ct_entry e[] = {entry_with_status(TCP4, IPS_OFFLOAD)};
  read_entries(e, 1);
  ck_assert_uint_eq(accounting.table.offloaded, 1);
}
END_TEST

START_TEST(a_hardware_offloaded_entry_is_counted_once_as_offloaded) {
  struct ct_entry e[] = {
      entry_with_status(TCP4, IPS_OFFLOAD | IPS_HW_OFFLOAD),
      entry_with_status(TCP6, IPS_HW_OFFLOAD),
  };
  read_entries(e, 2);
  ck_assert_uint_eq(accounting.table.offloaded, 2);
}
END_TEST

START_TEST(an_entry_the_kernel_tracks_itself_is_not_offloaded) {
  struct ct_entry e[] = {entry_with_status(TCP4, 0),
                         entry_with_status(UDP4, 0)};
  read_entries(e, 2);
  ck_assert_uint_eq(accounting.table.offloaded, 0);
}
END_TEST

START_TEST(offloaded_entries_are_those_of_the_last_read) {
  struct ct_entry offloaded[] = {entry_with_status(TCP4, IPS_OFFLOAD),
                                 entry_with_status(TCP6, IPS_OFFLOAD)};
  struct ct_entry back[] = {entry_with_status(TCP4, 0),
                            entry_with_status(TCP6, IPS_OFFLOAD)};
  read_entries(offloaded, 2);
  read_entries(back, 2);
  ck_assert_uint_eq(accounting.table.offloaded, 1);
}
END_TEST

START_TEST(an_offloaded_entry_returned_twice_in_one_read_counts_once) {
  struct ct_entry e = entry_with_status(TCP4, IPS_OFFLOAD);
  struct ct_entry twice[] = {e, e};
  read_entries(twice, 2);
  ck_assert_uint_eq(accounting.table.offloaded, 1);
}
END_TEST

START_TEST(an_offloaded_entry_is_a_connection_with_its_bytes_counted) {
  struct ct_entry e[] = {entry_with_status(TCP4, IPS_OFFLOAD)};
  read_entries(NULL, 0); /* the first read: an empty table */
  read_entries(e, 1);
  struct host_stats *total = hosts_total(&accounting.hosts);
  ck_assert_uint_eq(total->connections[PROTO_TCP], 1);
  ck_assert_uint_eq(total->traffic.tx.bytes, TCP4_ORIG_BYTES);
}
END_TEST

START_TEST(offloaded_entries_bring_one_warning_naming_the_counter_flag) {
  struct ct_entry e[] = {entry_with_status(TCP4, IPS_OFFLOAD),
                         entry_with_status(TCP6, IPS_OFFLOAD)};
  read_entries(e, 2);
  read_entries(e, 2);
  ck_assert_int_eq(logs, 1);
  ck_assert_int_eq(logged(LOG_WARNING, "flowtable", "counter flag"), 1);
}
END_TEST

START_TEST(entries_not_offloaded_bring_no_warning) {
  struct ct_entry e[] = {entry_with_status(TCP4, 0)};
  read_entries(e, 1);
  ck_assert_int_eq(logs, 0);
}
END_TEST

static Suite *offload_suite(void) {
  Suite *s = suite_create("offload");
  TCase *tc = tcase_create("flowtable offload");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, an_offloaded_entry_parses_with_ips_offload);
  tcase_add_test(tc, an_offloaded_entry_is_counted_as_offloaded);
  tcase_add_test(tc, a_hardware_offloaded_entry_is_counted_once_as_offloaded);
  tcase_add_test(tc, an_entry_the_kernel_tracks_itself_is_not_offloaded);
  tcase_add_test(tc, offloaded_entries_are_those_of_the_last_read);
  tcase_add_test(tc, an_offloaded_entry_returned_twice_in_one_read_counts_once);
  tcase_add_test(tc, an_offloaded_entry_is_a_connection_with_its_bytes_counted);
  tcase_add_test(tc,
                 offloaded_entries_bring_one_warning_naming_the_counter_flag);
  tcase_add_test(tc, entries_not_offloaded_bring_no_warning);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(offload_suite()); }
