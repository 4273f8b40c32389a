/* check_hash.c: ctflow's hash is SipHash, under the key it was given.
 *
 * The oracle is libsodium's crypto_shorthash (SipHash-2-4): the same code
 * run with 2 and 4 rounds must agree with it on every length and key;
 * ctflow runs it with 1 and 3, checked against the published SipHash-1-3
 * reference values. */
#include <check.h>
#include <sodium.h>
#include <stdint.h>

#include "crafted.h"
#include "entries.h"
#include "hash.h"

/* The reference message of length n: the bytes 00 01 02 ... n-1. */
static void reference_message(unsigned char *m, size_t n) {
  for (size_t i = 0; i < n; i++)
    m[i] = (unsigned char)i;
}

static struct hash_key key_of(const uint8_t bytes[16]) {
  return (struct hash_key){hash_load64(bytes), hash_load64(bytes + 8)};
}

/* Fills len bytes at p from a linear congruential generator on *state:
 * keys and messages that differ in every byte, the same on every run. */
static void fill(uint64_t *state, unsigned char *p, size_t len) {
  for (size_t i = 0; i < len; i++) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = (unsigned char)(*state >> 56);
  }
}

START_TEST(siphash_2_4_agrees_with_libsodium_on_every_length_and_key) {
  ck_assert_int_ge(sodium_init(), 0);
  unsigned char key[crypto_shorthash_KEYBYTES], m[200], out[8];
  uint64_t state = 1;
  for (int k = 0; k < 16; k++) {
    fill(&state, key, sizeof(key));
    fill(&state, m, sizeof(m));
    struct hash_key ours = key_of(key);
    for (size_t n = 0; n <= sizeof(m); n++) {
      crypto_shorthash(out, m, n, key);
      if (siphash(&ours, 2, 4, m, n) != hash_load64(out))
        ck_abort_msg("key %d, %zu bytes: %016jx, libsodium %016jx", k, n,
                     (uintmax_t)siphash(&ours, 2, 4, m, n),
                     (uintmax_t)hash_load64(out));
    }
  }
}
END_TEST

START_TEST(siphash_1_3_gives_the_reference_values) {
  /* SipHash-1-3 of 00 01 .. n-1 under the key 00 01 .. 0f, as the
   * reference implementation (github.com/veorq/SipHash, cROUNDS=1,
   * dROUNDS=3) prints them: no input, a partial word, a whole word, a
   * word and seven bytes. */
  static const struct {
    size_t len;
    uint64_t hash;
  } reference[] = {
      {0, 0xabac0158050fc4dcull}, {1, 0xc9f49bf37d57ca93ull},
      {2, 0x82cb9b024dc7d44dull}, {3, 0x8bf80ab8e7ddf7fbull},
      {8, 0x369095118d299a8eull}, {15, 0xd320d86d2a519956ull},
  };
  struct hash_key key = key_of(KNOWN_KEY);
  unsigned char m[16];
  reference_message(m, sizeof(m));
  for (size_t i = 0; i < sizeof(reference) / sizeof(reference[0]); i++)
    ck_assert_uint_eq(siphash(&key, 1, 3, m, reference[i].len),
                      reference[i].hash);
}
END_TEST

START_TEST(hash_bytes_is_siphash_1_3_under_the_key_set) {
  unsigned char m[15];
  reference_message(m, sizeof(m));
  hash_set_key(KNOWN_KEY);
  ck_assert_uint_eq(hash_bytes(m, 15), 0xd320d86d2a519956ull);
}
END_TEST

START_TEST(an_address_hashes_as_its_16_bytes_and_its_family) {
  union ct_addr addr = addr_of(LAPTOP6);
  unsigned char bytes[17];
  memcpy(bytes, addr.b, 16);
  bytes[16] = AF_INET6;
  hash_set_key(KNOWN_KEY);
  ck_assert_uint_eq(hash_addr(AF_INET6, &addr), hash_bytes(bytes, 17));
}
END_TEST

START_TEST(a_word_hashes_as_its_8_bytes_little_endian) {
  unsigned char m[8];
  reference_message(m, sizeof(m));
  hash_set_key(KNOWN_KEY);
  struct hasher s = hash_begin();
  hash_word(&s, 0x0706050403020100ull);
  ck_assert_uint_eq(hash_end(&s, 0, 0), hash_bytes(m, 8));
}
END_TEST

START_TEST(hash_init_draws_a_key) {
  unsigned char m[15];
  reference_message(m, sizeof(m));
  uint64_t unkeyed = hash_bytes(m, 15);
  ck_assert_int_eq(hash_init(), 0);
  ck_assert_uint_ne(hash_bytes(m, 15), unkeyed);
}
END_TEST

START_TEST(hash_init_keeps_the_key_there_is) {
  unsigned char m[15];
  reference_message(m, sizeof(m));
  hash_set_key(KNOWN_KEY);
  ck_assert_int_eq(hash_init(), 0);
  ck_assert_uint_eq(hash_bytes(m, 15), 0xd320d86d2a519956ull);
  ck_assert_int_eq(hash_init(), 0);
  ck_assert_uint_eq(hash_bytes(m, 15), 0xd320d86d2a519956ull);
}
END_TEST

static Suite *hash_suite(void) {
  Suite *s = suite_create("hash");
  TCase *siphash = tcase_create("SipHash");
  tcase_add_test(siphash,
                 siphash_2_4_agrees_with_libsodium_on_every_length_and_key);
  tcase_add_test(siphash, siphash_1_3_gives_the_reference_values);
  tcase_add_test(siphash, hash_bytes_is_siphash_1_3_under_the_key_set);
  tcase_add_test(siphash, an_address_hashes_as_its_16_bytes_and_its_family);
  tcase_add_test(siphash, a_word_hashes_as_its_8_bytes_little_endian);
  suite_add_tcase(s, siphash);
  TCase *key = tcase_create("the key");
  tcase_add_test(key, hash_init_draws_a_key);
  tcase_add_test(key, hash_init_keeps_the_key_there_is);
  suite_add_tcase(s, key);
  return s;
}

int main(void) { return run_suite(hash_suite()); }
