/* nlsock.c: see nlsock.h. */
#include "nlsock.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "netns.h"

struct mnl_socket *nlsock_open(int netns) {
  int saved;
  if (netns_enter(netns, &saved) < 0)
    return NULL;
  /* A socket keeps the namespace it was made in: only this needs it. */
  struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (netns_leave(saved) < 0 || nl == NULL ||
      mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    if (nl != NULL)
      mnl_socket_close(nl);
    errno = err;
    return NULL;
  }
  return nl;
}

ssize_t nlsock_receive(const struct mnl_socket *nl, void *buf, size_t size,
                       int flags, uint32_t *sender) {
  struct sockaddr_nl from = {0};
  struct iovec iov = {.iov_base = buf, .iov_len = size};
  struct msghdr msg = {
      .msg_name = &from,
      .msg_namelen = sizeof(from),
      .msg_iov = &iov,
      .msg_iovlen = 1,
  };
  ssize_t n = recvmsg(mnl_socket_get_fd(nl), &msg, flags);
  if (n < 0)
    return -1;
  if (msg.msg_flags & MSG_TRUNC) {
    errno = EMSGSIZE;
    return -1;
  }
  *sender = msg.msg_namelen == sizeof(from) && from.nl_family == AF_NETLINK
                ? from.nl_pid
                : UINT32_MAX; /* no netlink sender: trust nothing */
  return n;
}

bool nlsock_messages_fit(const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
    if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
        nlh->nlmsg_len > len)
      return false;
    /* The last message may leave out its padding. */
    size_t step = NLMSG_ALIGN(nlh->nlmsg_len);
    if (step >= len)
      return true;
    p += step;
    len -= step;
  }
  return true;
}
