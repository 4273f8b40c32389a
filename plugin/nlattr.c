/* nlattr.c: attribute walks that fail on what does not fit. */
#include "nlattr.h"

#include <linux/netfilter/nfnetlink.h>

int nlattr_walk(const void *start, const void *end, mnl_attr_cb_t cb,
                void *arg) {
  const struct nlattr *attr = start;
  for (; mnl_attr_ok(attr, (int)((const char *)end - (const char *)attr));
       attr = mnl_attr_next(attr)) {
    int rc = cb(attr, arg);
    if (rc <= MNL_CB_STOP)
      return rc;
  }
  return (const char *)attr >= (const char *)end ? MNL_CB_OK : MNL_CB_ERROR;
}

int nlattr_walk_nested(const struct nlattr *nest, mnl_attr_cb_t cb, void *arg) {
  const char *payload = mnl_attr_get_payload(nest);
  return nlattr_walk(payload, payload + mnl_attr_get_payload_len(nest), cb,
                     arg);
}

int nlattr_walk_nfmsg(const struct nlmsghdr *nlh, mnl_attr_cb_t cb, void *arg) {
  size_t headers = MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg);
  if (nlh->nlmsg_len < headers)
    return MNL_CB_ERROR;
  const char *msg = (const char *)nlh;
  return nlattr_walk(msg + headers, msg + nlh->nlmsg_len, cb, arg);
}
