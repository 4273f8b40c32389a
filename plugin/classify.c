/* classify.c: the three host rules (docs/DESIGN.md), in order. The reply
 * tuple is the one NAT rewrote, so a port forward's internal server only
 * shows there (rule 2), and a masqueraded client only in the original
 * tuple (rule 1). */
#include "classify.h"

static bool is_local(const struct localnet *local, const struct ct_tuple *t,
                     const union ct_addr *addr) {
  return localnet_contains(local, t->l3proto, addr);
}

struct owner classify(const struct localnet *local,
                      const struct ct_entry *entry) {
  const struct ct_tuple *o = &entry->orig, *r = &entry->reply;
  if (is_local(local, o, &o->src) && !is_local(local, o, &o->dst))
    return (struct owner){RULE_ORIG_SRC, &o->src, &o->dst, o->l3proto, true};
  if (is_local(local, r, &r->src) && !is_local(local, r, &r->dst))
    return (struct owner){RULE_REPLY_SRC, &r->src, &r->dst, r->l3proto, false};
  return (struct owner){RULE_OTHER, NULL, &o->dst, o->l3proto, true};
}
