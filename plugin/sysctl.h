/* sysctl.h: the kernel's integer settings, by their sysctl(8) names
 * ("net.netfilter.nf_conntrack_acct"), read and written under /proc/sys.
 *
 * Those under net. belong to a network namespace: /proc/sys/net shows the
 * namespace of the thread that opens the file, so a thread inside another
 * one (netns.h) reads and writes that one's. */
#ifndef CTFLOW_SYSCTL_H
#define CTFLOW_SYSCTL_H

/* Returns 0 and the setting's value in *value, or -1 with errno: ENOENT
 * when the kernel has no such setting (e.g. its module is not loaded),
 * EINVAL when it is not an integer, or open(2)'s and read(2)'s. */
int sysctl_get(const char *name, int *value);

/* Sets the setting to value. Returns 0, or -1 with errno: ENOENT as above,
 * EACCES without root's rights over it, EROFS when /proc/sys is mounted
 * read-only (a container), EINVAL when the kernel refuses the value. */
int sysctl_set(const char *name, int value);

#endif
