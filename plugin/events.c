/* events.c: the DESTROY event reader.
 *
 * Overflow: when the kernel cannot queue an event for us, recv() reports
 * ENOBUFS once and the event is gone. ctflow counts that, doubles the
 * receive buffer (SO_RCVBUFFORCE, up to buffer_max) and goes on: an entry
 * whose event was lost leaves the next dump and is swept, losing only the
 * tail since the last read; nothing is counted twice.
 *
 * Reliable delivery (NETLINK_BROADCAST_ERROR with nf_conntrack's event
 * redelivery) is deliberately not used: it makes the kernel keep ended
 * entries until their event is delivered, so a slow listener would fill
 * the router's table. A monitor must never hurt what it monitors. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "events.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "ct_parse.h"
#include "netns.h"

/* One event is one datagram of a few hundred bytes. */
#define EVENT_BUFFER 8192

struct events {
  struct events_config config;
  struct mnl_socket *nl;
  int stop_fd;
  pthread_t thread;
  _Atomic uint64_t lost;
  _Atomic size_t buffer;
  bool warned_max, warned_parse;
  /* Parsed in place: aligned for struct nlmsghdr, not right after bools. */
  _Alignas(8) char buf[EVENT_BUFFER];
};

/* Returns 0 after setting the socket's receive buffer to size bytes. */
static int set_buffer(struct events *ev, size_t size) {
  int fd = mnl_socket_get_fd(ev->nl);
  int value = size > INT32_MAX / 2 ? INT32_MAX / 2 : (int)size;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &value, sizeof(value)) < 0)
    return -1;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, &len) == 0)
    ev->buffer = (size_t)value;
  return 0;
}

static void overflowed(struct events *ev) {
  ev->lost++;
  /* The kernel reports twice what was set (its bookkeeping share). */
  size_t now = ev->buffer / 2, next = 2 * now;
  if (next > ev->config.buffer_max)
    next = ev->config.buffer_max;
  if (next > now && set_buffer(ev, next) == 0) {
    ev->config.log(LOG_NOTICE,
                   "event socket overflowed, some DESTROY events were lost; "
                   "receive buffer now %zu bytes",
                   next);
  } else if (!ev->warned_max) {
    ev->config.log(LOG_WARNING,
                   "event socket overflowed at EventBufferSize %zu: events "
                   "are lost (ended entries lose their tail); raise "
                   "EventBufferSize",
                   ev->config.buffer_max);
    ev->warned_max = true;
  }
}

static int on_event(const struct nlmsghdr *nlh, void *arg) {
  struct events *ev = arg;
  if ((nlh->nlmsg_type & 0xff) != IPCTNL_MSG_CT_DELETE)
    return MNL_CB_OK;
  struct ct_entry e;
  if (ct_parse(nlh, nlh->nlmsg_len, &e) < 0) {
    if (!ev->warned_parse)
      ev->config.log(LOG_WARNING, "skipped a malformed DESTROY event");
    ev->warned_parse = true;
    return MNL_CB_OK;
  }
  ev->config.on_destroy(&e, ev->config.arg);
  return MNL_CB_OK;
}

/* Reads and counts up to max queued events; runs under the lock, so that
 * no event is ever read but not yet counted while someone else holds it.
 * Returns 1 when the queue is empty, 0 when max were read, -1 on a socket
 * error to give up on. */
static int drain_some(struct events *ev, long max) {
  int fd = mnl_socket_get_fd(ev->nl);
  for (long i = 0; i < max; i++) {
    ssize_t n = recv(fd, ev->buf, sizeof(ev->buf), MSG_DONTWAIT);
    if (n >= 0)
      mnl_cb_run(ev->buf, n, 0, 0, on_event, ev);
    else if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 1;
    else if (errno == ENOBUFS)
      overflowed(ev);
    else if (errno != EINTR)
      return -1;
  }
  return 0;
}

void events_drain(struct events *ev) {
  /* Bounded only against a flood outpacing the reader: far more than
   * the largest buffer can hold. */
  drain_some(ev, 1L << 24);
}

/* The reader gives the lock back every READER_BATCH events, so that the
 * dump is never kept waiting long. */
#define READER_BATCH 256

static void *reader(void *arg) {
  struct events *ev = arg;
  struct pollfd fds[2] = {{.fd = mnl_socket_get_fd(ev->nl), .events = POLLIN},
                          {.fd = ev->stop_fd, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (fds[1].revents)
      return NULL;
    int rc;
    do {
      pthread_mutex_lock(ev->config.lock);
      rc = drain_some(ev, READER_BATCH);
      pthread_mutex_unlock(ev->config.lock);
    } while (rc == 0);
    if (rc < 0)
      break;
  }
  ev->config.log(LOG_ERR,
                 "reading conntrack events failed: %s; ended entries now "
                 "lose their tail as with Events false",
                 strerror(errno));
  return NULL;
}

/* Returns 0 after subscribing the socket to DESTROY events. */
static int subscribe(struct events *ev) {
  int group = NFNLGRP_CONNTRACK_DESTROY, saved;
  /* A socket hears the events of the namespace it was made in. */
  if (netns_enter(ev->config.netns, &saved) < 0)
    return -1;
  ev->nl = mnl_socket_open(NETLINK_NETFILTER);
  if (netns_leave(saved) < 0)
    return -1;
  if (ev->nl == NULL || mnl_socket_bind(ev->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
      mnl_socket_setsockopt(ev->nl, NETLINK_ADD_MEMBERSHIP, &group,
                            sizeof(group)) < 0)
    return -1;
  size_t size = ev->config.buffer_size < ev->config.buffer_max
                    ? ev->config.buffer_size
                    : ev->config.buffer_max;
  return set_buffer(ev, size);
}

static void release(struct events *ev) {
  if (ev->nl)
    mnl_socket_close(ev->nl);
  if (ev->stop_fd >= 0)
    close(ev->stop_fd);
  free(ev);
}

struct events *events_start(const struct events_config *config) {
  struct events *ev = calloc(1, sizeof(*ev));
  if (ev == NULL) {
    config->log(LOG_ERR, "cannot start the event reader: out of memory");
    return NULL;
  }
  ev->config = *config;
  ev->stop_fd = eventfd(0, EFD_CLOEXEC);
  if (ev->stop_fd < 0 || subscribe(ev) < 0) {
    config->log(LOG_ERR,
                "cannot subscribe to conntrack DESTROY events: %s (needs "
                "CAP_NET_ADMIN and a kernel with CONFIG_NF_CONNTRACK_EVENTS)",
                strerror(errno));
    release(ev);
    return NULL;
  }
  int rc = pthread_create(&ev->thread, NULL, reader, ev);
  if (rc != 0) {
    config->log(LOG_ERR, "cannot start the event reader: %s", strerror(rc));
    release(ev);
    return NULL;
  }
  pthread_setname_np(ev->thread, "ctflow-events"); /* for top, perf */
  return ev;
}

void events_stop(struct events *ev) {
  if (ev == NULL)
    return;
  uint64_t one = 1;
  if (write(ev->stop_fd, &one, sizeof(one)) != sizeof(one))
    pthread_cancel(ev->thread);
  pthread_join(ev->thread, NULL);
  release(ev);
}

uint64_t events_lost(const struct events *ev) { return ev->lost; }

size_t events_buffer(const struct events *ev) { return ev->buffer; }
