/* fairlock.h: a mutex handed over in the order it was asked for.
 *
 * The table dump and the event reader take turns at the accounting. With a
 * plain mutex, a reader busy with a flood of events unlocks and locks
 * again before the dump's thread, woken by the unlock, gets to run: the
 * dump could wait for the flood to end. Taken in turn, each batch of the
 * dump waits for at most one slice of events. */
#ifndef CTFLOW_FAIRLOCK_H
#define CTFLOW_FAIRLOCK_H

#include <pthread.h>
#include <stdint.h>

struct fairlock {
  pthread_mutex_t mutex; /* guards the tickets, not the protected data */
  pthread_cond_t turn;
  uint64_t next;    /* the ticket the next caller of acquire takes */
  uint64_t serving; /* the ticket whose holder has the lock */
};

/* Returns 0, or an error number of pthread_mutex_init / pthread_cond_init. */
int fairlock_init(struct fairlock *lock);
void fairlock_destroy(struct fairlock *lock);

/* Waits for every earlier caller to release the lock, then holds it. */
void fairlock_acquire(struct fairlock *lock);
void fairlock_release(struct fairlock *lock);

#endif
