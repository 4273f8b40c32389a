/* netns.h: network namespaces by name, so that ctflow can read the
 * conntrack table of another namespace (a router that runs in a namespace
 * of its own) while collectd stays where it is.
 *
 * A socket belongs to the namespace its creator was in when it was made,
 * for good; and setns(2) moves only the calling thread. So a caller enters
 * the namespace, creates its sockets (and opens /proc/sys/net files, which
 * show the namespace of the thread that opens them), and leaves at once:
 * nothing else of collectd's ever runs in the other namespace. */
#ifndef CTFLOW_NETNS_H
#define CTFLOW_NETNS_H

#include <stddef.h>

/* Where ip-netns(8) keeps the namespaces it names. */
#define NETNS_RUN_DIR "/run/netns"

/* Writes the path of namespace name into path: name itself when it is
 * absolute (e.g. /proc/1234/ns/net), else NETNS_RUN_DIR/name. Returns 0,
 * or -1 with errno EINVAL (empty, ".", "..", or a relative name with a
 * '/') or ENAMETOOLONG. */
int netns_path(const char *name, char *path, size_t size);

/* Opens the namespace file at path. Returns a file descriptor (close on
 * exec), or -1 with errno: ENOENT when there is no such file, EINVAL when
 * it is not a network namespace, or open(2)'s. */
int netns_open(const char *path);

/* Moves the calling thread into namespace ns (from netns_open), saving the
 * one it was in into *saved for netns_leave(). ns -1 stands for "stay":
 * nothing moves and *saved is -1. Returns 0, or -1 with errno (EPERM
 * without CAP_SYS_ADMIN) and the thread where it was. */
int netns_enter(int ns, int *saved);

/* Moves the calling thread back into saved (from netns_enter) and closes
 * it; -1 does nothing. Returns 0 with errno as it was, so that a caller
 * reports what failed inside; or -1 with errno and the thread still in the
 * namespace it entered (not expected: it had the permission to get in). */
int netns_leave(int saved);

#endif
