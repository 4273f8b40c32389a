/* check_read_and_events.c: reads of the table and the DESTROY event reader
 * at once, on the real kernel in a fresh network namespace
 * (namespaces.h): a thread makes and deletes entries while the test reads
 * again and again. Every entry is counted once, whoever saw it: a dump,
 * its event, or both. tests/run also runs this under ThreadSanitizer,
 * which fails it on any data race between the two threads. Needs root,
 * nf_conntrack and nf_conntrack_netlink. */
#include "namespaces.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "collector.h"
#include "entries.h"
#include "kernel_table.h"
#include "logs.h"
#include "netns.h"

#define ENDING 2000

static int table_ns;
static struct collector *collector;
static atomic_bool done;

static void setup(void) {
  logs_clear();
  table_ns = netns_fresh();
  int saved;
  ck_assert_int_eq(netns_enter(table_ns, &saved), 0);
  close(saved);
  struct collector_config config = {
      .max_hosts = 4096,
      .events = true,
      .event_buffer = 4 << 20,
      .event_buffer_max = 4 << 20,
      .top_flows = 10,
      .max_flow_keys = 1000,
      .log = record_log,
  };
  localnet_set_default(&config.local);
  collector = collector_new(&config);
  ck_assert_msg(collector != NULL, "not started: %s", last_log);
}

static void teardown(void) {
  collector_free(collector);
  close(table_ns);
}

/* Makes and deletes ENDING entries, each its own 5-tuple. The thread
 * enters the test's namespace: a new thread starts in the process's. */
static void *end_entries(void *arg) {
  int saved;
  ck_assert_int_eq(netns_enter(*(int *)arg, &saved), 0);
  close(saved);
  for (int i = 0; i < ENDING; i++) {
    struct table_tuple t = {AF_INET,    IPPROTO_UDP,           "10.0.0.1",
                            "10.0.0.2", (uint16_t)(10000 + i), 53};
    table_load(&t, 0, 0);
    table_delete(&t);
  }
  done = true;
  return NULL;
}

START_TEST(every_entry_is_counted_once_while_reads_and_events_interleave) {
  ck_assert_int_eq(collector_read(collector), 0); /* the baseline */
  ck_assert_msg(collector_report(collector)->self.events,
                "no events: %s (nf_conntrack_events?)", last_log);
  pthread_t generator;
  done = false;
  ck_assert_int_eq(pthread_create(&generator, NULL, end_entries, &table_ns), 0);
  int reads = 0;
  /* A millisecond between reads: every dump walks all the buckets of the
   * kernel's one conntrack hash (every namespace's, 262,144 by default
   * here), taking each bucket's lock, which the generator's entries need
   * too; back to back, the reads starve it. */
  const struct timespec pause = {.tv_nsec = 1000000};
  while (!done) {
    ck_assert_int_eq(collector_read(collector), 0);
    reads++;
    nanosleep(&pause, NULL);
  }
  pthread_join(generator, NULL);
  ck_assert_int_eq(collector_read(collector), 0);
  const struct report *r = collector_report(collector);
  ck_assert_msg(reads >= 2, "only %d reads during the generator", reads);
  ck_assert_uint_eq(r->self.events_lost, 0);
  ck_assert_uint_eq(r->buckets[0].new_connections, ENDING);
  ck_assert_uint_eq(r->buckets[0].connections[PROTO_UDP], 0);
}
END_TEST

static Suite *read_and_events_suite(void) {
  Suite *s = suite_create("read_and_events");
  TCase *k = tcase_create("kernel");
  tcase_add_checked_fixture(k, setup, teardown);
  tcase_set_timeout(k, 60);
  tcase_add_test(k,
                 every_entry_is_counted_once_while_reads_and_events_interleave);
  suite_add_tcase(s, k);
  return s;
}

int main(void) { return run_suite(read_and_events_suite()); }
