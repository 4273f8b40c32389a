/* ct_parse.h: decode one ctnetlink conntrack message in place. */
#ifndef CTFLOW_CT_PARSE_H
#define CTFLOW_CT_PARSE_H

#include <stddef.h>

#include "ct_entry.h"

/* Decodes the IPCTNL_MSG_CT_NEW / _DELETE message at the start of buf (len
 * bytes: what the socket returned from there on) into *entry. Reads no byte
 * outside buf. Returns 0, or -1 with errno EBADMSG when the message is
 * truncated, malformed, lacks either tuple, or has a tuple of another
 * address family than its nfgen_family. */
int ct_parse(const void *buf, size_t len, struct ct_entry *entry);

#endif
