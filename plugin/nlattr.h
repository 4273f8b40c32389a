/* nlattr.h: strict walks over netlink attributes.
 *
 * mnl_attr_parse() stops quietly at an attribute whose length does not fit
 * and still reports success, so a corrupt message would pass with its tail
 * unread; it also walks to the message's padded end, past nlmsg_len when
 * that is not a multiple of 4. These walks fail instead, and never read
 * past the end they are given. */
#ifndef CTFLOW_NLATTR_H
#define CTFLOW_NLATTR_H

#include <libmnl/libmnl.h>

/* Calls cb on each attribute in [start, end) until it returns MNL_CB_ERROR
 * or MNL_CB_STOP. Returns what cb last returned (MNL_CB_OK when there was
 * no attribute), or MNL_CB_ERROR when an attribute does not fit. */
int nlattr_walk(const void *start, const void *end, mnl_attr_cb_t cb,
                void *arg);

/* nlattr_walk() over the payload of the nested attribute nest. */
int nlattr_walk_nested(const struct nlattr *nest, mnl_attr_cb_t cb, void *arg);

/* nlattr_walk() over the attributes of the nfnetlink message nlh, after its
 * struct nfgenmsg and up to nlmsg_len; MNL_CB_ERROR when nlmsg_len cannot
 * hold the headers. */
int nlattr_walk_nfmsg(const struct nlmsghdr *nlh, mnl_attr_cb_t cb, void *arg);

#endif
