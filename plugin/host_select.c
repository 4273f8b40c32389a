/* host_select.c: Host and IgnoreSelected. Prefixes reuse localnet's
 * matching; regexes see the address as inet_ntop() writes it. */
#include "host_select.h"

#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "localnet.h"
#include "regex_limits.h"

/* Answers remembered, direct-mapped by the keyed address hash: far more
 * slots than a site has hosts, so a dump asks each regex about a host
 * about once, and no guest can choose addresses that evict each other. */
#define CACHE_SLOTS 1024

struct cached {
  union ct_addr addr;
  uint8_t family; /* 0: empty slot */
  bool wanted;
};

struct host_select {
  struct localnet prefixes; /* addresses and CIDRs */
  regex_t *regexes;
  size_t regex_count;
  bool ignore_selected;
  struct cached cache[CACHE_SLOTS];
};

struct host_select *host_select_new(void) {
  return calloc(1, sizeof(struct host_select));
}

void host_select_free(struct host_select *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->regex_count; i++)
    regfree(&s->regexes[i]);
  free(s->regexes);
  free(s);
}

static void forget_answers(struct host_select *s) {
  memset(s->cache, 0, sizeof(s->cache));
}

/* Returns whether text is "/regex/". */
static bool is_regex(const char *text, size_t len) {
  return len >= 2 && text[0] == '/' && text[len - 1] == '/';
}

const char *host_select_check(const char *text) {
  size_t len = strlen(text);
  return is_regex(text, len) ? regex_limits_check(text + 1, len - 2) : NULL;
}

/* Returns 0 after adding the regex between the slashes of "/.../". */
static int add_regex(struct host_select *s, const char *text, size_t len) {
  if (regex_limits_check(text + 1, len - 2) != NULL) {
    errno = E2BIG;
    return -1;
  }
  /* Kept even when what follows fails: realloc() may have moved it. */
  regex_t *grown =
      realloc(s->regexes, (s->regex_count + 1) * sizeof(*s->regexes));
  if (grown == NULL) {
    errno = ENOMEM;
    return -1;
  }
  s->regexes = grown;
  char *pattern = strndup(text + 1, len - 2);
  if (pattern == NULL) {
    errno = ENOMEM;
    return -1;
  }
  int rc =
      regcomp(&s->regexes[s->regex_count], pattern, REG_EXTENDED | REG_NOSUB);
  free(pattern);
  if (rc != 0) {
    errno = rc == REG_ESPACE ? ENOMEM : EINVAL;
    return -1;
  }
  s->regex_count++;
  return 0;
}

int host_select_add(struct host_select *s, const char *text) {
  size_t len = strlen(text);
  forget_answers(s);
  if (is_regex(text, len))
    return add_regex(s, text, len);
  return localnet_add(&s->prefixes, text);
}

void host_select_ignore_selected(struct host_select *s, bool ignore) {
  s->ignore_selected = ignore;
  forget_answers(s);
}

static bool selected(const struct host_select *s, uint8_t family,
                     const union ct_addr *addr) {
  if (localnet_contains(&s->prefixes, family, addr))
    return true;
  if (s->regex_count == 0)
    return false;
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(family, addr, text, sizeof(text)) == NULL)
    return false;
  for (size_t i = 0; i < s->regex_count; i++)
    if (regexec(&s->regexes[i], text, 0, NULL, 0) == 0)
      return true;
  return false;
}

bool host_select_wants(struct host_select *s, uint8_t family,
                       const union ct_addr *addr) {
  if (s->prefixes.count == 0 && s->regex_count == 0)
    return true;
  if (s->regex_count == 0) /* prefixes alone are cheaper than the cache */
    return selected(s, family, addr) != s->ignore_selected;
  struct cached *c = &s->cache[hash_addr(family, addr) % CACHE_SLOTS];
  if (c->family != family || memcmp(&c->addr, addr, sizeof(*addr)) != 0) {
    c->addr = *addr;
    c->family = family;
    c->wanted = selected(s, family, addr) != s->ignore_selected;
  }
  return c->wanted;
}

size_t host_select_remembered(const struct host_select *s) {
  size_t n = 0;
  for (size_t i = 0; i < CACHE_SLOTS; i++)
    n += s->cache[i].family != 0;
  return n;
}
