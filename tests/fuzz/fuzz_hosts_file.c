/* fuzz_hosts_file.c: libFuzzer target over HostsFile (plugin/names.c):
 * /etc/hosts lines and dnsmasq lease lines, in any mix.
 *
 * Input: the bytes of one HostsFile; tests/fuzz/seeds/hosts_file/ holds
 * an /etc/hosts file, an OpenWrt lease file (IPv4 and IPv6 leases) and a
 * mix of both.
 *
 * What runs, through names.h alone, as ctflow.c uses it: names_new(), a
 * HostName (names_add()), names_add_file() of a temporary file holding the
 * input, names_refresh() (which reads it), then names_lookup() of every
 * word of the input that is an IPv4 or IPv6 address, and of the HostName's
 * address; then the file is rewritten with the input's first half and read
 * again, as when dnsmasq rewrites its lease file.
 *
 * Beyond the sanitizers, it checks what the series rely on: every name
 * found is one names_check() accepts, made safe (only [A-Za-z0-9._-], at
 * most NAMES_MAX_LEN characters); no two names found differ only in
 * their canonical form (name_rules.h: case and punctuation), which
 * collectd's writers would merge into one series; and the HostName wins
 * over the file.
 *
 *   build/fuzz/tests/fuzz/fuzz_hosts_file CORPUS_DIR   (tests/fuzz/run.sh) */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "datagram.h"
#include "name_rules.h"
#include "names.h"

#define HOST_NAME_ADDRESS "192.168.1.23"
#define HOST_NAME "laptop"

/* In memory when the machine has /dev/shm: on a disk file system,
 * truncating and rewriting a file thousands of times a second waits for
 * the disk (ext4 flushes a file rewritten after truncation). */
static char path[64];
static int fd = -1;

static void fail(const char *what) {
  fprintf(stderr, "fuzz_hosts_file: %s\n", what);
  abort();
}

static void remove_file(void) { unlink(path); }

/* Makes the file hold data[0, size), with a modification time of its own:
 * names_refresh() reads a file again when its size or time differ. */
static void write_file(const uint8_t *data, size_t size) {
  static long stamp;
  stamp++;
  struct timespec times[2] = {{.tv_sec = stamp}, {.tv_sec = stamp}};
  if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size ||
      futimens(fd, times) < 0)
    fail("cannot write the temporary HostsFile");
}

static bool safe_name(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len > NAMES_MAX_LEN || names_check(name) != NULL)
    return false;
  return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789._-") == len;
}

/* The names found for one version of the file, to compare. */
#define FOUND_MAX 256
static const char *found[FOUND_MAX];
static size_t found_count;

/* Fails when name and a name found before are one name to a writer but
 * spelt differently. */
static void check_spelling(const char *name) {
  for (size_t i = 0; i < found_count; i++)
    if (name_rules_compare(found[i], name) == 0 && strcmp(found[i], name) != 0)
      fail("two names differing only in case or punctuation went out");
  if (found_count < FOUND_MAX)
    found[found_count++] = name;
}

/* Looks up the address text, when it is one, and checks its name. */
static void look_up(const struct names *n, const char *text) {
  union ct_addr addr = {0};
  uint8_t family = AF_INET;
  if (inet_pton(AF_INET, text, &addr.v4) != 1) {
    family = AF_INET6;
    if (inet_pton(AF_INET6, text, &addr.v6) != 1)
      return;
  }
  const char *name = names_lookup(n, family, &addr);
  if (name == NULL)
    return;
  if (!safe_name(name))
    fail("a name that is not safe as a collectd identifier was kept");
  check_spelling(name);
}

/* Looks up every word of text[0, size) that is an address. */
static void look_up_words(const struct names *n, const uint8_t *data,
                          size_t size) {
  char word[64];
  size_t len = 0;
  for (size_t i = 0; i <= size; i++) {
    bool space = i == size || strchr(" \t\r\n#", data[i]);
    if (!space && len < sizeof(word) - 1) {
      word[len++] = (char)data[i];
      continue;
    }
    if (space && len > 0) {
      word[len] = '\0';
      look_up(n, word);
    }
    if (space)
      len = 0;
  }
}

/* Reads the file again and looks up every address in it: names are
 * valid until the next names_refresh(). */
static void refresh_and_check(struct names *n, const uint8_t *data,
                              size_t size) {
  write_file(data, size);
  names_refresh(n);
  found_count = 0;
  union ct_addr addr = {0};
  inet_pton(AF_INET, HOST_NAME_ADDRESS, &addr.v4);
  const char *name = names_lookup(n, AF_INET, &addr);
  if (name == NULL || strcmp(name, HOST_NAME) != 0)
    fail("the HostName did not win over the file");
  check_spelling(name);
  look_up_words(n, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fd < 0) {
    snprintf(path, sizeof(path), "%s/ctflow-fuzz-hosts-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    fd = mkstemp(path);
    if (fd < 0)
      fail("cannot make a temporary HostsFile");
    atexit(remove_file);
  }
  struct names *n = names_new(fuzz_quiet_log);
  if (n == NULL || names_add(n, HOST_NAME_ADDRESS, HOST_NAME) < 0 ||
      names_add_file(n, path) < 0)
    abort();
  refresh_and_check(n, data, size);
  refresh_and_check(n, data, size / 2);
  names_free(n);
  return 0;
}
