/* fuzz_netlink.c: libFuzzer target over the path every conntrack datagram
 * takes, from the socket to the per-host counters.
 *
 * Input: one datagram as a NETLINK_NETFILTER socket returns it (one or more
 * netlink messages back to back; the tests/fixtures .bin files are single
 * captured messages and make the seed corpus).
 *
 * What runs, all of it ctflow's own code linked from plugin/:
 *   nlsock_messages_fit() -> mnl_cb_run() -> ct_parse() -> the accounting,
 * in the shapes collector.c (on_entry: every message of a dump goes to
 * accounting_add()) and events.c (on_event: IPCTNL_MSG_CT_DELETE messages
 * go to accounting_end()) give it. Each input is three reads of a fresh
 * accounting with flow keys tracked: the datagram as the first dump (every
 * entry's starting point), as events between reads, as the second dump with
 * its events arriving during the read, then as the third dump; so new
 * entries, growth, tombstones, duplicates within a dump and events of
 * entries never dumped all meet fuzzed values. MaxHosts and MaxFlowKeys
 * are small so that their limits are reached too.
 *
 * Beyond the sanitizers, it checks what the series rely on: every byte,
 * packet and connection counted for a host bucket (hosts and "other") is
 * counted in "total" too, and nothing else is; no host bucket ever holds
 * an address outside the local networks.
 *
 *   build/fuzz/tests/fuzz/fuzz_netlink CORPUS_DIR   (tests/fuzz/run.sh) */
#include <libnetfilter_conntrack/linux_nfnetlink_conntrack.h>
#include <stdio.h>
#include <stdlib.h>

#include "accounting.h"
#include "ct_parse.h"
#include "datagram.h"
#include "hosts.h"
#include "localnet.h"

/* Few enough to be reached by the addresses of one datagram. */
#define MAX_HOSTS 3
#define MAX_FLOW_KEYS 4
#define TOP_FLOWS 2

static struct localnet local;

/* The captured fixtures' client ends (10.77.0.1, fd77::1) are local, their
 * servers not, so that the seeds reach host buckets; the defaults too. */
static void set_local_networks(void) {
  localnet_set_default(&local);
  if (localnet_add(&local, "10.77.0.1/32") < 0 ||
      localnet_add(&local, "fd77::1/128") < 0)
    abort();
}

/* collector.c's on_entry: a dump hands every message to the accounting. */
static int on_dumped(const struct nlmsghdr *nlh, void *arg) {
  struct ct_entry e;
  if (ct_parse(nlh, nlh->nlmsg_len, &e) == 0)
    accounting_add(arg, &e);
  return MNL_CB_OK;
}

/* events.c's on_event: only DESTROY events end entries. */
static int on_event(const struct nlmsghdr *nlh, void *arg) {
  struct ct_entry e;
  if ((nlh->nlmsg_type & 0xff) != IPCTNL_MSG_CT_DELETE)
    return MNL_CB_OK;
  if (ct_parse(nlh, nlh->nlmsg_len, &e) == 0)
    accounting_end(arg, &e);
  return MNL_CB_OK;
}

static void fail(const char *what) {
  fprintf(stderr, "fuzz_netlink: %s\n", what);
  abort();
}

/* Every bucket but total adds up to total (no host is forgotten within
 * three reads: forget_after is 30), and host buckets hold local hosts. */
static void check_buckets(struct accounting *a) {
  const struct host_stats *total = hosts_total(&a->hosts);
  const struct hosts *h = &a->hosts;
  struct host_stats sum = {0};
  for (size_t i = 0; i < h->count; i++) {
    const struct host_stats *b = &h->buckets[i];
    if (b->kind == BUCKET_TOTAL)
      continue;
    if (b->kind == BUCKET_HOST &&
        !localnet_contains(&local, b->family, &b->addr))
      fail("a host bucket holds an address outside the local networks");
    sum.traffic.rx.bytes += b->traffic.rx.bytes;
    sum.traffic.tx.bytes += b->traffic.tx.bytes;
    sum.traffic.rx.packets += b->traffic.rx.packets;
    sum.traffic.tx.packets += b->traffic.tx.packets;
    sum.new_connections += b->new_connections;
    for (int p = 0; p < PROTO_CLASSES; p++)
      sum.connections[p] += b->connections[p];
  }
  if (sum.traffic.rx.bytes != total->traffic.rx.bytes ||
      sum.traffic.tx.bytes != total->traffic.tx.bytes ||
      sum.traffic.rx.packets != total->traffic.rx.packets ||
      sum.traffic.tx.packets != total->traffic.tx.packets)
    fail("the buckets' bytes or packets do not add up to total");
  if (sum.new_connections != total->new_connections)
    fail("the buckets' new connections do not add up to total");
  for (int p = 0; p < PROTO_CLASSES; p++)
    if (sum.connections[p] != total->connections[p])
      fail("the buckets' connections do not add up to total");
}

/* One read: the datagram as the dump, events (when given) during it. */
static void read_once(struct accounting *a, const void *buf, size_t len,
                      bool events_during) {
  struct key_stats top[TOP_FLOWS];
  accounting_begin_read(a, false);
  fuzz_run_datagram(buf, len, on_dumped, a);
  if (events_during)
    fuzz_run_datagram(buf, len, on_event, a);
  accounting_end_read(a, true);
  flowkeys_end_interval(a->keys, TOP_FLOWS, HOSTS_FORGET_AFTER, top);
  check_buckets(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  if (!ready) {
    set_local_networks();
    ready = true;
  }
  void *buf = fuzz_exact_copy(data, size);
  struct accounting a;
  struct accounting_settings settings = {
      .local = &local,
      .hosts = {.max_hosts = MAX_HOSTS},
      /* The flow key's kind from the input, so both kinds meet every
       * input. */
      .flow_key = size > 0 && data[size - 1] & 1 ? FLOW_KEY_5TUPLE
                                                 : FLOW_KEY_CONVERSATION,
      .max_flow_keys = MAX_FLOW_KEYS,
      .log = fuzz_quiet_log};
  if (accounting_init(&a, &settings) < 0)
    abort();
  read_once(&a, buf, size, false);
  fuzz_run_datagram(buf, size, on_event, &a);
  read_once(&a, buf, size, true);
  read_once(&a, buf, size, false);
  accounting_free(&a);
  free(buf);
  return 0;
}
