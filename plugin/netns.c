/* netns.c: setns(2) on the calling thread, there and back. */
#define _GNU_SOURCE /* setns, CLONE_NEWNET */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The calling thread's namespace. /proc/self/ns/net would be the main
 * thread's, which is another one while that thread is inside. */
#define THREAD_NETNS "/proc/thread-self/ns/net"

int netns_path(const char *name, char *path, size_t size) {
  if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
      (name[0] != '/' && strchr(name, '/') != NULL)) {
    errno = EINVAL;
    return -1;
  }
  int n = name[0] == '/' ? snprintf(path, size, "%s", name)
                         : snprintf(path, size, NETNS_RUN_DIR "/%s", name);
  if (n < 0 || (size_t)n >= size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

int netns_open(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  /* NS_GET_NSTYPE (Linux 4.11) answers for namespace files only: a plain
   * file (a /run/netns name whose bind mount is gone) fails it, another
   * kind of namespace answers its own type. */
  if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

int netns_enter(int ns, int *saved) {
  *saved = -1;
  if (ns < 0)
    return 0;
  int here = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
  if (here < 0)
    return -1;
  if (setns(ns, CLONE_NEWNET) < 0) {
    int err = errno;
    close(here);
    errno = err;
    return -1;
  }
  *saved = here;
  return 0;
}

int netns_leave(int saved) {
  if (saved < 0)
    return 0;
  int err = errno; /* callers report what they did inside, not this */
  int rc = setns(saved, CLONE_NEWNET);
  if (rc < 0)
    err = errno;
  close(saved);
  errno = err;
  return rc;
}
