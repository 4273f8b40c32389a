/* ctflow-bench.c: does ctflow meet its design goals (README, "Measured")
 * on a real table?
 *
 *   ctflow-bench ENTRIES [ROUNDS]
 *
 * Run as root inside a fresh network namespace (tests/bench/run.sh makes
 * one), it loads ENTRIES synthetic conntrack entries through ctnetlink and
 * then times, ROUNDS times each (default 5), interleaved a b c a b c ... so
 * that drift on a shared machine hits all three alike:
 *
 *   (a) a bare dump of the table that receives and discards the messages:
 *       the kernel's and the socket's cost, the floor under any reader;
 *   (b) ctflow's whole read cycle, collector_read();
 *   (c) conntrack -L > /dev/null, the tool people compare against.
 *
 * It prints the medians (wall and CPU time), b/a (goal: at most 1.10) and
 * c/b, and ctflow's memory per tracked entry (goal: at most 64 bytes).
 *
 *   ctflow-bench --events [RATE|max ...]
 *
 * measures instead whether ctflow's event reader keeps up with entries that
 * end (goal: 50,000 a second on one core, no overflow at the default
 * buffer): for each RATE (default 10000 25000 50000 100000 200000 max) a
 * burst of entries created and deleted at that rate, with a collector that
 * counts their DESTROY events. It prints the events counted, the overflows
 * and the reader thread's CPU time.
 *
 *   ctflow-bench --flood RATE SECONDS
 *
 * is a load, not a measurement: in the namespace it runs in (the one a
 * test's collectd watches), it creates entries between two addresses
 * outside every LocalNetwork default, FLOOD_BATCH at a time, and ends each
 * batch with one flush of their mark: RATE ending entries a second for
 * SECONDS (or as many as the machine can). It prints the rate it kept.
 *
 *   ctflow-bench --crafted [ENTRIES ...]
 *
 * measures what entries chosen against ctflow's hash cost a read (goal:
 * crafted input costs no more than random input, within 1.5x): for each
 * size (default 16384 32768 65536) IPv6 entries whose remote addresses
 * collide under a known key, read with that key forced and with a random
 * one, and random entries read with a random key.
 *
 *   ctflow-bench --load crafted|random ENTRIES
 *   ctflow-bench --load office ENTRIES [HOSTS]
 *
 * only loads such a table, or the dump benchmark's with HOSTS local hosts
 * (default 300), for tests/bench/crafted.sh and tests/bench/collectd.sh
 * to read with the real collectd.
 *
 *   ctflow-bench --bare-dump [ROUNDS]
 *   ctflow-bench --cpu PID ...
 *
 * are collectd.sh's gauges: the bare dump (a) of the table already in the
 * namespace, and the CPU time another process has used so far.
 *
 *   ctflow-bench --sweep [FLOWS [PERCENT]]
 *
 * times the end of a read in the flow table alone: sweeps of FLOWS tracked
 * flows (default 1,000,000) that each forget PERCENT of them (default 1,
 * the entries that left the table since the last read), against sweeps
 * that forget none (the table unchanged) in the same run.
 *
 *   ctflow-bench --hash
 *
 * times one hash of an address and of a tuple: ctflow's, and libsodium's
 * crypto_shorthash. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <sodium.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <spawn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "ctnetlink.h"
#include "hash.h"

#define MAX_ROUNDS 51
#define SYSCTL "/proc/sys/net/netfilter/"

/* The synthetic table: the router of a busy office with LOCAL_HOSTS
 * machines (or as many as --load office asks for, up to MAX_LOCAL_HOSTS)
 * behind one public address. Remote addresses are skewed: a few are
 * popular (CDNs, resolvers), most are seen a few times. */
#define LOCAL_HOSTS 300
#define MAX_LOCAL_HOSTS 50000 /* 192.168.0.10 - 192.168.249.209 */
#define REMOTES 50000
#define PUBLIC_ADDR 0xc6336401u /* 198.51.100.1 */
#define ENTRY_TIMEOUT 86400     /* seconds: outlives any run */

/* Requests go to the kernel in batches this big: below the default
 * net.core.wmem_default (212992), so no socket option is needed. */
#define BATCH_BYTES (128 * 1024)
#define MESSAGE_MAX 512 /* an entry's message is about 150 bytes */

extern char **environ;

static double seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void) { return seconds(CLOCK_MONOTONIC); }

/* Each measurement in wall time and in CPU time. CPU time includes the
 * kernel's: a dump is filled in the reader's recvmsg. It is the steadier of
 * the two on a shared machine, as it leaves out time others took. */
struct timing {
  double wall[MAX_ROUNDS];
  double cpu[MAX_ROUNDS];
};

struct stamp {
  double wall, cpu;
};

static struct stamp stamp(void) {
  return (struct stamp){now(), seconds(CLOCK_PROCESS_CPUTIME_ID)};
}

/* Records round r as the time since start, plus child_cpu spent by a child
 * process. */
static void record(struct timing *t, int r, struct stamp start,
                   double child_cpu) {
  struct stamp end = stamp();
  t->wall[r] = end.wall - start.wall;
  t->cpu[r] = end.cpu - start.cpu + child_cpu;
}

__attribute__((format(printf, 2, 3))) static void
log_stderr(int priority, const char *format, ...) {
  va_list ap;
  (void)priority;
  fputs("ctflow: ", stderr);
  va_start(ap, format);
  vfprintf(stderr, format, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* Returns the number in file path (a sysctl), or -1 after saying why. */
static long read_number(const char *path) {
  FILE *f = fopen(path, "r");
  long v = -1;
  if (f == NULL || fscanf(f, "%ld", &v) != 1)
    fprintf(stderr, "ctflow-bench: cannot read %s: %s\n", path,
            strerror(errno));
  if (f)
    fclose(f);
  return v;
}

/* Returns 0 after writing text to path (a sysctl or a /proc file). */
static int write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
    fprintf(stderr, "ctflow-bench: cannot write %s to %s: %s\n", text, path,
            strerror(errno));
    return -1;
  }
  return 0;
}

/* Returns a field of /proc/self/status ("VmRSS") in bytes, or -1. */
static long status_bytes(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  size_t len = strlen(field);
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, field, len) == 0 && line[len] == ':')
      kb = strtol(line + len + 1, NULL, 10);
  if (f)
    fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

/* Returns whether this network namespace has no interface but lo, as one
 * fresh from ip netns add: PID 1's namespace cannot be compared with on
 * every system, and the host's has its NICs. */
static bool only_loopback(void) {
  FILE *f = fopen("/proc/net/dev", "r");
  char line[512], name[64];
  int others = 0;
  for (int n = 0; f && fgets(line, sizeof(line), f); n++)
    if (n >= 2 && sscanf(line, " %63[^:]", name) == 1 &&
        strcmp(name, "lo") != 0)
      others++;
  if (f)
    fclose(f);
  return f != NULL && others == 0;
}

/* Returns 0 when this namespace may take the entries: a fresh namespace
 * (a million entries would disturb the host's table or someone's test),
 * an empty table (so that it ends up holding exactly target), a limit high
 * enough, and byte counters on, as on a router that ctflow watches. */
static int prepare_namespace(size_t target) {
  if (!only_loopback()) {
    fprintf(stderr, "ctflow-bench: run me in a fresh network namespace, "
                    "with no interface but lo (tests/bench/run.sh makes "
                    "one)\n");
    return -1;
  }
  long count = read_number(SYSCTL "nf_conntrack_count");
  long max = read_number(SYSCTL "nf_conntrack_max");
  if (count < 0 || max < 0)
    return -1;
  if (count != 0) {
    fprintf(stderr,
            "ctflow-bench: the table already holds %ld entries; run "
            "me in a fresh namespace\n",
            count);
    return -1;
  }
  /* Above 95% of the limit the kernel's gc starts dropping entries: keep
   * below. In any other namespace the limit is the initial namespace's
   * nf_conntrack_max, read-only there. */
  if (max != 0 && (size_t)max < target + target / 16 + 1024) {
    fprintf(stderr,
            "ctflow-bench: net.netfilter.nf_conntrack_max is %ld, "
            "too low for %zu entries; raise it in the initial "
            "namespace (tests/bench/run.sh does)\n",
            max, target);
    return -1;
  }
  return write_text(SYSCTL "nf_conntrack_acct", "1");
}

/* Returns a socket to ctnetlink, or NULL after saying why. */
static struct mnl_socket *open_socket(void) {
  struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    fprintf(stderr, "ctflow-bench: cannot open a ctnetlink socket: %s\n",
            strerror(errno));
    return NULL;
  }
  return nl;
}

/* Returns x with every bit mixed into every other (SplitMix64's
 * finaliser): the synthetic table's randomness, the same on every run. */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

/* Returns a random number below n (n < 2^32): SplitMix64 on *state. */
static uint32_t below(uint64_t *state, uint32_t n) {
  uint64_t r = mix64(*state += 0x9e3779b97f4a7c15ull);
  return (uint32_t)(((r >> 32) * n) >> 32);
}

/* Returns local host h's address, 192.168.0.10 onwards, in host order. */
static uint32_t local_addr(unsigned h) {
  return 0xc0a80000u | (h / 200) << 8 | (10 + h % 200);
}

/* Returns a remote address for a skewed draw: index 0 is the most popular.
 * 32.0.0.0 - 95.255.255.255 is clear of every LocalNetwork default. */
static uint32_t remote_addr(uint64_t *state) {
  uint64_t u = below(state, 1u << 16);
  uint32_t r = (uint32_t)((u * u * REMOTES) >> 32);
  return 0x20000000u | (uint32_t)(mix64(r + 1) & 0x3fffffff);
}

/* Returns an ephemeral port of Linux's default range, 32768 - 60999. */
static uint16_t ephemeral_port(uint64_t *state) {
  return 32768 + below(state, 28232);
}

static struct ct_tuple tuple(uint8_t l4proto, uint32_t src, uint16_t src_port,
                             uint32_t dst, uint16_t dst_port) {
  struct ct_tuple t = {.src_port = src_port,
                       .dst_port = dst_port,
                       .l3proto = AF_INET,
                       .l4proto = l4proto};
  t.src.v4.s_addr = htonl(src);
  t.dst.v4.s_addr = htonl(dst);
  return t;
}

struct service {
  uint8_t l4proto;
  uint16_t port;
  unsigned percent;
};

/* What an office talks: HTTPS over TCP and QUIC, DNS, a little of the rest. */
static const struct service services[] = {
    {IPPROTO_TCP, 443, 50}, {IPPROTO_UDP, 443, 14}, {IPPROTO_TCP, 80, 10},
    {IPPROTO_UDP, 53, 12},  {IPPROTO_UDP, 3478, 5}, {IPPROTO_TCP, 993, 3},
    {IPPROTO_TCP, 5228, 3}, {IPPROTO_TCP, 22, 2},   {IPPROTO_UDP, 123, 1},
};

static const struct service *pick_service(uint64_t *state) {
  unsigned p = below(state, 100);
  size_t i = 0;
  while (p >= services[i].percent)
    p -= services[i++].percent;
  return &services[i];
}

/* Draws entry i of an office of hosts local hosts: 88% outbound and
 * masqueraded (host rule 1, docs/DESIGN.md), 10% inbound through a port
 * forward to local host 0 (rule 2), 2% between two local hosts (rule 3).
 * Entry i < hosts is local host i's outbound entry, so that a table of at
 * least hosts entries has every host in it. Masquerade keeps the source
 * port, as Linux does while the reply tuple stays unique; a clash is drawn
 * again. */
static void draw_entry(uint64_t *state, unsigned hosts, unsigned long i,
                       struct ct_tuple *orig, struct ct_tuple *reply,
                       uint8_t *tcp_state) {
  bool first = i < hosts;
  unsigned kind = first ? 0 : below(state, 100);
  const struct service *s = pick_service(state);
  uint32_t host = local_addr(first ? (unsigned)i : below(state, hosts));
  uint32_t remote = remote_addr(state);
  uint16_t port = ephemeral_port(state);
  uint8_t p = s->l4proto;
  if (kind < 88) {
    *orig = tuple(p, host, port, remote, s->port);
    *reply = tuple(p, remote, s->port, PUBLIC_ADDR, port);
  } else if (kind < 98) {
    *orig = tuple(p, remote, port, PUBLIC_ADDR, s->port);
    *reply = tuple(p, local_addr(0), s->port, remote, port);
  } else {
    uint32_t peer = local_addr(below(state, hosts));
    *orig = tuple(p, host, port, peer, s->port);
    *reply = tuple(p, peer, s->port, host, port);
  }
  *tcp_state = below(state, 10) == 0 ? TCP_CONNTRACK_TIME_WAIT
                                     : TCP_CONNTRACK_ESTABLISHED;
}

static void put_tuple(struct nlmsghdr *nlh, uint16_t type,
                      const struct ct_tuple *t) {
  struct nlattr *outer = mnl_attr_nest_start(nlh, type);
  struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  if (t->l3proto == AF_INET6) {
    mnl_attr_put(nlh, CTA_IP_V6_SRC, sizeof(t->src.v6), &t->src.v6);
    mnl_attr_put(nlh, CTA_IP_V6_DST, sizeof(t->dst.v6), &t->dst.v6);
  } else {
    mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, t->src.v4.s_addr);
    mnl_attr_put_u32(nlh, CTA_IP_V4_DST, t->dst.v4.s_addr);
  }
  mnl_attr_nest_end(nlh, ip);
  struct nlattr *proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->l4proto);
  mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->src_port));
  mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dst_port));
  mnl_attr_nest_end(nlh, proto);
  mnl_attr_nest_end(nlh, outer);
}

/* Writes the IPCTNL_MSG_CT_NEW of an entry at buf; returns its length.
 * The kernel ignores counters on create (CTA_COUNTERS_* are only ever
 * zeroed), so the entries carry counters, all zero, because
 * nf_conntrack_acct is 1 in this namespace. */
static size_t put_new(char *buf, unsigned seq, const struct ct_tuple *orig,
                      const struct ct_tuple *reply, uint8_t tcp_state) {
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW;
  /* No NLM_F_ACK: the kernel answers failures only. EXCL makes a clash
   * with an existing tuple an error instead of an update. */
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
  nlh->nlmsg_seq = seq;
  struct nfgenmsg *nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
  nfh->nfgen_family = orig->l3proto;
  nfh->version = NFNETLINK_V0;
  put_tuple(nlh, CTA_TUPLE_ORIG, orig);
  put_tuple(nlh, CTA_TUPLE_REPLY, reply);
  /* The kernel marks a created entry CONFIRMED before applying CTA_STATUS
   * and refuses (EBUSY) a status that would clear it. ASSURED keeps its gc
   * from early-dropping entries when the table nears its limit. */
  mnl_attr_put_u32(nlh, CTA_STATUS,
                   htonl(IPS_CONFIRMED | IPS_ASSURED | IPS_SEEN_REPLY));
  mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(ENTRY_TIMEOUT));
  if (orig->l4proto == IPPROTO_TCP) {
    struct nlattr *info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
    struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
    mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, tcp_state);
    mnl_attr_nest_end(nlh, tcp);
    mnl_attr_nest_end(nlh, info);
  }
  return nlh->nlmsg_len;
}

/* Makes the i-th entry of a table of IPv6 connections: local host i % 64
 * (fd00:c7f1::/64, a LocalNetwork by default) to remote on tcp 443,
 * established, without NAT. */
static void v6_entry(const union ct_addr *remote, size_t i,
                     struct ct_tuple *orig, struct ct_tuple *reply) {
  union ct_addr local = {.b = {0xfd, 0x00, 0xc7, 0xf1}};
  local.b[15] = (uint8_t)(1 + i % 64);
  *orig = (struct ct_tuple){.src = local,
                            .dst = *remote,
                            .src_port = 40000,
                            .dst_port = 443,
                            .l3proto = AF_INET6,
                            .l4proto = IPPROTO_TCP};
  *reply = (struct ct_tuple){.src = *remote,
                             .dst = local,
                             .src_port = 443,
                             .dst_port = 40000,
                             .l3proto = AF_INET6,
                             .l4proto = IPPROTO_TCP};
}

/* What load_table() fills the table with: one IPv6 connection to each of
 * remotes (v6_entry()), or, without remotes, the office of hosts local
 * hosts (draw_entry()). */
struct table_shape {
  const union ct_addr *remotes;
  unsigned hosts;
};

/* Writes the IPCTNL_MSG_CT_NEW of entry i at buf; returns its length. */
static size_t put_entry(char *buf, unsigned seq, uint64_t *state,
                        const struct table_shape *shape, size_t i) {
  struct ct_tuple orig, reply;
  uint8_t tcp_state = TCP_CONNTRACK_ESTABLISHED;
  if (shape->remotes)
    v6_entry(&shape->remotes[i], i, &orig, &reply);
  else
    draw_entry(state, shape->hosts, i, &orig, &reply, &tcp_state);
  return put_new(buf, seq, &orig, &reply, tcp_state);
}

/* Writes the IPCTNL_MSG_CT_DELETE of the entry with original tuple orig
 * at buf; returns its length. Without a tuple the kernel would flush the
 * table instead. */
static size_t put_delete(char *buf, unsigned seq, const struct ct_tuple *orig) {
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = seq;
  struct nfgenmsg *nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
  nfh->nfgen_family = orig->l3proto;
  nfh->version = NFNETLINK_V0;
  put_tuple(nlh, CTA_TUPLE_ORIG, orig);
  return nlh->nlmsg_len;
}

/* Returns the number of clashes (EEXIST) among the kernel's answers to what
 * was sent so far, or -1 after printing any other failure. The kernel has
 * answered by the time send returns: ctnetlink runs in the sender's
 * context. Answers lost to a full receive buffer (ENOBUFS) are clashes
 * too, as far as anyone can tell; the table's count settles it. */
static long drain_answers(struct mnl_socket *nl) {
  char buf[16384];
  long clashes = 0;
  for (;;) {
    ssize_t n = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN)
      return clashes;
    if (n < 0 && errno == ENOBUFS) {
      clashes++;
      continue;
    }
    if (n < 0) {
      fprintf(stderr, "ctflow-bench: recv: %s\n", strerror(errno));
      return -1;
    }
    int left = (int)n;
    for (const struct nlmsghdr *nlh = (void *)buf; mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
      if (nlh->nlmsg_type != NLMSG_ERROR || err->error == 0)
        continue;
      if (err->error != -EEXIST) {
        fprintf(stderr, "ctflow-bench: the kernel refused a request: %s\n",
                strerror(-err->error));
        return -1;
      }
      clashes++;
    }
  }
}

/* Returns the clashes after sending len bytes of requests, or -1. */
static long send_batch(struct mnl_socket *nl, const char *buf, size_t len) {
  if (mnl_socket_sendto(nl, buf, len) < 0) {
    fprintf(stderr, "ctflow-bench: sending entries: %s\n", strerror(errno));
    return -1;
  }
  return drain_answers(nl);
}

/* Fills the table until it holds target entries of the shape: the
 * office's (drawn tuples that clash with one already there are drawn
 * again) or one IPv6 connection to each of the first target remotes.
 * Returns the clashes, or -1. */
static long load_table(size_t target, struct table_shape shape) {
  struct mnl_socket *nl = open_socket();
  char *buf = malloc(BATCH_BYTES);
  uint64_t state = 1;
  unsigned seq = 0;
  long clashes = 0, count = 0;
  /* Errors echo only the failed message's header, not all of it. */
  int one = 1;
  if (nl == NULL || buf == NULL ||
      mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
    goto fail;
  for (int pass = 0; (size_t)count < target; pass++) {
    size_t used = 0;
    long got;
    if (pass == 20) {
      fprintf(stderr,
              "ctflow-bench: the table is stuck at %ld of %zu "
              "entries\n",
              count, target);
      goto fail;
    }
    for (size_t i = (size_t)count; i < target; i++) {
      if (used + MESSAGE_MAX > BATCH_BYTES) {
        if ((got = send_batch(nl, buf, used)) < 0)
          goto fail;
        clashes += got;
        used = 0;
      }
      used += put_entry(buf + used, ++seq, &state, &shape, i);
    }
    if ((got = send_batch(nl, buf, used)) < 0 ||
        (count = read_number(SYSCTL "nf_conntrack_count")) < 0)
      goto fail;
    clashes += got;
  }
  free(buf);
  mnl_socket_close(nl);
  return clashes;
fail:
  free(buf);
  if (nl)
    mnl_socket_close(nl);
  return -1;
}

static int count_message(const struct nlmsghdr *nlh, void *arg) {
  (void)nlh;
  ++*(long *)arg;
  return MNL_CB_OK;
}

/* Returns the messages of one dump of the table, requested as ctflow does
 * (both families, 32 KiB buffer) and thrown away, or -1. */
static long bare_dump(struct mnl_socket *nl, unsigned seq) {
  static char buf[CTNETLINK_BUFFER_SIZE];
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  struct nfgenmsg *nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
  nfh->nfgen_family = AF_UNSPEC;
  nfh->version = NFNETLINK_V0;
  if (mnl_socket_sendto(nl, buf, nlh->nlmsg_len) < 0)
    return -1;
  long count = 0;
  int rc;
  do {
    ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
    if (n < 0)
      return -1;
    rc = mnl_cb_run(buf, n, seq, mnl_socket_get_portid(nl), count_message,
                    &count);
  } while (rc == MNL_CB_OK);
  return rc == MNL_CB_STOP ? count : -1;
}

/* Returns the CPU seconds conntrack -L took to list the table into
 * /dev/null, or -1. Its "N flow entries have been shown" goes there too,
 * not into the report. */
static double conntrack_list(void) {
  char *argv[] = {"conntrack", "-L", NULL};
  posix_spawn_file_actions_t actions;
  pid_t pid;
  int status;
  struct rusage usage;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  int rc = posix_spawnp(&pid, "conntrack", &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    fprintf(stderr, "ctflow-bench: cannot run conntrack: %s\n", strerror(rc));
    return -1;
  }
  if (wait4(pid, &status, 0, &usage) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    fprintf(stderr, "ctflow-bench: conntrack -L failed\n");
    return -1;
  }
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts the n times and returns their median. */
static double median(double *t, int n) {
  qsort(t, n, sizeof(*t), by_value);
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static void print_times(const char *label, struct timing *t, int n) {
  double cpu = median(t->cpu, n), wall = median(t->wall, n);
  printf("%-24s %8.3f s   (cpu %.3f s; %d rounds, %.3f - %.3f)\n", label, wall,
         cpu, n, t->wall[0], t->wall[n - 1]);
}

/* The event benchmark (--events): entries that end at a paced rate, and
 * whether ctflow's event reader counts every DESTROY event they send.
 *
 * A burst creates entries through ctnetlink and deletes them by tuple,
 * BURST_BATCH per send, for BURST_SECONDS. CT_DELETE ends an entry through
 * nf_ct_delete(), as the kernel's gc does when an entry times out, so the
 * DESTROY event is the same message. The kernel builds it in the deleter's
 * context: that cost is the generator's, not the reader's. */
#define BURST_SECONDS 3.0
#define BURST_BATCH 256      /* entries alive at once, far below 28232 */
#define CATCH_UP_SECONDS 5.0 /* how long the reader may lag at most */
#define MAX_RATES 32
#define READER_THREAD "ctflow-events" /* events.c names it */

/* ctflow.c's defaults: the event socket's receive buffer starts at 4 MiB
 * and doubles on overflow up to EventBufferSize, 64 MiB. */
#define DEFAULT_EVENT_BUFFER (4 << 20)
#define DEFAULT_EVENT_BUFFER_MAX (64 << 20)

static void sleep_until(double t) {
  struct timespec ts = {.tv_sec = (time_t)t};
  ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
}

/* Returns the ID of this process's thread called name, or -1. */
static pid_t thread_named(const char *name) {
  DIR *dir = opendir("/proc/self/task");
  struct dirent *d;
  pid_t found = -1;
  while (dir && found < 0 && (d = readdir(dir)) != NULL) {
    char path[64], comm[32] = "";
    snprintf(path, sizeof(path), "/proc/self/task/%.16s/comm", d->d_name);
    FILE *f = fopen(path, "r");
    if (f && fgets(comm, sizeof(comm), f)) {
      comm[strcspn(comm, "\n")] = '\0';
      if (strcmp(comm, name) == 0)
        found = (pid_t)atoi(d->d_name);
    }
    if (f)
      fclose(f);
  }
  if (dir)
    closedir(dir);
  return found;
}

/* Returns 0 after setting *state to thread tid's state letter (R running,
 * S sleeping) and *cpu to the CPU seconds, user and system, it has used:
 * utime and stime of /proc/self/task/TID/stat, in clock ticks. Returns -1
 * after saying why not. */
static int thread_stat(pid_t tid, char *state, double *cpu) {
  char path[64], line[1024];
  unsigned long utime, stime;
  snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
  FILE *f = fopen(path, "r");
  char *fields = f && fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
  if (f)
    fclose(f);
  /* After the name: state ppid pgrp session tty_nr tpgid flags minflt
   * cminflt majflt cmajflt utime stime. */
  if (fields == NULL || sscanf(fields + 1,
                               " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                               "%lu %lu",
                               state, &utime, &stime) != 3) {
    fprintf(stderr, "ctflow-bench: cannot read %s\n", path);
    return -1;
  }
  *cpu = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
  return 0;
}

/* Returns 0 after sending len bytes of requests that the kernel carried
 * out, every one, or -1 after saying why. */
static int send_all(struct mnl_socket *nl, const char *buf, size_t len) {
  long failed = send_batch(nl, buf, len);
  if (failed > 0)
    fprintf(stderr, "ctflow-bench: %ld requests failed: clashing tuples\n",
            failed);
  return failed == 0 ? 0 : -1;
}

/* Draws the i-th entry of a burst: as draw_entry(), with the ephemeral port
 * (the original source port and the reply destination port, whatever the
 * kind) given by i, so that no two of the entries alive at once clash. */
static void draw_ending_entry(uint64_t *state, unsigned long i,
                              struct ct_tuple *orig, struct ct_tuple *reply,
                              uint8_t *tcp_state) {
  draw_entry(state, LOCAL_HOSTS, i, orig, reply, tcp_state);
  orig->src_port = reply->dst_port = (uint16_t)(32768 + i % 28232);
}

struct burst {
  long deleted;         /* entries the kernel deleted */
  double seconds;       /* from the start to the last deletion */
  double generator_cpu; /* this thread's CPU seconds, the kernel's included */
};

/* Ends entries at rate per second (0: as fast as this thread can) for
 * BURST_SECONDS: each batch is created, then deleted when it is due.
 * Returns 0, or -1 after saying why. */
static int run_burst(struct mnl_socket *nl, double rate, uint64_t *state,
                     struct burst *b) {
  static char buf[BATCH_BYTES];
  struct ct_tuple orig[BURST_BATCH], reply;
  uint8_t tcp_state;
  unsigned long i = 0;
  unsigned seq = 0;
  double start = now(), end = start + BURST_SECONDS;
  double cpu = seconds(CLOCK_THREAD_CPUTIME_ID);
  *b = (struct burst){0};
  for (long batch = 1;; batch++) {
    double due = rate > 0 ? start + (double)(batch * BURST_BATCH) / rate : 0;
    if (due > end || now() > end)
      break;
    size_t used = 0;
    for (int k = 0; k < BURST_BATCH; k++) {
      draw_ending_entry(state, i++, &orig[k], &reply, &tcp_state);
      used += put_new(buf + used, ++seq, &orig[k], &reply, tcp_state);
    }
    if (send_all(nl, buf, used) < 0)
      return -1;
    sleep_until(due);
    used = 0;
    for (int k = 0; k < BURST_BATCH; k++)
      used += put_delete(buf + used, ++seq, &orig[k]);
    if (send_all(nl, buf, used) < 0)
      return -1;
    b->deleted += BURST_BATCH;
  }
  b->seconds = now() - start;
  b->generator_cpu = seconds(CLOCK_THREAD_CPUTIME_ID) - cpu;
  return 0;
}

struct ending {
  struct burst burst;
  long counted;      /* DESTROY events the accounting counted */
  uint64_t lost;     /* times the event socket overflowed */
  double catch_up;   /* seconds from the last deletion until the reader slept */
  double reader_cpu; /* the event reader's CPU seconds, burst and catch-up */
};

/* Returns the connections that began since the baseline, as counted. */
static long counted_new(struct collector *c) {
  if (collector_read(c) < 0)
    return -1;
  return (long)collector_report(c)->buckets[0].new_connections;
}

/* Returns 0 once the event reader tid sleeps, or -1. The kernel queues a
 * deletion's event before the deletion's send returns and wakes the reader,
 * and the reader sleeps only in poll() on an empty socket (nobody else
 * takes the lock meanwhile): asleep, it has read every event there was. */
static int wait_reader_idle(pid_t tid, double since, double *cpu) {
  char state;
  while (thread_stat(tid, &state, cpu) == 0) {
    if (state == 'S' || now() - since > CATCH_UP_SECONDS)
      return 0;
    sleep_until(now() + 0.0002);
  }
  return -1;
}

/* Measures one burst at rate with a collector of its own, so that every
 * burst starts at the default buffer. Returns 0, or -1 after saying why. */
static int measure_ending(struct mnl_socket *nl, double rate, uint64_t *state,
                          struct ending *m) {
  struct collector_config config = {
      .max_hosts = 4096,
      .events = true,
      .event_buffer = DEFAULT_EVENT_BUFFER,
      .event_buffer_max = DEFAULT_EVENT_BUFFER_MAX,
      .log = log_stderr,
  };
  localnet_set_default(&config.local);
  struct collector *c = collector_new(&config);
  if (c == NULL)
    return -1;
  int rc = -1;
  pid_t reader = thread_named(READER_THREAD);
  double cpu_start, cpu_end;
  char reader_state;
  if (reader < 0) {
    fprintf(stderr, "ctflow-bench: no thread %s: events are off\n",
            READER_THREAD);
    goto out;
  }
  /* The baseline, of an empty table: every DESTROY event after it is of
   * an entry that began after it, counted as one new connection. */
  if (counted_new(c) != 0 ||
      thread_stat(reader, &reader_state, &cpu_start) < 0 ||
      run_burst(nl, rate, state, &m->burst) < 0)
    goto out;
  double last = now();
  if (wait_reader_idle(reader, last, &cpu_end) < 0)
    goto out;
  m->catch_up = now() - last;
  m->reader_cpu = cpu_end - cpu_start;
  m->counted = counted_new(c);
  m->lost = collector_report(c)->self.events_lost;
  rc = m->counted < 0 ? -1 : 0;
out:
  collector_free(c);
  return rc;
}

/* Returns 0 after setting *rate from text: deletions per second, or 0 for
 * "max" (as fast as the generator can). */
static int parse_rate(const char *text, double *rate) {
  char *end;
  if (strcmp(text, "max") == 0) {
    *rate = 0;
    return 0;
  }
  long r = strtol(text, &end, 10);
  *rate = (double)r;
  return *end == '\0' && r > 0 && r <= 100000000 ? 0 : -1;
}

static int events_main(int argc, char **argv) {
  static const char *default_rates[] = {"10000",  "25000",  "50000",
                                        "100000", "200000", "max"};
  double rates[MAX_RATES];
  int n = argc > 0 ? argc : (int)(sizeof(default_rates) / sizeof(char *));
  if (n > MAX_RATES) {
    fprintf(stderr, "ctflow-bench: at most %d rates\n", MAX_RATES);
    return 2;
  }
  for (int i = 0; i < n; i++) {
    const char *text = argc > 0 ? argv[i] : default_rates[i];
    if (parse_rate(text, &rates[i]) < 0) {
      fprintf(stderr,
              "ctflow-bench: not a rate: %s (deletions per second, "
              "or max)\n",
              text);
      return 2;
    }
  }
  if (prepare_namespace(BURST_BATCH) < 0)
    return 1;
  long events = read_number(SYSCTL "nf_conntrack_events");
  if (events < 0)
    return 1;
  printf("%-24s %ld (this namespace's default)\n", "nf_conntrack_events",
         events);
  if (events == 0 && write_text(SYSCTL "nf_conntrack_events", "2") < 0)
    return 1;
  printf("%-24s %d MiB to start, grows to %d MiB (ctflow's defaults)\n",
         "event buffer", DEFAULT_EVENT_BUFFER >> 20,
         DEFAULT_EVENT_BUFFER_MAX >> 20);
  printf("%-24s %.1f s each, a fresh collector each; entries created and "
         "deleted %d at a time\n\n",
         "bursts", BURST_SECONDS, BURST_BATCH);
  printf("%8s %9s %9s %9s %5s %9s %8s %9s %9s\n", "rate/s", "deleted", "done/s",
         "counted", "lost", "catch-up", "reader", "reader", "gen.");
  printf("%8s %9s %9s %9s %5s %9s %8s %9s %9s\n", "", "", "", "events", "",
         "ms", "cpu/s", "us/event", "cpu/s");

  struct mnl_socket *nl = open_socket();
  int one = 1;
  if (nl == NULL ||
      mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
    return 1;
  uint64_t state = 1;
  /* Rates rise: "sustained" is every burst whole up to the first loss. */
  char sustained[96] = "", first_loss[96] = "";
  for (int i = 0; i < n; i++) {
    struct ending m;
    if (measure_ending(nl, rates[i], &state, &m) < 0)
      return 1;
    double done = (double)m.burst.deleted / m.burst.seconds;
    char asked[16] = "max";
    if (rates[i] > 0)
      snprintf(asked, sizeof(asked), "%.0f", rates[i]);
    printf("%8s %9ld %9.0f %9ld %5" PRIu64 " %9.1f %8.3f %9.2f %9.3f\n", asked,
           m.burst.deleted, done, m.counted, m.lost, m.catch_up * 1e3,
           m.reader_cpu / m.burst.seconds,
           m.counted > 0 ? m.reader_cpu / (double)m.counted * 1e6 : 0.0,
           m.burst.generator_cpu / m.burst.seconds);
    fflush(stdout);
    bool whole = m.lost == 0 && m.counted == m.burst.deleted;
    if (whole && first_loss[0] == '\0')
      snprintf(sustained, sizeof(sustained), "%s%s asked, %.0f/s done", asked,
               rates[i] > 0 ? "/s" : "", done);
    else if (!whole && first_loss[0] == '\0')
      snprintf(first_loss, sizeof(first_loss),
               "%s%s asked (overflows %" PRIu64 ", events not counted %ld)",
               asked, rates[i] > 0 ? "/s" : "", m.lost,
               m.burst.deleted - m.counted);
  }
  mnl_socket_close(nl);
  printf("\nevery event counted, no overflow at the default buffer: %s "
         "(goal: 50000/s)\n",
         sustained[0] ? sustained : "at no rate");
  if (first_loss[0])
    printf("first loss at %s\n", first_loss);
  return 0;
}

/* The flood's entries: UDP from 100.64.x.y to 100.127.0.1 (shared address
 * space, RFC 6598: no LocalNetwork default holds it), marked so that one
 * flush by mark ends a whole batch and nothing else. A flush walks every
 * bucket of the table: batches of thousands keep that walk rare. */
#define FLOOD_MARK 0xf100du
#define FLOOD_BATCH 4096

/* Writes the IPCTNL_MSG_CT_NEW of the flood's i-th entry at buf. */
static size_t put_flood_entry(char *buf, unsigned seq, unsigned long i) {
  uint32_t src = 0x64400000u | (uint32_t)(i / 28232 % 0x3f0000);
  uint16_t port = (uint16_t)(32768 + i % 28232);
  struct ct_tuple orig = tuple(IPPROTO_UDP, src, port, 0x647f0001u, 53);
  struct ct_tuple reply = tuple(IPPROTO_UDP, 0x647f0001u, 53, src, port);
  size_t len = put_new(buf, seq, &orig, &reply, 0);
  struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
  mnl_attr_put_u32(nlh, CTA_MARK, htonl(FLOOD_MARK));
  return len + MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(uint32_t));
}

/* Writes a flush of every entry with the flood's mark at buf. */
static size_t put_flood_flush(char *buf, unsigned seq) {
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = seq;
  struct nfgenmsg *nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
  nfh->nfgen_family = AF_INET;
  nfh->version = NFNETLINK_V0;
  mnl_attr_put_u32(nlh, CTA_MARK, htonl(FLOOD_MARK));
  mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(0xffffffffu));
  return nlh->nlmsg_len;
}

static int flood_main(int argc, char **argv) {
  double rate = 0, duration = argc == 2 ? strtod(argv[1], NULL) : 0;
  if (argc != 2 || parse_rate(argv[0], &rate) < 0 || duration <= 0 ||
      duration > 3600) {
    fprintf(stderr, "usage: ctflow-bench --flood RATE|max SECONDS (1-3600)\n");
    return 2;
  }
  struct mnl_socket *nl = open_socket();
  char *buf = malloc(BATCH_BYTES);
  int one = 1;
  if (nl == NULL || buf == NULL ||
      mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
    return 1;
  unsigned seq = 0;
  unsigned long i = 0;
  double start = now(), end = start + duration;
  for (long batch = 1; now() < end; batch++) {
    size_t used = 0;
    for (int k = 0; k < FLOOD_BATCH; k++) {
      if (used + MESSAGE_MAX > BATCH_BYTES) {
        if (send_all(nl, buf, used) < 0)
          return 1;
        used = 0;
      }
      used += put_flood_entry(buf + used, ++seq, i++);
    }
    used += put_flood_flush(buf + used, ++seq);
    if (send_all(nl, buf, used) < 0)
      return 1;
    if (rate > 0)
      sleep_until(start + (double)(batch * FLOOD_BATCH) / rate);
  }
  double seconds = now() - start;
  printf("flood: %lu entries ended in %.1f s: %.0f/s\n", i, seconds,
         (double)i / seconds);
  free(buf);
  mnl_socket_close(nl);
  return 0;
}

/* The crafted benchmark (--crafted): what entries chosen against ctflow's
 * hash cost a read, under a key their chooser knows and under a secret one.
 *
 * The chooser knows KNOWN_KEY (SipHash's reference key) and picks remote
 * addresses whose hash under it falls into one narrow range of slots of
 * the peer set: every read counts a peer pair per entry there (the host's
 * and total's; total's key is the address hash itself), so with the key
 * known every insert walks one growing run of slots, and a read costs the
 * square of the entries. With a key drawn at random, what ctflow does,
 * the same addresses must cost what random ones cost. */
#define CRAFT_BITS 18  /* the peer set of 65,536 entries has 2^18 slots */
#define CRAFT_BELOW 64 /* slots 0-63: one try in 4096 is kept */
#define CRAFT_MAX 1048576
#define CRAFT_ROUNDS 5 /* reads timed per measurement, after the first */
#define CRAFT_SIZES 16 /* table sizes per run at most */

static const uint8_t KNOWN_KEY[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                      8, 9, 10, 11, 12, 13, 14, 15};

/* Returns remote candidate i: 2001:db8:ee::/48 plus i. */
static union ct_addr remote_candidate(uint64_t i) {
  union ct_addr addr = {.b = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0xee}};
  for (int b = 15; b >= 8; b--, i >>= 8)
    addr.b[b] = (uint8_t)i;
  return addr;
}

/* Fills remote[0..n) with candidates whose hash under KNOWN_KEY has its
 * low CRAFT_BITS bits below CRAFT_BELOW. Returns the candidates tried. */
static uint64_t craft_remotes(union ct_addr *remote, size_t n) {
  uint64_t tried = 0;
  hash_set_key(KNOWN_KEY);
  for (size_t k = 0; k < n; tried++) {
    remote[k] = remote_candidate(tried);
    k += (hash_addr(AF_INET6, &remote[k]) & ((1u << CRAFT_BITS) - 1)) <
         CRAFT_BELOW;
  }
  return tried;
}

/* Fills remote[0..n) with random addresses of the same /48. */
static void random_remotes(union ct_addr *remote, size_t n) {
  uint64_t state = 7;
  for (size_t k = 0; k < n; k++)
    remote[k] = remote_candidate(mix64(state += 0x9e3779b97f4a7c15ull));
}

/* Returns 0 after drawing a key from the kernel into key, as ctflow does. */
static int random_key(uint8_t key[16]) {
  if (getrandom(key, 16, 0) == 16)
    return 0;
  fprintf(stderr, "ctflow-bench: getrandom: %s\n", strerror(errno));
  return -1;
}

/* Returns 0 once the table is empty, or -1 after saying why. A delete
 * request without a tuple flushes the table. */
static int flush_table(void) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct mnl_socket *nl = open_socket();
  if (nl == NULL)
    return -1;
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = 1;
  struct nfgenmsg *nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
  nfh->nfgen_family = AF_UNSPEC;
  nfh->version = NFNETLINK_V0;
  ssize_t n = mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
  if (n >= 0)
    n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
  int rc = n < 0 ? -1
                 : mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl),
                              NULL, NULL);
  mnl_socket_close(nl);
  /* Entries go as their last references are dropped: wait for that. */
  double until = now() + 10;
  long count;
  while (rc >= 0 && (count = read_number(SYSCTL "nf_conntrack_count")) != 0) {
    if (count < 0 || now() > until) {
      fprintf(stderr, "ctflow-bench: the table keeps %ld entries\n", count);
      return -1;
    }
    sleep_until(now() + 0.01);
  }
  if (rc < 0)
    fprintf(stderr, "ctflow-bench: flushing the table: %s\n", strerror(errno));
  return rc < 0 ? -1 : 0;
}

/* Returns the median CPU time of CRAFT_ROUNDS reads of the table, after
 * the first (the baseline), by a fresh collector whose tables hash under
 * key; -1 on failure. CPU time, the kernel's part of the dump included,
 * because other loads on the machine do not change it; without events the
 * read runs in this thread alone. */
static double read_time(const uint8_t key[16]) {
  double t[CRAFT_ROUNDS];
  struct collector_config config = {.max_hosts = 4096, .log = log_stderr};
  localnet_set_default(&config.local);
  hash_set_key(key); /* no table exists: the last collector is gone */
  struct collector *c = collector_new(&config);
  if (c == NULL || collector_read(c) < 0) {
    collector_free(c);
    return -1;
  }
  int r = 0;
  for (; r < CRAFT_ROUNDS; r++) {
    double start = seconds(CLOCK_THREAD_CPUTIME_ID);
    if (collector_read(c) < 0)
      break;
    t[r] = seconds(CLOCK_THREAD_CPUTIME_ID) - start;
  }
  collector_free(c);
  return r == CRAFT_ROUNDS ? median(t, CRAFT_ROUNDS) : -1;
}

/* Parses sizes of tables: whole numbers from 1 to CRAFT_MAX. Returns how
 * many, or -1 after saying what is wrong. */
static int parse_sizes(int argc, char **argv, size_t *size, int max) {
  if (argc > max) {
    fprintf(stderr, "ctflow-bench: at most %d sizes\n", max);
    return -1;
  }
  for (int i = 0; i < argc; i++) {
    char *end;
    long n = strtol(argv[i], &end, 10);
    if (*end != '\0' || n < 1 || n > CRAFT_MAX) {
      fprintf(stderr, "ctflow-bench: not a table size (1 to %d): %s\n",
              CRAFT_MAX, argv[i]);
      return -1;
    }
    size[i] = (size_t)n;
  }
  return argc;
}

/* Crafts n remotes (saying how long it took), or draws them at random. */
static union ct_addr *remotes_for(size_t n, bool crafted) {
  union ct_addr *remote = calloc(n, sizeof(*remote));
  if (remote == NULL) {
    fprintf(stderr, "ctflow-bench: out of memory\n");
    return NULL;
  }
  if (!crafted) {
    random_remotes(remote, n);
    return remote;
  }
  double start = now();
  uint64_t tried = craft_remotes(remote, n);
  printf("crafted %zu IPv6 remotes whose hash under key K (00 01 .. 0f) has "
         "its low %d bits below %d: %" PRIu64 " tries, %.1f s\n",
         n, CRAFT_BITS, CRAFT_BELOW, tried, now() - start);
  return remote;
}

static int crafted_main(int argc, char **argv) {
  size_t size[CRAFT_SIZES] = {16384, 32768, 65536};
  int sizes = argc > 0 ? parse_sizes(argc, argv, size, CRAFT_SIZES) : 3;
  size_t most = 0;
  uint8_t secret[16];
  if (sizes < 0)
    return 2;
  for (int i = 0; i < sizes; i++)
    most = size[i] > most ? size[i] : most;
  if (prepare_namespace(most) < 0 || random_key(secret) < 0)
    return 1;
  union ct_addr *crafted = remotes_for(most, true);
  union ct_addr *random = remotes_for(most, false);
  if (crafted == NULL || random == NULL)
    return 1;
  printf("\nCPU seconds of a read, median of %d after the first; under key "
         "K, or under a key drawn at random as ctflow draws its own\n\n",
         CRAFT_ROUNDS);
  printf("%8s %12s %10s %12s %12s %9s %9s\n", "entries", "crafted, K", "growth",
         "crafted,", "random,", "crafted/", "K crafted/");
  printf("%8s %12s %10s %12s %12s %9s %9s\n", "", "", "/doubling", "random key",
         "random key", "random", "random");
  double last = 0;
  for (int i = 0; i < sizes; i++) {
    size_t n = size[i];
    double known, secret_crafted, secret_random;
    if (load_table(n, (struct table_shape){.remotes = crafted}) < 0 ||
        (known = read_time(KNOWN_KEY)) < 0 ||
        (secret_crafted = read_time(secret)) < 0 || flush_table() < 0 ||
        load_table(n, (struct table_shape){.remotes = random}) < 0 ||
        (secret_random = read_time(secret)) < 0 || flush_table() < 0)
      return 1;
    char growth[16] = "-";
    if (i > 0 && size[i - 1] != n)
      snprintf(growth, sizeof(growth), "%.2f",
               pow(2, log(known / last) / log((double)n / size[i - 1])));
    printf("%8zu %10.3f s %10s %10.3f s %10.3f s %9.2f %9.1f\n", n, known,
           growth, secret_crafted, secret_random,
           secret_crafted / secret_random, known / secret_random);
    fflush(stdout);
    last = known;
  }
  printf("\ngrowth per doubling: 4 is quadratic, 2 linear; crafted/random "
         "with a random key: at most 1.5, the goal\n");
  free(crafted);
  free(random);
  return 0;
}

/* Returns the number of local hosts in text (1 to MAX_LOCAL_HOSTS), or 0
 * after saying what is wrong. */
static unsigned parse_hosts(const char *text) {
  char *end;
  long n = strtol(text, &end, 10);
  if (*end == '\0' && n >= 1 && n <= MAX_LOCAL_HOSTS)
    return (unsigned)n;
  fprintf(stderr, "ctflow-bench: not a number of local hosts (1 to %d): %s\n",
          MAX_LOCAL_HOSTS, text);
  return 0;
}

/* --load crafted|random N: loads the table for crafted.sh, the remotes
 * crafted under key K or drawn at random. --load office N [HOSTS]: the
 * office's table of the dump benchmark with HOSTS local hosts (default
 * LOCAL_HOSTS), for collectd.sh. */
static int load_main(int argc, char **argv) {
  size_t n;
  bool office = argc >= 2 && strcmp(argv[0], "office") == 0;
  bool crafted = argc == 2 && strcmp(argv[0], "crafted") == 0;
  unsigned hosts = office && argc == 3 ? parse_hosts(argv[2]) : LOCAL_HOSTS;
  if (argc < 2 || argc > 2 + office ||
      (!office && !crafted && strcmp(argv[0], "random") != 0) || hosts == 0 ||
      parse_sizes(1, argv + 1, &n, 1) < 0) {
    fprintf(stderr, "usage: ctflow-bench --load crafted|random ENTRIES\n"
                    "       ctflow-bench --load office ENTRIES [HOSTS]\n");
    return 2;
  }
  if (prepare_namespace(n) < 0)
    return 1;
  if (office)
    return load_table(n, (struct table_shape){.hosts = hosts}) < 0 ? 1 : 0;
  union ct_addr *remote = remotes_for(n, crafted);
  long clashes =
      remote ? load_table(n, (struct table_shape){.remotes = remote}) : -1;
  free(remote);
  return clashes < 0 ? 1 : 0;
}

/* --bare-dump [ROUNDS]: the floor under any reader of the table that is
 * already in this namespace, for collectd.sh to set beside the real
 * collectd's reads of it: ROUNDS bare dumps (default 1), one line each:
 * wall seconds, CPU seconds (the kernel's part included: it fills the
 * dump in this process's recvmsg) and messages. */
static int bare_dump_main(int argc, char **argv) {
  int rounds = argc == 1 ? atoi(argv[0]) : 1;
  if (argc > 1 || rounds < 1 || rounds > MAX_ROUNDS) {
    fprintf(stderr, "usage: ctflow-bench --bare-dump [ROUNDS (1-%d)]\n",
            MAX_ROUNDS);
    return 2;
  }
  struct mnl_socket *nl = open_socket();
  if (nl == NULL)
    return 1;
  for (int r = 0; r < rounds; r++) {
    struct timing t;
    struct stamp start = stamp();
    long messages = bare_dump(nl, r + 1);
    if (messages < 0) {
      fprintf(stderr, "ctflow-bench: dump: %s\n", strerror(errno));
      return 1;
    }
    record(&t, 0, start, 0);
    printf("%.6f %.6f %ld\n", t.wall[0], t.cpu[0], messages);
  }
  mnl_socket_close(nl);
  return 0;
}

/* --cpu PID ...: the CPU seconds each process has used so far, user and
 * system, all its threads', those that ended too, to the nanosecond (its
 * CPU-time clock). /proc/PID/stat counts in clock ticks of 10 ms: as much
 * as collectd's whole read of 16,384 entries may cost. */
static int cpu_main(int argc, char **argv) {
  if (argc < 1) {
    fprintf(stderr, "usage: ctflow-bench --cpu PID ...\n");
    return 2;
  }
  for (int i = 0; i < argc; i++) {
    char *end;
    long pid = strtol(argv[i], &end, 10);
    clockid_t clock;
    struct timespec ts;
    int rc = *end != '\0' || pid < 1 ? EINVAL
                                     : clock_getcpuclockid((pid_t)pid, &clock);
    if (rc == 0 && clock_gettime(clock, &ts) < 0)
      rc = errno;
    if (rc != 0) {
      fprintf(stderr, "ctflow-bench: no CPU time of process %s: %s\n", argv[i],
              strerror(rc));
      return 1;
    }
    printf("%s%ld.%09ld", i ? " " : "", (long)ts.tv_sec, ts.tv_nsec);
  }
  putchar('\n');
  return 0;
}

/* The hash benchmark (--hash): what one hash costs, for the two kinds of
 * key a read hashes per entry: an address (the hosts index and the peer
 * set: 16 bytes and the family) and an original tuple (the flow table: 40
 * bytes). ctflow's own (SipHash-HASH_C_ROUNDS-HASH_D_ROUNDS, inline, word
 * by word), and libsodium's crypto_shorthash (SipHash-2-4 behind a call)
 * over as many bytes. The input changes every time, so that nothing is
 * computed once for all. */
#define HASH_RUNS 20000000

/* CPU time, which other loads on the machine change least. */
static double cpu_now(void) { return seconds(CLOCK_THREAD_CPUTIME_ID); }

static double ns_per_hash(double start) {
  return (cpu_now() - start) / HASH_RUNS * 1e9;
}

/* Returns the CPU time of one crypto_shorthash() of len bytes, in ns. */
static double time_sodium(const uint8_t key[16], size_t len, uint64_t *sink) {
  unsigned char bytes[64] = {0}, out[crypto_shorthash_BYTES];
  double start = cpu_now();
  for (uint32_t i = 0; i < HASH_RUNS; i++) {
    memcpy(bytes + 12, &i, sizeof(i));
    crypto_shorthash(out, bytes, len, key);
    *sink += out[0];
  }
  return ns_per_hash(start);
}

static int hash_main(void) {
  uint8_t key[16];
  uint64_t sink = 0;
  if (random_key(key) < 0 || sodium_init() < 0)
    return 1;
  hash_set_key(key);
  struct ct_entry e = {.orig = {.l3proto = AF_INET6, .l4proto = IPPROTO_TCP}};
  double start = cpu_now();
  for (uint32_t i = 0; i < HASH_RUNS; i++) {
    e.orig.dst.w[3] = i;
    sink += hash_addr(AF_INET6, &e.orig.dst);
  }
  double address = ns_per_hash(start);
  start = cpu_now();
  for (uint32_t i = 0; i < HASH_RUNS; i++) {
    e.orig.dst.w[3] = i;
    sink += flow_tuple_hash(&e);
  }
  double tuple = ns_per_hash(start);

  printf("%-40s %12s %12s\n", "ns per hash", "address", "tuple");
  printf("%-32s SipHash-%d-%d %9.1f ns %9.1f ns\n", "ctflow (hash.h, inline)",
         HASH_C_ROUNDS, HASH_D_ROUNDS, address, tuple);
  printf("%-32s SipHash-2-4 %9.1f ns %9.1f ns\n", "libsodium crypto_shorthash",
         time_sodium(key, 17, &sink), time_sodium(key, 40, &sink));
  printf("(%d hashes each; checksum %016" PRIx64 ")\n", HASH_RUNS, sink);
  return 0;
}

/* Returns the tuple hash --sweep gives flow number i: keyed, as a real
 * tuple's. */
static uint64_t hash_word_of(size_t i) {
  struct hasher h = hash_begin();
  hash_word(&h, i);
  return hash_end(&h, 0, 0);
}

/* Returns the seconds one sweep of t takes when every flow but those whose
 * number is `round` modulo `every` (none with every 0) was seen by read
 * generation gen, then puts the forgotten ones back. */
static double time_sweep(struct flowtable *t, size_t flows, size_t every,
                         size_t round, uint32_t gen) {
  for (size_t i = 0; i < flows; i++) {
    struct flow *f = flowtable_find(t, (uint32_t)i, hash_word_of(i));
    if (f != NULL && (every == 0 || i % every != round % every))
      f->seen = gen;
  }
  double start = now();
  flowtable_sweep(t, gen, true);
  double seconds = now() - start;
  for (size_t i = 0; i < flows; i++) {
    struct flow *f = every != 0 && i % every == round % every
                         ? flowtable_upsert(t, (uint32_t)i, hash_word_of(i))
                         : NULL;
    if (f != NULL)
      f->seen = gen;
  }
  return seconds;
}

/* --sweep [FLOWS [PERCENT]]: see the top of the file. */
static int sweep_main(int argc, char **argv) {
  long flows = argc >= 1 ? strtol(argv[0], NULL, 10) : 1000000;
  long percent = argc >= 2 ? strtol(argv[1], NULL, 10) : 1;
  if (argc > 2 || flows < 100 || flows > 10000000 || percent < 1 ||
      percent > 100) {
    fprintf(stderr, "usage: ctflow-bench --sweep [FLOWS (100-10000000) "
                    "[PERCENT (1-100)]]\n");
    return 2;
  }
  struct flowtable *t = flowtable_new();
  for (long i = 0; t != NULL && i < flows; i++)
    if (flowtable_upsert(t, (uint32_t)i, hash_word_of((size_t)i)) == NULL)
      t = NULL;
  if (t == NULL) {
    fprintf(stderr, "ctflow-bench: out of memory\n");
    return 1;
  }
  double unchanged[MAX_ROUNDS], churned[MAX_ROUNDS];
  uint32_t gen = 1;
  for (int r = 0; r < 5; r++) {
    unchanged[r] = time_sweep(t, (size_t)flows, 0, 0, ++gen);
    churned[r] =
        time_sweep(t, (size_t)flows, (size_t)(100 / percent), (size_t)r, ++gen);
  }
  double a = median(unchanged, 5), b = median(churned, 5);
  printf("sweep of %ld flows, none forgotten    %8.2f ms (median of 5)\n",
         flows, a * 1e3);
  printf("sweep of %ld flows, %ld%% forgotten %8.2f ms (median of 5)\n", flows,
         percent, b * 1e3);
  printf("ratio                                  %8.2f\n", b / a);
  flowtable_free(t);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--events") == 0)
    return events_main(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "--flood") == 0)
    return flood_main(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "--crafted") == 0)
    return crafted_main(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "--load") == 0)
    return load_main(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "--bare-dump") == 0)
    return bare_dump_main(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "--cpu") == 0)
    return cpu_main(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "--sweep") == 0)
    return sweep_main(argc - 2, argv + 2);
  if (argc == 2 && strcmp(argv[1], "--hash") == 0)
    return hash_main();
  long entries = argc >= 2 ? strtol(argv[1], NULL, 10) : 0;
  int rounds = argc == 3 ? atoi(argv[2]) : 5;
  if (argc < 2 || argc > 3 || entries <= 0 || rounds < 1 ||
      rounds > MAX_ROUNDS) {
    fprintf(stderr,
            "usage: ctflow-bench ENTRIES [ROUNDS (1-%d, default 5)]\n"
            "       ctflow-bench --events [RATE|max ...]\n"
            "       ctflow-bench --flood RATE|max SECONDS\n"
            "       ctflow-bench --crafted [ENTRIES ...]\n"
            "       ctflow-bench --load crafted|random ENTRIES\n"
            "       ctflow-bench --load office ENTRIES [HOSTS]\n"
            "       ctflow-bench --bare-dump [ROUNDS]\n"
            "       ctflow-bench --sweep [FLOWS [PERCENT]]\n"
            "       ctflow-bench --cpu PID ...\n"
            "       ctflow-bench --hash\n",
            MAX_ROUNDS);
    return 2;
  }
  if (prepare_namespace(entries) < 0)
    return 1;

  double start = now();
  long clashes =
      load_table(entries, (struct table_shape){.hosts = LOCAL_HOSTS});
  if (clashes < 0)
    return 1;
  double load_seconds = now() - start;

  struct mnl_socket *nl = open_socket();
  if (nl == NULL)
    return 1;

  /* RSS growth is the second opinion on memory: reset the peak ("5" to
   * clear_refs) so that the loader's buffers do not count. */
  if (write_text("/proc/self/clear_refs", "5") < 0)
    return 1;
  long rss_before = status_bytes("VmRSS");
  struct collector_config config = {.max_hosts = 4096, .log = log_stderr};
  localnet_set_default(&config.local);
  struct collector *c = collector_new(&config);
  if (c == NULL)
    return 1;
  /* The first read is the baseline: every entry is new to ctflow. */
  start = now();
  if (collector_read(c) < 0)
    return 1;
  double first_read = now() - start;

  struct timing bare, read, list;
  long dumped = 0;
  for (int r = 0; r < rounds; r++) {
    struct stamp t = stamp();
    if ((dumped = bare_dump(nl, r + 1)) < 0) {
      fprintf(stderr, "ctflow-bench: dump: %s\n", strerror(errno));
      return 1;
    }
    record(&bare, r, t, 0);
    t = stamp();
    if (collector_read(c) < 0)
      return 1;
    record(&read, r, t, 0);
    t = stamp();
    double child_cpu = conntrack_list();
    if (child_cpu < 0)
      return 1;
    record(&list, r, t, child_cpu);
  }
  long rss_peak = status_bytes("VmHWM"), rss_after = status_bytes("VmRSS");
  if (rss_before < 0 || rss_peak < 0 || rss_after < 0) {
    fprintf(stderr, "ctflow-bench: no VmRSS or VmHWM in /proc/self/status\n");
    return 1;
  }

  const struct report *report = collector_report(c);
  const struct self_stats *self = &report->self;
  if (self->flows != (size_t)dumped || dumped != entries)
    fprintf(stderr,
            "ctflow-bench: %ld entries asked for, %ld dumped, %zu "
            "tracked by ctflow\n",
            entries, dumped, self->flows);
  double per = self->flows > 0 ? (double)self->flows : 1;

  /* report->count includes the buckets "total" and "other". */
  printf("%-24s %8ld     (%zu local hosts; %ld clashing tuples drawn "
         "again)\n",
         "entries", dumped, report->count - 2, clashes);
  printf("%-24s %8.3f s\n", "load", load_seconds);
  printf("%-24s %8.3f s   (baseline: every entry new to ctflow)\n",
         "ctflow first read", first_read);
  print_times("bare dump (a) median", &bare, rounds);
  print_times("ctflow read (b) median", &read, rounds);
  print_times("conntrack -L (c) median", &list, rounds);
  double a = median(bare.wall, rounds), b = median(read.wall, rounds);
  double a_cpu = median(bare.cpu, rounds), b_cpu = median(read.cpu, rounds);
  printf("%-24s %8.2f     (cpu %.2f; goal: at most 1.10)\n", "b/a", b / a,
         b_cpu / a_cpu);
  printf("%-24s %8.2f     (cpu %.2f)\n", "c/b", median(list.wall, rounds) / b,
         median(list.cpu, rounds) / b_cpu);
  printf("%-24s %8.1f B   (goal: at most 64; flow table %.1f, hosts and "
         "peers %.1f)\n",
         "memory per entry", (double)self->memory / per,
         (double)self->flow_memory / per,
         (double)(self->memory - self->flow_memory) / per);
  printf("%-24s %8.1f B   (peak %.1f)\n", "RSS growth per entry",
         (double)(rss_after - rss_before) / per,
         (double)(rss_peak - rss_before) / per);
  collector_free(c);
  mnl_socket_close(nl);
  return 0;
}
