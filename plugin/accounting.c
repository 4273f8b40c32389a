/* accounting.c: every byte once (accounting rules 1 to 6, docs/DESIGN.md,
 * "Counting rules"). */
#include "accounting.h"

#include <libnetfilter_conntrack/linux_nf_conntrack_common.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <syslog.h>

#include "classify.h"

/* Returns flow keys of kind, at most max_keys of them, or NULL when out
 * of memory. */
static struct flowkeys *new_keys(enum flow_key_kind kind, size_t max_keys) {
  struct flowkeys *keys = malloc(sizeof(*keys));
  if (keys == NULL || flowkeys_init(keys, kind, max_keys) < 0) {
    free(keys);
    return NULL;
  }
  return keys;
}

int accounting_init(struct accounting *a,
                    const struct accounting_settings *settings) {
  const struct entry_filter *filter = settings->filter;
  *a = (struct accounting){
      .local = settings->local,
      .log = settings->log,
      /* A filter that lets every entry through costs nothing per entry. */
      .filter = filter && !filter_is_empty(filter) ? filter : NULL,
      .tombstones_max = ACCOUNTING_TOMBSTONES};
  a->flows = flowtable_new();
  if (a->flows == NULL || hosts_init(&a->hosts, &settings->hosts) < 0)
    goto fail;
  if (settings->max_flow_keys > 0 &&
      (a->keys = new_keys(settings->flow_key, settings->max_flow_keys)) == NULL)
    goto fail;
  /* IPv4 hosts are as many as the IPv4 networks hold (a /24: 256), while
   * anyone on an IPv6 /64 can send from 2^64 addresses of it: keep the
   * IPv4 networks' room, up to half of MaxHosts, from IPv6 hosts. */
  size_t max_hosts = settings->hosts.max_hosts;
  hosts_reserve_ipv4(&a->hosts,
                     localnet_addresses(a->local, AF_INET, max_hosts));
  return 0;
fail:
  /* The caller's accounting_free() must find nothing to free again. */
  accounting_free(a);
  return -1;
}

void accounting_free(struct accounting *a) {
  flowtable_free(a->flows);
  hosts_free(&a->hosts);
  if (a->keys)
    flowkeys_free(a->keys);
  free(a->keys);
  a->flows = NULL;
  a->keys = NULL;
}

void accounting_limit_tombstones(struct accounting *a, size_t max) {
  a->tombstones_max = max;
}

void accounting_set_acct_enabled(struct accounting *a) {
  a->acct_enabled = true;
}

void accounting_begin_read(struct accounting *a, bool events) {
  /* 0 marks a flow never seen and FLOW_ENDED a tombstone: generations
   * skip both on wrapping. */
  do
    a->gen++;
  while (a->gen == 0 || a->gen == FLOW_ENDED);
  a->reading = true;
  a->events = events;
  a->tombstones = 0; /* the read's own: those since the last read stay */
  a->table = (struct table_gauges){0};
  hosts_begin_read(&a->hosts);
}

void accounting_end_read(struct accounting *a, bool forget_unseen) {
  flowtable_sweep(a->flows, a->gen, forget_unseen);
  a->tombstones = 0;
  a->reading = false;
  hosts_end_read(&a->hosts);
  a->baselined = true;
}

size_t accounting_memory(const struct accounting *a) {
  return flowtable_memory(a->flows) + hosts_memory(&a->hosts) +
         (a->keys ? flowkeys_memory(a->keys) : 0);
}

static void warn_memory(struct accounting *a, const char *what) {
  if (!a->warned_memory)
    a->log(LOG_WARNING, "out of memory: %s", what);
  a->warned_memory = true;
}

/* Returns entry's flow, or NULL (after a warning) when out of memory. */
static struct flow *flow_of(struct accounting *a, const struct ct_entry *e) {
  struct flow *f = flowtable_upsert(a->flows, e->id, flow_tuple_hash(e));
  if (f == NULL)
    warn_memory(a, "some entries' bytes are not counted");
  return f;
}

/* Where an entry counts: its host's bucket, or other's, and the owner it
 * counts as there, which says which direction is tx. */
struct destination {
  struct host_stats *bucket; /* valid until the next hosts_find() */
  struct owner owner;
};

/* Returns where entry e counts: its host's bucket when the host has one
 * (classify(), then hosts_find(): MaxHosts, MaxNewHosts, Host), else
 * other's, as host rule 3. */
static inline struct destination destination_of(struct accounting *a,
                                                const struct ct_entry *e) {
  struct destination d = {.owner = classify(a->local, e)};
  struct host_stats *other = hosts_other(&a->hosts);
  d.bucket = d.owner.rule == RULE_OTHER
                 ? other
                 : hosts_find(&a->hosts, d.owner.family, d.owner.host);
  /* Host rule 3: "other" counts the original direction as tx, for a host
   * beyond MaxHosts or not selected by Host too, not only for entries no
   * rule gave a host. */
  if (d.bucket == other)
    d.owner.rule = RULE_OTHER, d.owner.sends_orig = true;
  return d;
}

/* Adds what entry e's key, owned as o, sent (tx) and received (rx). */
static inline void feed_key(struct accounting *a, const struct ct_entry *e,
                            const struct owner *o, const struct ct_counters *tx,
                            const struct ct_counters *rx) {
  struct flow_key key = flow_key_of(a->keys->kind, e, o);
  flowkeys_add(a->keys, &key, tx, rx);
}

/* Adds growth g of entry e to d's bucket, to total and to e's flow key,
 * tx and rx as d's owner sends. */
static inline void add_growth(struct accounting *a, const struct ct_entry *e,
                              const struct destination *d,
                              const struct growth *g) {
  bool orig_is_tx = d->owner.sends_orig;
  const struct ct_counters *tx = orig_is_tx ? &g->orig : &g->reply;
  const struct ct_counters *rx = orig_is_tx ? &g->reply : &g->orig;
  traffic_add(&d->bucket->traffic, tx, rx);
  traffic_add(&hosts_total(&a->hosts)->traffic, tx, rx);
  /* A counter has bytes only with packets: packets tell what moved. */
  bool moved = tx->packets || rx->packets;
  d->bucket->carried |= moved;
  /* Only entries that carried something touch their key: idle entries,
   * most of a big table, cost no lookup. */
  if (a->keys && moved)
    feed_key(a, e, &d->owner, tx, rx);
}

static void count_new(struct accounting *a, struct host_stats *b) {
  b->new_connections++;
  b->carried = true;
  hosts_total(&a->hosts)->new_connections++;
}

static void count_connection(struct accounting *a, struct host_stats *b,
                             const struct ct_entry *e, const struct owner *o) {
  struct host_stats *total = hosts_total(&a->hosts);
  enum proto_class pc = proto_class_of(e->orig.l4proto);
  b->connections[pc]++;
  total->connections[pc]++;
  if (e->has_tcp_state && e->tcp_state < TCP_STATES)
    a->table.tcp_states[e->tcp_state]++;
  if (hosts_add_peer(&a->hosts, b, o->family, o->remote) < 0)
    warn_memory(a, "peers are undercounted");
}

/* A flowtable (nftables `flow add @ft`) forwards an offloaded entry's
 * packets past conntrack, and adds them to its counters only when the
 * flowtable has the counter flag (NF_FLOWTABLE_COUNTER, in the kernel's
 * nf_flow_table_ip.c; hardware offload adds the device's statistics
 * periodically, likewise only with it). ctflow cannot see the flag. */
static void count_offloaded(struct accounting *a, const struct ct_entry *e) {
  if (!(e->status & (IPS_OFFLOAD | IPS_HW_OFFLOAD)))
    return;
  a->table.offloaded++;
  if (a->warned_offload)
    return;
  a->log(LOG_WARNING,
         "conntrack entries are offloaded to a flowtable: their byte "
         "counters stay behind the traffic unless the flowtable has the "
         "counter flag (nftables: `counter` in the flowtable's block)");
  a->warned_offload = true;
}

/* Accounting rule 6: the kernel adds counters to entries created while
 * nf_conntrack_acct is 1; the others count as connections only. */
static void check_counters(struct accounting *a, const struct ct_entry *e) {
  if (e->has_counters || a->warned_acct)
    return;
  if (a->acct_enabled)
    a->log(LOG_NOTICE,
           "some conntrack entries carry no byte counters: they were created "
           "while net.netfilter.nf_conntrack_acct was 0 (before "
           "EnableAccounting set it, or since someone reset it); they count "
           "as connections, their bytes do not");
  else
    a->log(LOG_WARNING,
           "conntrack entries carry no byte counters: connections are "
           "counted, bytes and packets are not; set "
           "net.netfilter.nf_conntrack_acct=1 (it applies to entries "
           "created after it is set)");
  a->warned_acct = true;
}

/* Returns whether Protocol, Zone and Mark let entry be counted. */
static bool wanted(const struct accounting *a, const struct ct_entry *e) {
  return a->filter == NULL || filter_match(a->filter, e);
}

/* Returns what entry e grew since its flow f last saw it, and marks f
 * seen by this read. Without f (out of memory) e grew nothing. */
static inline struct growth growth_of(struct accounting *a, struct flow *f,
                                      const struct ct_entry *e) {
  if (f == NULL)
    return (struct growth){0};
  f->seen = a->gen;
  return flow_advance(f, e);
}

/* The kernel marks an entry dying, sends its DESTROY event, then unlinks
 * it: a dump may return it in between, after its event was counted and
 * its tombstone gone. The dump only keeps a flow it knows for the event
 * to find; a flow it does not know, the event counted already or will
 * count whole. */
static void keep_for_event(struct accounting *a, const struct ct_entry *e) {
  struct flow *f = flowtable_find(a->flows, e->id, flow_tuple_hash(e));
  if (f != NULL && f->seen != FLOW_ENDED)
    f->seen = a->gen;
}

void accounting_add(struct accounting *a, const struct ct_entry *e) {
  if (!wanted(a, e))
    return; /* never in the flow table: the sweep has nothing to forget */
  if (a->events && (e->status & IPS_DYING)) {
    keep_for_event(a, e);
    return;
  }
  check_counters(a, e);
  struct flow *f = flow_of(a, e);
  if (f != NULL && f->seen == FLOW_ENDED)
    return; /* its DESTROY event counted it; this dump began before */
  bool first_sight = f == NULL || f->seen == 0;
  bool dup = f != NULL && f->seen == a->gen;
  struct growth g = growth_of(a, f, e);
  /* Accounting rule 1: what entries carried before the first read is not
   * counted. */
  if (first_sight && !a->baselined)
    g = (struct growth){0};
  struct destination d = destination_of(a, e);
  add_growth(a, e, &d, &g);
  /* Accounting rule 4: an entry the dump returns twice is one connection. */
  if (dup)
    return;
  if (f != NULL && first_sight && a->baselined)
    count_new(a, d.bucket);
  count_connection(a, d.bucket, e, &d.owner);
  count_offloaded(a, e);
}

/* Leaves a tombstone for the ended entry e that no dump has returned.
 * Returns false when there may be no more of them this read (or no
 * memory for one). */
static bool leave_tombstone(struct accounting *a, const struct ct_entry *e) {
  struct flow *f = NULL;
  if (a->tombstones < a->tombstones_max)
    f = flow_of(a, e);
  if (f == NULL)
    return false;
  a->tombstones++;
  flow_end(f);
  return true;
}

void accounting_end(struct accounting *a, const struct ct_entry *e) {
  /* The event socket gets every entry's events, whatever the dump asked. */
  if (!wanted(a, e))
    return;
  check_counters(a, e);
  struct flow *f = flowtable_find(a->flows, e->id, flow_tuple_hash(e));
  if (f != NULL && f->seen == FLOW_ENDED)
    return; /* counted already */
  struct growth g = {.orig = e->orig_counters, .reply = e->reply_counters};
  if (f != NULL) {
    g = flow_advance(f, e);
    flow_end(f);
  } else if (!a->baselined) {
    /* Accounting rule 1: an entry that began before the first read and ended
     * before that read saw it carried nothing ctflow counts. */
    return;
  } else if (!leave_tombstone(a, e) && a->reading) {
    /* Counted without a tombstone, it would be counted again should the
     * dump in flight still return it. */
    a->events_dropped++;
    return;
  }
  struct destination d = destination_of(a, e);
  add_growth(a, e, &d, &g);
  if (f == NULL)
    count_new(a, d.bucket);
}
