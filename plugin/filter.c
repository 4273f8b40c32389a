/* filter.c: Protocol, Zone and Mark. Checked in user space for every entry
 * even when the kernel filtered the dump already: kernels older than the
 * filter attributes ignore them silently, and DESTROY events come
 * unfiltered whatever the dump asked for. */
#include "filter.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocols.h"

/* Returns 0 and the unsigned number text holds in full (decimal, or hex
 * after 0x), at most max; -1 otherwise. */
static int parse_number(const char *text, unsigned long long max,
                        unsigned long long *out) {
  if (text[0] < '0' || text[0] > '9') /* strtoull takes "-1" and " 1" */
    return -1;
  char *end;
  errno = 0;
  unsigned long long n = strtoull(text, &end, 0);
  if (errno != 0 || *end != '\0' || n > max)
    return -1;
  *out = n;
  return 0;
}

static void set_protocol(struct entry_filter *f, uint8_t p) {
  if (!(f->protocols[p / 8] & (1u << (p % 8))))
    f->protocol_count++;
  f->protocols[p / 8] |= 1u << (p % 8);
}

int filter_add_protocol(struct entry_filter *f, const char *text) {
  int named = protocol_number(text);
  if (named >= 0) {
    set_protocol(f, (uint8_t)named);
    return 0;
  }
  unsigned long long n;
  if (parse_number(text, 255, &n) < 0) {
    errno = EINVAL;
    return -1;
  }
  set_protocol(f, (uint8_t)n);
  return 0;
}

int filter_add_zone(struct entry_filter *f, long zone) {
  if (zone < 0 || zone > 65535) {
    errno = EINVAL;
    return -1;
  }
  for (size_t i = 0; i < f->zone_count; i++)
    if (f->zones[i] == zone)
      return 0;
  if (f->zone_count == FILTER_MAX_ZONES) {
    errno = ENOSPC;
    return -1;
  }
  f->zones[f->zone_count++] = (uint16_t)zone;
  return 0;
}

int filter_add_mark(struct entry_filter *f, const char *text) {
  char value[32];
  const char *slash = strchr(text, '/');
  size_t len = slash ? (size_t)(slash - text) : strlen(text);
  unsigned long long v, mask = 0xffffffffu;
  if (len == 0 || len >= sizeof(value)) {
    errno = EINVAL;
    return -1;
  }
  memcpy(value, text, len);
  value[len] = '\0';
  if (parse_number(value, 0xffffffffu, &v) < 0 ||
      (slash && parse_number(slash + 1, 0xffffffffu, &mask) < 0)) {
    errno = EINVAL;
    return -1;
  }
  if (f->mark_count == FILTER_MAX_MARKS) {
    errno = ENOSPC;
    return -1;
  }
  f->marks[f->mark_count++] = (struct mark_match){.value = (uint32_t)(v & mask),
                                                  .mask = (uint32_t)mask};
  return 0;
}

bool filter_is_empty(const struct entry_filter *f) {
  return f->protocol_count == 0 && f->zone_count == 0 && f->mark_count == 0;
}

static bool protocol_matches(const struct entry_filter *f, uint8_t p) {
  return f->protocol_count == 0 || (f->protocols[p / 8] & (1u << (p % 8)));
}

static bool zone_matches(const struct entry_filter *f, uint16_t zone) {
  for (size_t i = 0; i < f->zone_count; i++)
    if (f->zones[i] == zone)
      return true;
  return f->zone_count == 0;
}

static bool mark_matches(const struct entry_filter *f, uint32_t mark) {
  for (size_t i = 0; i < f->mark_count; i++)
    if ((mark & f->marks[i].mask) == f->marks[i].value)
      return true;
  return f->mark_count == 0;
}

bool filter_match(const struct entry_filter *f, const struct ct_entry *e) {
  return protocol_matches(f, e->orig.l4proto) && zone_matches(f, e->zone) &&
         mark_matches(f, e->mark);
}

bool filter_kernel_mark(const struct entry_filter *f, struct mark_match *out) {
  if (f->mark_count != 1)
    return false;
  *out = f->marks[0];
  return true;
}

bool filter_kernel_zone(const struct entry_filter *f, uint16_t *out) {
  if (f->zone_count != 1)
    return false;
  *out = f->zones[0];
  return true;
}

bool filter_kernel_protocol(const struct entry_filter *f, uint8_t *out) {
  if (f->protocol_count != 1)
    return false;
  for (unsigned p = 0; p < 256; p++)
    if (f->protocols[p / 8] & (1u << (p % 8))) {
      *out = (uint8_t)p;
      return true;
    }
  return false;
}

struct kernel_filter filter_kernel_part(const struct entry_filter *f) {
  struct kernel_filter k = {0};
  k.by_mark = filter_kernel_mark(f, &k.mark);
  k.by_zone = filter_kernel_zone(f, &k.zone);
  k.by_protocol = filter_kernel_protocol(f, &k.protocol);
  return k;
}

bool filter_kernel_asks(const struct kernel_filter *k) {
  return k->by_mark || k->by_zone || k->by_protocol;
}
