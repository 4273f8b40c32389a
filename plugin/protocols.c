/* protocols.c: see protocols.h. */
#include "protocols.h"

#include <netinet/in.h>
#include <stddef.h>
#include <strings.h>

static const struct protocol {
  const char *name;
  uint8_t number;
  enum proto_class class;
  bool ports;
} protocols[] = {
    {"tcp", IPPROTO_TCP, PROTO_TCP, true},
    {"udp", IPPROTO_UDP, PROTO_UDP, true},
    {"icmp", IPPROTO_ICMP, PROTO_ICMP, false},
    {"icmpv6", IPPROTO_ICMPV6, PROTO_ICMP, false},
    {"sctp", IPPROTO_SCTP, PROTO_OTHER, true},
    {"udplite", IPPROTO_UDPLITE, PROTO_OTHER, true},
    {"dccp", IPPROTO_DCCP, PROTO_OTHER, true},
    {"gre", IPPROTO_GRE, PROTO_OTHER, false},
};

#define PROTOCOLS (sizeof(protocols) / sizeof(protocols[0]))

static const char *const class_names[PROTO_CLASSES] = {"tcp", "udp", "icmp",
                                                       "other"};

static const struct protocol *find(uint8_t l4proto) {
  for (size_t i = 0; i < PROTOCOLS; i++)
    if (protocols[i].number == l4proto)
      return &protocols[i];
  return NULL;
}

const char *protocol_name(uint8_t l4proto) {
  const struct protocol *p = find(l4proto);
  return p ? p->name : NULL;
}

int protocol_number(const char *name) {
  for (size_t i = 0; i < PROTOCOLS; i++)
    if (strcasecmp(name, protocols[i].name) == 0)
      return protocols[i].number;
  return -1;
}

enum proto_class proto_class_of(uint8_t l4proto) {
  const struct protocol *p = find(l4proto);
  return p ? p->class : PROTO_OTHER;
}

const char *proto_class_name(enum proto_class class) {
  return class_names[class];
}

bool protocol_has_ports(uint8_t l4proto) {
  const struct protocol *p = find(l4proto);
  return p != NULL && p->ports;
}
