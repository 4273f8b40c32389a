/* logs.h: a log_fn for the unit tests that keeps what the code under test
 * logged, so that a test can check what it said, at which priority and how
 * often, and what it warned about apart from what it merely told. */
#ifndef CTFLOW_TESTS_LOGS_H
#define CTFLOW_TESTS_LOGS_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#define LOGS_KEPT 16

static int logs;           /* lines logged since logs_clear() */
static int log_priority;   /* the last line's LOG_* */
static char last_log[512]; /* the last line */
/* The first LOGS_KEPT lines and their priorities. */
static char log_lines[LOGS_KEPT][512];
static int log_priorities[LOGS_KEPT];
/* Lines of LOG_WARNING or worse since logs_clear(), and the last of them. */
static int warnings;
static char last_warning[512];

static void record_log(int priority, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void record_log(int priority, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  vsnprintf(last_log, sizeof(last_log), format, ap);
  va_end(ap);
  log_priority = priority;
  if (logs < LOGS_KEPT) {
    memcpy(log_lines[logs], last_log, sizeof(last_log));
    log_priorities[logs] = priority;
  }
  logs++;
  if (priority <= LOG_WARNING) {
    memcpy(last_warning, last_log, sizeof(last_log));
    warnings++;
  }
}

static inline void logs_clear(void) {
  logs = 0;
  last_log[0] = '\0';
  warnings = 0;
  last_warning[0] = '\0';
}

/* Returns how many of the kept lines are of priority and contain word, and
 * word2 unless it is NULL. */
static inline int logged(int priority, const char *word, const char *word2) {
  int n = 0;
  for (int i = 0; i < logs && i < LOGS_KEPT; i++)
    n += log_priorities[i] == priority && strstr(log_lines[i], word) &&
         (word2 == NULL || strstr(log_lines[i], word2));
  return n;
}

#endif
