/* regex_limits.c: one pass over a regex's text. It counts the atoms with
 * every repetition written out as glibc's regcomp writes it (a+ as a a*,
 * a{m,n} as n copies of a, the last n - m optional, a{m,} as m copies and
 * a*; * and ? make no copy), and knows for each group whether it holds an
 * anchor and whether it can match the empty string. Sizes saturate just
 * above the limit, so nothing overflows whatever the counts. */
#include "regex_limits.h"

#include <stdbool.h>
#include <stdint.h>

#define STR(x) #x
#define STRING(x) STR(x)

/* Any size beyond the limit is as bad as this one. */
#define TOO_MANY (REGEX_MAX_ATOMS + 1)

static uint32_t saturate(uint64_t n) { return n > TOO_MANY ? TOO_MANY : n; }

/* A group being read: its alternatives so far, the one being read, and
 * the size of that one's last item, which a quantifier multiplies; whether
 * it holds an anchor, and whether its last item is or holds one; whether
 * an alternative so far, the one being read before its last item, and
 * that item, can match the empty string. */
struct group {
  uint32_t alternatives, sequence, last;
  bool anchored, last_anchored;
  bool empty_alternative, empty_before_last, empty_last;
};

/* A group just opened: its first alternative, empty so far. */
static const struct group OPENED = {.empty_before_last = true,
                                    .empty_last = true};

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Reads the digits at *p into a count (saturated). Returns whether there
 * were any. */
static bool read_count(const char **p, const char *end, uint32_t *count) {
  const char *start = *p;
  uint64_t n = 0;
  for (; *p < end && is_digit(**p); (*p)++)
    n = saturate(n * 10 + (uint64_t)(**p - '0'));
  *count = (uint32_t)n;
  return *p > start;
}

/* A quantifier: how many copies of its operand regcomp makes, whether it
 * loops (*, +, {m,}) and whether it may match its operand no time. */
struct quantifier {
  uint32_t copies;
  bool loops, optional;
};

/* Reads an interval {m}, {m,}, {m,n} or {,n} at *p (its '{') into *q.
 * Returns whether it is one (else regcomp takes the '{' as a character or
 * refuses it). */
static bool read_interval(const char **p, const char *end,
                          struct quantifier *quantifier) {
  const char *q = *p + 1;
  uint32_t m = 0, n = 0;
  bool has_m = read_count(&q, end, &m), comma = q < end && *q == ',';
  if (comma)
    q++;
  bool has_n = comma && read_count(&q, end, &n);
  if ((!has_m && !has_n) || q >= end || *q != '}')
    return false;
  *p = q + 1;
  quantifier->loops = comma && !has_n;
  quantifier->optional = m == 0;
  if (quantifier->loops)
    quantifier->copies = saturate((uint64_t)m + 1); /* m copies, then a* */
  else
    quantifier->copies = has_n && n > m ? n : (m > 0 ? m : 1);
  return true;
}

/* Reads the quantifier at *p, if one is there. */
static bool read_quantifier(const char **p, const char *end,
                            struct quantifier *q) {
  switch (**p) {
  case '*':
    *q = (struct quantifier){.copies = 1, .loops = true, .optional = true};
    break;
  case '?':
    *q = (struct quantifier){.copies = 1, .optional = true};
    break;
  case '+':
    *q = (struct quantifier){.copies = 2, .loops = true};
    break;
  case '{':
    return read_interval(p, end, q);
  default:
    return false;
  }
  (*p)++;
  return true;
}

/* Skips the bracket expression at *p (its '['): "]" right after "[" or
 * "[^" is a member, and "[:", "[=", "[." open classes that end at ":]",
 * "=]", ".]". An unterminated one runs to the end (regcomp refuses it). */
static void skip_bracket(const char **p, const char *end) {
  const char *q = *p + 1;
  if (q < end && *q == '^')
    q++;
  if (q < end && *q == ']')
    q++;
  while (q < end && *q != ']') {
    if (*q == '[' && q + 1 < end &&
        (q[1] == ':' || q[1] == '=' || q[1] == '.')) {
      char close = q[1];
      for (q += 2; q + 1 < end && !(q[0] == close && q[1] == ']'); q++)
        ;
      q += 2;
    } else {
      q++;
    }
  }
  *p = q < end ? q + 1 : end;
}

static const char *const TOO_LONG =
    "a regex of at most " STRING(REGEX_MAX_LEN) " bytes";
static const char *const BACK_REFERENCE =
    "a regex without back-references (\\1 to \\9: matching them takes "
    "time exponential in the groups)";
static const char *const ASSERTION =
    "a regex without GNU's word assertions (\\b, \\B, \\<, \\>, \\`, \\': "
    "a run of them takes regcomp seconds; ^ and $ anchor an address)";
static const char *const STACKED =
    "a regex without a quantifier right after another (a++, a*?, a{2}+: "
    "POSIX has no such thing, and each doubles regcomp's work)";
static const char *const EMPTY_REPEATED =
    "a regex without a repetition of what can match nothing ((a?)*, "
    "(a|){3}, ()+: write a* or a{0,3}), which costs regcomp time "
    "exponential in the repetitions around it";
static const char *const ANCHORS = "a regex of at most " STRING(
    REGEX_MAX_ANCHORS) " anchors (^ and $), none under a repetition "
                       "such as (^a)+";
static const char *const TOO_MANY_ATOMS = "a regex of at most " STRING(
    REGEX_MAX_ATOMS) " atoms with its repetitions written out (a+ "
                     "counts 2, a{2,5} 5, (ab){3} 6, and nested "
                     "repetitions multiply)";

/* The regex read so far: its open groups, the whole regex at the bottom
 * (one group per '(' at most), and what the limits count. */
struct scan {
  struct group groups[REGEX_MAX_LEN + 1];
  size_t depth, anchors;
  bool after_quantifier;
};

static uint32_t group_size(const struct group *g) {
  uint32_t size = saturate((uint64_t)g->alternatives + g->sequence);
  return size > 0 ? size : 1; /* "()" still costs regcomp a node */
}

static bool group_can_be_empty(const struct group *g) {
  return g->empty_alternative || (g->empty_before_last && g->empty_last);
}

/* Appends an item of size atoms to the innermost group. */
static void add_item(struct scan *s, uint32_t size, bool anchored, bool empty) {
  struct group *g = &s->groups[s->depth];
  g->empty_before_last = g->empty_before_last && g->empty_last;
  g->sequence = saturate((uint64_t)g->sequence + size);
  g->last = size;
  g->last_anchored = anchored;
  g->anchored |= anchored;
  g->empty_last = empty;
  s->after_quantifier = false;
}

/* Applies quantifier q to the innermost group's last item. Returns NULL or
 * the limit it breaks. */
static const char *quantify(struct scan *s, const struct quantifier *q) {
  struct group *g = &s->groups[s->depth];
  if (s->after_quantifier)
    return STACKED;
  if (g->last == 0) { /* nothing to repeat: regcomp's to judge */
    add_item(s, 1, false, false);
    return NULL;
  }
  /* A repeated anchor makes chains of empty transitions, and so does any
   * repetition of what can match nothing (a loop makes cycles of them):
   * regcomp closes over them at a cost far beyond their count. Making
   * it optional once (?) adds one. */
  if (g->last_anchored)
    return ANCHORS;
  if (g->empty_last && (q->loops || q->copies > 1))
    return EMPTY_REPEATED;
  uint32_t grown = saturate((uint64_t)g->last * q->copies);
  g->sequence = saturate((uint64_t)g->sequence - g->last + grown);
  g->last = grown;
  g->empty_last |= q->optional;
  s->after_quantifier = true;
  return NULL;
}

static void open_group(struct scan *s) {
  s->groups[++s->depth] = OPENED;
  s->after_quantifier = false;
}

static void close_group(struct scan *s) {
  const struct group *closed = &s->groups[s->depth--];
  add_item(s, group_size(closed), closed->anchored, group_can_be_empty(closed));
}

static void next_alternative(struct scan *s) {
  struct group *g = &s->groups[s->depth];
  g->alternatives = saturate((uint64_t)g->alternatives + g->sequence);
  g->empty_alternative |= g->empty_before_last && g->empty_last;
  g->sequence = g->last = 0;
  g->last_anchored = false;
  g->empty_before_last = g->empty_last = true;
  s->after_quantifier = false;
}

/* Returns whether the escape at p (its backslash) is one of GNU's
 * zero-width assertions: word boundaries, buffer start and end. */
static bool is_assertion(const char *p, const char *end) {
  return p + 1 < end && (p[1] == 'b' || p[1] == 'B' || p[1] == '<' ||
                         p[1] == '>' || p[1] == '`' || p[1] == '\'');
}

/* Reads the item at *p: an escape, a bracket expression, an anchor or a
 * character. Returns NULL or the limit it breaks. */
static const char *read_atom(struct scan *s, const char **p, const char *end) {
  const char *at = *p;
  if (*at == '\\' && at + 1 < end && at[1] >= '1' && at[1] <= '9')
    return BACK_REFERENCE;
  if (*at == '\\' && is_assertion(at, end))
    return ASSERTION;
  bool anchor = *at == '^' || *at == '$';
  if (anchor && ++s->anchors > REGEX_MAX_ANCHORS)
    return ANCHORS;
  if (*at == '[')
    skip_bracket(p, end);
  else
    *p += *at == '\\' && at + 1 < end ? 2 : 1;
  add_item(s, 1, anchor, anchor);
  return NULL;
}

const char *regex_limits_check(const char *pattern, size_t len) {
  if (len > REGEX_MAX_LEN)
    return TOO_LONG;
  struct scan s = {.groups = {OPENED}};
  const char *p = pattern, *end = pattern + len, *broken = NULL;
  while (p < end && broken == NULL) {
    struct quantifier q;
    if (read_quantifier(&p, end, &q))
      broken = quantify(&s, &q);
    else if (*p == '(')
      open_group(&s), p++;
    else if (*p == ')' && s.depth > 0)
      close_group(&s), p++;
    else if (*p == '|')
      next_alternative(&s), p++;
    else
      broken = read_atom(&s, &p, end);
  }
  /* Unclosed groups: regcomp refuses them, but count them all the same. */
  while (broken == NULL && s.depth > 0)
    close_group(&s);
  if (broken == NULL && group_size(&s.groups[0]) > REGEX_MAX_ATOMS)
    broken = TOO_MANY_ATOMS;
  return broken;
}
