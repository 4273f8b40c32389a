/* entries.h: what the unit tests share: synthetic conntrack entries, built
 * as ct_parse() leaves them: zeroed first (flow_tuple_hash() reads the whole
 * tuple, padding included), then filled field by field, never copied; and
 * the main that runs a suite.
 *
 * The tests stand in a café: its LAN is 192.168.1.0/24 and 2001:db8:1::/64,
 * behind a router whose public address is 203.0.113.1. */
#ifndef CTFLOW_TESTS_ENTRIES_H
#define CTFLOW_TESTS_ENTRIES_H

#include <arpa/inet.h>
#include <check.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ct_entry.h"
#include "localnet.h"

/* Local hosts. */
#define LAPTOP "192.168.1.23"
#define PHONE "192.168.1.42"
#define SERVER "192.168.1.10" /* the router forwards port 8080 to it */
#define LAPTOP6 "2001:db8:1::23"
#define PHONE6 "2001:db8:1::42"

/* Remote ones. */
#define ROUTER_WAN "203.0.113.1"
#define WEB "93.184.216.34"
#define RESOLVER "9.9.9.9"
#define VISITOR "198.51.100.7"
#define WEB6 "2001:db8:ff::34"
#define VISITOR6 "2001:db8:ee::7"

/* Fills net with the café's LAN (not LocalNetwork's default). */
static inline void localnet_cafe(struct localnet *net) {
  net->count = 0;
  ck_assert_int_eq(localnet_add(net, "192.168.1.0/24"), 0);
  ck_assert_int_eq(localnet_add(net, "2001:db8:1::/64"), 0);
}

/* Returns the family of an address text: only IPv6 text has a colon. */
static inline uint8_t family_of(const char *text) {
  return strchr(text, ':') ? AF_INET6 : AF_INET;
}

/* Returns the address text names; fails the test when it names none. */
static inline union ct_addr addr_of(const char *text) {
  union ct_addr addr;
  memset(&addr, 0, sizeof(addr));
  ck_assert_msg(inet_pton(family_of(text), text, &addr) == 1,
                "not an address: \"%s\"", text);
  return addr;
}

/* Returns whether addr is the address text names. */
static inline bool addr_is(const union ct_addr *addr, const char *text) {
  union ct_addr want = addr_of(text);
  return memcmp(addr, &want, sizeof(want)) == 0;
}

/* Fills one direction of a connection. */
static inline void tuple_set(struct ct_tuple *t, uint8_t l4proto,
                             const char *src, uint16_t src_port,
                             const char *dst, uint16_t dst_port) {
  ck_assert_int_eq(family_of(src), family_of(dst));
  t->src = addr_of(src);
  t->dst = addr_of(dst);
  t->src_port = src_port;
  t->dst_port = dst_port;
  t->l3proto = family_of(src);
  t->l4proto = l4proto;
}

/* Fills *e with a connection from src:src_port to dst:dst_port that no NAT
 * touched (the reply tuple is the original reversed), with counters at
 * zero, ID 1 and zone 0. */
static inline void entry_flow(struct ct_entry *e, uint8_t l4proto,
                              const char *src, uint16_t src_port,
                              const char *dst, uint16_t dst_port) {
  memset(e, 0, sizeof(*e));
  tuple_set(&e->orig, l4proto, src, src_port, dst, dst_port);
  tuple_set(&e->reply, l4proto, dst, dst_port, src, src_port);
  e->id = 1;
  e->has_counters = true;
}

/* An established TCP connection. */
static inline void entry_tcp(struct ct_entry *e, const char *src,
                             uint16_t src_port, const char *dst,
                             uint16_t dst_port) {
  entry_flow(e, IPPROTO_TCP, src, src_port, dst, dst_port);
  e->tcp_state = TCP_CONNTRACK_ESTABLISHED;
  e->has_tcp_state = true;
}

/* A UDP exchange. */
static inline void entry_udp(struct ct_entry *e, const char *src,
                             uint16_t src_port, const char *dst,
                             uint16_t dst_port) {
  entry_flow(e, IPPROTO_UDP, src, src_port, dst, dst_port);
}

/* An echo request and its replies, ICMP or ICMPv6 by the addresses' family:
 * conntrack keys both directions by the echo id and the message type. */
static inline void entry_ping(struct ct_entry *e, const char *src,
                              const char *dst, uint16_t echo_id) {
  bool v6 = family_of(src) == AF_INET6;
  uint16_t request = (v6 ? 128 : 8) << 8, reply = (v6 ? 129 : 0) << 8;
  entry_flow(e, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, src, echo_id, dst, request);
  e->reply.src_port = echo_id;
  e->reply.dst_port = reply;
}

/* Rewrites where replies go, as SNAT or masquerade does: to addr:port. */
static inline void entry_snat(struct ct_entry *e, const char *addr,
                              uint16_t port) {
  e->reply.dst = addr_of(addr);
  e->reply.dst_port = port;
}

/* Rewrites where replies come from, as DNAT (a port forward) does: from
 * addr:port, the internal server. */
static inline void entry_dnat(struct ct_entry *e, const char *addr,
                              uint16_t port) {
  e->reply.src = addr_of(addr);
  e->reply.src_port = port;
}

/* Sets what the original and the reply direction carried so far. */
static inline void entry_counters(struct ct_entry *e, uint64_t orig_packets,
                                  uint64_t orig_bytes, uint64_t reply_packets,
                                  uint64_t reply_bytes) {
  e->orig_counters.packets = orig_packets;
  e->orig_counters.bytes = orig_bytes;
  e->reply_counters.packets = reply_packets;
  e->reply_counters.bytes = reply_bytes;
}

/* The laptop browsing the web through the router's masquerade, with ID id. */
static inline void entry_browsing(struct ct_entry *e, uint32_t id) {
  entry_tcp(e, LAPTOP, 51234, WEB, 443);
  entry_snat(e, ROUTER_WAN, 51234);
  e->id = id;
}

/* A visitor reaching the server through the router's port forward
 * (ROUTER_WAN:8080 -> SERVER:80), with ID id. */
static inline void entry_port_forward(struct ct_entry *e, uint32_t id) {
  entry_tcp(e, VISITOR, 40000, ROUTER_WAN, 8080);
  entry_dnat(e, SERVER, 80);
  e->id = id;
}

/* Runs suite, printing Check's report. Returns main's exit status. */
static inline int run_suite(Suite *suite) {
  SRunner *sr = srunner_create(suite);
  srunner_run_all(sr, CK_NORMAL);
  int failures = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failures != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
