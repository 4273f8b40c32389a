/* kernel_stats.c: both messages are flat lists of big-endian u32. */
#include "kernel_stats.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include "nlattr.h"

static const char *const stat_names[CTA_STATS_MAX + 1] = {
    [CTA_STATS_FOUND] = "found",
    [CTA_STATS_INVALID] = "invalid",
    [CTA_STATS_INSERT] = "insert",
    [CTA_STATS_INSERT_FAILED] = "insert_failed",
    [CTA_STATS_DROP] = "drop",
    [CTA_STATS_EARLY_DROP] = "early_drop",
    [CTA_STATS_ERROR] = "error",
    [CTA_STATS_SEARCH_RESTART] = "search_restart",
    [CTA_STATS_CLASH_RESOLVE] = "clash_resolve",
    [CTA_STATS_CHAIN_TOOLONG] = "chaintoolong",
};

const char *kernel_stat_name(unsigned attr) {
  return attr <= CTA_STATS_MAX ? stat_names[attr] : NULL;
}

static int add_cpu_stat(const struct nlattr *attr, void *arg) {
  struct kernel_stats *s = arg;
  unsigned type = nlattr_type(attr);
  if (kernel_stat_name(type) == NULL)
    return MNL_CB_OK;
  if (!nlattr_payload_is(attr, sizeof(uint32_t)))
    return MNL_CB_ERROR;
  s->cpu[type] += nlattr_be32(attr);
  s->reported |= 1u << type;
  return MNL_CB_OK;
}

int kernel_stats_add_cpu(struct kernel_stats *s, const struct nlmsghdr *nlh) {
  if (nlattr_walk_nfmsg(nlh, add_cpu_stat, s) < 0)
    return -1;
  s->have_cpu = true;
  return 0;
}

struct global_parse {
  struct kernel_stats *stats;
  unsigned have;
};

static int set_global_stat(const struct nlattr *attr, void *arg) {
  struct global_parse *p = arg;
  unsigned type = nlattr_type(attr);
  if (type != CTA_STATS_GLOBAL_ENTRIES && type != CTA_STATS_GLOBAL_MAX_ENTRIES)
    return MNL_CB_OK;
  if (!nlattr_payload_is(attr, sizeof(uint32_t)))
    return MNL_CB_ERROR;
  uint32_t v = nlattr_be32(attr);
  if (type == CTA_STATS_GLOBAL_ENTRIES)
    p->stats->entries = v;
  else
    p->stats->max_entries = v;
  p->have |= 1u << type;
  return MNL_CB_OK;
}

int kernel_stats_set_global(struct kernel_stats *s,
                            const struct nlmsghdr *nlh) {
  struct global_parse p = {.stats = s};
  unsigned both =
      1u << CTA_STATS_GLOBAL_ENTRIES | 1u << CTA_STATS_GLOBAL_MAX_ENTRIES;
  if (nlattr_walk_nfmsg(nlh, set_global_stat, &p) < 0 || p.have != both)
    return -1;
  s->have_global = true;
  return 0;
}
