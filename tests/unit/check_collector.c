/* check_collector.c: starting the collector in another network namespace
 * (NetNamespace) and EnableAccounting: which namespace's settings it reads
 * and writes, what it says, and when it refuses to start. The namespaces
 * are fresh ones of each test's own (namespaces.h): the host's settings are
 * never touched. Needs root, nf_conntrack and nf_conntrack_netlink. */
#include "namespaces.h"

#include <dirent.h>
#include <limits.h>
#include <sys/mount.h>

#include "collector.h"
#include "entries.h"
#include "logs.h"
#include "netns.h"
#include "sysctl.h"

#define ACCT "net.netfilter.nf_conntrack_acct"
#define EVENTS "net.netfilter.nf_conntrack_events"

static struct collector_config config;
static struct collector *collector;
/* "home": where the test stands, a namespace of its own; "router": the one
 * NetNamespace names, as a path that opens it. */
static int home, router;
static char router_path[64];

static void setup(void) {
  logs_clear();
  config = (struct collector_config){
      .max_hosts = 4096,
      .events = false,
      .event_buffer = 1 << 20,
      .event_buffer_max = 1 << 20,
      .log = record_log,
  };
  localnet_set_default(&config.local);
  collector = NULL;
  home = netns_fresh();
  int saved;
  ck_assert_int_eq(netns_enter(home, &saved), 0);
  close(saved);
  router = netns_fresh();
  netns_fd_path(router, router_path, sizeof(router_path));
}

static void teardown(void) {
  collector_free(collector);
  close(router);
  close(home);
}

/* Sets sysctl name to value in the router's namespace. */
static void router_set(const char *name, int value) {
  int saved;
  ck_assert_int_eq(netns_enter(router, &saved), 0);
  ck_assert_msg(sysctl_set(name, value) == 0, "%s: %s", name, strerror(errno));
  ck_assert_int_eq(netns_leave(saved), 0);
}

/* Returns sysctl name in the router's namespace. */
static int router_get(const char *name) {
  int saved, value = -1;
  ck_assert_int_eq(netns_enter(router, &saved), 0);
  ck_assert_int_eq(sysctl_get(name, &value), 0);
  ck_assert_int_eq(netns_leave(saved), 0);
  return value;
}

static int home_get(const char *name) {
  int value = -1;
  ck_assert_int_eq(sysctl_get(name, &value), 0);
  return value;
}

/* Starts the collector on the router's table; fails the test if it does
 * not start. */
static void start_in_router(void) {
  config.netns = router_path;
  collector = collector_new(&config);
  ck_assert_msg(collector != NULL, "not started: %s",
                logs > 0 ? last_log : "(nothing logged)");
}

/* NetNamespace */

START_TEST(a_namespace_that_does_not_exist_refuses_to_start) {
  config.netns = "ctflow-unit-no-such-ns";
  ck_assert_ptr_null(collector_new(&config));
}
END_TEST

START_TEST(a_namespace_that_does_not_exist_brings_one_error_naming_it) {
  config.netns = "ctflow-unit-no-such-ns";
  ck_assert_ptr_null(collector_new(&config));
  ck_assert_int_eq(logs, 1);
  ck_assert_int_eq(logged(LOG_ERR, "NetNamespace \"ctflow-unit-no-such-ns\"",
                          "/run/netns/ctflow-unit-no-such-ns: no such"),
                   1);
}
END_TEST

START_TEST(a_file_that_is_no_network_namespace_refuses_to_start) {
  config.netns = "/proc/self/ns/uts";
  ck_assert_ptr_null(collector_new(&config));
  ck_assert_int_eq(logs, 1);
  ck_assert_int_eq(
      logged(LOG_ERR, "/proc/self/ns/uts", "not a network namespace"), 1);
}
END_TEST

START_TEST(the_caller_stays_in_its_own_namespace) {
  start_in_router();
  ck_assert_uint_eq(netns_id_of_thread(), netns_id(home));
}
END_TEST

START_TEST(a_read_of_another_namespace_s_table_succeeds) {
  start_in_router();
  ck_assert_int_eq(collector_read(collector), 0);
  ck_assert_int_eq(collector_read(collector), 0);
  /* The router's table is empty: the test made nothing there. */
  ck_assert_uint_eq(collector_report(collector)->self.flows, 0);
  ck_assert(collector_report(collector)->kernel.have_global);
  ck_assert_uint_eq(collector_report(collector)->kernel.entries, 0);
}
END_TEST

START_TEST(nf_conntrack_events_is_read_in_its_namespace_0_there_warns) {
  ck_assert_int_eq(sysctl_set(EVENTS, 1), 0);
  router_set(EVENTS, 0);
  config.events = true;
  start_in_router();
  ck_assert_int_eq(logged(LOG_WARNING, EVENTS " is 0", NULL), 1);
  ck_assert_int_eq(collector_read(collector), 0);
  ck_assert(!collector_report(collector)->self.events);
}
END_TEST

START_TEST(nf_conntrack_events_is_read_in_its_namespace_1_there_listens) {
  ck_assert_int_eq(sysctl_set(EVENTS, 0), 0);
  router_set(EVENTS, 1);
  config.events = true;
  start_in_router();
  ck_assert_int_eq(logs, 0);
  ck_assert_int_eq(collector_read(collector), 0);
  ck_assert(collector_report(collector)->self.events);
}
END_TEST

/* Returns the inode of the namespace of this process's thread named name
 * (pthread_setname_np); fails the test when there is none. */
static ino_t netns_id_of_thread_named(const char *name) {
  DIR *tasks = opendir("/proc/self/task");
  ck_assert_ptr_nonnull(tasks);
  ino_t id = 0;
  for (struct dirent *d; id == 0 && (d = readdir(tasks)) != NULL;) {
    char path[300], comm[32] = "";
    snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
      continue;
    if (fgets(comm, sizeof(comm), f) != NULL &&
        strncmp(comm, name, strlen(name)) == 0 && comm[strlen(name)] == '\n') {
      struct stat st;
      snprintf(path, sizeof(path), "/proc/self/task/%s/ns/net", d->d_name);
      ck_assert_int_eq(stat(path, &st), 0);
      id = st.st_ino;
    }
    fclose(f);
  }
  closedir(tasks);
  ck_assert_msg(id != 0, "no thread named %s", name);
  return id;
}

/* Its socket hears the router's events; the thread itself is collectd's
 * and stays with it. */
START_TEST(the_event_reader_stays_in_the_caller_s_namespace) {
  router_set(EVENTS, 1);
  config.events = true;
  start_in_router();
  ck_assert_uint_eq(netns_id_of_thread_named("ctflow-events"), netns_id(home));
}
END_TEST

/* EnableAccounting */

/* Makes /proc/sys read-only for the test's process, as in a container: a
 * mount namespace of its own with a read-only bind mount of /proc/sys. */
static void proc_sys_read_only(void) {
  ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
  ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
  ck_assert_int_eq(mount("/proc/sys", "/proc/sys", NULL, MS_BIND, NULL), 0);
  ck_assert_int_eq(
      mount(NULL, "/proc/sys", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL),
      0);
}

/* Starts the collector with EnableAccounting on the router's table, whose
 * nf_conntrack_acct is acct until then; with /proc/sys read-only when
 * read_only. */
static void start_enable_accounting(int acct, bool read_only) {
  router_set(ACCT, acct);
  if (read_only)
    proc_sys_read_only();
  config.enable_acct = true;
  start_in_router();
}

START_TEST(enable_accounting_sets_nf_conntrack_acct_in_its_namespace) {
  ck_assert_int_eq(sysctl_set(ACCT, 0), 0);
  start_enable_accounting(0, false);
  ck_assert_int_eq(router_get(ACCT), 1);
  ck_assert_int_eq(home_get(ACCT), 0);
}
END_TEST

START_TEST(enable_accounting_says_it_set_nf_conntrack_acct) {
  start_enable_accounting(0, false);
  ck_assert_int_eq(logs, 1);
  ck_assert_int_eq(logged(LOG_INFO, "set " ACCT "=1", router_path), 1);
}
END_TEST

START_TEST(enable_accounting_says_when_nf_conntrack_acct_was_1_already) {
  start_enable_accounting(1, false);
  ck_assert_int_eq(logs, 1);
  ck_assert_int_eq(logged(LOG_INFO, ACCT " is 1 already", router_path), 1);
}
END_TEST

START_TEST(without_enable_accounting_nf_conntrack_acct_stays_as_it_is) {
  router_set(ACCT, 0);
  start_in_router();
  ck_assert_int_eq(router_get(ACCT), 0);
  ck_assert_int_eq(logs, 0);
}
END_TEST

START_TEST(enable_accounting_that_cannot_set_the_sysctl_still_starts) {
  start_enable_accounting(0, true);
  ck_assert_int_eq(collector_read(collector), 0);
  ck_assert_int_eq(router_get(ACCT), 0);
}
END_TEST

START_TEST(enable_accounting_that_cannot_set_the_sysctl_says_why) {
  start_enable_accounting(0, true);
  ck_assert_int_eq(logs, 1);
  ck_assert_int_eq(logged(LOG_ERR, "cannot set " ACCT "=1", "Read-only"), 1);
  ck_assert_int_eq(logged(LOG_ERR, "counting connections only", NULL), 1);
}
END_TEST

static Suite *collector_suite(void) {
  Suite *s = suite_create("collector");
  TCase *ns = tcase_create("NetNamespace");
  tcase_add_checked_fixture(ns, setup, teardown);
  tcase_add_test(ns, a_namespace_that_does_not_exist_refuses_to_start);
  tcase_add_test(ns,
                 a_namespace_that_does_not_exist_brings_one_error_naming_it);
  tcase_add_test(ns, a_file_that_is_no_network_namespace_refuses_to_start);
  tcase_add_test(ns, the_caller_stays_in_its_own_namespace);
  tcase_add_test(ns, a_read_of_another_namespace_s_table_succeeds);
  tcase_add_test(ns,
                 nf_conntrack_events_is_read_in_its_namespace_0_there_warns);
  tcase_add_test(ns,
                 nf_conntrack_events_is_read_in_its_namespace_1_there_listens);
  tcase_add_test(ns, the_event_reader_stays_in_the_caller_s_namespace);
  suite_add_tcase(s, ns);

  TCase *acct = tcase_create("EnableAccounting");
  tcase_add_checked_fixture(acct, setup, teardown);
  tcase_add_test(acct,
                 enable_accounting_sets_nf_conntrack_acct_in_its_namespace);
  tcase_add_test(acct, enable_accounting_says_it_set_nf_conntrack_acct);
  tcase_add_test(acct,
                 enable_accounting_says_when_nf_conntrack_acct_was_1_already);
  tcase_add_test(acct,
                 without_enable_accounting_nf_conntrack_acct_stays_as_it_is);
  tcase_add_test(acct,
                 enable_accounting_that_cannot_set_the_sysctl_still_starts);
  tcase_add_test(acct, enable_accounting_that_cannot_set_the_sysctl_says_why);
  suite_add_tcase(s, acct);
  return s;
}

int main(void) { return run_suite(collector_suite()); }
