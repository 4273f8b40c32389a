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
 * not carry is 0 on both sides. Any disagreement aborts: a finding.
 *
 * The library keeps no getter for the reply tuple's ICMP fields (its
 * ATTR_ICMP_* read the original tuple), so the reply tuple is compared
 * through a second parse of the message with CTA_TUPLE_ORIG and
 * CTA_TUPLE_REPLY swapped, from its original tuple.
 *
 * Where ctflow refuses on purpose what the library accepts, no comparison
 * is made (ctflow is strict: a message it cannot trust whole is counted in
 * ctflow-self/errors-bad_messages, not guessed at):
 *   - a tuple without both addresses or without CTA_PROTO_NUM (the library
 *     takes whatever parts there are);
 *   - an attribute that does not fit its container, or a container with
 *     bytes left after its last attribute, at any depth (mnl_attr_parse()
 *     stops there and reports success, dropping the rest unread);
 *   - nlmsg_len beyond the bytes given, or too short for the headers (the
 *     library trusts nlmsg_len; this target never hands it such a message);
 *   - a tuple whose two addresses are of different families, or whose
 *     addresses are of another family than the message's nfgen_family,
 *     or a message whose tuples differ in family (the library keeps the
 *     family from nfgen_family alone, the addresses in a union);
 *   - an attribute ctflow reads that appears twice in its container (the
 *     library keeps the last; the kernel writes each once, so two mean the
 *     message is not the kernel's).
 *
 * What ctflow ignores on purpose, the library is made to ignore too:
 *   - CTA_COUNTERS32_PACKETS, _BYTES: 32-bit counters, "old, unused" says
 *     the kernel's uapi header; the kernel writes the 64-bit ones (the
 *     library reads both). They are retyped to CTA_COUNTERS_UNSPEC in the
 *     library's copy.
 *
 * And where ctflow accepts what the library refuses, no comparison either:
 *   - an attribute ctflow does not read (CTA_TIMEOUT, CTA_USE, CTA_HELP,
 *     CTA_TUPLE_ZONE, the TCP window scales, ...) of a size the library's
 *     ABI check refuses: the library then exits the process (__abi_breakage
 *     in 1.0.9; caught here, see below). ctflow checks the size of every
 *     attribute it reads, so the library's check cannot fail on one of
 *     those once ctflow accepted: they are of their ABI size.
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
  unsigned long inputs, ctflow_refused, compared, library_abi_refused;
  unsigned long counters32; /* compared with their 32-bit counters hidden */
} seen;

/* libnetfilter_conntrack 1.0.9 calls this (through its PLT, so this
 * definition takes its place) when an attribute has the wrong size for
 * its type, and then exits: a reference parser's way of saying "refused".
 * Here it returns to the comparison instead. */
static jmp_buf library_refused;
/* Where in the library's source it refused, each place once. */
#define PLACES 32
static struct {
  const char *file;
  int line;
} refused_at[PLACES];

__attribute__((noreturn)) void __abi_breakage(const char *file, int line,
                                              const char *reason);
__attribute__((noreturn)) void __abi_breakage(const char *file, int line,
                                              const char *reason) {
  (void)reason;
  for (int i = 0; i < PLACES; i++) {
    if (refused_at[i].file == NULL)
      refused_at[i].file = file, refused_at[i].line = line;
    if (refused_at[i].line == line)
      break;
  }
  longjmp(library_refused, 1);
}

static void print_counts(void) {
  fprintf(stderr,
          "fuzz_ct_parse_diff: %lu inputs: ctflow refused %lu, compared "
          "%lu (all equal; %lu with 32-bit counters hidden), library "
          "refused %lu with an attribute ctflow does not read of a size it "
          "refuses\n",
          seen.inputs, seen.ctflow_refused, seen.compared, seen.counters32,
          seen.library_abi_refused);
  for (int i = 0; i < PLACES && refused_at[i].file; i++)
    fprintf(stderr, "fuzz_ct_parse_diff: the library refused at %s:%d\n",
            refused_at[i].file, refused_at[i].line);
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

/* Returns the library's parse of nlh in *ct: 0, 1 when its ABI check
 * refused an attribute, -1 when it refused the message otherwise. */
static int library_parse(const struct nlmsghdr *nlh, struct nf_conntrack *ct) {
  if (setjmp(library_refused) != 0)
    return 1;
  return nfct_nlmsg_parse(nlh, ct) < 0 ? -1 : 0;
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

/* Retypes the 32-bit counters in the message's counters nests to
 * CTA_COUNTERS_UNSPEC, which the library skips too, so that it reads the
 * counters ctflow reads. Returns whether there were any. The message is
 * one ct_parse() accepted: its attributes and those nests fit. */
static bool hide_counters32(struct nlmsghdr *nlh) {
  struct nlattr *attr, *inner;
  bool hidden = false;
  mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
    uint16_t type = attr->nla_type & NLA_TYPE_MASK;
    if (type != CTA_COUNTERS_ORIG && type != CTA_COUNTERS_REPLY)
      continue;
    mnl_attr_for_each_nested(inner, attr) {
      type = inner->nla_type & NLA_TYPE_MASK;
      if (type == CTA_COUNTERS32_PACKETS || type == CTA_COUNTERS32_BYTES) {
        inner->nla_type = CTA_COUNTERS_UNSPEC;
        hidden = true;
      }
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
  seen.counters32 += hide_counters32(nlh);
  int rc = library_parse(nlh, orig);
  if (rc == 0) {
    swap_tuples(nlh);
    rc = library_parse(nlh, reply);
  }
  if (rc < 0)
    finding("the library refused a message ctflow accepted", 0, 0);
  if (rc == 0) {
    compare_tuple("orig", &e.orig, orig);
    compare_tuple("reply", &e.reply, reply);
    compare_entry(&e, orig);
    seen.compared++;
  } else {
    seen.library_abi_refused++;
  }
  nfct_destroy(orig);
  nfct_destroy(reply);
  free(nlh);
  return 0;
}
