/* check_glue.c: the collectd glue (plugin/ctflow.c) as collectd drives it,
 * without collectd (collectd_stub.h): configuration blocks in, one clear
 * error for what ctflow refuses, series out. Each test stands in a fresh
 * network namespace of its own (namespaces.h), whose empty conntrack table
 * ctflow reads. Needs root, nf_conntrack and nf_conntrack_netlink. */
#include "namespaces.h"

#include "collectd_stub.h"
#include "entries.h"
#include "netns.h"

static void setup(void) {
  int home = netns_fresh(), saved;
  ck_assert_int_eq(netns_enter(home, &saved), 0);
  close(saved);
  close(home);
  stub_register();
}

/* Fails the test unless ctflow logged exactly one error, containing word
 * and word2 (unless NULL), and refuses to start. */
static void refused_with(const char *word, const char *word2) {
  ck_assert_int_eq(stub_errors(), 1);
  ck_assert_msg(stub_logged(LOG_ERR, word, word2) == 1,
                "the error does not say \"%s\"%s%s%s: %s", word,
                word2 ? " and \"" : "", word2 ? word2 : "", word2 ? "\"" : "",
                stub_log_line(0, &(int){0}));
  ck_assert_int_ne(stub_init(), 0);
  stub_shutdown();
}

/* Starts ctflow with a block of the option lines given (NULL: no block)
 * and makes one read. */
static void start_and_read(const char *options) {
  char block[512];
  snprintf(block, sizeof(block), "<Plugin ctflow>\n%s</Plugin>\n",
           options ? options : "");
  if (options != NULL)
    ck_assert_int_eq(stub_configure(block), 0);
  ck_assert_int_eq(stub_init(), 0);
  ck_assert_int_eq(stub_read(), 0);
}

START_TEST(a_good_block_starts_and_a_read_dispatches_series) {
  start_and_read("  LocalNetwork \"192.168.77.0/24\"\n"
                 "  TopFlows 3\n");
  ck_assert_ptr_nonnull(stub_find("total", "if_octets", ""));
  ck_assert_ptr_nonnull(stub_find("self", "count", "flows"));
  ck_assert_ptr_nonnull(stub_find("flows", "if_octets", "other"));
  ck_assert_int_eq(stub_shutdown(), 0);
  ck_assert_int_eq(stub_errors(), 0);
}
END_TEST

START_TEST(without_a_block_ctflow_starts_with_its_defaults) {
  start_and_read(NULL);
  ck_assert_ptr_nonnull(stub_find("self", "count", "flows"));
  ck_assert_int_eq(stub_shutdown(), 0);
}
END_TEST

/* collectd 5.12 exits when a config callback fails, taking its other
 * plugins down: ctflow's says 0 and init refuses instead. */
START_TEST(a_bad_option_is_one_error_and_init_refuses) {
  ck_assert_int_eq(stub_configure("<Plugin ctflow>\n"
                                  "  MaxHosts -1\n"
                                  "</Plugin>\n"),
                   0);
  refused_with("option MaxHosts: bad value \"-1\"", "not starting");
}
END_TEST

/* collectd calls the config callback once per block: a second block
 * would start again from the defaults and drop the first one's options. */
START_TEST(a_second_plugin_block_is_one_error_and_init_refuses) {
  ck_assert_int_eq(stub_configure("<Plugin ctflow>\n"
                                  "  LocalNetwork \"192.168.77.0/24\"\n"
                                  "</Plugin>\n"
                                  "<Plugin ctflow>\n"
                                  "  MaxHosts 10\n"
                                  "</Plugin>\n"),
                   0);
  refused_with("a second <Plugin ctflow> block",
               "put all ctflow options in one block");
}
END_TEST

START_TEST(an_empty_second_plugin_block_is_refused_too) {
  ck_assert_int_eq(stub_configure("<Plugin ctflow>\n"
                                  "  TopFlows 5\n"
                                  "</Plugin>\n"
                                  "<Plugin ctflow>\n"
                                  "</Plugin>\n"),
                   0);
  refused_with("a second <Plugin ctflow> block", NULL);
}
END_TEST

/* Shutdown leaves ctflow as collectd loaded it, so that one process can
 * configure it again (the fuzz target of the options does, once an
 * input): a block read after shutdown is a first block, and nothing of
 * the last configuration remains. */
START_TEST(after_shutdown_a_block_is_read_as_the_first) {
  ck_assert_int_eq(stub_configure("<Plugin ctflow>\n"
                                  "  MaxHosts -1\n"
                                  "</Plugin>\n"),
                   0);
  ck_assert_int_eq(stub_errors(), 1);
  stub_shutdown();
  stub_clear();
  ck_assert_int_eq(stub_configure("<Plugin ctflow>\n"
                                  "  TopFlows 3\n"
                                  "</Plugin>\n"),
                   0);
  ck_assert_int_eq(stub_errors(), 0);
  ck_assert_int_eq(stub_init(), 0);
  ck_assert_int_eq(stub_read(), 0);
  ck_assert_ptr_nonnull(stub_find("flows", "if_octets", "other"));
  ck_assert_int_eq(stub_shutdown(), 0);
}
END_TEST

/* A regex glibc's regcomp would spend 10 s on ("2" and 22 '+'), and one
 * beyond the atoms that keep regcomp and regexec cheap: refused at once,
 * naming the option, the value and the limit. */
START_TEST(a_costly_host_regex_is_one_error_naming_the_limit) {
  ck_assert_int_eq(stub_configure("<Plugin ctflow>\n"
                                  "  Host \"/2++++++++++++++++++++++/\"\n"
                                  "</Plugin>\n"),
                   0);
  refused_with("option Host: bad value \"/2++++++++++++++++++++++/\"",
               "expected a regex without a quantifier right after another");
}
END_TEST

START_TEST(a_host_regex_of_too_many_atoms_is_one_error_naming_the_limit) {
  ck_assert_int_eq(stub_configure("<Plugin ctflow>\n"
                                  "  Host \"192.168.1.0/28\" \"/2{1,33}/\"\n"
                                  "</Plugin>\n"),
                   0);
  refused_with("option Host: bad value \"/2{1,33}/\"", "at most 32 atoms");
}
END_TEST

/* Returns whether the last read dispatched series type-ti of instance pi. */
static bool dispatched(const char *pi, const char *type, const char *ti) {
  return stub_find(pi, type, ti) != NULL;
}

/* Fails unless the last read dispatched bucket pi's traffic, connections
 * and peers series as asked: each group whole when true, none of it when
 * false. */
static void assert_bucket_series(const char *pi, bool traffic, bool connections,
                                 bool peers) {
  ck_assert_msg(dispatched(pi, "if_octets", "") == traffic &&
                    dispatched(pi, "if_packets", "") == traffic,
                "%s: traffic series %s", pi, traffic ? "missing" : "sent");
  bool all = true, none = true;
  const char *kinds[] = {"", "tcp", "udp", "icmp", "other"};
  for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
    bool sent = dispatched(pi, "current_connections", kinds[i]);
    all &= sent, none &= !sent;
  }
  bool total = dispatched(pi, "total_connections", "");
  ck_assert_msg(connections ? all && total : none && !total,
                "%s: connection series %s", pi,
                connections ? "missing" : "sent");
  ck_assert_msg(dispatched(pi, "count", "peers") == peers, "%s: count-peers %s",
                pi, peers ? "missing" : "sent");
}

/* Every series of a bucket by default: traffic, connections, peers. */
START_TEST(by_default_other_gets_traffic_connections_and_peers) {
  start_and_read(NULL);
  assert_bucket_series("other", true, true, true);
  ck_assert_int_eq(stub_shutdown(), 0);
}
END_TEST

START_TEST(host_series_traffic_leaves_other_only_traffic_and_total_all) {
  start_and_read("  HostSeries \"traffic\"\n");
  assert_bucket_series("other", true, false, false);
  assert_bucket_series("total", true, true, true);
  ck_assert_int_eq(stub_shutdown(), 0);
  ck_assert_int_eq(stub_errors(), 0);
}
END_TEST

START_TEST(host_series_connections_and_peers_leave_out_traffic) {
  start_and_read("  HostSeries \"Connections\" \"peers\"\n");
  assert_bucket_series("other", false, true, true);
  assert_bucket_series("total", true, true, true);
  ck_assert_int_eq(stub_shutdown(), 0);
}
END_TEST

START_TEST(a_host_series_value_not_known_is_one_error_naming_it) {
  ck_assert_int_eq(stub_configure("<Plugin ctflow>\n"
                                  "  HostSeries \"traffic\" \"bytes\"\n"
                                  "</Plugin>\n"),
                   0);
  refused_with("option HostSeries: bad value \"bytes\"",
               "\"traffic\", \"connections\", \"peers\"");
}
END_TEST

static Suite *glue_suite(void) {
  Suite *s = suite_create("glue");
  TCase *config = tcase_create("config");
  tcase_add_checked_fixture(config, setup, NULL);
  tcase_set_timeout(config, 30); /* new namespaces are slow on a busy kernel */
  tcase_add_test(config, a_good_block_starts_and_a_read_dispatches_series);
  tcase_add_test(config, without_a_block_ctflow_starts_with_its_defaults);
  tcase_add_test(config, a_bad_option_is_one_error_and_init_refuses);
  tcase_add_test(config, a_second_plugin_block_is_one_error_and_init_refuses);
  tcase_add_test(config, an_empty_second_plugin_block_is_refused_too);
  tcase_add_test(config, after_shutdown_a_block_is_read_as_the_first);
  tcase_add_test(config, a_costly_host_regex_is_one_error_naming_the_limit);
  tcase_add_test(config,
                 a_host_regex_of_too_many_atoms_is_one_error_naming_the_limit);
  tcase_add_test(config, by_default_other_gets_traffic_connections_and_peers);
  tcase_add_test(config,
                 host_series_traffic_leaves_other_only_traffic_and_total_all);
  tcase_add_test(config, host_series_connections_and_peers_leave_out_traffic);
  tcase_add_test(config, a_host_series_value_not_known_is_one_error_naming_it);
  suite_add_tcase(s, config);
  return s;
}

int main(void) { return run_suite(glue_suite()); }
