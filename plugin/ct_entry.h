/* ct_entry.h: one conntrack entry as ctflow sees it, decoded from netlink.
 *
 * Plain data, no pointers: the dump parses each message into one of these
 * on the stack and hands it on, so nothing is allocated per entry. */
#ifndef CTFLOW_CT_ENTRY_H
#define CTFLOW_CT_ENTRY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* An address of either family; IPv4 lives in the first 4 bytes, the rest
 * zero, so that two addresses compare with memcmp. */
union ct_addr {
  uint8_t b[16];
  uint32_t w[4];
  struct in_addr v4;
  struct in6_addr v6;
};

/* One direction of a connection. For ICMP and ICMPv6, src_port holds the
 * echo id and dst_port (type << 8 | code), as conntrack keys them. Ports
 * are in host byte order. */
struct ct_tuple {
  union ct_addr src;
  union ct_addr dst;
  uint16_t src_port;
  uint16_t dst_port;
  uint8_t l3proto; /* AF_INET or AF_INET6 */
  uint8_t l4proto; /* IPPROTO_* */
};

struct ct_counters {
  uint64_t packets;
  uint64_t bytes;
};

struct ct_entry {
  struct ct_tuple orig;  /* as the first packet was seen */
  struct ct_tuple reply; /* as replies are expected, after NAT */
  struct ct_counters orig_counters;
  struct ct_counters reply_counters;
  uint32_t id;
  uint32_t status; /* IPS_* bits */
  uint32_t mark;
  uint16_t zone;
  uint8_t tcp_state; /* TCP_CONNTRACK_*, valid when has_tcp_state */
  bool has_tcp_state;
  bool has_counters; /* false when nf_conntrack_acct was 0 at creation */
};

#endif
