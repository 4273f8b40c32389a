/* check_alloc_failures.c: what ctflow does when memory runs out, at every
 * allocation it makes. alloc_fail.h makes the Nth allocation fail (and
 * says what it covers: the allocation functions of libc that ctflow calls,
 * wrapped at link time over the glue and the core's static archive, plus
 * fopen, getline, regcomp, regexec, mnl_socket_open2 and pthread_create);
 * each scenario runs with N = 1, 2, 3, ... until a run makes fewer than N
 * allocations, that is until every allocation of the scenario has failed
 * once. Each run is a child process of its own, so that a crash, a leak
 * that LeakSanitizer reports at exit (the ASan build) or a double free is
 * that run's, and ctflow's statics start afresh.
 *
 * Every run must exit cleanly, give back every block it allocated
 * (counted, so this holds in builds without LeakSanitizer too) and every
 * file descriptor; a run whose failure fell in config or init must log
 * exactly one error, saying what ran out, which says "not starting" when
 * (and only when) ctflow refuses to start. (What ctflow goes on without
 * when it does start, e.g. DESTROY events, a warning of its own says.)
 *
 * The scenarios play collectd's part (collectd_stub.h) in a fresh network
 * namespace of their own (namespaces.h) and need root, nf_conntrack,
 * nf_conntrack_netlink and nft (kernel_table.h). The event reader
 * thread's allocations count too, so the order of the allocations between
 * it and a read may differ from run to run: each run still fails exactly
 * one of them. With ALLOC_FAIL_VERBOSE=1 in the environment every run is
 * printed: which call failed, where (an offset in the program for
 * `addr2line -f -i -e tests/unit/check_alloc_failures OFFSET`), and what
 * ctflow said. */
#include "namespaces.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "accounting.h"
#include "alloc_fail.h"
#include "collectd_stub.h"
#include "entries.h"
#include "host_select.h"
#include "kernel_table.h"
#include "logs.h"
#include "names.h"
#include "netns.h"
#include "sysctl.h"

/* Far more allocations than a scenario makes: a bound, not a target. */
#define MAX_RUNS 5000

/* Returns the absolute path of a lease file naming two hosts, one line of
 * it bad. The file is unlinked at once, so that no run leaves it behind;
 * ctflow reads it through /proc/self/fd. */
static const char *hosts_file(void) {
  static char path[64];
  char name[] = "/tmp/ctflow-unit-leases.XXXXXX";
  int fd = mkstemp(name);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(unlink(name), 0);
  const char *lines = "192.168.1.42 phone\n"
                      "1764201600 3c:22:fb:12:34:56 192.168.1.10 server *\n"
                      "this line is bad\n";
  ck_assert_int_eq(write(fd, lines, strlen(lines)), strlen(lines));
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  return path;
}

/* Calls attempt() with allocation 1, 2, 3, ... of what it counts failing,
 * until a call has none left to fail; after each call, every block it
 * allocated must be free again. */
static void each_allocation_fails(void (*attempt)(void)) {
  for (unsigned long n = 1;; n++) {
    ck_assert_uint_lt(n, MAX_RUNS);
    alloc_fail_at(n);
    attempt();
    ck_assert_uint_eq(alloc_fail_live(), 0);
    bool failed = alloc_fail_failed() != NULL;
    alloc_fail_stop();
    if (!failed) {
      ck_assert_uint_gt(n, 1); /* something did fail */
      return;
    }
  }
}

/* Regression tests of faults the scenarios below found, each alone. */

/* hosts_init() failing made accounting_init() free its flow table and
 * keep the pointer, which accounting_free() (collector_new's way out)
 * freed again. */
static void init_accounting(void) {
  struct localnet local;
  localnet_set_default(&local);
  struct accounting a;
  struct accounting_settings settings = {
      .local = &local, .hosts = {.max_hosts = 4096}, .max_flow_keys = 16};
  alloc_fail_here(true);
  int rc = accounting_init(&a, &settings);
  alloc_fail_here(false);
  ck_assert_int_eq(rc, alloc_fail_failed() ? -1 : 0);
  accounting_free(&a);
}

START_TEST(a_failed_accounting_init_leaves_nothing_to_free_twice) {
  each_allocation_fails(init_accounting);
}
END_TEST

/* add_regex() stored its grown array only when every later step
 * succeeded: after realloc() had moved it, a failure left the old, freed
 * array in use and the new one lost. */
static void add_second_regex(void) {
  struct host_select *s = host_select_new();
  ck_assert_int_eq(host_select_add(s, "/\\.23$/"), 0);
  alloc_fail_here(true);
  int rc = host_select_add(s, "/\\.42$/");
  alloc_fail_here(false);
  ck_assert_int_eq(rc, alloc_fail_failed() ? -1 : 0);
  union ct_addr laptop = addr_of(LAPTOP);
  ck_assert(host_select_wants(s, AF_INET, &laptop));
  host_select_free(s);
}

START_TEST(a_host_regex_out_of_memory_keeps_the_regexes_before_it) {
  each_allocation_fails(add_second_regex);
}
END_TEST

/* getline() failing for want of memory ended the read as the end of the
 * file does: the file's names were gone, silently, until it changed. */
static void read_lease_file(void) {
  static const char *path;
  if (path == NULL)
    path = hosts_file();
  struct names *names = names_new(record_log);
  ck_assert_int_eq(names_add_file(names, path), 0);
  logs_clear();
  alloc_fail_here(true);
  names_refresh(names);
  alloc_fail_here(false);
  if (alloc_fail_failed()) {
    ck_assert_int_eq(logged(LOG_ERR, "HostsFile", strerror(ENOMEM)) +
                         logged(LOG_ERR, "out of memory", NULL),
                     1);
    names_refresh(names); /* the next read */
  }
  union ct_addr phone = addr_of(PHONE);
  const char *name = names_lookup(names, AF_INET, &phone);
  ck_assert_str_eq(name ? name : "(none)", "phone");
  names_free(names);
}

START_TEST(a_lease_file_read_out_of_memory_says_so_and_is_read_again) {
  each_allocation_fails(read_lease_file);
}
END_TEST

/* sysctl_get() read through stdio, whose FILE it could not allocate:
 * with EnableAccounting that hid the old value, and without it a missing
 * nf_conntrack_events was reported instead of the want of memory. */
START_TEST(reading_a_kernel_setting_allocates_nothing) {
  int value = -1;
  alloc_fail_at(1);
  alloc_fail_here(true);
  int rc = sysctl_get("kernel.pid_max", &value);
  alloc_fail_here(false);
  ck_assert_uint_eq(alloc_fail_count(), 0);
  alloc_fail_stop();
  ck_assert_int_eq(rc, 0);
  ck_assert_int_gt(value, 0);
}
END_TEST

/* The scenarios */

enum phase { CONFIG, INIT, READS, SHUTDOWN, NO_FAILURE };
static const char *const phase_names[] = {"config", "init", "reads", "shutdown",
                                          "no failure"};

/* What a run's child process tells the test. */
struct outcome {
  unsigned long allocations; /* counted */
  char failed[32];           /* the call that failed, "" for none */
  long caller;               /* where it was made: an offset for addr2line */
  enum phase phase;          /* where it failed */
  int init;                  /* what init returned; 1 when never called */
  int reads_failed;          /* reads that returned non-zero */
  int errors;                /* lines of LOG_ERR from config and init */
  char error[512];           /* the first of them */
  size_t live;               /* blocks not given back after shutdown */
  int descriptors;           /* open after shutdown minus before config */
  int64_t total_connections; /* the last read's ctflow-total figure */
  bool host_traffic;         /* the last read had 127.0.0.1's bytes */
  bool flow_series;          /* and a ctflow-flows series of its own */
};

/* A scenario prepares the namespace and the configuration text before
 * the run counts, and acts on the table between reads (not counted
 * either: only the event reader's allocations count meanwhile). */
struct scenario {
  const char *name;
  void (*prepare)(char *config, size_t size);
  int reads;
  void (*between_reads)(int read);
};

static int open_descriptors(void) {
  DIR *dir = opendir("/proc/self/fd");
  ck_assert_ptr_nonnull(dir);
  int n = 0;
  while (readdir(dir) != NULL)
    n++;
  closedir(dir);
  return n;
}

static long offset_of(void *caller) {
  Dl_info where;
  if (caller == NULL || dladdr(caller, &where) == 0)
    return 0;
  return (char *)caller - (char *)where.dli_fbase;
}

/* Runs fn() with the calling thread's allocations counted. */
static int counted(int (*fn)(void)) {
  alloc_fail_here(true);
  int rc = fn();
  alloc_fail_here(false);
  return rc;
}

static oconfig_item_t *config_root;
static int dispatch_config(void) { return stub_config_dispatch(config_root); }

/* Notes in o where the failure fell, if it just did. */
static void note_phase(struct outcome *o, enum phase now) {
  if (o->phase == NO_FAILURE && alloc_fail_failed() != NULL)
    o->phase = now;
}

/* Plays collectd with the nth allocation failing: config, init, the reads
 * (when init succeeded) and shutdown. */
static struct outcome run(const struct scenario *sc, unsigned long n) {
  char config[4096];
  struct outcome o = {.phase = NO_FAILURE, .init = 1};
  sc->prepare(config, sizeof(config));
  config_root = stub_config_parse(config);
  ck_assert_ptr_nonnull(config_root);
  stub_register();
  int descriptors = open_descriptors();
  alloc_fail_at(n);
  counted(dispatch_config);
  note_phase(&o, CONFIG);
  o.init = counted(stub_init);
  note_phase(&o, INIT);
  o.errors = stub_errors();
  for (int i = 0, priority; i < stub_logs() && o.error[0] == '\0'; i++) {
    const char *line = stub_log_line(i, &priority);
    if (line != NULL && priority <= LOG_ERR)
      snprintf(o.error, sizeof(o.error), "%s", line);
  }
  for (int i = 1; o.init == 0 && i <= sc->reads; i++) {
    o.reads_failed += counted(stub_read) != 0;
    if (i < sc->reads)
      sc->between_reads(i);
  }
  note_phase(&o, READS);
  counted(stub_shutdown);
  note_phase(&o, SHUTDOWN);
  o.live = alloc_fail_live();
  o.allocations = alloc_fail_count();
  if (alloc_fail_failed() != NULL)
    snprintf(o.failed, sizeof(o.failed), "%s", alloc_fail_failed());
  o.caller = offset_of(alloc_fail_caller());
  alloc_fail_stop();
  stub_config_free(config_root);
  o.descriptors = open_descriptors() - descriptors;
  const struct stub_value_list *v = stub_find("total", "total_connections", "");
  o.total_connections = v ? v->values[0].derive : -1;
  v = stub_find("127.0.0.1", "if_octets", "");
  o.host_traffic = v && v->values[1].derive > 0;
  o.flow_series = stub_find("flows", "if_octets",
                            "127.0.0.1-127.0.0.2-udp-9-40000") != NULL;
  return o;
}

/* Runs sc with the nth allocation failing in a child process of its own.
 * Returns what the run told, after failing the test if the child did not
 * exit cleanly (a crash, or LeakSanitizer's report at exit). */
static struct outcome run_apart(const struct scenario *sc, unsigned long n) {
  int pipe_fds[2];
  ck_assert_int_eq(pipe(pipe_fds), 0);
  fflush(NULL);
  pid_t child = fork();
  ck_assert_int_ge(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    struct outcome o = run(sc, n);
    ssize_t written = write(pipe_fds[1], &o, sizeof(o));
    exit(written == (ssize_t)sizeof(o) ? EXIT_SUCCESS : EXIT_FAILURE);
  }
  close(pipe_fds[1]);
  struct outcome o;
  ssize_t got = read(pipe_fds[0], &o, sizeof(o));
  close(pipe_fds[0]);
  int status;
  ck_assert_int_eq(waitpid(child, &status, 0), child);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "%s, allocation %lu failing: the run %s %d (%s)", sc->name, n,
                WIFSIGNALED(status) ? "was killed by signal" : "exited with",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                got == (ssize_t)sizeof(o) ? o.failed : "it told nothing");
  ck_assert_int_eq(got, sizeof(o));
  return o;
}

/* Returns whether the error line says what ran out. */
static bool says_why(const char *error) {
  return strstr(error, "out of memory") != NULL ||
         strstr(error, strerror(ENOMEM)) != NULL ||
         strstr(error, strerror(EAGAIN)) != NULL; /* pthread_create's */
}

/* Fails the test unless run n of sc went as it must. */
static void check_outcome(const struct scenario *sc, unsigned long n,
                          const struct outcome *o) {
  if (getenv("ALLOC_FAIL_VERBOSE"))
    printf("%s %lu: %s in %s (+0x%lx): init %d, %d reads failed, %d "
           "errors: %s\n",
           sc->name, n, o->failed[0] ? o->failed : "-", phase_names[o->phase],
           (unsigned long)o->caller, o->init, o->reads_failed, o->errors,
           o->error);
  const char *what = o->failed[0] ? o->failed : "nothing";
  ck_assert_msg(o->live == 0,
                "%s, allocation %lu (%s in %s) failing: %zu blocks not "
                "given back",
                sc->name, n, what, phase_names[o->phase], o->live);
  ck_assert_msg(o->descriptors == 0,
                "%s, allocation %lu (%s in %s) failing: %d descriptors "
                "left open",
                sc->name, n, what, phase_names[o->phase], o->descriptors);
  if (o->phase != CONFIG && o->phase != INIT)
    return;
  ck_assert_msg(o->errors == 1 && says_why(o->error),
                "%s, allocation %lu (%s from +0x%lx) failing in %s: %d "
                "errors, the first: %s",
                sc->name, n, what, (unsigned long)o->caller,
                phase_names[o->phase], o->errors, o->error);
  ck_assert_msg((o->init != 0) == (strstr(o->error, "not starting") != NULL),
                "%s, allocation %lu (%s from +0x%lx) failing in %s: init "
                "returned %d, and the error %s \"not starting\": %s",
                sc->name, n, what, (unsigned long)o->caller,
                phase_names[o->phase], o->init,
                o->init != 0 ? "does not say" : "says", o->error);
}

/* Runs sc with allocation 1, 2, 3, ... failing until a run has none left
 * to fail. Returns the run without a failure. */
static struct outcome every_allocation_fails_once(const struct scenario *sc) {
  unsigned long n = 1;
  int in[NO_FAILURE + 1] = {0};
  struct outcome o;
  for (;; n++) {
    ck_assert_msg(n < MAX_RUNS, "%s: more than %d allocations", sc->name,
                  MAX_RUNS);
    o = run_apart(sc, n);
    check_outcome(sc, n, &o);
    in[o.phase]++;
    if (o.phase == NO_FAILURE)
      break;
  }
  printf("%s: %lu runs, allocations failed in config %d, init %d, reads "
         "%d, shutdown %d\n",
         sc->name, n, in[CONFIG], in[INIT], in[READS], in[SHUTDOWN]);
  ck_assert_int_eq(o.init, 0);
  ck_assert_int_eq(o.errors, 0);
  ck_assert_int_eq(o.reads_failed, 0);
  return o;
}

/* Enters a fresh namespace whose conntrack table ctflow reads, with
 * accounting and events on. */
static void fresh_table(void) {
  int table = netns_fresh(), saved;
  ck_assert_int_eq(netns_enter(table, &saved), 0);
  close(saved);
  close(table);
  ck_assert_int_eq(sysctl_set("net.netfilter.nf_conntrack_acct", 1), 0);
  ck_assert_int_eq(sysctl_set("net.netfilter.nf_conntrack_events", 1), 0);
}

/* (a) The README's "Every option at once" block, with NetNamespace naming
 * a namespace the test made (by its /proc path) and HostsFile a file it
 * wrote: config, init and shutdown. */
static void prepare_every_option(char *config, size_t size) {
  fresh_table();
  int router = netns_fresh();
  char router_path[64];
  netns_fd_path(router, router_path, sizeof(router_path));
  snprintf(config, size,
           "<Plugin ctflow>\n"
           "  LocalNetwork \"192.168.1.0/24\" \"fd00:1::/64\"\n"
           "  MaxHosts 256\n"
           "  Events true\n"
           "  EventBufferSize 16777216\n"
           "  TopFlows 5\n"
           "  FlowKey \"5tuple\"\n"
           "  MaxFlowKeys 10000\n"
           "  ForgetAfter 60\n"
           "  NetNamespace \"%s\"\n"
           "  EnableAccounting true\n"
           "  HostName \"192.168.1.23\" \"laptop\"\n"
           "  HostsFile \"%s\"\n"
           "  Protocol \"tcp\" \"udp\"\n"
           "  Zone 0\n"
           "  Mark \"0x2a/0xff\"\n"
           "  Host \"192.168.1.0/28\" \"/^fd00:1::/\"\n"
           "  IgnoreSelected false\n"
           "</Plugin>\n",
           router_path, hosts_file());
}

static void no_reads(int read) { (void)read; }

static const struct scenario every_option = {"every option",
                                             prepare_every_option, 0, no_reads};

/* (b) A table with entries and traffic, read three times while entries
 * come and go: one begins after the first read, one begins and ends
 * between the second and the third (counted from its DESTROY event only),
 * one that the first read saw ends then too. */
static const struct table_tuple LAPTOP_WEB = {AF_INET, IPPROTO_TCP, LAPTOP,
                                              WEB,     51234,       443};
static const struct table_tuple PHONE_DNS = {AF_INET,  IPPROTO_UDP, PHONE,
                                             RESOLVER, 5353,        53};
static const struct table_tuple PHONE6_WEB = {AF_INET6, IPPROTO_UDP, PHONE6,
                                              WEB6,     1000,        53};
static const struct table_tuple SERVER_VISITOR = {AF_INET, IPPROTO_TCP, SERVER,
                                                  VISITOR, 40001,       80};
static const struct table_tuple PHONE_DNS_AGAIN = {AF_INET,  IPPROTO_UDP, PHONE,
                                                   RESOLVER, 5001,        53};

static void prepare_table(char *config, size_t size) {
  fresh_table();
  table_loopback_up();
  table_track_traffic();
  table_load(&LAPTOP_WEB, 0x2a, 0);
  table_load(&PHONE_DNS, 0, 0);
  table_load(&PHONE6_WEB, 0, 0);
  table_udp_traffic(40000, 9, 5, 500);
  snprintf(config, size,
           "<Plugin ctflow>\n"
           "  LocalNetwork \"192.168.1.0/24\" \"2001:db8:1::/64\" "
           "\"127.0.0.1/32\"\n"
           "  TopFlows 5\n"
           "  FlowKey \"5tuple\"\n"
           "  EnableAccounting true\n"
           "  HostName \"192.168.1.23\" \"laptop\"\n"
           "  HostsFile \"%s\"\n"
           "  Protocol \"tcp\" \"udp\"\n"
           "  Zone 0\n"
           "  Mark \"0x2a/0xff\"\n"
           "  Mark \"0/0xff\"\n"
           "  Host \"192.168.1.0/24\" \"127.0.0.1\" \"/^2001:db8:1::/\"\n"
           "</Plugin>\n",
           hosts_file());
}

static void change_table(int read) {
  if (read == 1) {
    table_load(&SERVER_VISITOR, 0, 0);
    table_udp_traffic(40000, 9, 5, 500);
    table_udp_traffic(40001, 9, 3, 200);
  } else {
    table_load(&PHONE_DNS_AGAIN, 0, 0);
    table_delete(&PHONE_DNS_AGAIN);
    table_delete(&LAPTOP_WEB);
    table_udp_traffic(40000, 9, 5, 500);
  }
}

static const struct scenario table_reads = {"a table read three times",
                                            prepare_table, 3, change_table};

START_TEST(every_option_survives_each_allocation_failing) {
  every_allocation_fails_once(&every_option);
}
END_TEST

/* Begun since the first read: SERVER_VISITOR and the second loopback
 * flow from dumps, PHONE_DNS_AGAIN from its DESTROY event alone. */
START_TEST(reads_survive_each_allocation_failing) {
  struct outcome o = every_allocation_fails_once(&table_reads);
  ck_assert_int_eq(o.total_connections, 3);
  ck_assert(o.host_traffic);
  ck_assert(o.flow_series);
}
END_TEST

static Suite *alloc_failures_suite(void) {
  Suite *s = suite_create("alloc_failures");
  TCase *regression = tcase_create("regression");
  tcase_add_test(regression,
                 a_failed_accounting_init_leaves_nothing_to_free_twice);
  tcase_add_test(regression,
                 a_host_regex_out_of_memory_keeps_the_regexes_before_it);
  tcase_add_test(regression,
                 a_lease_file_read_out_of_memory_says_so_and_is_read_again);
  tcase_add_test(regression, reading_a_kernel_setting_allocates_nothing);
  suite_add_tcase(s, regression);

  TCase *scenarios = tcase_create("scenarios");
  tcase_set_timeout(scenarios, 600);
  tcase_add_test(scenarios, every_option_survives_each_allocation_failing);
  tcase_add_test(scenarios, reads_survive_each_allocation_failing);
  suite_add_tcase(s, scenarios);
  return s;
}

int main(void) { return run_suite(alloc_failures_suite()); }
