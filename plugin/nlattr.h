/* nlattr.h: netlink attributes read in place, strictly and inline.
 *
 * Strictly: mnl_attr_parse() stops quietly at an attribute whose length
 * does not fit and still reports success, so a corrupt message would pass
 * with its tail unread; it also walks to the message's padded end, past
 * nlmsg_len when that is not a multiple of 4. These walks fail instead,
 * and never read past the end they are given; they also fail on an
 * attribute repeated in its container.
 *
 * Inline: these are libmnl's attribute accessors (mnl_attr_get_type(),
 * _get_payload(), _ok(), _next(), _validate() for fixed sizes) as static
 * inline functions over the kernel's struct nlattr. libmnl exports them as
 * functions only, and the dump calls them about a hundred times per entry,
 * where the calls cost more than the work: inline, a read of a large
 * table costs markedly less (README, "Measured"). libmnl still does the
 * sockets and the message loop. */
#ifndef CTFLOW_NLATTR_H
#define CTFLOW_NLATTR_H

#include <endian.h>
#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t nlattr_type(const struct nlattr *attr) {
  return attr->nla_type & NLA_TYPE_MASK;
}

static inline const void *nlattr_payload(const struct nlattr *attr) {
  return (const char *)attr + MNL_ATTR_HDRLEN;
}

/* Returns whether attr's payload is exactly len bytes. (Nested attributes
 * need no check: the walks below reject any payload they cannot walk.) */
static inline bool nlattr_payload_is(const struct nlattr *attr, size_t len) {
  return attr->nla_len == MNL_ATTR_HDRLEN + len;
}

/* Return the attribute's value in host byte order (ctnetlink's integers
 * are big-endian); its size was checked with nlattr_payload_is(). */
static inline uint8_t nlattr_u8(const struct nlattr *attr) {
  return *(const uint8_t *)nlattr_payload(attr);
}

static inline uint16_t nlattr_be16(const struct nlattr *attr) {
  uint16_t v;
  memcpy(&v, nlattr_payload(attr), sizeof(v));
  return be16toh(v);
}

static inline uint32_t nlattr_be32(const struct nlattr *attr) {
  uint32_t v;
  memcpy(&v, nlattr_payload(attr), sizeof(v));
  return be32toh(v);
}

static inline uint64_t nlattr_be64(const struct nlattr *attr) {
  uint64_t v;
  memcpy(&v, nlattr_payload(attr), sizeof(v));
  return be64toh(v);
}

/* Calls cb on each attribute in [start, end) until it returns MNL_CB_ERROR
 * or MNL_CB_STOP. Returns what cb last returned (MNL_CB_OK when there was
 * no attribute), or MNL_CB_ERROR when an attribute does not fit or is of a
 * type (below 64) that came before: ctnetlink writes each attribute of a
 * container once, and with two, which one counts would be a guess
 * (libnetfilter_conntrack takes the last; a parser filling one struct from
 * both nests would mix them). */
static inline int nlattr_walk(const void *start, const void *end,
                              mnl_attr_cb_t cb, void *arg) {
  const char *p = start, *stop = end;
  uint64_t seen = 0;
  while (stop - p >= (ptrdiff_t)MNL_ATTR_HDRLEN) {
    const struct nlattr *attr = (const struct nlattr *)p;
    if (attr->nla_len < MNL_ATTR_HDRLEN || attr->nla_len > stop - p)
      return MNL_CB_ERROR;
    uint64_t type = nlattr_type(attr) < 64 ? 1ull << nlattr_type(attr) : 0;
    if (seen & type)
      return MNL_CB_ERROR;
    seen |= type;
    int rc = cb(attr, arg);
    if (rc <= MNL_CB_STOP)
      return rc;
    p += MNL_ALIGN(attr->nla_len);
  }
  return p >= stop ? MNL_CB_OK : MNL_CB_ERROR;
}

/* nlattr_walk() over the payload of the nested attribute nest. */
static inline int nlattr_walk_nested(const struct nlattr *nest,
                                     mnl_attr_cb_t cb, void *arg) {
  const char *payload = nlattr_payload(nest);
  return nlattr_walk(payload, payload + (nest->nla_len - MNL_ATTR_HDRLEN), cb,
                     arg);
}

/* nlattr_walk() over the attributes of the nfnetlink message nlh, after its
 * struct nfgenmsg and up to nlmsg_len; MNL_CB_ERROR when nlmsg_len cannot
 * hold the headers. */
static inline int nlattr_walk_nfmsg(const struct nlmsghdr *nlh,
                                    mnl_attr_cb_t cb, void *arg) {
  size_t headers = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
  if (nlh->nlmsg_len < headers)
    return MNL_CB_ERROR;
  const char *msg = (const char *)nlh;
  return nlattr_walk(msg + headers, msg + nlh->nlmsg_len, cb, arg);
}

#endif
