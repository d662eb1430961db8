/* pshm.c — see pshm.h. */
#include "pshm.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

void *pshm_alloc(size_t size)
{
    if (size == 0) {
        errno = EINVAL;
        return NULL;
    }
    /* mmap rounds up to pages itself; checking here gives ENOMEM, not a huge mapping
     * of a wrapped-around size. */
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || size > SIZE_MAX - (size_t)page) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int pshm_free(void *p, size_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    if (!p || size == 0 || page <= 0 || (uintptr_t)p % (uintptr_t)page != 0) {
        errno = EINVAL;
        return -1;
    }
    return munmap(p, size);
}
