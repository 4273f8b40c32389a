/* hash.h: a fast 64-bit hash of small fixed-size keys (tuples, addresses).
 * Not cryptographic: the kernel's own table already decides which entries
 * exist; this only spreads them over ctflow's buckets. */
#ifndef CTFLOW_HASH_H
#define CTFLOW_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Returns x with every bit mixed into every other (SplitMix64's finaliser). */
static inline uint64_t hash_mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

/* Returns the hash of len bytes (len a multiple of 4) starting from seed. */
static inline uint64_t hash_bytes(const void *key, size_t len, uint64_t seed) {
  const unsigned char *p = key;
  uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ull);
  for (; len >= 8; len -= 8, p += 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = hash_mix64(h ^ w);
  }
  if (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    h = hash_mix64(h ^ w);
  }
  return h;
}

#endif
