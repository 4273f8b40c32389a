/* fuzz_config.c: libFuzzer target over ctflow's option parsers, the
 * config callback of plugin/ctflow.c, run without collectd through the
 * collectd stub (tests/unit/collectd_stub.h).
 *
 * Input: a <Plugin ctflow> block's lines, one option a line: a name, then
 * values separated by blanks: "text in double quotes" (a string; no
 * escapes), true or false (a boolean), what strtod() reads whole (a
 * number), anything else a bare string, as collectd's own parser makes of
 * them. The input becomes an oconfig_item_t block directly, without a
 * parser of collectd's syntax. A name that is one of the README's
 * options, in any case, is that option; any other is kept as it is (an
 * unknown option). tests/fuzz/seeds/config/ holds the README's "every
 * option at once" block and a few bad ones.
 *
 * What runs: stub_register() once (module_register()), then for each
 * input the config callback on the block (stub_config_dispatch()) and
 * the shutdown callback, which frees what the options made: so that
 * LeakSanitizer sees an option that leaks, and the next input starts from
 * ctflow as loaded.
 *
 * Beyond the sanitizers, it checks what users rely on (README, "Options"):
 * a block logs at most one error, and that error names the option it is
 * about.
 *
 *   build/fuzz/tests/fuzz/fuzz_config CORPUS_DIR   (tests/fuzz/run.sh) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collectd_stub.h"

/* The README's options table. */
static const char *const options[] = {"LocalNetwork",  "MaxHosts",
                                      "Events",        "EventBufferSize",
                                      "TopFlows",      "FlowKey",
                                      "MaxFlowKeys",   "ForgetAfter",
                                      "NetNamespace",  "EnableAccounting",
                                      "HostName",      "HostsFile",
                                      "Protocol",      "Zone",
                                      "Mark",          "Host",
                                      "IgnoreSelected"};
#define OPTIONS (sizeof(options) / sizeof(options[0]))

/* At most this many options a block and values an option: enough to
 * reach every limit ctflow enforces per line (64 CIDRs, 64 marks). */
#define MAX_OPTIONS 256
#define MAX_VALUES 80
#define MAX_WORD 256

static void fail(const char *what) {
  fprintf(stderr, "fuzz_config: %s\n", what);
  abort();
}

static void *must(void *p) {
  if (p == NULL)
    abort();
  return p;
}

/* Returns the option name word stands for: one of options[], or word. */
static const char *option_name(const char *word) {
  for (size_t i = 0; i < OPTIONS; i++)
    if (strcasecmp(word, options[i]) == 0)
      return options[i];
  return word;
}

/* Reads the next word of line[*at, len) into word; a quoted one without
 * its quotes. Returns 1 for a quoted word, 0 for a bare one, -1 at the end
 * of the line. */
static int next_word(const char *line, size_t len, size_t *at,
                     char word[MAX_WORD]) {
  while (*at < len && (line[*at] == ' ' || line[*at] == '\t'))
    ++*at;
  if (*at >= len)
    return -1;
  bool quoted = line[*at] == '"';
  size_t n = 0;
  if (quoted)
    ++*at;
  for (; *at < len; ++*at) {
    char c = line[*at];
    if (quoted ? c == '"' : c == ' ' || c == '\t')
      break;
    if (n < MAX_WORD - 1)
      word[n++] = c;
  }
  if (quoted && *at < len)
    ++*at; /* the closing quote */
  word[n] = '\0';
  return quoted;
}

/* Makes a value of word as collectd's parser would. */
static oconfig_value_t value_of(const char *word, bool quoted) {
  oconfig_value_t v = {.type = OCONFIG_TYPE_STRING};
  char *end;
  if (!quoted &&
      (strcasecmp(word, "true") == 0 || strcasecmp(word, "false") == 0)) {
    v.type = OCONFIG_TYPE_BOOLEAN;
    v.value.boolean = strcasecmp(word, "true") == 0;
    return v;
  }
  if (!quoted && word[0] != '\0') {
    double d = strtod(word, &end);
    if (*end == '\0') {
      v.type = OCONFIG_TYPE_NUMBER;
      v.value.number = d;
      return v;
    }
  }
  v.value.string = must(strdup(word));
  return v;
}

/* Fills option with the line's name and values; returns false for a line
 * without a word. */
static bool parse_line(const char *line, size_t len, oconfig_item_t *option) {
  char word[MAX_WORD];
  size_t at = 0;
  if (next_word(line, len, &at, word) < 0)
    return false;
  option->key = must(strdup(option_name(word)));
  option->values = must(calloc(MAX_VALUES, sizeof(*option->values)));
  int quoted;
  while (option->values_num < MAX_VALUES &&
         (quoted = next_word(line, len, &at, word)) >= 0)
    option->values[option->values_num++] = value_of(word, quoted);
  return true;
}

/* Returns a configuration root holding one <Plugin ctflow> block of the
 * input's lines. */
static oconfig_item_t *build_config(const uint8_t *data, size_t size) {
  oconfig_item_t *root = must(calloc(1, sizeof(*root)));
  root->key = must(strdup("root"));
  root->children = must(calloc(1, sizeof(*root->children)));
  root->children_num = 1;
  oconfig_item_t *block = &root->children[0];
  block->key = must(strdup("Plugin"));
  block->values = must(calloc(1, sizeof(*block->values)));
  block->values[0] = value_of("ctflow", true);
  block->values_num = 1;
  block->parent = root;
  block->children = must(calloc(MAX_OPTIONS, sizeof(*block->children)));
  const char *text = (const char *)data;
  for (size_t start = 0; start < size && block->children_num < MAX_OPTIONS;) {
    const char *nl = memchr(text + start, '\n', size - start);
    size_t end = nl ? (size_t)(nl - text) : size;
    oconfig_item_t *option = &block->children[block->children_num];
    if (parse_line(text + start, end - start, option)) {
      option->parent = block;
      block->children_num++;
    }
    start = end + 1;
  }
  return root;
}

/* A bad block logs one error, naming the option it is about. */
static void check_errors(const oconfig_item_t *block) {
  int errors = stub_errors();
  if (errors > 1)
    fail("a block logged more than one error");
  for (int i = 0; errors == 1 && i < stub_logs(); i++) {
    int priority;
    const char *line = stub_log_line(i, &priority);
    if (line == NULL || priority > LOG_ERR)
      continue;
    for (int o = 0; o < block->children_num; o++)
      if (strstr(line, block->children[o].key) != NULL)
        return;
    fail("an error named no option of the block");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool registered;
  if (!registered) {
    stub_register();
    registered = true;
  }
  oconfig_item_t *root = build_config(data, size);
  stub_clear();
  stub_config_dispatch(root);
  check_errors(&root->children[0]);
  stub_shutdown();
  stub_config_free(root);
  return 0;
}
