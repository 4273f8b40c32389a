/* name_rules.h: which names may go out as hosts' plugin instances, when
 * the names come from people of different trust.
 *
 * The canonical form. collectd's writers conflate names that differ in
 * ways a name can choose: write_graphite turns '.' (and, in the path, ':')
 * into its EscapeCharacter, '_' by default; names_make_safe() turns every
 * byte but [A-Za-z0-9._-] into '_'; case-insensitive filesystems and
 * tools fold case. So two names are the same name when their canonical
 * forms are equal: lower case, every byte but [a-z0-9] as '_'. No two
 * series that ctflow dispatches have one canonical form.
 *
 * Trust. A HostName option and an /etc/hosts line are the administrator's
 * names. A dnsmasq lease line's name is what its DHCP client claims, and a
 * claim is not used (its host goes by what it would without the line)
 * when it is the administrator's name for any host, or two clients or
 * more claim it: the order of a lease file is the clients' doing, so no
 * line wins. A client is known by its hardware address, or by its DUID
 * where it sends one (RFC 4361 DHCPv4 client IDs carry it); a DUID made
 * of a hardware address (RFC 8415 DUID-LLT and DUID-LL) is that address,
 * so a dual-stack client's DHCPv4 and DHCPv6 leases are one client's. */
#ifndef CTFLOW_NAME_RULES_H
#define CTFLOW_NAME_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "names.h"

/* What becomes of a name. The faults of the name itself come first; the
 * verdicts that depend on other names after them. */
enum name_verdict {
  NAME_USED,      /* goes out as it is */
  NAME_RESPELLED, /* goes out in the spelling of a same name ranked first */
  NAME_EMPTY,     /* no letter or digit */
  NAME_TOO_LONG,  /* longer than NAMES_MAX_LEN bytes: never cut */
  NAME_OWN,       /* one of ctflow's own plugin instances */
  NAME_ADDRESS,   /* an address's text: how an unnamed host goes out */
  NAME_TRUSTED,   /* a lease's claim to an administrator's name */
  NAME_CLIENTS,   /* a lease's claim that another client makes too */
};

static inline bool name_is_used(enum name_verdict v) {
  return v == NAME_USED || v == NAME_RESPELLED;
}

/* Returns the fault of name itself (raw or made safe), or NAME_USED. */
enum name_verdict name_rules_check(const char *name);

/* Writes the canonical form of name's first NAMES_MAX_LEN bytes,
 * zero-padded. */
void name_rules_canonical(const char *name, char out[NAMES_SIZE]);

/* Compares the canonical forms of a and b, as strcmp() does. */
int name_rules_compare(const char *a, const char *b);

/* "duid " and a DHCP client ID of 255 bytes in hex, its NUL. */
#define NAME_CLIENT_SIZE 520

/* Writes who the client of a dnsmasq lease line is, from its fields: the
 * hardware address and client ID of an IPv4 lease (hwaddr and id), or the
 * DUID of an IPv6 one (hwaddr NULL). A lease whose identifiers do not
 * parse is a client of its own, known by its address. */
void name_rules_client(const char *hwaddr, const char *id, const char *address,
                       char out[NAME_CLIENT_SIZE]);

/* One name a source gives one address. */
struct name_claim {
  const char *name;   /* made safe; judging may point it at a respelling */
  const char *client; /* a lease's client; NULL: the administrator's name */
  uint32_t rank;      /* unique; the lowest spelling of a name wins */
  enum name_verdict verdict; /* in: name_rules_check(); out: the verdict */
  uint32_t clients;          /* NAME_CLIENTS: how many clients claim it */
};

/* Gives each claim of claims (in any order; they are sorted) its verdict,
 * and every name used its spelling: a name several claims share is
 * spelled as the lowest ranked of them spells it. */
void name_rules_judge(struct name_claim **claims, size_t count);

#endif
