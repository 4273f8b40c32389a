/* kernel_table.h: entries made and deleted in the kernel's conntrack table
 * of the calling thread's namespace, over ctnetlink, for the unit tests
 * that need the real kernel (a fresh namespace of their own:
 * namespaces.h). Each entry is its tuple and the mirror of it as reply.
 * And traffic the kernel counts in an entry of its own, over the
 * namespace's loopback. */
#ifndef CTFLOW_TESTS_KERNEL_TABLE_H
#define CTFLOW_TESTS_KERNEL_TABLE_H

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TABLE_TCP_ESTABLISHED 3 /* TCP_CONNTRACK_ESTABLISHED */

struct table_tuple {
  uint8_t family, protocol;
  const char *src, *dst;
  uint16_t src_port, dst_port;
};

static inline void table_put_tuple(struct nlmsghdr *nlh, uint16_t type,
                                   const struct table_tuple *t, bool reply) {
  const char *src = reply ? t->dst : t->src, *dst = reply ? t->src : t->dst;
  uint16_t sport = reply ? t->dst_port : t->src_port;
  uint16_t dport = reply ? t->src_port : t->dst_port;
  unsigned char a[16], b[16];
  ck_assert_int_eq(inet_pton(t->family, src, a), 1);
  ck_assert_int_eq(inet_pton(t->family, dst, b), 1);
  size_t len = t->family == AF_INET ? 4 : 16;
  struct nlattr *outer = mnl_attr_nest_start(nlh, type);
  struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  mnl_attr_put(nlh, t->family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, len,
               a);
  mnl_attr_put(nlh, t->family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST, len,
               b);
  mnl_attr_nest_end(nlh, ip);
  struct nlattr *proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->protocol);
  mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
  mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
  mnl_attr_nest_end(nlh, proto);
  mnl_attr_nest_end(nlh, outer);
}

static inline int table_no_reply(const struct nlmsghdr *nlh, void *arg) {
  (void)nlh;
  (void)arg;
  return MNL_CB_OK;
}

/* Sends request nlh on a socket of its own and fails the test unless the
 * kernel acknowledges it. */
static inline void table_request(struct nlmsghdr *nlh, const char *what) {
  struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
  ck_assert_ptr_nonnull(nl);
  ck_assert_int_eq(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
  ck_assert_int_ge(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), 0);
  _Alignas(8) char buf[MNL_SOCKET_BUFFER_SIZE];
  ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
  ck_assert_int_gt(n, 0);
  ck_assert_msg(mnl_cb_run(buf, n, nlh->nlmsg_seq, mnl_socket_get_portid(nl),
                           table_no_reply, NULL) >= 0,
                "%s: %s", what, strerror(errno));
  mnl_socket_close(nl);
}

/* Starts a request of msg_type for t's family in buf. */
static inline struct nlmsghdr *table_message(char *buf, uint8_t msg_type,
                                             uint16_t flags,
                                             const struct table_tuple *t) {
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | msg_type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  nlh->nlmsg_seq = 1;
  struct nfgenmsg *nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
  nfh->nfgen_family = t->family;
  nfh->version = NFNETLINK_V0;
  table_put_tuple(nlh, CTA_TUPLE_ORIG, t, false);
  return nlh;
}

/* Creates an entry of tuple t with mark and zone. */
static inline void table_load(const struct table_tuple *t, uint32_t mark,
                              uint16_t zone) {
  _Alignas(8) char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh =
      table_message(buf, IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, t);
  table_put_tuple(nlh, CTA_TUPLE_REPLY, t, true);
  mnl_attr_put_u32(nlh, CTA_STATUS,
                   htonl(IPS_CONFIRMED | IPS_ASSURED | IPS_SEEN_REPLY));
  mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(600));
  mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
  mnl_attr_put_u16(nlh, CTA_ZONE, htons(zone));
  if (t->protocol == IPPROTO_TCP) {
    struct nlattr *info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
    struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
    mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, TABLE_TCP_ESTABLISHED);
    mnl_attr_nest_end(nlh, tcp);
    mnl_attr_nest_end(nlh, info);
  }
  table_request(nlh, "creating an entry");
}

/* Deletes the entry of tuple t (zone 0): the kernel sends its DESTROY
 * event. */
static inline void table_delete(const struct table_tuple *t) {
  _Alignas(8) char buf[MNL_SOCKET_BUFFER_SIZE];
  table_request(table_message(buf, IPCTNL_MSG_CT_DELETE, 0, t),
                "deleting an entry");
}

/* Brings the namespace's loopback up: a fresh namespace's is down. */
static inline void table_loopback_up(void) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(sock, 0);
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  ck_assert_int_eq(ioctl(sock, SIOCGIFFLAGS, &ifr), 0);
  ifr.ifr_flags |= IFF_UP;
  ck_assert_int_eq(ioctl(sock, SIOCSIFFLAGS, &ifr), 0);
  close(sock);
}

/* Has the kernel track the namespace's own traffic: it registers
 * conntrack's hooks in a namespace only once something needs them
 * (nf_ct_netns_get: a rule that matches on ct state, NAT), and tracks
 * nothing before. One nftables rule of its own does it (the nft command,
 * Debian's nftables). */
static inline void table_track_traffic(void) {
  int rc = system("nft 'add table ip ctflow_unit; "
                  "add chain ip ctflow_unit out "
                  "{ type filter hook output priority 0; }; "
                  "add rule ip ctflow_unit out ct state new accept'");
  ck_assert_msg(rc == 0, "nft failed (%d): the test needs nftables", rc);
}

/* Sends count UDP datagrams of size bytes from 127.0.0.1:src_port to
 * 127.0.0.2:dst_port over the loopback: one entry (after
 * table_track_traffic()), whose counters the kernel keeps when
 * nf_conntrack_acct is 1. Nothing listens there; the
 * kernel's answers (ICMP port unreachable) belong to the same entry. */
static inline void table_udp_traffic(uint16_t src_port, uint16_t dst_port,
                                     int count, size_t size) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(sock, 0);
  struct sockaddr_in from = {.sin_family = AF_INET,
                             .sin_port = htons(src_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct sockaddr_in to = {.sin_family = AF_INET,
                           .sin_port = htons(dst_port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1)};
  ck_assert_int_eq(bind(sock, (struct sockaddr *)&from, sizeof(from)), 0);
  char payload[1024] = {0};
  ck_assert_uint_le(size, sizeof(payload));
  for (int i = 0; i < count; i++)
    sendto(sock, payload, size, 0, (struct sockaddr *)&to, sizeof(to));
  close(sock);
}

#endif
