/* alloc_fail.h: makes the Nth allocation fail, for tests of what ctflow
 * does when memory runs out, and keeps count of what was allocated and not
 * freed.
 *
 * How: the test program is linked with ALLOC_FAIL_WRAPS (Makefile.am):
 *
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,
 *   --wrap=strdup,--wrap=strndup,--wrap=getline,--wrap=fopen,--wrap=fdopen,
 *   --wrap=regcomp,--wrap=regexec,--wrap=mnl_socket_open2,
 *   --wrap=pthread_create
 *
 * so that the linker sends every call to one of these from an object
 * linked into the program to __wrap_<name> in alloc_fail.c, which counts it
 * and fails it or passes it on to the real one (__real_<name>). Those
 * objects are the test, the glue (plugin/ctflow.c, compiled into it) and
 * the whole core: plugin/libctcore.la is a convenience library, an archive
 * linked in statically.
 *
 * Covered, each call one allocation: malloc, calloc, realloc, strdup and
 * strndup (NULL, ENOMEM); getline (-1, ENOMEM: its buffer); fopen and
 * fdopen (NULL, ENOMEM: the FILE); regcomp and regexec (REG_ESPACE: the
 * compiled regex, regexec's matching state); mnl_socket_open2 (NULL,
 * ENOMEM: libmnl's socket struct); pthread_create (EAGAIN: the thread's
 * stack). free is not counted, only tracked.
 *
 * Not covered: what shared libraries allocate inside a call that is not
 * wrapped here (libc's stdio buffer, allocated at a FILE's first read,
 * falls back to no buffering; qsort's scratch memory falls back to sorting
 * in place; libmnl allocates nothing but its socket struct); the kernel's
 * memory (a netlink recv() or setsockopt() answering ENOBUFS or ENOMEM);
 * file descriptors (open, socket, eventfd answering EMFILE). The kernel's
 * ENOBUFS on the event socket has tests of its own (overflow).
 *
 * Counting is per thread: the calling thread's allocations count only
 * while alloc_fail_here(true) (the harness's own work in between does not),
 * any other thread's (ctflow's event reader) always do. Thread-safe. */
#ifndef CTFLOW_TESTS_ALLOC_FAIL_H
#define CTFLOW_TESTS_ALLOC_FAIL_H

#include <stdbool.h>
#include <stddef.h>

/* Starts counting from zero with the calling thread's allocations not
 * counted; the nth counted allocation will fail (n >= 1), or none when n
 * is 0. Forgets the allocations tracked so far. */
void alloc_fail_at(unsigned long n);

/* Stops counting and failing. */
void alloc_fail_stop(void);

/* Whether the calling thread's allocations count from now on. */
void alloc_fail_here(bool on);

/* Returns the allocations counted so far. */
unsigned long alloc_fail_count(void);

/* Returns the function whose call failed ("calloc", ...), or NULL when the
 * nth allocation has not come yet. */
const char *alloc_fail_failed(void);

/* Returns where the failed call was made from (its return address: give
 * it to addr2line -f -e PROGRAM), or NULL. */
void *alloc_fail_caller(void);

/* Returns the memory blocks that counted calls of malloc, calloc, realloc,
 * strdup and strndup returned and free has not freed yet: 0 when the code
 * under test gave back all it took, whatever still points to it. Returns
 * (size_t)-1 when more were live at once than it can keep apart. */
size_t alloc_fail_live(void);

#endif
