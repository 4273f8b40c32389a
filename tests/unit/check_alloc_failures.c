/* check_alloc_failures.c: what ctflow does when memory runs out, at every
 * allocation it makes. alloc_fail.h makes the Nth allocation fail (and
 * says what it covers: the allocation functions of libc that ctflow calls,
 * wrapped at link time over the glue and the core's static archive, plus
 * fopen, getline, regcomp, regexec, mnl_socket_open and pthread_create);
 * each scenario runs with N = 1, 2, 3, ... until a run makes fewer than N
 * allocations, that is until every allocation of the scenario has failed
 * once. Each run is a child process of its own, so that a crash, a leak
 * that LeakSanitizer reports at exit (the ASan build) or a double free is
 * that run's, and ctflow's statics start afresh.
 *
 * Every run must exit cleanly, give back every block it allocated
 * (counted, so this holds in builds without LeakSanitizer too) and every
 * file descriptor; a run whose failure fell in config or init must log
 * exactly one error, saying what ran out, and refuse to start unless the
 * error says what it goes on without.
 *
 * The scenarios play collectd's part (collectd_stub.h) in a fresh network
 * namespace of their own (namespaces.h) and need root, nf_conntrack and
 * nf_conntrack_netlink. */
#include "namespaces.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "accounting.h"
#include "alloc_fail.h"
#include "collectd_stub.h"
#include "conntrack_table.h"
#include "entries.h"
#include "netns.h"
#include "sysctl.h"

/* Far more allocations than a scenario makes: a bound, not a target. */
#define MAX_RUNS 5000

/* The regression test of a double free found this way: hosts_init()
 * failing made accounting_init() free its flow table and keep the
 * pointer, which accounting_free() (collector_new's way out) freed again. */
START_TEST(a_failed_accounting_init_leaves_nothing_to_free_twice) {
  struct localnet local;
  localnet_set_default(&local);
  unsigned long n = 1;
  for (; n < MAX_RUNS; n++) {
    struct accounting a;
    alloc_fail_at(n);
    alloc_fail_here(true);
    int rc = accounting_init(&a, &local, 4096, NULL);
    alloc_fail_here(false);
    bool failed = alloc_fail_failed() != NULL;
    ck_assert_int_eq(rc, failed ? -1 : 0);
    accounting_free(&a); /* what collector_new() does on failure */
    ck_assert_uint_eq(alloc_fail_live(), 0);
    alloc_fail_stop();
    if (!failed)
      break;
  }
  ck_assert_uint_gt(n, 1); /* some allocation did fail */
}
END_TEST

static Suite *alloc_failures_suite(void) {
  Suite *s = suite_create("alloc_failures");
  TCase *regression = tcase_create("regression");
  tcase_add_test(regression,
                 a_failed_accounting_init_leaves_nothing_to_free_twice);
  suite_add_tcase(s, regression);
  return s;
}

int main(void) { return run_suite(alloc_failures_suite()); }
