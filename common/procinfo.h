/* procinfo.h — where another process is sleeping, read from /proc (proc(5)).
 *
 * Labs use it to make a race deterministic: wait until a process is really asleep
 * in a given system call (futex, accept, epoll_wait) before acting.
 *
 * proc_sleep(pid, &s): fills s from /proc/PID/stat (the state letter) and
 *   /proc/PID/syscall (the number and first three arguments of the system call the
 *   task is blocked in; in_syscall = 0 when it is running or not in a call).
 *   Reading /proc/PID/syscall needs ptrace read access (same uid, or CAP_SYS_PTRACE).
 *   Returns 0, or -1 with errno (ENOENT: no such process; EACCES; EPROTO: an
 *   unparsable line).
 * proc_asleep_in(pid, nr): 1 when pid is in state 'S' blocked in system call nr
 *   (e.g. SYS_accept4, SYS_epoll_wait), else 0 (also when /proc cannot be read).
 * proc_is_sleeping(pid): 1 when /proc/PID/stat says 'S', else 0.
 * proc_wait_asleep_in(pid, nrs, n, timeout_ms): polls every 1 ms until pid is asleep
 *   in one of the n system calls nrs; returns 0, or -1 with errno ETIMEDOUT when
 *   timeout_ms passed first (ENOENT when the process is gone).
 */
#ifndef FDLAB_PROCINFO_H
#define FDLAB_PROCINFO_H

#include <stddef.h>
#include <sys/types.h>

struct proc_sleep {
    char state;           /* the state letter of /proc/PID/stat: 'R', 'S', 'D', ... */
    int in_syscall;       /* 1 when /proc/PID/syscall names a system call */
    long nr;              /* its number, e.g. SYS_futex */
    unsigned long arg[3]; /* its first three arguments */
};

int proc_sleep(pid_t pid, struct proc_sleep *s);
int proc_asleep_in(pid_t pid, long nr);
int proc_is_sleeping(pid_t pid);
int proc_wait_asleep_in(pid_t pid, const long *nrs, size_t n, int timeout_ms);

#endif
