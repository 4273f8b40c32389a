/* collector.c: one read = dump the table into the accounting, then read the
 * kernel's statistics and copy out a report. The event reader feeds the
 * same accounting from its thread; one mutex serialises the two, taken per
 * received batch of the dump so that events wait at most one batch. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ct_parse.h"
#include "ctnetlink.h"
#include "events.h"
#include "hash.h"
#include "netns.h"
#include "sysctl.h"

#define EVENTS_SYSCTL "net.netfilter.nf_conntrack_events"
#define ACCT_SYSCTL "net.netfilter.nf_conntrack_acct"

struct collector {
  struct collector_config config;
  struct fairlock lock; /* guards accounting */
  int netns;            /* NetNamespace's file, or -1: the caller's */
  struct ctnetlink nl;
  struct kernel_filter dump_filter; /* what the kernel is asked to apply */
  struct accounting accounting;
  struct events *events;
  struct names *names; /* the caller's, or own_names */
  struct names *own_names;
  struct instances *instances;
  struct report report;
  size_t report_capacity;
  bool warned_parse;
  bool warned_catch_up; /* since the last read that caught up */
  uint64_t bad_entries; /* messages of the dump ct_parse() refused */
  size_t dumped;        /* messages the current dump brought so far */
};

/* Runs in the event reader, under c->lock. */
static void on_destroy(const struct ct_entry *e, void *arg) {
  accounting_end(arg, e);
}

/* Returns whether the kernel sends events: nf_conntrack_events is 1 or 2
 * ("auto": once someone listens). Logs why not. Runs in the namespace. */
static bool kernel_sends_events(const struct collector_config *config) {
  int value = -1;
  if (sysctl_get(EVENTS_SYSCTL, &value) < 0)
    value = -1;
  if (value == 0)
    config->log(LOG_WARNING,
                "%s is 0: the kernel sends no DESTROY events, so ended "
                "entries lose their tail as with Events false; set it to 2 "
                "(or 1) to count every byte",
                EVENTS_SYSCTL);
  else if (value < 0)
    config->log(LOG_WARNING,
                "cannot read " EVENTS_SYSCTL ": the kernel has no conntrack "
                "events; going on as with Events false");
  return value > 0;
}

/* EnableAccounting: the kernel gives counters to entries created while
 * nf_conntrack_acct is 1, so ctflow sets it before it subscribes and
 * dumps. Runs in the namespace. Failing is not fatal: ctflow counts
 * connections then, as with nf_conntrack_acct=0 (accounting rule 6). */
static void enable_accounting(struct collector *c) {
  const char *ns = c->config.netns ? c->config.netns : "collectd's own";
  int was = -1;
  if (sysctl_get(ACCT_SYSCTL, &was) == 0 && was == 1) {
    c->config.log(LOG_INFO,
                  "EnableAccounting: " ACCT_SYSCTL " is 1 already in network "
                  "namespace %s",
                  ns);
  } else if (sysctl_set(ACCT_SYSCTL, 1) == 0) {
    c->config.log(LOG_INFO,
                  "EnableAccounting: set " ACCT_SYSCTL "=1 in network "
                  "namespace %s (it was %d): entries created from now on "
                  "carry byte counters",
                  ns, was);
  } else {
    c->config.log(LOG_ERR,
                  "EnableAccounting: cannot set " ACCT_SYSCTL "=1 in network "
                  "namespace %s: %s; counting connections only, not bytes",
                  ns, strerror(errno));
    return;
  }
  accounting_set_acct_enabled(&c->accounting);
}

static struct kernel_stats read_kernel_stats(struct collector *c);

/* A dump in flight can return at most the kernel's nf_conntrack_max
 * entries, so more tombstones than that guard against nothing real. */
static void limit_tombstones(struct collector *c, struct kernel_stats k) {
  if (k.have_global && k.max_entries > 0)
    accounting_limit_tombstones(&c->accounting, k.max_entries);
}

static struct collector *fail(struct collector *c, const char *what) {
  c->config.log(LOG_ERR, "%s; not starting", what);
  collector_free(c);
  return NULL;
}

/* Opens NetNamespace into c->netns. Returns 0, or -1 after logging why
 * (one error naming the option and the value, as for any bad option). */
static int open_netns(struct collector *c) {
  const char *name = c->config.netns;
  char path[4096];
  if (netns_path(name, path, sizeof(path)) < 0) {
    c->config.log(LOG_ERR,
                  "option NetNamespace: bad value \"%s\": expected a name "
                  "under " NETNS_RUN_DIR " or an absolute path; not starting",
                  name);
    return -1;
  }
  c->netns = netns_open(path);
  if (c->netns >= 0)
    return 0;
  const char *why = errno == ENOENT   ? "no such namespace"
                    : errno == EINVAL ? "not a network namespace"
                                      : strerror(errno);
  c->config.log(LOG_ERR,
                "option NetNamespace \"%s\": cannot open %s: %s; not "
                "starting",
                name, path, why);
  return -1;
}

/* Sets and reads the namespace's settings, from inside it: with
 * EnableAccounting nf_conntrack_acct, then nf_conntrack_events. Returns
 * whether to listen to events, or -1 after logging why the calling thread
 * could not get in or back. */
static int read_settings(struct collector *c) {
  const struct collector_config *config = &c->config;
  int saved;
  if (netns_enter(c->netns, &saved) < 0) {
    config->log(LOG_ERR, "cannot enter network namespace %s: %s", config->netns,
                strerror(errno));
    return -1;
  }
  if (config->enable_acct)
    enable_accounting(c);
  bool events = config->events && kernel_sends_events(config);
  if (netns_leave(saved) < 0) {
    config->log(LOG_ERR,
                "cannot return from network namespace %s: %s; a collectd "
                "thread stays in it",
                config->netns, strerror(errno));
    return -1;
  }
  return events;
}

static void start_events(struct collector *c) {
  const struct collector_config *config = &c->config;
  struct events_config ec = {
      .buffer_size = config->event_buffer,
      .buffer_max = config->event_buffer_max,
      .netns = c->netns,
      .lock = &c->lock,
      .on_destroy = on_destroy,
      .arg = &c->accounting,
      .log = config->log,
  };
  c->events = events_start(&ec);
  if (c->events == NULL)
    config->log(LOG_WARNING, "going on without events, as with Events "
                             "false: ended entries lose their tail");
}

/* Returns the accounting's settings: c's config, which outlives it. The
 * filter (Protocol, Zone, Mark) goes to the accounting, for dumps and
 * events alike, and so does host selection, since the accounting decides
 * the bucket. */
static struct accounting_settings
accounting_settings(const struct collector *c) {
  const struct collector_config *config = &c->config;
  return (struct accounting_settings){
      .local = &config->local,
      .hosts = {.max_hosts = config->max_hosts,
                .max_new = config->max_new_hosts,
                .forget_after = config->forget_after,
                .select = config->select},
      .filter = &config->filter,
      .flow_key = config->flow_key,
      .max_flow_keys = config->top_flows > 0 ? config->max_flow_keys : 0,
      .log = config->log,
  };
}

struct collector *collector_new(const struct collector_config *config) {
  /* Before the first table: a table never sees its key change. */
  if (hash_init() < 0) {
    config->log(LOG_ERR,
                "cannot draw the key of ctflow's hash tables from the "
                "kernel: getrandom: %s (ctflow needs Linux 3.17 or later); "
                "not starting",
                strerror(errno));
    return NULL;
  }
  struct collector *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    config->log(LOG_ERR, "out of memory; not starting");
    return NULL;
  }
  c->config = *config;
  c->netns = -1;
  if (fairlock_init(&c->lock) != 0) {
    config->log(LOG_ERR, "cannot make a lock: out of memory");
    free(c);
    return NULL;
  }
  /* Flow keys and hosts go idle alike (ForgetAfter). */
  if (c->config.forget_after == 0)
    c->config.forget_after = HOSTS_FORGET_AFTER;
  struct accounting_settings settings = accounting_settings(c);
  if (accounting_init(&c->accounting, &settings) < 0)
    return fail(c, "out of memory");
  c->names = config->names;
  if (c->names == NULL)
    c->names = c->own_names = names_new(config->log);
  c->instances = instances_new();
  if (c->names == NULL || c->instances == NULL)
    return fail(c, "out of memory for host names; not starting");
  /* Read the files now: a missing one is named in the log at start. */
  names_refresh(c->names);
  if (config->top_flows > 0 &&
      (c->report.top = calloc(config->top_flows, sizeof(*c->report.top))) ==
          NULL)
    return fail(c, "out of memory");
  /* What the kernel can do of Protocol, Zone and Mark goes into the dump
   * request: entries it leaves out cost neither the kernel's copying nor
   * our parsing. */
  c->dump_filter = filter_kernel_part(&c->config.filter);
  if (config->netns && open_netns(c) < 0) {
    collector_free(c);
    return NULL;
  }
  if (ctnetlink_open(&c->nl, c->netns) < 0) {
    char why[512], needs[160] = "";
    if (errno != ENOMEM)
      snprintf(needs, sizeof(needs),
               " (ctflow needs CAP_NET_ADMIN%s and the nf_conntrack_netlink "
               "module)",
               config->netns ? ", CAP_SYS_ADMIN to enter the namespace" : "");
    snprintf(why, sizeof(why),
             "cannot open the conntrack netlink socket%s%s: %s%s",
             config->netns ? " in network namespace " : "",
             config->netns ? config->netns : "", strerror(errno), needs);
    return fail(c, why);
  }
  int events = read_settings(c);
  if (events < 0) {
    collector_free(c);
    return NULL;
  }
  limit_tombstones(c, read_kernel_stats(c));
  if (events)
    start_events(c);
  return c;
}

void collector_free(struct collector *c) {
  if (c == NULL)
    return;
  events_stop(c->events);
  ctnetlink_close(&c->nl);
  if (c->netns >= 0)
    close(c->netns);
  accounting_free(&c->accounting);
  instances_free(c->instances);
  names_free(c->own_names);
  fairlock_destroy(&c->lock);
  free(c->report.buckets);
  free(c->report.top);
  free(c);
}

/* Runs under c->lock (the dump's batch lock). */
static int on_entry(const struct nlmsghdr *nlh, void *arg) {
  struct collector *c = arg;
  struct ct_entry e;
  c->dumped++;
  if (ct_parse(nlh, nlh->nlmsg_len, &e) < 0) {
    c->bad_entries++;
    if (!c->warned_parse)
      c->config.log(LOG_WARNING,
                    "skipped a malformed conntrack message (type %u, %u "
                    "bytes)",
                    nlh->nlmsg_type, nlh->nlmsg_len);
    c->warned_parse = true;
    return MNL_CB_OK;
  }
  accounting_add(&c->accounting, &e);
  return MNL_CB_OK;
}

static int on_cpu_stats(const struct nlmsghdr *nlh, void *arg) {
  return kernel_stats_add_cpu(arg, nlh) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int on_global_stats(const struct nlmsghdr *nlh, void *arg) {
  return kernel_stats_set_global(arg, nlh) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Reads the kernel's statistics; those a kernel lacks stay absent. */
static struct kernel_stats read_kernel_stats(struct collector *c) {
  struct kernel_stats k = {0};
  if (ctnetlink_request(&c->nl, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_DUMP,
                        on_cpu_stats, &k) < 0)
    k.have_cpu = false;
  if (ctnetlink_request(&c->nl, IPCTNL_MSG_CT_GET_STATS, NLM_F_ACK,
                        on_global_stats, &k) < 0)
    k.have_global = false;
  return k;
}

/* Ends the interval of the accounting, under c->lock: forgets what left
 * the table (with forget) and idle hosts, ends the flow keys' interval and
 * picks the top flows into the report. */
static void end_interval(struct collector *c, bool forget) {
  accounting_end_read(&c->accounting, forget);
  struct flowkeys *keys = c->accounting.keys;
  if (keys)
    c->report.top_count = flowkeys_end_interval(
        keys, c->config.top_flows, c->config.forget_after, c->report.top);
}

/* Copies the accounting's results into the report; runs under c->lock.
 * Returns -1 when out of memory (the report keeps the last read's). */
static int copy_report(struct collector *c) {
  const struct hosts *h = &c->accounting.hosts;
  if (h->count > c->report_capacity) {
    struct host_stats *b = realloc(c->report.buckets, h->capacity * sizeof(*b));
    if (b == NULL)
      return -1;
    c->report.buckets = b;
    c->report_capacity = h->capacity;
  }
  memcpy(c->report.buckets, h->buckets, h->count * sizeof(*h->buckets));
  c->report.count = h->count;
  c->report.table = c->accounting.table;
  const struct flowkeys *keys = c->accounting.keys;
  if (keys) {
    c->report.flows_other = keys->other;
    c->report.self.flow_keys_evicted = keys->evicted;
  }
  c->report.self.hosts_deferred = h->deferred;
  c->report.self.hosts_no_room = h->no_room;
  c->report.self.flows = flowtable_count(c->accounting.flows);
  c->report.self.memory = accounting_memory(&c->accounting);
  c->report.self.flow_memory = flowtable_memory(c->accounting.flows);
  return 0;
}

static double seconds_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) +
         (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Dumps the table into the accounting. Returns 0, or -1 with errno. A
 * kernel that has a dump filter but cannot apply it answers an error
 * before the first entry (ctnetlink_start parses the filter before the
 * dump begins): EOPNOTSUPP for a mark or zone built without
 * CONFIG_NF_CONNTRACK_MARK / _ZONES, for example. Then the dump is made
 * again without kernel filters, for good: every entry is checked in user
 * space anyway. */
static int dump_table(struct collector *c) {
  c->dumped = 0;
  if (ctnetlink_dump(&c->nl, &c->dump_filter, &c->lock, on_entry, c) == 0)
    return 0;
  if (!filter_kernel_asks(&c->dump_filter) || c->dumped > 0 ||
      errno == ECANCELED)
    return -1;
  c->config.log(LOG_WARNING,
                "the kernel refused the filtered dump (%s): Protocol, Zone "
                "and Mark are applied in user space only from now on",
                strerror(errno));
  c->dump_filter = (struct kernel_filter){0};
  return ctnetlink_dump(&c->nl, &c->dump_filter, &c->lock, on_entry, c);
}

/* Returns whether the entries the dump that just ended did not return may
 * be forgotten: yes once every DESTROY event queued until now is counted
 * (or when there are no events to wait for); no when that cannot be told,
 * and then they are kept until a later read, which forgets them unless it
 * sees them: so that a late event finds what was already counted. */
static bool caught_up(struct collector *c) {
  if (c->events == NULL || events_stats(c->events).failed)
    return true;
  if (events_catch_up(c->events) == 0) {
    c->warned_catch_up = false;
    return true;
  }
  if (events_stats(c->events).failed)
    return true;
  if (!c->warned_catch_up)
    c->config.log(LOG_WARNING,
                  "could not catch up with the DESTROY events: entries that "
                  "left the table are forgotten at a later read");
  c->warned_catch_up = true;
  return false;
}

/* Fills the report's figures of ctflow itself. */
static void report_self(struct collector *c, const struct timespec *start) {
  struct self_stats *self = &c->report.self;
  self->bad_messages = c->bad_entries + c->nl.refused;
  self->events = c->events != NULL;
  self->events_dropped = c->accounting.events_dropped;
  if (c->events) {
    struct events_stats ev = events_stats(c->events);
    self->bad_messages += ev.bad_messages;
    self->events_lost = ev.lost;
    self->event_reader_failures = ev.failed;
  }
  self->read_seconds = seconds_since(start);
}

int collector_read(struct collector *c) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  bool events = c->events != NULL && !events_stats(c->events).failed;
  fairlock_acquire(&c->lock);
  accounting_begin_read(&c->accounting, events);
  fairlock_release(&c->lock);
  if (dump_table(c) < 0) {
    c->config.log(LOG_ERR, "dumping the conntrack table failed: %s",
                  strerror(errno));
    return -1;
  }
  struct kernel_stats kernel = read_kernel_stats(c);
  /* Count the events of entries that ended during the dump before the
   * sweep forgets them: counted after it, such an entry would look new
   * and be counted whole a second time. */
  bool forget = caught_up(c);
  fairlock_acquire(&c->lock);
  limit_tombstones(c, kernel);
  end_interval(c, forget);
  int rc = copy_report(c);
  fairlock_release(&c->lock);
  /* Names and instances are the read thread's alone: no lock. */
  names_refresh(c->names);
  if (rc < 0 || instances_update(c->instances, c->names, c->report.buckets,
                                 c->report.count) < 0) {
    c->config.log(LOG_ERR, "out of memory: this interval is not reported");
    return -1;
  }
  c->report.instances = c->instances;
  c->report.kernel = kernel;
  report_self(c, &start);
  return 0;
}

const struct report *collector_report(const struct collector *c) {
  return &c->report;
}
