/* ctnetlink.h: a netlink socket to the kernel's conntrack subsystem
 * (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_CTNETLINK), over libmnl. */
#ifndef CTFLOW_CTNETLINK_H
#define CTFLOW_CTNETLINK_H

#include <libmnl/libmnl.h>
#include <stdint.h>

#include "fairlock.h"

/* SPEC: 32 KiB. The kernel fills each dump batch up to the reader's buffer
 * (and to 32 KiB at most for ctnetlink), so a larger one buys nothing. */
#define CTNETLINK_BUFFER_SIZE 32768

struct ctnetlink {
  struct mnl_socket *nl;
  /* The network namespace (netns.h) every socket of ct is created in, also
   * when an error makes ctnetlink_request() replace it; -1: the caller's.
   * Not ct's own: its owner closes it after ctnetlink_close(). */
  int netns;
  unsigned portid;
  unsigned seq;
  /* When set, held while the callbacks of each received batch run: others
   * (the event reader) get their turn between batches, not per entry. */
  struct fairlock *batch_lock;
  /* Datagrams the socket refused since it was opened: sent by another
   * process, not by the kernel. */
  uint64_t refused;
  /* Asked of the kernel in every table dump: only entries with (mark &
   * mask) == mark, only entries of zone, only entries whose original tuple
   * is of protocol. A kernel without these filters ignores them silently,
   * one that has them but cannot apply them refuses the dump (an error
   * before any entry), so the caller checks every entry again and drops
   * the filters after such an error. */
  bool dump_by_mark, dump_by_zone, dump_by_protocol;
  uint32_t dump_mark, dump_mark_mask;
  uint16_t dump_zone;
  uint8_t dump_protocol;
  /* Messages are built and parsed in place: aligned for struct nlmsghdr
   * whatever the fields above add up to. */
  _Alignas(8) char buf[CTNETLINK_BUFFER_SIZE];
};

/* Opens the socket in network namespace netns (from netns_open(), or -1
 * for the caller's), entering it on the calling thread for that moment
 * only; batch_lock is kept. Returns 0, or -1 with errno (EPERM without
 * CAP_NET_ADMIN, or without CAP_SYS_ADMIN to enter netns; EPROTONOSUPPORT
 * without nfnetlink). */
int ctnetlink_open(struct ctnetlink *ct, int netns);
void ctnetlink_close(struct ctnetlink *ct);

/* Sends the conntrack request msg_type (IPCTNL_MSG_CT_*) for both address
 * families (a table dump by protocol: one request per family) with flags
 * (NLM_F_DUMP for a dump, NLM_F_ACK for a single reply) and calls cb on every
 * reply message until the kernel is done. Datagrams from anyone but the
 * kernel are dropped (and counted in ct->refused). Returns 0, or -1 with
 * errno: the kernel's error, the socket's, EBADMSG when the kernel's reply
 * does not hold whole messages, or ECANCELED when cb returned MNL_CB_ERROR.
 * After an error the socket is reopened (in ct->netns), so that no stale reply
 * can reach the next request. */
int ctnetlink_request(struct ctnetlink *ct, uint8_t msg_type, uint16_t flags,
                      mnl_cb_t cb, void *arg);

#endif
