/* events.h: conntrack DESTROY events, on a netlink socket of their own
 * (never the dump socket), read by a thread of their own.
 *
 * DESTROY events carry each entry's final counters: they are how ctflow
 * counts the tail of entries that end between two reads, and entries that
 * begin and end between two reads at all (accounting rule 3,
 * docs/DESIGN.md). */
#ifndef CTFLOW_EVENTS_H
#define CTFLOW_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct_entry.h"
#include "fairlock.h"
#include "log.h"

struct events_config {
  size_t buffer_size; /* the socket's receive buffer to start with */
  size_t buffer_max;  /* EventBufferSize: how far overflows grow it */
  int netns; /* the namespace to listen in (netns.h), or -1: the caller's */
  struct fairlock *lock; /* held while on_destroy runs */
  void (*on_destroy)(const struct ct_entry *entry, void *arg);
  void *arg;
  log_fn log;
};

struct events_stats {
  uint64_t lost;         /* times events were lost: overflows, truncations */
  uint64_t bad_messages; /* datagrams refused: not the kernel's, malformed */
  bool failed; /* the reader stopped on a socket error: no events since */
};

struct events;

/* Subscribes to DESTROY events and starts the reader. The sockets are made
 * in config->netns; the reader stays in the caller's namespace (it only
 * reads the socket). Returns NULL after logging why (no permission, no
 * event support in the kernel, out of memory). */
struct events *events_start(const struct events_config *config);

/* Stops and joins the reader (within one slice of events and, should
 * waking it fail, within half a second), closes the sockets. */
void events_stop(struct events *events);

/* Counts every event the kernel queued before this call, and no more than
 * what the socket's buffer held then plus what came before a marker it
 * queues behind them; in slices of events, each under the lock, so that
 * the reader shares the work. Call it without the lock.
 *
 * The kernel queues an entry's DESTROY event before it unlinks the entry,
 * so after a dump has ended and this has returned 0, every entry the dump
 * missed because it ended has been counted: only then may the caller
 * forget the entries the dump did not return. Returns 0, or -1 when it
 * cannot tell where "now" is in the queue (the marker could not be queued
 * within a second, or the reader has failed). */
int events_catch_up(struct events *events);

/* Returns the reader's figures so far. */
struct events_stats events_stats(const struct events *events);

#endif
