/* check_sysctl.c: the kernel's settings by name, and that those under net.
 * are the namespace's of the thread that reads or writes them: what
 * EnableAccounting and the nf_conntrack_events check rely on with
 * NetNamespace. Each test works in a fresh namespace of its own, never on
 * the host's settings. Needs root (namespaces.h) and nf_conntrack. */
#include "namespaces.h"

#include "entries.h"
#include "netns.h"
#include "sysctl.h"

#define ACCT "net.netfilter.nf_conntrack_acct"

/* The test's thread goes into a fresh namespace; teardown is the end of
 * the test's process. */
static void enter_fresh(void) {
  int fresh = netns_fresh(), saved;
  ck_assert_int_eq(netns_enter(fresh, &saved), 0);
  close(saved);
  close(fresh);
}

START_TEST(a_setting_reads_as_its_proc_sys_file_says) {
  enter_fresh();
  FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_acct", "r");
  ck_assert_msg(f != NULL, "no nf_conntrack_acct: %s", strerror(errno));
  int want = -1, got = -1;
  ck_assert_int_eq(fscanf(f, "%d", &want), 1);
  fclose(f);
  ck_assert_int_eq(sysctl_get(ACCT, &got), 0);
  ck_assert_int_eq(got, want);
}
END_TEST

START_TEST(a_setting_written_reads_back) {
  enter_fresh();
  int got = -1;
  ck_assert_int_eq(sysctl_set(ACCT, 1), 0);
  ck_assert_int_eq(sysctl_get(ACCT, &got), 0);
  ck_assert_int_eq(got, 1);
  ck_assert_int_eq(sysctl_set(ACCT, 0), 0);
  ck_assert_int_eq(sysctl_get(ACCT, &got), 0);
  ck_assert_int_eq(got, 0);
}
END_TEST

START_TEST(a_net_setting_written_inside_a_namespace_stays_there) {
  enter_fresh(); /* "outside": a namespace of the test's own */
  int outside = -1, inside = -1, after = -1, saved;
  ck_assert_int_eq(sysctl_get(ACCT, &outside), 0);
  int other = netns_fresh();
  ck_assert_int_eq(netns_enter(other, &saved), 0);
  ck_assert_int_eq(sysctl_set(ACCT, !outside), 0);
  ck_assert_int_eq(sysctl_get(ACCT, &inside), 0);
  ck_assert_int_eq(netns_leave(saved), 0);
  ck_assert_int_eq(sysctl_get(ACCT, &after), 0);
  ck_assert_int_eq(inside, !outside);
  ck_assert_int_eq(after, outside);
  close(other);
}
END_TEST

START_TEST(a_setting_the_kernel_lacks_is_enoent) {
  int value;
  ck_assert_int_eq(sysctl_get("net.netfilter.ctflow_no_such_setting", &value),
                   -1);
  ck_assert_int_eq(errno, ENOENT);
  ck_assert_int_eq(sysctl_set("net.netfilter.ctflow_no_such_setting", 1), -1);
  ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(a_value_the_kernel_refuses_is_einval) {
  enter_fresh();
  ck_assert_int_eq(sysctl_set(ACCT, 7), -1); /* a boolean: 0 or 1 */
  ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(a_setting_that_is_no_integer_is_einval) {
  int value;
  ck_assert_int_eq(sysctl_get("kernel.ostype", &value), -1); /* "Linux" */
  ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static Suite *sysctl_suite(void) {
  Suite *s = suite_create("sysctl");
  TCase *tc = tcase_create("settings");
  tcase_add_test(tc, a_setting_reads_as_its_proc_sys_file_says);
  tcase_add_test(tc, a_setting_written_reads_back);
  tcase_add_test(tc, a_net_setting_written_inside_a_namespace_stays_there);
  tcase_add_test(tc, a_setting_the_kernel_lacks_is_enoent);
  tcase_add_test(tc, a_value_the_kernel_refuses_is_einval);
  tcase_add_test(tc, a_setting_that_is_no_integer_is_einval);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(sysctl_suite()); }
