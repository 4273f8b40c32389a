/* check_parse.c: ct_parse on conntrack messages captured from the real
 * kernel (tests/fixtures, made by capture.sh), and on those messages broken
 * in every way a reader of the wire can meet. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ct_parse.h"
#include "fixture.h"

/* Every dumped entry is confirmed, and every captured one saw replies
 * (conntrack listed none [UNREPLIED]); it listed [ASSURED] on TCP only. */
#define REPLIED (IPS_CONFIRMED | IPS_SEEN_REPLY)
#define ASSURED (REPLIED | IPS_ASSURED)

/* What capture.sh made and `conntrack -L -o extended,id` listed at capture
 * time (tests/fixtures/README). No NAT: each reply tuple is the original
 * reversed. Byte counts are whole IP packets: a TCP segment without data is
 * 52 bytes over IPv4 (20 IP + 20 TCP + 12 timestamps), a SYN or SYN-ACK 60
 * (MSS, SACK, window scale); IPv6 adds 20 to each. */
struct expect {
  const char *file;
  uint8_t family, proto;
  const char *client, *server;
  uint16_t orig_src_port, orig_dst_port; /* ICMP: id, type << 8 | code */
  uint16_t reply_src_port, reply_dst_port;
  int tcp_state; /* -1: not TCP */
  bool counters;
  struct ct_counters orig, reply;
  uint32_t id, status, mark;
  uint16_t zone;
};

static const struct expect fixtures[] = {
    /* nf_conntrack_acct=1, nftables put every entry in zone 7, mark 42. */
    {.file = "ipv4-tcp-established.bin",
     .family = AF_INET,
     .proto = IPPROTO_TCP,
     .client = "10.77.0.1",
     .server = "10.77.0.2",
     .orig_src_port = 40001,
     .orig_dst_port = 5001,
     .reply_src_port = 5001,
     .reply_dst_port = 40001,
     .tcp_state = TCP_CONNTRACK_ESTABLISHED,
     .counters = true,
     .orig = {2, 60 + 52}, /* SYN, ACK */
     .reply = {1, 60},     /* SYN-ACK */
     .id = 2049740240u,
     .status = ASSURED,
     .mark = 42,
     .zone = 7},
    {.file = "ipv4-tcp-time-wait.bin",
     .family = AF_INET,
     .proto = IPPROTO_TCP,
     .client = "10.77.0.1",
     .server = "10.77.0.2",
     .orig_src_port = 40003,
     .orig_dst_port = 5003,
     .reply_src_port = 5003,
     .reply_dst_port = 40003,
     .tcp_state = TCP_CONNTRACK_TIME_WAIT,
     .counters = true,
     .orig = {5, 60 + 52 + (52 + 6) + 52 + 52}, /* SYN ACK "hello\n" FIN ACK */
     .reply = {3, 60 + 52 + 52},                /* SYN-ACK, ACK, FIN */
     .id = 922382388u,
     .status = ASSURED,
     .mark = 42,
     .zone = 7},
    {.file = "ipv4-udp.bin",
     .family = AF_INET,
     .proto = IPPROTO_UDP,
     .client = "10.77.0.1",
     .server = "10.77.0.2",
     .orig_src_port = 40002,
     .orig_dst_port = 5002,
     .reply_src_port = 5002,
     .reply_dst_port = 40002,
     .tcp_state = -1,
     .counters = true,
     .orig = {3, 3 * (20 + 8 + 100)},
     .reply = {3, 3 * (20 + 8 + 20)},
     .id = 2223572069u,
     .status = REPLIED,
     .mark = 42,
     .zone = 7},
    {.file = "ipv4-icmp.bin",
     .family = AF_INET,
     .proto = IPPROTO_ICMP,
     .client = "10.77.0.1",
     .server = "10.77.0.2",
     .orig_src_port = 0x1234,
     .orig_dst_port = 8 << 8, /* echo request */
     .reply_src_port = 0x1234,
     .reply_dst_port = 0 << 8, /* echo reply */
     .tcp_state = -1,
     .counters = true,
     .orig = {3, 3 * (20 + 8 + 56)},
     .reply = {3, 3 * (20 + 8 + 56)},
     .id = 237407577u,
     .status = REPLIED,
     .mark = 42,
     .zone = 7},
    {.file = "ipv6-tcp-established.bin",
     .family = AF_INET6,
     .proto = IPPROTO_TCP,
     .client = "fd77::1",
     .server = "fd77::2",
     .orig_src_port = 40011,
     .orig_dst_port = 5011,
     .reply_src_port = 5011,
     .reply_dst_port = 40011,
     .tcp_state = TCP_CONNTRACK_ESTABLISHED,
     .counters = true,
     .orig = {2, 80 + 72},
     .reply = {1, 80},
     .id = 3748809359u,
     .status = ASSURED,
     .mark = 42,
     .zone = 7},
    {.file = "ipv6-udp.bin",
     .family = AF_INET6,
     .proto = IPPROTO_UDP,
     .client = "fd77::1",
     .server = "fd77::2",
     .orig_src_port = 40012,
     .orig_dst_port = 5012,
     .reply_src_port = 5012,
     .reply_dst_port = 40012,
     .tcp_state = -1,
     .counters = true,
     .orig = {3, 3 * (40 + 8 + 100)},
     .reply = {3, 3 * (40 + 8 + 20)},
     .id = 2406470979u,
     .status = REPLIED,
     .mark = 42,
     .zone = 7},
    {.file = "ipv6-icmp.bin",
     .family = AF_INET6,
     .proto = IPPROTO_ICMPV6,
     .client = "fd77::1",
     .server = "fd77::2",
     .orig_src_port = 0x5678,
     .orig_dst_port = 128 << 8, /* echo request */
     .reply_src_port = 0x5678,
     .reply_dst_port = 129 << 8, /* echo reply */
     .tcp_state = -1,
     .counters = true,
     .orig = {3, 3 * (40 + 8 + 56)},
     .reply = {3, 3 * (40 + 8 + 56)},
     .id = 1563769880u,
     .status = REPLIED,
     .mark = 42,
     .zone = 7},
    /* nf_conntrack_acct=0, zone 0, no mark. */
    {.file = "ipv4-tcp-established-noacct.bin",
     .family = AF_INET,
     .proto = IPPROTO_TCP,
     .client = "10.77.0.1",
     .server = "10.77.0.2",
     .orig_src_port = 40001,
     .orig_dst_port = 5001,
     .reply_src_port = 5001,
     .reply_dst_port = 40001,
     .tcp_state = TCP_CONNTRACK_ESTABLISHED,
     .id = 368859861u,
     .status = ASSURED},
    {.file = "ipv4-udp-noacct.bin",
     .family = AF_INET,
     .proto = IPPROTO_UDP,
     .client = "10.77.0.1",
     .server = "10.77.0.2",
     .orig_src_port = 40002,
     .orig_dst_port = 5002,
     .reply_src_port = 5002,
     .reply_dst_port = 40002,
     .tcp_state = -1,
     .id = 3934453579u,
     .status = REPLIED},
    {.file = "ipv4-icmp-noacct.bin",
     .family = AF_INET,
     .proto = IPPROTO_ICMP,
     .client = "10.77.0.1",
     .server = "10.77.0.2",
     .orig_src_port = 0x1234,
     .orig_dst_port = 8 << 8,
     .reply_src_port = 0x1234,
     .reply_dst_port = 0 << 8,
     .tcp_state = -1,
     .id = 4066740120u,
     .status = REPLIED},
    {.file = "ipv6-icmp-noacct.bin",
     .family = AF_INET6,
     .proto = IPPROTO_ICMPV6,
     .client = "fd77::1",
     .server = "fd77::2",
     .orig_src_port = 0x5678,
     .orig_dst_port = 128 << 8,
     .reply_src_port = 0x5678,
     .reply_dst_port = 129 << 8,
     .tcp_state = -1,
     .id = 675757467u,
     .status = REPLIED},
};
#define N_FIXTURES ((int)(sizeof(fixtures) / sizeof(fixtures[0])))

#define EXPECT_EQ(x, what, got, want)                                          \
  ck_assert_msg((uint64_t)(got) == (uint64_t)(want),                           \
                "%s: %s is %llu, want %llu", (x)->file, what,                  \
                (unsigned long long)(got), (unsigned long long)(want))

/* Returns the entry ct_parse decodes from fixture x; fails if rejected. */
static struct ct_entry parse_fixture(const struct expect *x) {
  size_t len;
  void *msg = fixture_load(x->file, &len);
  struct ct_entry e;
  int rc = ct_parse(msg, len, &e);
  free(msg);
  ck_assert_msg(rc == 0, "%s: rejected (%s)", x->file, strerror(errno));
  return e;
}

/* Returns the address as ct_entry.h promises it: IPv4 in the first 4
 * bytes, the rest zero. */
static union ct_addr address(uint8_t family, const char *text) {
  union ct_addr a;
  memset(&a, 0, sizeof(a));
  ck_assert_int_eq(inet_pton(family, text, &a), 1);
  return a;
}

static void expect_tuple(const struct expect *x, const char *which,
                         const struct ct_tuple *t, const char *src,
                         const char *dst, uint16_t src_port,
                         uint16_t dst_port) {
  union ct_addr want_src = address(x->family, src);
  union ct_addr want_dst = address(x->family, dst);
  ck_assert_msg(memcmp(&t->src, &want_src, sizeof(want_src)) == 0,
                "%s: %s source is not %s", x->file, which, src);
  ck_assert_msg(memcmp(&t->dst, &want_dst, sizeof(want_dst)) == 0,
                "%s: %s destination is not %s", x->file, which, dst);
  EXPECT_EQ(x, "l3proto", t->l3proto, x->family);
  EXPECT_EQ(x, "l4proto", t->l4proto, x->proto);
  EXPECT_EQ(x, "source port", t->src_port, src_port);
  EXPECT_EQ(x, "destination port", t->dst_port, dst_port);
}

START_TEST(test_captured_message_is_accepted) {
  size_t len;
  void *msg = fixture_load(fixtures[_i].file, &len);
  struct ct_entry e;
  ck_assert_int_eq(ct_parse(msg, len, &e), 0);
  free(msg);
}
END_TEST

START_TEST(test_orig_tuple_is_the_flow_the_client_opened) {
  const struct expect *x = &fixtures[_i];
  struct ct_entry e = parse_fixture(x);
  expect_tuple(x, "orig", &e.orig, x->client, x->server, x->orig_src_port,
               x->orig_dst_port);
}
END_TEST

START_TEST(test_reply_tuple_is_the_servers_answer) {
  const struct expect *x = &fixtures[_i];
  struct ct_entry e = parse_fixture(x);
  expect_tuple(x, "reply", &e.reply, x->server, x->client, x->reply_src_port,
               x->reply_dst_port);
}
END_TEST

START_TEST(test_tcp_state_is_the_state_conntrack_listed) {
  const struct expect *x = &fixtures[_i];
  struct ct_entry e = parse_fixture(x);
  EXPECT_EQ(x, "has_tcp_state", e.has_tcp_state, x->tcp_state >= 0);
  if (x->tcp_state >= 0)
    EXPECT_EQ(x, "tcp_state", e.tcp_state, x->tcp_state);
}
END_TEST

START_TEST(test_counters_are_the_packets_and_bytes_sent) {
  const struct expect *x = &fixtures[_i];
  struct ct_entry e = parse_fixture(x);
  EXPECT_EQ(x, "has_counters", e.has_counters, x->counters);
  EXPECT_EQ(x, "orig packets", e.orig_counters.packets, x->orig.packets);
  EXPECT_EQ(x, "orig bytes", e.orig_counters.bytes, x->orig.bytes);
  EXPECT_EQ(x, "reply packets", e.reply_counters.packets, x->reply.packets);
  EXPECT_EQ(x, "reply bytes", e.reply_counters.bytes, x->reply.bytes);
}
END_TEST

START_TEST(test_id_is_the_id_conntrack_listed) {
  const struct expect *x = &fixtures[_i];
  EXPECT_EQ(x, "id", parse_fixture(x).id, x->id);
}
END_TEST

START_TEST(test_zone_is_the_zone_nftables_set) {
  const struct expect *x = &fixtures[_i];
  EXPECT_EQ(x, "zone", parse_fixture(x).zone, x->zone);
}
END_TEST

START_TEST(test_mark_is_the_mark_nftables_set) {
  const struct expect *x = &fixtures[_i];
  EXPECT_EQ(x, "mark", parse_fixture(x).mark, x->mark);
}
END_TEST

START_TEST(test_status_has_the_bits_the_entry_earned) {
  const struct expect *x = &fixtures[_i];
  EXPECT_EQ(x, "status", parse_fixture(x).status, x->status);
}
END_TEST

/* Malformed messages, made from the captured ones. The test walks the
 * attributes itself, so that it knows where each is without ct_parse. */

struct attr_at {
  size_t off;        /* the attribute's header in the message */
  size_t parent_end; /* where its nest, or the message, ends */
};

/* Lists the attributes in msg[start, end) and, depth first, those inside
 * them (the kernel flags every nest NLA_F_NESTED). Returns the new n. */
static size_t list_attrs(const uint8_t *msg, size_t start, size_t end,
                         struct attr_at *out, size_t n, size_t max) {
  for (size_t off = start; off + MNL_ATTR_HDRLEN <= end;) {
    uint16_t len = get_u16(msg + off), type = get_u16(msg + off + 2);
    ck_assert(len >= MNL_ATTR_HDRLEN && off + len <= end && n < max);
    out[n++] = (struct attr_at){off, end};
    if (type & NLA_F_NESTED)
      n = list_attrs(msg, off + MNL_ATTR_HDRLEN, off + len, out, n, max);
    off += MNL_ALIGN(len);
  }
  return n;
}

/* Returns the offset of the attribute of type in msg[start, end). */
static size_t find_attr(const uint8_t *msg, size_t start, size_t end,
                        uint16_t type) {
  for (size_t off = start; off + MNL_ATTR_HDRLEN <= end;
       off += MNL_ALIGN(get_u16(msg + off))) {
    ck_assert(get_u16(msg + off) >= MNL_ATTR_HDRLEN);
    if ((get_u16(msg + off + 2) & NLA_TYPE_MASK) == type)
      return off;
  }
  ck_abort_msg("no attribute of type %u", type);
  return 0;
}

/* Returns the offset of the top-level attribute of type. */
static size_t top_attr(const uint8_t *msg, uint16_t type) {
  return find_attr(msg, PAYLOAD, msg_len(msg), type);
}

/* Returns the offset of the attribute of type inside the nest at nest. */
static size_t inner_attr(const uint8_t *msg, size_t nest, uint16_t type) {
  return find_attr(msg, nest + MNL_ATTR_HDRLEN, nest + get_u16(msg + nest),
                   type);
}

/* Returns the offset of the address attribute of type in the tuple. */
static size_t address_attr(const uint8_t *msg, uint16_t tuple, uint16_t type) {
  return inner_attr(msg, inner_attr(msg, top_attr(msg, tuple), CTA_TUPLE_IP),
                    type);
}

static void retype(uint8_t *msg, size_t off, uint16_t type) {
  set_u16(msg + off + 2, (get_u16(msg + off + 2) & ~NLA_TYPE_MASK) | type);
}

/* Returns what ct_parse makes of len bytes of msg, through *e and *err
 * (errno), run on two copies: one in an exact-size heap buffer, where ASan
 * sees ct_parse's own code read past it, and one before a guard page,
 * where a read by libmnl faults. Both runs must agree. */
static int parse_copy(const void *msg, size_t len, struct ct_entry *e,
                      int *err) {
  void *heap = fixture_copy(msg, len);
  errno = 0;
  int rc = ct_parse(heap, len, e);
  *err = errno;
  free(heap);
  void *guarded = fixture_guarded_copy(msg, len);
  errno = 0;
  ck_assert_int_eq(ct_parse(guarded, len, e), rc);
  ck_assert_int_eq(errno, *err);
  fixture_guarded_free(guarded, len);
  return rc;
}

static void expect_rejected(const void *msg, size_t len, const char *what) {
  struct ct_entry e;
  int err;
  ck_assert_msg(parse_copy(msg, len, &e, &err) == -1, "%s: accepted", what);
  ck_assert_msg(err == EBADMSG, "%s: errno %d, want EBADMSG", what, err);
}

static void expect_accepted(const void *msg, size_t len, const char *what) {
  struct ct_entry e;
  int err;
  ck_assert_msg(parse_copy(msg, len, &e, &err) == 0, "%s: rejected (%s)", what,
                strerror(err));
}

START_TEST(test_message_cut_short_is_rejected) {
  size_t len;
  uint8_t *msg = fixture_load(fixtures[_i].file, &len);
  for (size_t cut = 0; cut < len; cut++) {
    char what[128];
    snprintf(what, sizeof(what), "%s cut at %zu", fixtures[_i].file, cut);
    expect_rejected(msg, cut, what);
  }
  free(msg);
}
END_TEST

/* libmnl 1.0.4's mnl_nlmsg_ok() compares nlmsg_len as an int, so to it a
 * length of 2^31 or more fits any buffer; a parser that trusts it walks
 * the attributes on past the message. */
START_TEST(test_message_claiming_2_31_bytes_or_more_is_rejected) {
  const uint32_t claims[] = {UINT32_C(1) << 31, UINT32_C(0xffff00a4),
                             UINT32_MAX};
  size_t len;
  uint8_t *msg = fixture_load(fixtures[_i].file, &len);
  for (size_t c = 0; c < sizeof(claims) / sizeof(claims[0]); c++) {
    char what[128];
    snprintf(what, sizeof(what), "%s claiming %u bytes", fixtures[_i].file,
             claims[c]);
    set_msg_len(msg, claims[c]);
    expect_rejected(msg, len, what);
  }
  free(msg);
}
END_TEST

/* A message whose nlmsg_len was cut too is whole by its header: it is good
 * when the cut falls after both tuples at the end of a top-level attribute
 * (or in its padding), as if the kernel had sent fewer attributes, and bad
 * anywhere else. */
START_TEST(test_message_shortened_is_accepted_only_after_a_whole_attribute) {
  size_t len;
  uint8_t *msg = fixture_load(fixtures[_i].file, &len);
  size_t reply = top_attr(msg, CTA_TUPLE_REPLY);
  for (size_t cut = sizeof(uint32_t); cut < len; cut++) {
    bool whole = false;
    for (size_t off = reply; off < len; off += MNL_ALIGN(get_u16(msg + off)))
      whole |= off + get_u16(msg + off) <= cut &&
               cut <= off + MNL_ALIGN(get_u16(msg + off));
    set_msg_len(msg, cut);
    char what[128];
    snprintf(what, sizeof(what), "%s shortened to %zu", fixtures[_i].file, cut);
    if (whole)
      expect_accepted(msg, cut, what);
    else
      expect_rejected(msg, cut, what);
  }
  free(msg);
}
END_TEST

enum corruption { RUNS_PAST_PARENT, SHORTER_THAN_HEADER, ZERO };

/* Sets the length of each attribute of fixture i in turn, at every depth,
 * to a bad one, and expects each such message rejected. */
static void expect_bad_lengths_rejected(int i, enum corruption how) {
  size_t len;
  uint8_t *msg = fixture_load(fixtures[i].file, &len);
  struct attr_at attrs[64];
  size_t n = list_attrs(msg, PAYLOAD, len, attrs, 0, 64);
  ck_assert_uint_gt(n, 10);
  for (size_t a = 0; a < n; a++) {
    uint8_t *bad = fixture_copy(msg, len);
    uint16_t bad_len = how == RUNS_PAST_PARENT
                           ? attrs[a].parent_end - attrs[a].off + 4
                       : how == SHORTER_THAN_HEADER ? MNL_ATTR_HDRLEN - 1
                                                    : 0;
    set_u16(bad + attrs[a].off, bad_len);
    char what[128];
    snprintf(what, sizeof(what), "%s, attribute at %zu of length %u",
             fixtures[i].file, attrs[a].off, bad_len);
    expect_rejected(bad, len, what);
    free(bad);
  }
  free(msg);
}

START_TEST(test_attribute_running_past_its_nest_is_rejected) {
  expect_bad_lengths_rejected(_i, RUNS_PAST_PARENT);
}
END_TEST

START_TEST(test_attribute_shorter_than_its_header_is_rejected) {
  expect_bad_lengths_rejected(_i, SHORTER_THAN_HEADER);
}
END_TEST

START_TEST(test_attribute_of_length_zero_is_rejected) {
  expect_bad_lengths_rejected(_i, ZERO);
}
END_TEST

/* Returns a copy of msg without its top-level attribute of type. */
static uint8_t *without_attr(const uint8_t *msg, uint16_t type,
                             size_t *new_len) {
  size_t len = msg_len(msg), off = top_attr(msg, type);
  size_t gap = MNL_ALIGN(get_u16(msg + off));
  uint8_t *out = malloc(len - gap);
  ck_assert_ptr_nonnull(out);
  memcpy(out, msg, off);
  memcpy(out + off, msg + off + gap, len - off - gap);
  set_msg_len(out, len - gap);
  *new_len = len - gap;
  return out;
}

START_TEST(test_message_without_reply_tuple_is_rejected) {
  size_t len, cut_len;
  uint8_t *msg = fixture_load("ipv4-udp.bin", &len);
  uint8_t *cut = without_attr(msg, CTA_TUPLE_REPLY, &cut_len);
  expect_rejected(cut, cut_len, "without reply tuple");
  free(cut);
  free(msg);
}
END_TEST

START_TEST(test_message_without_orig_tuple_is_rejected) {
  size_t len, cut_len;
  uint8_t *msg = fixture_load("ipv6-udp.bin", &len);
  uint8_t *cut = without_attr(msg, CTA_TUPLE_ORIG, &cut_len);
  expect_rejected(cut, cut_len, "without orig tuple");
  free(cut);
  free(msg);
}
END_TEST

/* An attribute type ct_parse does not know is skipped, so retyping one
 * takes it out of the tuple without moving a byte. */
#define UNKNOWN_TYPE 0x3ff

START_TEST(test_tuple_without_protocol_is_rejected) {
  size_t len;
  uint8_t *msg = fixture_load("ipv4-tcp-established.bin", &len);
  retype(msg, inner_attr(msg, top_attr(msg, CTA_TUPLE_REPLY), CTA_TUPLE_PROTO),
         UNKNOWN_TYPE);
  expect_rejected(msg, len, "reply tuple without protocol");
  free(msg);
}
END_TEST

START_TEST(test_tuple_without_destination_address_is_rejected) {
  size_t len;
  uint8_t *msg = fixture_load("ipv6-icmp.bin", &len);
  retype(msg, address_attr(msg, CTA_TUPLE_ORIG, CTA_IP_V6_DST), UNKNOWN_TYPE);
  expect_rejected(msg, len, "orig tuple without destination");
  free(msg);
}
END_TEST

START_TEST(test_ipv4_address_of_16_bytes_is_rejected) {
  size_t len;
  uint8_t *msg = fixture_load("ipv6-udp.bin", &len);
  retype(msg, address_attr(msg, CTA_TUPLE_ORIG, CTA_IP_V6_SRC), CTA_IP_V4_SRC);
  expect_rejected(msg, len, "16-byte IPv4 source");
  free(msg);
}
END_TEST

START_TEST(test_ipv6_address_of_4_bytes_is_rejected) {
  size_t len;
  uint8_t *msg = fixture_load("ipv4-udp.bin", &len);
  retype(msg, address_attr(msg, CTA_TUPLE_REPLY, CTA_IP_V4_DST), CTA_IP_V6_DST);
  expect_rejected(msg, len, "4-byte IPv6 destination");
  free(msg);
}
END_TEST

/* 6 bytes: 2 of address, and the next attribute stays where it was. */
START_TEST(test_ipv4_address_of_2_bytes_is_rejected) {
  size_t len;
  uint8_t *msg = fixture_load("ipv4-icmp.bin", &len);
  set_u16(msg + address_attr(msg, CTA_TUPLE_ORIG, CTA_IP_V4_SRC),
          MNL_ATTR_HDRLEN + 2);
  expect_rejected(msg, len, "2-byte IPv4 source");
  free(msg);
}
END_TEST

/* How build_udp_entry() strays from what the kernel writes. */
enum oddity {
  NO_ODDITY,
  MIXED_FAMILIES,   /* the orig destination is the IPv6 fd77::2 */
  PORT_AND_ICMP_ID, /* the orig tuple has an ICMP id besides its ports */
  SECOND_IP_NEST,   /* the orig tuple has a second, empty CTA_TUPLE_IP */
  SECOND_ORIG,      /* a second CTA_TUPLE_ORIG follows, without ports */
};

/* Puts a UDP tuple from src:sport to dst:dport, of IPv6 dst when dst6 is
 * given, without ports when sport is 0. */
static void put_tuple(struct nlmsghdr *nlh, uint16_t type, uint32_t src,
                      uint32_t dst, const struct in6_addr *dst6, uint16_t sport,
                      uint16_t dport, enum oddity oddity) {
  struct nlattr *tuple = mnl_attr_nest_start(nlh, type);
  struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, src);
  if (dst6)
    mnl_attr_put(nlh, CTA_IP_V6_DST, sizeof(*dst6), dst6);
  else
    mnl_attr_put_u32(nlh, CTA_IP_V4_DST, dst);
  mnl_attr_nest_end(nlh, ip);
  if (oddity == SECOND_IP_NEST)
    mnl_attr_nest_end(nlh, mnl_attr_nest_start(nlh, CTA_TUPLE_IP));
  struct nlattr *proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
  if (oddity == PORT_AND_ICMP_ID)
    mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(4660));
  if (sport) {
    mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
    mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
  }
  mnl_attr_nest_end(nlh, proto);
  mnl_attr_nest_end(nlh, tuple);
}

/* Builds a UDP entry 10.77.0.1:40002 -> 10.77.0.2:5002 in buf, with the
 * oddity. Returns its length. */
static size_t build_udp_entry(void *buf, enum oddity oddity) {
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW;
  struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
  nfg->nfgen_family = AF_INET;
  struct in6_addr v6;
  ck_assert_int_eq(inet_pton(AF_INET6, "fd77::2", &v6), 1);
  uint32_t client = htonl(0x0a4d0001), server = htonl(0x0a4d0002);
  put_tuple(nlh, CTA_TUPLE_ORIG, client, server,
            oddity == MIXED_FAMILIES ? &v6 : NULL, 40002, 5002, oddity);
  put_tuple(nlh, CTA_TUPLE_REPLY, server, client, NULL, 5002, 40002, NO_ODDITY);
  if (oddity == SECOND_ORIG)
    put_tuple(nlh, CTA_TUPLE_ORIG, client, server, NULL, 0, 0, NO_ODDITY);
  return nlh->nlmsg_len;
}

/* The control for the next test: the builder makes messages ct_parse
 * takes. */
START_TEST(test_built_entry_of_one_family_is_accepted) {
  uint8_t buf[512];
  size_t len = build_udp_entry(buf, NO_ODDITY);
  uint8_t *msg = fixture_copy(buf, len);
  struct ct_entry e;
  ck_assert_int_eq(ct_parse(msg, len, &e), 0);
  ck_assert_uint_eq(e.orig.dst_port, 5002);
  free(msg);
}
END_TEST

/* Such a tuple would be classified under a made-up IPv6 host. */
START_TEST(test_tuple_mixing_ipv4_and_ipv6_addresses_is_rejected) {
  uint8_t buf[512];
  size_t len = build_udp_entry(buf, MIXED_FAMILIES);
  uint8_t *msg = fixture_copy(buf, len);
  expect_rejected(msg, len, "IPv4 source, IPv6 destination");
  free(msg);
}
END_TEST

/* The kernel writes an entry's family into nfgen_family
 * (ctnetlink_fill_info: nf_ct_l3num), so tuples of another family are not
 * the kernel's; libnetfilter_conntrack would read such an entry as of the
 * message's family. */
START_TEST(test_tuples_of_another_family_than_the_message_are_rejected) {
  uint8_t buf[512];
  size_t len = build_udp_entry(buf, NO_ODDITY);
  struct nfgenmsg *nfg = mnl_nlmsg_get_payload((struct nlmsghdr *)buf);
  const uint8_t families[] = {AF_UNSPEC, AF_INET6, 0xf5};
  for (size_t f = 0; f < sizeof(families); f++) {
    char what[64];
    nfg->nfgen_family = families[f];
    snprintf(what, sizeof(what), "IPv4 tuples, nfgen_family %u", families[f]);
    expect_rejected(buf, len, what);
  }
}
END_TEST

/* The kernel writes each attribute once; with two, which one counts is
 * the parser's guess, and libnetfilter_conntrack guesses the last (of a
 * nest, the last nest alone). */
static void expect_oddity_rejected(enum oddity oddity, const char *what) {
  uint8_t buf[512];
  size_t len = build_udp_entry(buf, oddity);
  expect_rejected(buf, len, what);
}

START_TEST(test_tuple_with_a_port_and_an_icmp_id_is_rejected) {
  expect_oddity_rejected(PORT_AND_ICMP_ID, "source port and ICMP id");
}
END_TEST

START_TEST(test_tuple_with_a_second_address_nest_is_rejected) {
  expect_oddity_rejected(SECOND_IP_NEST, "a second, empty CTA_TUPLE_IP");
}
END_TEST

START_TEST(test_message_with_a_second_orig_tuple_is_rejected) {
  expect_oddity_rejected(SECOND_ORIG, "a second CTA_TUPLE_ORIG");
}
END_TEST

static Suite *parse_suite(void) {
  Suite *s = suite_create("ct_parse");
  TCase *tc = tcase_create("captured");
  tcase_add_loop_test(tc, test_captured_message_is_accepted, 0, N_FIXTURES);
  tcase_add_loop_test(tc, test_orig_tuple_is_the_flow_the_client_opened, 0,
                      N_FIXTURES);
  tcase_add_loop_test(tc, test_reply_tuple_is_the_servers_answer, 0,
                      N_FIXTURES);
  tcase_add_loop_test(tc, test_tcp_state_is_the_state_conntrack_listed, 0,
                      N_FIXTURES);
  tcase_add_loop_test(tc, test_counters_are_the_packets_and_bytes_sent, 0,
                      N_FIXTURES);
  tcase_add_loop_test(tc, test_id_is_the_id_conntrack_listed, 0, N_FIXTURES);
  tcase_add_loop_test(tc, test_zone_is_the_zone_nftables_set, 0, N_FIXTURES);
  tcase_add_loop_test(tc, test_mark_is_the_mark_nftables_set, 0, N_FIXTURES);
  tcase_add_loop_test(tc, test_status_has_the_bits_the_entry_earned, 0,
                      N_FIXTURES);
  suite_add_tcase(s, tc);

  tc = tcase_create("truncated");
  tcase_add_loop_test(tc, test_message_cut_short_is_rejected, 0, N_FIXTURES);
  tcase_add_loop_test(tc, test_message_claiming_2_31_bytes_or_more_is_rejected,
                      0, N_FIXTURES);
  tcase_add_loop_test(
      tc, test_message_shortened_is_accepted_only_after_a_whole_attribute, 0,
      N_FIXTURES);
  suite_add_tcase(s, tc);

  tc = tcase_create("attribute lengths");
  tcase_add_loop_test(tc, test_attribute_running_past_its_nest_is_rejected, 0,
                      N_FIXTURES);
  tcase_add_loop_test(tc, test_attribute_shorter_than_its_header_is_rejected, 0,
                      N_FIXTURES);
  tcase_add_loop_test(tc, test_attribute_of_length_zero_is_rejected, 0,
                      N_FIXTURES);
  suite_add_tcase(s, tc);

  tc = tcase_create("tuples");
  tcase_add_test(tc, test_message_without_reply_tuple_is_rejected);
  tcase_add_test(tc, test_message_without_orig_tuple_is_rejected);
  tcase_add_test(tc, test_tuple_without_protocol_is_rejected);
  tcase_add_test(tc, test_tuple_without_destination_address_is_rejected);
  tcase_add_test(tc, test_ipv4_address_of_16_bytes_is_rejected);
  tcase_add_test(tc, test_ipv6_address_of_4_bytes_is_rejected);
  tcase_add_test(tc, test_ipv4_address_of_2_bytes_is_rejected);
  tcase_add_test(tc, test_built_entry_of_one_family_is_accepted);
  tcase_add_test(tc, test_tuple_mixing_ipv4_and_ipv6_addresses_is_rejected);
  tcase_add_test(tc, test_tuple_with_a_port_and_an_icmp_id_is_rejected);
  tcase_add_test(tc, test_tuple_with_a_second_address_nest_is_rejected);
  tcase_add_test(tc, test_message_with_a_second_orig_tuple_is_rejected);
  tcase_add_test(tc,
                 test_tuples_of_another_family_than_the_message_are_rejected);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(parse_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failures = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failures != 0;
}
