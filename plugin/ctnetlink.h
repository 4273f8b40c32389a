/* ctnetlink.h: a netlink socket to the kernel's conntrack subsystem
 * (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_CTNETLINK), over libmnl. */
#ifndef CTFLOW_CTNETLINK_H
#define CTFLOW_CTNETLINK_H

#include <libmnl/libmnl.h>
#include <stdint.h>

#include "fairlock.h"
#include "filter.h"

/* The kernel fills each dump batch up to the largest buffer the reader has
 * received with, and to 32 KiB at most (netlink_recvmsg() caps it), so a
 * larger one buys nothing and a smaller one means more batches. */
#define CTNETLINK_BUFFER_SIZE 32768

struct ctnetlink {
  struct mnl_socket *nl;
  /* The network namespace (netns.h) every socket of ct is created in, also
   * when an error makes ctnetlink_request() replace it; -1: the caller's.
   * Not ct's own: its owner closes it after ctnetlink_close(). */
  int netns;
  unsigned portid;
  unsigned seq;
  /* Datagrams the socket refused since it was opened: sent by another
   * process, not by the kernel. */
  uint64_t refused;
  /* Messages are built and parsed in place: aligned for struct nlmsghdr
   * whatever the fields above add up to. */
  _Alignas(8) char buf[CTNETLINK_BUFFER_SIZE];
};

/* Opens the socket in network namespace netns (from netns_open(), or -1
 * for the caller's), entering it on the calling thread for that moment
 * only. Returns 0, or -1 with errno (EPERM without
 * CAP_NET_ADMIN, or without CAP_SYS_ADMIN to enter netns; EPROTONOSUPPORT
 * without nfnetlink). */
int ctnetlink_open(struct ctnetlink *ct, int netns);
void ctnetlink_close(struct ctnetlink *ct);

/* Sends the conntrack request msg_type (IPCTNL_MSG_CT_*) with flags
 * (NLM_F_DUMP for a dump, NLM_F_ACK for a single reply) and calls cb on every
 * reply message until the kernel is done. Datagrams from anyone but the
 * kernel are dropped (and counted in ct->refused). Returns 0, or -1 with
 * errno: the kernel's error, the socket's, EBADMSG when the kernel's reply
 * does not hold whole messages, or ECANCELED when cb returned MNL_CB_ERROR.
 * After an error the socket is reopened (in ct->netns), so that no stale reply
 * can reach the next request. */
int ctnetlink_request(struct ctnetlink *ct, uint8_t msg_type, uint16_t flags,
                      mnl_cb_t cb, void *arg);

/* Dumps the table as ctnetlink_request() does, asking the kernel to apply
 * filter (NULL: none): only entries with (mark & mask) == mark, of the
 * zone, whose original tuple is of the protocol; a dump by protocol is one
 * request per address family. A kernel without these filters ignores them
 * silently; one that has them but cannot apply them refuses the dump (an
 * error before any entry), so the caller checks every entry again and
 * drops the filter after such an error. When lock is not NULL, cb runs
 * under it for each received batch: others (the event reader) get their
 * turn between batches, not per entry. */
int ctnetlink_dump(struct ctnetlink *ct, const struct kernel_filter *filter,
                   struct fairlock *lock, mnl_cb_t cb, void *arg);

#endif
