/* flowkeys.h: traffic per flow key, for the top-flows series
 * (ctflow-flows/if_octets-<key>). A flow key names what a network engineer
 * asks about, "192.168.1.23 to 93.184.216.34 on tcp 443", whatever the
 * number of conntrack entries behind it.
 *
 * LAN guests choose keys (one datagram from a new port or address is a new
 * key), and the table holds max_keys of them. So a full table does not
 * keep what came first: a newcomer takes the place of a key that carried
 * less, and holding the table costs a guest, key by key, more traffic than
 * the newcomers bring, the real heavy flows among them. */
#ifndef CTFLOW_FLOWKEYS_H
#define CTFLOW_FLOWKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "ct_entry.h"
#include "table.h"
#include "traffic.h"

enum flow_key_kind { FLOW_KEY_CONVERSATION, FLOW_KEY_5TUPLE };

#define FLOWKEYS_NO_VICTIM SIZE_MAX
/* Keys looked at to choose the one a newcomer must outweigh. */
#define FLOWKEYS_SAMPLE 8

struct flow_key {
  union ct_addr local;   /* the host's end (host rule 3: the original source) */
  union ct_addr remote;  /* the far end */
  uint16_t service_port; /* the original destination port; 0 without ports */
  uint16_t local_port;   /* the host's port, FLOW_KEY_5TUPLE only */
  uint8_t family;
  uint8_t l4proto;
};

struct key_stats {
  struct flow_key key;
  struct traffic since_tracked; /* what the key carried (DERIVE) */
  struct traffic interval;      /* of which since the last interval */
  /* Bytes of the intervals before, halved at the end of each: what the
   * key carried lately, which a newcomer must outweigh to take its place. */
  uint64_t recent;
  uint32_t idle; /* intervals in a row without traffic */
};

struct flowkeys {
  enum flow_key_kind kind;
  size_t max_keys;
  struct table keys;       /* struct key_stats, by key */
  struct traffic interval; /* all traffic of the interval */
  struct traffic other;    /* ctflow-flows "other", since started */
  /* Once the table is full: the position of the key a newcomer must
   * outweigh, chosen among a sample of keys; FLOWKEYS_NO_VICTIM: none yet
   * this interval. */
  size_t victim;
  uint64_t sample;  /* the sampler's state */
  uint64_t evicted; /* keys that lost their place to a heavier newcomer */
};

/* Returns 0, or -1 when out of memory. */
int flowkeys_init(struct flowkeys *keys, enum flow_key_kind kind,
                  size_t max_keys);
void flowkeys_free(struct flowkeys *keys);

/* Returns the key of entry e, owned as o says. */
struct flow_key flow_key_of(enum flow_key_kind kind, const struct ct_entry *e,
                            const struct owner *o);

/* Adds traffic the key's local end sent (tx) and received (rx). A new key
 * joins the table while it has room. Once max_keys are tracked, it takes
 * the place of the victim when it brings more bytes than the victim
 * carried lately (recent and this interval); the victim is the lightest of
 * FLOWKEYS_SAMPLE keys (of all of them in a smaller table), chosen by the
 * interval's first newcomer and by the first after each eviction. The key
 * evicted is forgotten as an idle one is, and what it carried this
 * interval goes to "other". A key that gets no place adds to the
 * interval's traffic alone, and so to "other". O(1). */
void flowkeys_add(struct flowkeys *keys, const struct flow_key *key,
                  const struct ct_counters *tx, const struct ct_counters *rx);

/* Ends an interval: copies the (at most) n keys that carried the most bytes
 * (rx + tx) in it into top, heaviest first, adds everything else of the
 * interval to other, and forgets keys idle for idle_limit intervals.
 * Returns how many keys went into top. O(keys). */
size_t flowkeys_end_interval(struct flowkeys *keys, size_t n,
                             uint32_t idle_limit, struct key_stats *top);

/* Writes key into buf as its series name spells it (README, "Options":
 * FlowKey): "<local>-<remote>-<proto>[-<service port>][-<local port>]".
 * Returns what snprintf returns. */
int flow_key_format(const struct flow_key *key, enum flow_key_kind kind,
                    char *buf, size_t size);

/* Returns the number of keys tracked, and the one at position pos. */
static inline size_t flowkeys_count(const struct flowkeys *keys) {
  return keys->keys.count;
}

static inline struct key_stats *flowkeys_at(const struct flowkeys *keys,
                                            size_t pos) {
  return table_at(&keys->keys, pos);
}

/* Returns the bytes of memory the keys hold. */
size_t flowkeys_memory(const struct flowkeys *keys);

#endif
