/* log.h: how the core modules log without knowing collectd: the glue hands
 * them a function that prefixes the plugin's name and passes the line on. */
#ifndef CTFLOW_LOG_H
#define CTFLOW_LOG_H

/* priority is a syslog LOG_* level; the text carries no plugin prefix. */
typedef void (*log_fn)(int priority, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
