/* sysctl.c: /proc/sys files, one integer each. */
#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
  char path[256];
  if (path_of(name, path, sizeof(path)) < 0)
    return -1;
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return -1;
  int rc = fscanf(f, "%d", value) == 1 ? 0 : -1;
  fclose(f);
  if (rc < 0)
    errno = EINVAL;
  return rc;
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
