/* collectd_stub.h: ctflow's collectd glue (plugin/ctflow.c) run without the
 * collectd daemon. A test program compiles ctflow.c in (with collectd's
 * headers, as Makefile.am builds the plugin) and links collectd_stub.c,
 * which stands in for the few functions of collectd that ctflow.c calls:
 * the plugin_register_* calls keep ctflow's callbacks, plugin_log and
 * plugin_dispatch_values keep what ctflow logged and dispatched. Tests
 * then play collectd's part: configuration text in, config callback per
 * <Plugin ctflow> block, init, reads, shutdown.
 *
 * ctflow.c keeps its state in statics: one configuration per process.
 * Check's fork mode gives each test a process, so a fresh ctflow, of its
 * own. Nothing here allocates after stub_register() but the configuration
 * parser, so that what the code under test allocates can be counted
 * apart (alloc_fail.h). plugin_log takes a lock, as ctflow's event
 * reader thread logs too; the rest is for the test's thread alone, which
 * reads the records between ctflow's calls. */
#ifndef CTFLOW_TESTS_COLLECTD_STUB_H
#define CTFLOW_TESTS_COLLECTD_STUB_H

#include "collectd.h"
#include "plugin.h"

#include <stdbool.h>

/* Value lists kept, in order; the rest are only counted. */
#define STUB_DISPATCH_KEPT 2048

struct stub_value_list {
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  value_t values[2];
  size_t values_len;
};

/* What ctflow dispatched since stub_register() or stub_clear(). */
extern struct stub_value_list stub_dispatched[STUB_DISPATCH_KEPT];
extern int stub_dispatches;

/* Calls ctflow's module_register() (as collectd's LoadPlugin does) and
 * forgets what was logged and dispatched. */
void stub_register(void);

/* Forgets what was logged and dispatched. */
void stub_clear(void);

/* Returns the root of a configuration written as in collectd.conf, or NULL
 * (after printing why) when the text is not one. The subset parsed: one
 * option a line, "Key value...", values in double quotes (a backslash
 * keeps the next character), numbers (strtod's), true/yes/on and
 * false/no/off as booleans, anything else a bare string; blocks
 * "<Key value...>" ... "</Key>", nested; '#' comments. */
oconfig_item_t *stub_config_parse(const char *text);
void stub_config_free(oconfig_item_t *root);

/* Calls ctflow's config callback once for each <Plugin ctflow> block of
 * root, as collectd does. Returns 0, or the first non-zero return. */
int stub_config_dispatch(oconfig_item_t *root);

/* Parses text and dispatches it. Returns 0, or non-zero when it does not
 * parse or a callback returned non-zero. */
int stub_configure(const char *text);

/* Call ctflow's init, read and shutdown callbacks; return what they did. */
int stub_init(void);
int stub_read(void);
int stub_shutdown(void);

/* What ctflow logged, kept as logs.h keeps it (its first LOGS_KEPT
 * lines). Returns how many lines it logged. */
int stub_logs(void);

/* Returns how many of the kept lines are of priority and contain word, and
 * word2 unless it is NULL. */
int stub_logged(int priority, const char *word, const char *word2);

/* Returns how many of the kept lines are errors (LOG_ERR) or worse. */
int stub_errors(void);

/* Returns kept line i and its priority, or NULL beyond the kept ones. */
const char *stub_log_line(int i, int *priority);

/* Returns the last value list dispatched under plugin instance, type and
 * type instance ("" for none), or NULL. */
const struct stub_value_list *stub_find(const char *plugin_instance,
                                        const char *type,
                                        const char *type_instance);

#endif
