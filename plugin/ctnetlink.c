/* ctnetlink.c: request / reply loop on a libmnl socket. */
#include "ctnetlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "nlsock.h"

/* The CTA_FILTER_ORIG_FLAGS bit "compare CTA_PROTO_NUM": ABI, but the
 * kernel keeps it in net/netfilter/nf_internals.h, out of its uapi
 * headers (CTA_FILTER_F_CTA_PROTO_NUM there). */
#define CTA_FILTER_FLAG_CTA_PROTO_NUM (1u << 3)

/* Returns 0 after opening ct's socket in ct->netns. */
static int open_socket(struct ctnetlink *ct) {
  ct->nl = nlsock_open(ct->netns);
  if (ct->nl == NULL)
    return -1;
  ct->portid = mnl_socket_get_portid(ct->nl);
  ct->seq = (unsigned)time(NULL);
  return 0;
}

int ctnetlink_open(struct ctnetlink *ct, int netns) {
  ct->netns = netns;
  return open_socket(ct);
}

void ctnetlink_close(struct ctnetlink *ct) {
  if (ct->nl)
    mnl_socket_close(ct->nl);
  ct->nl = NULL;
}

/* Puts the protocol filter of a dump (Linux 5.9+): the protocol in an
 * original tuple, and CTA_FILTER saying that only its CTA_PROTO_NUM is to
 * be compared (ctnetlink_alloc_filter, ctnetlink_filter_match_tuple):
 *
 *   CTA_TUPLE_ORIG { CTA_TUPLE_PROTO { CTA_PROTO_NUM u8 } }
 *   CTA_FILTER { CTA_FILTER_ORIG_FLAGS u32 = CTA_FILTER_FLAG_CTA_PROTO_NUM }
 *
 * Host order for the flags: the kernel reads them with nla_get_u32. */
static void put_protocol_filter(struct nlmsghdr *nlh, uint8_t protocol) {
  struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
  struct nlattr *proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, protocol);
  mnl_attr_nest_end(nlh, proto);
  mnl_attr_nest_end(nlh, tuple);
  struct nlattr *filter = mnl_attr_nest_start(nlh, CTA_FILTER);
  mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS, CTA_FILTER_FLAG_CTA_PROTO_NUM);
  mnl_attr_nest_end(nlh, filter);
}

/* One request and how its replies are taken. */
struct request {
  uint8_t msg_type;
  uint16_t flags;
  const struct kernel_filter *filter; /* a table dump's; NULL: none */
  struct fairlock *lock; /* held while a batch's callbacks run; or NULL */
  mnl_cb_t cb;
  void *arg;
};

/* Returns the length of request r for address family family, built at the
 * start of ct's buffer. */
static size_t build_request(struct ctnetlink *ct, const struct request *r,
                            uint8_t family) {
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(ct->buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | r->msg_type;
  nlh->nlmsg_flags = NLM_F_REQUEST | r->flags;
  nlh->nlmsg_seq = ++ct->seq;
  struct nfgenmsg *nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
  nfh->nfgen_family = family;
  nfh->version = NFNETLINK_V0;
  nfh->res_id = 0;
  /* The kernel filters a dump by CTA_MARK with CTA_MARK_MASK (both: older
   * kernels want the pair) and, in recent kernels, by CTA_ZONE
   * (nf_conntrack_netlink.c, ctnetlink_alloc_filter); big endian. */
  const struct kernel_filter *f = r->filter;
  if (f != NULL) {
    if (f->by_mark) {
      mnl_attr_put_u32(nlh, CTA_MARK, htonl(f->mark.value));
      mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(f->mark.mask));
    }
    if (f->by_zone)
      mnl_attr_put_u16(nlh, CTA_ZONE, htons(f->zone));
    if (f->by_protocol)
      put_protocol_filter(nlh, f->protocol);
  }
  return nlh->nlmsg_len;
}

/* Returns 0 after a fresh socket replaced ct's, keeping errno. */
static int reopen(struct ctnetlink *ct) {
  int saved = errno;
  ctnetlink_close(ct);
  int rc = open_socket(ct);
  errno = saved;
  return rc;
}

/* Returns 0 after request r for family family, its replies passed to its
 * callback; -1 with errno as ctnetlink_request() says. */
static int request_family(struct ctnetlink *ct, const struct request *r,
                          uint8_t family) {
  if (ct->nl == NULL && open_socket(ct) < 0)
    return -1;
  size_t len = build_request(ct, r, family);
  if (mnl_socket_sendto(ct->nl, ct->buf, len) < 0)
    return -1;
  unsigned seq = ct->seq;
  for (;;) {
    uint32_t sender;
    ssize_t n = nlsock_receive(ct->nl, ct->buf, sizeof(ct->buf), 0, &sender);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    if (sender != NLSOCK_KERNEL) {
      ct->refused++;
      continue;
    }
    if (!nlsock_messages_fit(ct->buf, (size_t)n)) {
      errno = EBADMSG;
      break;
    }
    errno = 0;
    if (r->lock)
      fairlock_acquire(r->lock);
    int rc = mnl_cb_run(ct->buf, n, seq, ct->portid, r->cb, r->arg);
    int err = errno;
    if (r->lock)
      fairlock_release(r->lock);
    errno = err;
    if (rc == MNL_CB_STOP)
      return 0;
    if (rc == MNL_CB_ERROR) {
      /* mnl_cb_run sets errno from an NLMSG_ERROR; a callback's error
       * leaves it as it was. */
      if (errno == 0)
        errno = ECANCELED;
      break;
    }
  }
  reopen(ct);
  return -1;
}

int ctnetlink_request(struct ctnetlink *ct, uint8_t msg_type, uint16_t flags,
                      mnl_cb_t cb, void *arg) {
  struct request r = {
      .msg_type = msg_type, .flags = flags, .cb = cb, .arg = arg};
  return request_family(ct, &r, AF_UNSPEC);
}

int ctnetlink_dump(struct ctnetlink *ct, const struct kernel_filter *filter,
                   struct fairlock *lock, mnl_cb_t cb, void *arg) {
  struct request r = {.msg_type = IPCTNL_MSG_CT_GET,
                      .flags = NLM_F_DUMP,
                      .filter = filter,
                      .lock = lock,
                      .cb = cb,
                      .arg = arg};
  /* A tuple filter needs the request's family to be AF_INET or AF_INET6:
   * for AF_UNSPEC ctnetlink_parse_tuple_filter answers EOPNOTSUPP. So a
   * dump by protocol is two dumps, one per family. Kernels before 5.9
   * ignore CTA_FILTER and the tuple but have always honoured the family
   * (ctnetlink_dump_table), so the two still make the whole table. */
  if (filter == NULL || !filter->by_protocol)
    return request_family(ct, &r, AF_UNSPEC);
  if (request_family(ct, &r, AF_INET) < 0)
    return -1;
  return request_family(ct, &r, AF_INET6);
}
