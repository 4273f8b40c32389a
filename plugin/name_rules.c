/* name_rules.c: the canonical form, the faults of a name, who a lease's
 * client is, and the judgement over all the names the sources give. */
#include "name_rules.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *const own_instances[] = {"total", "other", "kernel", "self",
                                            "flows"};

static bool is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

static char canonical_of(unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return (char)(c - 'A' + 'a');
  return is_alnum(c) ? (char)c : '_';
}

void name_rules_canonical(const char *name, char out[NAMES_SIZE]) {
  size_t i = 0;
  for (; name[i] != '\0' && i < NAMES_MAX_LEN; i++)
    out[i] = canonical_of((unsigned char)name[i]);
  memset(out + i, 0, NAMES_SIZE - i);
}

int name_rules_compare(const char *a, const char *b) {
  for (size_t i = 0; i < NAMES_MAX_LEN; i++) {
    unsigned char x =
        a[i] ? (unsigned char)canonical_of((unsigned char)a[i]) : 0;
    unsigned char y =
        b[i] ? (unsigned char)canonical_of((unsigned char)b[i]) : 0;
    if (x != y || x == 0)
      return x - y;
  }
  return 0;
}

/* Returns whether canonical is the canonical form of some address's
 * inet_ntop() text: how an unnamed host's plugin instance may be written.
 * inet_ntop() writes lower case hex and '.' or ':' where canonical has
 * '_', so the text it would have printed is one of three readings of
 * canonical: IPv4 ('.' for every '_'), IPv6 (':'), or IPv6 ending in an
 * IPv4 address, as ::ffff:a.b.c.d is printed ('.' for the last three).
 * A reading that parses is printed again: the address is the one when
 * that gives canonical back. */
static bool reads_as_address(const char *canonical) {
  char text[INET6_ADDRSTRLEN], back[INET6_ADDRSTRLEN], back_canon[NAMES_SIZE];
  unsigned char addr[sizeof(struct in6_addr)];
  size_t len = strlen(canonical);
  if (len >= sizeof(text) || strspn(canonical, "0123456789abcdef_") != len)
    return false;
  for (int reading = 0; reading < 3; reading++) {
    int family = reading == 0 ? AF_INET : AF_INET6;
    size_t dots = reading == 0 ? len : reading == 1 ? 0 : 3;
    memcpy(text, canonical, len + 1);
    for (size_t i = len; i-- > 0;)
      if (text[i] == '_') {
        text[i] = dots > 0 ? '.' : ':';
        dots -= dots > 0;
      }
    if (inet_pton(family, text, addr) != 1 ||
        inet_ntop(family, addr, back, sizeof(back)) == NULL)
      continue;
    name_rules_canonical(back, back_canon);
    if (strcmp(back_canon, canonical) == 0)
      return true;
  }
  return false;
}

enum name_verdict name_rules_check(const char *name) {
  char canonical[NAMES_SIZE];
  size_t len = strlen(name);
  size_t alnum = 0;
  for (size_t i = 0; i < len; i++)
    alnum += is_alnum((unsigned char)name[i]);
  if (alnum == 0)
    return NAME_EMPTY;
  if (len > NAMES_MAX_LEN)
    return NAME_TOO_LONG;
  name_rules_canonical(name, canonical);
  /* ctflow's own instances are what a reader must trust most (total and
   * other sum everything): "Other." and "_total_" read as them too. */
  size_t lead = strspn(canonical, "_"), core = strlen(canonical + lead);
  while (core > 0 && canonical[lead + core - 1] == '_')
    core--;
  for (size_t i = 0; i < sizeof(own_instances) / sizeof(own_instances[0]); i++)
    if (strlen(own_instances[i]) == core &&
        memcmp(canonical + lead, own_instances[i], core) == 0)
      return NAME_OWN;
  return reads_as_address(canonical) ? NAME_ADDRESS : NAME_USED;
}

#define CLIENT_ID_MAX 255 /* DHCP option length */

/* Returns the value of hex digit c, or -1. */
static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Parses dnsmasq's hex, "3c:22:fb:12:34:56", into bytes. Returns how many,
 * or -1 when text is not that. */
static int parse_hex(const char *text, unsigned char bytes[CLIENT_ID_MAX]) {
  int n = 0;
  for (const char *p = text;; p += 3) {
    int high = hex_digit(p[0]), low = high < 0 ? -1 : hex_digit(p[1]);
    if (low < 0 || n == CLIENT_ID_MAX)
      return -1;
    bytes[n++] = (unsigned char)(high << 4 | low);
    if (p[2] == '\0')
      return n;
    if (p[2] != ':')
      return -1;
  }
}

/* Writes "hw <type> <address in hex>". */
static void write_hardware(unsigned type, const unsigned char *bytes, int n,
                           char out[NAME_CLIENT_SIZE]) {
  int at = snprintf(out, NAME_CLIENT_SIZE, "hw %u ", type);
  for (int i = 0; i < n && at < NAME_CLIENT_SIZE - 2; i++, at += 2)
    snprintf(out + at, NAME_CLIENT_SIZE - (size_t)at, "%02x", bytes[i]);
}

/* Writes who has the DUID of n bytes: the hardware address it is made of
 * (DUID-LLT: type 1, hardware type, time, address; DUID-LL: type 3,
 * hardware type, address), else the DUID itself. */
static void write_duid(const unsigned char *duid, int n,
                       char out[NAME_CLIENT_SIZE]) {
  int type = n >= 2 ? duid[0] << 8 | duid[1] : -1;
  int address = type == 1 ? 8 : type == 3 ? 4 : 0;
  if (address > 0 && n > address) {
    write_hardware((unsigned)(duid[2] << 8 | duid[3]), duid + address,
                   n - address, out);
    return;
  }
  int at = snprintf(out, NAME_CLIENT_SIZE, "duid ");
  for (int i = 0; i < n && at < NAME_CLIENT_SIZE - 2; i++, at += 2)
    snprintf(out + at, NAME_CLIENT_SIZE - (size_t)at, "%02x", duid[i]);
}

/* dnsmasq writes an IPv4 lease's hardware address as "3c:22:fb:12:34:56"
 * for Ethernet (ARPHRD_ETHER, 1), else with its type first: "06-..."; its
 * client ID and an IPv6 lease's DUID in the same hex. An RFC 4361 client
 * ID is 0xff, a 4-byte IAID, then the client's DUID. */
void name_rules_client(const char *hwaddr, const char *id, const char *address,
                       char out[NAME_CLIENT_SIZE]) {
  unsigned char bytes[CLIENT_ID_MAX];
  int n = id != NULL ? parse_hex(id, bytes) : -1;
  if (hwaddr == NULL && n > 0) {
    write_duid(bytes, n, out);
    return;
  }
  if (hwaddr != NULL && n > 5 && bytes[0] == 0xff) {
    write_duid(bytes + 5, n - 5, out);
    return;
  }
  unsigned type = 1;
  if (hwaddr != NULL && hwaddr[0] != '\0' && hwaddr[1] != '\0' &&
      hwaddr[2] == '-' && hex_digit(hwaddr[0]) >= 0 &&
      hex_digit(hwaddr[1]) >= 0) {
    type = (unsigned)(hex_digit(hwaddr[0]) << 4 | hex_digit(hwaddr[1]));
    hwaddr += 3;
  }
  n = hwaddr != NULL ? parse_hex(hwaddr, bytes) : -1;
  if (n > 0)
    write_hardware(type, bytes, n, out);
  else
    snprintf(out, NAME_CLIENT_SIZE, "lease %s", address);
}

/* Orders claims by canonical name; among the same name, the
 * administrator's first, then by client, then by rank. */
static int by_name_trust_client_rank(const void *a, const void *b) {
  const struct name_claim *x = *(struct name_claim *const *)a;
  const struct name_claim *y = *(struct name_claim *const *)b;
  int c = name_rules_compare(x->name, y->name);
  if (c != 0)
    return c;
  if ((x->client == NULL) != (y->client == NULL))
    return x->client == NULL ? -1 : 1;
  if (x->client != NULL && (c = strcmp(x->client, y->client)) != 0)
    return c;
  return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* Judges the claims of one name, sorted; those with faults of their own
 * take no part. */
static void judge_name(struct name_claim **claims, size_t count) {
  const struct name_claim *trusted = NULL, *lease = NULL;
  const char *client = NULL;
  uint32_t clients = 0;
  for (size_t i = 0; i < count; i++) {
    const struct name_claim *c = claims[i];
    if (c->verdict != NAME_USED)
      continue;
    if (c->client == NULL) {
      if (trusted == NULL) /* sorted: the lowest rank */
        trusted = c;
      continue;
    }
    if (client == NULL || strcmp(client, c->client) != 0)
      clients++;
    client = c->client;
    if (lease == NULL || c->rank < lease->rank)
      lease = c;
  }
  const struct name_claim *spelling = trusted ? trusted : lease;
  for (size_t i = 0; i < count; i++) {
    struct name_claim *c = claims[i];
    if (c->verdict != NAME_USED)
      continue;
    if (c->client != NULL && trusted != NULL) {
      c->verdict = NAME_TRUSTED;
    } else if (c->client != NULL && clients > 1) {
      c->verdict = NAME_CLIENTS;
      c->clients = clients;
    } else if (strcmp(c->name, spelling->name) != 0) {
      c->verdict = NAME_RESPELLED;
      c->name = spelling->name;
    }
  }
}

void name_rules_judge(struct name_claim **claims, size_t count) {
  qsort(claims, count, sizeof(*claims), by_name_trust_client_rank);
  for (size_t start = 0, end; start < count; start = end) {
    for (end = start + 1;
         end < count &&
         name_rules_compare(claims[start]->name, claims[end]->name) == 0;
         end++)
      ;
    judge_name(claims + start, end - start);
  }
}
