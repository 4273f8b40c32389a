/* check_events.c: the DESTROY event reader against the real kernel, in a
 * fresh network namespace of each test's own (namespaces.h): what it
 * counts, what it refuses, and how it fails. Entries are made and deleted
 * over ctnetlink (kernel_table.h); deleting one makes the kernel send its
 * DESTROY event. Needs root, nf_conntrack and nf_conntrack_netlink. */
#include "namespaces.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "entries.h"
#include "events.h"
#include "fixture.h"
#include "kernel_table.h"
#include "logs.h"
#include "netns.h"
#include "nlsock.h"

static int table_ns;
static struct fairlock lock;
static struct events *events;
static atomic_int caught_up; /* what events_catch_up() returned; 1: not yet */
static atomic_int destroyed; /* DESTROY events counted */
static useconds_t count_slowly; /* what counting one event takes */

static void on_destroy(const struct ct_entry *e, void *arg) {
  (void)e;
  (void)arg;
  if (count_slowly)
    usleep(count_slowly);
  destroyed++;
}

static struct events_config config(size_t buffer) {
  return (struct events_config){.buffer_size = buffer,
                                .buffer_max = buffer,
                                .netns = -1,
                                .lock = &lock,
                                .on_destroy = on_destroy,
                                .log = record_log};
}

static void setup(void) {
  logs_clear();
  destroyed = 0;
  count_slowly = 0;
  caught_up = 1;
  table_ns = netns_fresh();
  int saved;
  ck_assert_int_eq(netns_enter(table_ns, &saved), 0);
  close(saved);
  ck_assert_int_eq(fairlock_init(&lock), 0);
  struct events_config c = config(1 << 20);
  events = events_start(&c);
  ck_assert_msg(events != NULL, "events_start: %s", last_log);
}

static void teardown(void) {
  events_stop(events);
  fairlock_destroy(&lock);
  close(table_ns);
}

/* The i-th UDP entry of the tests: 10.0.0.1 port 10000 + i to 10.0.0.2. */
static struct table_tuple udp(int i) {
  return (struct table_tuple){AF_INET,    IPPROTO_UDP,           "10.0.0.1",
                              "10.0.0.2", (uint16_t)(10000 + i), 53};
}

/* Makes and deletes n entries: n DESTROY events. */
static void end_entries(int n) {
  for (int i = 0; i < n; i++) {
    struct table_tuple t = udp(i);
    table_load(&t, 0, 0);
    table_delete(&t);
  }
}

START_TEST(catching_up_counts_every_event_queued_before_it) {
  fairlock_acquire(&lock); /* the reader cannot take them meanwhile */
  end_entries(20);
  fairlock_release(&lock);
  ck_assert_int_eq(events_catch_up(events), 0);
  ck_assert_int_eq(destroyed, 20);
}
END_TEST

static atomic_bool flooding; /* the flood goes on until this is false */

/* Ends about 3,000 entries a second, 30 every 10 ms, until flooding is
 * false (at most 20 s), in the namespace of the test (arg): each batch of
 * creations and deletions in one datagram, unacknowledged. */
static void *flood(void *arg) {
  int saved;
  ck_assert_int_eq(netns_enter(*(int *)arg, &saved), 0);
  close(saved);
  struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
  ck_assert_ptr_nonnull(nl);
  ck_assert_int_eq(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
  static _Alignas(8) char batch[30 * 2 * 256];
  for (int round = 0; flooding && round < 2000; round++) {
    size_t used = 0;
    for (int k = 0; k < 30; k++) {
      struct table_tuple t = udp(round * 30 % 20000 + k);
      struct nlmsghdr *nlh =
          table_message(batch + used, IPCTNL_MSG_CT_NEW, NLM_F_CREATE, &t);
      table_put_tuple(nlh, CTA_TUPLE_REPLY, &t, true);
      mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(600));
      nlh->nlmsg_flags &= ~NLM_F_ACK;
      used += NLMSG_ALIGN(nlh->nlmsg_len);
      nlh = table_message(batch + used, IPCTNL_MSG_CT_DELETE, 0, &t);
      nlh->nlmsg_flags &= ~NLM_F_ACK;
      used += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    ck_assert_int_ge(mnl_socket_sendto(nl, batch, used), 0);
    usleep(10000);
  }
  mnl_socket_close(nl);
  return NULL;
}

static void *catch_up(void *arg) {
  (void)arg;
  caught_up = events_catch_up(events);
  return NULL;
}

/* Events come faster than they are counted (2 ms each, by the reader and
 * by the catching up alike: at most 1,000 a second against 3,000), so the
 * queue is not empty while the flood goes on, and a 16 MiB buffer (about
 * 13,000 events) does not overflow in those seconds (an overflowed socket
 * takes nothing until it is empty). Catching up reads up to its marker, about a
 * second's work, and returns; reading until the queue is empty would go
 * on as long as the flood. */
START_TEST(catching_up_during_a_flood_returns_while_the_flood_goes_on) {
  events_stop(events);
  struct events_config c = config(16 << 20);
  events = events_start(&c);
  ck_assert_ptr_nonnull(events);
  count_slowly = 2000;
  flooding = true;
  pthread_t flooder, catcher;
  ck_assert_int_eq(pthread_create(&flooder, NULL, flood, &table_ns), 0);
  usleep(300000);
  ck_assert_int_eq(pthread_create(&catcher, NULL, catch_up, NULL), 0);
  for (int i = 0; i < 400 && caught_up == 1; i++)
    usleep(10000);
  int returned = caught_up;
  flooding = false;
  pthread_join(flooder, NULL);
  pthread_join(catcher, NULL);
  ck_assert_msg(returned == 0, "catching up %s within 4 s of the flood",
                returned == 1 ? "did not return" : "failed");
}
END_TEST

START_TEST(the_reader_counts_events_between_catch_ups) {
  end_entries(5);
  for (int i = 0; i < 200 && destroyed < 5; i++)
    usleep(10000);
  ck_assert_int_eq(destroyed, 5);
}
END_TEST

/* Returns the port ID of the namespace's socket that listens to DESTROY
 * events (NFNLGRP_CONNTRACK_DESTROY: group 3, bit 2 of the mask), from
 * /proc/net/netlink, which lists the sockets of the reader's namespace. */
static uint32_t event_socket_portid(void) {
  FILE *f = fopen("/proc/net/netlink", "r");
  ck_assert_ptr_nonnull(f);
  char line[256];
  unsigned protocol, groups, portid, found = 0;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "%*s %u %u %x", &protocol, &portid, &groups) == 3 &&
        protocol == NETLINK_NETFILTER && (groups & 4))
      found = portid;
  fclose(f);
  ck_assert_uint_ne(found, 0);
  return found;
}

START_TEST(a_destroy_event_another_process_forged_is_not_counted) {
  size_t len;
  struct nlmsghdr *forged = fixture_load("ipv4-udp.bin", &len);
  forged->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE;
  struct mnl_socket *from = nlsock_open(-1);
  ck_assert_ptr_nonnull(from);
  struct sockaddr_nl to = {.nl_family = AF_NETLINK,
                           .nl_pid = event_socket_portid()};
  ck_assert_int_eq(sendto(mnl_socket_get_fd(from), forged, len, 0,
                          (struct sockaddr *)&to, sizeof(to)),
                   (ssize_t)len);
  mnl_socket_close(from);
  free(forged);
  ck_assert_int_eq(events_catch_up(events), 0);
  ck_assert_int_eq(destroyed, 0);
  ck_assert_uint_eq(events_stats(events).bad_messages, 1);
  ck_assert_int_eq(logged(LOG_WARNING, "not from the kernel", NULL), 1);
}
END_TEST

START_TEST(an_overflow_is_counted_and_later_events_are_still_counted) {
  events_stop(events);
  struct events_config c = config(4096);
  events = events_start(&c);
  ck_assert_ptr_nonnull(events);
  fairlock_acquire(&lock); /* events pile up in a 4 KiB buffer */
  end_entries(100);
  fairlock_release(&lock);
  ck_assert_int_eq(events_catch_up(events), 0);
  ck_assert_uint_ge(events_stats(events).lost, 1);
  int before = destroyed;
  ck_assert_int_lt(before, 100);
  struct table_tuple late = udp(1000);
  table_load(&late, 0, 0);
  table_delete(&late);
  ck_assert_int_eq(events_catch_up(events), 0);
  ck_assert_int_eq(destroyed, before + 1);
}
END_TEST

/* Returns the descriptor of the event socket, found by its port ID's
 * inode in /proc/net/netlink among the process's descriptors. */
static int event_socket_fd(void) {
  FILE *f = fopen("/proc/net/netlink", "r");
  ck_assert_ptr_nonnull(f);
  char line[256], want[64] = "", link[64], path[300];
  unsigned protocol, groups, inode;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "%*s %u %*u %x %*s %*s %*s %*s %*s %u", &protocol, &groups,
               &inode) == 3 &&
        protocol == NETLINK_NETFILTER && (groups & 4))
      snprintf(want, sizeof(want), "socket:[%u]", inode);
  fclose(f);
  DIR *d = opendir("/proc/self/fd");
  ck_assert_ptr_nonnull(d);
  int found = -1;
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n > 0 && (link[n] = '\0', strcmp(link, want) == 0))
      found = atoi(de->d_name);
  }
  closedir(d);
  ck_assert_int_ge(found, 0);
  return found;
}

/* A socket error the reader cannot get past: its socket becomes a pipe
 * with a byte in it, so that recvmsg() fails with ENOTSOCK. */
static void break_the_reader(void) {
  int pipe_fds[2];
  ck_assert_int_eq(pipe(pipe_fds), 0);
  ck_assert_int_eq(write(pipe_fds[1], "x", 1), 1);
  ck_assert_int_ge(dup2(pipe_fds[0], event_socket_fd()), 0);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  for (int i = 0; i < 200 && !events_stats(events).failed; i++)
    usleep(10000);
}

START_TEST(a_reader_that_fails_says_so_and_is_counted) {
  break_the_reader();
  ck_assert(events_stats(events).failed);
  ck_assert_int_eq(logged(LOG_ERR, "reading conntrack events failed",
                          "as with Events false"),
                   1);
}
END_TEST

START_TEST(catching_up_after_the_reader_failed_returns_at_once) {
  break_the_reader();
  ck_assert_int_eq(events_catch_up(events), -1);
}
END_TEST

static Suite *events_suite(void) {
  Suite *s = suite_create("events");
  TCase *k = tcase_create("kernel");
  tcase_add_checked_fixture(k, setup, teardown);
  tcase_set_timeout(k, 30);
  tcase_add_test(k, catching_up_counts_every_event_queued_before_it);
  tcase_add_test(k, the_reader_counts_events_between_catch_ups);
  tcase_add_test(k, catching_up_during_a_flood_returns_while_the_flood_goes_on);
  tcase_add_test(k, a_destroy_event_another_process_forged_is_not_counted);
  tcase_add_test(k, an_overflow_is_counted_and_later_events_are_still_counted);
  tcase_add_test(k, a_reader_that_fails_says_so_and_is_counted);
  tcase_add_test(k, catching_up_after_the_reader_failed_returns_at_once);
  suite_add_tcase(s, k);
  return s;
}

int main(void) { return run_suite(events_suite()); }
