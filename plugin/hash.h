/* hash.h: the one hash of every ctflow table: SipHash-1-3 under a 128-bit
 * key drawn from the kernel when ctflow starts.
 *
 * The tables are keyed by what LAN guests choose: addresses (a guest picks
 * its own IPv6 addresses and any remote it likes), ports, lease names.
 * Their slots come from a hash's low bits, so with a hash anyone can
 * compute, a guest can choose keys that all land in one run of slots and
 * make every lookup walk it: a read then costs the square of the entries.
 * SipHash is a pseudorandom function of its key: without the key nobody
 * can tell which slots two inputs take. 1-3 (one round per 8-byte word,
 * three to finish) is the variant Rust's and Python's hash tables use: a
 * table needs no more than that outsiders cannot predict collisions.
 *
 * The inputs are short (17 to 40 bytes), and a read hashes a few per
 * conntrack entry, so the hash is inline, word by word; see docs/DESIGN.md
 * for what it costs. The result is SipHash of the bytes given, read as
 * SipHash reads them (little-endian words), on any host. */
#ifndef CTFLOW_HASH_H
#define CTFLOW_HASH_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ct_entry.h"

/* SipRounds per 8-byte word and to finish. A build may set others to
 * measure them (CFLAGS="-DHASH_C_ROUNDS=2 -DHASH_D_ROUNDS=4"). */
#ifndef HASH_C_ROUNDS
#define HASH_C_ROUNDS 1
#endif
#ifndef HASH_D_ROUNDS
#define HASH_D_ROUNDS 3
#endif

struct hash_key {
  uint64_t k0, k1;
};

/* The key every table hashes with. Set by hash_init() (or hash_set_key()),
 * before any table exists; never changed under a table. */
extern struct hash_key hash_secret;

/* Draws the key from the kernel (getrandom()) the first time it is called;
 * later calls keep the key there is, so that no table ever sees it change.
 * collector_new() calls it before it makes its tables; code that hashes
 * earlier must call it first. From one thread, before any other hashes.
 * Returns 0, or -1 with errno (no getrandom() in this kernel). */
int hash_init(void);

/* Makes key (16 bytes, as SipHash's key is written) the key, for tests and
 * benchmarks that must know where keys fall; hash_init() keeps it. Only
 * while no table exists. */
void hash_set_key(const uint8_t key[16]);

/* SipHash's state while it takes in its input. */
struct hasher {
  uint64_t v0, v1, v2, v3;
  uint64_t len; /* bytes taken in so far */
};

static inline uint64_t hash_rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

static inline void sip_rounds(struct hasher *s, int rounds) {
  for (int i = 0; i < rounds; i++) {
    s->v0 += s->v1;
    s->v1 = hash_rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = hash_rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = hash_rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = hash_rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = hash_rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = hash_rotl(s->v2, 32);
  }
}

static inline struct hasher sip_begin(const struct hash_key *key) {
  return (struct hasher){.v0 = key->k0 ^ 0x736f6d6570736575ull,
                         .v1 = key->k1 ^ 0x646f72616e646f6dull,
                         .v2 = key->k0 ^ 0x6c7967656e657261ull,
                         .v3 = key->k1 ^ 0x7465646279746573ull};
}

/* Takes in 8 bytes, the little-endian word m. */
static inline void sip_word(struct hasher *s, uint64_t m, int c_rounds) {
  s->v3 ^= m;
  sip_rounds(s, c_rounds);
  s->v0 ^= m;
  s->len += 8;
}

/* Returns the hash after the last tail_len (0 to 7) bytes, little-endian
 * in tail's low bytes; tail's other bytes must be zero. */
static inline uint64_t sip_end(struct hasher *s, uint64_t tail, size_t tail_len,
                               int c_rounds, int d_rounds) {
  uint64_t b = tail | (s->len + tail_len) << 56;
  s->v3 ^= b;
  sip_rounds(s, c_rounds);
  s->v0 ^= b;
  s->v2 ^= 0xff;
  sip_rounds(s, d_rounds);
  return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* Returns the 8 bytes at p as a little-endian word (one load on x86). */
static inline uint64_t hash_load64(const void *p) {
  uint64_t w;
  memcpy(&w, p, sizeof(w));
  return le64toh(w);
}

/* Returns SipHash-c-d of len bytes at p under key: the general form, which
 * the tests hold against SipHash-2-4's references. */
static inline uint64_t siphash(const struct hash_key *key, int c_rounds,
                               int d_rounds, const void *p, size_t len) {
  const unsigned char *b = p;
  struct hasher s = sip_begin(key);
  size_t whole = len & ~(size_t)7;
  for (size_t i = 0; i < whole; i += 8)
    sip_word(&s, hash_load64(b + i), c_rounds);
  uint64_t tail = 0;
  for (size_t i = len; i > whole; i--)
    tail = tail << 8 | b[i - 1];
  return sip_end(&s, tail, len - whole, c_rounds, d_rounds);
}

/* ctflow's hash, in steps: hash_begin(), then hash_word() and hash_addr_in()
 * for the key's fields, then hash_end() with the last bytes. */
static inline struct hasher hash_begin(void) { return sip_begin(&hash_secret); }

static inline void hash_word(struct hasher *s, uint64_t w) {
  sip_word(s, w, HASH_C_ROUNDS);
}

/* Takes in the 16 bytes of an address. */
static inline void hash_addr_in(struct hasher *s, const union ct_addr *addr) {
  hash_word(s, hash_load64(addr->b));
  hash_word(s, hash_load64(addr->b + 8));
}

static inline uint64_t hash_end(struct hasher *s, uint64_t tail,
                                size_t tail_len) {
  return sip_end(s, tail, tail_len, HASH_C_ROUNDS, HASH_D_ROUNDS);
}

/* Returns the hash of len bytes at p. */
static inline uint64_t hash_bytes(const void *p, size_t len) {
  return siphash(&hash_secret, HASH_C_ROUNDS, HASH_D_ROUNDS, p, len);
}

/* Returns the hash of an address and its family: its 16 bytes, then the
 * family's byte (an IPv4 address and the IPv6 one of the same bytes are
 * two hosts). */
static inline uint64_t hash_addr(uint8_t family, const union ct_addr *addr) {
  struct hasher s = hash_begin();
  hash_addr_in(&s, addr);
  return hash_end(&s, family, 1);
}

#endif
