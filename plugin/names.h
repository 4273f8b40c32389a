/* names.h: the names people read for local hosts, by address: from
 * HostName options and from HostsFile files, which may hold /etc/hosts
 * lines and dnsmasq lease lines (/tmp/dhcp.leases on OpenWrt) in any mix.
 *
 * Names are made safe as collectd identifiers: every character but
 * [A-Za-z0-9._-] becomes '_', and a name is cut to NAMES_MAX_LEN characters
 * (collectd's plugin instance holds DATA_MAX_NAME_LEN 128 bytes with its
 * NUL). Who wins when sources disagree: a HostName option, then the files
 * in the order given, then within a file its first line naming the
 * address. Files are read again when they change; one that goes away
 * keeps the names it gave until it is back. */
#ifndef CTFLOW_NAMES_H
#define CTFLOW_NAMES_H

#include <stdint.h>

#include "ct_entry.h"
#include "log.h"

#define NAMES_MAX_LEN 127
#define NAMES_SIZE (NAMES_MAX_LEN + 1)

struct names;

/* Returns an empty set of names, or NULL when out of memory. log receives
 * the warnings about files. */
struct names *names_new(log_fn log);
void names_free(struct names *names);

/* Writes text made safe (see above) into out, NAMES_SIZE bytes. */
void names_make_safe(const char *text, char out[NAMES_SIZE]);

/* Returns NULL when name, made safe, can name a host; else what a name must
 * be instead: not empty, none of ctflow's own plugin instances (total,
 * other, kernel, self, flows), and no IPv4 address (an unnamed host's
 * plugin instance). */
const char *names_check(const char *name);

/* HostName: names the host at address. Returns 0, or -1 with errno EINVAL
 * (address is not one IPv4 or IPv6 address, or names_check() refuses the
 * name) or ENOMEM. */
int names_add(struct names *names, const char *address, const char *name);

/* HostsFile: adds the file at path, read by names_refresh(). Returns 0, or
 * -1 with errno EINVAL (path is not absolute) or ENOMEM. */
int names_add_file(struct names *names, const char *path);

/* Reads every file that changed since it was read: one stat() a file, and
 * a file is read only when its inode, size or modification time differ.
 * Logs a warning for a file that cannot be read (once, until it can), and
 * one naming the file and its first bad line when a read finds bad lines
 * other than those last warned about. Call it once per interval. */
void names_refresh(struct names *names);

/* Returns the name of the host at addr, or NULL when no source names it.
 * Valid until the next names_refresh() or names_add(). O(log n). */
const char *names_lookup(const struct names *names, uint8_t family,
                         const union ct_addr *addr);

#endif
