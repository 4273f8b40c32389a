/* alloc_fail.c: see alloc_fail.h. Only programs linked with the
 * --wrap flags it names may contain it: __real_<name> exist only there. */
#include "alloc_fail.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *block, size_t size);
void __real_free(void *block);
char *__real_strdup(const char *text);
char *__real_strndup(const char *text, size_t max);
ssize_t __real_getline(char **line, size_t *size, FILE *f);
FILE *__real_fopen(const char *path, const char *mode);
FILE *__real_fdopen(int fd, const char *mode);
int __real_regcomp(regex_t *re, const char *pattern, int flags);
int __real_regexec(const regex_t *re, const char *text, size_t nmatch,
                   regmatch_t match[], int flags);
struct mnl_socket *__real_mnl_socket_open2(int bus, int flags);
int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg);

/* Blocks live at once that can be told apart: far more than the code under
 * test holds (a few hundred in the tests' scenarios). */
#define LIVE_MAX 8192

static atomic_bool armed;
static atomic_ulong counted;
static unsigned long fail_at;
static pthread_t harness;
static atomic_bool harness_counts;
static const char *_Atomic failed_call;
static void *_Atomic failed_caller;

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static void *live[LIVE_MAX];
static size_t live_count;
static bool live_overflow;

void alloc_fail_at(unsigned long n) {
  pthread_mutex_lock(&live_lock);
  live_count = 0;
  live_overflow = false;
  pthread_mutex_unlock(&live_lock);
  harness = pthread_self();
  harness_counts = false;
  fail_at = n;
  counted = 0;
  failed_call = NULL;
  failed_caller = NULL;
  armed = true;
}

void alloc_fail_stop(void) { armed = false; }

void alloc_fail_here(bool on) { harness_counts = on; }

unsigned long alloc_fail_count(void) { return counted; }

const char *alloc_fail_failed(void) { return failed_call; }

void *alloc_fail_caller(void) { return failed_caller; }

size_t alloc_fail_live(void) {
  pthread_mutex_lock(&live_lock);
  size_t n = live_overflow ? (size_t)-1 : live_count;
  pthread_mutex_unlock(&live_lock);
  return n;
}

static bool counts(void) {
  return armed && (harness_counts || !pthread_equal(pthread_self(), harness));
}

/* Counts a call of function name made from caller. Returns whether it is
 * the one to fail. */
static bool fails(const char *name, void *caller) {
  if (!counts())
    return false;
  if (++counted != fail_at)
    return false;
  failed_call = name;
  failed_caller = caller;
  return true;
}

static void track(void *block) {
  if (block == NULL || !counts())
    return;
  pthread_mutex_lock(&live_lock);
  if (live_count < LIVE_MAX)
    live[live_count++] = block;
  else
    live_overflow = true;
  pthread_mutex_unlock(&live_lock);
}

/* Forgets block, which may be one not tracked (allocated before counting
 * began, by the harness, or inside a library). */
static void untrack(void *block) {
  if (block == NULL)
    return;
  pthread_mutex_lock(&live_lock);
  for (size_t i = live_count; i-- > 0;)
    if (live[i] == block) {
      live[i] = live[--live_count];
      break;
    }
  pthread_mutex_unlock(&live_lock);
}

#define CALLER __builtin_extract_return_addr(__builtin_return_address(0))

void *__wrap_malloc(size_t size) {
  if (fails("malloc", CALLER)) {
    errno = ENOMEM;
    return NULL;
  }
  void *block = __real_malloc(size);
  track(block);
  return block;
}

void *__wrap_calloc(size_t count, size_t size) {
  if (fails("calloc", CALLER)) {
    errno = ENOMEM;
    return NULL;
  }
  void *block = __real_calloc(count, size);
  track(block);
  return block;
}

void *__wrap_realloc(void *block, size_t size) {
  if (fails("realloc", CALLER)) {
    errno = ENOMEM;
    return NULL; /* block stays the caller's */
  }
  void *moved = __real_realloc(block, size);
  if (moved != NULL) {
    untrack(block);
    track(moved);
  }
  return moved;
}

void __wrap_free(void *block) {
  untrack(block);
  __real_free(block);
}

char *__wrap_strdup(const char *text) {
  if (fails("strdup", CALLER)) {
    errno = ENOMEM;
    return NULL;
  }
  char *copy = __real_strdup(text);
  track(copy);
  return copy;
}

char *__wrap_strndup(const char *text, size_t max) {
  if (fails("strndup", CALLER)) {
    errno = ENOMEM;
    return NULL;
  }
  char *copy = __real_strndup(text, max);
  track(copy);
  return copy;
}

ssize_t __wrap_getline(char **line, size_t *size, FILE *f) {
  if (fails("getline", CALLER)) {
    errno = ENOMEM;
    return -1;
  }
  return __real_getline(line, size, f);
}

FILE *__wrap_fopen(const char *path, const char *mode) {
  if (fails("fopen", CALLER)) {
    errno = ENOMEM;
    return NULL;
  }
  return __real_fopen(path, mode);
}

FILE *__wrap_fdopen(int fd, const char *mode) {
  if (fails("fdopen", CALLER)) {
    errno = ENOMEM;
    return NULL;
  }
  return __real_fdopen(fd, mode);
}

int __wrap_regcomp(regex_t *re, const char *pattern, int flags) {
  if (fails("regcomp", CALLER))
    return REG_ESPACE;
  return __real_regcomp(re, pattern, flags);
}

int __wrap_regexec(const regex_t *re, const char *text, size_t nmatch,
                   regmatch_t match[], int flags) {
  if (fails("regexec", CALLER))
    return REG_ESPACE;
  return __real_regexec(re, text, nmatch, match, flags);
}

struct mnl_socket *__wrap_mnl_socket_open2(int bus, int flags) {
  if (fails("mnl_socket_open2", CALLER)) {
    errno = ENOMEM;
    return NULL;
  }
  return __real_mnl_socket_open2(bus, flags);
}

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg) {
  if (fails("pthread_create", CALLER))
    return EAGAIN;
  return __real_pthread_create(thread, attr, start, arg);
}
