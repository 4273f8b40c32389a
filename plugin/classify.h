/* classify.h: which local host a conntrack entry belongs to (host rules 1
 * to 3, docs/DESIGN.md, "Counting rules"), and which direction is its send
 * side. */
#ifndef CTFLOW_CLASSIFY_H
#define CTFLOW_CLASSIFY_H

#include "ct_entry.h"
#include "localnet.h"

enum host_rule {
  RULE_ORIG_SRC = 1,  /* outbound: local original source, maybe SNATed */
  RULE_REPLY_SRC = 2, /* inbound: local reply source, maybe DNATed */
  RULE_OTHER = 3,     /* both ends local, or neither */
};

struct owner {
  enum host_rule rule;
  const union ct_addr *host;   /* NULL for RULE_OTHER */
  const union ct_addr *remote; /* the far end; original dst for RULE_OTHER */
  uint8_t family;
  bool sends_orig; /* the host's sends are the original direction */
};

/* Returns the owner of entry: rule 1, else rule 2, else rule 3. The
 * pointers in *owner point into entry. */
struct owner classify(const struct localnet *local,
                      const struct ct_entry *entry);

#endif
