/* collector.c: one read = dump the table into the accounting, then read the
 * kernel's statistics. */
#include "collector.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "accounting.h"
#include "ct_parse.h"
#include "ctnetlink.h"

struct collector {
  struct collector_config config;
  struct ctnetlink nl;
  struct accounting accounting;
  struct kernel_stats kernel;
  struct self_stats self;
  bool warned_parse;
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
  if (accounting_init(&c->accounting, &c->config.local, config->max_hosts,
                      config->log) < 0) {
    config->log(LOG_ERR, "out of memory");
    ctnetlink_close(&c->nl);
    free(c);
    return NULL;
  }
  return c;
}

void collector_free(struct collector *c) {
  if (c == NULL)
    return;
  ctnetlink_close(&c->nl);
  accounting_free(&c->accounting);
  free(c);
}

static int on_entry(const struct nlmsghdr *nlh, void *arg) {
  struct collector *c = arg;
  struct ct_entry e;
  if (ct_parse(nlh, nlh->nlmsg_len, &e) < 0) {
    c->self.bad_messages++;
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
  accounting_begin_read(&c->accounting);
  if (ctnetlink_request(&c->nl, IPCTNL_MSG_CT_GET, NLM_F_DUMP, on_entry, c) <
      0) {
    c->config.log(LOG_ERR, "dumping the conntrack table failed: %s",
                  strerror(errno));
    return -1;
  }
  accounting_end_read(&c->accounting);
  read_kernel_stats(c);
  c->self.flows = flowtable_count(c->accounting.flows);
  c->self.memory = accounting_memory(&c->accounting);
  c->self.read_seconds = seconds_since(&start);
  return 0;
}

struct hosts *collector_hosts(struct collector *c) {
  return &c->accounting.hosts;
}

const struct kernel_stats *collector_kernel(const struct collector *c) {
  return &c->kernel;
}

const struct self_stats *collector_self(const struct collector *c) {
  return &c->self;
}
