/* localnet.c: CIDR parsing and matching. A site has a handful of local
 * networks, so a linear scan of whole-word masks beats any trie here. */
#include "localnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Returns the mask of word i (0..3, network order) for a prefix of len bits. */
static uint32_t word_mask(unsigned len, unsigned i) {
  unsigned bits = len > 32 * i ? len - 32 * i : 0;
  if (bits >= 32)
    return 0xffffffffu;
  return bits == 0 ? 0 : htonl(~0u << (32 - bits));
}

int prefix_parse(const char *text, struct prefix *out) {
  char addr[INET6_ADDRSTRLEN];
  const char *slash = strchr(text, '/');
  size_t addr_len = slash ? (size_t)(slash - text) : strlen(text);
  if (addr_len == 0 || addr_len >= sizeof(addr))
    return -1;
  memcpy(addr, text, addr_len);
  addr[addr_len] = '\0';

  memset(out, 0, sizeof(*out));
  if (inet_pton(AF_INET, addr, &out->addr.v4) == 1)
    out->family = AF_INET;
  else if (inet_pton(AF_INET6, addr, &out->addr.v6) == 1)
    out->family = AF_INET6;
  else
    return -1;

  unsigned max = out->family == AF_INET ? 32 : 128;
  unsigned long len = max;
  if (slash) {
    char *end;
    if (slash[1] < '0' || slash[1] > '9')
      return -1;
    errno = 0;
    len = strtoul(slash + 1, &end, 10);
    if (errno || *end != '\0' || len > max)
      return -1;
  }
  out->len = len;
  for (unsigned i = 0; i < 4; i++)
    out->addr.w[i] &= word_mask(out->len, i);
  return 0;
}

int localnet_add(struct localnet *net, const char *text) {
  struct prefix p;
  if (prefix_parse(text, &p) < 0) {
    errno = EINVAL;
    return -1;
  }
  if (net->count == LOCALNET_MAX) {
    errno = ENOSPC;
    return -1;
  }
  net->prefixes[net->count++] = p;
  return 0;
}

void localnet_set_default(struct localnet *net) {
  static const char *const defaults[] = {"10.0.0.0/8", "172.16.0.0/12",
                                         "192.168.0.0/16", "fc00::/7"};
  net->count = 0;
  for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
    localnet_add(net, defaults[i]);
}

static bool prefix_contains(const struct prefix *p, const union ct_addr *a) {
  for (unsigned i = 0; i < 4; i++)
    if ((a->w[i] & word_mask(p->len, i)) != p->addr.w[i])
      return false;
  return true;
}

bool localnet_contains(const struct localnet *net, uint8_t family,
                       const union ct_addr *addr) {
  for (size_t i = 0; i < net->count; i++)
    if (net->prefixes[i].family == family &&
        prefix_contains(&net->prefixes[i], addr))
      return true;
  return false;
}

size_t localnet_addresses(const struct localnet *net, uint8_t family,
                          size_t cap) {
  size_t sum = 0;
  for (size_t i = 0; i < net->count && sum < cap; i++) {
    const struct prefix *p = &net->prefixes[i];
    if (p->family != family)
      continue;
    unsigned host_bits = (family == AF_INET ? 32u : 128u) - p->len;
    if (host_bits >= 8 * sizeof(size_t) - 1 ||
        ((size_t)1 << host_bits) >= cap - sum)
      return cap;
    sum += (size_t)1 << host_bits;
  }
  return sum < cap ? sum : cap;
}
