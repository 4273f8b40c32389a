/* collectd_stub.c: see collectd_stub.h. */
#include "collectd_stub.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logs.h"

void module_register(void); /* ctflow.c's one export */

static struct {
  int (*config)(oconfig_item_t *);
  int (*init)(void);
  int (*read)(void);
  int (*shutdown)(void);
} ctflow;

struct stub_value_list stub_dispatched[STUB_DISPATCH_KEPT];
int stub_dispatches;

/* The event reader thread may log while a read does. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* collectd's side */

int plugin_register_complex_config(const char *type,
                                   int (*callback)(oconfig_item_t *)) {
  (void)type;
  ctflow.config = callback;
  return 0;
}

int plugin_register_init(const char *name, plugin_init_cb callback) {
  (void)name;
  ctflow.init = callback;
  return 0;
}

int plugin_register_read(const char *name, int (*callback)(void)) {
  (void)name;
  ctflow.read = callback;
  return 0;
}

int plugin_register_shutdown(const char *name, plugin_shutdown_cb callback) {
  (void)name;
  ctflow.shutdown = callback;
  return 0;
}

void plugin_log(int level, const char *format, ...) {
  char text[1024]; /* collectd's own plugin_log formats into 1024 bytes */
  va_list ap;
  va_start(ap, format);
  vsnprintf(text, sizeof(text), format, ap);
  va_end(ap);
  pthread_mutex_lock(&log_lock);
  record_log(level, "%s", text);
  pthread_mutex_unlock(&log_lock);
}

int plugin_dispatch_values(value_list_t const *vl) {
  if (stub_dispatches < STUB_DISPATCH_KEPT) {
    struct stub_value_list *d = &stub_dispatched[stub_dispatches];
    snprintf(d->plugin, sizeof(d->plugin), "%s", vl->plugin);
    snprintf(d->plugin_instance, sizeof(d->plugin_instance), "%s",
             vl->plugin_instance);
    snprintf(d->type, sizeof(d->type), "%s", vl->type);
    snprintf(d->type_instance, sizeof(d->type_instance), "%s",
             vl->type_instance);
    d->values_len = vl->values_len;
    for (size_t i = 0; i < vl->values_len && i < 2; i++)
      d->values[i] = vl->values[i];
  }
  stub_dispatches++;
  return 0;
}

/* The test's side */

void stub_clear(void) {
  logs_clear();
  stub_dispatches = 0;
}

void stub_register(void) {
  module_register();
  stub_clear();
}

int stub_init(void) { return ctflow.init(); }
int stub_read(void) { return ctflow.read(); }
int stub_shutdown(void) { return ctflow.shutdown(); }

int stub_logs(void) { return logs; }

int stub_logged(int priority, const char *word, const char *word2) {
  return logged(priority, word, word2);
}

int stub_errors(void) {
  int n = 0;
  for (int i = 0; i < logs && i < LOGS_KEPT; i++)
    n += log_priorities[i] <= LOG_ERR;
  return n;
}

const char *stub_log_line(int i, int *priority) {
  if (i < 0 || i >= logs || i >= LOGS_KEPT)
    return NULL;
  *priority = log_priorities[i];
  return log_lines[i];
}

const struct stub_value_list *stub_find(const char *plugin_instance,
                                        const char *type,
                                        const char *type_instance) {
  int kept = stub_dispatches < STUB_DISPATCH_KEPT ? stub_dispatches
                                                  : STUB_DISPATCH_KEPT;
  for (int i = kept; i-- > 0;) {
    const struct stub_value_list *d = &stub_dispatched[i];
    if (strcmp(d->plugin_instance, plugin_instance) == 0 &&
        strcmp(d->type, type) == 0 &&
        strcmp(d->type_instance, type_instance) == 0)
      return d;
  }
  return NULL;
}

/* The configuration parser. Out of memory here is the harness's failure,
 * not ctflow's: it aborts. */

static void *must(void *p) {
  if (p == NULL)
    abort();
  return p;
}

struct cursor {
  const char *p;
  int line;
};

static bool at_line_end(struct cursor *c) {
  while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r')
    c->p++;
  return *c->p == '\0' || *c->p == '\n' || *c->p == '#';
}

static void next_line(struct cursor *c) {
  while (*c->p != '\0' && *c->p != '\n')
    c->p++;
  if (*c->p == '\n')
    c->p++, c->line++;
}

/* Returns the next token of the line, without its quotes and escapes, and
 * whether it was quoted; NULL (after printing why) when a quote does not
 * end on its line. A bare token ends at a blank, a '#' or, in a block's
 * header, a '>'. */
static char *token(struct cursor *c, bool header, bool *quoted) {
  size_t len = 0;
  char *text = must(malloc(strlen(c->p) + 1));
  *quoted = *c->p == '"';
  if (*quoted) {
    for (c->p++; *c->p != '"'; c->p++) {
      if (*c->p == '\\' && c->p[1] != '\0' && c->p[1] != '\n')
        c->p++;
      else if (*c->p == '\0' || *c->p == '\n') {
        fprintf(stderr, "stub_config_parse: line %d: unterminated quote\n",
                c->line);
        free(text);
        return NULL;
      }
      text[len++] = *c->p;
    }
    c->p++;
  } else {
    const char *stops = header ? " \t\r\n#>" : " \t\r\n#";
    while (*c->p != '\0' && strchr(stops, *c->p) == NULL)
      text[len++] = *c->p++;
  }
  text[len] = '\0';
  return text;
}

/* Appends the value text (quoted or bare) to item, typed as liboconfig
 * types it: a bare number starts with a digit, a sign or a point. */
static void add_value(oconfig_item_t *item, char *text, bool quoted) {
  oconfig_value_t v = {.type = OCONFIG_TYPE_STRING, .value.string = text};
  char *end;
  if (!quoted) {
    double number = strtod(text, &end);
    if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0 ||
        strcmp(text, "on") == 0)
      v = (oconfig_value_t){.type = OCONFIG_TYPE_BOOLEAN, .value.boolean = 1};
    else if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0 ||
             strcmp(text, "off") == 0)
      v = (oconfig_value_t){.type = OCONFIG_TYPE_BOOLEAN, .value.boolean = 0};
    else if (strchr("0123456789+-.", text[0]) && end != text && *end == '\0')
      v = (oconfig_value_t){.type = OCONFIG_TYPE_NUMBER,
                            .value.number = number};
    if (v.type != OCONFIG_TYPE_STRING)
      free(text);
  }
  item->values = must(
      realloc(item->values, (item->values_num + 1) * sizeof(*item->values)));
  item->values[item->values_num++] = v;
}

/* Appends an item with key to parent's children; returns it. */
static oconfig_item_t *add_child(oconfig_item_t *parent, char *key) {
  parent->children =
      must(realloc(parent->children,
                   (parent->children_num + 1) * sizeof(*parent->children)));
  oconfig_item_t *item = &parent->children[parent->children_num++];
  *item = (oconfig_item_t){.key = key, .parent = parent};
  return item;
}

/* Reads the key and values of one line into a new child of parent, up to
 * the line's end or, in a block's header, its '>'. */
static oconfig_item_t *parse_item(struct cursor *c, oconfig_item_t *parent,
                                  bool header) {
  bool quoted;
  char *key = token(c, header, &quoted);
  if (key == NULL || quoted || key[0] == '\0') {
    fprintf(stderr, "stub_config_parse: line %d: expected a key\n", c->line);
    free(key);
    return NULL;
  }
  oconfig_item_t *item = add_child(parent, key);
  while (!at_line_end(c) && !(header && *c->p == '>')) {
    char *text = token(c, header, &quoted);
    if (text == NULL)
      return NULL;
    add_value(item, text, quoted);
  }
  if (header && *c->p++ != '>') {
    fprintf(stderr, "stub_config_parse: line %d: expected '>'\n", c->line);
    return NULL;
  }
  return item;
}

/* Parses lines into block's children until its "</key>" (or the end of
 * the text, for the root). Returns 0, or -1 after printing why. */
static int parse_block(struct cursor *c, oconfig_item_t *block, bool root) {
  for (; *c->p != '\0'; next_line(c)) {
    if (at_line_end(c))
      continue;
    if (strncmp(c->p, "</", 2) == 0) {
      size_t len = strlen(block->key);
      if (root || strncasecmp(c->p + 2, block->key, len) != 0 ||
          c->p[2 + len] != '>') {
        fprintf(stderr, "stub_config_parse: line %d: unexpected %.20s\n",
                c->line, c->p);
        return -1;
      }
      c->p += 3 + len;
      return 0;
    }
    bool header = *c->p == '<';
    c->p += header;
    oconfig_item_t *item = parse_item(c, block, header);
    if (item == NULL)
      return -1;
    if (header) {
      next_line(c);
      if (parse_block(c, item, false) < 0)
        return -1;
    }
    if (!at_line_end(c)) {
      fprintf(stderr, "stub_config_parse: line %d: text after the item\n",
              c->line);
      return -1;
    }
  }
  if (root)
    return 0;
  fprintf(stderr, "stub_config_parse: <%s> does not end\n", block->key);
  return -1;
}

/* Points every child at its parent: children arrays moved as they grew. */
static void set_parents(oconfig_item_t *item) {
  for (int i = 0; i < item->children_num; i++) {
    item->children[i].parent = item;
    set_parents(&item->children[i]);
  }
}

oconfig_item_t *stub_config_parse(const char *text) {
  oconfig_item_t *root = must(calloc(1, sizeof(*root)));
  root->key = must(strdup("root"));
  struct cursor c = {.p = text, .line = 1};
  if (parse_block(&c, root, true) < 0) {
    stub_config_free(root);
    return NULL;
  }
  set_parents(root);
  return root;
}

static void free_item(oconfig_item_t *item) {
  free(item->key);
  for (int i = 0; i < item->values_num; i++)
    if (item->values[i].type == OCONFIG_TYPE_STRING)
      free(item->values[i].value.string);
  free(item->values);
  for (int i = 0; i < item->children_num; i++)
    free_item(&item->children[i]);
  free(item->children);
}

void stub_config_free(oconfig_item_t *root) {
  if (root == NULL)
    return;
  free_item(root);
  free(root);
}

int stub_config_dispatch(oconfig_item_t *root) {
  for (int i = 0; i < root->children_num; i++) {
    oconfig_item_t *block = &root->children[i];
    if (strcasecmp(block->key, "Plugin") != 0 || block->values_num < 1 ||
        block->values[0].type != OCONFIG_TYPE_STRING ||
        strcasecmp(block->values[0].value.string, "ctflow") != 0)
      continue;
    int rc = ctflow.config(block);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int stub_configure(const char *text) {
  oconfig_item_t *root = stub_config_parse(text);
  if (root == NULL)
    return -1;
  int rc = stub_config_dispatch(root);
  stub_config_free(root);
  return rc;
}
