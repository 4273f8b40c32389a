/* ctflow.c: the collectd glue. Options become a struct collector_config
 * and a set of host names, init starts the collector, read dispatches what
 * it found under each bucket's instance, shutdown stops it. Everything else
 * lives in collectd-free modules. */
#include "collectd.h"
#include "plugin.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "filter.h"
#include "host_select.h"
#include "names.h"
#include "netns.h"

#define PLUGIN_NAME "ctflow"
#define MAX_HOSTS_LIMIT 1000000
#define DEFAULT_MAX_HOSTS 4096
/* The event socket starts at 4 MiB and doubles on overflow up to
 * EventBufferSize; see events.c. Its default suits the machine: what a
 * flood can make the kernel hold for ctflow is 1/32 of the memory, at
 * least the start and at most 64 MiB (a 128 MiB router: 4 MiB). */
#define DEFAULT_EVENT_BUFFER (4 << 20)
#define DEFAULT_EVENT_BUFFER_MAX (64 << 20)
#define EVENT_BUFFER_SHARE 32
#define MIN_EVENT_BUFFER 4096
#define DEFAULT_TOP_FLOWS 10
#define MAX_TOP_FLOWS 1000
/* Keys tracked at most, about 120 bytes each: 64 Ki keys take 8 MiB. */
#define DEFAULT_MAX_FLOW_KEYS 65536
#define MAX_FLOW_KEYS_LIMIT 1000000
/* ForgetAfter: a flow key without traffic, a host without entries or
 * traffic, for this many intervals is forgotten (HOSTS_FORGET_AFTER, 30:
 * five minutes at collectd's default 10 s interval). */
#define MAX_FORGET_AFTER 1000000
#define MAX_EVENT_BUFFER (1 << 30)

/* The TCP state names of ctflow-total/tcp_connections-<STATE>, by
 * TCP_CONNTRACK_* value. */
static const char *const tcp_state_names[TCP_STATES] = {
    NULL,         "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
    "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2",
};

static struct collector_config config;
static bool local_network_given;
static bool block_seen; /* a <Plugin ctflow> block was read */
static bool config_failed;
static struct collector *collector;
static char *netns_name;                /* config.netns */
static struct names *names;             /* HostName, HostsFile */
static struct host_select *host_select; /* Host, IgnoreSelected */

static void ctflow_log(int priority, const char *format, ...) {
  char text[512];
  va_list ap;
  va_start(ap, format);
  vsnprintf(text, sizeof(text), format, ap);
  va_end(ap);
  plugin_log(priority, PLUGIN_NAME ": %s", text);
}

/* Logs the one error a bad option value gets, naming the option and the
 * value (README, "Options"), and marks the configuration failed; init then
 * refuses to start. */
static int bad_option(const oconfig_item_t *ci, const char *value,
                      const char *expected) {
  ctflow_log(LOG_ERR, "option %s: bad value \"%s\": expected %s; not starting",
             ci->key, value, expected);
  config_failed = true;
  return -1;
}

/* Returns the option's value as text for an error message. */
static const char *value_text(const oconfig_item_t *ci, char *buf,
                              size_t size) {
  if (ci->values_num < 1)
    return "";
  const oconfig_value_t *v = &ci->values[0];
  if (v->type == OCONFIG_TYPE_STRING)
    return v->value.string;
  if (v->type == OCONFIG_TYPE_NUMBER)
    snprintf(buf, size, "%g", v->value.number);
  else
    snprintf(buf, size, "%s", v->value.boolean ? "true" : "false");
  return buf;
}

static int config_local_network(const oconfig_item_t *ci) {
  char buf[64];
  if (ci->values_num < 1)
    return bad_option(ci, "", "one or more CIDRs in quotes");
  if (!local_network_given)
    config.local.count = 0;
  local_network_given = true;
  for (int i = 0; i < ci->values_num; i++) {
    if (ci->values[i].type != OCONFIG_TYPE_STRING)
      return bad_option(ci, value_text(ci, buf, sizeof(buf)),
                        "a CIDR in quotes, e.g. \"192.168.1.0/24\"");
    const char *cidr = ci->values[i].value.string;
    if (localnet_add(&config.local, cidr) == 0)
      continue;
    if (errno != ENOSPC)
      return bad_option(ci, cidr,
                        "an IPv4 or IPv6 CIDR, e.g. \"192.168.1.0/24\"");
    snprintf(buf, sizeof(buf), "at most %d networks", LOCALNET_MAX);
    return bad_option(ci, cidr, buf);
  }
  return 0;
}

/* Returns 0 and the whole number in [min, max] the option holds. */
static int config_count(const oconfig_item_t *ci, long min, long max,
                        long *out) {
  char buf[64], expected[96];
  snprintf(expected, sizeof(expected), "a whole number from %ld to %ld", min,
           max);
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return bad_option(ci, value_text(ci, buf, sizeof(buf)), expected);
  double v = ci->values[0].value.number;
  if (v < (double)min || v > (double)max || v != (double)(long)v)
    return bad_option(ci, value_text(ci, buf, sizeof(buf)), expected);
  *out = (long)v;
  return 0;
}

/* Returns 0 and the boolean the option holds: true or false, bare or in
 * quotes (collectd's own parser would log a second error of its own). */
static int config_bool(const oconfig_item_t *ci, bool *out) {
  char buf[64];
  const char *text = value_text(ci, buf, sizeof(buf));
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_BOOLEAN) {
    *out = ci->values[0].value.boolean;
    return 0;
  }
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_STRING &&
      (strcasecmp(text, "true") == 0 || strcasecmp(text, "false") == 0)) {
    *out = strcasecmp(text, "true") == 0;
    return 0;
  }
  return bad_option(ci, text, "true or false");
}

static int config_flow_key(const oconfig_item_t *ci) {
  char buf[64];
  const char *key = value_text(ci, buf, sizeof(buf));
  if (ci->values_num == 1 && ci->values[0].type == OCONFIG_TYPE_STRING) {
    if (strcasecmp(key, "conversation") == 0) {
      config.flow_key = FLOW_KEY_CONVERSATION;
      return 0;
    }
    if (strcasecmp(key, "5tuple") == 0) {
      config.flow_key = FLOW_KEY_5TUPLE;
      return 0;
    }
  }
  return bad_option(ci, key, "\"conversation\" or \"5tuple\"");
}

/* Logs that option ci found no memory and marks the configuration failed. */
static int config_no_memory(const oconfig_item_t *ci) {
  ctflow_log(LOG_ERR, "option %s: out of memory; not starting", ci->key);
  config_failed = true;
  return -1;
}

/* NetNamespace: the name is checked now; the namespace itself at init
 * (it may be made after collectd reads its configuration). */
static int config_netns(const oconfig_item_t *ci) {
  char buf[64], path[PATH_MAX];
  const char *name = value_text(ci, buf, sizeof(buf));
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      netns_path(name, path, sizeof(path)) < 0)
    return bad_option(ci, name,
                      "a name under " NETNS_RUN_DIR " or an absolute path "
                      "in quotes, e.g. \"router\" or \"/proc/1234/ns/net\"");
  free(netns_name);
  netns_name = strdup(name);
  if (netns_name == NULL)
    return config_no_memory(ci);
  config.netns = netns_name;
  return 0;
}

/* Returns the names the options fill, made on first use, or NULL. */
static struct names *config_names(void) {
  if (names == NULL)
    names = names_new(ctflow_log);
  return names;
}

/* HostName "address" "name" */
static int config_host_name(const oconfig_item_t *ci) {
  char buf[64];
  if (ci->values_num != 2 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      ci->values[1].type != OCONFIG_TYPE_STRING)
    return bad_option(ci, value_text(ci, buf, sizeof(buf)),
                      "an address and a name in quotes, e.g. HostName "
                      "\"192.168.1.23\" \"laptop\"");
  const char *address = ci->values[0].value.string;
  const char *name = ci->values[1].value.string;
  const char *why = names_check(name);
  if (why != NULL)
    return bad_option(ci, name, why);
  if (config_names() == NULL)
    return config_no_memory(ci);
  if (names_add(names, address, name) == 0)
    return 0;
  if (errno == ENOMEM)
    return config_no_memory(ci);
  return bad_option(ci, address,
                    "one IPv4 or IPv6 address, e.g. \"192.168.1.23\"");
}

/* HostsFile "/path" */
static int config_hosts_file(const oconfig_item_t *ci) {
  char buf[64];
  const char *path = value_text(ci, buf, sizeof(buf));
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return bad_option(ci, path, "a path in quotes");
  if (config_names() == NULL)
    return config_no_memory(ci);
  if (names_add_file(names, path) == 0)
    return 0;
  if (errno == ENOMEM)
    return config_no_memory(ci);
  return bad_option(ci, path,
                    "an absolute path, e.g. \"/tmp/dhcp.leases\" or "
                    "\"/etc/hosts\"");
}

/* Protocol "tcp" "udp" ...: names or numbers, quoted or bare. */
static int config_protocol(const oconfig_item_t *ci) {
  char buf[64];
  if (ci->values_num < 1)
    return bad_option(ci, "", "one or more protocols");
  for (int i = 0; i < ci->values_num; i++) {
    const oconfig_value_t *v = &ci->values[i];
    const char *text = v->value.string;
    if (v->type == OCONFIG_TYPE_NUMBER)
      snprintf(buf, sizeof(buf), "%g", v->value.number), text = buf;
    if (v->type == OCONFIG_TYPE_BOOLEAN ||
        filter_add_protocol(&config.filter, text) < 0)
      return bad_option(ci,
                        v->type == OCONFIG_TYPE_BOOLEAN
                            ? value_text(ci, buf, sizeof(buf))
                            : text,
                        "tcp, udp, icmp, icmpv6, sctp, udplite, dccp, gre or "
                        "a protocol number from 0 to 255");
  }
  return 0;
}

/* Zone N: one zone a line, repeatable. */
static int config_zone(const oconfig_item_t *ci) {
  char buf[64], expected[32];
  long zone;
  if (config_count(ci, 0, 65535, &zone) < 0)
    return -1;
  if (filter_add_zone(&config.filter, zone) == 0)
    return 0;
  snprintf(expected, sizeof(expected), "at most %d zones", FILTER_MAX_ZONES);
  return bad_option(ci, value_text(ci, buf, sizeof(buf)), expected);
}

/* Mark "value/mask" or "value"; a bare number is a value. */
static int config_mark(const oconfig_item_t *ci) {
  char buf[64];
  const char *text = value_text(ci, buf, sizeof(buf));
  const char *expected = "\"value/mask\" or \"value\", each hex (0x2a) or "
                         "decimal up to 32 bits, e.g. \"0x2a/0xff\"";
  if (ci->values_num != 1 || ci->values[0].type == OCONFIG_TYPE_BOOLEAN)
    return bad_option(ci, text, expected);
  if (filter_add_mark(&config.filter, text) == 0)
    return 0;
  if (errno == ENOSPC) {
    char limit[32];
    snprintf(limit, sizeof(limit), "at most %d marks", FILTER_MAX_MARKS);
    return bad_option(ci, text, limit);
  }
  return bad_option(ci, text, expected);
}

/* Host "address", "CIDR" or "/regex/", several per line allowed. */
static int config_host(const oconfig_item_t *ci) {
  char buf[64];
  if (ci->values_num < 1)
    return bad_option(ci, "", "one or more addresses, CIDRs or /regexes/");
  if (host_select == NULL && (host_select = host_select_new()) == NULL)
    return config_no_memory(ci);
  config.select = host_select;
  for (int i = 0; i < ci->values_num; i++) {
    if (ci->values[i].type != OCONFIG_TYPE_STRING)
      return bad_option(ci, value_text(ci, buf, sizeof(buf)),
                        "an address, a CIDR or a /regex/ in quotes");
    const char *text = ci->values[i].value.string;
    const char *why = host_select_check(text);
    if (why != NULL)
      return bad_option(ci, text, why);
    if (host_select_add(host_select, text) == 0)
      continue;
    if (errno == ENOMEM)
      return config_no_memory(ci);
    if (errno == ENOSPC) {
      snprintf(buf, sizeof(buf), "at most %d addresses and CIDRs",
               LOCALNET_MAX);
      return bad_option(ci, text, buf);
    }
    return bad_option(ci, text,
                      "an address, a CIDR or a POSIX extended regex "
                      "between slashes, e.g. \"192.168.1.23\", "
                      "\"192.168.1.0/28\" or \"/^192[.]168[.]1[.]2[0-9]$/\"");
  }
  return 0;
}

/* IgnoreSelected true|false: applies to every Host, wherever it stands. */
static int config_ignore_selected(const oconfig_item_t *ci) {
  bool ignore;
  if (config_bool(ci, &ignore) < 0)
    return -1;
  if (host_select == NULL && (host_select = host_select_new()) == NULL)
    return config_no_memory(ci);
  host_select_ignore_selected(host_select, ignore);
  return 0;
}

/* Returns EventBufferSize's default on this machine. */
static size_t default_event_buffer_max(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0)
    return DEFAULT_EVENT_BUFFER;
  unsigned long long share =
      (unsigned long long)pages * (unsigned long long)page / EVENT_BUFFER_SHARE;
  if (share < DEFAULT_EVENT_BUFFER)
    return DEFAULT_EVENT_BUFFER;
  return share > DEFAULT_EVENT_BUFFER_MAX ? DEFAULT_EVENT_BUFFER_MAX
                                          : (size_t)share;
}

/* HostSeries: the series each host and "other" get; "total" gets all. A
 * host's nine series are nine files for rrdtool and nine value lists for
 * every writer, and at thousands of hosts the writers cost more than the
 * read: a site can keep traffic alone. */
enum host_series {
  HOST_SERIES_TRAFFIC = 1 << 0,     /* if_octets, if_packets */
  HOST_SERIES_CONNECTIONS = 1 << 1, /* current_connections, total_connections */
  HOST_SERIES_PEERS = 1 << 2,       /* count-peers */
  HOST_SERIES_ALL = (1 << 3) - 1,
};
static const struct {
  const char *name;
  unsigned series;
} host_series_names[] = {
    {"traffic", HOST_SERIES_TRAFFIC},
    {"connections", HOST_SERIES_CONNECTIONS},
    {"peers", HOST_SERIES_PEERS},
};
static unsigned host_series = HOST_SERIES_ALL;

#define HOST_SERIES_EXPECTED                                                   \
  "one or more of \"traffic\", \"connections\", \"peers\""

/* Returns the series the HostSeries value v names, or 0. */
static unsigned host_series_of(const oconfig_value_t *v) {
  if (v->type != OCONFIG_TYPE_STRING)
    return 0;
  for (size_t i = 0; i < sizeof(host_series_names) / sizeof(*host_series_names);
       i++)
    if (strcasecmp(v->value.string, host_series_names[i].name) == 0)
      return host_series_names[i].series;
  return 0;
}

static int config_host_series(const oconfig_item_t *ci) {
  char buf[64];
  if (ci->values_num < 1)
    return bad_option(ci, "", HOST_SERIES_EXPECTED);
  unsigned series = 0;
  for (int i = 0; i < ci->values_num; i++) {
    unsigned one = host_series_of(&ci->values[i]);
    if (one == 0) {
      oconfig_item_t value = {
          .key = ci->key, .values = &ci->values[i], .values_num = 1};
      return bad_option(ci, value_text(&value, buf, sizeof(buf)),
                        HOST_SERIES_EXPECTED);
    }
    series |= one;
  }
  host_series = series;
  return 0;
}

static void set_defaults(void) {
  localnet_set_default(&config.local);
  config.max_hosts = DEFAULT_MAX_HOSTS;
  config.max_new_hosts = HOSTS_MAX_NEW;
  config.events = true;
  config.event_buffer = DEFAULT_EVENT_BUFFER;
  config.event_buffer_max = default_event_buffer_max();
  config.top_flows = DEFAULT_TOP_FLOWS;
  config.flow_key = FLOW_KEY_CONVERSATION;
  config.max_flow_keys = DEFAULT_MAX_FLOW_KEYS;
  config.forget_after = HOSTS_FORGET_AFTER;
  config.netns = NULL; /* collectd's own */
  config.enable_acct = false;
  config.filter = (struct entry_filter){0}; /* every entry */
  config.select = NULL;                     /* every host */
  config.log = ctflow_log;
  host_series = HOST_SERIES_ALL;
}

/* Returns 0 and the whole number in [min, max] the option holds in *out. */
static int config_size(const oconfig_item_t *ci, long min, long max,
                       size_t *out) {
  long n;
  if (config_count(ci, min, max, &n) < 0)
    return -1;
  *out = (size_t)n;
  return 0;
}

static int config_max_hosts(const oconfig_item_t *ci) {
  return config_size(ci, 0, MAX_HOSTS_LIMIT, &config.max_hosts);
}

static int config_max_new_hosts(const oconfig_item_t *ci) {
  return config_size(ci, 1, MAX_HOSTS_LIMIT, &config.max_new_hosts);
}

static int config_events(const oconfig_item_t *ci) {
  return config_bool(ci, &config.events);
}

static int config_event_buffer(const oconfig_item_t *ci) {
  return config_size(ci, MIN_EVENT_BUFFER, MAX_EVENT_BUFFER,
                     &config.event_buffer_max);
}

static int config_top_flows(const oconfig_item_t *ci) {
  return config_size(ci, 0, MAX_TOP_FLOWS, &config.top_flows);
}

static int config_max_flow_keys(const oconfig_item_t *ci) {
  return config_size(ci, 1, MAX_FLOW_KEYS_LIMIT, &config.max_flow_keys);
}

static int config_forget_after(const oconfig_item_t *ci) {
  size_t n;
  if (config_size(ci, 1, MAX_FORGET_AFTER, &n) < 0)
    return -1;
  config.forget_after = (uint32_t)n;
  return 0;
}

static int config_enable_acct(const oconfig_item_t *ci) {
  return config_bool(ci, &config.enable_acct);
}

/* The options of <Plugin ctflow>, as collectd.conf spells them (matched
 * regardless of case, as collectd's own plugins do). */
static const struct option {
  const char *name;
  int (*take)(const oconfig_item_t *ci);
} options[] = {
    {"LocalNetwork", config_local_network},
    {"MaxHosts", config_max_hosts},
    {"MaxNewHosts", config_max_new_hosts},
    {"Events", config_events},
    {"EventBufferSize", config_event_buffer},
    {"TopFlows", config_top_flows},
    {"FlowKey", config_flow_key},
    {"MaxFlowKeys", config_max_flow_keys},
    {"ForgetAfter", config_forget_after},
    {"NetNamespace", config_netns},
    {"EnableAccounting", config_enable_acct},
    {"HostName", config_host_name},
    {"HostsFile", config_hosts_file},
    {"Protocol", config_protocol},
    {"Zone", config_zone},
    {"Mark", config_mark},
    {"Host", config_host},
    {"IgnoreSelected", config_ignore_selected},
    {"HostSeries", config_host_series},
};

#define OPTIONS (sizeof(options) / sizeof(options[0]))

static int config_option(const oconfig_item_t *ci) {
  for (size_t i = 0; i < OPTIONS; i++)
    if (strcasecmp(ci->key, options[i].name) == 0)
      return options[i].take(ci);
  char buf[64], known[512] = "";
  for (size_t i = 0; i < OPTIONS; i++) {
    if (i > 0)
      strncat(known, ", ", sizeof(known) - strlen(known) - 1);
    strncat(known, options[i].name, sizeof(known) - strlen(known) - 1);
  }
  ctflow_log(LOG_ERR,
             "unknown option %s (value \"%s\"; known: %s); not starting",
             ci->key, value_text(ci, buf, sizeof(buf)), known);
  config_failed = true;
  return -1;
}

/* Returns 0 even for a bad option: collectd 5.12 exits when a config
 * callback fails, taking every other plugin down; init refuses instead,
 * and collectd unloads ctflow alone. collectd calls this once for each
 * <Plugin ctflow> block: a second one is refused likewise, since taking
 * it would start again from the defaults and silently drop the first
 * block's options. */
static int ctflow_config(oconfig_item_t *block) {
  if (block_seen) {
    ctflow_log(LOG_ERR, "a second <Plugin ctflow> block: ctflow takes one, "
                        "and a second would replace the first one's "
                        "options; put all ctflow options in one block; not "
                        "starting");
    config_failed = true;
    return 0;
  }
  block_seen = true;
  set_defaults();
  for (int i = 0; i < block->children_num; i++)
    if (config_option(&block->children[i]) < 0)
      break;
  return 0;
}

static int ctflow_init(void) {
  if (config_failed)
    return -1;
  if (config.log == NULL) /* no <Plugin ctflow> block: the defaults */
    set_defaults();
  config.names = names; /* NULL without HostName and HostsFile */
  collector = collector_new(&config);
  return collector ? 0 : -1;
}

static void dispatch(const char *plugin_instance, const char *type,
                     const char *type_instance, value_t *values, size_t n) {
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = values;
  vl.values_len = n;
  snprintf(vl.plugin, sizeof(vl.plugin), "%s", PLUGIN_NAME);
  snprintf(vl.plugin_instance, sizeof(vl.plugin_instance), "%s",
           plugin_instance);
  snprintf(vl.type, sizeof(vl.type), "%s", type);
  snprintf(vl.type_instance, sizeof(vl.type_instance), "%s", type_instance);
  plugin_dispatch_values(&vl);
}

static void dispatch_gauge(const char *pi, const char *type, const char *ti,
                           double v) {
  dispatch(pi, type, ti, &(value_t){.gauge = v}, 1);
}

static void dispatch_derive(const char *pi, const char *type, const char *ti,
                            uint64_t v) {
  dispatch(pi, type, ti, &(value_t){.derive = (derive_t)v}, 1);
}

static void dispatch_rx_tx(const char *pi, const char *type, const char *ti,
                           uint64_t rx, uint64_t tx) {
  value_t v[2] = {{.derive = (derive_t)rx}, {.derive = (derive_t)tx}};
  dispatch(pi, type, ti, v, 2);
}

/* Dispatches what t counts under plugin instance pi, type instance ti. */
static void dispatch_traffic(const char *pi, const char *ti,
                             const struct traffic *t) {
  dispatch_rx_tx(pi, "if_octets", ti, t->rx.bytes, t->tx.bytes);
  dispatch_rx_tx(pi, "if_packets", ti, t->rx.packets, t->tx.packets);
}

/* Dispatches the series of bucket b that series (enum host_series) asks
 * for under plugin instance name. */
static void dispatch_bucket(const char *name, const struct host_stats *b,
                            unsigned series) {
  if (series & HOST_SERIES_TRAFFIC)
    dispatch_traffic(name, "", &b->traffic);
  if (series & HOST_SERIES_CONNECTIONS) {
    uint32_t all = 0;
    for (int p = 0; p < PROTO_CLASSES; p++) {
      dispatch_gauge(name, "current_connections", proto_class_name(p),
                     b->connections[p]);
      all += b->connections[p];
    }
    dispatch_gauge(name, "current_connections", "", all);
    dispatch_derive(name, "total_connections", "", b->new_connections);
  }
  if (series & HOST_SERIES_PEERS)
    dispatch_gauge(name, "count", "peers", b->peers);
}

static void dispatch_kernel(const struct kernel_stats *k) {
  if (k->have_global) {
    dispatch_gauge("kernel", "conntrack", "", k->entries);
    dispatch_gauge("kernel", "conntrack", "max", k->max_entries);
    if (k->max_entries > 0)
      dispatch_gauge("kernel", "percent", "used",
                     100.0 * k->entries / k->max_entries);
  }
  for (unsigned s = 0; k->have_cpu && s <= CTA_STATS_MAX; s++)
    if (k->reported & (1u << s))
      dispatch_derive("kernel", "derive", kernel_stat_name(s), k->cpu[s]);
}

static void dispatch_flows(const struct report *r) {
  char key[DATA_MAX_NAME_LEN];
  for (size_t i = 0; i < r->top_count; i++) {
    flow_key_format(&r->top[i].key, config.flow_key, key, sizeof(key));
    dispatch_traffic("flows", key, &r->top[i].since_tracked);
  }
  dispatch_traffic("flows", "other", &r->flows_other);
  dispatch_derive("self", "errors", "flow_keys_evicted",
                  r->self.flow_keys_evicted);
}

static int ctflow_read(void) {
  if (collector_read(collector) < 0)
    return -1;
  const struct report *r = collector_report(collector);
  size_t cursor = 0;
  for (const struct instance *i; (i = instances_next(r->instances, &cursor));)
    dispatch_bucket(i->name, &i->stats,
                    i->stats.kind == BUCKET_TOTAL ? HOST_SERIES_ALL
                                                  : host_series);
  for (int s = 1; s < TCP_STATES; s++)
    dispatch_gauge("total", "tcp_connections", tcp_state_names[s],
                   r->table.tcp_states[s]);
  dispatch_gauge("total", "current_connections", "offloaded",
                 r->table.offloaded);
  dispatch_kernel(&r->kernel);
  dispatch_gauge("self", "duration", "read", r->self.read_seconds);
  dispatch_gauge("self", "count", "flows", (double)r->self.flows);
  dispatch_derive("self", "errors", "bad_messages", r->self.bad_messages);
  dispatch_derive("self", "errors", "hosts_deferred", r->self.hosts_deferred);
  dispatch_derive("self", "errors", "hosts_no_room", r->self.hosts_no_room);
  if (r->self.events) {
    dispatch_derive("self", "errors", "events_lost", r->self.events_lost);
    dispatch_derive("self", "errors", "events_dropped", r->self.events_dropped);
    dispatch_derive("self", "errors", "event_reader",
                    r->self.event_reader_failures);
  }
  if (config.top_flows > 0)
    dispatch_flows(r);
  return 0;
}

static int ctflow_shutdown(void) {
  collector_free(collector);
  collector = NULL;
  config.netns = NULL;
  free(netns_name);
  netns_name = NULL;
  names_free(names);
  names = NULL;
  config.select = NULL;
  host_select_free(host_select);
  host_select = NULL;
  /* As loaded: a block read after this is a first one. */
  config = (struct collector_config){0};
  local_network_given = block_seen = config_failed = false;
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, ctflow_config);
  plugin_register_init(PLUGIN_NAME, ctflow_init);
  plugin_register_read(PLUGIN_NAME, ctflow_read);
  plugin_register_shutdown(PLUGIN_NAME, ctflow_shutdown);
}
