/* check_filter.c: Protocol, Zone and Mark: what they accept, what each
 * selects, and how they combine (one kind OR'd, different kinds AND'd). */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>

#include "entries.h"
#include "filter.h"

static struct entry_filter filter;
/* The phone's DNS query: UDP, zone 0, mark 0. */
static struct ct_entry dns;
/* The laptop browsing: TCP. */
static struct ct_entry web;

static void setup(void) {
  filter = (struct entry_filter){0};
  entry_udp(&dns, PHONE, 5353, RESOLVER, 53);
  entry_browsing(&web, 2);
}

static void add_protocol(const char *text) {
  ck_assert_int_eq(filter_add_protocol(&filter, text), 0);
}

static void add_mark(const char *text) {
  ck_assert_int_eq(filter_add_mark(&filter, text), 0);
}

static void add_zone(long zone) {
  ck_assert_int_eq(filter_add_zone(&filter, zone), 0);
}

/* --- parsing ---------------------------------------------------------- */

static const struct {
  const char *name;
  uint8_t number;
} NAMED[] = {
    {"tcp", IPPROTO_TCP},
    {"udp", IPPROTO_UDP},
    {"icmp", IPPROTO_ICMP},
    {"icmpv6", IPPROTO_ICMPV6},
    {"sctp", IPPROTO_SCTP},
    {"udplite", IPPROTO_UDPLITE},
    {"dccp", IPPROTO_DCCP},
    {"gre", IPPROTO_GRE},
    {"TCP", IPPROTO_TCP},
    {"47", IPPROTO_GRE},
    {"0", 0},
    {"255", 255},
};

START_TEST(a_protocol_name_or_number_selects_that_protocol) {
  add_protocol(NAMED[_i].name);
  dns.orig.l4proto = NAMED[_i].number;
  ck_assert_msg(filter_match(&filter, &dns), "%s", NAMED[_i].name);
  dns.orig.l4proto = (uint8_t)(NAMED[_i].number + 1);
  ck_assert_msg(!filter_match(&filter, &dns), "%s", NAMED[_i].name);
}
END_TEST

static const char *const BAD_PROTOCOLS[] = {
    "",   "tcpp", "256",  "-1",  " 6",
    "6 ", "0x",   "ipv4", "1e2", "99999999999999999999",
};

START_TEST(a_bad_protocol_is_refused_with_einval) {
  errno = 0;
  ck_assert_int_eq(filter_add_protocol(&filter, BAD_PROTOCOLS[_i]), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert(filter_is_empty(&filter));
}
END_TEST

START_TEST(a_zone_from_0_to_65535_is_taken) {
  add_zone(0);
  add_zone(65535);
  ck_assert_uint_eq(filter.zone_count, 2);
}
END_TEST

START_TEST(a_zone_out_of_range_is_refused_with_einval) {
  errno = 0;
  ck_assert_int_eq(filter_add_zone(&filter, -1), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(filter_add_zone(&filter, 65536), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert(filter_is_empty(&filter));
}
END_TEST

START_TEST(more_zones_than_the_limit_are_refused_with_enospc) {
  for (long z = 0; z < FILTER_MAX_ZONES; z++)
    add_zone(z);
  errno = 0;
  ck_assert_int_eq(filter_add_zone(&filter, FILTER_MAX_ZONES), -1);
  ck_assert_int_eq(errno, ENOSPC);
}
END_TEST

START_TEST(a_mark_with_a_mask_takes_both_in_hex_or_decimal) {
  add_mark("0x2a/0xff");
  add_mark("42/255");
  ck_assert_uint_eq(filter.marks[0].value, 0x2a);
  ck_assert_uint_eq(filter.marks[0].mask, 0xff);
  ck_assert_uint_eq(filter.marks[1].value, 42);
  ck_assert_uint_eq(filter.marks[1].mask, 255);
}
END_TEST

START_TEST(a_mark_without_a_mask_is_matched_on_all_32_bits) {
  add_mark("0xffffffff");
  ck_assert_uint_eq(filter.marks[0].value, 0xffffffffu);
  ck_assert_uint_eq(filter.marks[0].mask, 0xffffffffu);
}
END_TEST

static const char *const BAD_MARKS[] = {
    "",    "/",       "0x2a/",       "/0xff",      "0x1ffffffff", "4294967296",
    "-1",  "0x2a/-1", "0x2a/0xff/1", "mark",       "0x2g",        " 42",
    "42 ", "0x2a/ff", "1/2/3",       "0x2a//0xff",
};

START_TEST(a_bad_mark_is_refused_with_einval) {
  errno = 0;
  ck_assert_int_eq(filter_add_mark(&filter, BAD_MARKS[_i]), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert(filter_is_empty(&filter));
}
END_TEST

/* --- matching each criterion ------------------------------------------ */

START_TEST(an_empty_filter_matches_every_entry) {
  ck_assert(filter_is_empty(&filter));
  ck_assert(filter_match(&filter, &dns));
  ck_assert(filter_match(&filter, &web));
}
END_TEST

START_TEST(a_protocol_selects_by_the_original_tuple_protocol) {
  add_protocol("udp");
  ck_assert(filter_match(&filter, &dns));
  ck_assert(!filter_match(&filter, &web));
}
END_TEST

START_TEST(a_zone_selects_entries_of_that_zone_only) {
  add_zone(7);
  ck_assert(!filter_match(&filter, &dns));
  dns.zone = 7;
  ck_assert(filter_match(&filter, &dns));
}
END_TEST

START_TEST(zone_0_selects_entries_of_the_default_zone) {
  add_zone(0);
  ck_assert(filter_match(&filter, &dns));
  dns.zone = 1;
  ck_assert(!filter_match(&filter, &dns));
}
END_TEST

START_TEST(a_mark_compares_only_the_bits_of_its_mask) {
  add_mark("0x2a/0xff");
  dns.mark = 0x1234002a;
  ck_assert(filter_match(&filter, &dns));
  dns.mark = 0x2b;
  ck_assert(!filter_match(&filter, &dns));
  dns.mark = 0;
  ck_assert(!filter_match(&filter, &dns));
}
END_TEST

START_TEST(value_bits_outside_the_mask_are_ignored) {
  add_mark("0x12a/0xff"); /* the 0x100 bit cannot be seen through 0xff */
  dns.mark = 0x2a;
  ck_assert(filter_match(&filter, &dns));
}
END_TEST

START_TEST(a_mark_without_a_mask_wants_the_whole_mark) {
  add_mark("42");
  dns.mark = 42;
  ck_assert(filter_match(&filter, &dns));
  dns.mark = 42 | 0x100;
  ck_assert(!filter_match(&filter, &dns));
}
END_TEST

START_TEST(mark_0_with_mask_0_matches_every_mark) {
  add_mark("0/0");
  dns.mark = 0xdeadbeef;
  ck_assert(filter_match(&filter, &dns));
}
END_TEST

/* --- combinations -------------------------------------------------------- */

START_TEST(protocols_are_ored) {
  add_protocol("tcp");
  add_protocol("udp");
  ck_assert(filter_match(&filter, &dns));
  ck_assert(filter_match(&filter, &web));
  entry_ping(&dns, PHONE, RESOLVER, 1);
  ck_assert(!filter_match(&filter, &dns));
}
END_TEST

START_TEST(zones_are_ored) {
  add_zone(1);
  add_zone(2);
  dns.zone = 2;
  web.zone = 1;
  ck_assert(filter_match(&filter, &dns));
  ck_assert(filter_match(&filter, &web));
  dns.zone = 3;
  ck_assert(!filter_match(&filter, &dns));
}
END_TEST

START_TEST(marks_are_ored) {
  add_mark("0x1/0xf");
  add_mark("0x20/0xf0");
  dns.mark = 0x01;
  web.mark = 0x20;
  ck_assert(filter_match(&filter, &dns));
  ck_assert(filter_match(&filter, &web));
  dns.mark = 0x02;
  ck_assert(!filter_match(&filter, &dns));
}
END_TEST

START_TEST(different_kinds_are_anded) {
  add_protocol("udp");
  add_zone(5);
  add_mark("0x2a/0xff");
  dns.zone = 5;
  dns.mark = 0x2a;
  ck_assert(filter_match(&filter, &dns));
  dns.zone = 0; /* right protocol and mark, wrong zone */
  ck_assert(!filter_match(&filter, &dns));
  dns.zone = 5, dns.mark = 0; /* wrong mark */
  ck_assert(!filter_match(&filter, &dns));
  web.zone = 5, web.mark = 0x2a; /* wrong protocol */
  ck_assert(!filter_match(&filter, &web));
}
END_TEST

/* --- what goes to the kernel ------------------------------------------- */

START_TEST(one_mark_goes_to_the_kernel) {
  struct mark_match m;
  ck_assert(!filter_kernel_mark(&filter, &m));
  add_mark("0x2a/0xff");
  ck_assert(filter_kernel_mark(&filter, &m));
  ck_assert_uint_eq(m.value, 0x2a);
  ck_assert_uint_eq(m.mask, 0xff);
}
END_TEST

START_TEST(two_marks_stay_in_user_space) {
  struct mark_match m;
  add_mark("1");
  add_mark("2");
  ck_assert(!filter_kernel_mark(&filter, &m));
}
END_TEST

START_TEST(one_zone_goes_to_the_kernel) {
  uint16_t zone = 1;
  ck_assert(!filter_kernel_zone(&filter, &zone));
  add_zone(0);
  ck_assert(filter_kernel_zone(&filter, &zone));
  ck_assert_uint_eq(zone, 0);
}
END_TEST

START_TEST(two_zones_stay_in_user_space) {
  uint16_t zone;
  add_zone(9);
  add_zone(10);
  ck_assert(!filter_kernel_zone(&filter, &zone));
}
END_TEST

static Suite *filter_suite(void) {
  Suite *s = suite_create("filter");
  TCase *parse = tcase_create("parse");
  tcase_add_checked_fixture(parse, setup, NULL);
  tcase_add_loop_test(parse, a_protocol_name_or_number_selects_that_protocol, 0,
                      sizeof(NAMED) / sizeof(NAMED[0]));
  tcase_add_loop_test(parse, a_bad_protocol_is_refused_with_einval, 0,
                      sizeof(BAD_PROTOCOLS) / sizeof(BAD_PROTOCOLS[0]));
  tcase_add_test(parse, a_zone_from_0_to_65535_is_taken);
  tcase_add_test(parse, a_zone_out_of_range_is_refused_with_einval);
  tcase_add_test(parse, more_zones_than_the_limit_are_refused_with_enospc);
  tcase_add_test(parse, a_mark_with_a_mask_takes_both_in_hex_or_decimal);
  tcase_add_test(parse, a_mark_without_a_mask_is_matched_on_all_32_bits);
  tcase_add_loop_test(parse, a_bad_mark_is_refused_with_einval, 0,
                      sizeof(BAD_MARKS) / sizeof(BAD_MARKS[0]));
  suite_add_tcase(s, parse);

  TCase *match = tcase_create("match");
  tcase_add_checked_fixture(match, setup, NULL);
  tcase_add_test(match, an_empty_filter_matches_every_entry);
  tcase_add_test(match, a_protocol_selects_by_the_original_tuple_protocol);
  tcase_add_test(match, a_zone_selects_entries_of_that_zone_only);
  tcase_add_test(match, zone_0_selects_entries_of_the_default_zone);
  tcase_add_test(match, a_mark_compares_only_the_bits_of_its_mask);
  tcase_add_test(match, value_bits_outside_the_mask_are_ignored);
  tcase_add_test(match, a_mark_without_a_mask_wants_the_whole_mark);
  tcase_add_test(match, mark_0_with_mask_0_matches_every_mark);
  suite_add_tcase(s, match);

  TCase *combine = tcase_create("combine");
  tcase_add_checked_fixture(combine, setup, NULL);
  tcase_add_test(combine, protocols_are_ored);
  tcase_add_test(combine, zones_are_ored);
  tcase_add_test(combine, marks_are_ored);
  tcase_add_test(combine, different_kinds_are_anded);
  suite_add_tcase(s, combine);

  TCase *kernel = tcase_create("kernel");
  tcase_add_checked_fixture(kernel, setup, NULL);
  tcase_add_test(kernel, one_mark_goes_to_the_kernel);
  tcase_add_test(kernel, two_marks_stay_in_user_space);
  tcase_add_test(kernel, one_zone_goes_to_the_kernel);
  tcase_add_test(kernel, two_zones_stay_in_user_space);
  suite_add_tcase(s, kernel);
  return s;
}

int main(void) { return run_suite(filter_suite()); }
