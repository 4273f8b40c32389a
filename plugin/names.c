/* names.c: host names from HostName options and HostsFile files. Each
 * source keeps its own entries; one index sorted by address answers
 * lookups. The index is rebuilt when a source changes, which is rare (a
 * lease granted or renewed, a file edited), while lookups come every read
 * for every host. */
#include "names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "localnet.h"
#include "name_rules.h"

/* One address's name in a source; the texts live in the source's pool, so
 * that a file of many lines costs two allocations. */
struct name_entry {
  union ct_addr addr;
  uint8_t family;
  uint8_t fault;   /* enum name_verdict: the name's own fault, or NAME_USED */
  uint32_t name;   /* offset in the pool */
  uint32_t client; /* a lease's client, offset in the pool; or TRUSTED */
};

#define TRUSTED UINT32_MAX

/* A name the last judgement of a source refused (or respelled): what it
 * last warned about, so that a file read again warns about news only. */
struct refusal {
  uint8_t verdict;       /* enum name_verdict */
  char name[NAMES_SIZE]; /* canonical */
};

/* What a file was when it was read. A rewrite in place (dnsmasq truncates
 * and rewrites its lease file) changes its size or modification time; a
 * replacement (an editor's rename over it) changes its inode. */
struct file_identity {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
};

struct source {
  char *path; /* NULL for the HostName options */
  struct name_entry *entries;
  size_t count, capacity;
  char *pool;
  size_t pool_len, pool_capacity;
  struct file_identity read_as;
  bool read;  /* read once at least: its entries are the file's */
  int failed; /* errno of the failure last warned about; 0 when readable */
  size_t bad_lines, first_bad; /* those last warned about */
  struct refusal *refusals;    /* the last judgement's, sorted */
  size_t refusal_count;
};

struct index_entry {
  union ct_addr addr;
  uint8_t family;
  uint32_t rank; /* the lowest wins: sources in order, then entries */
  const char *name;
};

struct names {
  log_fn log;
  struct source *sources; /* [0] the HostName options, then the files */
  size_t source_count;
  struct index_entry *index; /* by address, one entry each */
  size_t index_count;
  bool stale;         /* the last build_index() ran out of memory */
  bool warned_memory; /* about that, in names_refresh() */
};

/* Read failures that are no errno of the system's own. */
#define NOT_A_REGULAR_FILE (-1)

static bool is_safe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

void names_make_safe(const char *text, char out[NAMES_SIZE]) {
  size_t i = 0;
  for (; text[i] != '\0' && i < NAMES_MAX_LEN; i++)
    out[i] = is_safe((unsigned char)text[i]) ? text[i] : '_';
  /* Zero to the end: instances.c hashes and compares whole buffers. */
  memset(out + i, 0, NAMES_SIZE - i);
}

const char *names_check(const char *name) {
  switch (name_rules_check(name)) {
  case NAME_EMPTY:
    return "a name with a letter or digit";
  case NAME_TOO_LONG:
    return "a name of at most 127 bytes (a plugin instance holds 128 with "
           "its NUL)";
  case NAME_OWN:
    return "a name other than ctflow's own plugin instances (total, "
           "other, kernel, self, flows), in any case";
  case NAME_ADDRESS:
    return "a name that is no address in any spelling of collectd's "
           "writers, such as 192_168_1_4 or fd00__1 (that is an unnamed "
           "host's plugin instance)";
  default:
    return NULL;
  }
}

/* Returns whether text is one address (no prefix length) of either family. */
static bool parse_address(const char *text, uint8_t *family,
                          union ct_addr *addr) {
  struct prefix p;
  if (strchr(text, '/') != NULL || prefix_parse(text, &p) < 0)
    return false;
  *family = p.family;
  *addr = p.addr;
  return true;
}

/* Returns 0, or -1 when out of memory. */
static int grow(void **array, size_t *capacity, size_t need, size_t size) {
  if (need <= *capacity)
    return 0;
  size_t capacity_new = *capacity ? *capacity : 16;
  while (capacity_new < need)
    capacity_new *= 2;
  void *grown = realloc(*array, capacity_new * size);
  if (grown == NULL)
    return -1;
  *array = grown;
  *capacity = capacity_new;
  return 0;
}

/* Copies text into s's pool. Returns its offset, or -1 when out of
 * memory. */
static long pool_add(struct source *s, const char *text) {
  size_t len = strlen(text) + 1;
  if (grow((void **)&s->pool, &s->pool_capacity, s->pool_len + len, 1) < 0)
    return -1;
  memcpy(s->pool + s->pool_len, text, len);
  s->pool_len += len;
  return (long)(s->pool_len - len);
}

/* Adds a safe name for addr to s: the administrator's when client is NULL,
 * else that lease client's claim, with its own fault. Returns 0, or -1 when
 * out of memory. The pool may move: the caller rebuilds the index,
 * whatever this returns. */
static int source_add(struct source *s, uint8_t family,
                      const union ct_addr *addr, const char *name,
                      enum name_verdict fault, const char *client) {
  long name_at = pool_add(s, name);
  long client_at = client != NULL && name_at >= 0 ? pool_add(s, client) : 0;
  if (name_at < 0 || client_at < 0 ||
      grow((void **)&s->entries, &s->capacity, s->count + 1,
           sizeof(*s->entries)) < 0) {
    errno = ENOMEM;
    return -1;
  }
  s->entries[s->count++] = (struct name_entry){
      .addr = *addr,
      .family = family,
      .fault = (uint8_t)fault,
      .name = (uint32_t)name_at,
      .client = client != NULL ? (uint32_t)client_at : TRUSTED};
  return 0;
}

static void source_clear(struct source *s) {
  free(s->entries);
  free(s->pool);
  s->entries = NULL;
  s->pool = NULL;
  s->count = s->capacity = s->pool_len = s->pool_capacity = 0;
}

/* Orders by family, then address: the index's order for lookups. */
static int compare_address(const void *a, const void *b) {
  const struct index_entry *x = a, *y = b;
  if (x->family != y->family)
    return x->family < y->family ? -1 : 1;
  return memcmp(&x->addr, &y->addr, sizeof(x->addr));
}

/* Orders by address, then rank: the winner comes first among equals. */
static int compare_rank(const void *a, const void *b) {
  const struct index_entry *x = a, *y = b;
  int c = compare_address(a, b);
  if (c != 0)
    return c;
  return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* A name entry of some source, and the judgement's claim for it. */
struct candidate {
  struct name_claim claim;
  const struct name_entry *entry;
  const char *said; /* the name as its line said it, made safe */
};

/* Orders candidates by verdict, then name, then rank: one warning a
 * verdict and name. */
static int by_verdict_name_rank(const void *a, const void *b) {
  const struct candidate *x = *(struct candidate *const *)a;
  const struct candidate *y = *(struct candidate *const *)b;
  if (x->claim.verdict != y->claim.verdict)
    return x->claim.verdict < y->claim.verdict ? -1 : 1;
  int c = name_rules_compare(x->said, y->said);
  if (c != 0)
    return c;
  return x->claim.rank < y->claim.rank ? -1 : x->claim.rank > y->claim.rank;
}

static int compare_refusal(const void *a, const void *b) {
  const struct refusal *x = a, *y = b;
  if (x->verdict != y->verdict)
    return x->verdict < y->verdict ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* Returns whether the log says anything about a candidate's verdict: every
 * refusal, and the respelling of an administrator's name (a lease's,
 * within one client, is of no consequence). */
static bool worth_a_warning(const struct candidate *c) {
  return !name_is_used(c->claim.verdict) ||
         (c->claim.verdict == NAME_RESPELLED && c->claim.client == NULL);
}

#define WARN_ADDRESSES 4 /* listed in one warning at most */

/* What the hosts a warning lists go by now. */
struct hosts_text {
  char addresses[WARN_ADDRESSES * (INET6_ADDRSTRLEN + NAMES_SIZE + 8) + 32];
  const char *go_by;
};

/* Appends to text (size bytes, at of them used) what format says, as
 * much as fits. */
static void appendf(char *text, size_t size, size_t *at, const char *format,
                    ...) __attribute__((format(printf, 4, 5)));

static void appendf(char *text, size_t size, size_t *at, const char *format,
                    ...) {
  va_list ap;
  va_start(ap, format);
  int len = vsnprintf(text + *at, size - *at, format, ap);
  va_end(ap);
  if (len > 0)
    *at = *at + (size_t)len < size ? *at + (size_t)len : size - 1;
}

/* Lists the addresses of the group's hosts that the verdict changed, up
 * to WARN_ADDRESSES ("192.168.1.23, 192.168.1.45 as \"anna\"" when another
 * line names the second), and says what they go by now. Returns how many
 * it found: none when each goes by the name refused anyway (another line
 * gives its address the same name). */
static size_t describe_hosts(const struct names *n, struct candidate **group,
                             size_t count, struct hosts_text *out) {
  size_t listed = 0, named = 0, at = 0, size = sizeof(out->addresses);
  char address[INET6_ADDRSTRLEN];
  out->addresses[0] = '\0';
  for (size_t i = 0; i < count; i++) {
    const struct name_entry *e = group[i]->entry;
    const char *now = names_lookup(n, e->family, &e->addr);
    bool refused = !name_is_used(group[i]->claim.verdict);
    if (refused && now != NULL && name_rules_compare(now, group[i]->said) == 0)
      continue;
    if (listed++ >= WARN_ADDRESSES)
      continue;
    inet_ntop(e->family, &e->addr, address, sizeof(address));
    appendf(out->addresses, size, &at, "%s%s", at ? ", " : "", address);
    if (refused && now != NULL) {
      named++;
      appendf(out->addresses, size, &at, " as \"%s\"", now);
    }
  }
  if (listed > WARN_ADDRESSES)
    appendf(out->addresses, size, &at, " and %zu more",
            listed - WARN_ADDRESSES);
  out->go_by = named == 0 && listed == 1 ? "it goes by its address"
               : named == 0              ? "they go by their addresses"
               : named == listed && listed == 1
                   ? "it goes by the name another line gives it"
                   : "each goes by the name another line gives it, or else "
                     "by its address";
  return listed;
}

/* Logs one warning about a group of candidates of source s that share a
 * verdict and a name. */
static void warn_group(const struct names *n, const struct source *s,
                       struct candidate **group, size_t count) {
  struct hosts_text hosts;
  const struct candidate *c = group[0];
  if (describe_hosts(n, group, count, &hosts) == 0)
    return;
  const char *file = s->path ? s->path : "";
  const char *option = s->path ? "HostsFile " : "HostName";
  const char *why;
  switch (c->claim.verdict) {
  case NAME_RESPELLED:
    n->log(LOG_WARNING,
           "%s%s: \"%s\" (%s) goes out as \"%s\", spelled as where it is "
           "given first: names that differ only in case or punctuation are "
           "one series",
           option, file, c->said, hosts.addresses, c->claim.name);
    return;
  case NAME_CLIENTS:
    n->log(LOG_WARNING, "%s%s: %u clients call themselves \"%s\" (%s): %s",
           option, file, c->claim.clients, c->said, hosts.addresses,
           hosts.go_by);
    return;
  case NAME_EMPTY:
    why = "has no letter or digit";
    break;
  case NAME_TOO_LONG:
    why = "is longer than 127 bytes";
    break;
  case NAME_OWN:
    why = "is one of ctflow's own plugin instances";
    break;
  case NAME_ADDRESS:
    why = "is an address as collectd's writers spell it";
    break;
  default:
    why = "is a name the configuration gives (HostName or an /etc/hosts "
          "line)";
    break;
  }
  n->log(LOG_WARNING, "%s%s: lease name \"%s%s\" (%s) not used: it %s; %s",
         option, file, c->said, c->claim.verdict == NAME_TOO_LONG ? "..." : "",
         hosts.addresses, why, hosts.go_by);
}

/* Warns about the verdicts on source s's candidates (sorted by
 * by_verdict_name_rank) that its last judgement did not reach, and
 * remembers these instead. */
static void warn_source(const struct names *n, struct source *s,
                        struct candidate **refused, size_t count) {
  struct refusal *now = count ? malloc(count * sizeof(*now)) : NULL;
  size_t kept = 0;
  if (count > 0 && now == NULL) {
    /* No warnings this time; the last ones stay. */
    n->log(LOG_ERR,
           "%s%s: out of memory: the warnings about %zu refused names are "
           "left out",
           s->path ? "HostsFile " : "HostName", s->path ? s->path : "", count);
    return;
  }
  for (size_t start = 0, end; start < count; start = end) {
    struct refusal *r = &now[kept++];
    r->verdict = (uint8_t)refused[start]->claim.verdict;
    name_rules_canonical(refused[start]->said, r->name);
    for (end = start + 1;
         end < count && refused[end]->claim.verdict == r->verdict &&
         name_rules_compare(refused[end]->said, refused[start]->said) == 0;
         end++)
      ;
    if (s->refusal_count == 0 || bsearch(r, s->refusals, s->refusal_count,
                                         sizeof(*r), compare_refusal) == NULL)
      warn_group(n, s, refused + start, end - start);
  }
  free(s->refusals);
  s->refusals = now;
  s->refusal_count = kept;
}

/* Warns, source by source, about the verdicts of a judgement. candidates
 * are in rank order, so each source's are together; order has room for
 * as many pointers. */
static void warn_verdicts(struct names *n, struct candidate *candidates,
                          struct candidate **order) {
  struct candidate *c = candidates;
  for (size_t i = 0; i < n->source_count; i++) {
    size_t refused = 0;
    for (size_t k = 0; k < n->sources[i].count; k++, c++)
      if (worth_a_warning(c))
        order[refused++] = c;
    qsort(order, refused, sizeof(*order), by_verdict_name_rank);
    warn_source(n, &n->sources[i], order, refused);
  }
}

/* Judges every source's names and indexes those used by address. Returns
 * 0, or -1 with errno ENOMEM: then no host has a name until a later
 * rebuild succeeds (the old index may point into pools that are gone). */
static int build_index(struct names *n) {
  size_t total = 0, rank = 0, kept = 0;
  for (size_t i = 0; i < n->source_count; i++)
    total += n->sources[i].count;
  free(n->index);
  n->index = malloc((total ? total : 1) * sizeof(*n->index));
  n->index_count = 0;
  size_t room = total ? total : 1;
  struct candidate *candidates = malloc(room * sizeof(*candidates));
  struct name_claim **claims = malloc(room * sizeof(*claims));
  struct candidate **order = malloc(room * sizeof(*order));
  n->stale =
      n->index == NULL || candidates == NULL || claims == NULL || order == NULL;
  if (n->stale) {
    free(candidates);
    free(claims);
    free(order);
    errno = ENOMEM;
    return -1;
  }
  for (size_t i = 0; i < n->source_count; i++) {
    const struct source *s = &n->sources[i];
    /* By index: an empty source's entries are NULL, and NULL + 0 is
     * undefined in C. */
    for (size_t j = 0; j < s->count; j++, rank++) {
      const struct name_entry *e = &s->entries[j];
      candidates[rank] = (struct candidate){
          .claim = {.name = s->pool + e->name,
                    .client = e->client == TRUSTED ? NULL : s->pool + e->client,
                    .rank = (uint32_t)rank,
                    .verdict = e->fault},
          .entry = e,
          .said = s->pool + e->name};
      claims[rank] = &candidates[rank].claim;
    }
  }
  name_rules_judge(claims, total);
  for (size_t i = 0; i < total; i++) {
    const struct candidate *c = &candidates[i];
    if (name_is_used(c->claim.verdict))
      n->index[kept++] = (struct index_entry){.addr = c->entry->addr,
                                              .family = c->entry->family,
                                              .rank = c->claim.rank,
                                              .name = c->claim.name};
  }
  qsort(n->index, kept, sizeof(*n->index), compare_rank);
  total = kept;
  kept = 0;
  for (size_t i = 0; i < total; i++)
    if (kept == 0 || compare_address(&n->index[kept - 1], &n->index[i]) != 0)
      n->index[kept++] = n->index[i];
  n->index_count = kept;
  warn_verdicts(n, candidates, order);
  free(candidates);
  free(claims);
  free(order);
  return 0;
}

struct names *names_new(log_fn log) {
  struct names *n = calloc(1, sizeof(*n));
  if (n == NULL)
    return NULL;
  n->log = log;
  n->sources = calloc(1, sizeof(*n->sources));
  n->source_count = n->sources ? 1 : 0;
  if (n->sources == NULL || build_index(n) < 0) {
    names_free(n);
    return NULL;
  }
  return n;
}

void names_free(struct names *n) {
  if (n == NULL)
    return;
  for (size_t i = 0; i < n->source_count; i++) {
    source_clear(&n->sources[i]);
    free(n->sources[i].path);
    free(n->sources[i].refusals);
  }
  free(n->sources);
  free(n->index);
  free(n);
}

int names_add(struct names *n, const char *address, const char *name) {
  char safe[NAMES_SIZE];
  uint8_t family;
  union ct_addr addr;
  if (!parse_address(address, &family, &addr) || names_check(name) != NULL) {
    errno = EINVAL;
    return -1;
  }
  names_make_safe(name, safe);
  int rc = source_add(&n->sources[0], family, &addr, safe, NAME_USED, NULL);
  return build_index(n) < 0 ? -1 : rc;
}

int names_add_file(struct names *n, const char *path) {
  if (path[0] != '/') {
    errno = EINVAL;
    return -1;
  }
  size_t capacity = n->source_count;
  char *copy = strdup(path);
  if (copy == NULL || grow((void **)&n->sources, &capacity, n->source_count + 1,
                           sizeof(*n->sources)) < 0) {
    free(copy);
    errno = ENOMEM;
    return -1;
  }
  n->sources[n->source_count++] = (struct source){.path = copy};
  return 0;
}

/* A HostsFile line is one of these, told apart by its first field:
 *
 *   /etc/hosts        <address> <name> [<alias>...]  [# comment]
 *   dnsmasq, IPv4     <expiry> <MAC> <IPv4 address> <name|*> <client ID|*>
 *   dnsmasq, IPv6     <expiry> <IAID> <IPv6 address> <name|*> <DUID|*>
 *                     duid <the server's DUID>
 *
 * An /etc/hosts line starts with an address; a lease line with its expiry
 * in seconds since the epoch (0: never). dnsmasq writes '*' where a client
 * sent no name, and drops expired leases itself: expiry is not checked.
 * An /etc/hosts line is the administrator's; a lease line's name is its
 * client's claim (name_rules.h). dnsmasq keeps a client's name to one
 * legal DNS label, so no client can write a line of its own. */
enum line_kind { LINE_NOTHING, LINE_NAME, LINE_LEASE, LINE_BAD };

struct line {
  uint8_t family;
  union ct_addr addr;
  char name[NAMES_SIZE];
  enum name_verdict fault;       /* LINE_LEASE: the name's own */
  char client[NAME_CLIENT_SIZE]; /* LINE_LEASE */
  char why[NAMES_SIZE + 160];    /* LINE_BAD */
};

#define LINE_FIELDS 5
#define FIELD_SPACE " \t\r\n"

/* Splits text at white space, up to a '#', into at most LINE_FIELDS fields.
 * Returns how many. */
static size_t split(char *text, char *field[LINE_FIELDS]) {
  char *comment = strchr(text, '#'), *save;
  size_t n = 0;
  if (comment != NULL)
    *comment = '\0';
  for (char *f = strtok_r(text, FIELD_SPACE, &save); f && n < LINE_FIELDS;
       f = strtok_r(NULL, FIELD_SPACE, &save))
    field[n++] = f;
  return n;
}

static bool all_digits(const char *text) {
  if (*text == '\0')
    return false;
  for (; *text != '\0'; text++)
    if (*text < '0' || *text > '9')
      return false;
  return true;
}

/* Takes name as an /etc/hosts line's name, or says why it cannot be one. */
static enum line_kind line_name(const char *name, struct line *out) {
  const char *why = names_check(name);
  if (why != NULL) {
    char safe[NAMES_SIZE];
    names_make_safe(name, safe);
    snprintf(out->why, sizeof(out->why), "names \"%s\", but a host needs %s",
             safe, why);
    return LINE_BAD;
  }
  names_make_safe(name, out->name);
  return LINE_NAME;
}

/* Takes a lease line's name, with its client and its own fault: the
 * judgement of all names decides, and warns, whether it is used. */
static enum line_kind lease_name(char *field[LINE_FIELDS], size_t n,
                                 struct line *out) {
  if (strcmp(field[3], "*") == 0)
    return LINE_NOTHING;
  name_rules_client(out->family == AF_INET ? field[1] : NULL,
                    n > 4 ? field[4] : NULL, field[2], out->client);
  out->fault = name_rules_check(field[3]);
  names_make_safe(field[3], out->name);
  return LINE_LEASE;
}

static enum line_kind parse_line(char *text, struct line *out) {
  char *field[LINE_FIELDS];
  size_t n = split(text, field);
  if (n == 0)
    return LINE_NOTHING;
  if (parse_address(field[0], &out->family, &out->addr)) {
    if (n > 1)
      return line_name(field[1], out);
    snprintf(out->why, sizeof(out->why), "has an address but no name");
    return LINE_BAD;
  }
  if (n == 2 && strcmp(field[0], "duid") == 0)
    return LINE_NOTHING;
  if (n >= 4 && all_digits(field[0]) &&
      parse_address(field[2], &out->family, &out->addr))
    return lease_name(field, n, out);
  snprintf(out->why, sizeof(out->why),
           "is neither an /etc/hosts line (address, names) nor a dnsmasq "
           "lease line (expiry, MAC or IAID, address, name, client ID)");
  return LINE_BAD;
}

static struct file_identity identity_of(const struct stat *st) {
  return (struct file_identity){.dev = st->st_dev,
                                .ino = st->st_ino,
                                .size = st->st_size,
                                .mtime = st->st_mtim};
}

static bool same_file(const struct file_identity *a, const struct stat *st) {
  struct file_identity b = identity_of(st);
  return a->dev == b.dev && a->ino == b.ino && a->size == b.size &&
         a->mtime.tv_sec == b.mtime.tv_sec &&
         a->mtime.tv_nsec == b.mtime.tv_nsec;
}

/* Reads the lines of s's file f into fresh. Returns 0, or -1 with errno
 * when the file could not be read whole. */
static int read_lines(struct names *n, struct source *s, FILE *f,
                      struct source *fresh) {
  char *text = NULL;
  size_t size = 0, number = 0, bad = 0, first_bad = 0;
  struct line line, first = {0};
  int rc = 0;
  while (rc == 0 && getline(&text, &size, f) >= 0) {
    number++;
    switch (parse_line(text, &line)) {
    case LINE_NAME:
      rc = source_add(fresh, line.family, &line.addr, line.name, NAME_USED,
                      NULL);
      break;
    case LINE_LEASE:
      rc = source_add(fresh, line.family, &line.addr, line.name, line.fault,
                      line.client);
      break;
    case LINE_BAD:
      if (bad++ == 0) {
        first_bad = number;
        first = line;
      }
      break;
    case LINE_NOTHING:
      break;
    }
  }
  int err = rc < 0 ? ENOMEM : errno;
  /* getline() also stops when it cannot grow its buffer (ENOMEM), which
   * is neither the end of the file nor an error of the stream's. */
  if (rc == 0 && (ferror(f) || !feof(f)))
    rc = -1;
  free(text);
  if (rc < 0) {
    errno = err;
    return -1;
  }
  /* One warning for the same bad lines, not one a read: a lease file is
   * read again on every renewal. The first bad line is what the user needs
   * to find the rest. */
  if (bad > 0 && (bad != s->bad_lines || first_bad != s->first_bad))
    n->log(LOG_WARNING,
           "HostsFile %s: skipped %zu bad line%s; the first, line %zu, %s",
           s->path, bad, bad == 1 ? "" : "s", first_bad, first.why);
  s->bad_lines = bad;
  s->first_bad = first_bad;
  return 0;
}

/* Reads s's file again. Returns 0, or -1 with errno (or NOT_A_REGULAR_FILE)
 * when it cannot be read; s keeps its entries then. */
static int read_file(struct names *n, struct source *s) {
  /* O_NONBLOCK: a FIFO at the path must not block collectd's read. */
  int fd = open(s->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0)
    return -1;
  int err = fstat(fd, &st) < 0     ? errno
            : !S_ISREG(st.st_mode) ? NOT_A_REGULAR_FILE
                                   : 0;
  if (err != 0) {
    close(fd);
    errno = err;
    return -1;
  }
  FILE *f = fdopen(fd, "r");
  if (f == NULL) {
    close(fd);
    return -1;
  }
  struct source fresh = {0};
  int rc = read_lines(n, s, f, &fresh);
  err = errno;
  fclose(f);
  if (rc < 0) {
    source_clear(&fresh);
    errno = err;
    return -1;
  }
  source_clear(s);
  s->entries = fresh.entries;
  s->count = fresh.count;
  s->capacity = fresh.capacity;
  s->pool = fresh.pool;
  s->pool_len = fresh.pool_len;
  s->pool_capacity = fresh.pool_capacity;
  /* The identity from before the read: a write during it changes the file
   * again, so the next refresh reads it again. */
  s->read_as = identity_of(&st);
  return 0;
}

/* Warns, once until the file can be read again, that it cannot be read. */
static void cannot_read(struct names *n, struct source *s, int err) {
  if (s->failed == err)
    return;
  s->failed = err;
  const char *why =
      err == NOT_A_REGULAR_FILE ? "not a regular file" : strerror(err);
  /* Running out of memory is ctflow's trouble, not the file's: an error. */
  int priority = err == ENOMEM ? LOG_ERR : LOG_WARNING;
  if (s->read)
    n->log(priority,
           "HostsFile %s: cannot read it any more: %s; keeping the %zu "
           "names it gave until it is back",
           s->path, why, s->count);
  else
    n->log(priority,
           "HostsFile %s: cannot read it: %s; its names are used as soon "
           "as it can be read (a lease file appears when dnsmasq starts)",
           s->path, why);
}

/* Reads s's file when it changed. Returns whether its entries changed. */
static bool refresh_file(struct names *n, struct source *s) {
  struct stat st;
  int rc = stat(s->path, &st);
  if (rc == 0 && s->read && same_file(&s->read_as, &st)) {
    s->failed = 0;
    return false;
  }
  if (rc == 0)
    rc = read_file(n, s);
  if (rc < 0) {
    cannot_read(n, s, errno);
    return false;
  }
  if (!s->read || s->failed != 0)
    n->log(LOG_INFO, "HostsFile %s: %zu name%s", s->path, s->count,
           s->count == 1 ? "" : "s");
  s->read = true;
  s->failed = 0;
  return true;
}

void names_refresh(struct names *n) {
  bool changed = false;
  for (size_t i = 1; i < n->source_count; i++)
    changed |= refresh_file(n, &n->sources[i]);
  if (!changed && !n->stale)
    return;
  /* Logged here, not where the index is built: names_new() and
   * names_add() run out of memory at start, and their caller says so. */
  if (build_index(n) == 0)
    n->warned_memory = false;
  else if (!n->warned_memory) {
    n->log(LOG_ERR, "out of memory: hosts go by their addresses until "
                    "their names fit again");
    n->warned_memory = true;
  }
}

const char *names_lookup(const struct names *n, uint8_t family,
                         const union ct_addr *addr) {
  struct index_entry key = {.addr = *addr, .family = family};
  if (n->index_count == 0) /* the index may be NULL after running out */
    return NULL;
  const struct index_entry *e = bsearch(&key, n->index, n->index_count,
                                        sizeof(*n->index), compare_address);
  return e ? e->name : NULL;
}
