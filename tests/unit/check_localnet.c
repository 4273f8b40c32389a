/* check_localnet.c: CIDR parsing, matching and sizes. */
#include <check.h>
#include <errno.h>
#include <stdio.h>

#include "entries.h"
#include "localnet.h"

static struct localnet net;

static void setup(void) { net.count = 0; }

/* Returns whether the address text names is local to net. */
static bool is_local(const char *text) {
  union ct_addr addr = addr_of(text);
  return localnet_contains(&net, family_of(text), &addr);
}

/* Adds the CIDR text to net, failing the test when it is refused. */
static void add(const char *text) {
  ck_assert_msg(localnet_add(&net, text) == 0, "refused \"%s\"", text);
}

/* Parses text, failing the test when it is refused. */
static struct prefix parsed(const char *text) {
  struct prefix p;
  ck_assert_msg(prefix_parse(text, &p) == 0, "refused \"%s\"", text);
  return p;
}

START_TEST(an_ipv4_cidr_gives_its_network_and_length) {
  struct prefix p = parsed("192.168.1.0/24");
  ck_assert_int_eq(p.family, AF_INET);
  ck_assert_int_eq(p.len, 24);
  ck_assert(addr_is(&p.addr, "192.168.1.0"));
}
END_TEST

START_TEST(an_ipv6_cidr_gives_its_network_and_length) {
  struct prefix p = parsed("2001:db8:1::/64");
  ck_assert_int_eq(p.family, AF_INET6);
  ck_assert_int_eq(p.len, 64);
  ck_assert(addr_is(&p.addr, "2001:db8:1::"));
}
END_TEST

START_TEST(a_bare_ipv4_address_is_a_slash_32) {
  struct prefix p = parsed("10.1.2.3");
  ck_assert_int_eq(p.family, AF_INET);
  ck_assert_int_eq(p.len, 32);
  ck_assert(addr_is(&p.addr, "10.1.2.3"));
}
END_TEST

START_TEST(a_bare_ipv6_address_is_a_slash_128) {
  struct prefix p = parsed("2001:db8::1");
  ck_assert_int_eq(p.family, AF_INET6);
  ck_assert_int_eq(p.len, 128);
  ck_assert(addr_is(&p.addr, "2001:db8::1"));
}
END_TEST

START_TEST(host_bits_beyond_a_non_aligned_ipv4_prefix_are_cleared) {
  /* 10.1 is 00001010.00000001: the first 13 bits leave 10.0.0.0. */
  struct prefix p = parsed("10.1.2.3/13");
  ck_assert_int_eq(p.len, 13);
  ck_assert(addr_is(&p.addr, "10.0.0.0"));
}
END_TEST

START_TEST(host_bits_beyond_a_non_aligned_ipv6_prefix_are_cleared) {
  struct prefix aligned = parsed("2001:db8::1/61");
  ck_assert(addr_is(&aligned.addr, "2001:db8::"));
  /* The fourth group 0x000f keeps its first 13 bits: 0x0008. */
  struct prefix p = parsed("2001:db8:0:f::1/61");
  ck_assert_int_eq(p.len, 61);
  ck_assert(addr_is(&p.addr, "2001:db8:0:8::"));
}
END_TEST

START_TEST(a_non_aligned_ipv4_prefix_matches_exactly_its_range) {
  add("10.1.2.3/13"); /* 10.0.0.0 - 10.7.255.255 */
  ck_assert(is_local("10.0.0.0"));
  ck_assert(is_local("10.1.2.3"));
  ck_assert(is_local("10.7.255.255"));
  ck_assert(!is_local("10.8.0.0"));
  ck_assert(!is_local("9.255.255.255"));
}
END_TEST

START_TEST(a_non_aligned_ipv6_prefix_matches_exactly_its_range) {
  add("2001:db8:0:f::1/61"); /* 2001:db8:0:8:: - 2001:db8:0:f:ffff:... */
  ck_assert(is_local("2001:db8:0:8::"));
  ck_assert(is_local("2001:db8:0:f:ffff:ffff:ffff:ffff"));
  ck_assert(!is_local("2001:db8:0:7:ffff:ffff:ffff:ffff"));
  ck_assert(!is_local("2001:db8:0:10::"));
}
END_TEST

START_TEST(a_prefix_cut_in_the_last_word_matches_exactly_its_range) {
  add("2001:db8::1:2:3/100"); /* the last 28 bits are the host's */
  ck_assert(is_local("2001:db8::1:2:0"));
  ck_assert(is_local("2001:db8::1:fff:ffff"));
  ck_assert(!is_local("2001:db8::1:1000:0"));
  ck_assert(!is_local("2001:db8::2:2:3"));
}
END_TEST

START_TEST(ipv4_slash_0_matches_every_ipv4_address_and_no_ipv6_one) {
  add("8.8.8.8/0");
  ck_assert(is_local("0.0.0.0"));
  ck_assert(is_local("93.184.216.34"));
  ck_assert(is_local("255.255.255.255"));
  ck_assert(!is_local("::"));
  ck_assert(!is_local("2001:db8::1"));
}
END_TEST

START_TEST(ipv6_slash_0_matches_every_ipv6_address_and_no_ipv4_one) {
  add("::/0");
  ck_assert(is_local("::"));
  ck_assert(is_local("2001:db8::1"));
  ck_assert(is_local("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  ck_assert(!is_local("0.0.0.0"));
  ck_assert(!is_local("10.0.0.1"));
}
END_TEST

START_TEST(a_slash_32_matches_its_address_only) {
  add("10.0.0.1/32");
  ck_assert(is_local("10.0.0.1"));
  ck_assert(!is_local("10.0.0.0"));
  ck_assert(!is_local("10.0.0.3"));
  ck_assert(!is_local("138.0.0.1")); /* differs in the first bit */
}
END_TEST

START_TEST(a_slash_128_matches_its_address_only) {
  add("2001:db8::1/128");
  ck_assert(is_local("2001:db8::1"));
  ck_assert(!is_local("2001:db8::"));
  ck_assert(!is_local("2001:db8::3"));
  ck_assert(!is_local("2001:db8:1::1"));
}
END_TEST

START_TEST(an_ipv6_address_never_matches_an_ipv4_prefix) {
  /* a00::1 begins with the byte 10, as 10.0.0.0/8 does. */
  add("10.0.0.0/8");
  ck_assert(!is_local("a00::1"));
}
END_TEST

START_TEST(an_ipv4_address_never_matches_an_ipv6_prefix) {
  /* 10.1.2.3 begins with the byte 10, as a00::/8 does. */
  add("a00::/8");
  ck_assert(!is_local("10.1.2.3"));
}
END_TEST

START_TEST(an_address_in_any_of_the_prefixes_is_local) {
  add("192.168.1.0/24");
  add("2001:db8:1::/64");
  add("172.20.0.0/16");
  ck_assert(is_local("192.168.1.23"));
  ck_assert(is_local("2001:db8:1::23"));
  ck_assert(is_local("172.20.4.5"));
  ck_assert(!is_local("172.21.4.5"));
}
END_TEST

START_TEST(no_address_is_local_to_an_empty_list) {
  ck_assert(!is_local("192.168.1.23"));
  ck_assert(!is_local("fd00::1"));
}
END_TEST

static const char *const bad_cidrs[] = {
    "",
    "1.2.3.4/33",
    "::/129",
    "1.2.3.4/",
    "1.2.3.4/x",
    "300.1.1.1/8",
    "/8",
    "junk",
    "junk/8",
    "1.2.3/8",
    "1.2.3.4/24x",
    "1.2.3.4/-1",
    "1.2.3.4/+8",
    "1.2.3.4/ 8",
    "1.2.3.4 /8",
    "1.2.3.4/8/8",
    "1.2.3.4/99999999999999999999999",
    "2001:db8::1::2/64",
    "fe80::1%eth0/64",
    "0000:0000:0000:0000:0000:0000:0000:0000:0000/8", /* too long */
};
#define BAD_CIDRS (int)(sizeof(bad_cidrs) / sizeof(bad_cidrs[0]))

START_TEST(text_that_is_no_cidr_is_refused) {
  struct prefix p;
  ck_assert_msg(prefix_parse(bad_cidrs[_i], &p) == -1, "accepted \"%s\"",
                bad_cidrs[_i]);
}
END_TEST

START_TEST(adding_text_that_is_no_cidr_fails_with_einval_and_adds_nothing) {
  add("192.168.1.0/24");
  errno = 0;
  ck_assert_int_eq(localnet_add(&net, bad_cidrs[_i]), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_uint_eq(net.count, 1);
}
END_TEST

START_TEST(the_default_holds_the_private_ranges) {
  localnet_set_default(&net);
  ck_assert_uint_eq(net.count, 4);
  const char *const inside[] = {
      "10.0.0.0",    "10.255.255.255",
      "172.16.0.0",  "172.31.255.255",
      "192.168.0.0", "192.168.255.255",
      "fc00::",      "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
  for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++)
    ck_assert_msg(is_local(inside[i]), "%s is not local", inside[i]);
}
END_TEST

START_TEST(the_default_leaves_out_the_neighbours_of_the_private_ranges) {
  localnet_set_default(&net);
  const char *const outside[] = {"9.255.255.255",
                                 "11.0.0.0",
                                 "172.15.255.255",
                                 "172.32.0.0",
                                 "192.167.255.255",
                                 "192.169.0.0",
                                 "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                                 "fe00::",
                                 "93.184.216.34",
                                 "2001:db8::1"};
  for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
    ck_assert_msg(!is_local(outside[i]), "%s is local", outside[i]);
}
END_TEST

START_TEST(setting_the_default_replaces_what_was_there) {
  add("93.184.216.0/24");
  localnet_set_default(&net);
  ck_assert_uint_eq(net.count, 4);
  ck_assert(!is_local("93.184.216.34"));
}
END_TEST

START_TEST(a_full_list_refuses_one_more_prefix_with_enospc) {
  char text[32];
  for (int i = 0; i < LOCALNET_MAX; i++) {
    snprintf(text, sizeof(text), "10.0.%d.0/24", i);
    add(text);
  }
  errno = 0;
  ck_assert_int_eq(localnet_add(&net, "192.168.1.0/24"), -1);
  ck_assert_int_eq(errno, ENOSPC);
  ck_assert_uint_eq(net.count, LOCALNET_MAX);
  snprintf(text, sizeof(text), "10.0.%d.1", LOCALNET_MAX - 1);
  ck_assert(is_local(text));
  ck_assert(!is_local("192.168.1.23"));
}
END_TEST

/* Sizes */

START_TEST(a_slash_24_holds_256_ipv4_addresses) {
  add("192.168.1.0/24");
  ck_assert_uint_eq(localnet_addresses(&net, AF_INET, 4096), 256);
}
END_TEST

START_TEST(the_sizes_of_a_family_s_prefixes_add_up) {
  add("192.168.1.0/24");
  add("2001:db8:1::/64");
  add("10.0.0.0/30");
  add("10.9.9.9");
  ck_assert_uint_eq(localnet_addresses(&net, AF_INET, 4096), 256 + 4 + 1);
}
END_TEST

START_TEST(a_family_without_prefixes_holds_no_address) {
  add("192.168.1.0/24");
  ck_assert_uint_eq(localnet_addresses(&net, AF_INET6, 4096), 0);
}
END_TEST

START_TEST(prefixes_holding_more_than_the_cap_give_the_cap) {
  add("2001:db8:1::/64");
  ck_assert_uint_eq(localnet_addresses(&net, AF_INET6, 4096), 4096);
  add("10.0.0.0/20");
  ck_assert_uint_eq(localnet_addresses(&net, AF_INET, 4096), 4096);
  add("0.0.0.0/0");
  ck_assert_uint_eq(localnet_addresses(&net, AF_INET, SIZE_MAX),
                    4096 + (1ull << 32));
  localnet_set_default(&net);
  ck_assert_uint_eq(localnet_addresses(&net, AF_INET6, SIZE_MAX), SIZE_MAX);
}
END_TEST

static Suite *localnet_suite(void) {
  Suite *s = suite_create("localnet");

  TCase *parse = tcase_create("parse");
  tcase_add_test(parse, an_ipv4_cidr_gives_its_network_and_length);
  tcase_add_test(parse, an_ipv6_cidr_gives_its_network_and_length);
  tcase_add_test(parse, a_bare_ipv4_address_is_a_slash_32);
  tcase_add_test(parse, a_bare_ipv6_address_is_a_slash_128);
  tcase_add_test(parse, host_bits_beyond_a_non_aligned_ipv4_prefix_are_cleared);
  tcase_add_test(parse, host_bits_beyond_a_non_aligned_ipv6_prefix_are_cleared);
  tcase_add_loop_test(parse, text_that_is_no_cidr_is_refused, 0, BAD_CIDRS);
  suite_add_tcase(s, parse);

  TCase *match = tcase_create("match");
  tcase_add_checked_fixture(match, setup, NULL);
  tcase_add_test(match, a_non_aligned_ipv4_prefix_matches_exactly_its_range);
  tcase_add_test(match, a_non_aligned_ipv6_prefix_matches_exactly_its_range);
  tcase_add_test(match,
                 a_prefix_cut_in_the_last_word_matches_exactly_its_range);
  tcase_add_test(match,
                 ipv4_slash_0_matches_every_ipv4_address_and_no_ipv6_one);
  tcase_add_test(match,
                 ipv6_slash_0_matches_every_ipv6_address_and_no_ipv4_one);
  tcase_add_test(match, a_slash_32_matches_its_address_only);
  tcase_add_test(match, a_slash_128_matches_its_address_only);
  tcase_add_test(match, an_ipv6_address_never_matches_an_ipv4_prefix);
  tcase_add_test(match, an_ipv4_address_never_matches_an_ipv6_prefix);
  tcase_add_test(match, an_address_in_any_of_the_prefixes_is_local);
  tcase_add_test(match, no_address_is_local_to_an_empty_list);
  suite_add_tcase(s, match);

  TCase *list = tcase_create("list");
  tcase_add_checked_fixture(list, setup, NULL);
  tcase_add_loop_test(
      list, adding_text_that_is_no_cidr_fails_with_einval_and_adds_nothing, 0,
      BAD_CIDRS);
  tcase_add_test(list, the_default_holds_the_private_ranges);
  tcase_add_test(list,
                 the_default_leaves_out_the_neighbours_of_the_private_ranges);
  tcase_add_test(list, setting_the_default_replaces_what_was_there);
  tcase_add_test(list, a_full_list_refuses_one_more_prefix_with_enospc);
  tcase_add_test(list, a_slash_24_holds_256_ipv4_addresses);
  tcase_add_test(list, the_sizes_of_a_family_s_prefixes_add_up);
  tcase_add_test(list, a_family_without_prefixes_holds_no_address);
  tcase_add_test(list, prefixes_holding_more_than_the_cap_give_the_cap);
  suite_add_tcase(s, list);
  return s;
}

int main(void) { return run_suite(localnet_suite()); }
