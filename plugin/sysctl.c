/* sysctl.c: /proc/sys files, one integer each. */
#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROC_SYS "/proc/sys/"

/* Writes the file of setting name into path: PROC_SYS and name with its
 * dots as slashes. Returns 0, or -1 with errno ENAMETOOLONG. */
static int path_of(const char *name, char *path, size_t size) {
  int n = snprintf(path, size, PROC_SYS "%s", name);
  if (n < 0 || (size_t)n >= size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = path + strlen(PROC_SYS); *p != '\0'; p++)
    if (*p == '.')
      *p = '/';
  return 0;
}

int sysctl_get(const char *name, int *value) {
  char path[256], text[32];
  if (path_of(name, path, sizeof(path)) < 0)
    return -1;
  /* read(2), not stdio: one number needs no FILE to allocate, so reading
   * a setting cannot run out of memory. */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, text, sizeof(text) - 1);
  int err = errno;
  close(fd);
  if (n < 0) {
    errno = err;
    return -1;
  }
  text[n] = '\0';
  char *end;
  errno = 0;
  long number = strtol(text, &end, 10);
  if (end == text || errno != 0 || number < INT_MIN || number > INT_MAX) {
    errno = EINVAL;
    return -1;
  }
  *value = (int)number;
  return 0;
}

int sysctl_set(const char *name, int value) {
  char path[256], text[16];
  if (path_of(name, path, sizeof(path)) < 0)
    return -1;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int len = snprintf(text, sizeof(text), "%d\n", value);
  ssize_t n = write(fd, text, (size_t)len);
  int err = n < 0 ? errno : EIO;
  close(fd);
  if (n != len) {
    errno = err;
    return -1;
  }
  return 0;
}
