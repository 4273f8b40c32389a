/* regex_limits.h: whether a POSIX extended regex is cheap enough to hand
 * to glibc's regcomp() and regexec(), judged from its text before either
 * runs. A regex comes from the configuration, but one option must not be
 * able to stall collectd's start for seconds or its reads for longer.
 *
 * What costs, measured (docs/DESIGN.md, "Regex limits"): regcomp copies
 * the operand of a+ (as a a*) and of a{m,n} (n times), copies of copies
 * multiply, and its time grows faster than the copies: "2" followed by 20
 * '+' takes 2 s, by 22 '+' 10 s. Back-references (\1 to \9) make regexec
 * backtrack: (.*)(.*)(.*)(.*)(.*)\5\4\3\2\1x takes a second against one
 * address. Length costs little but for alternations (quadratic).
 *
 * So a regex must be at most REGEX_MAX_LEN bytes, have no back-reference,
 * no quantifier right after another (a++, a*?: POSIX has no such thing,
 * and each doubles regcomp's work), and be at most REGEX_MAX_ATOMS atoms
 * long with its repetitions written out (a+ counts 2, a{2,5} 5, (ab){3} 6,
 * through nested groups). Every regex within these compiles and matches
 * an address in well under a millisecond on the machines measured. */
#ifndef CTFLOW_REGEX_LIMITS_H
#define CTFLOW_REGEX_LIMITS_H

#include <stddef.h>

#define REGEX_MAX_LEN 128
#define REGEX_MAX_ATOMS 32
#define REGEX_MAX_ANCHORS 8

/* Returns NULL when the len bytes of pattern are within the limits above,
 * or what a regex must be instead, for an error message that reads
 * "expected <it>". Whether the regex is valid is regcomp's to say. */
const char *regex_limits_check(const char *pattern, size_t len);

#endif
