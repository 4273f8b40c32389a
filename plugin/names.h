/* names.h: the names people read for local hosts, by address: from
 * HostName options and from HostsFile files, which may hold /etc/hosts
 * lines and dnsmasq lease lines (/tmp/dhcp.leases on OpenWrt) in any mix.
 *
 * Names are made safe as collectd identifiers: every character but
 * [A-Za-z0-9._-] becomes '_'. A name has a letter or digit and at most
 * NAMES_MAX_LEN bytes (collectd's plugin instance holds DATA_MAX_NAME_LEN
 * 128 with its NUL), and is neither ctflow's own plugin instance nor an
 * address, in any spelling a writer makes of them (name_rules.h). Who
 * wins when sources disagree: a HostName option, then the files in the
 * order given, then within a file its first line naming the address. A
 * lease line's name is its client's claim: name_rules.h says when it is
 * not used; its address is then named as if the line were not there.
 * Names that differ only in case or punctuation go out in the spelling
 * that wins first. Files are read again when they change; one that goes
 * away keeps the names it gave until it is back. */
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

/* Returns NULL when name can name a host; else what a name must be
 * instead (see above). */
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
 * Logs a warning for a file that cannot be read (once, until it can), one
 * naming the file and its first bad line when a read finds bad lines
 * other than those last warned about, and one for each lease name not
 * used (and each administrator's name respelled) that the last judgement
 * of its source did not find for the same reason. Call it once per
 * interval. */
void names_refresh(struct names *names);

/* Returns the name of the host at addr, or NULL when no source names it.
 * Valid until the next names_refresh() or names_add(). O(log n). */
const char *names_lookup(const struct names *names, uint8_t family,
                         const union ct_addr *addr);

#endif
