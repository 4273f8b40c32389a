/* collector.c: one read = dump, account each entry, sweep, statistics. */
#include "collector.h"

#include <errno.h>
#include <libnetfilter_conntrack/linux_nf_conntrack_common.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "classify.h"
#include "ct_parse.h"
#include "ctnetlink.h"
#include "flowtable.h"

struct collector {
  struct collector_config config;
  struct ctnetlink nl;
  struct flowtable *flows;
  struct hosts hosts;
  struct kernel_stats kernel;
  struct self_stats self;
  uint32_t gen;   /* read generation; flows seen by this read carry it */
  bool baselined; /* a whole dump has set every entry's starting point */
  bool warned_acct, warned_memory, warned_parse;
};

struct collector *collector_new(const struct collector_config *config) {
  struct collector *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    config->log(LOG_ERR, "out of memory");
    return NULL;
  }
  c->config = *config;
  if (ctnetlink_open(&c->nl) < 0) {
    c->config.log(LOG_ERR,
                  "cannot open the conntrack netlink socket: %s (ctflow needs "
                  "CAP_NET_ADMIN and the nf_conntrack_netlink module)",
                  strerror(errno));
    free(c);
    return NULL;
  }
  c->flows = flowtable_new();
  if (c->flows == NULL || hosts_init(&c->hosts, config->max_hosts) < 0) {
    config->log(LOG_ERR, "out of memory");
    collector_free(c);
    return NULL;
  }
  return c;
}

void collector_free(struct collector *c) {
  if (c == NULL)
    return;
  ctnetlink_close(&c->nl);
  flowtable_free(c->flows);
  hosts_free(&c->hosts);
  free(c);
}

static void add_growth(struct host_stats *b, const struct ct_counters *tx,
                       const struct ct_counters *rx) {
  b->tx_bytes += tx->bytes;
  b->tx_packets += tx->packets;
  b->rx_bytes += rx->bytes;
  b->rx_packets += rx->packets;
}

/* Returns the growth of entry since the last read, and whether this dump
 * already saw it (*dup) and whether it began since the last read (*fresh). */
static struct growth track(struct collector *c, const struct ct_entry *e,
                           bool *dup, bool *fresh) {
  struct flow *f = flowtable_upsert(c->flows, e->id, flow_tuple_hash(e));
  if (f == NULL) {
    if (!c->warned_memory)
      c->config.log(LOG_WARNING, "out of memory: some entries are not counted");
    c->warned_memory = true;
    *dup = *fresh = false;
    return (struct growth){0};
  }
  *dup = f->seen == c->gen;
  *fresh = f->seen == 0 && c->baselined;
  bool first_sight = f->seen == 0;
  f->seen = c->gen;
  struct growth g = flow_advance(f, e);
  /* Rule 1: what entries carried before the first read is not counted. */
  if (first_sight && !c->baselined)
    return (struct growth){0};
  return g;
}

static void count_connection(struct collector *c, struct host_stats *b,
                             const struct ct_entry *e, const struct owner *o,
                             bool fresh) {
  struct host_stats *total = hosts_total(&c->hosts);
  enum proto_class pc = proto_class_of(e->orig.l4proto);
  b->connections[pc]++;
  total->connections[pc]++;
  if (fresh) {
    b->new_connections++;
    total->new_connections++;
  }
  if (e->has_tcp_state && e->tcp_state < TCP_STATES)
    c->hosts.tcp_states[e->tcp_state]++;
  if (hosts_add_peer(&c->hosts, b, o->family, o->remote) < 0 &&
      !c->warned_memory) {
    c->config.log(LOG_WARNING, "out of memory: peers are undercounted");
    c->warned_memory = true;
  }
}

static void account(struct collector *c, const struct ct_entry *e) {
  if (!e->has_counters && !c->warned_acct) {
    c->config.log(LOG_WARNING,
                  "conntrack entries carry no byte counters: connections are "
                  "counted, bytes and packets are not; set "
                  "net.netfilter.nf_conntrack_acct=1 (it applies to entries "
                  "created after it is set)");
    c->warned_acct = true;
  }
  struct owner o = classify(&c->config.local, e);
  struct host_stats *b = o.rule == RULE_OTHER
                             ? hosts_other(&c->hosts)
                             : hosts_find(&c->hosts, o.family, o.host);
  bool dup, fresh;
  struct growth g = track(c, e, &dup, &fresh);
  const struct ct_counters *tx = o.sends_orig ? &g.orig : &g.reply;
  const struct ct_counters *rx = o.sends_orig ? &g.reply : &g.orig;
  add_growth(b, tx, rx);
  add_growth(hosts_total(&c->hosts), tx, rx);
  /* Rule 4: an entry the dump returns twice is one connection. */
  if (!dup)
    count_connection(c, b, e, &o, fresh);
}

static int on_entry(const struct nlmsghdr *nlh, void *arg) {
  struct collector *c = arg;
  struct ct_entry e;
  if (ct_parse(nlh, nlh->nlmsg_len, &e) < 0) {
    c->self.bad_messages++;
    if (!c->warned_parse)
      c->config.log(LOG_WARNING,
                    "skipped a malformed conntrack message "
                    "(type %u, %u bytes)",
                    nlh->nlmsg_type, nlh->nlmsg_len);
    c->warned_parse = true;
    return MNL_CB_OK;
  }
  account(c, &e);
  return MNL_CB_OK;
}

static int on_cpu_stats(const struct nlmsghdr *nlh, void *arg) {
  return kernel_stats_add_cpu(arg, nlh) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int on_global_stats(const struct nlmsghdr *nlh, void *arg) {
  return kernel_stats_set_global(arg, nlh) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Reads the kernel's statistics; a kernel without them leaves them absent. */
static void read_kernel_stats(struct collector *c) {
  struct kernel_stats k = {0};
  if (ctnetlink_request(&c->nl, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_DUMP,
                        on_cpu_stats, &k) < 0)
    k.have_cpu = false;
  if (ctnetlink_request(&c->nl, IPCTNL_MSG_CT_GET_STATS, NLM_F_ACK,
                        on_global_stats, &k) < 0)
    k.have_global = false;
  c->kernel = k;
}

static double seconds_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) +
         (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int collector_read(struct collector *c) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  /* 0 marks a flow never seen, so the generation skips it on wrapping. */
  if (++c->gen == 0)
    c->gen = 1;
  hosts_begin_read(&c->hosts);
  if (ctnetlink_request(&c->nl, IPCTNL_MSG_CT_GET, NLM_F_DUMP, on_entry, c) <
      0) {
    c->config.log(LOG_ERR, "dumping the conntrack table failed: %s",
                  strerror(errno));
    return -1;
  }
  flowtable_sweep(c->flows, c->gen);
  c->baselined = true;
  read_kernel_stats(c);
  c->self.flows = flowtable_count(c->flows);
  c->self.memory = flowtable_memory(c->flows) + hosts_memory(&c->hosts);
  c->self.read_seconds = seconds_since(&start);
  return 0;
}

struct hosts *collector_hosts(struct collector *c) {
  return &c->hosts;
}

const struct kernel_stats *collector_kernel(const struct collector *c) {
  return &c->kernel;
}

const struct self_stats *collector_self(const struct collector *c) {
  return &c->self;
}
