/* check_flowkeys.c: the top flows (the TopFlows keys with the most bytes,
 * rx + tx, in the interval), their "other", the keys' names (README,
 * "Flow keys") and which end of an entry a key calls local, driven
 * through flowkeys_add() and flowkeys_end_interval() as the collector
 * drives them once a read, and through the accounting. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounting.h"
#include "classify.h"
#include "crafted.h"
#include "entries.h"
#include "flowkeys.h"
#include "hash.h"

/* ForgetAfter's default (HOSTS_FORGET_AFTER): intervals without traffic before
 * a key goes. */
#define IDLE_LIMIT 30
/* collectd's DATA_MAX_NAME_LEN: a type instance holds 127 characters. */
#define COLLECTD_NAME_LEN 128
#define TOP_MAX 16

static struct flowkeys keys;
static struct key_stats top[TOP_MAX];

static void setup(void) {
  ck_assert_int_eq(flowkeys_init(&keys, FLOW_KEY_CONVERSATION, 65536), 0);
  memset(top, 0, sizeof(top));
}

static void teardown(void) { flowkeys_free(&keys); }

/* Returns key k of the café's keys, k in 1..: the laptop to the web
 * server on a port of its own (1000 + k), so that a test names it "k3". */
static struct flow_key key(unsigned k) {
  struct flow_key fk;
  memset(&fk, 0, sizeof(fk));
  fk.local = addr_of(LAPTOP);
  fk.remote = addr_of(WEB);
  fk.family = AF_INET;
  fk.l4proto = IPPROTO_TCP;
  fk.service_port = (uint16_t)(1000 + k);
  return fk;
}

/* Key k carries tx_bytes sent and rx_bytes received in the interval, in
 * one packet each way. */
static void carry(unsigned k, uint64_t tx_bytes, uint64_t rx_bytes) {
  struct flow_key fk = key(k);
  struct ct_counters tx = {.packets = 1, .bytes = tx_bytes};
  struct ct_counters rx = {.packets = 1, .bytes = rx_bytes};
  flowkeys_add(&keys, &fk, &tx, &rx);
}

/* Ends the interval with TopFlows n (at most TOP_MAX). */
static size_t end(size_t n) {
  ck_assert_uint_le(n, TOP_MAX);
  return flowkeys_end_interval(&keys, n, IDLE_LIMIT, top);
}

/* Returns the first n top keys by name, heaviest first: "k3 k1 k2". */
static const char *ranked(size_t n) {
  static char names[TOP_MAX * 8];
  size_t len = 0;
  names[0] = '\0';
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(names + len, sizeof(names) - len, "%sk%u",
                            i ? " " : "", top[i].key.service_port - 1000u);
  return names;
}

/* Returns the tracked aggregates of key k; fails when it is not tracked. */
static const struct key_stats *tracked(unsigned k) {
  struct flow_key fk = key(k);
  for (size_t i = 0; i < flowkeys_count(&keys); i++)
    if (flowkeys_at(&keys, i)->key.service_port == fk.service_port)
      return flowkeys_at(&keys, i);
  ck_abort_msg("k%u is not tracked", k);
  return NULL;
}

static bool is_tracked(unsigned k) {
  for (size_t i = 0; i < flowkeys_count(&keys); i++)
    if (flowkeys_at(&keys, i)->key.service_port == 1000 + k)
      return true;
  return false;
}

static uint64_t bytes(const struct traffic *t) {
  return t->rx.bytes + t->tx.bytes;
}

/* Top flows */

START_TEST(the_n_heaviest_keys_of_the_interval_are_top_heaviest_first) {
  carry(1, 100, 0);
  carry(2, 500, 0);
  carry(3, 300, 0);
  carry(4, 900, 0);
  carry(5, 200, 0);
  ck_assert_uint_eq(end(3), 3);
  ck_assert_str_eq(ranked(3), "k4 k2 k3");
}
END_TEST

START_TEST(keys_rank_by_bytes_received_plus_sent) {
  carry(1, 600, 0);
  carry(2, 0, 500);
  carry(3, 300, 400);
  ck_assert_uint_eq(end(3), 3);
  ck_assert_str_eq(ranked(3), "k3 k1 k2");
}
END_TEST

START_TEST(a_key_s_traffic_of_the_interval_adds_up_over_its_entries) {
  carry(1, 400, 0);
  carry(2, 300, 0);
  carry(2, 300, 0); /* a second entry of k2's conversation */
  ck_assert_uint_eq(end(1), 1);
  ck_assert_str_eq(ranked(1), "k2");
  ck_assert_uint_eq(bytes(&top[0].interval), 600);
}
END_TEST

START_TEST(keys_with_equal_bytes_rank_by_first_seen) {
  carry(1, 100, 0);
  carry(2, 500, 0);
  carry(3, 500, 0);
  carry(4, 500, 0);
  carry(5, 500, 0);
  ck_assert_uint_eq(end(3), 3);
  ck_assert_str_eq(ranked(3), "k2 k3 k4");
}
END_TEST

START_TEST(a_tie_goes_to_the_key_tracked_first_whatever_the_interval_s_order) {
  carry(1, 10, 0);
  carry(2, 10, 0);
  carry(3, 10, 0);
  end(3);
  for (int interval = 0; interval < 3; interval++) {
    carry(3, 700, 0);
    carry(2, 700, 0);
    carry(1, 700, 0);
    ck_assert_uint_eq(end(2), 2);
    ck_assert_str_eq(ranked(2), "k1 k2");
  }
}
END_TEST

START_TEST(with_fewer_keys_than_n_every_key_is_top) {
  carry(1, 100, 0);
  carry(2, 300, 0);
  ck_assert_uint_eq(end(10), 2);
  ck_assert_str_eq(ranked(2), "k2 k1");
  ck_assert_uint_eq(bytes(&keys.other), 0);
}
END_TEST

START_TEST(top_flows_0_makes_no_key_top_and_everything_other) {
  carry(1, 100, 20);
  carry(2, 300, 40);
  ck_assert_uint_eq(end(0), 0);
  ck_assert_uint_eq(keys.other.tx.bytes, 400);
  ck_assert_uint_eq(keys.other.rx.bytes, 60);
  ck_assert_uint_eq(keys.other.tx.packets, 2);
  ck_assert_uint_eq(keys.other.rx.packets, 2);
}
END_TEST

START_TEST(keys_without_traffic_in_the_interval_are_not_top) {
  carry(1, 100, 0);
  carry(2, 200, 0);
  carry(3, 300, 0);
  end(3);
  carry(2, 50, 0);
  ck_assert_uint_eq(end(3), 1);
  ck_assert_str_eq(ranked(1), "k2");
}
END_TEST

START_TEST(an_interval_without_traffic_has_no_top_keys) {
  carry(1, 100, 0);
  end(3);
  ck_assert_uint_eq(end(3), 0);
  ck_assert_uint_eq(bytes(&keys.other), 0);
}
END_TEST

/* "other" and since_tracked */

START_TEST(other_is_the_interval_s_traffic_less_the_top_keys) {
  carry(1, 1000, 2000); /* top */
  carry(2, 30, 70);
  carry(3, 500, 400); /* top */
  carry(4, 1, 2);
  ck_assert_uint_eq(end(2), 2);
  ck_assert_str_eq(ranked(2), "k1 k3");
  ck_assert_uint_eq(keys.other.tx.bytes, 30 + 1);
  ck_assert_uint_eq(keys.other.rx.bytes, 70 + 2);
  ck_assert_uint_eq(keys.other.tx.packets, 2);
  ck_assert_uint_eq(keys.other.rx.packets, 2);
}
END_TEST

START_TEST(other_accumulates_over_intervals) {
  carry(1, 1000, 0);
  carry(2, 10, 5);
  end(1);
  carry(1, 10, 5);
  carry(2, 1000, 0);
  end(1);
  carry(1, 1000, 0);
  carry(2, 7, 3);
  carry(3, 2, 1);
  end(1);
  ck_assert_uint_eq(keys.other.tx.bytes, 10 + 10 + 7 + 2);
  ck_assert_uint_eq(keys.other.rx.bytes, 5 + 5 + 3 + 1);
  ck_assert_uint_eq(keys.other.tx.packets, 4);
  ck_assert_uint_eq(keys.other.rx.packets, 4);
}
END_TEST

/* The flows series of an interval (top keys + other) grow by what the
 * whole table carried in it, while the top keys stay the same (README,
 * "Top flows per interval"). */
START_TEST(top_keys_and_other_grow_by_the_interval_s_total) {
  uint64_t last_top[2] = {0, 0}, last_other = 0;
  for (unsigned interval = 1; interval <= 4; interval++) {
    uint64_t total = 0;
    for (unsigned k = 1; k <= 6; k++) {
      uint64_t tx = k == 1 ? 50000 : k == 2 ? 20000 : 100 * k * interval;
      uint64_t rx = k == 1 ? 900 * interval : 7 * k;
      carry(k, tx, rx);
      total += tx + rx;
    }
    ck_assert_uint_eq(end(2), 2);
    ck_assert_str_eq(ranked(2), "k1 k2");
    uint64_t growth = bytes(&keys.other) - last_other;
    for (int i = 0; i < 2; i++) {
      growth += bytes(&top[i].since_tracked) - last_top[i];
      last_top[i] = bytes(&top[i].since_tracked);
    }
    last_other = bytes(&keys.other);
    ck_assert_uint_eq(growth, total);
  }
}
END_TEST

START_TEST(a_key_counts_since_tracked_across_intervals_it_was_not_top) {
  carry(1, 1000, 100);
  carry(2, 10, 0);
  end(1);
  ck_assert_str_eq(ranked(1), "k1");
  carry(1, 20, 2);
  carry(2, 5000, 0);
  end(1);
  ck_assert_str_eq(ranked(1), "k2");
  end(1); /* k1 idle */
  carry(1, 3000, 300);
  carry(2, 10, 0);
  ck_assert_uint_eq(end(1), 1);
  ck_assert_str_eq(ranked(1), "k1");
  ck_assert_uint_eq(top[0].since_tracked.tx.bytes, 1000 + 20 + 3000);
  ck_assert_uint_eq(top[0].since_tracked.rx.bytes, 100 + 2 + 300);
  ck_assert_uint_eq(top[0].since_tracked.tx.packets, 3);
  ck_assert_uint_eq(top[0].since_tracked.rx.packets, 3);
  ck_assert_uint_eq(top[0].interval.tx.bytes, 3000);
  ck_assert_uint_eq(top[0].interval.rx.bytes, 300);
}
END_TEST

/* MaxFlowKeys */

/* Starts the keys over with room for max_keys. */
static void room_for(size_t max_keys) {
  flowkeys_free(&keys);
  ck_assert_int_eq(flowkeys_init(&keys, FLOW_KEY_CONVERSATION, max_keys), 0);
}

/* In a full table, a newcomer that brings as much as the lightest key
 * carried adds to "other" only; one that brings more takes its place. */
START_TEST(a_newcomer_heavier_than_the_lightest_key_takes_its_place) {
  room_for(2);
  carry(1, 100, 0);
  carry(2, 200, 0);
  carry(3, 60, 40);
  ck_assert(!is_tracked(3));
  ck_assert_uint_eq(keys.evicted, 0);
  carry(4, 9000, 900);
  ck_assert_uint_eq(flowkeys_count(&keys), 2);
  ck_assert(is_tracked(4) && is_tracked(2) && !is_tracked(1));
  ck_assert_uint_eq(keys.evicted, 1);
  ck_assert_uint_eq(end(3), 2);
  ck_assert_str_eq(ranked(2), "k4 k2");
  ck_assert_uint_eq(top[0].since_tracked.tx.bytes, 9000);
  ck_assert_uint_eq(top[0].since_tracked.rx.bytes, 900);
  ck_assert_uint_eq(keys.other.tx.bytes, 60 + 100);
  ck_assert_uint_eq(keys.other.rx.bytes, 40);
}
END_TEST

/* The flows series of an interval (top keys + other) add up to total
 * (README, "Top flows per interval"); what the evicted key carried went to
 * total, and goes to other. */
START_TEST(what_an_evicted_key_carried_in_the_interval_goes_to_other) {
  room_for(2);
  carry(1, 100, 10);
  carry(2, 200, 0);
  carry(3, 9000, 900);
  carry(1, 5, 5); /* k1 again, now a newcomer that gets no place */
  ck_assert_uint_eq(end(3), 2);
  ck_assert_uint_eq(bytes(&keys.other), 100 + 10 + 5 + 5);
  ck_assert_uint_eq(bytes(&keys.other) + bytes(&top[0].interval) +
                        bytes(&top[1].interval),
                    110 + 200 + 9900 + 10);
}
END_TEST

START_TEST(a_key_that_carried_much_lately_keeps_its_place_while_quiet) {
  room_for(2);
  carry(1, 1000, 0);
  carry(2, 100, 0);
  end(2);
  carry(3, 600, 0); /* heavier than k2 has been, not than k1 */
  ck_assert(is_tracked(1) && is_tracked(3) && !is_tracked(2));
}
END_TEST

START_TEST(what_a_key_carried_weighs_half_as_much_each_interval_after) {
  room_for(1);
  carry(1, 800, 0);
  end(1);
  end(1);
  end(1); /* k1 weighs 800 / 2 / 2 = 200 now */
  carry(2, 200, 0);
  ck_assert(is_tracked(1) && !is_tracked(2));
  carry(3, 201, 0);
  ck_assert(is_tracked(3) && !is_tracked(1));
}
END_TEST

START_TEST(what_a_key_carries_in_the_interval_weighs_as_it_comes) {
  room_for(1);
  carry(1, 100, 0);
  end(1);
  carry(1, 500, 0); /* weighs 100 + 500 now */
  carry(2, 600, 0);
  ck_assert(is_tracked(1) && !is_tracked(2));
  carry(3, 601, 0);
  ck_assert(is_tracked(3) && !is_tracked(1));
}
END_TEST

/* A guest sends one datagram each from thousands of ports or addresses,
 * every interval: its keys fill the table and stay busy. A real heavy flow
 * that comes last in the interval still gets a place, is top, and keeps
 * its place while the guest goes on. */
START_TEST(a_table_full_of_light_busy_keys_does_not_keep_a_heavy_flow_out) {
  room_for(1000);
  for (int interval = 0; interval < 5; interval++) {
    for (unsigned k = 100; k < 3100; k++)
      carry(k, 60, 60);
    if (interval >= 2)
      carry(1, 5000000, 100000);
    end(1);
  }
  ck_assert(is_tracked(1));
  ck_assert_str_eq(ranked(1), "k1");
  ck_assert_uint_eq(top[0].since_tracked.tx.bytes, 3 * 5000000);
}
END_TEST

/* Each eviction frees a slot of the open-addressing index: a free slot in
 * the middle of a probe run must not hide the keys after it. */
START_TEST(after_many_evictions_every_tracked_key_is_found_and_no_other) {
  room_for(64);
  for (unsigned k = 1; k <= 5000; k++)
    carry(k, k, 0); /* each heavier than any before: each evicts one */
  ck_assert_uint_eq(keys.evicted, 5000 - 64);
  size_t tracked_keys = 0;
  for (unsigned k = 1; k <= 5000; k++) {
    struct key_stats probe = {.key = key(k)};
    size_t slot;
    long pos = table_find(&keys.keys, &probe, &slot);
    if (pos < 0)
      continue;
    tracked_keys++;
    ck_assert_uint_eq(flowkeys_at(&keys, (size_t)pos)->key.service_port,
                      1000 + k);
  }
  ck_assert_uint_eq(tracked_keys, 64);
  ck_assert(is_tracked(5000));
}
END_TEST

START_TEST(a_forgotten_key_makes_room_for_a_new_one) {
  flowkeys_free(&keys);
  ck_assert_int_eq(flowkeys_init(&keys, FLOW_KEY_CONVERSATION, 2), 0);
  carry(1, 100, 0);
  carry(2, 200, 0);
  flowkeys_end_interval(&keys, 2, 2, top);
  carry(2, 200, 0);
  flowkeys_end_interval(&keys, 2, 2, top);
  carry(2, 200, 0);
  flowkeys_end_interval(&keys, 2, 2, top); /* k1's second idle interval */
  ck_assert(!is_tracked(1));
  carry(3, 50, 0);
  ck_assert_uint_eq(flowkeys_end_interval(&keys, 2, 2, top), 1);
  ck_assert_str_eq(ranked(1), "k3");
}
END_TEST

/* Forgetting idle keys */

START_TEST(a_key_idle_for_fewer_than_idle_limit_intervals_is_kept) {
  carry(1, 100, 10);
  flowkeys_end_interval(&keys, 3, 3, top);
  flowkeys_end_interval(&keys, 3, 3, top);
  flowkeys_end_interval(&keys, 3, 3, top); /* 2 idle intervals */
  ck_assert(is_tracked(1));
  carry(1, 5, 1);
  ck_assert_uint_eq(flowkeys_end_interval(&keys, 3, 3, top), 1);
  ck_assert_uint_eq(top[0].since_tracked.tx.bytes, 105);
  ck_assert_uint_eq(top[0].since_tracked.rx.bytes, 11);
}
END_TEST

START_TEST(a_key_idle_for_idle_limit_intervals_is_forgotten) {
  carry(1, 100, 10);
  carry(2, 100, 10);
  flowkeys_end_interval(&keys, 3, 3, top);
  for (int idle = 1; idle <= 3; idle++) {
    carry(2, 1, 0);
    flowkeys_end_interval(&keys, 3, 3, top);
    ck_assert_msg(is_tracked(1) == (idle < 3),
                  "after %d idle intervals k1 is %s", idle,
                  is_tracked(1) ? "tracked" : "forgotten");
  }
  ck_assert_uint_eq(flowkeys_count(&keys), 1);
}
END_TEST

START_TEST(a_forgotten_key_that_returns_starts_from_zero) {
  carry(1, 100, 10);
  flowkeys_end_interval(&keys, 3, 3, top);
  for (int idle = 1; idle <= 3; idle++)
    flowkeys_end_interval(&keys, 3, 3, top);
  ck_assert(!is_tracked(1));
  carry(1, 7, 3);
  ck_assert_uint_eq(flowkeys_end_interval(&keys, 3, 3, top), 1);
  ck_assert_uint_eq(top[0].since_tracked.tx.bytes, 7);
  ck_assert_uint_eq(top[0].since_tracked.rx.bytes, 3);
  ck_assert_uint_eq(top[0].since_tracked.tx.packets, 1);
}
END_TEST

START_TEST(forgetting_a_key_keeps_the_others_their_totals_and_their_order) {
  for (unsigned k = 1; k <= 5; k++)
    carry(k, 100, 0);
  flowkeys_end_interval(&keys, 5, 2, top);
  for (int idle = 1; idle <= 2; idle++) {
    carry(2, 100, 0);
    carry(4, 100, 0);
    carry(5, 100, 0);
    flowkeys_end_interval(&keys, 5, 2, top);
  }
  ck_assert_uint_eq(flowkeys_count(&keys), 3); /* k1 and k3 are gone */
  carry(5, 100, 0);
  carry(4, 100, 0);
  carry(2, 100, 0);
  ck_assert_uint_eq(flowkeys_count(&keys),
                    3); /* each found again, none added */
  ck_assert_uint_eq(flowkeys_end_interval(&keys, 2, 2, top), 2);
  ck_assert_str_eq(ranked(2), "k2 k4");
  ck_assert_uint_eq(tracked(5)->since_tracked.tx.bytes, 400);
  ck_assert_uint_eq(top[0].since_tracked.tx.bytes, 400);
  ck_assert_uint_eq(top[1].since_tracked.tx.bytes, 400);
}
END_TEST

/* Key names (README, "Flow keys") */

/* Returns the name of the key flow_key_of() gives entry e in kind. */
static const char *name_of(enum flow_key_kind kind, const struct ct_entry *e) {
  static char name[COLLECTD_NAME_LEN];
  struct localnet local;
  localnet_cafe(&local);
  struct owner o = classify(&local, e);
  struct flow_key fk = flow_key_of(kind, e, &o);
  int len = flow_key_format(&fk, kind, name, sizeof(name));
  ck_assert_int_eq(len, (int)strlen(name));
  return name;
}

#define CONV FLOW_KEY_CONVERSATION
#define FIVE FLOW_KEY_5TUPLE

START_TEST(a_tcp_key_ends_at_the_service_port_or_with_5tuple_the_local_port) {
  struct ct_entry e;
  entry_browsing(&e, 1);
  ck_assert_str_eq(name_of(CONV, &e), "192.168.1.23-93.184.216.34-tcp-443");
  ck_assert_str_eq(name_of(FIVE, &e),
                   "192.168.1.23-93.184.216.34-tcp-443-51234");
}
END_TEST

START_TEST(a_udp_key_over_ipv6_is_named_alike) {
  struct ct_entry e;
  entry_udp(&e, PHONE6, 40001, WEB6, 53);
  ck_assert_str_eq(name_of(CONV, &e), "2001:db8:1::42-2001:db8:ff::34-udp-53");
  ck_assert_str_eq(name_of(FIVE, &e),
                   "2001:db8:1::42-2001:db8:ff::34-udp-53-40001");
}
END_TEST

START_TEST(an_icmp_key_ends_at_the_protocol_in_both_kinds) {
  struct ct_entry e;
  entry_ping(&e, LAPTOP, RESOLVER, 77);
  ck_assert_str_eq(name_of(CONV, &e), "192.168.1.23-9.9.9.9-icmp");
  ck_assert_str_eq(name_of(FIVE, &e), "192.168.1.23-9.9.9.9-icmp");
}
END_TEST

START_TEST(an_icmpv6_key_ends_at_the_protocol_in_both_kinds) {
  struct ct_entry e;
  entry_ping(&e, LAPTOP6, WEB6, 77);
  ck_assert_str_eq(name_of(CONV, &e), "2001:db8:1::23-2001:db8:ff::34-icmpv6");
  ck_assert_str_eq(name_of(FIVE, &e), "2001:db8:1::23-2001:db8:ff::34-icmpv6");
}
END_TEST

START_TEST(an_sctp_key_has_ports) {
  struct ct_entry e;
  entry_flow(&e, IPPROTO_SCTP, LAPTOP, 2905, WEB, 38412);
  ck_assert_str_eq(name_of(CONV, &e), "192.168.1.23-93.184.216.34-sctp-38412");
  ck_assert_str_eq(name_of(FIVE, &e),
                   "192.168.1.23-93.184.216.34-sctp-38412-2905");
  entry_flow(&e, IPPROTO_SCTP, LAPTOP6, 2905, WEB6, 38412);
  ck_assert_str_eq(name_of(FIVE, &e),
                   "2001:db8:1::23-2001:db8:ff::34-sctp-38412-2905");
}
END_TEST

START_TEST(udplite_and_dccp_keys_have_ports) {
  struct ct_entry e;
  entry_flow(&e, IPPROTO_UDPLITE, LAPTOP, 5004, WEB, 5005);
  ck_assert_str_eq(name_of(FIVE, &e),
                   "192.168.1.23-93.184.216.34-udplite-5005-5004");
  entry_flow(&e, IPPROTO_DCCP, LAPTOP, 6000, WEB, 6001);
  ck_assert_str_eq(name_of(CONV, &e), "192.168.1.23-93.184.216.34-dccp-6001");
}
END_TEST

/* conntrack keys GRE (PPTP) by call IDs in the port fields: not ports. */
START_TEST(a_gre_key_ends_at_the_protocol_in_both_kinds) {
  struct ct_entry e;
  entry_flow(&e, IPPROTO_GRE, LAPTOP, 0x1234, WEB, 0x5678);
  ck_assert_str_eq(name_of(CONV, &e), "192.168.1.23-93.184.216.34-gre");
  ck_assert_str_eq(name_of(FIVE, &e), "192.168.1.23-93.184.216.34-gre");
  entry_flow(&e, IPPROTO_GRE, LAPTOP6, 0x1234, WEB6, 0x5678);
  ck_assert_str_eq(name_of(FIVE, &e), "2001:db8:1::23-2001:db8:ff::34-gre");
}
END_TEST

START_TEST(a_protocol_without_a_name_is_named_by_its_number) {
  struct ct_entry e;
  entry_flow(&e, IPPROTO_ESP, LAPTOP, 0, WEB, 0);
  ck_assert_str_eq(name_of(CONV, &e), "192.168.1.23-93.184.216.34-50");
  ck_assert_str_eq(name_of(FIVE, &e), "192.168.1.23-93.184.216.34-50");
  entry_flow(&e, 253, LAPTOP6, 7, WEB6, 9);
  ck_assert_str_eq(name_of(FIVE, &e), "2001:db8:1::23-2001:db8:ff::34-253");
}
END_TEST

START_TEST(the_longest_key_fits_a_collectd_type_instance) {
  struct flow_key fk;
  memset(&fk, 0, sizeof(fk));
  fk.local = addr_of("fd00:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  fk.remote = addr_of("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  fk.family = AF_INET6;
  fk.l4proto = IPPROTO_UDPLITE;
  fk.service_port = 65535;
  fk.local_port = 65535;
  char name[COLLECTD_NAME_LEN];
  int len = flow_key_format(&fk, FIVE, name, sizeof(name));
  ck_assert_int_lt(len, COLLECTD_NAME_LEN);
  ck_assert_str_eq(name, "fd00:ffff:ffff:ffff:ffff:ffff:ffff:ffff-"
                         "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff-"
                         "udplite-65535-65535");
}
END_TEST

START_TEST(a_name_cut_short_by_the_buffer_is_terminated_and_its_length_told) {
  struct ct_entry e;
  entry_browsing(&e, 1);
  struct localnet local;
  localnet_cafe(&local);
  struct owner o = classify(&local, &e);
  struct flow_key fk = flow_key_of(FIVE, &e, &o);
  char name[12];
  memset(name, 'x', sizeof(name));
  int len = flow_key_format(&fk, FIVE, name, sizeof(name));
  ck_assert_int_eq(len,
                   (int)strlen("192.168.1.23-93.184.216.34-tcp-443-51234"));
  ck_assert_str_eq(name, "192.168.1.2");
}
END_TEST

/* Which end is local (flow_key_of) */

/* Returns the key flow_key_of() gives e in kind, owned as classify() says
 * with the café's LAN. */
static struct flow_key key_of(enum flow_key_kind kind,
                              const struct ct_entry *e) {
  struct localnet local;
  localnet_cafe(&local);
  struct owner o = classify(&local, e);
  return flow_key_of(kind, e, &o);
}

START_TEST(rule_1_a_masqueraded_client_is_local_at_its_own_port) {
  struct ct_entry e;
  entry_browsing(&e, 1);
  entry_snat(&e, ROUTER_WAN, 61000); /* masquerade picked another port */
  struct flow_key fk = key_of(FIVE, &e);
  ck_assert(addr_is(&fk.local, LAPTOP));
  ck_assert(addr_is(&fk.remote, WEB));
  ck_assert_uint_eq(fk.service_port, 443);
  ck_assert_uint_eq(fk.local_port, 51234);
  ck_assert_uint_eq(fk.family, AF_INET);
  ck_assert_uint_eq(fk.l4proto, IPPROTO_TCP);
  ck_assert_str_eq(name_of(FIVE, &e),
                   "192.168.1.23-93.184.216.34-tcp-443-51234");
}
END_TEST

START_TEST(rule_2_a_port_forward_is_keyed_from_the_internal_server) {
  struct ct_entry e;
  entry_port_forward(&e, 3); /* VISITOR:40000 -> ROUTER_WAN:8080 = SERVER:80 */
  struct flow_key fk = key_of(FIVE, &e);
  ck_assert(addr_is(&fk.local, SERVER));
  ck_assert(addr_is(&fk.remote, VISITOR));
  /* The service port is the original destination port (README, "Flow
   * keys"). */
  ck_assert_uint_eq(fk.service_port, 8080);
  ck_assert_uint_eq(fk.local_port, 80);
  ck_assert_str_eq(name_of(CONV, &e), "192.168.1.10-198.51.100.7-tcp-8080");
  ck_assert_str_eq(name_of(FIVE, &e), "192.168.1.10-198.51.100.7-tcp-8080-80");
}
END_TEST

START_TEST(rule_2_a_routed_inbound_ipv6_connection_is_keyed_from_the_host) {
  struct ct_entry e;
  entry_tcp(&e, VISITOR6, 50000, LAPTOP6, 22);
  struct flow_key fk = key_of(FIVE, &e);
  ck_assert(addr_is(&fk.local, LAPTOP6));
  ck_assert(addr_is(&fk.remote, VISITOR6));
  ck_assert_uint_eq(fk.service_port, 22);
  ck_assert_uint_eq(fk.local_port, 22);
  ck_assert_str_eq(name_of(CONV, &e), "2001:db8:1::23-2001:db8:ee::7-tcp-22");
}
END_TEST

START_TEST(rule_3_the_original_source_is_local) {
  struct ct_entry e;
  entry_tcp(&e, LAPTOP, 5000, PHONE, 8000); /* both ends local */
  struct flow_key fk = key_of(FIVE, &e);
  ck_assert(addr_is(&fk.local, LAPTOP));
  ck_assert(addr_is(&fk.remote, PHONE));
  ck_assert_uint_eq(fk.service_port, 8000);
  ck_assert_uint_eq(fk.local_port, 5000);
  entry_udp(&e, VISITOR, 7000, WEB, 53); /* neither end local */
  ck_assert_str_eq(name_of(FIVE, &e), "198.51.100.7-93.184.216.34-udp-53-7000");
}
END_TEST

START_TEST(a_conversation_key_is_one_for_every_local_port) {
  struct ct_entry a, b;
  entry_tcp(&a, LAPTOP, 51000, WEB, 443);
  entry_tcp(&b, LAPTOP, 52000, WEB, 443);
  struct flow_key ka = key_of(CONV, &a), kb = key_of(CONV, &b);
  ck_assert_uint_eq(ka.local_port, 0);
  ck_assert_uint_eq(kb.local_port, 0);
  struct ct_counters c = {.packets = 1, .bytes = 100};
  flowkeys_add(&keys, &ka, &c, &c);
  flowkeys_add(&keys, &kb, &c, &c);
  ck_assert_uint_eq(flowkeys_count(&keys), 1);
  ka = key_of(FIVE, &a);
  kb = key_of(FIVE, &b);
  flowkeys_free(&keys);
  ck_assert_int_eq(flowkeys_init(&keys, FLOW_KEY_5TUPLE, 64), 0);
  flowkeys_add(&keys, &ka, &c, &c);
  flowkeys_add(&keys, &kb, &c, &c);
  ck_assert_uint_eq(flowkeys_count(&keys), 2);
}
END_TEST

START_TEST(pings_with_different_echo_ids_are_one_key_in_both_kinds) {
  struct ct_entry a, b;
  entry_ping(&a, LAPTOP, RESOLVER, 1);
  entry_ping(&b, LAPTOP, RESOLVER, 2);
  struct flow_key ka = key_of(FIVE, &a), kb = key_of(FIVE, &b);
  ck_assert_uint_eq(ka.service_port, 0);
  ck_assert_uint_eq(ka.local_port, 0);
  struct ct_counters c = {.packets = 1, .bytes = 84};
  flowkeys_add(&keys, &ka, &c, &c);
  flowkeys_add(&keys, &kb, &c, &c);
  ck_assert_uint_eq(flowkeys_count(&keys), 1);
}
END_TEST

START_TEST(the_same_ends_and_port_over_tcp_and_udp_are_two_keys) {
  struct ct_entry tcp, udp;
  entry_tcp(&tcp, LAPTOP, 51000, WEB, 443);
  entry_udp(&udp, LAPTOP, 51000, WEB, 443); /* QUIC */
  struct flow_key kt = key_of(CONV, &tcp), ku = key_of(CONV, &udp);
  struct ct_counters c = {.packets = 1, .bytes = 100};
  flowkeys_add(&keys, &kt, &c, &c);
  flowkeys_add(&keys, &ku, &c, &c);
  ck_assert_uint_eq(flowkeys_count(&keys), 2);
}
END_TEST

/* Through the accounting: what the collector feeds the keys */

static struct localnet cafe;
static struct accounting acct;

static void no_log(int priority, const char *format, ...) {
  (void)priority;
  (void)format;
}

/* Starts the accounting with max_hosts, tracking conversation keys. */
static void acct_start(size_t max_hosts) {
  localnet_cafe(&cafe);
  struct accounting_settings settings = {.local = &cafe,
                                         .hosts = {.max_hosts = max_hosts},
                                         .flow_key = FLOW_KEY_CONVERSATION,
                                         .max_flow_keys = 1024,
                                         .log = no_log};
  ck_assert_int_eq(accounting_init(&acct, &settings), 0);
}

/* One whole read whose dump returns the n entries of es. */
static void acct_read(struct ct_entry *es, size_t n) {
  accounting_begin_read(&acct, false);
  for (size_t i = 0; i < n; i++)
    accounting_add(&acct, &es[i]);
  accounting_end_read(&acct, true);
}

static uint64_t total_bytes(void) {
  const struct host_stats *t = hosts_total(&acct.hosts);
  return t->traffic.rx.bytes + t->traffic.tx.bytes;
}

START_TEST(the_flows_of_each_read_add_up_to_total) {
  acct_start(4096);
  struct ct_entry es[4];
  entry_browsing(&es[0], 1);
  entry_udp(&es[1], PHONE, 5353, RESOLVER, 53);
  es[1].id = 2;
  entry_port_forward(&es[2], 3);
  entry_tcp(&es[3], LAPTOP, 5000, PHONE, 8000); /* rule 3 */
  es[3].id = 4;
  acct_read(es, 4);
  flowkeys_end_interval(acct.keys, 2, IDLE_LIMIT, top);
  uint64_t last_total = total_bytes(), last_flows = bytes(&acct.keys->other);
  for (uint64_t r = 1; r <= 5; r++) {
    entry_counters(&es[0], 10 * r, 1000 * r, 20 * r, 30000 * r);
    entry_counters(&es[1], r, 80 * r, r, 200 * r);
    entry_counters(&es[2], 5 * r, 20000 * r, 5 * r, 400 * r);
    entry_counters(&es[3], 2 * r, 100 * r, 2 * r, 300 * r);
    acct_read(es, 4);
    size_t n = flowkeys_end_interval(acct.keys, 2, IDLE_LIMIT, top);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(top[0].key.service_port, 443);
    ck_assert_uint_eq(top[1].key.service_port, 8080);
    uint64_t flows = bytes(&acct.keys->other) + bytes(&top[0].since_tracked) +
                     bytes(&top[1].since_tracked);
    ck_assert_uint_eq(flows - last_flows, total_bytes() - last_total);
    last_flows = flows;
    last_total = total_bytes();
  }
  ck_assert_uint_eq(last_total,
                    5 * (1000 + 30000 + 80 + 200 + 20000 + 400 + 100 + 300));
  accounting_free(&acct);
}
END_TEST

START_TEST(entries_that_carried_nothing_in_a_read_touch_no_key) {
  acct_start(4096);
  struct ct_entry web;
  entry_browsing(&web, 1);
  entry_counters(&web, 10, 5000, 8, 40000);
  acct_read(&web, 1); /* the baseline: nothing counted */
  acct_read(&web, 1); /* no growth */
  ck_assert_uint_eq(flowkeys_count(acct.keys), 0);
  entry_counters(&web, 11, 5100, 9, 41000);
  acct_read(&web, 1);
  ck_assert_uint_eq(flowkeys_count(acct.keys), 1);
  accounting_free(&acct);
}
END_TEST

/* A port-forwarded server beyond MaxHosts goes to host "other", which sees
 * the original direction as tx: its key must see it alike (rule 3), or
 * the flows would tell a story the hosts do not. */
START_TEST(a_host_beyond_max_hosts_is_keyed_as_rule_3) {
  acct_start(0);
  struct ct_entry fwd;
  entry_port_forward(&fwd, 3);
  acct_read(&fwd, 1);
  entry_counters(&fwd, 4, 1000, 3, 7000);
  acct_read(&fwd, 1);
  ck_assert_uint_eq(flowkeys_end_interval(acct.keys, 1, IDLE_LIMIT, top), 1);
  ck_assert(addr_is(&top[0].key.local, VISITOR));
  ck_assert(addr_is(&top[0].key.remote, ROUTER_WAN));
  ck_assert_uint_eq(top[0].key.service_port, 8080);
  ck_assert_uint_eq(top[0].since_tracked.tx.bytes, 1000);
  ck_assert_uint_eq(top[0].since_tracked.rx.bytes, 7000);
  const struct host_stats *o = hosts_other(&acct.hosts);
  ck_assert_uint_eq(o->traffic.tx.bytes, 1000);
  ck_assert_uint_eq(o->traffic.rx.bytes, 7000);
  accounting_free(&acct);
}
END_TEST

START_TEST(an_entry_s_destroy_event_adds_its_tail_to_its_key) {
  acct_start(4096);
  struct ct_entry web;
  entry_browsing(&web, 1);
  acct_read(&web, 1);
  entry_counters(&web, 2, 300, 2, 3000);
  acct_read(&web, 1);
  flowkeys_end_interval(acct.keys, 1, IDLE_LIMIT, top);
  entry_counters(&web, 5, 700, 6, 9000);
  accounting_end(&acct, &web);
  acct_read(NULL, 0);
  ck_assert_uint_eq(flowkeys_end_interval(acct.keys, 1, IDLE_LIMIT, top), 1);
  ck_assert_uint_eq(top[0].interval.tx.bytes, 400);
  ck_assert_uint_eq(top[0].interval.rx.bytes, 6000);
  ck_assert_uint_eq(top[0].since_tracked.tx.bytes, 700);
  ck_assert_uint_eq(top[0].since_tracked.rx.bytes, 9000);
  accounting_free(&acct);
}
END_TEST

/* Many keys: the quickselect against a sort */

#define MANY 100000

static uint64_t rng_state;

/* xorshift64: the same "random" traffic on every run. */
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Key i of MANY: 10.x.y.z to the web server, i in the local address. */
static struct flow_key many_key(uint32_t i) {
  struct flow_key fk;
  memset(&fk, 0, sizeof(fk));
  fk.local.v4.s_addr = htonl(0x0a000000u | i);
  fk.remote = addr_of(WEB);
  fk.family = AF_INET;
  fk.l4proto = IPPROTO_TCP;
  fk.service_port = 443;
  return fk;
}

static uint32_t many_index(const struct flow_key *fk) {
  return ntohl(fk->local.v4.s_addr) & 0xffffffu;
}

/* The reference ranking: bytes of the interval, most first, then key index
 * (the keys are first seen in index order). */
static const uint64_t *ref_bytes;

static int ref_order(const void *pa, const void *pb) {
  uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
  if (ref_bytes[a] != ref_bytes[b])
    return ref_bytes[a] > ref_bytes[b] ? -1 : 1;
  return a < b ? -1 : a > b;
}

enum shape {
  RANDOM_WIDE,  /* bytes all over 0..2^40 */
  RANDOM_TIES,  /* bytes in 0..15: ties everywhere, some keys idle */
  ASCENDING,    /* the last key seen the heaviest */
  DESCENDING,   /* the first key seen the heaviest */
  ALL_EQUAL,    /* ties only: the first seen win */
  FEW_ACTIVE,   /* 1 key in 5000 carries anything */
  HEAVY_AT_END, /* a flat table and a few heavy keys seen last */
  SHAPES
};

static uint64_t shape_bytes(enum shape s, uint32_t i) {
  switch (s) {
  case RANDOM_WIDE:
    return rng() >> 24;
  case RANDOM_TIES:
    return rng() & 15;
  case ASCENDING:
    return 1 + i;
  case DESCENDING:
    return MANY - i;
  case ALL_EQUAL:
    return 1500;
  case FEW_ACTIVE:
    return i % 5000 == 17 ? 1 + rng() % 100 : 0;
  case HEAVY_AT_END:
    return i >= MANY - 5 ? 1000000 + i : 100 + (i & 1);
  default:
    return 0;
  }
}

/* One interval of MANY keys shaped s, ended with TopFlows n: the keys the
 * quickselect picks are those a full sort ranks first, in its order, and
 * other grows by everything else. */
static void many_interval(enum shape s, size_t n) {
  uint64_t *b = malloc(MANY * sizeof(*b));
  uint32_t *order = malloc(MANY * sizeof(*order));
  struct key_stats *got = calloc(n ? n : 1, sizeof(*got));
  ck_assert(b != NULL && order != NULL && got != NULL);
  uint64_t interval_total = 0, other_before = bytes(&keys.other);
  size_t active = 0;
  for (uint32_t i = 0; i < MANY; i++) {
    b[i] = shape_bytes(s, i);
    order[i] = i;
    interval_total += b[i];
    active += b[i] > 0;
    if (b[i] == 0)
      continue;
    struct flow_key fk = many_key(i);
    struct ct_counters tx = {.packets = 1, .bytes = b[i] / 3};
    struct ct_counters rx = {.packets = 1, .bytes = b[i] - b[i] / 3};
    flowkeys_add(&keys, &fk, &tx, &rx);
  }
  ref_bytes = b;
  qsort(order, MANY, sizeof(*order), ref_order);
  size_t want = n < active ? n : active;
  size_t chosen = flowkeys_end_interval(&keys, n, 1000, got);
  ck_assert_uint_eq(chosen, want);
  uint64_t top_total = 0;
  for (size_t r = 0; r < chosen; r++) {
    uint32_t i = many_index(&got[r].key);
    ck_assert_msg(i == order[r],
                  "shape %d, TopFlows %zu: rank %zu is key %u (%llu bytes), "
                  "a sort says key %u (%llu bytes)",
                  (int)s, n, r, i, (unsigned long long)b[i], order[r],
                  (unsigned long long)b[order[r]]);
    ck_assert_uint_eq(bytes(&got[r].interval), b[i]);
    top_total += b[i];
  }
  ck_assert_uint_eq(bytes(&keys.other) - other_before,
                    interval_total - top_total);
  free(got);
  free(order);
  free(b);
}

START_TEST(the_quickselect_picks_what_a_full_sort_ranks_first) {
  flowkeys_free(&keys);
  ck_assert_int_eq(flowkeys_init(&keys, FLOW_KEY_CONVERSATION, MANY), 0);
  rng_state = 0x9e3779b97f4a7c15ull;
  /* Every key once, in index order: first seen is then index order, as
   * the reference ranking assumes, whichever keys later intervals skip. */
  for (uint32_t i = 0; i < MANY; i++) {
    struct flow_key fk = many_key(i);
    struct ct_counters one = {.packets = 1, .bytes = 1}, none = {0, 0};
    flowkeys_add(&keys, &fk, &one, &none);
  }
  ck_assert_uint_eq(flowkeys_end_interval(&keys, 10, 1000, top), 10);
  ck_assert_uint_eq(many_index(&top[9].key), 9);
  static const size_t ns[] = {10, 1, 1000};
  for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++)
    for (int s = 0; s < SHAPES; s++)
      many_interval((enum shape)s, ns[t]);
  ck_assert_uint_eq(flowkeys_count(&keys), MANY);
}
END_TEST

/* Keys in ascending weight: each newcomer outweighs every key tracked,
 * so the heaviest keys are tracked and top whatever the samples. */
START_TEST(among_many_keys_the_heaviest_take_the_places_of_lighter_ones) {
  flowkeys_free(&keys);
  ck_assert_int_eq(flowkeys_init(&keys, FLOW_KEY_CONVERSATION, 1000), 0);
  uint64_t all = 0;
  for (uint32_t i = 0; i < 5000; i++) {
    struct flow_key fk = many_key(i);
    struct ct_counters tx = {.packets = 1, .bytes = 10 + i};
    struct ct_counters rx = {.packets = 0, .bytes = 0};
    flowkeys_add(&keys, &fk, &tx, &rx);
    all += 10 + i;
  }
  ck_assert_uint_eq(flowkeys_count(&keys), 1000);
  ck_assert_uint_eq(flowkeys_end_interval(&keys, 10, IDLE_LIMIT, top), 10);
  uint64_t top_bytes = 0;
  for (size_t r = 0; r < 10; r++) {
    ck_assert_uint_eq(many_index(&top[r].key), 4999 - r);
    top_bytes += bytes(&top[r].interval);
  }
  ck_assert_uint_eq(bytes(&keys.other), all - top_bytes);
}
END_TEST

/* Crafted keys (crafted.h): IPv6 flow keys that share slots under
 * KNOWN_KEY. */
#define CRAFTED 256

/* Returns candidate key i: laptop to candidate remote i on tcp 443. */
static struct flow_key candidate_key(const union ct_addr *laptop, uint64_t i) {
  struct flow_key fk;
  memset(&fk, 0, sizeof(fk));
  fk.local = *laptop;
  fk.remote = crafted_candidate(i);
  fk.family = AF_INET6;
  fk.l4proto = IPPROTO_TCP;
  fk.service_port = 443;
  return fk;
}

/* Returns the longest run of slots that the keys, each carrying a packet,
 * take in a table made under key. */
static size_t run_of_keys(const uint8_t key[16], const struct flow_key *fk) {
  struct flowkeys k;
  struct ct_counters packet = {.packets = 1, .bytes = 100};
  hash_set_key(key);
  ck_assert_int_eq(flowkeys_init(&k, FLOW_KEY_CONVERSATION, 65536), 0);
  for (int i = 0; i < CRAFTED; i++)
    flowkeys_add(&k, &fk[i], &packet, &packet);
  ck_assert_uint_eq(flowkeys_count(&k), CRAFTED);
  size_t run = longest_run(k.keys.slots.slot, k.keys.slots.mask + 1,
                           sizeof(*k.keys.slots.slot));
  flowkeys_free(&k);
  return run;
}

START_TEST(
    flow_keys_crafted_to_share_slots_under_a_known_key_spread_under_another) {
  struct flow_key fk[CRAFTED];
  struct flowkeys k;
  union ct_addr laptop = addr_of(LAPTOP6);
  hash_set_key(KNOWN_KEY);
  ck_assert_int_eq(flowkeys_init(&k, FLOW_KEY_CONVERSATION, 65536), 0);
  /* By the table's own hash, low 12 bits below 8: one run in any table
   * of up to 4096 slots. */
  for (uint64_t i = 0, n = 0; n < CRAFTED; i++) {
    struct key_stats probe = {.key = candidate_key(&laptop, i)};
    fk[n] = probe.key;
    n += (k.keys.hash(&probe) & 0xfff) < 8;
  }
  flowkeys_free(&k);
  ck_assert_uint_ge(run_of_keys(KNOWN_KEY, fk), CRAFTED);
  ck_assert_uint_le(run_of_keys(SECRET_KEY, fk), CRAFTED / 4);
}
END_TEST

static Suite *flowkeys_suite(void) {
  Suite *s = suite_create("flow keys");

  TCase *topn = tcase_create("top flows");
  tcase_add_checked_fixture(topn, setup, teardown);
  tcase_add_test(topn,
                 the_n_heaviest_keys_of_the_interval_are_top_heaviest_first);
  tcase_add_test(topn, keys_rank_by_bytes_received_plus_sent);
  tcase_add_test(topn,
                 a_key_s_traffic_of_the_interval_adds_up_over_its_entries);
  tcase_add_test(topn, keys_with_equal_bytes_rank_by_first_seen);
  tcase_add_test(
      topn, a_tie_goes_to_the_key_tracked_first_whatever_the_interval_s_order);
  tcase_add_test(topn, with_fewer_keys_than_n_every_key_is_top);
  tcase_add_test(topn, top_flows_0_makes_no_key_top_and_everything_other);
  tcase_add_test(topn, keys_without_traffic_in_the_interval_are_not_top);
  tcase_add_test(topn, an_interval_without_traffic_has_no_top_keys);
  suite_add_tcase(s, topn);

  TCase *other = tcase_create("other and since_tracked");
  tcase_add_checked_fixture(other, setup, teardown);
  tcase_add_test(other, other_is_the_interval_s_traffic_less_the_top_keys);
  tcase_add_test(other, other_accumulates_over_intervals);
  tcase_add_test(other, top_keys_and_other_grow_by_the_interval_s_total);
  tcase_add_test(other,
                 a_key_counts_since_tracked_across_intervals_it_was_not_top);
  suite_add_tcase(s, other);

  TCase *bound = tcase_create("MaxFlowKeys and idle keys");
  tcase_add_checked_fixture(bound, setup, teardown);
  tcase_add_test(bound,
                 a_newcomer_heavier_than_the_lightest_key_takes_its_place);
  tcase_add_test(bound,
                 what_an_evicted_key_carried_in_the_interval_goes_to_other);
  tcase_add_test(bound,
                 a_key_that_carried_much_lately_keeps_its_place_while_quiet);
  tcase_add_test(bound,
                 what_a_key_carried_weighs_half_as_much_each_interval_after);
  tcase_add_test(bound, what_a_key_carries_in_the_interval_weighs_as_it_comes);
  tcase_add_test(
      bound, a_table_full_of_light_busy_keys_does_not_keep_a_heavy_flow_out);
  tcase_add_test(bound,
                 after_many_evictions_every_tracked_key_is_found_and_no_other);
  tcase_add_test(bound, a_forgotten_key_makes_room_for_a_new_one);
  tcase_add_test(bound, a_key_idle_for_fewer_than_idle_limit_intervals_is_kept);
  tcase_add_test(bound, a_key_idle_for_idle_limit_intervals_is_forgotten);
  tcase_add_test(bound, a_forgotten_key_that_returns_starts_from_zero);
  tcase_add_test(
      bound, forgetting_a_key_keeps_the_others_their_totals_and_their_order);
  suite_add_tcase(s, bound);

  TCase *names = tcase_create("key names");
  tcase_add_checked_fixture(names, setup, teardown);
  tcase_add_test(
      names, a_tcp_key_ends_at_the_service_port_or_with_5tuple_the_local_port);
  tcase_add_test(names, a_udp_key_over_ipv6_is_named_alike);
  tcase_add_test(names, an_icmp_key_ends_at_the_protocol_in_both_kinds);
  tcase_add_test(names, an_icmpv6_key_ends_at_the_protocol_in_both_kinds);
  tcase_add_test(names, an_sctp_key_has_ports);
  tcase_add_test(names, udplite_and_dccp_keys_have_ports);
  tcase_add_test(names, a_gre_key_ends_at_the_protocol_in_both_kinds);
  tcase_add_test(names, a_protocol_without_a_name_is_named_by_its_number);
  tcase_add_test(names, the_longest_key_fits_a_collectd_type_instance);
  tcase_add_test(
      names, a_name_cut_short_by_the_buffer_is_terminated_and_its_length_told);
  suite_add_tcase(s, names);

  TCase *ends = tcase_create("which end is local");
  tcase_add_checked_fixture(ends, setup, teardown);
  tcase_add_test(ends, rule_1_a_masqueraded_client_is_local_at_its_own_port);
  tcase_add_test(ends, rule_2_a_port_forward_is_keyed_from_the_internal_server);
  tcase_add_test(
      ends, rule_2_a_routed_inbound_ipv6_connection_is_keyed_from_the_host);
  tcase_add_test(ends, rule_3_the_original_source_is_local);
  tcase_add_test(ends, a_conversation_key_is_one_for_every_local_port);
  tcase_add_test(ends, pings_with_different_echo_ids_are_one_key_in_both_kinds);
  tcase_add_test(ends, the_same_ends_and_port_over_tcp_and_udp_are_two_keys);
  suite_add_tcase(s, ends);

  TCase *acc = tcase_create("through the accounting");
  tcase_add_checked_fixture(acc, setup, teardown);
  tcase_add_test(acc, the_flows_of_each_read_add_up_to_total);
  tcase_add_test(acc, entries_that_carried_nothing_in_a_read_touch_no_key);
  tcase_add_test(acc, a_host_beyond_max_hosts_is_keyed_as_rule_3);
  tcase_add_test(acc, an_entry_s_destroy_event_adds_its_tail_to_its_key);
  suite_add_tcase(s, acc);

  TCase *many = tcase_create("many keys");
  tcase_add_checked_fixture(many, setup, teardown);
  tcase_set_timeout(many, 60);
  tcase_add_test(many, the_quickselect_picks_what_a_full_sort_ranks_first);
  tcase_add_test(many,
                 among_many_keys_the_heaviest_take_the_places_of_lighter_ones);
  suite_add_tcase(s, many);

  TCase *crafted = tcase_create("crafted keys");
  tcase_add_test(
      crafted,
      flow_keys_crafted_to_share_slots_under_a_known_key_spread_under_another);
  suite_add_tcase(s, crafted);
  return s;
}

int main(void) { return run_suite(flowkeys_suite()); }
