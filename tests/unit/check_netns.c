/* check_netns.c: NetNamespace's machinery: names to paths, opening a
 * namespace, a thread going in and coming back, and the conntrack socket
 * made (and made again after an error) inside it while the caller stays
 * outside. Needs root (namespaces.h). */
#include "namespaces.h"

#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "ctnetlink.h"
#include "entries.h"
#include "netns.h"

/* Names to paths */

START_TEST(a_name_is_a_namespace_under_run_netns) {
  char path[PATH_MAX];
  ck_assert_int_eq(netns_path("router", path, sizeof(path)), 0);
  ck_assert_str_eq(path, "/run/netns/router");
}
END_TEST

START_TEST(an_absolute_path_is_taken_as_it_is) {
  char path[PATH_MAX];
  ck_assert_int_eq(netns_path("/proc/1234/ns/net", path, sizeof(path)), 0);
  ck_assert_str_eq(path, "/proc/1234/ns/net");
}
END_TEST

START_TEST(a_name_that_is_no_file_name_is_refused) {
  const char *bad[] = {"", ".", "..", "lan/router", "../etc/passwd"};
  char path[PATH_MAX];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    errno = 0;
    ck_assert_msg(netns_path(bad[i], path, sizeof(path)) == -1 &&
                      errno == EINVAL,
                  "\"%s\" was not refused with EINVAL", bad[i]);
  }
}
END_TEST

START_TEST(a_path_longer_than_the_room_for_it_is_refused) {
  char path[16];
  ck_assert_int_eq(netns_path("a-long-router-name", path, sizeof(path)), -1);
  ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

/* Opening */

START_TEST(a_namespace_that_does_not_exist_cannot_be_opened) {
  ck_assert_int_eq(netns_open("/run/netns/ctflow-unit-no-such-ns"), -1);
  ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(another_kind_of_namespace_is_not_a_network_namespace) {
  ck_assert_int_eq(netns_open("/proc/self/ns/uts"), -1);
  ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(a_plain_file_is_not_a_network_namespace) {
  ck_assert_int_eq(netns_open("/proc/self/stat"), -1);
  ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(a_network_namespace_opens) {
  int fresh = netns_fresh();
  char path[64];
  netns_fd_path(fresh, path, sizeof(path));
  int ns = netns_open(path);
  ck_assert_int_ge(ns, 0);
  ck_assert_uint_eq(netns_id(ns), netns_id(fresh));
  close(ns);
  close(fresh);
}
END_TEST

/* In and out */

START_TEST(entering_moves_the_calling_thread_into_the_namespace) {
  int fresh = netns_fresh(), saved;
  ck_assert_int_eq(netns_enter(fresh, &saved), 0);
  ck_assert_uint_eq(netns_id_of_thread(), netns_id(fresh));
  ck_assert_int_eq(netns_leave(saved), 0);
  close(fresh);
}
END_TEST

START_TEST(leaving_brings_the_thread_back_where_it_was) {
  ino_t home = netns_id_of_thread();
  int fresh = netns_fresh(), saved;
  ck_assert_int_eq(netns_enter(fresh, &saved), 0);
  ck_assert_int_eq(netns_leave(saved), 0);
  ck_assert_uint_eq(netns_id_of_thread(), home);
  close(fresh);
}
END_TEST

START_TEST(namespace_minus_one_means_staying_where_one_is) {
  ino_t home = netns_id_of_thread();
  int saved = 7;
  ck_assert_int_eq(netns_enter(-1, &saved), 0);
  ck_assert_int_eq(saved, -1);
  ck_assert_uint_eq(netns_id_of_thread(), home);
  ck_assert_int_eq(netns_leave(saved), 0);
  ck_assert_uint_eq(netns_id_of_thread(), home);
}
END_TEST

START_TEST(leaving_keeps_the_errno_of_what_failed_inside) {
  int fresh = netns_fresh(), saved;
  ck_assert_int_eq(netns_enter(fresh, &saved), 0);
  errno = EPROTONOSUPPORT;
  ck_assert_int_eq(netns_leave(saved), 0);
  ck_assert_int_eq(errno, EPROTONOSUPPORT);
  close(fresh);
}
END_TEST

/* What another thread sees while the caller is inside. */
struct observer {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int step; /* 1: the caller is inside; 2: the observer has looked */
  ino_t seen;
};

static void *observe(void *arg) {
  struct observer *o = arg;
  pthread_mutex_lock(&o->lock);
  while (o->step < 1)
    pthread_cond_wait(&o->cond, &o->lock);
  o->seen = netns_id_of_thread();
  o->step = 2;
  pthread_cond_broadcast(&o->cond);
  pthread_mutex_unlock(&o->lock);
  return NULL;
}

/* collectd's other threads (its other plugins) stay where they are. */
START_TEST(only_the_calling_thread_moves) {
  ino_t home = netns_id_of_thread();
  int fresh = netns_fresh(), saved;
  struct observer o = {.lock = PTHREAD_MUTEX_INITIALIZER,
                       .cond = PTHREAD_COND_INITIALIZER};
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, observe, &o), 0);
  ck_assert_int_eq(netns_enter(fresh, &saved), 0);
  pthread_mutex_lock(&o.lock);
  o.step = 1;
  pthread_cond_broadcast(&o.cond);
  while (o.step < 2)
    pthread_cond_wait(&o.cond, &o.lock);
  pthread_mutex_unlock(&o.lock);
  ck_assert_int_eq(netns_leave(saved), 0);
  pthread_join(t, NULL);
  ck_assert_uint_eq(o.seen, home);
  close(fresh);
}
END_TEST

/* The conntrack socket */

static struct ctnetlink ct; /* 32 KiB buffer: not on the stack */

/* Asserts that ct's socket is in namespace ns while the caller is in the
 * namespace of inode home. */
static void assert_socket_in(int ns, ino_t home) {
  ck_assert_uint_eq(netns_id_of_socket(mnl_socket_get_fd(ct.nl)), netns_id(ns));
  ck_assert_uint_eq(netns_id_of_thread(), home);
}

START_TEST(a_socket_made_inside_stays_there_after_leaving) {
  int fresh = netns_fresh(), saved;
  ck_assert_int_eq(netns_enter(fresh, &saved), 0);
  int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  ck_assert_int_ge(sock, 0);
  ck_assert_int_eq(netns_leave(saved), 0);
  ck_assert_uint_eq(netns_id_of_socket(sock), netns_id(fresh));
  close(sock);
  close(fresh);
}
END_TEST

START_TEST(the_conntrack_socket_opens_in_its_namespace_and_the_caller_stays) {
  ino_t home = netns_id_of_thread();
  int fresh = netns_fresh();
  ck_assert_int_eq(ctnetlink_open(&ct, fresh), 0);
  assert_socket_in(fresh, home);
  ctnetlink_close(&ct);
  close(fresh);
}
END_TEST

START_TEST(without_a_namespace_the_conntrack_socket_is_the_caller_s) {
  ck_assert_int_eq(ctnetlink_open(&ct, -1), 0);
  ck_assert_uint_eq(netns_id_of_socket(mnl_socket_get_fd(ct.nl)),
                    netns_id_of_thread());
  ctnetlink_close(&ct);
}
END_TEST

static int refuse(const struct nlmsghdr *nlh, void *arg) {
  (void)nlh;
  (void)arg;
  return MNL_CB_ERROR;
}

/* ctnetlink_request() replaces its socket after an error, from the
 * collectd thread that reads: the new one must be in the namespace too. */
START_TEST(the_conntrack_socket_made_again_after_an_error_is_in_its_namespace) {
  ino_t home = netns_id_of_thread();
  int fresh = netns_fresh();
  ck_assert_int_eq(ctnetlink_open(&ct, fresh), 0);
  struct mnl_socket *first = ct.nl;
  ck_assert_int_eq(
      ctnetlink_request(&ct, IPCTNL_MSG_CT_GET_STATS, NLM_F_ACK, refuse, NULL),
      -1);
  ck_assert_int_eq(errno, ECANCELED);
  ck_assert_ptr_nonnull(ct.nl);
  ck_assert_ptr_ne(ct.nl, first);
  assert_socket_in(fresh, home);
  ctnetlink_close(&ct);
  close(fresh);
}
END_TEST

static Suite *netns_suite(void) {
  Suite *s = suite_create("netns");
  TCase *names = tcase_create("names to paths");
  tcase_add_test(names, a_name_is_a_namespace_under_run_netns);
  tcase_add_test(names, an_absolute_path_is_taken_as_it_is);
  tcase_add_test(names, a_name_that_is_no_file_name_is_refused);
  tcase_add_test(names, a_path_longer_than_the_room_for_it_is_refused);
  suite_add_tcase(s, names);

  TCase *open = tcase_create("opening");
  tcase_add_test(open, a_namespace_that_does_not_exist_cannot_be_opened);
  tcase_add_test(open, another_kind_of_namespace_is_not_a_network_namespace);
  tcase_add_test(open, a_plain_file_is_not_a_network_namespace);
  tcase_add_test(open, a_network_namespace_opens);
  suite_add_tcase(s, open);

  TCase *moves = tcase_create("in and out");
  tcase_add_test(moves, entering_moves_the_calling_thread_into_the_namespace);
  tcase_add_test(moves, leaving_brings_the_thread_back_where_it_was);
  tcase_add_test(moves, namespace_minus_one_means_staying_where_one_is);
  tcase_add_test(moves, leaving_keeps_the_errno_of_what_failed_inside);
  tcase_add_test(moves, only_the_calling_thread_moves);
  suite_add_tcase(s, moves);

  TCase *sockets = tcase_create("conntrack socket");
  tcase_add_test(sockets, a_socket_made_inside_stays_there_after_leaving);
  tcase_add_test(
      sockets,
      the_conntrack_socket_opens_in_its_namespace_and_the_caller_stays);
  tcase_add_test(sockets,
                 without_a_namespace_the_conntrack_socket_is_the_caller_s);
  tcase_add_test(
      sockets,
      the_conntrack_socket_made_again_after_an_error_is_in_its_namespace);
  suite_add_tcase(s, sockets);
  return s;
}

int main(void) { return run_suite(netns_suite()); }
