/* regex-cost: what glibc's regcomp() and regexec() cost on regexes of a
 * given shape, and whether regex_limits.h lets each through: the
 * measurements behind the limits (docs/DESIGN.md, "Regex limits").
 *
 *   regex-cost                  the families below, one line each
 *   regex-cost search [N] [SEED]
 *                               grows random regexes within the limits
 *                               towards the slowest, N tries (20000)
 *   regex-cost 'REGEX'...       those regexes
 *
 * Times are this process's CPU time in ms: compiling (REG_EXTENDED |
 * REG_NOSUB, as ctflow does), then the slowest of matching four
 * addresses with a fresh regex_t (glibc builds its DFA states as it
 * matches, so a first match is the dearest). Not part of the test run: a
 * family such as "2" and 22 '+' takes seconds. */
#include <malloc.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "regex_limits.h"

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static const char *const ADDRESSES[] = {
    "192.168.1.23", "2001:db8:1::23", "255.255.255.255",
    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"};

/* Returns the compile plus the slowest match in ms, or -1 when regcomp
 * refuses the regex; *match gets the slowest match. */
static double cost(const char *regex, double *match) {
  regex_t re;
  double start = cpu_ms();
  if (regcomp(&re, regex, REG_EXTENDED | REG_NOSUB) != 0)
    return -1;
  double compiled = cpu_ms();
  *match = 0;
  for (size_t i = 0; i < sizeof(ADDRESSES) / sizeof(ADDRESSES[0]); i++) {
    double before = cpu_ms();
    regexec(&re, ADDRESSES[i], 0, NULL, 0);
    double spent = cpu_ms() - before;
    if (spent > *match)
      *match = spent;
  }
  regfree(&re);
  /* Give a huge regex's memory back now: the next regcomp() would pay
   * for it otherwise. */
  malloc_trim(0);
  return compiled - start + *match;
}

static void report(const char *regex) {
  double match = 0, total = cost(regex, &match);
  const char *why = regex_limits_check(regex, strlen(regex));
  char label[64];
  if (strlen(regex) < 48)
    snprintf(label, sizeof(label), "%s", regex);
  else
    snprintf(label, sizeof(label), "%.28s... (%zu bytes)", regex,
             strlen(regex));
  printf("%-47s %10.3f %10.3f  %s\n", label, total - match, match,
         total < 0 ? "regcomp refuses it"
         : why     ? "refused by the limits"
                   : "accepted");
  fflush(stdout);
}

/* Writes prefix, then count copies of unit, then suffix into out. */
static const char *repeat(char *out, size_t size, const char *prefix,
                          const char *unit, int count, const char *suffix) {
  size_t len = (size_t)snprintf(out, size, "%s", prefix);
  for (int i = 0; i < count && len < size; i++)
    len += (size_t)snprintf(out + len, size - len, "%s", unit);
  if (len < size)
    snprintf(out + len, size - len, "%s", suffix);
  return out;
}

static void families(void) {
  char r[8200], groups[64];
  printf("%-47s %10s %10s\n", "regex", "compile ms", "match ms");
  for (int k = 10; k <= 22; k += 2)
    report(repeat(r, sizeof(r), "2", "+", k, "")); /* stacked '+' */
  for (int n = 256; n <= 16384; n *= 4) {
    snprintf(r, sizeof(r), "2{1,%d}", n); /* one large count */
    report(r);
  }
  for (int n = 8; n <= 64; n *= 2) {
    snprintf(r, sizeof(r), "((2{1,%d}){1,%d}){1,%d}", n, n, n); /* nested */
    report(r);
  }
  for (int k = 8; k <= 16; k += 4) /* nested groups under '+' */
    report(repeat(r, sizeof(r), repeat(groups, sizeof(groups), "", "(", k, "2"),
                  ")+", k, ""));
  report("(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1x"); /* back-references */
  report("(\\b){1,64}");                          /* word assertions */
  report(repeat(r, sizeof(r), "", "\\b", 42, ""));
  report("(^){1,128}"); /* anchors repeated */
  report(repeat(r, sizeof(r), "", "^$", 64, ""));
  report("(|()+){1,16}"); /* repetitions of what can match nothing */
  report("(|(a?)*){1,16}");
  for (int n = 128; n <= 8192; n *= 4) { /* long alternations */
    repeat(r, sizeof(r), "", "1|", n / 2 - 1, "1");
    report(r);
  }
}

/* Tokens the search puts together: atoms, groups, quantifiers. */
static const char *const TOKENS[] = {"2",    ".",     "[0-9]",  "[[:xdigit:]]",
                                     "\\.",  ":",     "a",      "[^:]",
                                     "(",    ")",     "|",      "^",
                                     "$",    "()",    "a?",     "(a?)",
                                     "(|a)", "*",     "+",      "?",
                                     "{2}",  "{1,4}", "{1,16}", "{0,64}",
                                     "{3,}", "{1,2}", ".*",     "[a-f]+"};
#define TOKEN_COUNT (sizeof(TOKENS) / sizeof(TOKENS[0]))
#define POOL 32
#define MAX_REGEX 200

/* Writes into out regex with one token inserted, removed or replaced. */
static void mutate(const char *regex, char out[MAX_REGEX]) {
  int len = (int)strlen(regex), at = rand() % (len + 1), cut = 1 + rand() % 3;
  const char *token = TOKENS[rand() % TOKEN_COUNT];
  if (at + cut > len)
    cut = len - at;
  switch (len == 0 ? 0 : rand() % 3) {
  case 0:
    snprintf(out, MAX_REGEX, "%.*s%s%s", at, regex, token, regex + at);
    break;
  case 1:
    snprintf(out, MAX_REGEX, "%.*s%s", at, regex, regex + at + cut);
    break;
  default:
    snprintf(out, MAX_REGEX, "%.*s%s%s", at, regex, token, regex + at + cut);
  }
}

/* Grows regexes the limits accept towards the costliest: each try
 * mutates one of a pool and replaces the pool's cheapest when dearer. The
 * least of three measurements counts, against the noise of a shared
 * machine. */
static void search(long tries) {
  char pool[POOL][MAX_REGEX], worst[MAX_REGEX] = "";
  double pool_cost[POOL] = {0}, worst_cost = 0;
  for (int i = 0; i < POOL; i++)
    snprintf(pool[i], MAX_REGEX, "(a|b){1,8}");
  for (long t = 0; t < tries; t++) {
    char regex[MAX_REGEX];
    mutate(pool[rand() % POOL], regex);
    if (regex[0] == '\0' || regex_limits_check(regex, strlen(regex)))
      continue;
    double match, least = -1;
    for (int i = 0; i < 3; i++) {
      double c = cost(regex, &match);
      if (c >= 0 && (least < 0 || c < least))
        least = c;
    }
    if (least < 0)
      continue;
    int cheapest = 0;
    for (int i = 1; i < POOL; i++)
      if (pool_cost[i] < pool_cost[cheapest])
        cheapest = i;
    if (least > pool_cost[cheapest] || rand() % 8 == 0) {
      snprintf(pool[cheapest], MAX_REGEX, "%s", regex);
      pool_cost[cheapest] = least;
    }
    if (least > worst_cost) {
      worst_cost = least;
      snprintf(worst, MAX_REGEX, "%s", regex);
    }
  }
  printf("the costliest of %ld tries within the limits, %.3f ms:\n", tries,
         worst_cost);
  report(worst);
}

int main(int argc, char **argv) {
  if (argc == 1) {
    families();
    return 0;
  }
  if (strcmp(argv[1], "search") == 0) {
    srand(argc > 3 ? (unsigned)atoi(argv[3]) : 1);
    search(argc > 2 ? atol(argv[2]) : 20000);
    return 0;
  }
  for (int i = 1; i < argc; i++)
    report(argv[i]);
  return 0;
}
