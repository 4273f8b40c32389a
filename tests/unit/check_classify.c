/* check_classify.c: host rules 1 to 3 (docs/DESIGN.md, "Counting rules")
 * on hand-built entries of the café's traffic. */
#include <check.h>

#include "classify.h"
#include "entries.h"

static struct localnet local;
static struct ct_entry e;

static void setup(void) { localnet_cafe(&local); }

START_TEST(a_masqueraded_outbound_entry_belongs_to_its_original_source) {
  entry_browsing(&e, 1);
  struct owner o = classify(&local, &e);
  ck_assert_int_eq(o.rule, RULE_ORIG_SRC);
  ck_assert_ptr_eq(o.host, &e.orig.src);
  ck_assert(addr_is(o.host, LAPTOP));
  ck_assert(addr_is(o.remote, WEB));
  ck_assert_int_eq(o.family, AF_INET);
}
END_TEST

START_TEST(an_outbound_host_sends_the_original_direction) {
  entry_browsing(&e, 1);
  ck_assert(classify(&local, &e).sends_orig);
}
END_TEST

START_TEST(an_outbound_entry_without_nat_belongs_to_its_original_source) {
  entry_udp(&e, PHONE, 5353, RESOLVER, 53);
  struct owner o = classify(&local, &e);
  ck_assert_int_eq(o.rule, RULE_ORIG_SRC);
  ck_assert(addr_is(o.host, PHONE));
  ck_assert(addr_is(o.remote, RESOLVER));
  ck_assert(o.sends_orig);
}
END_TEST

START_TEST(a_port_forwarded_entry_belongs_to_the_internal_server) {
  entry_port_forward(&e, 1);
  struct owner o = classify(&local, &e);
  ck_assert_int_eq(o.rule, RULE_REPLY_SRC);
  ck_assert_ptr_eq(o.host, &e.reply.src);
  ck_assert(addr_is(o.host, SERVER));
  ck_assert(addr_is(o.remote, VISITOR));
  ck_assert_int_eq(o.family, AF_INET);
}
END_TEST

START_TEST(an_inbound_host_sends_the_reply_direction) {
  entry_port_forward(&e, 1);
  ck_assert(!classify(&local, &e).sends_orig);
}
END_TEST

START_TEST(an_entry_both_rules_could_claim_belongs_to_its_original_source) {
  /* A transparent proxy: the laptop's web traffic is DNATed to the server,
   * and SNATed so the server answers the router's public address. Rule 1
   * comes before rule 2. */
  entry_tcp(&e, LAPTOP, 51234, WEB, 80);
  entry_dnat(&e, SERVER, 3128);
  entry_snat(&e, ROUTER_WAN, 61000);
  struct owner o = classify(&local, &e);
  ck_assert_int_eq(o.rule, RULE_ORIG_SRC);
  ck_assert(addr_is(o.host, LAPTOP));
  ck_assert(o.sends_orig);
}
END_TEST

START_TEST(an_entry_between_two_local_hosts_goes_to_other_with_orig_as_tx) {
  entry_tcp(&e, LAPTOP, 50000, SERVER, 445);
  struct owner o = classify(&local, &e);
  ck_assert_int_eq(o.rule, RULE_OTHER);
  ck_assert_ptr_null(o.host);
  ck_assert(addr_is(o.remote, SERVER));
  ck_assert(o.sends_orig);
}
END_TEST

START_TEST(an_entry_between_two_remote_hosts_goes_to_other_with_orig_as_tx) {
  /* Someone outside reaching the router itself: no local host is in it. */
  entry_tcp(&e, VISITOR, 40000, ROUTER_WAN, 22);
  struct owner o = classify(&local, &e);
  ck_assert_int_eq(o.rule, RULE_OTHER);
  ck_assert_ptr_null(o.host);
  ck_assert(addr_is(o.remote, ROUTER_WAN));
  ck_assert(o.sends_orig);
}
END_TEST

START_TEST(an_ipv6_outbound_entry_belongs_to_its_original_source) {
  entry_tcp(&e, LAPTOP6, 51234, WEB6, 443);
  struct owner o = classify(&local, &e);
  ck_assert_int_eq(o.rule, RULE_ORIG_SRC);
  ck_assert(addr_is(o.host, LAPTOP6));
  ck_assert(addr_is(o.remote, WEB6));
  ck_assert_int_eq(o.family, AF_INET6);
  ck_assert(o.sends_orig);
}
END_TEST

START_TEST(an_ipv6_inbound_entry_belongs_to_the_local_host_it_reaches) {
  entry_tcp(&e, VISITOR6, 40000, LAPTOP6, 22);
  struct owner o = classify(&local, &e);
  ck_assert_int_eq(o.rule, RULE_REPLY_SRC);
  ck_assert(addr_is(o.host, LAPTOP6));
  ck_assert(addr_is(o.remote, VISITOR6));
  ck_assert_int_eq(o.family, AF_INET6);
  ck_assert(!o.sends_orig);
}
END_TEST

START_TEST(an_ipv6_entry_between_two_local_hosts_goes_to_other) {
  entry_ping(&e, LAPTOP6, PHONE6, 7);
  struct owner o = classify(&local, &e);
  ck_assert_int_eq(o.rule, RULE_OTHER);
  ck_assert_ptr_null(o.host);
  ck_assert_int_eq(o.family, AF_INET6);
}
END_TEST

START_TEST(an_ipv6_entry_between_two_remote_hosts_goes_to_other) {
  entry_udp(&e, VISITOR6, 40000, WEB6, 53);
  ck_assert_int_eq(classify(&local, &e).rule, RULE_OTHER);
}
END_TEST

static Suite *classify_suite(void) {
  Suite *s = suite_create("classify");

  TCase *rule1 = tcase_create("rule 1, outbound");
  tcase_add_checked_fixture(rule1, setup, NULL);
  tcase_add_test(rule1,
                 a_masqueraded_outbound_entry_belongs_to_its_original_source);
  tcase_add_test(rule1, an_outbound_host_sends_the_original_direction);
  tcase_add_test(rule1,
                 an_outbound_entry_without_nat_belongs_to_its_original_source);
  tcase_add_test(
      rule1, an_entry_both_rules_could_claim_belongs_to_its_original_source);
  suite_add_tcase(s, rule1);

  TCase *rule2 = tcase_create("rule 2, inbound");
  tcase_add_checked_fixture(rule2, setup, NULL);
  tcase_add_test(rule2, a_port_forwarded_entry_belongs_to_the_internal_server);
  tcase_add_test(rule2, an_inbound_host_sends_the_reply_direction);
  suite_add_tcase(s, rule2);

  TCase *rule3 = tcase_create("rule 3, other");
  tcase_add_checked_fixture(rule3, setup, NULL);
  tcase_add_test(
      rule3, an_entry_between_two_local_hosts_goes_to_other_with_orig_as_tx);
  tcase_add_test(
      rule3, an_entry_between_two_remote_hosts_goes_to_other_with_orig_as_tx);
  suite_add_tcase(s, rule3);

  TCase *ipv6 = tcase_create("IPv6");
  tcase_add_checked_fixture(ipv6, setup, NULL);
  tcase_add_test(ipv6, an_ipv6_outbound_entry_belongs_to_its_original_source);
  tcase_add_test(ipv6,
                 an_ipv6_inbound_entry_belongs_to_the_local_host_it_reaches);
  tcase_add_test(ipv6, an_ipv6_entry_between_two_local_hosts_goes_to_other);
  tcase_add_test(ipv6, an_ipv6_entry_between_two_remote_hosts_goes_to_other);
  suite_add_tcase(s, ipv6);
  return s;
}

int main(void) { return run_suite(classify_suite()); }
