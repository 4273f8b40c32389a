/* datagram.h: what the fuzz targets over netlink input share. A fuzz input
 * stands for one datagram the kernel's socket returned; it goes through
 * what ctnetlink.c and events.c do with every datagram they receive:
 * nlsock_messages_fit(), then libmnl's mnl_cb_run() with a callback of
 * ctflow's.
 *
 * The datagram is copied into a buffer of exactly its size (so that
 * AddressSanitizer sees one byte read past it) aligned as the receive
 * buffers are, for struct nlmsghdr. */
#ifndef CTFLOW_FUZZ_DATAGRAM_H
#define CTFLOW_FUZZ_DATAGRAM_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nlsock.h"

/* A log_fn that says nothing: the targets run millions of inputs. */
static inline void fuzz_quiet_log(int priority, const char *format, ...) {
  (void)priority;
  (void)format;
}

/* Returns a copy of data in a malloc'd buffer of exactly size bytes (one
 * byte for an empty input), or aborts: a fuzz target cannot go on without. */
static inline void *fuzz_exact_copy(const uint8_t *data, size_t size) {
  void *copy = malloc(size ? size : 1);
  if (copy == NULL)
    abort();
  if (size > 0)
    memcpy(copy, data, size);
  return copy;
}

/* Runs cb over the messages of the datagram buf[0, len) when they fit it,
 * as the receive paths do: sequence number and port ID 0 let every message
 * through mnl_cb_run()'s checks, as for broadcast events. Returns what
 * mnl_cb_run() returned, or MNL_CB_ERROR when the datagram was refused. */
static inline int fuzz_run_datagram(const void *buf, size_t len, mnl_cb_t cb,
                                    void *arg) {
  if (!nlsock_messages_fit(buf, len))
    return MNL_CB_ERROR;
  return mnl_cb_run(buf, len, 0, 0, cb, arg);
}

#endif
