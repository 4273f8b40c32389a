/* nlsock.h: ctflow's netlink sockets to the kernel's conntrack subsystem
 * (NETLINK_NETFILTER), opened in a given network namespace, and what they
 * receive checked before anyone parses it.
 *
 * A netlink socket can be sent datagrams by any process with
 * CAP_NET_ADMIN, not only by the kernel, and libmnl 1.0.4 (Debian 12)
 * walks a message whose nlmsg_len is 2^31 or more past the end of the
 * buffer. So every datagram is received with its sender's address, and its
 * messages are measured against the bytes actually received before
 * mnl_cb_run() or ct_parse() sees them. */
#ifndef CTFLOW_NLSOCK_H
#define CTFLOW_NLSOCK_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The port ID of the kernel: the sender of every message ctflow trusts. */
#define NLSOCK_KERNEL 0

/* Returns a NETLINK_NETFILTER socket, close-on-exec, bound to a port ID of
 * its own, made in network namespace netns (netns.h; -1: the caller's) by
 * entering it on the calling thread for that moment only; NULL with errno
 * (EPERM without CAP_NET_ADMIN, or without CAP_SYS_ADMIN to enter netns;
 * EPROTONOSUPPORT without nfnetlink). */
struct mnl_socket *nlsock_open(int netns);

/* Receives one datagram into buf (size bytes) with recvmsg flags. Returns
 * its length and its sender's port ID in *sender, or -1 with errno: the
 * socket's, or EMSGSIZE when the datagram was longer than size (its tail
 * is lost). */
ssize_t nlsock_receive(const struct mnl_socket *nl, void *buf, size_t size,
                       int flags, uint32_t *sender);

/* Returns whether buf[0, len) is a row of whole netlink messages: each
 * header inside it, each nlmsg_len at least a header and at most what is
 * left. Walking such a buffer with mnl_cb_run() stays inside it. */
bool nlsock_messages_fit(const void *buf, size_t len);

#endif
