/* fixture.h: loads the netlink messages captured by
 * tests/fixtures/capture.sh into exact-size heap buffers, so that
 * AddressSanitizer catches a parser reading one byte past a message. */
#ifndef CTFLOW_TEST_FIXTURE_H
#define CTFLOW_TEST_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* make check exports FIXTURES; run by hand, the fixtures are found next to
 * this file's directory in the source tree. */
static inline void fixture_path(char *path, size_t size, const char *name) {
  const char *dir = getenv("FIXTURES");
  if (dir != NULL && dir[0] != '\0') {
    snprintf(path, size, "%s/%s", dir, name);
    return;
  }
  const char *here = __FILE__;
  const char *slash = strrchr(here, '/');
  int len = slash ? (int)(slash - here) : 1;
  snprintf(path, size, "%.*s/../fixtures/%s", len, slash ? here : ".", name);
}

/* Returns fixture NAME in a malloc'd buffer of exactly its size, stored in
 * *len; fails the running test when the file cannot be read. */
static inline void *fixture_load(const char *name, size_t *len) {
  char path[4096];
  fixture_path(path, sizeof(path), name);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open fixture %s: %s (set FIXTURES)", path,
                strerror(errno));
  ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
  long size = ftell(f);
  ck_assert_msg(size > 0, "fixture %s is empty", path);
  rewind(f);
  void *buf = malloc((size_t)size);
  ck_assert_ptr_nonnull(buf);
  ck_assert_msg(fread(buf, 1, (size_t)size, f) == (size_t)size,
                "cannot read fixture %s", path);
  fclose(f);
  *len = (size_t)size;
  return buf;
}

/* Returns a malloc'd copy of the first len bytes of msg, in a buffer of
 * exactly len bytes. */
static inline void *fixture_copy(const void *msg, size_t len) {
  void *buf = malloc(len);
  ck_assert(buf != NULL || len == 0);
  if (len > 0)
    memcpy(buf, msg, len);
  return buf;
}

/* Returns the size of the mapping that holds a guarded copy of len bytes:
 * its pages and one more, the guard. */
static inline size_t fixture_guarded_size(size_t len) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return ((len + 3) / page + 2) * page;
}

/* Returns a copy of the first len bytes of msg that ends where an
 * inaccessible page begins, so that reading past it faults even in code
 * ASan does not see (libmnl is not built with it). The copy starts 4-byte
 * aligned, as netlink messages do, so up to 3 bytes lie between its end
 * and the guard when len is not a multiple of 4. Release it with
 * fixture_guarded_free(copy, len). */
static inline void *fixture_guarded_copy(const void *msg, size_t len) {
  size_t size = fixture_guarded_size(len), page = sysconf(_SC_PAGESIZE);
  char *map = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ck_assert(map != MAP_FAILED);
  char *guard = map + size - page;
  ck_assert_int_eq(mprotect(guard, page, PROT_NONE), 0);
  char *copy = guard - ((len + 3) & ~(size_t)3);
  if (len > 0)
    memcpy(copy, msg, len);
  return copy;
}

static inline void fixture_guarded_free(void *copy, size_t len) {
  size_t size = fixture_guarded_size(len), page = sysconf(_SC_PAGESIZE);
  char *guard = (char *)copy + ((len + 3) & ~(size_t)3);
  munmap(guard + page - size, size);
}

/* Byte access for crafting malformed messages from captured ones: where
 * the attributes begin, a u16 (an attribute's length or type), and the
 * message's nlmsg_len, all in host byte order as netlink has them. */
#define PAYLOAD (MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg))

static inline uint16_t get_u16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

static inline void set_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, sizeof(v)); }

static inline uint32_t msg_len(const uint8_t *msg) {
  uint32_t v;
  memcpy(&v, msg, sizeof(v));
  return v;
}

static inline void set_msg_len(uint8_t *msg, uint32_t v) {
  memcpy(msg, &v, sizeof(v));
}

#endif
