/* ctnetlink.c: request / reply loop on a libmnl socket. */
#include "ctnetlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "netns.h"

/* Returns 0 after opening ct's socket in ct->netns. Only creating it needs
 * the namespace: a socket keeps the one it was made in. */
static int open_socket(struct ctnetlink *ct) {
  int saved;
  if (netns_enter(ct->netns, &saved) < 0)
    return -1;
  ct->nl = mnl_socket_open(NETLINK_NETFILTER);
  if (netns_leave(saved) < 0)
    ctnetlink_close(ct);
  if (ct->nl == NULL)
    return -1;
  if (mnl_socket_bind(ct->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int saved = errno;
    mnl_socket_close(ct->nl);
    ct->nl = NULL;
    errno = saved;
    return -1;
  }
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

/* Returns the length of a request of msg_type, built at the start of buf. */
static size_t build_request(struct ctnetlink *ct, uint8_t msg_type,
                            uint16_t flags) {
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(ct->buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg_type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = ++ct->seq;
  struct nfgenmsg *nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
  nfh->nfgen_family = AF_UNSPEC;
  nfh->version = NFNETLINK_V0;
  nfh->res_id = 0;
  /* The kernel filters a dump by CTA_MARK with CTA_MARK_MASK (both: older
   * kernels want the pair) and, in recent kernels, by CTA_ZONE
   * (nf_conntrack_netlink.c, ctnetlink_alloc_filter); big endian. */
  if (msg_type == IPCTNL_MSG_CT_GET && (flags & NLM_F_DUMP)) {
    if (ct->dump_by_mark) {
      mnl_attr_put_u32(nlh, CTA_MARK, htonl(ct->dump_mark));
      mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(ct->dump_mark_mask));
    }
    if (ct->dump_by_zone)
      mnl_attr_put_u16(nlh, CTA_ZONE, htons(ct->dump_zone));
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

int ctnetlink_request(struct ctnetlink *ct, uint8_t msg_type, uint16_t flags,
                      mnl_cb_t cb, void *arg) {
  if (ct->nl == NULL && open_socket(ct) < 0)
    return -1;
  size_t len = build_request(ct, msg_type, flags);
  if (mnl_socket_sendto(ct->nl, ct->buf, len) < 0)
    return -1;
  unsigned seq = ct->seq;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(ct->nl, ct->buf, sizeof(ct->buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    errno = 0;
    if (ct->batch_lock)
      pthread_mutex_lock(ct->batch_lock);
    int rc = mnl_cb_run(ct->buf, n, seq, ct->portid, cb, arg);
    int err = errno;
    if (ct->batch_lock)
      pthread_mutex_unlock(ct->batch_lock);
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
