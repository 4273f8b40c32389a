/* check_accounting.c: the accounting rules ("every byte once") and host
 * rules (docs/DESIGN.md, "Counting rules"), driven read by read through
 * accounting_begin_read(), accounting_add() and accounting_end_read(), and
 * DESTROY events through accounting_end(), with synthetic entries. */
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <libnetfilter_conntrack/linux_nf_conntrack_common.h>

#include "accounting.h"
#include "host_select.h"
#include "entries.h"
#include "logs.h"

static struct localnet local;
static struct accounting acct;
/* What start() tells the accounting: MaxHosts 4096 and nothing else set,
 * unless a test sets more. */
static struct accounting_settings settings;
/* Whether the reads get DESTROY events (begin_read()). */
static bool events;

/* The café's usual entries: the laptop browsing (masqueraded), the phone
 * asking the resolver, a visitor on the port-forwarded server. Counters
 * start at zero; each test sets what they carry read by read. */
static struct ct_entry web, dns, forward;
/* Protocol, Zone, Mark; Host, IgnoreSelected (tests that set them). */
static struct entry_filter filter;
static struct host_select *selection;

/* Starts the accounting over, told settings. */
static void start(void) {
  accounting_free(&acct);
  ck_assert_int_eq(accounting_init(&acct, &settings), 0);
}

static void setup(void) {
  filter = (struct entry_filter){0};
  localnet_cafe(&local);
  settings = (struct accounting_settings){
      .local = &local, .hosts = {.max_hosts = 4096}, .log = record_log};
  events = false;
  start();
  logs_clear();
  entry_browsing(&web, 1);
  entry_udp(&dns, PHONE, 5353, RESOLVER, 53);
  dns.id = 2;
  entry_port_forward(&forward, 3);
}

static void teardown(void) {
  accounting_free(&acct);
  host_select_free(selection);
  selection = NULL;
}

static void begin_read(void) { accounting_begin_read(&acct, events); }

/* Runs one read whose dump returns the entries listed (up to END_OF_DUMP),
 * and ends it when the dump was whole. (int: va_start wants a type that
 * argument promotion leaves alone.) */
static void dump(int whole, ...) {
  va_list ap;
  va_start(ap, whole);
  begin_read();
  for (const struct ct_entry *e; (e = va_arg(ap, const struct ct_entry *));)
    accounting_add(&acct, e);
  va_end(ap);
  if (whole)
    accounting_end_read(&acct, true);
}
#define END_OF_DUMP ((const struct ct_entry *)NULL)
/* read_whole(&a, &b): a read whose dump returned a and b. */
#define read_whole(...) dump(1, ##__VA_ARGS__, END_OF_DUMP)
/* read_cut_short(&a): a read whose dump returned a, then failed. */
#define read_cut_short(...) dump(0, ##__VA_ARGS__, END_OF_DUMP)

/* Returns the bucket the reads gave the local host text names. */
static struct host_stats *host(const char *text) {
  size_t buckets = acct.hosts.count;
  union ct_addr addr = addr_of(text);
  struct host_stats *b = hosts_find(&acct.hosts, family_of(text), &addr);
  ck_assert_msg(acct.hosts.count == buckets && b->kind == BUCKET_HOST,
                "%s has no bucket of its own", text);
  return b;
}

static struct host_stats *total(void) { return hosts_total(&acct.hosts); }
static struct host_stats *other(void) { return hosts_other(&acct.hosts); }

static void assert_sent(const struct host_stats *b, uint64_t packets,
                        uint64_t bytes) {
  ck_assert_uint_eq(b->traffic.tx.packets, packets);
  ck_assert_uint_eq(b->traffic.tx.bytes, bytes);
}

static void assert_received(const struct host_stats *b, uint64_t packets,
                            uint64_t bytes) {
  ck_assert_uint_eq(b->traffic.rx.packets, packets);
  ck_assert_uint_eq(b->traffic.rx.bytes, bytes);
}

/* Accounting rule 1 */

START_TEST(what_entries_carried_before_the_first_read_is_not_counted) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  assert_sent(host(LAPTOP), 0, 0);
  assert_received(host(LAPTOP), 0, 0);
  assert_sent(total(), 0, 0);
  assert_received(total(), 0, 0);
}
END_TEST

START_TEST(what_entries_carry_after_the_first_read_is_counted) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  entry_counters(&web, 14, 5600, 12, 52000);
  read_whole(&web);
  assert_sent(host(LAPTOP), 14 - 10, 5600 - 5000);
  assert_received(host(LAPTOP), 12 - 8, 52000 - 40000);
}
END_TEST

START_TEST(entries_of_the_first_read_are_connections_but_none_began) {
  read_whole(&web, &dns);
  ck_assert_uint_eq(host(LAPTOP)->connections[PROTO_TCP], 1);
  ck_assert_uint_eq(host(PHONE)->connections[PROTO_UDP], 1);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 0);
  ck_assert_uint_eq(host(PHONE)->new_connections, 0);
  ck_assert_uint_eq(total()->new_connections, 0);
}
END_TEST

/* Accounting rule 2 */

START_TEST(an_entry_seen_in_consecutive_reads_adds_each_read_s_growth) {
  entry_counters(&web, 1, 100, 1, 1000);
  read_whole(&web);
  entry_counters(&web, 5, 700, 6, 9000);
  read_whole(&web);
  assert_sent(host(LAPTOP), 5 - 1, 700 - 100);
  assert_received(host(LAPTOP), 6 - 1, 9000 - 1000);
  entry_counters(&web, 9, 1000, 10, 20000);
  read_whole(&web);
  assert_sent(host(LAPTOP), 9 - 1, 1000 - 100);
  assert_received(host(LAPTOP), 10 - 1, 20000 - 1000);
}
END_TEST

START_TEST(an_entry_that_appears_after_the_first_read_is_counted_whole) {
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  read_whole(&web);
  assert_sent(host(LAPTOP), 3, 180);
  assert_received(host(LAPTOP), 2, 1500);
}
END_TEST

START_TEST(an_entry_that_appears_after_the_first_read_began_since_start) {
  read_whole(&dns);
  read_whole(&dns, &web);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
  ck_assert_uint_eq(host(PHONE)->new_connections, 0);
  ck_assert_uint_eq(total()->new_connections, 1);
}
END_TEST

START_TEST(a_connection_begins_once_however_many_reads_see_it) {
  read_whole();
  read_whole(&web);
  read_whole(&web);
  read_whole(&web);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
  ck_assert_uint_eq(total()->new_connections, 1);
}
END_TEST

/* Accounting rule 4 */

START_TEST(an_entry_returned_twice_in_one_read_is_one_connection) {
  read_whole();
  read_whole(&web, &web);
  ck_assert_uint_eq(host(LAPTOP)->connections[PROTO_TCP], 1);
  ck_assert_uint_eq(total()->connections[PROTO_TCP], 1);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
  ck_assert_uint_eq(total()->new_connections, 1);
}
END_TEST

START_TEST(an_entry_returned_twice_in_one_read_counts_its_bytes_once) {
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  read_whole(&web, &web);
  assert_sent(host(LAPTOP), 3, 180);
  assert_received(host(LAPTOP), 2, 1500);
  assert_sent(total(), 3, 180);
}
END_TEST

START_TEST(
    an_entry_that_grew_between_its_two_returns_counts_its_last_counters) {
  struct ct_entry again;
  entry_browsing(&again, web.id);
  entry_counters(&web, 3, 180, 2, 1500);
  entry_counters(&again, 4, 240, 3, 2100);
  read_whole();
  read_whole(&web, &again);
  assert_sent(host(LAPTOP), 4, 240);
  assert_received(host(LAPTOP), 3, 2100);
  ck_assert_uint_eq(host(LAPTOP)->connections[PROTO_TCP], 1);
}
END_TEST

START_TEST(an_id_reused_with_another_tuple_is_a_new_flow) {
  /* The web entry ends; the kernel hands its ID to the phone's query. */
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  dns.id = web.id;
  entry_counters(&dns, 20, 9000, 30, 50000);
  read_whole(&dns);
  assert_sent(host(PHONE), 20, 9000);
  assert_received(host(PHONE), 30, 50000);
  ck_assert_uint_eq(host(PHONE)->new_connections, 1);
}
END_TEST

START_TEST(the_same_id_and_tuple_in_two_zones_are_two_connections) {
  struct ct_entry zoned;
  entry_browsing(&zoned, web.id);
  zoned.zone = 1;
  entry_counters(&web, 3, 180, 2, 1500);
  entry_counters(&zoned, 1, 60, 1, 500);
  read_whole();
  read_whole(&web, &zoned);
  ck_assert_uint_eq(host(LAPTOP)->connections[PROTO_TCP], 2);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 2);
  assert_sent(host(LAPTOP), 3 + 1, 180 + 60);
  assert_received(host(LAPTOP), 2 + 1, 1500 + 500);
}
END_TEST

/* Accounting rule 5 */

START_TEST(a_counter_that_goes_down_was_reset_and_its_new_value_is_growth) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  entry_counters(&web, 12, 6000, 9, 44000);
  read_whole(&web);
  entry_counters(&web, 1, 300, 2, 800); /* conntrack -L -z, then traffic */
  read_whole(&web);
  assert_sent(host(LAPTOP), (12 - 10) + 1, (6000 - 5000) + 300);
  assert_received(host(LAPTOP), (9 - 8) + 2, (44000 - 40000) + 800);
}
END_TEST

/* Accounting rule 6 */

START_TEST(entries_without_counters_count_as_connections) {
  web.has_counters = false;
  read_whole();
  read_whole(&web);
  ck_assert_uint_eq(host(LAPTOP)->connections[PROTO_TCP], 1);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
  ck_assert_uint_eq(total()->connections[PROTO_TCP], 1);
}
END_TEST

START_TEST(entries_without_counters_add_no_bytes) {
  dns.has_counters = false;
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  read_whole(&web, &dns);
  read_whole(&web, &dns);
  assert_sent(host(PHONE), 0, 0);
  assert_received(host(PHONE), 0, 0);
  assert_sent(total(), 3, 180);
  assert_received(total(), 2, 1500);
}
END_TEST

START_TEST(entries_without_counters_bring_one_warning_naming_the_sysctl) {
  web.has_counters = dns.has_counters = forward.has_counters = false;
  for (int i = 0; i < 3; i++)
    read_whole(&web, &dns, &forward);
  ck_assert_int_eq(logs, 1);
  ck_assert_int_eq(log_priority, LOG_WARNING);
  ck_assert_ptr_nonnull(strstr(last_log, "net.netfilter.nf_conntrack_acct"));
}
END_TEST

/* EnableAccounting set nf_conntrack_acct=1: entries without counters are
 * older than that, and there is nothing for the user to set. */
START_TEST(after_enable_accounting_entries_without_counters_bring_a_notice) {
  accounting_set_acct_enabled(&acct);
  web.has_counters = dns.has_counters = false;
  for (int i = 0; i < 3; i++)
    read_whole(&web, &dns);
  ck_assert_int_eq(logs, 1);
  ck_assert_int_eq(log_priority, LOG_NOTICE);
  ck_assert_ptr_nonnull(strstr(last_log, "EnableAccounting"));
}
END_TEST

START_TEST(entries_with_counters_bring_no_warning) {
  read_whole(&web, &dns, &forward);
  read_whole(&web, &dns, &forward);
  ck_assert_int_eq(logs, 0);
}
END_TEST

/* Entries that leave the table, and reads that fail */

START_TEST(an_entry_missing_from_a_whole_read_is_forgotten) {
  read_whole(&web, &dns);
  ck_assert_uint_eq(flowtable_count(acct.flows), 2);
  read_whole(&dns);
  ck_assert_uint_eq(flowtable_count(acct.flows), 1);
}
END_TEST

START_TEST(an_entry_that_vanished_and_reappears_is_counted_as_new) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  read_whole();
  entry_counters(&web, 12, 5200, 9, 40500);
  read_whole(&web);
  assert_sent(host(LAPTOP), 12, 5200);
  assert_received(host(LAPTOP), 9, 40500);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
}
END_TEST

START_TEST(a_read_cut_short_forgets_nothing) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  read_cut_short();
  ck_assert_uint_eq(flowtable_count(acct.flows), 1);
  entry_counters(&web, 12, 5600, 9, 41000);
  read_whole(&web);
  assert_sent(host(LAPTOP), 12 - 10, 5600 - 5000);
  assert_received(host(LAPTOP), 9 - 8, 41000 - 40000);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 0);
}
END_TEST

START_TEST(what_a_read_cut_short_returned_is_counted_once) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  entry_counters(&web, 11, 5300, 8, 40400);
  read_cut_short(&web);
  assert_sent(host(LAPTOP), 11 - 10, 5300 - 5000);
  entry_counters(&web, 12, 5600, 9, 41000);
  read_whole(&web);
  assert_sent(host(LAPTOP), 12 - 10, 5600 - 5000);
  assert_received(host(LAPTOP), 9 - 8, 41000 - 40000);
}
END_TEST

START_TEST(reads_go_on_counting_as_the_read_generation_wraps) {
  acct.gen = UINT32_MAX - 1;
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  entry_counters(&web, 12, 5600, 9, 41000);
  read_whole(&web);
  entry_counters(&web, 13, 5800, 10, 41500);
  read_whole(&web);
  assert_sent(host(LAPTOP), 13 - 10, 5800 - 5000);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 0);
  ck_assert_uint_eq(host(LAPTOP)->connections[PROTO_TCP], 1);
}
END_TEST

/* Host rules */

START_TEST(an_outbound_host_sends_the_original_direction) {
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  read_whole(&web);
  assert_sent(host(LAPTOP), 3, 180);
  assert_received(host(LAPTOP), 2, 1500);
}
END_TEST

START_TEST(a_port_forwarded_server_sends_the_reply_direction) {
  read_whole();
  entry_counters(&forward, 5, 400, 6, 9000);
  read_whole(&forward);
  assert_sent(host(SERVER), 6, 9000);
  assert_received(host(SERVER), 5, 400);
}
END_TEST

START_TEST(local_to_local_and_remote_to_remote_go_to_other_orig_as_tx) {
  struct ct_entry lan, transit;
  entry_tcp(&lan, LAPTOP, 50000, SERVER, 445);
  lan.id = 4;
  entry_tcp(&transit, VISITOR, 40000, ROUTER_WAN, 22);
  transit.id = 5;
  read_whole();
  entry_counters(&lan, 7, 700, 5, 5000);
  entry_counters(&transit, 2, 200, 3, 300);
  read_whole(&lan, &transit);
  assert_sent(other(), 7 + 2, 700 + 200);
  assert_received(other(), 5 + 3, 5000 + 300);
  ck_assert_uint_eq(other()->connections[PROTO_TCP], 2);
  ck_assert_uint_eq(acct.hosts.count, 2); /* no host got a bucket */
}
END_TEST

START_TEST(an_ipv6_host_counts_like_an_ipv4_one) {
  struct ct_entry web6;
  entry_tcp(&web6, LAPTOP6, 51234, WEB6, 443);
  read_whole();
  entry_counters(&web6, 4, 400, 5, 6000);
  read_whole(&web6);
  assert_sent(host(LAPTOP6), 4, 400);
  assert_received(host(LAPTOP6), 5, 6000);
  ck_assert_uint_eq(host(LAPTOP6)->new_connections, 1);
}
END_TEST

START_TEST(total_counts_every_entry_from_its_host_s_side) {
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  entry_counters(&forward, 5, 400, 6, 9000);
  read_whole(&web, &forward);
  assert_sent(total(), 3 + 6, 180 + 9000);
  assert_received(total(), 2 + 5, 1500 + 400);
}
END_TEST

START_TEST(total_is_the_sum_of_the_hosts_and_other) {
  struct ct_entry mix[8];
  entry_browsing(&mix[0], 10);
  entry_port_forward(&mix[1], 11);
  entry_udp(&mix[2], PHONE, 5353, RESOLVER, 53);
  entry_tcp(&mix[3], LAPTOP, 50000, SERVER, 445);
  entry_tcp(&mix[4], VISITOR, 40000, ROUTER_WAN, 22);
  entry_tcp(&mix[5], LAPTOP6, 51234, WEB6, 443);
  entry_ping(&mix[6], PHONE, RESOLVER, 9);
  entry_ping(&mix[7], VISITOR6, PHONE6, 9);
  for (uint32_t i = 0; i < 8; i++) {
    mix[i].id = 10 + i;
    entry_counters(&mix[i], i, 100 * i, 2 * i, 1000 * i);
  }
  read_whole(&mix[0], &mix[1], &mix[2], &mix[3]);
  for (uint32_t i = 0; i < 8; i++)
    entry_counters(&mix[i], 3 * i + 1, 300 * i + 60, 5 * i + 1, 4000 * i + 90);
  read_whole(&mix[0], &mix[1], &mix[2], &mix[3], &mix[4], &mix[5], &mix[6],
             &mix[7]);
  struct host_stats sum = {0};
  for (size_t i = 1; i < acct.hosts.count; i++) {
    const struct host_stats *b = &acct.hosts.buckets[i];
    sum.traffic.tx.bytes += b->traffic.tx.bytes;
    sum.traffic.tx.packets += b->traffic.tx.packets;
    sum.traffic.rx.bytes += b->traffic.rx.bytes;
    sum.traffic.rx.packets += b->traffic.rx.packets;
    sum.new_connections += b->new_connections;
    for (int c = 0; c < PROTO_CLASSES; c++)
      sum.connections[c] += b->connections[c];
  }
  assert_sent(total(), sum.traffic.tx.packets, sum.traffic.tx.bytes);
  assert_received(total(), sum.traffic.rx.packets, sum.traffic.rx.bytes);
  ck_assert_uint_eq(total()->new_connections, sum.new_connections);
  for (int c = 0; c < PROTO_CLASSES; c++)
    ck_assert_uint_eq(total()->connections[c], sum.connections[c]);
  /* And every byte once: the growth of all eight, both directions. */
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < 8; i++)
    bytes += i < 4 ? (200 * i + 60) + (3000 * i + 90)
                   : (300 * i + 60) + (4000 * i + 90);
  ck_assert_uint_eq(total()->traffic.tx.bytes + total()->traffic.rx.bytes,
                    bytes);
}
END_TEST

/* MaxHosts */

/* Reads the laptop browsing and the port forward twice, when the laptop
 * has a bucket of its own and the server does not: the server's entry
 * goes to other, where host rule 3 counts the original direction as tx,
 * whoever's entry it is; the entry is inbound, so this differs from how
 * the server's own bucket would count it. */
static void assert_server_in_other_with_orig_as_tx(void) {
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  entry_counters(&forward, 5, 400, 6, 9000);
  read_whole(&web, &forward);
  assert_sent(host(LAPTOP), 3, 180);
  assert_sent(other(), 5, 400);
  assert_received(other(), 6, 9000);
  ck_assert_uint_eq(other()->connections[PROTO_TCP], 1);
  ck_assert_uint_eq(acct.hosts.count, 3);
}

START_TEST(a_host_beyond_max_hosts_goes_to_other_with_orig_as_tx) {
  settings.hosts.max_hosts = 1;
  start();
  assert_server_in_other_with_orig_as_tx();
}
END_TEST

START_TEST(max_hosts_0_sends_every_host_to_other) {
  settings.hosts.max_hosts = 0;
  start();
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  read_whole(&web, &dns);
  assert_sent(other(), 3, 180);
  assert_received(other(), 2, 1500);
  ck_assert_uint_eq(other()->connections[PROTO_TCP], 1);
  ck_assert_uint_eq(other()->connections[PROTO_UDP], 1);
  ck_assert_uint_eq(acct.hosts.count, 2);
}
END_TEST

/* MaxNewHosts and the IPv6 share */

/* One whole read whose dump returns the n entries of es. */
static void read_all(const struct ct_entry *es, size_t n) {
  begin_read();
  for (size_t i = 0; i < n; i++)
    accounting_add(&acct, &es[i]);
  accounting_end_read(&acct, true);
}

/* Returns the number of hosts of family with a bucket of their own. */
static size_t hosts_of(uint8_t family) {
  size_t n = 0;
  for (size_t i = 2; i < acct.hosts.count; i++)
    n += acct.hosts.buckets[i].family == family;
  return n;
}

/* Fills es[0..n) with pings to the web from n hosts of the café's LAN of
 * family (AF_INET: .1 to .n; AF_INET6: ::1 to ::n), IDs from first_id. */
static void pings_from_hosts(struct ct_entry *es, size_t n, uint8_t family,
                             uint32_t first_id) {
  char host[64];
  for (size_t i = 0; i < n; i++) {
    if (family == AF_INET6)
      snprintf(host, sizeof(host), "2001:db8:1::%zx", i + 1);
    else
      snprintf(host, sizeof(host), "192.168.1.%zu", i + 1);
    entry_ping(&es[i], host, family == AF_INET6 ? WEB6 : WEB, 7);
    es[i].id = first_id + (uint32_t)i;
  }
}

START_TEST(the_first_read_gives_every_host_in_the_table_a_bucket) {
  settings.hosts.max_new = 1;
  start();
  read_whole(&web, &dns);
  ck_assert_uint_eq(acct.hosts.count, 2 + 2);
  struct ct_entry pings[2];
  entry_ping(&pings[0], LAPTOP6, WEB6, 7);
  entry_ping(&pings[1], PHONE6, WEB6, 7);
  pings[1].id = 8;
  read_whole(&web, &dns, &pings[0], &pings[1]);
  ck_assert_uint_eq(acct.hosts.count, 2 + 2 + 1);
}
END_TEST

/* The server's port-forward entry is inbound: in its own bucket the reply
 * direction is what it sends; in other, host rule 3 makes the original
 * direction tx. */
START_TEST(a_host_deferred_by_max_new_counts_in_other_until_a_later_read) {
  settings.hosts.max_new = 1;
  start();
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  entry_counters(&forward, 5, 400, 6, 9000);
  read_whole(&web, &forward);
  ck_assert_uint_eq(acct.hosts.count, 2 + 1);
  assert_sent(other(), 5, 400);
  assert_received(other(), 6, 9000);
  ck_assert_uint_eq(acct.hosts.deferred, 1);
  entry_counters(&web, 4, 240, 3, 2000);
  entry_counters(&forward, 7, 500, 9, 12000);
  read_whole(&web, &forward);
  assert_sent(host(SERVER), 9 - 6, 12000 - 9000);
  assert_received(host(SERVER), 7 - 5, 500 - 400);
  assert_sent(other(), 5, 400);
  assert_sent(total(), 4 + 5 + 3, 240 + 400 + 3000);
  assert_received(total(), 3 + 6 + 2, 2000 + 9000 + 100);
}
END_TEST

/* The café's IPv4 LAN is a /24: its 256 addresses keep their places, and
 * IPv6 hosts, which come first here, get the rest. */
START_TEST(the_ipv4_networks_keep_their_room_from_ipv6_hosts) {
  static struct ct_entry es[345 + 254];
  settings.hosts.max_hosts = 600;
  start();
  pings_from_hosts(es, 345, AF_INET6, 1000);
  pings_from_hosts(es + 345, 254, AF_INET, 2000);
  read_all(es, 345 + 254);
  ck_assert_uint_eq(hosts_of(AF_INET6), 600 - 256);
  ck_assert_uint_eq(hosts_of(AF_INET), 254);
  ck_assert_uint_eq(other()->connections[PROTO_ICMP], 1);
}
END_TEST

START_TEST(with_the_default_networks_ipv6_hosts_hold_half_of_max_hosts) {
  struct ct_entry es[6];
  localnet_set_default(&local);
  settings.hosts.max_hosts = 8;
  start();
  for (size_t i = 0; i < 6; i++) {
    char host[64];
    snprintf(host, sizeof(host), "fd00::%zx", i + 1);
    entry_ping(&es[i], host, WEB6, 7);
    es[i].id = 10 + (uint32_t)i;
  }
  read_all(es, 6);
  ck_assert_uint_eq(hosts_of(AF_INET6), 4);
}
END_TEST

/* Selecting: Protocol, Zone, Mark drop entries; Host moves them */

START_TEST(an_entry_the_filter_leaves_out_is_counted_nowhere) {
  ck_assert_int_eq(filter_add_protocol(&filter, "udp"), 0);
  settings.filter = &filter;
  start();
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  entry_counters(&dns, 1, 60, 1, 120);
  read_whole(&web, &dns);
  assert_sent(host(PHONE), 1, 60);
  assert_sent(total(), 1, 60);
  assert_received(total(), 1, 120);
  assert_sent(other(), 0, 0);
  ck_assert_uint_eq(total()->connections[PROTO_TCP], 0);
  ck_assert_uint_eq(total()->connections[PROTO_UDP], 1);
  ck_assert_uint_eq(acct.table.tcp_states[TCP_CONNTRACK_ESTABLISHED], 0);
  ck_assert_uint_eq(acct.hosts.count, 3); /* total, other, the phone */
}
END_TEST

START_TEST(the_destroy_event_of_an_entry_the_filter_leaves_out_adds_nothing) {
  ck_assert_int_eq(filter_add_mark(&filter, "0x2a/0xff"), 0);
  settings.filter = &filter;
  start();
  dns.mark = 0x2a;
  read_whole(&web, &dns);
  entry_counters(&web, 3, 180, 2, 1500);
  entry_counters(&dns, 1, 60, 1, 120);
  accounting_end(&acct, &web);
  accounting_end(&acct, &dns);
  assert_sent(total(), 1, 60);
  assert_received(total(), 1, 120);
}
END_TEST

START_TEST(an_entry_that_comes_to_match_is_counted_whole_from_then) {
  /* The mark is set after the first packets (ct mark set in a later
   * rule, or by a daemon): until then ctflow never saw the entry. */
  ck_assert_int_eq(filter_add_mark(&filter, "7"), 0);
  settings.filter = &filter;
  start();
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  read_whole(&web);
  web.mark = 7;
  entry_counters(&web, 5, 300, 4, 3000);
  read_whole(&web);
  assert_sent(host(LAPTOP), 5, 300);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
}
END_TEST

/* Makes the selection of the Host texts given, up to NULL. (int: va_start
 * wants a type that argument promotion leaves alone.) */
static void select_hosts(int ignore_selected, ...) {
  va_list ap;
  selection = host_select_new();
  ck_assert_ptr_nonnull(selection);
  va_start(ap, ignore_selected);
  for (const char *t; (t = va_arg(ap, const char *));)
    ck_assert_int_eq(host_select_add(selection, t), 0);
  va_end(ap);
  host_select_ignore_selected(selection, ignore_selected != 0);
  settings.hosts.select = selection;
  start();
}

START_TEST(a_host_not_selected_goes_to_other_with_orig_as_tx) {
  select_hosts(false, LAPTOP, NULL);
  assert_server_in_other_with_orig_as_tx();
}
END_TEST

START_TEST(ignore_selected_sends_the_selected_hosts_to_other) {
  select_hosts(true, "/^192\\.168\\.1\\.2[0-9]$/", NULL);
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  entry_counters(&dns, 1, 60, 1, 120);
  read_whole(&web, &dns);
  assert_sent(host(PHONE), 1, 60);
  assert_sent(other(), 3, 180); /* the laptop, .23 */
  assert_received(other(), 2, 1500);
  ck_assert_uint_eq(acct.hosts.count, 3);
}
END_TEST

START_TEST(host_selection_keeps_total_the_sum_of_hosts_and_other) {
  select_hosts(false, "192.168.1.0/28", LAPTOP6, NULL);
  struct ct_entry v6;
  entry_tcp(&v6, LAPTOP6, 51234, WEB6, 443);
  v6.id = 9;
  read_whole();
  entry_counters(&web, 3, 180, 2, 1500);
  entry_counters(&dns, 1, 60, 1, 120);
  entry_counters(&forward, 5, 400, 6, 9000);
  entry_counters(&v6, 7, 700, 8, 8000);
  read_whole(&web, &dns, &forward, &v6);
  /* The server (.10) and the laptop's IPv6 address have their own. */
  assert_sent(host(SERVER), 6, 9000);
  assert_sent(host(LAPTOP6), 7, 700);
  uint64_t tx = 0, rx = 0;
  for (size_t i = 1; i < acct.hosts.count; i++)
    tx += acct.hosts.buckets[i].traffic.tx.bytes,
        rx += acct.hosts.buckets[i].traffic.rx.bytes;
  ck_assert_uint_eq(total()->traffic.tx.bytes, tx);
  ck_assert_uint_eq(total()->traffic.rx.bytes, rx);
  ck_assert_uint_eq(total()->traffic.tx.bytes + total()->traffic.rx.bytes,
                    180 + 1500 + 60 + 120 + 400 + 9000 + 700 + 8000);
}
END_TEST

START_TEST(the_destroy_event_of_a_host_not_selected_goes_to_other) {
  select_hosts(false, PHONE, NULL);
  read_whole(&web);
  entry_counters(&web, 3, 180, 2, 1500);
  accounting_end(&acct, &web);
  assert_sent(other(), 3, 180);
  assert_received(other(), 2, 1500);
}
END_TEST

/* Gauges */

START_TEST(connections_are_counted_by_protocol_class) {
  struct ct_entry ping, gre, ping6;
  entry_ping(&ping, PHONE, RESOLVER, 9);
  ping.id = 4;
  entry_flow(&gre, IPPROTO_GRE, PHONE, 0, VISITOR, 0);
  gre.id = 5;
  entry_ping(&ping6, LAPTOP6, WEB6, 9);
  ping6.id = 6;
  read_whole(&web, &dns, &ping, &gre, &ping6);
  const struct host_stats *phone = host(PHONE);
  ck_assert_uint_eq(phone->connections[PROTO_TCP], 0);
  ck_assert_uint_eq(phone->connections[PROTO_UDP], 1);
  ck_assert_uint_eq(phone->connections[PROTO_ICMP], 1);
  ck_assert_uint_eq(phone->connections[PROTO_OTHER], 1);
  ck_assert_uint_eq(host(LAPTOP6)->connections[PROTO_ICMP], 1);
  ck_assert_uint_eq(total()->connections[PROTO_TCP], 1);
  ck_assert_uint_eq(total()->connections[PROTO_UDP], 1);
  ck_assert_uint_eq(total()->connections[PROTO_ICMP], 2);
  ck_assert_uint_eq(total()->connections[PROTO_OTHER], 1);
}
END_TEST

START_TEST(connections_are_those_of_the_last_read) {
  read_whole(&web, &dns);
  read_whole(&web);
  ck_assert_uint_eq(host(LAPTOP)->connections[PROTO_TCP], 1);
  ck_assert_uint_eq(host(PHONE)->connections[PROTO_UDP], 0);
  ck_assert_uint_eq(total()->connections[PROTO_TCP], 1);
  ck_assert_uint_eq(total()->connections[PROTO_UDP], 0);
}
END_TEST

START_TEST(peers_are_the_distinct_remotes_of_a_host_s_entries) {
  struct ct_entry plain_web, lookup, phone_web;
  entry_tcp(&plain_web, LAPTOP, 51235, WEB, 80);
  plain_web.id = 4;
  entry_udp(&lookup, LAPTOP, 5353, RESOLVER, 53);
  lookup.id = 5;
  entry_tcp(&phone_web, PHONE, 40001, WEB, 443);
  phone_web.id = 6;
  read_whole(&web, &plain_web, &lookup, &phone_web);
  ck_assert_uint_eq(host(LAPTOP)->peers, 2); /* WEB, RESOLVER */
  ck_assert_uint_eq(host(PHONE)->peers, 1);
  ck_assert_uint_eq(total()->peers, 2);
}
END_TEST

START_TEST(a_port_forwarded_server_s_peer_is_the_visitor) {
  /* Were it the router's public address, total would count two peers. */
  struct ct_entry to_visitor;
  entry_tcp(&to_visitor, LAPTOP, 51236, VISITOR, 22);
  to_visitor.id = 4;
  read_whole(&forward, &to_visitor);
  ck_assert_uint_eq(host(SERVER)->peers, 1);
  ck_assert_uint_eq(total()->peers, 1);
}
END_TEST

START_TEST(tcp_entries_are_counted_by_state_once_each) {
  struct ct_entry closing;
  entry_tcp(&closing, LAPTOP, 51237, WEB, 443);
  closing.id = 4;
  closing.tcp_state = TCP_CONNTRACK_TIME_WAIT;
  read_whole(&web, &closing, &web, &dns);
  ck_assert_uint_eq(acct.table.tcp_states[TCP_CONNTRACK_ESTABLISHED], 1);
  ck_assert_uint_eq(acct.table.tcp_states[TCP_CONNTRACK_TIME_WAIT], 1);
  uint32_t all = 0;
  for (int s = 0; s < TCP_STATES; s++)
    all += acct.table.tcp_states[s];
  ck_assert_uint_eq(all, 2);
}
END_TEST

/* Accounting rule 3: DESTROY events */

/* The kernel's DESTROY event for entry e, with the counters e has now. */
static void ended(const struct ct_entry *e) { accounting_end(&acct, e); }

START_TEST(an_entry_that_ends_between_reads_adds_its_final_counters) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  entry_counters(&web, 14, 5600, 12, 52000);
  read_whole(&web);
  entry_counters(&web, 20, 6000, 30, 90000);
  ended(&web);
  assert_sent(host(LAPTOP), 20 - 10, 6000 - 5000);
  assert_received(host(LAPTOP), 30 - 8, 90000 - 40000);
  assert_sent(total(), 20 - 10, 6000 - 5000);
}
END_TEST

START_TEST(an_entry_that_begins_and_ends_between_reads_is_counted_whole) {
  read_whole(&dns);
  entry_counters(&web, 7, 900, 6, 7000);
  ended(&web);
  assert_sent(host(LAPTOP), 7, 900);
  assert_received(host(LAPTOP), 6, 7000);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
  ck_assert_uint_eq(total()->new_connections, 1);
}
END_TEST

START_TEST(an_entry_that_ends_before_the_first_read_is_not_counted) {
  entry_counters(&web, 7, 900, 6, 7000);
  ended(&web);
  read_whole(&dns);
  assert_sent(total(), 0, 0);
  assert_received(total(), 0, 0);
  ck_assert_uint_eq(total()->new_connections, 0);
}
END_TEST

START_TEST(a_dump_in_flight_that_still_returns_an_ended_entry_adds_nothing) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  entry_counters(&web, 12, 5200, 9, 41000);
  begin_read();
  ended(&web);
  accounting_add(&acct, &web); /* the dump had it before the event */
  accounting_end_read(&acct, true);
  assert_sent(host(LAPTOP), 12 - 10, 5200 - 5000);
  assert_received(host(LAPTOP), 9 - 8, 41000 - 40000);
  ck_assert_uint_eq(host(LAPTOP)->connections[PROTO_TCP], 0);
}
END_TEST

START_TEST(an_entry_that_began_and_ended_during_a_dump_is_counted_once) {
  read_whole();
  entry_counters(&web, 3, 300, 3, 3000);
  begin_read();
  ended(&web);
  accounting_add(&acct, &web);
  accounting_end_read(&acct, true);
  assert_sent(host(LAPTOP), 3, 300);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
}
END_TEST

/* The kernel marks an entry dying, sends its DESTROY event, then unlinks
 * it: a dump can return it in between. */
START_TEST(a_dying_entry_a_later_dump_returns_after_its_event_adds_nothing) {
  events = true;
  read_whole();
  entry_counters(&web, 3, 300, 3, 3000);
  begin_read();
  ended(&web);
  accounting_end_read(&acct, true); /* its tombstone goes */
  web.status |= IPS_DYING;
  read_whole(&web); /* the next dump, before the kernel unlinked it */
  assert_sent(host(LAPTOP), 3, 300);
  assert_received(host(LAPTOP), 3, 3000);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
  ck_assert_uint_eq(host(LAPTOP)->connections[PROTO_TCP], 0);
  ck_assert_uint_eq(flowtable_count(acct.flows), 0);
}
END_TEST

START_TEST(a_dying_entry_a_dump_returns_before_its_event_waits_for_it) {
  events = true;
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  entry_counters(&web, 12, 5200, 9, 41000);
  web.status |= IPS_DYING;
  read_whole(&web);
  assert_sent(host(LAPTOP), 0, 0);
  ck_assert_uint_eq(flowtable_count(acct.flows), 1); /* kept for the event */
  entry_counters(&web, 13, 5300, 9, 41000);
  ended(&web);
  assert_sent(host(LAPTOP), 13 - 10, 5300 - 5000);
  assert_received(host(LAPTOP), 9 - 8, 41000 - 40000);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 0);
}
END_TEST

START_TEST(without_events_the_dump_counts_a_dying_entry) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  entry_counters(&web, 12, 5200, 9, 41000);
  web.status |= IPS_DYING;
  read_whole(&web);
  assert_sent(host(LAPTOP), 12 - 10, 5200 - 5000);
  assert_received(host(LAPTOP), 9 - 8, 41000 - 40000);
}
END_TEST

START_TEST(a_destroy_event_that_comes_twice_counts_once) {
  read_whole();
  entry_counters(&web, 3, 300, 3, 3000);
  ended(&web);
  ended(&web);
  assert_sent(host(LAPTOP), 3, 300);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
}
END_TEST

START_TEST(an_ended_entry_whose_counters_were_reset_counts_the_new_value) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  entry_counters(&web, 2, 120, 1, 60); /* zeroed, then 2 + 1 packets */
  ended(&web);
  assert_sent(host(LAPTOP), 2, 120);
  assert_received(host(LAPTOP), 1, 60);
}
END_TEST

START_TEST(an_ended_entry_is_kept_until_a_dump_begun_after_its_event_ends) {
  read_whole(&web);
  ended(&web);
  read_whole(); /* began after the event: the kernel no longer has it */
  ck_assert_uint_eq(flowtable_count(acct.flows), 0);
}
END_TEST

START_TEST(an_entry_that_ends_during_a_dump_is_kept_until_that_read_ends) {
  read_whole(&web);
  begin_read();
  ended(&web);
  ck_assert_uint_eq(flowtable_count(acct.flows), 1);
  accounting_end_read(&acct, true);
  ck_assert_uint_eq(flowtable_count(acct.flows), 0);
}
END_TEST

START_TEST(a_tombstone_made_between_reads_goes_when_the_next_read_ends) {
  read_whole();
  entry_counters(&web, 3, 300, 3, 3000);
  ended(&web);
  ck_assert_uint_eq(flowtable_count(acct.flows), 1);
  read_whole();
  ck_assert_uint_eq(flowtable_count(acct.flows), 0);
}
END_TEST

START_TEST(events_beyond_the_tombstone_limit_are_dropped_not_counted) {
  accounting_limit_tombstones(&acct, 1);
  read_whole();
  entry_counters(&web, 3, 300, 3, 3000);
  entry_counters(&dns, 1, 80, 1, 120);
  begin_read();
  ended(&web);
  ended(&dns);
  accounting_end_read(&acct, true);
  assert_sent(host(LAPTOP), 3, 300);
  assert_sent(total(), 3, 300); /* nothing of the phone's */
  ck_assert_uint_eq(acct.events_dropped, 1);
}
END_TEST

START_TEST(a_dropped_event_s_entry_that_the_dump_returns_is_counted_once) {
  accounting_limit_tombstones(&acct, 0);
  read_whole();
  entry_counters(&dns, 1, 80, 1, 120);
  begin_read();
  ended(&dns);
  accounting_add(&acct, &dns); /* the dump had it before the event */
  accounting_end_read(&acct, true);
  assert_sent(host(PHONE), 1, 80);
  ck_assert_uint_eq(host(PHONE)->new_connections, 1);
}
END_TEST

START_TEST(beyond_the_tombstone_limit_an_event_between_reads_still_counts) {
  accounting_limit_tombstones(&acct, 0);
  read_whole();
  entry_counters(&dns, 1, 80, 1, 120);
  ended(&dns);
  assert_sent(host(PHONE), 1, 80);
  ck_assert_uint_eq(acct.events_dropped, 0);
  ck_assert_uint_eq(flowtable_count(acct.flows), 0);
}
END_TEST

START_TEST(a_read_has_a_tombstone_budget_of_its_own) {
  accounting_limit_tombstones(&acct, 1);
  read_whole();
  entry_counters(&web, 3, 300, 3, 3000);
  entry_counters(&dns, 1, 80, 1, 120);
  ended(&web); /* between reads: the last tombstone of the budget */
  begin_read();
  ended(&dns);
  accounting_end_read(&acct, true);
  assert_sent(host(PHONE), 1, 80);
  ck_assert_uint_eq(acct.events_dropped, 0);
}
END_TEST

START_TEST(the_tombstone_limit_counts_per_read) {
  accounting_limit_tombstones(&acct, 1);
  read_whole();
  entry_counters(&web, 3, 300, 3, 3000);
  entry_counters(&dns, 1, 80, 1, 120);
  begin_read();
  ended(&web);
  accounting_end_read(&acct, true);
  begin_read();
  ended(&dns);
  accounting_end_read(&acct, true);
  assert_sent(host(PHONE), 1, 80);
  ck_assert_uint_eq(acct.events_dropped, 0);
}
END_TEST

START_TEST(a_read_that_cannot_forget_keeps_what_it_missed_for_a_late_event) {
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  begin_read();
  accounting_end_read(&acct, false); /* events not caught up */
  ck_assert_uint_eq(flowtable_count(acct.flows), 1);
  entry_counters(&web, 12, 5200, 9, 41000);
  ended(&web); /* its late event counts the tail, not the whole */
  assert_sent(host(LAPTOP), 2, 200);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 0);
  read_whole();
  ck_assert_uint_eq(flowtable_count(acct.flows), 0);
}
END_TEST

/* Forgetting idle hosts */

/* Returns whether the host text names has a bucket, without making one. */
static bool has_bucket(const char *text) {
  union ct_addr addr = addr_of(text);
  for (size_t i = 2; i < acct.hosts.count; i++)
    if (acct.hosts.buckets[i].family == family_of(text) &&
        memcmp(&acct.hosts.buckets[i].addr, &addr, sizeof(addr)) == 0)
      return true;
  return false;
}

/* With ForgetAfter 1: the laptop browses (10 packets, 5000 bytes sent; 8,
 * 40000 received) in one read and is gone from the next, which forgets
 * it. */
static void laptop_browses_and_leaves(void) {
  settings.hosts.forget_after = 1;
  start();
  read_whole();
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web);
  read_whole();
  ck_assert(!has_bucket(LAPTOP));
}

START_TEST(a_host_without_entries_for_forget_after_reads_is_forgotten) {
  settings.hosts.forget_after = 3;
  start();
  read_whole();
  entry_counters(&web, 10, 5000, 8, 40000);
  read_whole(&web, &dns);
  read_whole(&dns); /* the laptop's entry has left the table */
  read_whole(&dns);
  ck_assert(has_bucket(LAPTOP));
  read_whole(&dns);
  ck_assert(!has_bucket(LAPTOP));
  ck_assert(has_bucket(PHONE));
}
END_TEST

START_TEST(a_forgotten_host_s_bytes_stay_in_total) {
  laptop_browses_and_leaves();
  assert_sent(total(), 10, 5000);
  assert_received(total(), 8, 40000);
  ck_assert_uint_eq(total()->new_connections, 1);
}
END_TEST

START_TEST(a_host_with_a_live_but_idle_connection_is_not_forgotten) {
  settings.hosts.forget_after = 2;
  start();
  entry_counters(&web, 10, 5000, 8, 40000);
  for (int read = 0; read < 5; read++)
    read_whole(&web); /* counters never move */
  ck_assert(has_bucket(LAPTOP));
  ck_assert_uint_eq(host(LAPTOP)->connections[PROTO_TCP], 1);
}
END_TEST

START_TEST(a_host_whose_entry_ended_by_event_since_the_last_read_is_not_idle) {
  settings.hosts.forget_after = 2;
  start();
  read_whole();
  read_whole(&web);
  read_whole(); /* idle 1 */
  entry_counters(&dns, 1, 80, 1, 120);
  ended(&dns); /* began and ended between two reads */
  read_whole();
  read_whole(); /* the laptop goes; the phone is idle 1 */
  ck_assert(!has_bucket(LAPTOP));
  ck_assert(has_bucket(PHONE));
}
END_TEST

START_TEST(a_forgotten_host_that_returns_counts_from_zero) {
  laptop_browses_and_leaves();
  entry_counters(&web, 3, 200, 2, 900);
  web.id = 7; /* a new connection */
  read_whole(&web);
  assert_sent(host(LAPTOP), 3, 200);
  assert_received(host(LAPTOP), 2, 900);
  ck_assert_uint_eq(host(LAPTOP)->new_connections, 1);
  assert_sent(total(), 13, 5200);
}
END_TEST

START_TEST(forgetting_frees_a_max_hosts_slot_for_a_newcomer) {
  settings.hosts.max_hosts = 1;
  settings.hosts.forget_after = 1;
  start();
  read_whole();
  read_whole(&web);
  read_whole(); /* the laptop goes */
  entry_counters(&dns, 1, 80, 1, 120);
  read_whole(&dns);
  ck_assert(!has_bucket(LAPTOP));
  assert_sent(host(PHONE), 1, 80);
  assert_sent(other(), 0, 0);
}
END_TEST

START_TEST(a_read_cut_short_forgets_no_host) {
  settings.hosts.forget_after = 1;
  start();
  read_whole();
  read_whole(&web);
  read_cut_short();
  ck_assert(has_bucket(LAPTOP));
}
END_TEST

static Suite *accounting_suite(void) {
  Suite *s = suite_create("accounting");

  TCase *first = tcase_create("rule 1, the first read");
  tcase_add_checked_fixture(first, setup, teardown);
  tcase_add_test(first,
                 what_entries_carried_before_the_first_read_is_not_counted);
  tcase_add_test(first, what_entries_carry_after_the_first_read_is_counted);
  tcase_add_test(first,
                 entries_of_the_first_read_are_connections_but_none_began);
  suite_add_tcase(s, first);

  TCase *growth = tcase_create("rule 2, growth");
  tcase_add_checked_fixture(growth, setup, teardown);
  tcase_add_test(growth,
                 an_entry_seen_in_consecutive_reads_adds_each_read_s_growth);
  tcase_add_test(growth,
                 an_entry_that_appears_after_the_first_read_is_counted_whole);
  tcase_add_test(growth,
                 an_entry_that_appears_after_the_first_read_began_since_start);
  tcase_add_test(growth, a_connection_begins_once_however_many_reads_see_it);
  suite_add_tcase(s, growth);

  TCase *keys = tcase_create("rule 4, telling entries apart");
  tcase_add_checked_fixture(keys, setup, teardown);
  tcase_add_test(keys, an_entry_returned_twice_in_one_read_is_one_connection);
  tcase_add_test(keys,
                 an_entry_returned_twice_in_one_read_counts_its_bytes_once);
  tcase_add_test(
      keys,
      an_entry_that_grew_between_its_two_returns_counts_its_last_counters);
  tcase_add_test(keys, an_id_reused_with_another_tuple_is_a_new_flow);
  tcase_add_test(keys, the_same_id_and_tuple_in_two_zones_are_two_connections);
  suite_add_tcase(s, keys);

  TCase *reset = tcase_create("rule 5, resets");
  tcase_add_checked_fixture(reset, setup, teardown);
  tcase_add_test(
      reset, a_counter_that_goes_down_was_reset_and_its_new_value_is_growth);
  suite_add_tcase(s, reset);

  TCase *acct_off = tcase_create("rule 6, no counters");
  tcase_add_checked_fixture(acct_off, setup, teardown);
  tcase_add_test(acct_off, entries_without_counters_count_as_connections);
  tcase_add_test(acct_off, entries_without_counters_add_no_bytes);
  tcase_add_test(acct_off,
                 entries_without_counters_bring_one_warning_naming_the_sysctl);
  tcase_add_test(
      acct_off,
      after_enable_accounting_entries_without_counters_bring_a_notice);
  tcase_add_test(acct_off, entries_with_counters_bring_no_warning);
  suite_add_tcase(s, acct_off);

  TCase *reads = tcase_create("reads");
  tcase_add_checked_fixture(reads, setup, teardown);
  tcase_add_test(reads, an_entry_missing_from_a_whole_read_is_forgotten);
  tcase_add_test(reads, an_entry_that_vanished_and_reappears_is_counted_as_new);
  tcase_add_test(reads, a_read_cut_short_forgets_nothing);
  tcase_add_test(reads, what_a_read_cut_short_returned_is_counted_once);
  tcase_add_test(reads, reads_go_on_counting_as_the_read_generation_wraps);
  suite_add_tcase(s, reads);

  TCase *rules = tcase_create("host rules");
  tcase_add_checked_fixture(rules, setup, teardown);
  tcase_add_test(rules, an_outbound_host_sends_the_original_direction);
  tcase_add_test(rules, a_port_forwarded_server_sends_the_reply_direction);
  tcase_add_test(rules,
                 local_to_local_and_remote_to_remote_go_to_other_orig_as_tx);
  tcase_add_test(rules, an_ipv6_host_counts_like_an_ipv4_one);
  tcase_add_test(rules, total_counts_every_entry_from_its_host_s_side);
  tcase_add_test(rules, total_is_the_sum_of_the_hosts_and_other);
  suite_add_tcase(s, rules);

  TCase *events = tcase_create("rule 3, DESTROY events");
  tcase_add_checked_fixture(events, setup, teardown);
  tcase_add_test(events,
                 an_entry_that_ends_between_reads_adds_its_final_counters);
  tcase_add_test(events,
                 an_entry_that_begins_and_ends_between_reads_is_counted_whole);
  tcase_add_test(events,
                 an_entry_that_ends_before_the_first_read_is_not_counted);
  tcase_add_test(
      events, a_dump_in_flight_that_still_returns_an_ended_entry_adds_nothing);
  tcase_add_test(events,
                 an_entry_that_began_and_ended_during_a_dump_is_counted_once);
  tcase_add_test(
      events, a_dying_entry_a_later_dump_returns_after_its_event_adds_nothing);
  tcase_add_test(events,
                 a_dying_entry_a_dump_returns_before_its_event_waits_for_it);
  tcase_add_test(events, without_events_the_dump_counts_a_dying_entry);
  tcase_add_test(events, a_destroy_event_that_comes_twice_counts_once);
  tcase_add_test(events,
                 an_ended_entry_whose_counters_were_reset_counts_the_new_value);
  tcase_add_test(
      events, an_ended_entry_is_kept_until_a_dump_begun_after_its_event_ends);
  tcase_add_test(events,
                 an_entry_that_ends_during_a_dump_is_kept_until_that_read_ends);
  tcase_add_test(events,
                 a_tombstone_made_between_reads_goes_when_the_next_read_ends);
  tcase_add_test(events,
                 a_dropped_event_s_entry_that_the_dump_returns_is_counted_once);
  tcase_add_test(
      events, beyond_the_tombstone_limit_an_event_between_reads_still_counts);
  tcase_add_test(events,
                 events_beyond_the_tombstone_limit_are_dropped_not_counted);
  tcase_add_test(events, the_tombstone_limit_counts_per_read);
  tcase_add_test(events, a_read_has_a_tombstone_budget_of_its_own);
  tcase_add_test(
      events, a_read_that_cannot_forget_keeps_what_it_missed_for_a_late_event);
  suite_add_tcase(s, events);

  TCase *max = tcase_create("MaxHosts");
  tcase_add_checked_fixture(max, setup, teardown);
  tcase_add_test(max, a_host_beyond_max_hosts_goes_to_other_with_orig_as_tx);
  tcase_add_test(max, max_hosts_0_sends_every_host_to_other);
  suite_add_tcase(s, max);

  TCase *admit = tcase_create("MaxNewHosts and the IPv6 share");
  tcase_add_checked_fixture(admit, setup, teardown);
  tcase_add_test(admit, the_first_read_gives_every_host_in_the_table_a_bucket);
  tcase_add_test(admit,
                 a_host_deferred_by_max_new_counts_in_other_until_a_later_read);
  tcase_add_test(admit, the_ipv4_networks_keep_their_room_from_ipv6_hosts);
  tcase_add_test(admit,
                 with_the_default_networks_ipv6_hosts_hold_half_of_max_hosts);
  suite_add_tcase(s, admit);

  TCase *selecting = tcase_create("selecting");
  tcase_add_checked_fixture(selecting, setup, teardown);
  tcase_add_test(selecting, an_entry_the_filter_leaves_out_is_counted_nowhere);
  tcase_add_test(
      selecting,
      the_destroy_event_of_an_entry_the_filter_leaves_out_adds_nothing);
  tcase_add_test(selecting,
                 an_entry_that_comes_to_match_is_counted_whole_from_then);
  tcase_add_test(selecting, a_host_not_selected_goes_to_other_with_orig_as_tx);
  tcase_add_test(selecting, ignore_selected_sends_the_selected_hosts_to_other);
  tcase_add_test(selecting,
                 host_selection_keeps_total_the_sum_of_hosts_and_other);
  tcase_add_test(selecting,
                 the_destroy_event_of_a_host_not_selected_goes_to_other);
  suite_add_tcase(s, selecting);

  TCase *forget = tcase_create("forgetting idle hosts");
  tcase_add_checked_fixture(forget, setup, teardown);
  tcase_add_test(forget,
                 a_host_without_entries_for_forget_after_reads_is_forgotten);
  tcase_add_test(forget, a_forgotten_host_s_bytes_stay_in_total);
  tcase_add_test(forget,
                 a_host_with_a_live_but_idle_connection_is_not_forgotten);
  tcase_add_test(
      forget,
      a_host_whose_entry_ended_by_event_since_the_last_read_is_not_idle);
  tcase_add_test(forget, a_forgotten_host_that_returns_counts_from_zero);
  tcase_add_test(forget, forgetting_frees_a_max_hosts_slot_for_a_newcomer);
  tcase_add_test(forget, a_read_cut_short_forgets_no_host);
  suite_add_tcase(s, forget);

  TCase *gauges = tcase_create("gauges");
  tcase_add_checked_fixture(gauges, setup, teardown);
  tcase_add_test(gauges, connections_are_counted_by_protocol_class);
  tcase_add_test(gauges, connections_are_those_of_the_last_read);
  tcase_add_test(gauges, peers_are_the_distinct_remotes_of_a_host_s_entries);
  tcase_add_test(gauges, a_port_forwarded_server_s_peer_is_the_visitor);
  tcase_add_test(gauges, tcp_entries_are_counted_by_state_once_each);
  suite_add_tcase(s, gauges);
  return s;
}

int main(void) { return run_suite(accounting_suite()); }
