/* kcmp.h — do two descriptors refer to the same open file description?
 *
 * A descriptor NUMBER only means something in its own process's table; what two
 * processes can share is the open file description it points to (open(2), fork(2),
 * SCM_RIGHTS, pidfd_getfd(2)). kcmp(2) with KCMP_FILE is the kernel's own answer,
 * and the labs use it as their witness. glibc has no wrapper; this is the one.
 *
 * kcmp_file(p1, p2, fd1, fd2): compares fd1 in process p1 with fd2 in process p2.
 *   Returns 0 when both refer to the SAME open file description; 1 or 2 when they
 *   do not (the kernel's ordering of the two; the value carries no other meaning);
 *   3 when they differ and cannot be ordered; -1 with errno on failure:
 *     EBADF  a number is not open in its process (the usual answer for a number
 *            that was never handed over);
 *     ESRCH  no such process (or it has exited and been reaped);
 *     EPERM  not allowed to inspect it (ptrace(2) PTRACE_MODE_READ_REALCREDS);
 *     ENOSYS the kernel was built without CONFIG_KCMP.
 *   Both processes must be alive and still hold the descriptors during the call;
 *   p1 == p2 == getpid() compares two descriptors of the caller.
 */
#ifndef FDLAB_KCMP_H
#define FDLAB_KCMP_H

#include <sys/types.h>

int kcmp_file(pid_t p1, pid_t p2, int fd1, int fd2);

#endif
