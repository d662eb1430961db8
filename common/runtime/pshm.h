/* pshm.h — anonymous shared memory for related processes.
 *
 * pshm_alloc(size):
 *   Maps size bytes, rounded up to whole pages, of zero-filled memory with
 *   mmap(PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS). The region is shared by the
 *   caller and by every child it fork()s AFTER the call: all of them map the same
 *   physical pages, so a store by one is seen by the others (this is what lets a
 *   pthread_mutex_t, sem_t or atomic counter placed there work across processes).
 *   It has no name: unrelated processes cannot attach to it, and it does not survive
 *   execve(). It is page-aligned, so any object (including alignas(64) data) can sit
 *   at its start.
 *   Returns the address, or NULL with errno: EINVAL when size is 0, ENOMEM when the
 *   size overflows or memory is short, others from mmap(2).
 * pshm_free(p, size):
 *   munmap(2) of a region returned by pshm_alloc, with the same size. Only the
 *   caller's mapping goes; other processes keep theirs, and the pages are freed when
 *   the last mapping is gone (unmapped or its process exited). Objects inside (mutexes,
 *   semaphores) are not destroyed: do that first if their type asks for it.
 *   Returns 0, or -1 with errno: EINVAL when p is NULL, not page-aligned, or size is 0.
 */
#ifndef FDLAB_PSHM_H
#define FDLAB_PSHM_H

#include <stddef.h>

void *pshm_alloc(size_t size);
int pshm_free(void *p, size_t size);

#endif
