/* check_host_select.c: Host (addresses, CIDRs, /regexes/) and
 * IgnoreSelected: which local hosts get series of their own. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "crafted.h"
#include "entries.h"
#include "hash.h"
#include "host_select.h"
#include "regex_limits.h"

static struct host_select *sel;

static void setup(void) {
  sel = host_select_new();
  ck_assert_ptr_nonnull(sel);
}

static void teardown(void) { host_select_free(sel); }

static void add(const char *text) {
  ck_assert_int_eq(host_select_add(sel, text), 0);
}

/* Returns whether the host text names gets series of its own. */
static bool wants(const char *text) {
  union ct_addr addr = addr_of(text);
  return host_select_wants(sel, family_of(text), &addr);
}

START_TEST(without_host_every_host_is_wanted) {
  ck_assert(wants(LAPTOP));
  ck_assert(wants(PHONE6));
}
END_TEST

START_TEST(without_host_ignore_selected_still_wants_every_host) {
  host_select_ignore_selected(sel, true);
  ck_assert(wants(LAPTOP));
}
END_TEST

START_TEST(an_address_selects_that_host_only) {
  add(LAPTOP);
  ck_assert(wants(LAPTOP));
  ck_assert(!wants(PHONE));
  ck_assert(!wants(LAPTOP6));
}
END_TEST

START_TEST(a_cidr_selects_the_hosts_inside_it) {
  add("192.168.1.16/28"); /* .16 to .31 */
  ck_assert(wants(LAPTOP));
  ck_assert(!wants(PHONE));
  ck_assert(!wants(SERVER));
}
END_TEST

START_TEST(an_ipv6_cidr_selects_ipv6_hosts) {
  add("2001:db8:1::20/124");
  ck_assert(wants(LAPTOP6));
  ck_assert(!wants(PHONE6));
  ck_assert(!wants(LAPTOP));
}
END_TEST

START_TEST(a_regex_is_matched_against_the_address_text) {
  add("/^192\\.168\\.1\\.(23|42)$/");
  ck_assert(wants(LAPTOP));
  ck_assert(wants(PHONE));
  ck_assert(!wants(SERVER));
  ck_assert(!wants(LAPTOP6));
}
END_TEST

START_TEST(a_regex_sees_ipv6_as_inet_ntop_writes_it) {
  add("/::23$/");
  ck_assert(wants(LAPTOP6));
  ck_assert(!wants(PHONE6));
}
END_TEST

START_TEST(a_regex_is_extended_and_unanchored) {
  add("/\\.4[0-9]+/");
  ck_assert(wants(PHONE));
  ck_assert(!wants(LAPTOP));
}
END_TEST

START_TEST(several_hosts_are_ored) {
  add(LAPTOP);
  add("/^2001:/");
  ck_assert(wants(LAPTOP));
  ck_assert(wants(PHONE6));
  ck_assert(!wants(PHONE));
}
END_TEST

START_TEST(ignore_selected_wants_all_but_the_selected) {
  add(LAPTOP);
  add("/\\.42$/");
  host_select_ignore_selected(sel, true);
  ck_assert(!wants(LAPTOP));
  ck_assert(!wants(PHONE));
  ck_assert(wants(SERVER));
  ck_assert(wants(LAPTOP6));
}
END_TEST

START_TEST(ignore_selected_may_come_before_the_hosts) {
  host_select_ignore_selected(sel, true);
  ck_assert(wants(LAPTOP)); /* remembered before any Host */
  add("/23$/");
  ck_assert(!wants(LAPTOP));
}
END_TEST

START_TEST(answers_stay_right_for_many_more_hosts_than_remembered) {
  /* More hosts than the answer cache has slots: evicted answers are
   * worked out again, never taken from another address. */
  add("/\\.[0-9]*7$/");
  char text[32];
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 4096; i++) {
      snprintf(text, sizeof(text), "10.%d.%d.%d", i >> 8, i & 255, i % 10);
      ck_assert_msg(wants(text) == (i % 10 == 7), "%s", text);
    }
}
END_TEST

/* Crafted hosts (crafted.h): IPv6 addresses that share an answer slot
 * under KNOWN_KEY. A regex makes the selection remember answers. */
#define CRAFTED 16
#define CRAFTED_HOST "/^2001:db8:ee:/"

/* Returns how many of the hosts have their answer remembered once each
 * was asked about, by a selection made under key. */
static size_t remembered(const uint8_t key[16], const union ct_addr *host) {
  hash_set_key(key);
  struct host_select *s = host_select_new();
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(host_select_add(s, CRAFTED_HOST), 0);
  for (int i = 0; i < CRAFTED; i++)
    ck_assert(host_select_wants(s, AF_INET6, &host[i]));
  size_t n = host_select_remembered(s);
  host_select_free(s);
  return n;
}

START_TEST(
    hosts_crafted_to_share_an_answer_slot_under_a_known_key_keep_their_answers_under_another) {
  union ct_addr host[CRAFTED];
  hash_set_key(KNOWN_KEY);
  struct host_select *s = host_select_new();
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(host_select_add(s, CRAFTED_HOST), 0);
  /* Another candidate is kept when, asked about after the first one, it
   * leaves one answer remembered: it took the first one's slot. Setting
   * IgnoreSelected (to what it was) forgets every answer. */
  host[0] = crafted_candidate(0);
  for (uint64_t i = 1, n = 1; n < CRAFTED; i++) {
    host_select_ignore_selected(s, false);
    host[n] = crafted_candidate(i);
    host_select_wants(s, AF_INET6, &host[0]);
    host_select_wants(s, AF_INET6, &host[n]);
    n += host_select_remembered(s) == 1;
  }
  host_select_free(s);
  ck_assert_uint_eq(remembered(KNOWN_KEY, host), 1);
  ck_assert_uint_ge(remembered(SECRET_KEY, host), CRAFTED - 1);
}
END_TEST

static const char *const BAD_HOSTS[] = {
    "",          "laptop", "192.168.1.300", "192.168.1.0/33", "/(/", "/[a-/",
    "192.168.1", "/",      "//x",
};

START_TEST(a_bad_host_is_refused_with_einval) {
  errno = 0;
  ck_assert_int_eq(host_select_add(sel, BAD_HOSTS[_i]), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert(wants(LAPTOP)); /* nothing was added */
}
END_TEST

START_TEST(an_empty_regex_matches_every_host) {
  add("//");
  ck_assert(wants(LAPTOP));
  ck_assert(wants(PHONE6));
}
END_TEST

START_TEST(more_addresses_than_the_limit_are_refused_with_enospc) {
  char text[32];
  for (int i = 0; i < LOCALNET_MAX; i++) {
    snprintf(text, sizeof(text), "10.0.0.%d", i);
    add(text);
  }
  errno = 0;
  ck_assert_int_eq(host_select_add(sel, "10.0.1.1"), -1);
  ck_assert_int_eq(errno, ENOSPC);
  add("/^10\\.0\\.1\\./"); /* regexes have no such limit */
}
END_TEST

#define STRING(x) #x
#define STRING_OF(x) STRING(x)

/* Regex limits (regex_limits.h). Times are the test thread's CPU time:
 * what the regex costs, not what other processes on the machine do. */

#define WELL_UNDER_MS 50.0

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Regexes glibc spends long on (measured on this machine; see
 * docs/DESIGN.md), each with words of the limit it breaks. */
static const struct {
  const char *host, *limit;
} COSTLY[] = {
    /* "2" and 22 '+': 10 s in regcomp, each '+' doubles it */
    {"/2++++++++++++++++++++++/", "a quantifier right after another"},
    {"/2+?/", "a quantifier right after another"},
    /* 1 s in regexec against one address */
    {"/(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1x/", "back-references"},
    /* 16 s in regcomp */
    {"/(\\b){1,64}/", "word assertions"},
    /* 1 s in regcomp */
    {"/(^){1,256}/", "anchors"},
    {"/^$^$^$^$^$/", "at most " STRING_OF(REGEX_MAX_ANCHORS) " anchors"},
    /* 0.4 s in regcomp */
    {"/(|()+){1,16}/", "can match nothing"},
    {"/(a?){3}/", "can match nothing"},
    /* 4.8 s in regcomp */
    {"/2{1,16384}/", "at most " STRING_OF(REGEX_MAX_ATOMS) " atoms"},
    /* 5.9 s in regcomp */
    {"/((2{1,128}){1,128}){1,128}/", "atoms"},
    {"/((((2+x)+x)+x)+x)+/", "atoms"},
    {"/0|1|2|3|4|5|6|7|8|9|0|1|2|3|4|5|6|7|8|9|0|1|2|3|4|5|6|7|8|9|0|1|2|3|"
     "4|5|6|7|8|9|0|1|2|3|4|5|6|7|8|9|0|1|2|3|4|5|6|7|8|9|0|1|2|3|4|5/",
     "at most " STRING_OF(REGEX_MAX_LEN) " bytes"},
};

START_TEST(a_costly_regex_is_refused_with_e2big_before_regcomp_sees_it) {
  const char *host = COSTLY[_i].host;
  double start = cpu_ms();
  errno = 0;
  ck_assert_int_eq(host_select_add(sel, host), -1);
  double spent = cpu_ms() - start;
  ck_assert_int_eq(errno, E2BIG);
  ck_assert_msg(spent < 1.0, "%s: refused after %.3f ms", host, spent);
  ck_assert(wants(LAPTOP)); /* nothing was added */
}
END_TEST

START_TEST(a_costly_regex_is_told_by_the_limit_it_breaks) {
  const char *why = host_select_check(COSTLY[_i].host);
  ck_assert_ptr_nonnull(why);
  ck_assert_msg(strstr(why, COSTLY[_i].limit) != NULL, "%s: %s",
                COSTLY[_i].host, why);
}
END_TEST

/* The costliest regexes within the limits that a search found (random
 * regexes grown towards the slowest, docs/DESIGN.md), and some at the
 * limits by construction. */
static const char *const COSTLIEST_ACCEPTED[] = {
    "/.*(.*[[:xdigit:]][a)-|]2a(|a).*||.*)(|^[a(-f]+a?).*[{3,}{.*a(?1,2}a-f(+]"
    "+.{14}[({12a)t:]]/",
    "/.*(|[[:xdigit:]0,6.4}(]{1,4}.{12}^\\?)[{\\|.2+}[:xdigit:]][\\.d{:{,8},"
    "{,8}8}ig.i28}t[a-f]{1,2}[^:^][(:xdigi{3,1$,2|[a-f]+]]).,a\\./",
    "/2{1,32}/",
    "/(2{1,4}){1,8}/",
    "/((a|b){1,4}){1,4}/",
    "/[^a]{,30}$/",
    "/(.{1,2}|2){1,10}/",
    "/^$^$^$^$/",
    "/[^a]{,14}[b2^]+(|.{3,}..[[:xdigit:]]{1,4})[^a:]{3,}$/",
};

START_TEST(an_accepted_regex_compiles_and_matches_in_well_under_50_ms) {
  const char *host = COSTLIEST_ACCEPTED[_i];
  static const char *const addresses[] = {
      LAPTOP, PHONE6, "255.255.255.255",
      "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"};
  double start = cpu_ms();
  add(host);
  for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++)
    wants(addresses[i]);
  double spent = cpu_ms() - start;
  ck_assert_msg(spent < WELL_UNDER_MS, "%s: %.3f ms", host, spent);
}
END_TEST

/* What a user writes: prefixes, ranges of the last byte, short lists. */
static const char *const USEFUL_REGEXES[] = {
    "/^192\\.168\\.1\\.2[0-9]$/",
    "/^fd00:1::/",
    "/^192\\.168\\.1\\.(1[0-9]|2[0-9]|3[01])$/",
    "/^10\\.0\\.0\\.(1|2|3|4|5|6|7|8|9)$/",
    "/^2001:db8:1::(23|42)$/",
    "/^([0-9a-f]{1,4}:){3}/",
    "/\\.(23|42)$/",
};

START_TEST(a_useful_regex_is_within_the_limits) {
  ck_assert_ptr_null(host_select_check(USEFUL_REGEXES[_i]));
  add(USEFUL_REGEXES[_i]);
}
END_TEST

START_TEST(addresses_and_cidrs_are_never_judged_as_regexes) {
  ck_assert_ptr_null(host_select_check("192.168.1.0/24"));
  ck_assert_ptr_null(host_select_check("2001:db8:1::/64"));
  ck_assert_ptr_null(host_select_check("laptop"));
}
END_TEST

static Suite *host_select_suite(void) {
  Suite *s = suite_create("host_select");
  TCase *select = tcase_create("select");
  tcase_add_checked_fixture(select, setup, teardown);
  tcase_add_test(select, without_host_every_host_is_wanted);
  tcase_add_test(select, without_host_ignore_selected_still_wants_every_host);
  tcase_add_test(select, an_address_selects_that_host_only);
  tcase_add_test(select, a_cidr_selects_the_hosts_inside_it);
  tcase_add_test(select, an_ipv6_cidr_selects_ipv6_hosts);
  tcase_add_test(select, a_regex_is_matched_against_the_address_text);
  tcase_add_test(select, a_regex_sees_ipv6_as_inet_ntop_writes_it);
  tcase_add_test(select, a_regex_is_extended_and_unanchored);
  tcase_add_test(select, several_hosts_are_ored);
  tcase_add_test(select, ignore_selected_wants_all_but_the_selected);
  tcase_add_test(select, ignore_selected_may_come_before_the_hosts);
  tcase_add_test(select,
                 answers_stay_right_for_many_more_hosts_than_remembered);
  suite_add_tcase(s, select);

  TCase *crafted = tcase_create("crafted hosts");
  tcase_add_test(
      crafted,
      hosts_crafted_to_share_an_answer_slot_under_a_known_key_keep_their_answers_under_another);
  suite_add_tcase(s, crafted);

  TCase *parse = tcase_create("parse");
  tcase_add_checked_fixture(parse, setup, teardown);
  tcase_add_loop_test(parse, a_bad_host_is_refused_with_einval, 0,
                      sizeof(BAD_HOSTS) / sizeof(BAD_HOSTS[0]));
  tcase_add_test(parse, an_empty_regex_matches_every_host);
  tcase_add_test(parse, more_addresses_than_the_limit_are_refused_with_enospc);
  suite_add_tcase(s, parse);

  TCase *limits = tcase_create("regex limits");
  tcase_add_checked_fixture(limits, setup, teardown);
  tcase_add_loop_test(
      limits, a_costly_regex_is_refused_with_e2big_before_regcomp_sees_it, 0,
      sizeof(COSTLY) / sizeof(COSTLY[0]));
  tcase_add_loop_test(limits, a_costly_regex_is_told_by_the_limit_it_breaks, 0,
                      sizeof(COSTLY) / sizeof(COSTLY[0]));
  tcase_add_loop_test(
      limits, an_accepted_regex_compiles_and_matches_in_well_under_50_ms, 0,
      sizeof(COSTLIEST_ACCEPTED) / sizeof(COSTLIEST_ACCEPTED[0]));
  tcase_add_loop_test(limits, a_useful_regex_is_within_the_limits, 0,
                      sizeof(USEFUL_REGEXES) / sizeof(USEFUL_REGEXES[0]));
  tcase_add_test(limits, addresses_and_cidrs_are_never_judged_as_regexes);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) { return run_suite(host_select_suite()); }
