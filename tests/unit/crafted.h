/* crafted.h: keys that an outsider who knew ctflow's hash key would
 * choose, for the tests that prove each table keys its hash.
 *
 * Each such test tries candidates under KNOWN_KEY and keeps those that
 * fall into one run of slots (seen from the table itself: where an item
 * lands in an empty one, or whether two land side by side). Then, under
 * SECRET_KEY, a key the crafter did not have, the same keys must spread:
 * their longest run at most a quarter of them (random keys in a table at
 * most half full make runs of a tenth or so); and under KNOWN_KEY they
 * must make one run of them all, or the test proves nothing. Both keys
 * are fixed, so every run gives the same figures. A table is made after
 * its key is set: it must never see its key change. */
#ifndef CTFLOW_TESTS_CRAFTED_H
#define CTFLOW_TESTS_CRAFTED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ct_entry.h"

/* SipHash's reference key, 00 01 .. 0f: the one the crafter knows. */
static const uint8_t KNOWN_KEY[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                      8, 9, 10, 11, 12, 13, 14, 15};

/* Any other: what a running ctflow draws at start. */
static const uint8_t SECRET_KEY[16] = {0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56,
                                       0x9e, 0x37, 0x79, 0xb9, 0x7f, 0x4a,
                                       0x7c, 0x15, 0xd1, 0x0b};

/* Returns the i-th candidate address: 2001:db8:ee::/48 plus i, as a guest
 * would pick remotes (or its own addresses) by the thousand. */
static inline union ct_addr crafted_candidate(uint64_t i) {
  union ct_addr addr = {.b = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0xee}};
  for (int b = 15; b >= 8; b--, i >>= 8)
    addr.b[b] = (uint8_t)i;
  return addr;
}

/* Returns the longest run of occupied slots among count slots of width
 * bytes each (all zero bytes: a free slot), round the end too. */
static inline size_t longest_run(const void *slots, size_t count,
                                 size_t width) {
  static const unsigned char free_slot[16];
  const unsigned char *p = slots;
  size_t longest = 0, run = 0;
  for (size_t i = 0; i < 2 * count && longest < count; i++) {
    bool taken = memcmp(p + (i % count) * width, free_slot, width) != 0;
    run = taken ? run + 1 : 0;
    if (run > longest)
      longest = run;
  }
  return longest;
}

#endif
