/* fuzz_ct_parse_diff.c: differential libFuzzer target: ctflow's ct_parse()
 * (plugin/ct_parse.c) against libnetfilter_conntrack's nfct_nlmsg_parse(),
 * the reference parser of the same messages, as the oracle.
 *
 * Input: one conntrack message (the tests/fixtures .bin files seed it).
 *
 * Every message ct_parse() accepts is parsed by the library too, and the
 * library must accept it and agree on everything ctflow keeps: both tuples
 * (family, addresses, protocol, ports; for ICMP and ICMPv6 the echo id and
 * type/code as ct_entry.h keeps them in the port fields), both directions'
 * counters, status, mark, zone, id and TCP state. A field the message does
 * not carry is 0 on both sides. A refusal by the library or any field
 * disagreeing aborts: a finding.
 *
 * The library's copy of the message has every attribute ctflow does not
 * read hidden (retyped to 0, a type the library skips at every level), so
 * that both parse the same thing. Those are, deliberately:
 *   - everything but the tuples, counters, TCP state, status, mark, id and
 *     zone: CTA_TIMEOUT, CTA_USE, CTA_HELP, CTA_TUPLE_MASTER, CTA_SECCTX,
 *     CTA_TUPLE_ZONE, the TCP window scales and flags, SCTP and DCCP
 *     state, ... ctflow does not check their sizes either, where the
 *     library exits the process on one of a size its ABI table refuses
 *     (__abi_breakage in 1.0.9; this target catches that and counts it a
 *     finding: with the hiding, it cannot be about what ctflow ignores);
 *   - CTA_COUNTERS32_PACKETS, _BYTES: 32-bit counters, "old, unused" says
 *     the kernel's uapi header; the kernel writes the 64-bit ones (the
 *     library reads both).
 *
 * The library keeps no getter for the reply tuple's ICMP fields (its
 * ATTR_ICMP_* read the original tuple), so the reply tuple is compared
 * through a second parse with CTA_TUPLE_ORIG and CTA_TUPLE_REPLY swapped,
 * from its original tuple.
 *
 * Where ctflow refuses on purpose what the library accepts, no comparison
 * is made (ctflow is strict: a message it cannot take whole is counted in
 * ctflow-self/errors-bad_messages, not guessed at):
 *   - a tuple without both addresses or without CTA_PROTO_NUM (the library
 *     takes whatever parts there are);
 *   - an attribute that does not fit its container, or a container with
 *     bytes left after its last attribute, at any depth (mnl_attr_parse()
 *     stops there and reports success, dropping the rest unread);
 *   - nlmsg_len beyond the bytes given, or too short for the headers (the
 *     library trusts nlmsg_len; this target never hands it such a message);
 *   - a tuple whose two addresses are of different families, or whose
 *     family is not the message's nfgen_family (the library takes the
 *     family from nfgen_family alone and keeps addresses in a union);
 *   - an attribute repeated in its container, and a tuple with two
 *     attributes for one port field, a port and an ICMP id for example
 *     (the library keeps the last of a type, of a nest the last nest, and
 *     of a port field the one it parses last; the kernel writes each
 *     attribute once and the one its protocol has).
 * The fuzzer found the last three (ctflow took them, with other values than
 * the library); each is a test in tests/unit/check_parse.c now.
 *
 * At exit it prints how many inputs fell in each case.
 *
 *   build/fuzz/tests/fuzz/fuzz_ct_parse_diff CORPUS_DIR  (tests/fuzz/run.sh) */
#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_parse.h"
#include "datagram.h"

static struct {
  unsigned long inputs, ctflow_refused, compared;
  unsigned long hidden; /* compared with attributes ctflow does not read */
} seen;

/* libnetfilter_conntrack 1.0.9 calls this (through its PLT, so this
 * definition takes its place) when an attribute has the wrong size for
 * its type, and then exits: a reference parser's way of saying "refused".
 * Here it returns to the comparison instead, saying where. */
static jmp_buf library_refused;
static char refused_at[256];

__attribute__((noreturn)) void __abi_breakage(const char *file, int line,
                                              const char *reason);
__attribute__((noreturn)) void __abi_breakage(const char *file, int line,
                                              const char *reason) {
  snprintf(refused_at, sizeof(refused_at), "%s:%d: %s", file, line, reason);
  longjmp(library_refused, 1);
}

static void print_counts(void) {
  fprintf(stderr,
          "fuzz_ct_parse_diff: %lu inputs: ctflow refused %lu, compared "
          "%lu (all equal; %lu with attributes ctflow does not read, "
          "hidden from the library)\n",
          seen.inputs, seen.ctflow_refused, seen.compared, seen.hidden);
}

static void finding(const char *what, unsigned long ctflow,
                    unsigned long library) {
  fprintf(stderr,
          "fuzz_ct_parse_diff: FINDING: %s: ctflow %lu (0x%lx), library %lu "
          "(0x%lx)\n",
          what, ctflow, ctflow, library, library);
  abort();
}

static void expect_equal(const char *what, unsigned long ctflow,
                         unsigned long library) {
  if (ctflow != library)
    finding(what, ctflow, library);
}

/* Parses nlh with the library into *ct; a refusal is a finding. */
static void library_parse(const struct nlmsghdr *nlh, struct nf_conntrack *ct) {
  if (setjmp(library_refused) != 0) {
    fprintf(stderr, "fuzz_ct_parse_diff: the library's ABI check at %s\n",
            refused_at);
    finding("the library refused a message ctflow accepted", 0, 0);
  }
  if (nfct_nlmsg_parse(nlh, ct) < 0)
    finding("the library refused a message ctflow accepted", 0, 0);
}

static uint64_t u64_or_0(const struct nf_conntrack *ct,
                         enum nf_conntrack_attr a) {
  return nfct_attr_is_set(ct, a) > 0 ? nfct_get_attr_u64(ct, a) : 0;
}

static uint32_t u32_or_0(const struct nf_conntrack *ct,
                         enum nf_conntrack_attr a) {
  return nfct_attr_is_set(ct, a) > 0 ? nfct_get_attr_u32(ct, a) : 0;
}

static uint16_t u16_or_0(const struct nf_conntrack *ct,
                         enum nf_conntrack_attr a) {
  return nfct_attr_is_set(ct, a) > 0 ? nfct_get_attr_u16(ct, a) : 0;
}

static uint8_t u8_or_0(const struct nf_conntrack *ct,
                       enum nf_conntrack_attr a) {
  return nfct_attr_is_set(ct, a) > 0 ? nfct_get_attr_u8(ct, a) : 0;
}

static bool is_set(const struct nf_conntrack *ct, enum nf_conntrack_attr a) {
  return nfct_attr_is_set(ct, a) > 0;
}

/* Compares ctflow's tuple t with the library's original tuple of ct; dir
 * names which of the message's tuples that is. */
static void compare_tuple(const char *dir, const struct ct_tuple *t,
                          const struct nf_conntrack *ct) {
  char what[64];
  union ct_addr src = {0}, dst = {0};
  uint8_t family = 0;
  if (is_set(ct, ATTR_ORIG_IPV4_SRC) || is_set(ct, ATTR_ORIG_IPV4_DST)) {
    family = AF_INET;
    src.v4.s_addr = u32_or_0(ct, ATTR_ORIG_IPV4_SRC);
    dst.v4.s_addr = u32_or_0(ct, ATTR_ORIG_IPV4_DST);
  }
  if (is_set(ct, ATTR_ORIG_IPV6_SRC) || is_set(ct, ATTR_ORIG_IPV6_DST)) {
    expect_equal("a tuple with addresses of both families", 0, family);
    family = AF_INET6;
    if (is_set(ct, ATTR_ORIG_IPV6_SRC))
      memcpy(&src.v6, nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), sizeof(src.v6));
    if (is_set(ct, ATTR_ORIG_IPV6_DST))
      memcpy(&dst.v6, nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), sizeof(dst.v6));
  }
  snprintf(what, sizeof(what), "%s tuple: family of its addresses", dir);
  expect_equal(what, t->l3proto, family);
  snprintf(what, sizeof(what), "%s tuple: family (nfgen_family)", dir);
  expect_equal(what, t->l3proto, u8_or_0(ct, ATTR_ORIG_L3PROTO));
  for (size_t i = 0; i < sizeof(src.w) / sizeof(src.w[0]); i++) {
    snprintf(what, sizeof(what), "%s tuple: source address word %zu", dir, i);
    expect_equal(what, ntohl(t->src.w[i]), ntohl(src.w[i]));
    snprintf(what, sizeof(what), "%s tuple: destination address word %zu", dir,
             i);
    expect_equal(what, ntohl(t->dst.w[i]), ntohl(dst.w[i]));
  }
  snprintf(what, sizeof(what), "%s tuple: protocol", dir);
  expect_equal(what, t->l4proto, u8_or_0(ct, ATTR_ORIG_L4PROTO));
  /* The library keeps a source port and an ICMP id in one union, and a
   * destination port and ICMP type, code in another (big-endian port, so
   * type is its high byte): read back, they are ct_entry.h's port fields. */
  uint16_t src_port = is_set(ct, ATTR_ORIG_PORT_SRC)
                          ? ntohs(u16_or_0(ct, ATTR_ORIG_PORT_SRC))
                          : ntohs(u16_or_0(ct, ATTR_ICMP_ID));
  uint16_t dst_port = is_set(ct, ATTR_ORIG_PORT_DST)
                          ? ntohs(u16_or_0(ct, ATTR_ORIG_PORT_DST))
                          : (uint16_t)(u8_or_0(ct, ATTR_ICMP_TYPE) << 8 |
                                       u8_or_0(ct, ATTR_ICMP_CODE));
  snprintf(what, sizeof(what), "%s tuple: source port or ICMP id", dir);
  expect_equal(what, t->src_port, src_port);
  snprintf(what, sizeof(what), "%s tuple: destination port or ICMP type/code",
           dir);
  expect_equal(what, t->dst_port, dst_port);
}

static void compare_entry(const struct ct_entry *e,
                          const struct nf_conntrack *ct) {
  expect_equal("orig packets", e->orig_counters.packets,
               u64_or_0(ct, ATTR_ORIG_COUNTER_PACKETS));
  expect_equal("orig bytes", e->orig_counters.bytes,
               u64_or_0(ct, ATTR_ORIG_COUNTER_BYTES));
  expect_equal("reply packets", e->reply_counters.packets,
               u64_or_0(ct, ATTR_REPL_COUNTER_PACKETS));
  expect_equal("reply bytes", e->reply_counters.bytes,
               u64_or_0(ct, ATTR_REPL_COUNTER_BYTES));
  expect_equal("status", e->status, u32_or_0(ct, ATTR_STATUS));
  expect_equal("mark", e->mark, u32_or_0(ct, ATTR_MARK));
  expect_equal("zone", e->zone, u16_or_0(ct, ATTR_ZONE));
  expect_equal("id", e->id, u32_or_0(ct, ATTR_ID));
  expect_equal("has a TCP state", e->has_tcp_state, is_set(ct, ATTR_TCP_STATE));
  expect_equal("TCP state", e->tcp_state, u8_or_0(ct, ATTR_TCP_STATE));
}

#define BIT(type) (UINT64_C(1) << (type))

/* What ct_parse() reads, container by container: the oracle's copy of the
 * message keeps these and hides the rest. */
static const uint64_t top_reads =
    BIT(CTA_TUPLE_ORIG) | BIT(CTA_TUPLE_REPLY) | BIT(CTA_STATUS) |
    BIT(CTA_PROTOINFO) | BIT(CTA_MARK) | BIT(CTA_COUNTERS_ORIG) |
    BIT(CTA_COUNTERS_REPLY) | BIT(CTA_ID) | BIT(CTA_ZONE);
static const uint64_t tuple_reads = BIT(CTA_TUPLE_IP) | BIT(CTA_TUPLE_PROTO);
static const uint64_t ip_reads = BIT(CTA_IP_V4_SRC) | BIT(CTA_IP_V4_DST) |
                                 BIT(CTA_IP_V6_SRC) | BIT(CTA_IP_V6_DST);
static const uint64_t proto_reads =
    BIT(CTA_PROTO_NUM) | BIT(CTA_PROTO_SRC_PORT) | BIT(CTA_PROTO_DST_PORT) |
    BIT(CTA_PROTO_ICMP_ID) | BIT(CTA_PROTO_ICMP_TYPE) |
    BIT(CTA_PROTO_ICMP_CODE) | BIT(CTA_PROTO_ICMPV6_ID) |
    BIT(CTA_PROTO_ICMPV6_TYPE) | BIT(CTA_PROTO_ICMPV6_CODE);
static const uint64_t counters_reads =
    BIT(CTA_COUNTERS_PACKETS) | BIT(CTA_COUNTERS_BYTES);
static const uint64_t protoinfo_reads = BIT(CTA_PROTOINFO_TCP);
static const uint64_t tcp_reads = BIT(CTA_PROTOINFO_TCP_STATE);

static uint16_t type_of(const struct nlattr *attr) {
  return attr->nla_type & NLA_TYPE_MASK;
}

/* Returns whether ctflow reads attr, of a container where it reads the
 * types in reads; hides it (type 0, which the library skips too) if not. */
static bool keep(struct nlattr *attr, uint64_t reads, unsigned *hidden) {
  if (type_of(attr) < 64 && reads & BIT(type_of(attr)))
    return true;
  attr->nla_type = 0;
  ++*hidden;
  return false;
}

/* Hides the attributes of nest that ctflow does not read, those of inner
 * nests of type inner_type by inner_reads. */
static void hide_in(struct nlattr *nest, uint64_t reads, unsigned *hidden,
                    uint16_t inner_type, uint64_t inner_reads) {
  struct nlattr *attr, *inner;
  mnl_attr_for_each_nested(attr, nest) {
    if (!keep(attr, reads, hidden))
      continue;
    if (type_of(attr) == inner_type)
      mnl_attr_for_each_nested(inner, attr) keep(inner, inner_reads, hidden);
  }
}

/* Hides, in the library's copy of the message, every attribute ctflow
 * does not read, so that the library reads what ctflow reads. Returns how
 * many it hid. The message is one ct_parse() accepted: every attribute and
 * every nest ctflow reads fits. */
static unsigned hide_unread(struct nlmsghdr *nlh) {
  struct nlattr *attr, *part;
  unsigned hidden = 0;
  mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
    if (!keep(attr, top_reads, &hidden))
      continue;
    switch (type_of(attr)) {
    case CTA_TUPLE_ORIG:
    case CTA_TUPLE_REPLY:
      hide_in(attr, tuple_reads, &hidden, CTA_TUPLE_IP, ip_reads);
      mnl_attr_for_each_nested(part, attr) {
        if (type_of(part) == CTA_TUPLE_PROTO)
          hide_in(part, proto_reads, &hidden, 0, 0);
      }
      break;
    case CTA_COUNTERS_ORIG:
    case CTA_COUNTERS_REPLY:
      hide_in(attr, counters_reads, &hidden, 0, 0);
      break;
    case CTA_PROTOINFO:
      hide_in(attr, protoinfo_reads, &hidden, CTA_PROTOINFO_TCP, tcp_reads);
      break;
    }
  }
  return hidden;
}

/* Swaps the types of the message's top-level tuples, keeping their flag
 * bits. */
static void swap_tuples(struct nlmsghdr *nlh) {
  struct nlattr *attr;
  mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
    uint16_t type = attr->nla_type & NLA_TYPE_MASK;
    uint16_t flags = attr->nla_type & ~NLA_TYPE_MASK;
    if (type == CTA_TUPLE_ORIG)
      attr->nla_type = flags | CTA_TUPLE_REPLY;
    else if (type == CTA_TUPLE_REPLY)
      attr->nla_type = flags | CTA_TUPLE_ORIG;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (seen.inputs++ == 0)
    atexit(print_counts);
  struct nlmsghdr *nlh = fuzz_exact_copy(data, size);
  struct ct_entry e;
  if (ct_parse(nlh, size, &e) < 0) {
    seen.ctflow_refused++;
    free(nlh);
    return 0;
  }
  struct nf_conntrack *orig = nfct_new(), *reply = nfct_new();
  if (orig == NULL || reply == NULL)
    abort();
  seen.hidden += hide_unread(nlh) > 0;
  library_parse(nlh, orig);
  swap_tuples(nlh);
  library_parse(nlh, reply);
  compare_tuple("orig", &e.orig, orig);
  compare_tuple("reply", &e.reply, reply);
  compare_entry(&e, orig);
  seen.compared++;
  nfct_destroy(orig);
  nfct_destroy(reply);
  free(nlh);
  return 0;
}
