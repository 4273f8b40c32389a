/* events.h: conntrack DESTROY events, on a netlink socket of their own
 * (never the dump socket), read by a thread of their own.
 *
 * DESTROY events carry each entry's final counters: they are how ctflow
 * counts the tail of entries that end between two reads, and entries that
 * begin and end between two reads at all (SPEC, accounting rule 3). */
#ifndef CTFLOW_EVENTS_H
#define CTFLOW_EVENTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ct_entry.h"
#include "log.h"

struct events_config {
  size_t buffer_size; /* the socket's receive buffer to start with */
  size_t buffer_max;  /* EventBufferSize: how far overflows grow it */
  int netns; /* the namespace to listen in (netns.h), or -1: the caller's */
  pthread_mutex_t *lock; /* held while on_destroy runs */
  void (*on_destroy)(const struct ct_entry *entry, void *arg);
  void *arg;
  log_fn log;
};

struct events;

/* Subscribes to DESTROY events and starts the reader. The socket is made
 * in config->netns; the reader stays in the caller's namespace (it only
 * reads the socket). Returns NULL after logging why (no permission, no
 * event support in the kernel). */
struct events *events_start(const struct events_config *config);

/* Stops and joins the reader, closes the socket. */
void events_stop(struct events *events);

/* Reads and counts every event queued now; call it with the lock held.
 * The kernel queues an entry's DESTROY event before it unlinks the entry
 * (and the dump queues the events of the expired entries it evicts before
 * it ends), so after a drain that follows a dump, every entry the dump
 * missed because it ended has been counted: only then may the caller
 * forget the entries the dump did not return. */
void events_drain(struct events *events);

/* Returns how many times the socket overflowed (events were lost). */
uint64_t events_lost(const struct events *events);

/* Returns the socket's receive buffer as the kernel accounts it. */
size_t events_buffer(const struct events *events);

#endif
