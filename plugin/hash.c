/* hash.c: the key's life. It is drawn once per process, before the first
 * table is made, and never changes: a table's items sit in the slots the
 * key gave them, so a new key would lose them all. */
#include "hash.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/random.h>

struct hash_key hash_secret;
static bool key_set;

int hash_init(void) {
  uint8_t key[16];
  size_t got = 0;
  if (key_set)
    return 0;
  /* Flags 0: the kernel's pool, waiting only until it is first seeded
   * (early in boot); a read of 16 bytes is then never cut short, but a
   * signal may interrupt the wait. */
  while (got < sizeof(key)) {
    ssize_t n = getrandom(key + got, sizeof(key) - got, 0);
    if (n < 0 && errno != EINTR)
      return -1;
    if (n > 0)
      got += (size_t)n;
  }
  hash_set_key(key);
  return 0;
}

void hash_set_key(const uint8_t key[16]) {
  hash_secret = (struct hash_key){hash_load64(key), hash_load64(key + 8)};
  key_set = true;
}
