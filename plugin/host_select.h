/* host_select.h: which local hosts get series of their own (Host,
 * IgnoreSelected, collectd's usual Select/IgnoreSelected convention).
 * This moves traffic, it never drops it: a host not chosen is counted in
 * "other" (as a host beyond MaxHosts is), so total stays hosts + other.
 *
 * A Host is an address, a CIDR, or /regex/ (POSIX extended) matched
 * against the address as text ("192.168.1.23", "2001:db8:1::23"); several
 * are OR'd. No Host at all: every host is chosen. */
#ifndef CTFLOW_HOST_SELECT_H
#define CTFLOW_HOST_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct_entry.h"

struct host_select;

/* Returns an empty selection (every host chosen), or NULL. */
struct host_select *host_select_new(void);
void host_select_free(struct host_select *s);

/* Returns NULL unless text is a /regex/ beyond regex_limits.h's limits
 * (which keep regcomp and regexec cheap, whoever wrote the regex); then
 * what the regex must be instead, for "expected <it>". */
const char *host_select_check(const char *text);

/* Adds an address, a CIDR or a /regex/. Returns 0, or -1 with errno EINVAL
 * (neither a CIDR nor a regex regcomp takes), E2BIG (a regex beyond the
 * limits: host_select_check() says which), ENOSPC (more than LOCALNET_MAX
 * addresses and CIDRs) or ENOMEM. */
int host_select_add(struct host_select *s, const char *text);

/* IgnoreSelected: with true, the hosts Host matches go to "other" and all
 * the rest get series of their own. */
void host_select_ignore_selected(struct host_select *s, bool ignore);

/* Returns whether the local host addr gets series of its own. Remembers
 * recent answers (a regex costs a microsecond, and a table has many
 * entries per host), so it is not const; not thread-safe. */
bool host_select_wants(struct host_select *s, uint8_t family,
                       const union ct_addr *addr);

/* Returns how many addresses have their answer remembered now: as many as
 * were asked about, unless some share a slot. */
size_t host_select_remembered(const struct host_select *s);

#endif
