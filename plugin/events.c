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
 * the router's table. A monitor must never hurt what it monitors.
 *
 * Catching up: a netlink socket's queue is one FIFO for everything sent to
 * it, the kernel's broadcasts and unicasts from other sockets alike. So to
 * count "every event queued until now", a second socket of ours sends the
 * event socket a marker (an NLMSG_NOOP with a sequence number), and the
 * queue is read up to it. Under a flood that is at most one buffer's worth
 * of events, whatever the rate: the work of a read stays bounded. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "events.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "ct_parse.h"
#include "nlsock.h"

/* One event is one datagram of a few hundred bytes. */
#define EVENT_BUFFER 8192
/* Datagrams read under one hold of the lock: a batch of the dump waits for
 * at most this many events (about 0.2 ms of work). */
#define SLICE 256
/* How long the reader sleeps between looks at the stop flag should waking
 * it through stop_fd fail. */
#define STOP_POLL_MS 500
/* How long a marker may wait for room in a congested queue: after an
 * overflow the kernel queues nothing more until the reader has emptied it. */
#define MARKER_TIMEOUT_S 1

struct events {
  struct events_config config;
  struct mnl_socket *nl;     /* subscribed to DESTROY events */
  struct mnl_socket *marker; /* sends markers to nl */
  uint32_t marker_portid;
  uint32_t marker_sent;         /* the catching-up thread's alone */
  _Atomic uint32_t marker_seen; /* the last marker read */
  int stop_fd;
  atomic_bool stop;
  atomic_bool failed;
  pthread_t thread;
  _Atomic uint64_t lost;
  _Atomic uint64_t bad_messages;
  size_t buffer; /* the receive buffer as the kernel accounts it */
  /* Under the lock, as is everything receive_one() touches. */
  bool warned_max, warned_parse, warned_sender;
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
    ev->bad_messages++;
    if (!ev->warned_parse)
      ev->config.log(LOG_WARNING, "skipped a malformed DESTROY event");
    ev->warned_parse = true;
    return MNL_CB_OK;
  }
  ev->config.on_destroy(&e, ev->config.arg);
  return MNL_CB_OK;
}

/* Takes note of the marker in the datagram at ev->buf (n bytes). */
static void on_marker(struct events *ev, size_t n) {
  const struct nlmsghdr *nlh = (const struct nlmsghdr *)ev->buf;
  if (n >= NLMSG_HDRLEN && nlh->nlmsg_type == NLMSG_NOOP)
    ev->marker_seen = nlh->nlmsg_seq;
}

/* Drops a datagram that no socket of the kernel sent. */
static void refuse(struct events *ev, uint32_t sender) {
  ev->bad_messages++;
  if (!ev->warned_sender)
    ev->config.log(LOG_WARNING,
                   "the event socket received a datagram from port ID %u, "
                   "not from the kernel: dropped (and any more such)",
                   sender);
  ev->warned_sender = true;
}

/* Receives and handles one datagram; runs under the lock, so that no event
 * is ever read but not yet counted while someone else holds it. Returns 1
 * when one was handled (or lost), 0 when the queue is empty, -1 with errno
 * on a socket error to give up on. */
static int receive_one(struct events *ev) {
  uint32_t sender;
  ssize_t n =
      nlsock_receive(ev->nl, ev->buf, sizeof(ev->buf), MSG_DONTWAIT, &sender);
  if (n < 0) {
    switch (errno) {
    case EAGAIN:
      return 0;
    case ENOBUFS:
      overflowed(ev);
      return 1;
    case EMSGSIZE: /* an event longer than any the kernel writes */
      ev->lost++;
      return 1;
    case EINTR:
      return 1;
    }
    return -1;
  }
  if (sender == ev->marker_portid)
    on_marker(ev, (size_t)n);
  else if (sender != NLSOCK_KERNEL)
    refuse(ev, sender);
  else if (!nlsock_messages_fit(ev->buf, (size_t)n))
    refuse(ev, sender);
  else
    mnl_cb_run(ev->buf, n, 0, 0, on_event, ev);
  return 1;
}

/* Reads up to SLICE datagrams under the lock, fewer once the marker
 * numbered until has been read (until 0: none awaited). Returns what the
 * last receive_one() returned. */
static int read_slice(struct events *ev, uint32_t until) {
  int rc = 1;
  fairlock_acquire(ev->config.lock);
  for (int i = 0; i < SLICE && rc > 0; i++) {
    if (until != 0 && ev->marker_seen == until)
      break;
    rc = receive_one(ev);
  }
  fairlock_release(ev->config.lock);
  return rc;
}

/* The reader failed: from now on no event is counted. */
static void fail(struct events *ev) {
  ev->config.log(LOG_ERR,
                 "reading conntrack events failed: %s; ended entries now "
                 "lose their tail as with Events false",
                 strerror(errno));
  ev->failed = true;
}

static void *reader(void *arg) {
  struct events *ev = arg;
  struct pollfd fds[2] = {{.fd = mnl_socket_get_fd(ev->nl), .events = POLLIN},
                          {.fd = ev->stop_fd, .events = POLLIN}};
  while (!ev->stop) {
    int ready = poll(fds, 2, STOP_POLL_MS);
    if (ready < 0 && errno != EINTR) {
      fail(ev);
      break;
    }
    if (ready <= 0 || fds[1].revents)
      continue;
    int rc;
    do
      rc = read_slice(ev, 0);
    while (rc > 0 && !ev->stop);
    if (rc < 0) {
      fail(ev);
      break;
    }
  }
  return NULL;
}

/* Returns 0 after subscribing the event socket to DESTROY events and
 * opening the marker socket, both in the namespace: a socket hears the
 * events of the namespace it was made in, and a unicast reaches only a
 * socket of its own namespace. */
static int subscribe(struct events *ev) {
  int group = NFNLGRP_CONNTRACK_DESTROY;
  struct timeval timeout = {.tv_sec = MARKER_TIMEOUT_S};
  ev->nl = nlsock_open(ev->config.netns);
  ev->marker = nlsock_open(ev->config.netns);
  if (ev->nl == NULL || ev->marker == NULL ||
      mnl_socket_setsockopt(ev->nl, NETLINK_ADD_MEMBERSHIP, &group,
                            sizeof(group)) < 0 ||
      setsockopt(mnl_socket_get_fd(ev->marker), SOL_SOCKET, SO_SNDTIMEO,
                 &timeout, sizeof(timeout)) < 0)
    return -1;
  ev->marker_portid = mnl_socket_get_portid(ev->marker);
  size_t size = ev->config.buffer_size < ev->config.buffer_max
                    ? ev->config.buffer_size
                    : ev->config.buffer_max;
  return set_buffer(ev, size);
}

static void release(struct events *ev) {
  if (ev->nl)
    mnl_socket_close(ev->nl);
  if (ev->marker)
    mnl_socket_close(ev->marker);
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
  ev->stop = true;
  uint64_t one = 1;
  /* Should the write fail, the reader sees the flag within STOP_POLL_MS. */
  if (write(ev->stop_fd, &one, sizeof(one)) < 0)
    ev->config.log(LOG_NOTICE, "waking the event reader failed: %s",
                   strerror(errno));
  pthread_join(ev->thread, NULL);
  release(ev);
}

/* Returns 0 after queueing marker seq behind every event queued so far. */
static int send_marker(struct events *ev, uint32_t seq) {
  struct nlmsghdr marker = {
      .nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_NOOP, .nlmsg_seq = seq};
  struct sockaddr_nl to = {.nl_family = AF_NETLINK,
                           .nl_pid = mnl_socket_get_portid(ev->nl)};
  ssize_t n;
  do
    n = sendto(mnl_socket_get_fd(ev->marker), &marker, sizeof(marker), 0,
               (const struct sockaddr *)&to, sizeof(to));
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof(marker) ? 0 : -1;
}

int events_catch_up(struct events *ev) {
  if (ev->failed)
    return -1;
  uint32_t seq = ++ev->marker_sent;
  if (seq == 0) /* 0 means "no marker awaited" to read_slice() */
    seq = ++ev->marker_sent;
  if (send_marker(ev, seq) < 0)
    return -1;
  while (ev->marker_seen != seq) {
    int rc = read_slice(ev, seq);
    if (rc < 0) {
      /* The reader meets the same error and says so. */
      return -1;
    }
    /* Empty without the marker: a queue never drops a unicast, so this
     * cannot be; refuse to go on as if it were read. */
    if (rc == 0 && ev->marker_seen != seq)
      return -1;
    if (ev->failed)
      return -1;
  }
  return 0;
}

struct events_stats events_stats(const struct events *ev) {
  return (struct events_stats){
      .lost = ev->lost, .bad_messages = ev->bad_messages, .failed = ev->failed};
}
