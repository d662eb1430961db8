/* ring.h — what lab 13's parts share: io_uring detection, counted system calls, and
 * the one operation liburing 2.3 (Debian 12) has no helper for.
 *
 * RING_SKIP_EXIT (77): the exit status of every lab 13 program when io_uring cannot
 *   be used here; the tests turn it into a skip, never a pass.
 * ring_usable(why, len): 1 when this process may create a ring; 0 with the reason in
 *   why ("kernel.io_uring_disabled=2", "io_uring_setup: EPERM", ...). The sysctl is
 *   read from $FDLAB13_SYSCTL when set (the tests point it at a file holding "2" to
 *   check the skip path), else /proc/sys/kernel/io_uring_disabled (absent = 0).
 * ring_enter(ring, wait_nr, &calls): exactly one io_uring_enter(2) (and ++*calls):
 *   submits every SQE prepared since the last call and waits until wait_nr CQEs are
 *   ready or 5 s have passed (IORING_ENTER_EXT_ARG, Linux 5.11). Returns the number
 *   of SQEs submitted (>= 0), or -errno: -ETIME when the 5 s passed first (SQEs were
 *   still submitted), -EINTR (not retried). Callers read CQEs without system calls
 *   (io_uring_for_each_cqe), so calls counts every io_uring_enter they make.
 * ring_get_sqe(ring): io_uring_get_sqe, never NULL: a full SQ is submitted first
 *   (without counting — lab code sizes its rings so that this does not happen).
 * ring_prep_send_fd(sqe, target_ring_fd, src_slot, user_data): IORING_OP_MSG_RING
 *   with IORING_MSG_SEND_FD (Linux 6.0): the file in fixed slot src_slot of the
 *   submitting ring is installed in a free fixed slot of the target ring
 *   (IORING_FILE_INDEX_ALLOC); the target ring gets a CQE {user_data, res = the new
 *   slot or -errno}; the source keeps its slot (close it separately).
 * ring_usage(&u) / ring_usage_delta: this thread's CPU and context switches
 *   (getrusage RUSAGE_THREAD), in µs and counts; dies when getrusage fails.
 */
#ifndef FDLAB13_RING_H
#define FDLAB13_RING_H

#include <liburing.h>
#include <stddef.h>

#define RING_SKIP_EXIT 77

struct ring_usage {
    double user_us, sys_us;
    long vcsw, ivcsw;
};

int ring_usable(char *why, size_t len);
int ring_enter(struct io_uring *ring, unsigned wait_nr, long *calls);
struct io_uring_sqe *ring_get_sqe(struct io_uring *ring);
void ring_prep_send_fd(struct io_uring_sqe *sqe, int target_ring_fd, unsigned src_slot,
                       unsigned long long user_data);
void ring_usage(struct ring_usage *u);
void ring_usage_delta(const struct ring_usage *before, struct ring_usage *out);

#endif
