/* check_names.c: host names from HostName options and HostsFile files
 * (/etc/hosts and dnsmasq lease lines), read again when they change, on
 * files each test writes into a directory of its own. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "entries.h"
#include "logs.h"
#include "names.h"

static struct names *names;
static char dir[64];

static void setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/check_names.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  names = names_new(record_log);
  ck_assert_ptr_nonnull(names);
  logs_clear();
}

static void teardown(void) {
  names_free(names);
  char command[128];
  snprintf(command, sizeof(command), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(command), 0);
}

/* Returns the path of file in the test's directory (a static buffer). */
static const char *path_of(const char *file) {
  static char path[128];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  return path;
}

/* Writes text into file, in place (the same inode when it exists). */
static void write_file(const char *file, const char *text) {
  FILE *f = fopen(path_of(file), "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_ge(fputs(text, f), 0);
  ck_assert_int_eq(fclose(f), 0);
}

/* Adds file as a HostsFile and reads it. */
static void use_file(const char *file) {
  ck_assert_int_eq(names_add_file(names, path_of(file)), 0);
  names_refresh(names);
}

/* Returns the name of the host at the address text names, or NULL. */
static const char *name_of(const char *text) {
  union ct_addr addr = addr_of(text);
  return names_lookup(names, family_of(text), &addr);
}

#define ck_assert_name(address, want) ck_assert_pstr_eq(name_of(address), want)

/* A dnsmasq lease file as OpenWrt keeps it: IPv4 leases, then the
 * server's DUID and IPv6 leases. The laptop is dual-stack: its DHCPv6 DUID
 * (a DUID-LLT: type 1, Ethernet, a time, its MAC) is made of its MAC. */
#define LEASES                                                                 \
  "1764201600 3c:22:fb:12:34:56 " LAPTOP " laptop 01:3c:22:fb:12:34:56\n"      \
  "1764205200 a4:83:e7:ab:cd:ef " PHONE " phone *\n"                           \
  "duid 00:01:00:01:2c:8e:1a:7b:02:00:00:00:00:01\n"                           \
  "1764201600 1234567 " LAPTOP6                                                \
  " laptop 00:01:00:01:2c:8e:aa:bb:3c:22:fb:12:34:56\n"

/* An IPv4 lease line of the client with MAC mac, and one with no name. */
#define LEASE(mac, address, name) "1764201600 " mac " " address " " name " *\n"

/* --- /etc/hosts ----------------------------------------------------------- */

START_TEST(an_etc_hosts_line_names_its_address) {
  write_file("hosts", "127.0.0.1 localhost\n" LAPTOP " laptop\n");
  use_file("hosts");
  ck_assert_name(LAPTOP, "laptop");
  ck_assert_name("127.0.0.1", "localhost");
}
END_TEST

START_TEST(an_etc_hosts_line_names_an_ipv6_address) {
  write_file("hosts", "::1 localhost ip6-localhost\n" LAPTOP6 "\tlaptop\n");
  use_file("hosts");
  ck_assert_name(LAPTOP6, "laptop");
  ck_assert_name("::1", "localhost");
}
END_TEST

START_TEST(the_first_name_of_a_line_wins_over_its_aliases) {
  write_file("hosts", LAPTOP " laptop.cafe.lan laptop lt\n");
  use_file("hosts");
  ck_assert_name(LAPTOP, "laptop.cafe.lan");
}
END_TEST

START_TEST(the_first_line_naming_an_address_wins) {
  write_file("hosts", LAPTOP " laptop\n" LAPTOP " notebook\n");
  use_file("hosts");
  ck_assert_name(LAPTOP, "laptop");
}
END_TEST

START_TEST(comments_and_blank_lines_are_skipped_without_a_warning) {
  write_file("hosts", "# the café\n"
                      "\n"
                      "   \t\n" LAPTOP " laptop # by the window\n"
                      "#" PHONE " phone\n");
  use_file("hosts");
  ck_assert_name(LAPTOP, "laptop");
  ck_assert_name(PHONE, NULL);
  ck_assert_int_eq(warnings, 0);
}
END_TEST

START_TEST(an_address_no_source_names_has_no_name) {
  write_file("hosts", LAPTOP " laptop\n");
  use_file("hosts");
  ck_assert_name(SERVER, NULL);
  ck_assert_name(LAPTOP6, NULL);
}
END_TEST

/* --- dnsmasq leases ------------------------------------------------------- */

START_TEST(a_dnsmasq_ipv4_lease_names_its_address) {
  write_file("dhcp.leases", LEASES);
  use_file("dhcp.leases");
  ck_assert_name(LAPTOP, "laptop");
}
END_TEST

START_TEST(a_dnsmasq_ipv6_lease_names_its_address_past_the_duid_line) {
  write_file("dhcp.leases", LEASES);
  use_file("dhcp.leases");
  ck_assert_name(LAPTOP6, "laptop");
  ck_assert_int_eq(warnings, 0);
}
END_TEST

START_TEST(a_lease_whose_client_sent_no_name_names_nothing) {
  write_file("dhcp.leases",
             "1764201600 00:11:22:33:44:55 " SERVER " * 01:00:11:22:33:44:55\n"
             "1764201600 99 " PHONE6 " * *\n");
  use_file("dhcp.leases");
  ck_assert_name(SERVER, NULL);
  ck_assert_name(PHONE6, NULL);
  ck_assert_int_eq(warnings, 0);
}
END_TEST

START_TEST(a_lease_that_never_expires_names_its_address) {
  write_file("dhcp.leases", "0 00:11:22:33:44:55 " SERVER " server *\n");
  use_file("dhcp.leases");
  ck_assert_name(SERVER, "server");
}
END_TEST

START_TEST(hosts_and_lease_lines_mix_in_one_file) {
  write_file("mixed", SERVER " server\n" LEASES);
  use_file("mixed");
  ck_assert_name(SERVER, "server");
  ck_assert_name(PHONE, "phone");
  ck_assert_name(LAPTOP6, "laptop");
}
END_TEST

/* --- bad lines ------------------------------------------------------------ */

START_TEST(bad_lines_are_skipped_with_one_warning_naming_file_and_line) {
  write_file("hosts", LAPTOP " laptop\n"
                             "laptop 192.168.1.99\n" /* line 2: name first */
                             "192.168.1.300 big\n"   /* line 3: no address */
             SERVER "\n"                             /* line 4: no name */
             PHONE " phone\n");
  use_file("hosts");
  ck_assert_name(LAPTOP, "laptop");
  ck_assert_name(PHONE, "phone");
  ck_assert_int_eq(warnings, 1);
  ck_assert_ptr_nonnull(strstr(last_warning, path_of("hosts")));
  ck_assert_ptr_nonnull(strstr(last_warning, "3 bad lines"));
  ck_assert_ptr_nonnull(strstr(last_warning, "line 2"));
}
END_TEST

START_TEST(a_line_naming_a_host_after_a_ctflow_instance_is_a_bad_line) {
  write_file("hosts", LAPTOP " total\n" PHONE " phone\n");
  use_file("hosts");
  ck_assert_name(LAPTOP, NULL);
  ck_assert_name(PHONE, "phone");
  ck_assert_int_eq(warnings, 1);
  ck_assert_ptr_nonnull(strstr(last_warning, "line 1"));
  ck_assert_ptr_nonnull(strstr(last_warning, "\"total\""));
}
END_TEST

START_TEST(the_same_bad_lines_read_again_are_not_warned_about_again) {
  write_file("hosts", LAPTOP " laptop\nno lease\n");
  use_file("hosts");
  write_file("hosts", LAPTOP " notebook\nno lease\n");
  names_refresh(names);
  ck_assert_name(LAPTOP, "notebook");
  ck_assert_int_eq(warnings, 1);
  write_file("hosts", "no lease\n" LAPTOP " laptop\n");
  names_refresh(names);
  ck_assert_int_eq(warnings, 2); /* other bad lines: line 1 now */
  ck_assert_ptr_nonnull(strstr(last_warning, "line 1,"));
}
END_TEST

/* --- refresh -------------------------------------------------------------- */

START_TEST(a_changed_file_is_read_again_on_refresh) {
  write_file("dhcp.leases", LEASES);
  use_file("dhcp.leases");
  write_file("dhcp.leases",
             "1764209999 a4:83:e7:ab:cd:ef " PHONE " phone-of-ana *\n");
  names_refresh(names);
  ck_assert_name(PHONE, "phone-of-ana");
  ck_assert_name(LAPTOP, NULL); /* its lease is gone from the file */
}
END_TEST

/* Writes text into file, dated as "hosts" is now (its access and
 * modification times): a change that only the inode or size can tell. */
static void write_file_dated_as_hosts(const char *file, const char *text) {
  struct stat hosts;
  ck_assert_int_eq(stat(path_of("hosts"), &hosts), 0);
  write_file(file, text);
  struct timespec times[2] = {hosts.st_atim, hosts.st_mtim};
  ck_assert_int_eq(utimensat(AT_FDCWD, path_of(file), times, 0), 0);
}

START_TEST(a_file_replaced_by_a_rename_is_read_again) {
  write_file("hosts", LAPTOP " laptop\n");
  use_file("hosts");
  /* The same size and time: only the inode tells. */
  write_file_dated_as_hosts("hosts.new", LAPTOP " tablet\n");
  char renamed[128];
  snprintf(renamed, sizeof(renamed), "%s", path_of("hosts.new"));
  ck_assert_int_eq(rename(renamed, path_of("hosts")), 0);
  names_refresh(names);
  ck_assert_name(LAPTOP, "tablet");
}
END_TEST

START_TEST(a_file_of_the_same_inode_size_and_time_is_not_read_again) {
  write_file("hosts", LAPTOP " laptop\n");
  use_file("hosts");
  write_file_dated_as_hosts("hosts", LAPTOP " tablet\n");
  names_refresh(names);
  ck_assert_name(LAPTOP, "laptop"); /* one stat() said: unchanged */
}
END_TEST

START_TEST(a_file_that_disappears_keeps_its_names_until_it_returns) {
  write_file("dhcp.leases", LEASES);
  use_file("dhcp.leases");
  ck_assert_int_eq(unlink(path_of("dhcp.leases")), 0);
  names_refresh(names);
  names_refresh(names);
  ck_assert_name(LAPTOP, "laptop");
  ck_assert_int_eq(warnings, 1); /* once, not every interval */
  ck_assert_ptr_nonnull(strstr(last_warning, path_of("dhcp.leases")));
  write_file("dhcp.leases", "1764209999 a4:83:e7:ab:cd:ef " PHONE " ana *\n");
  names_refresh(names);
  ck_assert_name(PHONE, "ana");
  ck_assert_name(LAPTOP, NULL);
}
END_TEST

START_TEST(a_missing_file_warns_naming_its_path_and_is_read_once_it_exists) {
  use_file("dhcp.leases");
  ck_assert_int_eq(warnings, 1);
  ck_assert_ptr_nonnull(strstr(last_warning, path_of("dhcp.leases")));
  ck_assert_ptr_nonnull(strstr(last_warning, strerror(ENOENT)));
  names_refresh(names);
  ck_assert_int_eq(warnings, 1);
  write_file("dhcp.leases", LEASES);
  names_refresh(names);
  ck_assert_name(PHONE, "phone");
}
END_TEST

START_TEST(a_directory_at_the_path_is_not_read_and_says_so) {
  ck_assert_int_eq(mkdir(path_of("hosts.d"), 0700), 0);
  use_file("hosts.d");
  ck_assert_int_eq(warnings, 1);
  ck_assert_ptr_nonnull(strstr(last_warning, "not a regular file"));
}
END_TEST

/* --- who wins ------------------------------------------------------------- */

START_TEST(a_host_name_option_wins_over_a_file) {
  write_file("dhcp.leases", LEASES);
  ck_assert_int_eq(names_add(names, PHONE, "till"), 0);
  use_file("dhcp.leases");
  ck_assert_name(PHONE, "till");
  ck_assert_name(LAPTOP, "laptop");
}
END_TEST

START_TEST(an_earlier_file_wins_over_a_later_one) {
  write_file("hosts", PHONE " phone-of-ana\n");
  write_file("dhcp.leases", LEASES);
  ck_assert_int_eq(names_add_file(names, path_of("hosts")), 0);
  use_file("dhcp.leases");
  ck_assert_name(PHONE, "phone-of-ana");
}
END_TEST

START_TEST(the_first_host_name_option_for_an_address_wins) {
  ck_assert_int_eq(names_add(names, PHONE, "till"), 0);
  ck_assert_int_eq(names_add(names, PHONE, "phone"), 0);
  ck_assert_name(PHONE, "till");
}
END_TEST

/* --- what a name may be --------------------------------------------------- */

START_TEST(
    characters_other_than_letters_digits_dot_dash_underscore_become_underscores) {
  char safe[NAMES_SIZE];
  names_make_safe("Ana's phone/2 (café)", safe);
  ck_assert_str_eq(safe, "Ana_s_phone_2__caf___");
  ck_assert_int_eq(names_add(names, PHONE, "Ana's phone"), 0);
  ck_assert_name(PHONE, "Ana_s_phone");
  names_make_safe("laptop-2.cafe_lan", safe);
  ck_assert_str_eq(safe, "laptop-2.cafe_lan");
}
END_TEST

START_TEST(a_name_longer_than_a_plugin_instance_holds_is_refused_not_cut) {
  char name[NAMES_MAX_LEN + 2];
  memset(name, 'a', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0'; /* 128 bytes */
  errno = 0;
  ck_assert_int_eq(names_add(names, LAPTOP, name), -1);
  ck_assert_int_eq(errno, EINVAL);
  name[NAMES_MAX_LEN] = '\0'; /* 127 */
  ck_assert_int_eq(names_add(names, LAPTOP, name), 0);
  ck_assert_str_eq(name_of(LAPTOP), name);
}
END_TEST

START_TEST(two_addresses_may_carry_the_same_name) {
  write_file("dhcp.leases", LEASES);
  use_file("dhcp.leases");
  ck_assert_name(LAPTOP, "laptop");
  ck_assert_name(LAPTOP6, "laptop");
}
END_TEST

START_TEST(ctflows_own_plugin_instances_are_refused_as_names) {
  const char *own[] = {"total", "other", "kernel", "self", "flows"};
  for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
    ck_assert_ptr_nonnull(names_check(own[i]));
    errno = 0;
    ck_assert_int_eq(names_add(names, LAPTOP, own[i]), -1);
    ck_assert_int_eq(errno, EINVAL);
  }
  ck_assert_ptr_null(names_check("totals"));
  ck_assert_name(LAPTOP, NULL);
}
END_TEST

START_TEST(
    ctflows_own_plugin_instances_in_any_case_or_punctuation_are_refused) {
  const char *own[] = {"TOTAL", "Other.", "_kernel_", "Self", "-flows"};
  for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
    ck_assert_msg(names_check(own[i]) != NULL, "\"%s\" is accepted", own[i]);
  ck_assert_ptr_null(names_check("other-phone"));
}
END_TEST

START_TEST(an_address_in_any_writers_spelling_is_refused_as_a_name) {
  /* Graphite writes both 2001:db8:1::23 and 2001_db8_1__23 as the latter. */
  const char *address[] = {
      SERVER,          "192_168_1_10",   "192-168-1-10",
      LAPTOP6,         "2001_db8_1__23", "2001-DB8-1--23",
      "fd00--1",       "FD00__1",        "__ffff_192_168_1_4",
      "__ffff_1_2_3_4"};
  for (size_t i = 0; i < sizeof(address) / sizeof(address[0]); i++)
    ck_assert_msg(names_check(address[i]) != NULL, "\"%s\" is accepted",
                  address[i]);
  /* Near misses are names: no address prints as these. */
  const char *name[] = {"192_168_1_300", "192_168_01_4", "fd00___1",
                        "cafe",          "1_2_3",        "2001_db8_1_23"};
  for (size_t i = 0; i < sizeof(name) / sizeof(name[0]); i++)
    ck_assert_msg(names_check(name[i]) == NULL, "\"%s\" is refused", name[i]);
}
END_TEST

START_TEST(a_name_without_a_letter_or_digit_is_refused) {
  const char *bad[] = {"",  "..",   "/",        "___",
                       "-", "\"\"", "\x01\x02", "\xc3\xa9"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_msg(names_check(bad[i]) != NULL, "name %zu is accepted", i);
}
END_TEST

START_TEST(a_host_name_address_that_does_not_parse_is_refused) {
  const char *bad[] = {"192.168.1.300", "laptop", "192.168.1.0/24", "", "::g"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    errno = 0;
    ck_assert_int_eq(names_add(names, bad[i], "laptop"), -1);
    ck_assert_int_eq(errno, EINVAL);
  }
}
END_TEST

START_TEST(a_relative_hosts_file_path_is_refused) {
  errno = 0;
  ck_assert_int_eq(names_add_file(names, "dhcp.leases"), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(names_add_file(names, "/tmp/dhcp.leases"), 0);
}
END_TEST

/* --- hostile leases: a lease name is its client's claim ------------------ */

/* Three clients of the café, by MAC. */
#define MAC_A "02:00:00:00:00:0a"
#define MAC_B "02:00:00:00:00:0b"
#define MAC_C "02:00:00:00:00:0c"

START_TEST(a_lease_name_equal_to_a_host_name_option_is_not_used) {
  ck_assert_int_eq(names_add(names, SERVER, "nas"), 0);
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "nas"));
  use_file("dhcp.leases");
  ck_assert_name(PHONE, NULL);
  ck_assert_name(SERVER, "nas");
}
END_TEST

START_TEST(a_lease_name_equal_to_a_host_name_in_another_case_is_not_used) {
  ck_assert_int_eq(names_add(names, SERVER, "nas"), 0);
  write_file("dhcp.leases",
             LEASE(MAC_A, PHONE, "NAS") LEASE(MAC_B, LAPTOP, "Nas"));
  use_file("dhcp.leases");
  ck_assert_name(PHONE, NULL);
  ck_assert_name(LAPTOP, NULL);
}
END_TEST

START_TEST(a_lease_name_equal_to_an_etc_hosts_name_is_not_used) {
  /* The host the hosts file names need not be there: its name is its. */
  write_file("hosts", "192.168.1.200 printer\n");
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "Printer"));
  ck_assert_int_eq(names_add_file(names, path_of("dhcp.leases")), 0);
  use_file("hosts");
  ck_assert_name(PHONE, NULL);
  ck_assert_name("192.168.1.200", "printer");
}
END_TEST

START_TEST(a_lease_name_equal_to_a_hosts_line_of_its_own_file_is_not_used) {
  write_file("mixed", LEASE(MAC_A, PHONE, "server") SERVER " server\n");
  use_file("mixed");
  ck_assert_name(PHONE, NULL);
  ck_assert_name(SERVER, "server");
}
END_TEST

START_TEST(a_lease_name_two_clients_claim_names_neither) {
  write_file("dhcp.leases",
             LEASE(MAC_A, PHONE, "iPhone") LEASE(MAC_B, LAPTOP, "iPhone")
                 LEASE(MAC_C, SERVER, "ipad"));
  use_file("dhcp.leases");
  ck_assert_name(PHONE, NULL);
  ck_assert_name(LAPTOP, NULL);
  ck_assert_name(SERVER, "ipad");
}
END_TEST

START_TEST(the_first_line_of_two_clients_with_one_name_does_not_win) {
  write_file("dhcp.leases",
             LEASE(MAC_B, LAPTOP, "iPhone") LEASE(MAC_A, PHONE, "iPhone"));
  use_file("dhcp.leases");
  ck_assert_name(LAPTOP, NULL);
  ck_assert_name(PHONE, NULL);
}
END_TEST

START_TEST(names_of_two_clients_that_differ_in_case_or_punctuation_are_one) {
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "anna-phone")
                                LEASE(MAC_B, LAPTOP, "Anna.Phone")
                                    LEASE(MAC_C, SERVER, "anna_phone"));
  use_file("dhcp.leases");
  ck_assert_name(PHONE, NULL);
  ck_assert_name(LAPTOP, NULL);
  ck_assert_name(SERVER, NULL);
}
END_TEST

START_TEST(names_of_two_clients_that_differ_only_in_non_ascii_bytes_are_one) {
  /* "Café" and "Cafè": each non-ASCII byte becomes '_'. */
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "Caf\xc3\xa9")
                                LEASE(MAC_B, LAPTOP, "Caf\xc3\xa8"));
  use_file("dhcp.leases");
  ck_assert_name(PHONE, NULL);
  ck_assert_name(LAPTOP, NULL);
}
END_TEST

/* Writes into name a name of length bytes: 'a's, then tail. */
static void long_name(char *name, size_t length, const char *tail) {
  memset(name, 'a', length);
  memcpy(name + length - strlen(tail), tail, strlen(tail));
  name[length] = '\0';
}

START_TEST(two_lease_names_equal_in_their_first_127_bytes_name_neither) {
  char first[301], second[301], leases[1024];
  long_name(first, 300, "first");
  long_name(second, 300, "second");
  snprintf(leases, sizeof(leases),
           LEASE(MAC_A, PHONE, "%s") LEASE(MAC_A, LAPTOP, "%s"), first, second);
  write_file("dhcp.leases", leases);
  use_file("dhcp.leases");
  ck_assert_name(PHONE, NULL);
  ck_assert_name(LAPTOP, NULL);
}
END_TEST

START_TEST(a_lease_name_of_128_bytes_is_not_cut_but_not_used) {
  char name[129], leases[512];
  long_name(name, 128, "z");
  snprintf(leases, sizeof(leases), LEASE(MAC_A, PHONE, "%s"), name);
  write_file("dhcp.leases", leases);
  use_file("dhcp.leases");
  ck_assert_name(PHONE, NULL);
}
END_TEST

START_TEST(a_lease_name_that_reads_as_an_address_is_not_used) {
  /* Each the Graphite path of an unnamed host: 192.168.1.4, fd00::1,
   * 2001:db8:1::23 (Graphite writes '.' and ':' as '_'). */
  write_file("dhcp.leases",
             LEASE(MAC_A, "192.168.1.101", "192_168_1_4")
                 LEASE(MAC_B, "192.168.1.102", "192-168-1-4")
                     LEASE(MAC_C, "192.168.1.103", "fd00--1")
                         LEASE("02:00:00:00:00:0d", "192.168.1.104", "FD00__1")
                             LEASE("02:00:00:00:00:0e", "192.168.1.105",
                                   "2001-db8-1--23"));
  use_file("dhcp.leases");
  for (int i = 101; i <= 105; i++) {
    char address[32];
    snprintf(address, sizeof(address), "192.168.1.%d", i);
    ck_assert_msg(name_of(address) == NULL, "%s goes by \"%s\"", address,
                  name_of(address));
  }
}
END_TEST

START_TEST(a_lease_name_of_a_ctflow_instance_in_any_case_is_not_used) {
  write_file("dhcp.leases",
             LEASE(MAC_A, PHONE, "TOTAL") LEASE(MAC_B, LAPTOP, "Other.")
                 LEASE(MAC_C, SERVER, "Flows"));
  use_file("dhcp.leases");
  ck_assert_name(PHONE, NULL);
  ck_assert_name(LAPTOP, NULL);
  ck_assert_name(SERVER, NULL);
}
END_TEST

START_TEST(a_lease_name_without_a_letter_or_digit_is_not_used) {
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "..") LEASE(MAC_B, LAPTOP, "/")
                                LEASE(MAC_C, SERVER, "\"\x01\x7f\""));
  use_file("dhcp.leases");
  ck_assert_name(PHONE, NULL);
  ck_assert_name(LAPTOP, NULL);
  ck_assert_name(SERVER, NULL);
}
END_TEST

START_TEST(
    control_bytes_quotes_and_slashes_in_a_lease_name_become_underscores) {
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "\x1b[31m\"ana\"")
                                LEASE(MAC_B, LAPTOP, "../../etc/x"));
  use_file("dhcp.leases");
  ck_assert_name(PHONE, "__31m_ana_");
  ck_assert_name(LAPTOP, ".._.._etc_x");
}
END_TEST

START_TEST(a_dual_stack_client_with_an_rfc4361_client_id_is_one_host) {
  /* Its DHCPv4 client ID is 0xff, an IAID, then the DUID (here a DUID-EN,
   * type 2, which no MAC is part of) that its DHCPv6 lease carries. */
  write_file("dhcp.leases",
             "1764201600 3c:22:fb:12:34:56 " LAPTOP
             " laptop ff:00:00:00:01:00:02:00:00:ab:11:de:ad:be:ef\n"
             "duid 00:01:00:01:2c:8e:1a:7b:02:00:00:00:00:01\n"
             "1764201600 1 " LAPTOP6 " laptop 00:02:00:00:ab:11:de:ad:be:ef\n");
  use_file("dhcp.leases");
  ck_assert_name(LAPTOP, "laptop");
  ck_assert_name(LAPTOP6, "laptop");
}
END_TEST

START_TEST(a_client_whose_duid_is_not_its_v4_leases_is_another_client) {
  write_file("dhcp.leases",
             "1764201600 3c:22:fb:12:34:56 " LAPTOP
             " laptop ff:00:00:00:01:00:02:00:00:ab:11:de:ad:be:ef\n"
             "1764201600 1 " LAPTOP6 " laptop 00:02:00:00:ab:11:0b:ad:f0:0d\n");
  use_file("dhcp.leases");
  ck_assert_name(LAPTOP, NULL);
  ck_assert_name(LAPTOP6, NULL);
}
END_TEST

START_TEST(one_clients_two_spellings_of_its_name_go_out_as_the_first) {
  write_file("dhcp.leases",
             "1764201600 3c:22:fb:12:34:56 " LAPTOP " Laptop *\n"
             "1764201600 1 " LAPTOP6
             " LAPTOP 00:01:00:01:2c:8e:aa:bb:3c:22:fb:12:34:56\n");
  use_file("dhcp.leases");
  ck_assert_name(LAPTOP, "Laptop");
  ck_assert_name(LAPTOP6, "Laptop");
}
END_TEST

START_TEST(a_refused_lease_name_leaves_its_address_to_a_later_file) {
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "TOTAL"));
  write_file("hosts", PHONE " till\n");
  ck_assert_int_eq(names_add_file(names, path_of("dhcp.leases")), 0);
  use_file("hosts");
  ck_assert_name(PHONE, "till");
}
END_TEST

START_TEST(a_refused_lease_name_is_warned_about_saying_why_and_what_instead) {
  write_file("dhcp.leases",
             LEASE(MAC_A, PHONE, "iPhone") LEASE(MAC_B, LAPTOP, "iPhone"));
  use_file("dhcp.leases");
  ck_assert_int_eq(warnings, 1);
  ck_assert_ptr_nonnull(strstr(last_warning, path_of("dhcp.leases")));
  ck_assert_ptr_nonnull(strstr(last_warning, "2 clients call themselves "
                                             "\"iPhone\" (" PHONE ", " LAPTOP
                                             "): they go by their addresses"));
}
END_TEST

START_TEST(a_lease_name_refused_again_on_later_reads_is_warned_about_once) {
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "nas"));
  ck_assert_int_eq(names_add(names, SERVER, "NAS"), 0);
  use_file("dhcp.leases");
  ck_assert_int_eq(warnings, 1);
  ck_assert_ptr_nonnull(strstr(last_warning, "\"nas\" (" PHONE));
  ck_assert_ptr_nonnull(strstr(last_warning, "HostName"));
  /* dnsmasq renews: the file is written again, the claim stays. */
  write_file("dhcp.leases", "1764209999 " MAC_A " " PHONE " nas *\n");
  names_refresh(names);
  write_file("dhcp.leases", "1764219999 " MAC_A " " PHONE " nas *\n"
                            "1764219999 " MAC_B " " LAPTOP " laptop *\n");
  names_refresh(names);
  ck_assert_name(LAPTOP, "laptop");
  ck_assert_int_eq(warnings, 1);
}
END_TEST

START_TEST(a_refusal_that_ends_and_comes_back_is_warned_about_again) {
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "TOTAL"));
  use_file("dhcp.leases");
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "phone"));
  names_refresh(names);
  write_file("dhcp.leases", LEASE(MAC_A, PHONE, "Total"));
  names_refresh(names);
  ck_assert_int_eq(warnings, 2);
  ck_assert_ptr_nonnull(strstr(last_warning, "\"Total\""));
}
END_TEST

START_TEST(a_refused_name_its_host_goes_by_anyway_is_not_warned_about) {
  /* The NAS's own lease claims the name its hosts line gives it. */
  write_file("hosts", SERVER " nas\n");
  write_file("dhcp.leases", LEASE(MAC_A, SERVER, "nas"));
  ck_assert_int_eq(names_add_file(names, path_of("hosts")), 0);
  use_file("dhcp.leases");
  ck_assert_name(SERVER, "nas");
  ck_assert_int_eq(warnings, 0);
}
END_TEST

/* --- the administrator's names -------------------------------------------- */

START_TEST(
    two_names_that_differ_in_case_are_one_series_spelled_as_given_first) {
  ck_assert_int_eq(names_add(names, LAPTOP, "NAS"), 0);
  write_file("hosts", SERVER " nas\n" PHONE " N.A.S\n");
  use_file("hosts");
  ck_assert_name(LAPTOP, "NAS");
  ck_assert_name(SERVER, "NAS");
  ck_assert_name(PHONE, "N.A.S"); /* n_a_s: another name */
  ck_assert_int_eq(warnings, 1);
  ck_assert_ptr_nonnull(strstr(last_warning, "\"nas\" (" SERVER));
  names_refresh(names);
  write_file("hosts", SERVER " nas\n");
  names_refresh(names);
  ck_assert_int_eq(warnings, 1);
}
END_TEST

START_TEST(two_host_name_options_that_differ_in_punctuation_are_one_series) {
  ck_assert_int_eq(names_add(names, LAPTOP, "front-desk"), 0);
  ck_assert_int_eq(names_add(names, SERVER, "front.desk"), 0);
  ck_assert_name(LAPTOP, "front-desk");
  ck_assert_name(SERVER, "front-desk");
}
END_TEST

static Suite *names_suite(void) {
  Suite *s = suite_create("names");

  TCase *hosts = tcase_create("/etc/hosts");
  tcase_add_checked_fixture(hosts, setup, teardown);
  tcase_add_test(hosts, an_etc_hosts_line_names_its_address);
  tcase_add_test(hosts, an_etc_hosts_line_names_an_ipv6_address);
  tcase_add_test(hosts, the_first_name_of_a_line_wins_over_its_aliases);
  tcase_add_test(hosts, the_first_line_naming_an_address_wins);
  tcase_add_test(hosts, comments_and_blank_lines_are_skipped_without_a_warning);
  tcase_add_test(hosts, an_address_no_source_names_has_no_name);
  suite_add_tcase(s, hosts);

  TCase *leases = tcase_create("dnsmasq leases");
  tcase_add_checked_fixture(leases, setup, teardown);
  tcase_add_test(leases, a_dnsmasq_ipv4_lease_names_its_address);
  tcase_add_test(leases,
                 a_dnsmasq_ipv6_lease_names_its_address_past_the_duid_line);
  tcase_add_test(leases, a_lease_whose_client_sent_no_name_names_nothing);
  tcase_add_test(leases, a_lease_that_never_expires_names_its_address);
  tcase_add_test(leases, hosts_and_lease_lines_mix_in_one_file);
  suite_add_tcase(s, leases);

  TCase *bad = tcase_create("bad lines");
  tcase_add_checked_fixture(bad, setup, teardown);
  tcase_add_test(bad,
                 bad_lines_are_skipped_with_one_warning_naming_file_and_line);
  tcase_add_test(bad,
                 a_line_naming_a_host_after_a_ctflow_instance_is_a_bad_line);
  tcase_add_test(bad, the_same_bad_lines_read_again_are_not_warned_about_again);
  suite_add_tcase(s, bad);

  TCase *refresh = tcase_create("refresh");
  tcase_add_checked_fixture(refresh, setup, teardown);
  tcase_add_test(refresh, a_changed_file_is_read_again_on_refresh);
  tcase_add_test(refresh, a_file_replaced_by_a_rename_is_read_again);
  tcase_add_test(refresh,
                 a_file_of_the_same_inode_size_and_time_is_not_read_again);
  tcase_add_test(refresh,
                 a_file_that_disappears_keeps_its_names_until_it_returns);
  tcase_add_test(
      refresh, a_missing_file_warns_naming_its_path_and_is_read_once_it_exists);
  tcase_add_test(refresh, a_directory_at_the_path_is_not_read_and_says_so);
  suite_add_tcase(s, refresh);

  TCase *wins = tcase_create("who wins");
  tcase_add_checked_fixture(wins, setup, teardown);
  tcase_add_test(wins, a_host_name_option_wins_over_a_file);
  tcase_add_test(wins, an_earlier_file_wins_over_a_later_one);
  tcase_add_test(wins, the_first_host_name_option_for_an_address_wins);
  suite_add_tcase(s, wins);

  TCase *name = tcase_create("what a name may be");
  tcase_add_checked_fixture(name, setup, teardown);
  tcase_add_test(
      name,
      characters_other_than_letters_digits_dot_dash_underscore_become_underscores);
  tcase_add_test(name,
                 a_name_longer_than_a_plugin_instance_holds_is_refused_not_cut);
  tcase_add_test(name, two_addresses_may_carry_the_same_name);
  tcase_add_test(name, ctflows_own_plugin_instances_are_refused_as_names);
  tcase_add_test(
      name,
      ctflows_own_plugin_instances_in_any_case_or_punctuation_are_refused);
  tcase_add_test(name, an_address_in_any_writers_spelling_is_refused_as_a_name);
  tcase_add_test(name, a_name_without_a_letter_or_digit_is_refused);
  tcase_add_test(name, a_host_name_address_that_does_not_parse_is_refused);
  tcase_add_test(name, a_relative_hosts_file_path_is_refused);
  suite_add_tcase(s, name);

  TCase *hostile = tcase_create("hostile leases");
  tcase_add_checked_fixture(hostile, setup, teardown);
  tcase_add_test(hostile, a_lease_name_equal_to_a_host_name_option_is_not_used);
  tcase_add_test(hostile,
                 a_lease_name_equal_to_a_host_name_in_another_case_is_not_used);
  tcase_add_test(hostile, a_lease_name_equal_to_an_etc_hosts_name_is_not_used);
  tcase_add_test(
      hostile, a_lease_name_equal_to_a_hosts_line_of_its_own_file_is_not_used);
  tcase_add_test(hostile, a_lease_name_two_clients_claim_names_neither);
  tcase_add_test(hostile,
                 the_first_line_of_two_clients_with_one_name_does_not_win);
  tcase_add_test(
      hostile, names_of_two_clients_that_differ_in_case_or_punctuation_are_one);
  tcase_add_test(
      hostile,
      names_of_two_clients_that_differ_only_in_non_ascii_bytes_are_one);
  tcase_add_test(hostile,
                 two_lease_names_equal_in_their_first_127_bytes_name_neither);
  tcase_add_test(hostile, a_lease_name_of_128_bytes_is_not_cut_but_not_used);
  tcase_add_test(hostile, a_lease_name_that_reads_as_an_address_is_not_used);
  tcase_add_test(hostile,
                 a_lease_name_of_a_ctflow_instance_in_any_case_is_not_used);
  tcase_add_test(hostile, a_lease_name_without_a_letter_or_digit_is_not_used);
  tcase_add_test(
      hostile,
      control_bytes_quotes_and_slashes_in_a_lease_name_become_underscores);
  tcase_add_test(hostile,
                 a_dual_stack_client_with_an_rfc4361_client_id_is_one_host);
  tcase_add_test(hostile,
                 a_client_whose_duid_is_not_its_v4_leases_is_another_client);
  tcase_add_test(hostile,
                 one_clients_two_spellings_of_its_name_go_out_as_the_first);
  tcase_add_test(hostile,
                 a_refused_lease_name_leaves_its_address_to_a_later_file);
  tcase_add_test(
      hostile,
      a_refused_lease_name_is_warned_about_saying_why_and_what_instead);
  tcase_add_test(
      hostile, a_lease_name_refused_again_on_later_reads_is_warned_about_once);
  tcase_add_test(hostile,
                 a_refusal_that_ends_and_comes_back_is_warned_about_again);
  tcase_add_test(hostile,
                 a_refused_name_its_host_goes_by_anyway_is_not_warned_about);
  suite_add_tcase(s, hostile);

  TCase *admin = tcase_create("the administrator's names");
  tcase_add_checked_fixture(admin, setup, teardown);
  tcase_add_test(
      admin,
      two_names_that_differ_in_case_are_one_series_spelled_as_given_first);
  tcase_add_test(
      admin, two_host_name_options_that_differ_in_punctuation_are_one_series);
  suite_add_tcase(s, admin);
  return s;
}

int main(void) { return run_suite(names_suite()); }
