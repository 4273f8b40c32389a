/* namespaces.h: fresh network namespaces for the unit tests of code that
 * enters one (netns.c and its users), and ways to tell which namespace a
 * thread or a socket is in.
 *
 * Needs root (CAP_SYS_ADMIN), as tests/run has. Check runs every test in a
 * process of its own, so a namespace made here, and anything set inside
 * it, goes away with that process and never touches the host's. */
#ifndef CTFLOW_TESTS_NAMESPACES_H
#define CTFLOW_TESTS_NAMESPACES_H

#define _GNU_SOURCE /* unshare, setns */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define THREAD_NETNS_FILE "/proc/thread-self/ns/net"

/* Returns an fd of a new network namespace (its conntrack table empty, its
 * settings the kernel's defaults), with the calling thread left where it
 * was. */
static inline int netns_fresh(void) {
  int here = open(THREAD_NETNS_FILE, O_RDONLY | O_CLOEXEC);
  ck_assert_msg(here >= 0, "%s: %s", THREAD_NETNS_FILE, strerror(errno));
  ck_assert_msg(unshare(CLONE_NEWNET) == 0,
                "unshare(CLONE_NEWNET): %s (the test needs root)",
                strerror(errno));
  int fresh = open(THREAD_NETNS_FILE, O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge(fresh, 0);
  ck_assert_int_eq(setns(here, CLONE_NEWNET), 0);
  close(here);
  return fresh;
}

/* Returns the inode that names the namespace of file fd: two namespace
 * files are the same namespace when their inodes are equal. */
static inline ino_t netns_id(int fd) {
  struct stat st;
  ck_assert_int_eq(fstat(fd, &st), 0);
  return st.st_ino;
}

/* Returns the inode of the calling thread's namespace. */
static inline ino_t netns_id_of_thread(void) {
  struct stat st;
  ck_assert_int_eq(stat(THREAD_NETNS_FILE, &st), 0);
  return st.st_ino;
}

/* Returns the inode of the namespace socket sock was made in (SIOCGSKNS,
 * Linux 4.9, hands out a file of it). */
static inline ino_t netns_id_of_socket(int sock) {
  int ns = ioctl(sock, SIOCGSKNS);
  ck_assert_msg(ns >= 0, "SIOCGSKNS: %s", strerror(errno));
  ino_t id = netns_id(ns);
  close(ns);
  return id;
}

/* Writes a path that opens namespace fd ns into path: what a user would
 * give NetNamespace as /proc/PID/ns/net. */
static inline void netns_fd_path(int ns, char *path, size_t size) {
  snprintf(path, size, "/proc/self/fd/%d", ns);
}

#endif
