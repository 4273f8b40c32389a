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

#include <arpa/inet.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ctnetlink.h"
#include "entries.h"
#include "netns.h"

#define TCP_CONNTRACK_ESTABLISHED 3

static struct ctnetlink ct;
static int table;

struct tuple {
  uint8_t family, protocol;
  const char *src, *dst;
  uint16_t src_port, dst_port;
};

static void put_tuple(struct nlmsghdr *nlh, uint16_t type,
                      const struct tuple *t, bool reply) {
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

static int no_reply(const struct nlmsghdr *nlh, void *arg) {
  (void)nlh;
  (void)arg;
  return MNL_CB_OK;
}

/* Creates an entry of tuple t (and its mirror as reply) with mark and
 * zone in the namespace's table; fails the test if the kernel refuses. */
static void load_entry(const struct tuple *t, uint32_t mark, uint16_t zone) {
  struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
  ck_assert_ptr_nonnull(nl);
  ck_assert_int_eq(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
  _Alignas(8) char buf[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
  nlh->nlmsg_seq = 1;
  struct nfgenmsg *nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
  nfh->nfgen_family = t->family;
  nfh->version = NFNETLINK_V0;
  put_tuple(nlh, CTA_TUPLE_ORIG, t, false);
  put_tuple(nlh, CTA_TUPLE_REPLY, t, true);
  mnl_attr_put_u32(nlh, CTA_STATUS,
                   htonl(IPS_CONFIRMED | IPS_ASSURED | IPS_SEEN_REPLY));
  mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(600));
  mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
  mnl_attr_put_u16(nlh, CTA_ZONE, htons(zone));
  if (t->protocol == IPPROTO_TCP) {
    struct nlattr *info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
    struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
    mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
    mnl_attr_nest_end(nlh, tcp);
    mnl_attr_nest_end(nlh, info);
  }
  ck_assert_int_ge(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), 0);
  ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
  ck_assert_int_gt(n, 0);
  ck_assert_msg(
      mnl_cb_run(buf, n, 1, mnl_socket_get_portid(nl), no_reply, NULL) >= 0,
      "creating an entry: %s", strerror(errno));
  mnl_socket_close(nl);
}

static void setup(void) {
  table = netns_fresh();
  int saved;
  ck_assert_int_eq(netns_enter(table, &saved), 0);
  close(saved);
  load_entry(
      &(struct tuple){AF_INET, IPPROTO_TCP, "10.0.0.1", "10.0.0.2", 1000, 80},
      0x1, 1);
  load_entry(
      &(struct tuple){AF_INET, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 1001, 53},
      0x2, 2);
  load_entry(&(struct tuple){AF_INET6, IPPROTO_UDP, "2001:db8::1",
                             "2001:db8::2", 1002, 53},
             0x2, 2);
  memset(&ct, 0, sizeof(ct));
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
  ck_assert_msg(
      ctnetlink_request(&ct, IPCTNL_MSG_CT_GET, NLM_F_DUMP, count, &sent) == 0,
      "dump: %s", strerror(errno));
  return sent;
}

START_TEST(an_unfiltered_dump_brings_every_entry) {
  ck_assert_uint_eq(dump().entries, 3);
}
END_TEST

START_TEST(the_kernel_sends_only_entries_of_the_mark) {
  ct.dump_by_mark = true;
  ct.dump_mark = 0x1;
  ct.dump_mark_mask = 0xffffffff;
  struct sent sent = dump();
  ck_assert_uint_eq(sent.entries, 1);
  ck_assert_uint_eq(sent.filtered, 1);
}
END_TEST

START_TEST(the_kernel_sends_only_entries_of_the_zone) {
  ct.dump_by_zone = true;
  ct.dump_zone = 1;
  struct sent sent = dump();
  ck_assert_uint_eq(sent.entries, 1);
  ck_assert_uint_eq(sent.filtered, 1);
}
END_TEST

START_TEST(the_kernel_sends_only_entries_of_the_protocol) {
  ct.dump_by_protocol = true;
  ct.dump_protocol = IPPROTO_TCP;
  struct sent sent = dump();
  ck_assert_uint_eq(sent.entries, 1);
  ck_assert_uint_eq(sent.filtered, 1);
}
END_TEST

/* One dump per family: the IPv6 entry comes too. */
START_TEST(a_dump_by_protocol_brings_both_families) {
  ct.dump_by_protocol = true;
  ct.dump_protocol = IPPROTO_UDP;
  struct sent sent = dump();
  ck_assert_uint_eq(sent.entries, 2);
  ck_assert_uint_eq(sent.filtered, 2);
}
END_TEST

START_TEST(the_kernel_ands_protocol_zone_and_mark) {
  ct.dump_by_protocol = true;
  ct.dump_protocol = IPPROTO_UDP;
  ct.dump_by_zone = true;
  ct.dump_zone = 1;
  ct.dump_by_mark = true;
  ct.dump_mark = 0x2;
  ct.dump_mark_mask = 0xffffffff;
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
