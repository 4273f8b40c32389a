/* check_hosts.c: the per-host buckets, MaxHosts, MaxNewHosts and the IPv6
 * share, peers, and the set that tells peers apart. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crafted.h"
#include "entries.h"
#include "hash.h"
#include "host_select.h"
#include "hosts.h"
#include "peerset.h"

static struct hosts hosts;
/* What start() tells hosts: MaxHosts 4096 and nothing else set, unless a
 * test sets more. */
static struct hosts_settings settings;

/* Starts hosts over, told settings. */
static void start(void) {
  hosts_free(&hosts);
  ck_assert_int_eq(hosts_init(&hosts, &settings), 0);
}

static void setup(void) {
  settings = (struct hosts_settings){.max_hosts = 4096};
  start();
}

static void teardown(void) { hosts_free(&hosts); }

/* Returns the bucket of the host text names. */
static struct host_stats *bucket(const char *text) {
  union ct_addr addr = addr_of(text);
  return hosts_find(&hosts, family_of(text), &addr);
}

/* Returns the position of the host's bucket, which, unlike a pointer to
 * it, outlives the next hosts_find(). */
static size_t position(const char *text) {
  return (size_t)(bucket(text) - hosts.buckets);
}

/* Counts remote as a peer of the host's bucket, failing on no memory. */
static void peer(const char *host, const char *remote) {
  union ct_addr addr = addr_of(remote);
  ck_assert_int_eq(
      hosts_add_peer(&hosts, bucket(host), family_of(remote), &addr), 0);
  hosts_count_peers(&hosts);
}

/* Returns the text of the address of the i-th host of 10.0.0.0/16. */
static const char *nth_host(size_t i, char *text, size_t size) {
  snprintf(text, size, "10.0.%zu.%zu", i / 256, i % 256);
  return text;
}

START_TEST(a_new_table_has_only_total_and_other) {
  ck_assert_uint_eq(hosts.count, 2);
  ck_assert_int_eq(hosts_total(&hosts)->kind, BUCKET_TOTAL);
  ck_assert_int_eq(hosts_other(&hosts)->kind, BUCKET_OTHER);
}
END_TEST

START_TEST(finding_an_address_gives_it_a_bucket_of_its_own) {
  struct host_stats *b = bucket(LAPTOP);
  ck_assert_int_eq(b->kind, BUCKET_HOST);
  ck_assert_int_eq(b->family, AF_INET);
  ck_assert(addr_is(&b->addr, LAPTOP));
  ck_assert_uint_eq(hosts.count, 3);
}
END_TEST

START_TEST(each_address_gets_a_bucket_of_its_own) {
  size_t laptop = position(LAPTOP), laptop6 = position(LAPTOP6);
  ck_assert_uint_ne(laptop, laptop6);
  ck_assert_uint_eq(hosts.count, 4);
  ck_assert(addr_is(&hosts.buckets[laptop].addr, LAPTOP));
  ck_assert(addr_is(&hosts.buckets[laptop6].addr, LAPTOP6));
  ck_assert_int_eq(hosts.buckets[laptop6].family, AF_INET6);
}
END_TEST

START_TEST(finding_an_address_twice_gives_the_same_bucket) {
  size_t first = position(LAPTOP);
  bucket(PHONE);
  ck_assert_uint_eq(position(LAPTOP), first);
  ck_assert_uint_eq(hosts.count, 4);
}
END_TEST

START_TEST(an_ipv4_and_an_ipv6_address_of_the_same_bytes_are_two_hosts) {
  /* 10.0.x.y and a00:xxyy:: are both the bytes 0a 00 xx yy, then zeroes.
   * Many pairs in small tables: some pairs share a slot of the index. */
  char v4[32], v6[64];
  settings.max_hosts = 2;
  for (size_t i = 0; i < 1000; i++) {
    start();
    nth_host(i, v4, sizeof(v4));
    snprintf(v6, sizeof(v6), "a00:%zx::", i);
    if (position(v4) == position(v6) || hosts.count != 4)
      ck_abort_msg("%s and %s share a bucket", v4, v6);
  }
}
END_TEST

START_TEST(hosts_beyond_the_first_allocation_keep_buckets_of_their_own) {
  char text[32];
  const size_t n = 1000;
  for (size_t i = 0; i < n; i++)
    bucket(nth_host(i, text, sizeof(text)));
  ck_assert_uint_eq(hosts.count, 2 + n);
  for (size_t i = 0; i < n; i++) {
    struct host_stats *b = bucket(nth_host(i, text, sizeof(text)));
    ck_assert_msg(b->kind == BUCKET_HOST && addr_is(&b->addr, text),
                  "%s lost its bucket", text);
  }
  ck_assert_uint_eq(hosts.count, 2 + n);
}
END_TEST

START_TEST(hosts_beyond_max_hosts_go_to_other) {
  settings.max_hosts = 2;
  start();
  bucket(LAPTOP);
  bucket(PHONE);
  ck_assert_ptr_eq(bucket(SERVER), hosts_other(&hosts));
  ck_assert_ptr_eq(bucket(LAPTOP6), hosts_other(&hosts));
  ck_assert_uint_eq(hosts.count, 4);
}
END_TEST

START_TEST(hosts_within_max_hosts_keep_their_buckets_once_it_is_reached) {
  settings.max_hosts = 2;
  start();
  size_t laptop = position(LAPTOP), phone = position(PHONE);
  bucket(SERVER);
  ck_assert_uint_eq(position(LAPTOP), laptop);
  ck_assert_uint_eq(position(PHONE), phone);
  ck_assert_int_eq(hosts.buckets[laptop].kind, BUCKET_HOST);
}
END_TEST

START_TEST(max_hosts_0_sends_every_host_to_other) {
  settings.max_hosts = 0;
  start();
  ck_assert_ptr_eq(bucket(LAPTOP), hosts_other(&hosts));
  ck_assert_ptr_eq(bucket(LAPTOP6), hosts_other(&hosts));
  ck_assert_uint_eq(hosts.count, 2);
}
END_TEST

START_TEST(a_remote_seen_twice_is_one_peer) {
  peer(LAPTOP, WEB);
  peer(LAPTOP, WEB);
  ck_assert_uint_eq(bucket(LAPTOP)->peers, 1);
  ck_assert_uint_eq(hosts_total(&hosts)->peers, 1);
}
END_TEST

START_TEST(peers_are_counted_per_bucket) {
  peer(LAPTOP, WEB);
  peer(LAPTOP, RESOLVER);
  peer(PHONE, WEB);
  ck_assert_uint_eq(bucket(LAPTOP)->peers, 2);
  ck_assert_uint_eq(bucket(PHONE)->peers, 1);
}
END_TEST

START_TEST(total_counts_each_remote_once_over_all_buckets) {
  peer(LAPTOP, WEB);
  peer(LAPTOP, RESOLVER);
  peer(PHONE, WEB);
  peer(PHONE, VISITOR);
  ck_assert_uint_eq(hosts_total(&hosts)->peers, 3);
}
END_TEST

START_TEST(the_other_bucket_counts_its_peers) {
  union ct_addr web = addr_of(WEB);
  hosts_add_peer(&hosts, hosts_other(&hosts), AF_INET, &web);
  hosts_add_peer(&hosts, hosts_other(&hosts), AF_INET, &web);
  hosts_count_peers(&hosts);
  ck_assert_uint_eq(hosts_other(&hosts)->peers, 1);
  ck_assert_uint_eq(hosts_total(&hosts)->peers, 1);
}
END_TEST

START_TEST(an_ipv4_and_an_ipv6_remote_of_the_same_bytes_are_two_peers) {
  peer(LAPTOP, "10.0.0.1");
  peer(LAPTOP, "a00:1::");
  ck_assert_uint_eq(bucket(LAPTOP)->peers, 2);
}
END_TEST

START_TEST(begin_read_zeroes_the_gauges) {
  peer(LAPTOP, WEB);
  struct host_stats *b = bucket(LAPTOP);
  b->connections[PROTO_TCP] = 3;
  b->connections[PROTO_ICMP] = 1;
  hosts_other(&hosts)->connections[PROTO_UDP] = 2;
  hosts_total(&hosts)->connections[PROTO_TCP] = 3;
  hosts_begin_read(&hosts);
  for (size_t i = 0; i < hosts.count; i++) {
    for (int c = 0; c < PROTO_CLASSES; c++)
      ck_assert_uint_eq(hosts.buckets[i].connections[c], 0);
    ck_assert_uint_eq(hosts.buckets[i].peers, 0);
  }
}
END_TEST

START_TEST(begin_read_keeps_the_counters_since_start_and_the_buckets) {
  struct host_stats *b = bucket(LAPTOP);
  *b = (struct host_stats){.addr = b->addr,
                           .family = b->family,
                           .kind = b->kind,
                           .traffic = {.rx = {.bytes = 1, .packets = 3},
                                       .tx = {.bytes = 2, .packets = 4}},
                           .new_connections = 5};
  hosts_total(&hosts)->traffic.tx.bytes = 6;
  hosts_other(&hosts)->new_connections = 7;
  hosts_begin_read(&hosts);
  b = bucket(LAPTOP);
  ck_assert_uint_eq(b->traffic.rx.bytes, 1);
  ck_assert_uint_eq(b->traffic.tx.bytes, 2);
  ck_assert_uint_eq(b->traffic.rx.packets, 3);
  ck_assert_uint_eq(b->traffic.tx.packets, 4);
  ck_assert_uint_eq(b->new_connections, 5);
  ck_assert_uint_eq(hosts_total(&hosts)->traffic.tx.bytes, 6);
  ck_assert_uint_eq(hosts_other(&hosts)->new_connections, 7);
  ck_assert_uint_eq(hosts.count, 3);
}
END_TEST

START_TEST(a_peer_of_the_last_read_is_new_again_in_the_next) {
  peer(LAPTOP, WEB);
  hosts_begin_read(&hosts);
  peer(LAPTOP, WEB);
  ck_assert_uint_eq(bucket(LAPTOP)->peers, 1);
  ck_assert_uint_eq(hosts_total(&hosts)->peers, 1);
}
END_TEST

START_TEST(tcp_and_udp_are_classes_of_their_own) {
  ck_assert_int_eq(proto_class_of(IPPROTO_TCP), PROTO_TCP);
  ck_assert_int_eq(proto_class_of(IPPROTO_UDP), PROTO_UDP);
}
END_TEST

START_TEST(icmp_and_icmpv6_both_count_as_icmp) {
  ck_assert_int_eq(proto_class_of(IPPROTO_ICMP), PROTO_ICMP);
  ck_assert_int_eq(proto_class_of(IPPROTO_ICMPV6), PROTO_ICMP);
}
END_TEST

START_TEST(sctp_gre_and_the_rest_count_as_other) {
  ck_assert_int_eq(proto_class_of(IPPROTO_SCTP), PROTO_OTHER);
  ck_assert_int_eq(proto_class_of(IPPROTO_GRE), PROTO_OTHER);
  ck_assert_int_eq(proto_class_of(IPPROTO_UDPLITE), PROTO_OTHER);
  ck_assert_int_eq(proto_class_of(IPPROTO_DCCP), PROTO_OTHER);
  ck_assert_int_eq(proto_class_of(IPPROTO_ESP), PROTO_OTHER);
}
END_TEST

START_TEST(the_memory_grows_with_the_hosts) {
  char text[32];
  size_t before = hosts_memory(&hosts);
  ck_assert_uint_gt(before, 0);
  for (size_t i = 0; i < 1000; i++)
    bucket(nth_host(i, text, sizeof(text)));
  size_t after = hosts_memory(&hosts);
  ck_assert_uint_gt(after, before);
  ck_assert_uint_ge(after, (2 + 1000) * sizeof(struct host_stats));
}
END_TEST

/* Forgetting */

/* Ends n whole reads in which no entry and no traffic touched any host. */
static void idle_reads(uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    hosts_begin_read(&hosts);
    hosts_end_read(&hosts);
  }
}

/* Returns whether the host text names has a bucket, without making one. */
static bool has_bucket(const char *text) {
  union ct_addr addr = addr_of(text);
  for (size_t i = 2; i < hosts.count; i++)
    if (hosts.buckets[i].family == family_of(text) &&
        memcmp(&hosts.buckets[i].addr, &addr, sizeof(addr)) == 0)
      return true;
  return false;
}

/* Asserts that the laptop outlives n - 1 more idle reads and not the n-th. */
static void assert_laptop_forgotten_after(uint32_t n) {
  idle_reads(n - 1);
  ck_assert(has_bucket(LAPTOP));
  idle_reads(1);
  ck_assert(!has_bucket(LAPTOP));
}

START_TEST(a_host_idle_for_forget_after_reads_is_forgotten) {
  settings.forget_after = 3;
  start();
  bucket(LAPTOP)->traffic.rx.bytes = 1000;
  assert_laptop_forgotten_after(3);
  ck_assert_uint_eq(hosts.count, 2);
}
END_TEST

START_TEST(forgetting_is_thirty_reads_unless_told_otherwise) {
  bucket(LAPTOP);
  assert_laptop_forgotten_after(30);
}
END_TEST

START_TEST(a_host_with_an_entry_in_the_read_is_not_idle) {
  settings.forget_after = 2;
  start();
  bucket(LAPTOP);
  for (int read = 0; read < 5; read++) {
    hosts_begin_read(&hosts);
    bucket(LAPTOP)->connections[PROTO_UDP] = 1;
    ck_assert_uint_eq(hosts_end_read(&hosts), 0);
  }
  ck_assert(has_bucket(LAPTOP));
  ck_assert_uint_eq(bucket(LAPTOP)->idle, 0);
}
END_TEST

START_TEST(traffic_since_the_last_read_starts_the_idle_count_again) {
  settings.forget_after = 3;
  start();
  bucket(LAPTOP);
  idle_reads(2);
  bucket(LAPTOP)->carried = true; /* an entry ended by event, say */
  idle_reads(1);                  /* busy: idle 0 */
  assert_laptop_forgotten_after(3);
}
END_TEST

START_TEST(total_and_other_are_never_forgotten) {
  settings.forget_after = 1;
  start();
  hosts_total(&hosts)->traffic.rx.bytes = 5;
  hosts_other(&hosts)->traffic.rx.bytes = 7;
  idle_reads(3);
  ck_assert_uint_eq(hosts.count, 2);
  ck_assert_int_eq(hosts_total(&hosts)->kind, BUCKET_TOTAL);
  ck_assert_int_eq(hosts_other(&hosts)->kind, BUCKET_OTHER);
  ck_assert_uint_eq(hosts_total(&hosts)->traffic.rx.bytes, 5);
  ck_assert_uint_eq(hosts_other(&hosts)->traffic.rx.bytes, 7);
}
END_TEST

START_TEST(a_forgotten_host_that_comes_back_starts_from_zero) {
  settings.forget_after = 1;
  start();
  bucket(LAPTOP)->traffic.rx.bytes = 1000;
  bucket(LAPTOP)->new_connections = 4;
  idle_reads(1);
  struct host_stats *b = bucket(LAPTOP);
  ck_assert_uint_eq(b->traffic.rx.bytes, 0);
  ck_assert_uint_eq(b->new_connections, 0);
  ck_assert_uint_eq(b->idle, 0);
}
END_TEST

START_TEST(forgetting_frees_a_max_hosts_slot) {
  settings.max_hosts = 2;
  settings.forget_after = 1;
  start();
  bucket(LAPTOP);
  bucket(PHONE);
  ck_assert_ptr_eq(bucket(SERVER), hosts_other(&hosts));
  hosts_begin_read(&hosts);
  bucket(PHONE)->connections[PROTO_TCP] = 1;
  ck_assert_uint_eq(hosts_end_read(&hosts), 1);
  ck_assert_int_eq(bucket(SERVER)->kind, BUCKET_HOST);
  ck_assert(addr_is(&bucket(SERVER)->addr, SERVER));
}
END_TEST

START_TEST(the_hosts_left_keep_their_counters_and_are_found_again) {
  char text[32];
  settings.forget_after = 1;
  start();
  /* 300 hosts, every third one busy: the others go, the rest move. */
  for (size_t i = 0; i < 300; i++)
    bucket(nth_host(i, text, sizeof(text)))->traffic.tx.bytes = 10 * i + 1;
  hosts_begin_read(&hosts);
  for (size_t i = 0; i < 300; i += 3)
    bucket(nth_host(i, text, sizeof(text)))->connections[PROTO_TCP] = 1;
  ck_assert_uint_eq(hosts_end_read(&hosts), 200);
  ck_assert_uint_eq(hosts.count, 2 + 100);
  for (size_t i = 0; i < 300; i += 3) {
    struct host_stats *b = bucket(nth_host(i, text, sizeof(text)));
    ck_assert(addr_is(&b->addr, text));
    ck_assert_uint_eq(b->traffic.tx.bytes, 10 * i + 1);
  }
  ck_assert_uint_eq(hosts.count, 2 + 100);
}
END_TEST

START_TEST(peers_count_right_in_the_read_after_a_compaction) {
  settings.forget_after = 1;
  start();
  bucket(LAPTOP);
  bucket(PHONE);
  hosts_begin_read(&hosts);
  peer(PHONE, WEB); /* the laptop goes, the phone moves to its place */
  hosts_end_read(&hosts);
  hosts_begin_read(&hosts);
  peer(PHONE, WEB);
  peer(LAPTOP, WEB); /* back, where the phone was last read */
  ck_assert_uint_eq(bucket(PHONE)->peers, 1);
  ck_assert_uint_eq(bucket(LAPTOP)->peers, 1);
  ck_assert_uint_eq(hosts_total(&hosts)->peers, 1);
}
END_TEST

/* Admission: MaxNewHosts, the IPv6 share */

/* Returns the text of the address of the i-th host of the café's IPv6 LAN. */
static const char *nth_host6(size_t i, char *text, size_t size) {
  snprintf(text, size, "2001:db8:1::%zx", i + 1);
  return text;
}

/* Asks for the buckets of the first n hosts of a family (6 or 4) from
 * host first on; returns how many got one of their own. */
static size_t admit(int family, size_t first, size_t n) {
  char text[64];
  size_t own = 0;
  for (size_t i = first; i < first + n; i++) {
    const char *host = family == 6 ? nth_host6(i, text, sizeof(text))
                                   : nth_host(i, text, sizeof(text));
    own += bucket(host) != hosts_other(&hosts);
  }
  return own;
}

/* Sets MaxNewHosts to max_new and ends the first read (which admits every
 * host whatever max_new). */
static void past_first_read(size_t max_new) {
  settings.max_new = max_new;
  start();
  idle_reads(1);
}

START_TEST(the_first_read_gives_every_host_a_bucket_whatever_max_new) {
  settings.max_new = 2;
  start();
  ck_assert_uint_eq(admit(4, 0, 40), 40);
  ck_assert_uint_eq(admit(6, 0, 40), 40);
  ck_assert_uint_eq(hosts.deferred, 0);
  idle_reads(1); /* ends the first read */
  ck_assert_uint_eq(admit(4, 40, 40), 2);
}
END_TEST

START_TEST(after_the_first_read_max_new_hosts_of_a_family_get_buckets_a_read) {
  past_first_read(2);
  ck_assert_uint_eq(admit(4, 0, 5), 2);
  ck_assert_uint_eq(hosts.count, 2 + 2);
  idle_reads(1);
  ck_assert_uint_eq(admit(4, 5, 5), 2);
}
END_TEST

START_TEST(max_new_is_sixteen_unless_told_otherwise) {
  idle_reads(1); /* ends the first read */
  ck_assert_uint_eq(admit(6, 0, 100), 16);
  ck_assert_uint_eq(admit(4, 0, 100), 16);
}
END_TEST

START_TEST(a_host_refused_for_want_of_max_new_gets_its_bucket_a_read_later) {
  past_first_read(2);
  bucket(LAPTOP);
  bucket(PHONE);
  ck_assert_ptr_eq(bucket(SERVER), hosts_other(&hosts));
  idle_reads(1);
  ck_assert(addr_is(&bucket(SERVER)->addr, SERVER));
}
END_TEST

START_TEST(ipv6_newcomers_leave_the_ipv4_newcomers_their_budget) {
  past_first_read(2);
  ck_assert_uint_eq(admit(6, 0, 50), 2);
  ck_assert_uint_eq(admit(4, 0, 2), 2);
}
END_TEST

/* Events between two reads go to the read that follows: the new buckets
 * one report shows are those made since the last report. */
START_TEST(new_buckets_between_two_reports_never_exceed_max_new) {
  past_first_read(2);
  bucket(LAPTOP); /* a DESTROY event between two reads */
  hosts_begin_read(&hosts);
  bucket(PHONE);
  ck_assert_ptr_eq(bucket(SERVER), hosts_other(&hosts));
  hosts_end_read(&hosts);
  ck_assert(addr_is(&bucket(SERVER)->addr, SERVER));
}
END_TEST

START_TEST(each_host_refused_for_want_of_max_new_counts_once_a_read) {
  past_first_read(1);
  bucket(LAPTOP);
  for (int entry = 0; entry < 3; entry++)
    bucket(PHONE);
  bucket(SERVER);
  ck_assert_uint_eq(hosts.deferred, 2);
  idle_reads(1);
  bucket(PHONE); /* its bucket now */
  bucket(SERVER);
  bucket(SERVER);
  ck_assert_uint_eq(hosts.deferred, 3);
  ck_assert_uint_eq(hosts.no_room, 0);
}
END_TEST

START_TEST(refusals_are_counted_for_a_bounded_number_of_hosts_a_read) {
  char text[64];
  settings.max_hosts = 0;
  start();
  for (size_t i = 0; i < HOSTS_REFUSALS_COUNTED + 100; i++)
    bucket(nth_host6(i, text, sizeof(text)));
  ck_assert_uint_eq(hosts.no_room, HOSTS_REFUSALS_COUNTED);
  idle_reads(1);
  bucket(nth_host6(0, text, sizeof(text)));
  ck_assert_uint_eq(hosts.no_room, HOSTS_REFUSALS_COUNTED + 1);
}
END_TEST

START_TEST(ipv6_hosts_hold_at_most_max_hosts_less_the_ipv4_room) {
  settings.max_hosts = 8;
  start();
  hosts_reserve_ipv4(&hosts, 3);
  ck_assert_uint_eq(admit(6, 0, 10), 5);
}
END_TEST

START_TEST(ipv4_hosts_find_the_room_ipv6_hosts_cannot_take) {
  settings.max_hosts = 8;
  start();
  hosts_reserve_ipv4(&hosts, 3);
  admit(6, 0, 10);
  ck_assert_uint_eq(admit(4, 0, 10), 3);
  ck_assert_uint_eq(hosts.count, 2 + 8);
}
END_TEST

/* IPv4 hosts are bounded by the IPv4 networks: the room bounds IPv6
 * hosts only. */
START_TEST(the_ipv4_room_is_at_most_half_of_max_hosts_and_binds_ipv6_only) {
  settings.max_hosts = 8;
  start();
  hosts_reserve_ipv4(&hosts, SIZE_MAX);
  ck_assert_uint_eq(admit(6, 0, 10), 4);
  start();
  hosts_reserve_ipv4(&hosts, SIZE_MAX);
  ck_assert_uint_eq(admit(4, 0, 10), 8);
}
END_TEST

START_TEST(a_forgotten_ipv6_host_frees_its_place_in_the_ipv6_share) {
  char text[64];
  settings.max_hosts = 4;
  settings.forget_after = 1;
  start();
  hosts_reserve_ipv4(&hosts, 2);
  admit(6, 0, 2);
  hosts_begin_read(&hosts);
  bucket(nth_host6(0, text, sizeof(text)))->connections[PROTO_UDP] = 1;
  ck_assert_uint_eq(hosts_end_read(&hosts), 1);
  ck_assert_uint_eq(admit(6, 2, 2), 1);
  ck_assert(has_bucket(nth_host6(0, text, sizeof(text))));
  ck_assert(has_bucket(nth_host6(2, text, sizeof(text))));
}
END_TEST

/* A host that Host (or IgnoreSelected) leaves out was never going to
 * have a bucket: it is no refusal. */
START_TEST(each_host_refused_for_want_of_room_counts_once_a_read) {
  char text[64];
  struct host_select *select = host_select_new();
  ck_assert_ptr_nonnull(select);
  ck_assert_int_eq(host_select_add(select, "2001:db8:1::/120"), 0);
  settings.max_hosts = 8;
  settings.select = select;
  start();
  hosts_reserve_ipv4(&hosts, 3);
  admit(6, 0, 7);
  admit(6, 5, 2);
  bucket(nth_host6(0x1000, text, sizeof(text))); /* not selected */
  ck_assert_uint_eq(hosts.no_room, 2);
  ck_assert_uint_eq(hosts.deferred, 0);
  hosts_free(&hosts); /* before the selection it was told */
  host_select_free(select);
}
END_TEST

static struct peerset set;

static void peerset_teardown(void) { peerset_free(&set); }

START_TEST(a_new_key_is_added_once) {
  ck_assert_int_eq(peerset_add(&set, 42), 1);
  ck_assert_int_eq(peerset_add(&set, 42), 0);
  ck_assert_int_eq(peerset_add(&set, 43), 1);
  ck_assert_uint_eq(set.count, 2);
}
END_TEST

START_TEST(key_0_is_a_key_like_the_others) {
  ck_assert_int_eq(peerset_add(&set, 0), 1);
  ck_assert_int_eq(peerset_add(&set, 0), 0);
}
END_TEST

START_TEST(a_cleared_set_takes_its_keys_again_in_the_same_memory) {
  peerset_add(&set, 42);
  size_t memory = peerset_memory(&set);
  peerset_clear(&set);
  ck_assert_uint_eq(set.count, 0);
  ck_assert_uint_eq(peerset_memory(&set), memory);
  ck_assert_int_eq(peerset_add(&set, 42), 1);
}
END_TEST

START_TEST(an_empty_set_holds_no_memory_and_clears) {
  ck_assert_uint_eq(peerset_memory(&set), 0);
  peerset_clear(&set);
  ck_assert_uint_eq(set.count, 0);
}
END_TEST

START_TEST(the_set_grows_past_its_first_size_keeping_every_key) {
  /* Keys are hashes: spread them as hashes are, and in a run too. */
  const uint64_t n = 10000;
  for (uint64_t i = 1; i <= n; i++) {
    if (peerset_add(&set, i * 0x9e3779b97f4a7c15ull) != 1 ||
        peerset_add(&set, i) != 1)
      ck_abort_msg("key %ju was taken for a duplicate", (uintmax_t)i);
  }
  ck_assert_uint_eq(set.count, 2 * n);
  ck_assert_uint_ge(peerset_memory(&set), 2 * n * sizeof(uint64_t));
  for (uint64_t i = 1; i <= n; i++) {
    if (peerset_add(&set, i * 0x9e3779b97f4a7c15ull) != 0 ||
        peerset_add(&set, i) != 0)
      ck_abort_msg("key %ju was lost as the set grew", (uintmax_t)i);
  }
  ck_assert_uint_eq(set.count, 2 * n);
}
END_TEST

/* Crafted keys (crafted.h): IPv6 hosts and remotes that share slots
 * under KNOWN_KEY. */
#define CRAFTED 32
#define CRAFTED_MAX_HOSTS 64 /* an index of 128 slots */
static const struct hosts_settings crafted_hosts = {.max_hosts =
                                                        CRAFTED_MAX_HOSTS};
/* The peer set's tables: their peers are those of total alone. */
static const struct hosts_settings one_host = {.max_hosts = 1};

/* Returns the index slot that host addr takes in an empty table. */
static size_t home_slot(const union ct_addr *addr) {
  struct hosts fresh;
  if (hosts_init(&fresh, &crafted_hosts) < 0)
    ck_abort_msg("out of memory");
  hosts_find(&fresh, AF_INET6, addr);
  size_t slot = 0;
  while (fresh.index.slot[slot] == 0)
    slot++;
  hosts_free(&fresh);
  return slot;
}

/* Returns the longest run of index slots that the hosts take in a table
 * made under key. */
static size_t run_of_hosts(const uint8_t key[16], const union ct_addr *host) {
  struct hosts h;
  hash_set_key(key);
  ck_assert_int_eq(hosts_init(&h, &crafted_hosts), 0);
  for (int i = 0; i < CRAFTED; i++)
    hosts_find(&h, AF_INET6, &host[i]);
  size_t run =
      longest_run(h.index.slot, h.index.mask + 1, sizeof(*h.index.slot));
  hosts_free(&h);
  return run;
}

START_TEST(
    hosts_crafted_to_share_slots_under_a_known_key_spread_under_another) {
  union ct_addr host[CRAFTED];
  hash_set_key(KNOWN_KEY);
  for (uint64_t i = 0, n = 0; n < CRAFTED; i++) {
    host[n] = crafted_candidate(i);
    n += home_slot(&host[n]) < 4;
  }
  ck_assert_uint_ge(run_of_hosts(KNOWN_KEY, host), CRAFTED);
  ck_assert_uint_le(run_of_hosts(SECRET_KEY, host), CRAFTED / 4);
}
END_TEST

/* Returns the key the peer set holds for remote as a peer of total, put
 * into an empty set. */
static uint64_t peer_key(const union ct_addr *remote) {
  struct hosts fresh;
  if (hosts_init(&fresh, &one_host) < 0 ||
      hosts_add_peer(&fresh, hosts_total(&fresh), AF_INET6, remote) < 0)
    ck_abort_msg("out of memory");
  hosts_count_peers(&fresh);
  size_t slot = 0;
  while (fresh.peers.keys[slot] == 0)
    slot++;
  uint64_t key = fresh.peers.keys[slot];
  hosts_free(&fresh);
  return key;
}

/* Returns the longest run of peer set slots that the remotes take as peers
 * of total, in a set made under key. */
static size_t run_of_peers(const uint8_t key[16], const union ct_addr *remote) {
  struct hosts h;
  hash_set_key(key);
  ck_assert_int_eq(hosts_init(&h, &one_host), 0);
  for (int i = 0; i < CRAFTED; i++)
    ck_assert_int_eq(hosts_add_peer(&h, hosts_total(&h), AF_INET6, &remote[i]),
                     0);
  hosts_count_peers(&h);
  size_t run =
      longest_run(h.peers.keys, h.peers.mask + 1, sizeof(*h.peers.keys));
  hosts_free(&h);
  return run;
}

START_TEST(
    remotes_crafted_to_share_peer_slots_under_a_known_key_spread_under_another) {
  union ct_addr remote[CRAFTED];
  hash_set_key(KNOWN_KEY);
  /* Low 12 bits below 8: one run in any set of up to 4096 slots. */
  for (uint64_t i = 0, n = 0; n < CRAFTED; i++) {
    remote[n] = crafted_candidate(i);
    n += (peer_key(&remote[n]) & 0xfff) < 8;
  }
  ck_assert_uint_ge(run_of_peers(KNOWN_KEY, remote), CRAFTED);
  ck_assert_uint_le(run_of_peers(SECRET_KEY, remote), CRAFTED / 4);
}
END_TEST

static Suite *hosts_suite(void) {
  Suite *s = suite_create("hosts");

  TCase *find = tcase_create("find");
  tcase_add_checked_fixture(find, setup, teardown);
  tcase_add_test(find, a_new_table_has_only_total_and_other);
  tcase_add_test(find, finding_an_address_gives_it_a_bucket_of_its_own);
  tcase_add_test(find, each_address_gets_a_bucket_of_its_own);
  tcase_add_test(find, finding_an_address_twice_gives_the_same_bucket);
  tcase_add_test(find,
                 an_ipv4_and_an_ipv6_address_of_the_same_bytes_are_two_hosts);
  tcase_add_test(find,
                 hosts_beyond_the_first_allocation_keep_buckets_of_their_own);
  tcase_add_test(find, the_memory_grows_with_the_hosts);
  suite_add_tcase(s, find);

  TCase *max = tcase_create("MaxHosts");
  tcase_add_checked_fixture(max, setup, teardown);
  tcase_add_test(max, hosts_beyond_max_hosts_go_to_other);
  tcase_add_test(max,
                 hosts_within_max_hosts_keep_their_buckets_once_it_is_reached);
  tcase_add_test(max, max_hosts_0_sends_every_host_to_other);
  suite_add_tcase(s, max);

  TCase *crafted = tcase_create("crafted keys");
  tcase_add_test(
      crafted,
      hosts_crafted_to_share_slots_under_a_known_key_spread_under_another);
  tcase_add_test(
      crafted,
      remotes_crafted_to_share_peer_slots_under_a_known_key_spread_under_another);
  suite_add_tcase(s, crafted);

  TCase *peers = tcase_create("peers");
  tcase_add_checked_fixture(peers, setup, teardown);
  tcase_add_test(peers, a_remote_seen_twice_is_one_peer);
  tcase_add_test(peers, peers_are_counted_per_bucket);
  tcase_add_test(peers, total_counts_each_remote_once_over_all_buckets);
  tcase_add_test(peers, the_other_bucket_counts_its_peers);
  tcase_add_test(peers,
                 an_ipv4_and_an_ipv6_remote_of_the_same_bytes_are_two_peers);
  suite_add_tcase(s, peers);

  TCase *read = tcase_create("begin_read");
  tcase_add_checked_fixture(read, setup, teardown);
  tcase_add_test(read, begin_read_zeroes_the_gauges);
  tcase_add_test(read,
                 begin_read_keeps_the_counters_since_start_and_the_buckets);
  tcase_add_test(read, a_peer_of_the_last_read_is_new_again_in_the_next);
  suite_add_tcase(s, read);

  TCase *forget = tcase_create("forgetting idle hosts");
  tcase_add_checked_fixture(forget, setup, teardown);
  tcase_add_test(forget, a_host_idle_for_forget_after_reads_is_forgotten);
  tcase_add_test(forget, forgetting_is_thirty_reads_unless_told_otherwise);
  tcase_add_test(forget, a_host_with_an_entry_in_the_read_is_not_idle);
  tcase_add_test(forget,
                 traffic_since_the_last_read_starts_the_idle_count_again);
  tcase_add_test(forget, total_and_other_are_never_forgotten);
  tcase_add_test(forget, a_forgotten_host_that_comes_back_starts_from_zero);
  tcase_add_test(forget, forgetting_frees_a_max_hosts_slot);
  tcase_add_test(forget,
                 the_hosts_left_keep_their_counters_and_are_found_again);
  tcase_add_test(forget, peers_count_right_in_the_read_after_a_compaction);
  suite_add_tcase(s, forget);

  TCase *admit = tcase_create("admission");
  tcase_add_checked_fixture(admit, setup, teardown);
  tcase_add_test(admit,
                 the_first_read_gives_every_host_a_bucket_whatever_max_new);
  tcase_add_test(
      admit, after_the_first_read_max_new_hosts_of_a_family_get_buckets_a_read);
  tcase_add_test(admit, max_new_is_sixteen_unless_told_otherwise);
  tcase_add_test(
      admit, a_host_refused_for_want_of_max_new_gets_its_bucket_a_read_later);
  tcase_add_test(admit, ipv6_newcomers_leave_the_ipv4_newcomers_their_budget);
  tcase_add_test(admit, new_buckets_between_two_reports_never_exceed_max_new);
  tcase_add_test(admit,
                 each_host_refused_for_want_of_max_new_counts_once_a_read);
  tcase_add_test(admit,
                 refusals_are_counted_for_a_bounded_number_of_hosts_a_read);
  tcase_add_test(admit, ipv6_hosts_hold_at_most_max_hosts_less_the_ipv4_room);
  tcase_add_test(admit, ipv4_hosts_find_the_room_ipv6_hosts_cannot_take);
  tcase_add_test(
      admit, the_ipv4_room_is_at_most_half_of_max_hosts_and_binds_ipv6_only);
  tcase_add_test(admit,
                 a_forgotten_ipv6_host_frees_its_place_in_the_ipv6_share);
  tcase_add_test(admit, each_host_refused_for_want_of_room_counts_once_a_read);
  suite_add_tcase(s, admit);

  TCase *proto = tcase_create("proto_class_of");
  tcase_add_test(proto, tcp_and_udp_are_classes_of_their_own);
  tcase_add_test(proto, icmp_and_icmpv6_both_count_as_icmp);
  tcase_add_test(proto, sctp_gre_and_the_rest_count_as_other);
  suite_add_tcase(s, proto);

  TCase *peerset = tcase_create("peerset");
  tcase_add_checked_fixture(peerset, NULL, peerset_teardown);
  tcase_add_test(peerset, a_new_key_is_added_once);
  tcase_add_test(peerset, key_0_is_a_key_like_the_others);
  tcase_add_test(peerset,
                 a_cleared_set_takes_its_keys_again_in_the_same_memory);
  tcase_add_test(peerset, an_empty_set_holds_no_memory_and_clears);
  tcase_add_test(peerset, the_set_grows_past_its_first_size_keeping_every_key);
  suite_add_tcase(s, peerset);
  return s;
}

int main(void) { return run_suite(hosts_suite()); }
