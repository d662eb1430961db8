/* ring.c — see ring.h. */
#include "ring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/resource.h>

#include "err.h"

int ring_usable(char *why, size_t len)
{
    const char *path = getenv("FDLAB13_SYSCTL");
    if (!path || !*path)
        path = "/proc/sys/kernel/io_uring_disabled";
    FILE *f = fopen(path, "re");
    long v = 0;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 0;
        fclose(f);
    }
    if (v == 2) { /* 2: io_uring_setup fails with EPERM for everyone, root included */
        snprintf(why, len, "kernel.io_uring_disabled=2 (%s)", path);
        return 0;
    }
    struct io_uring ring;
    int e = io_uring_queue_init(4, &ring, 0);
    if (e < 0) { /* ENOSYS: not built in; EPERM: disabled=1 and we are not allowed */
        snprintf(why, len, "io_uring_setup: %s (kernel.io_uring_disabled=%ld)", errno_name(-e), v);
        return 0;
    }
    io_uring_queue_exit(&ring);
    return 1;
}

int ring_enter(struct io_uring *ring, unsigned wait_nr, long *calls)
{
    /* Publish the prepared SQEs (the tail store is what the kernel reads), then
     * one io_uring_enter(2) that submits them and waits, bounded by 5 s. */
    struct io_uring_sq *sq = &ring->sq;
    unsigned tail = sq->sqe_tail, to_submit = tail - sq->sqe_head;
    sq->sqe_head = tail;
    io_uring_smp_store_release(sq->ktail, tail);
    struct __kernel_timespec ts = {.tv_sec = 5};
    struct io_uring_getevents_arg arg = {.ts = (unsigned long long)(uintptr_t)&ts};
    ++*calls;
    int r = io_uring_enter2((unsigned)ring->ring_fd, to_submit, wait_nr,
                            IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, (sigset_t *)(void *)&arg,
                            sizeof arg);
    return r < 0 ? -errno : r;
}

struct io_uring_sqe *ring_get_sqe(struct io_uring *ring)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) {
        int e = io_uring_submit(ring);
        if (e < 0) {
            errno = -e;
            die("io_uring_submit (full SQ)");
        }
        sqe = io_uring_get_sqe(ring);
        if (!sqe)
            die_msg("io_uring_get_sqe: no SQE after submitting");
    }
    return sqe;
}

void ring_prep_send_fd(struct io_uring_sqe *sqe, int target_ring_fd, unsigned src_slot,
                       unsigned long long user_data)
{
    /* The MSG_RING fields: fd = target ring, addr = command, addr3 = source slot,
     * file_index = target slot (ALLOC: any free one), off = the target CQE's user_data. */
    io_uring_prep_rw(IORING_OP_MSG_RING, sqe, target_ring_fd, NULL, 0, user_data);
    sqe->addr = IORING_MSG_SEND_FD;
    sqe->addr3 = src_slot;
    sqe->file_index = IORING_FILE_INDEX_ALLOC;
}

void ring_usage(struct ring_usage *u)
{
    struct rusage r;
    if (getrusage(RUSAGE_THREAD, &r) < 0)
        die("getrusage");
    u->user_us = (double)r.ru_utime.tv_sec * 1e6 + (double)r.ru_utime.tv_usec;
    u->sys_us = (double)r.ru_stime.tv_sec * 1e6 + (double)r.ru_stime.tv_usec;
    u->vcsw = r.ru_nvcsw;
    u->ivcsw = r.ru_nivcsw;
}

void ring_usage_delta(const struct ring_usage *before, struct ring_usage *out)
{
    struct ring_usage now;
    ring_usage(&now);
    out->user_us = now.user_us - before->user_us;
    out->sys_us = now.sys_us - before->sys_us;
    out->vcsw = now.vcsw - before->vcsw;
    out->ivcsw = now.ivcsw - before->ivcsw;
}
