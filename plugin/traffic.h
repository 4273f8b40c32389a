/* traffic.h: what a local end sent (tx) and received (rx), in packets and
 * bytes: the counters behind every if_octets and if_packets series, of a
 * host, of total and other, and of a flow key. The kernel counts by
 * direction, original and reply (struct growth); which of them is tx
 * depends on the end the series is about (classify.h), so the caller
 * chooses, and adds. */
#ifndef CTFLOW_TRAFFIC_H
#define CTFLOW_TRAFFIC_H

#include "ct_entry.h"

struct traffic {
  struct ct_counters tx;
  struct ct_counters rx;
};

static inline void traffic_add(struct traffic *t, const struct ct_counters *tx,
                               const struct ct_counters *rx) {
  t->tx.packets += tx->packets;
  t->tx.bytes += tx->bytes;
  t->rx.packets += rx->packets;
  t->rx.bytes += rx->bytes;
}

#endif
