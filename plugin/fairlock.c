/* fairlock.c: a ticket lock over a pthread mutex and condition. */
#include "fairlock.h"

int fairlock_init(struct fairlock *l) {
  *l = (struct fairlock){0};
  int rc = pthread_mutex_init(&l->mutex, NULL);
  if (rc != 0)
    return rc;
  rc = pthread_cond_init(&l->turn, NULL);
  if (rc != 0)
    pthread_mutex_destroy(&l->mutex);
  return rc;
}

void fairlock_destroy(struct fairlock *l) {
  pthread_cond_destroy(&l->turn);
  pthread_mutex_destroy(&l->mutex);
}

void fairlock_acquire(struct fairlock *l) {
  pthread_mutex_lock(&l->mutex);
  uint64_t ticket = l->next++;
  while (ticket != l->serving)
    pthread_cond_wait(&l->turn, &l->mutex);
  pthread_mutex_unlock(&l->mutex);
}

void fairlock_release(struct fairlock *l) {
  pthread_mutex_lock(&l->mutex);
  l->serving++;
  pthread_cond_broadcast(&l->turn);
  pthread_mutex_unlock(&l->mutex);
}
