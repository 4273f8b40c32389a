/* ct_parse.c: ctnetlink conntrack message -> struct ct_entry.
 *
 * A conntrack message as the kernel's ctnetlink_fill_info() writes it:
 *
 *   struct nlmsghdr | struct nfgenmsg | attributes ...
 *     CTA_TUPLE_ORIG   (nested)  CTA_TUPLE_IP    (nested) V4|V6 SRC, DST
 *                                CTA_TUPLE_PROTO (nested) NUM, ports or
 *                                                         ICMP(V6) id/type/code
 *     CTA_TUPLE_REPLY  (nested)  likewise
 *     CTA_COUNTERS_ORIG / _REPLY (nested) PACKETS, BYTES  (u64, only with acct)
 *     CTA_PROTOINFO    (nested)  CTA_PROTOINFO_TCP (nested) TCP_STATE (u8)
 *     CTA_STATUS, CTA_MARK, CTA_ID (u32)   CTA_ZONE (u16)
 *
 * Every integer is in network byte order. Attributes are walked in place
 * (nlattr.h), every length checked against what is left of its container;
 * nothing is copied but the values kept in struct ct_entry. */
#include "ct_parse.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>

#include "nlattr.h"

/* Which parts of a tuple were present: both addresses and the protocol
 * make it whole. The port fields are claimed too, each by one attribute:
 * a port and an ICMP id (or type, code) fill the same field, and the
 * kernel writes the one its protocol has (ctnetlink_dump_tuples_proto). */
enum {
  HAVE_SRC = 1,
  HAVE_DST = 2,
  HAVE_PROTO = 4,
  TUPLE_WHOLE = 7,
  HAVE_SRC_PORT = 8,  /* a source port or an ICMP(v6) id */
  HAVE_DST_HIGH = 16, /* a destination port or an ICMP(v6) type */
  HAVE_DST_LOW = 32,  /* a destination port or an ICMP(v6) code */
};

struct tuple_parse {
  struct ct_tuple *tuple;
  unsigned have;
};

static int parse_ip(const struct nlattr *attr, void *arg) {
  struct tuple_parse *p = arg;
  uint8_t family;
  switch (nlattr_type(attr)) {
  case CTA_IP_V4_SRC:
  case CTA_IP_V4_DST:
    if (!nlattr_payload_is(attr, sizeof(uint32_t)))
      return MNL_CB_ERROR;
    family = AF_INET;
    break;
  case CTA_IP_V6_SRC:
  case CTA_IP_V6_DST:
    if (!nlattr_payload_is(attr, sizeof(struct in6_addr)))
      return MNL_CB_ERROR;
    family = AF_INET6;
    break;
  default:
    return MNL_CB_OK;
  }
  /* Both ends of a tuple are of one family; l3proto is 0 until the first. */
  if (p->tuple->l3proto != 0 && p->tuple->l3proto != family)
    return MNL_CB_ERROR;
  p->tuple->l3proto = family;
  bool is_src =
      nlattr_type(attr) == CTA_IP_V4_SRC || nlattr_type(attr) == CTA_IP_V6_SRC;
  union ct_addr *addr = is_src ? &p->tuple->src : &p->tuple->dst;
  memset(addr, 0, sizeof(*addr));
  memcpy(addr, nlattr_payload(attr), attr->nla_len - MNL_ATTR_HDRLEN);
  p->have |= is_src ? HAVE_SRC : HAVE_DST;
  return MNL_CB_OK;
}

/* Returns the attribute's u16 in host order, or -1 when it is not a u16. */
static int get_be16(const struct nlattr *attr) {
  if (!nlattr_payload_is(attr, sizeof(uint16_t)))
    return -1;
  return nlattr_be16(attr);
}

/* Returns the attribute's u8, or -1 when it is not a u8. */
static int get_u8(const struct nlattr *attr) {
  if (!nlattr_payload_is(attr, sizeof(uint8_t)))
    return -1;
  return nlattr_u8(attr);
}

/* Notes that p's tuple has the parts in bits. Returns false when another
 * attribute claimed any of them already. */
static bool claim(struct tuple_parse *p, unsigned bits) {
  if (p->have & bits)
    return false;
  p->have |= bits;
  return true;
}

/* ICMP keys its tuples by echo id and type/code instead of ports; ctflow
 * keeps them in the port fields: src_port = id, dst_port = type << 8 | code. */
static int parse_proto(const struct nlattr *attr, void *arg) {
  struct tuple_parse *p = arg;
  struct ct_tuple *t = p->tuple;
  int v;
  switch (nlattr_type(attr)) {
  case CTA_PROTO_NUM:
    if ((v = get_u8(attr)) < 0 || !claim(p, HAVE_PROTO))
      return MNL_CB_ERROR;
    t->l4proto = v;
    return MNL_CB_OK;
  case CTA_PROTO_SRC_PORT:
  case CTA_PROTO_ICMP_ID:
  case CTA_PROTO_ICMPV6_ID:
    if ((v = get_be16(attr)) < 0 || !claim(p, HAVE_SRC_PORT))
      return MNL_CB_ERROR;
    t->src_port = v;
    return MNL_CB_OK;
  case CTA_PROTO_DST_PORT:
    if ((v = get_be16(attr)) < 0 || !claim(p, HAVE_DST_HIGH | HAVE_DST_LOW))
      return MNL_CB_ERROR;
    t->dst_port = v;
    return MNL_CB_OK;
  case CTA_PROTO_ICMP_TYPE:
  case CTA_PROTO_ICMPV6_TYPE:
    if ((v = get_u8(attr)) < 0 || !claim(p, HAVE_DST_HIGH))
      return MNL_CB_ERROR;
    t->dst_port = (t->dst_port & 0x00ff) | v << 8;
    return MNL_CB_OK;
  case CTA_PROTO_ICMP_CODE:
  case CTA_PROTO_ICMPV6_CODE:
    if ((v = get_u8(attr)) < 0 || !claim(p, HAVE_DST_LOW))
      return MNL_CB_ERROR;
    t->dst_port = (t->dst_port & 0xff00) | v;
    return MNL_CB_OK;
  }
  return MNL_CB_OK;
}

static int parse_tuple_part(const struct nlattr *attr, void *arg) {
  switch (nlattr_type(attr)) {
  case CTA_TUPLE_IP:
    return nlattr_walk_nested(attr, parse_ip, arg);
  case CTA_TUPLE_PROTO:
    return nlattr_walk_nested(attr, parse_proto, arg);
  }
  return MNL_CB_OK;
}

/* Returns 0 when attr is a whole tuple (both addresses and the protocol). */
static int parse_tuple(const struct nlattr *attr, struct ct_tuple *tuple) {
  struct tuple_parse p = {.tuple = tuple};
  if (nlattr_walk_nested(attr, parse_tuple_part, &p) < 0)
    return -1;
  return (p.have & TUPLE_WHOLE) == TUPLE_WHOLE ? 0 : -1;
}

static int parse_counter(const struct nlattr *attr, void *arg) {
  struct ct_counters *c = arg;
  switch (nlattr_type(attr)) {
  case CTA_COUNTERS_PACKETS:
  case CTA_COUNTERS_BYTES:
    if (!nlattr_payload_is(attr, sizeof(uint64_t)))
      return MNL_CB_ERROR;
    uint64_t v = nlattr_be64(attr);
    if (nlattr_type(attr) == CTA_COUNTERS_PACKETS)
      c->packets = v;
    else
      c->bytes = v;
  }
  return MNL_CB_OK;
}

static int parse_counters(const struct nlattr *attr, struct ct_counters *c) {
  return nlattr_walk_nested(attr, parse_counter, c) < 0 ? -1 : 0;
}

static int parse_tcp_info(const struct nlattr *attr, void *arg) {
  struct ct_entry *e = arg;
  if (nlattr_type(attr) == CTA_PROTOINFO_TCP_STATE) {
    int v = get_u8(attr);
    if (v < 0)
      return MNL_CB_ERROR;
    e->tcp_state = v;
    e->has_tcp_state = true;
  }
  return MNL_CB_OK;
}

static int parse_protoinfo(const struct nlattr *attr, void *arg) {
  if (nlattr_type(attr) != CTA_PROTOINFO_TCP)
    return MNL_CB_OK;
  return nlattr_walk_nested(attr, parse_tcp_info, arg);
}

/* Returns the attribute's u32 in host order through *v; -1 if not a u32. */
static int get_be32(const struct nlattr *attr, uint32_t *v) {
  if (!nlattr_payload_is(attr, sizeof(uint32_t)))
    return -1;
  *v = nlattr_be32(attr);
  return 0;
}

struct entry_parse {
  struct ct_entry *entry;
  bool have_orig, have_reply;
};

static int parse_top(const struct nlattr *attr, void *arg) {
  struct entry_parse *p = arg;
  struct ct_entry *e = p->entry;
  int rc = 0, v;
  switch (nlattr_type(attr)) {
  case CTA_TUPLE_ORIG:
    rc = parse_tuple(attr, &e->orig);
    p->have_orig = rc == 0;
    break;
  case CTA_TUPLE_REPLY:
    rc = parse_tuple(attr, &e->reply);
    p->have_reply = rc == 0;
    break;
  case CTA_COUNTERS_ORIG:
    rc = parse_counters(attr, &e->orig_counters);
    e->has_counters = true;
    break;
  case CTA_COUNTERS_REPLY:
    rc = parse_counters(attr, &e->reply_counters);
    e->has_counters = true;
    break;
  case CTA_PROTOINFO:
    rc = nlattr_walk_nested(attr, parse_protoinfo, e) < 0 ? -1 : 0;
    break;
  case CTA_ID:
    rc = get_be32(attr, &e->id);
    break;
  case CTA_STATUS:
    rc = get_be32(attr, &e->status);
    break;
  case CTA_MARK:
    rc = get_be32(attr, &e->mark);
    break;
  case CTA_ZONE:
    if ((v = get_be16(attr)) < 0)
      return MNL_CB_ERROR;
    e->zone = v;
    break;
  }
  return rc < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int ct_parse(const void *buf, size_t len, struct ct_entry *entry) {
  const struct nlmsghdr *nlh = buf;
  memset(entry, 0, sizeof(*entry));
  /* Not mnl_nlmsg_ok(): libmnl 1.0.4 compares nlmsg_len as an int there,
   * so a length of 2^31 or more passes, and the walk below would go on
   * past buf. */
  if (len < MNL_NLMSG_HDRLEN || nlh->nlmsg_len < MNL_NLMSG_HDRLEN ||
      nlh->nlmsg_len > len)
    goto bad;
  struct entry_parse p = {.entry = entry};
  if (nlattr_walk_nfmsg(nlh, parse_top, &p) < 0 || !p.have_orig ||
      !p.have_reply)
    goto bad;
  /* The kernel writes the entry's family there (ctnetlink_fill_info:
   * nf_ct_l3num); tuples of another one are no entry of its. The walk
   * found the headers whole. */
  const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
  if (entry->orig.l3proto != nfg->nfgen_family ||
      entry->reply.l3proto != nfg->nfgen_family)
    goto bad;
  return 0;
bad:
  errno = EBADMSG;
  return -1;
}
