/* procinfo.h — where another process is sleeping, read from /proc (proc(5)).
 *
 * Labs use it to make a race deterministic: wait until a process is really asleep
 * in a given system call (futex, accept, epoll_wait) before acting.
 *
 * proc_stat(pid, &state, &pgrp): the state letter ('R', 'S', 'Z', ...) and the process
 *   group of pid, from /proc/PID/stat; either pointer may be NULL. Returns 0, or -1
 *   with errno (ENOENT: no such process; EPROTO: an unparsable line).
 * proc_sleep(pid, &s): fills s from /proc/PID/stat (the state letter) and
 *   /proc/PID/syscall (the number and first three arguments of the system call the
 *   task is blocked in; in_syscall = 0 when it is running or not in a call).
 *   Reading /proc/PID/syscall needs ptrace read access (same uid, or CAP_SYS_PTRACE).
 *   Returns 0, or -1 with errno (ENOENT: no such process; EACCES; EPROTO: an
 *   unparsable line).
 * proc_asleep_in(pid, nrs, n): 1 when pid is in state 'S' blocked in one of the n
 *   system calls nrs (e.g. SYS_accept4, SYS_epoll_wait), else 0 (also when /proc
 *   cannot be read, e.g. the process is gone). Never dies.
 * proc_is_sleeping(pid): 1 when /proc/PID/stat says 'S', else 0.
 * proc_wait_all_asleep(pids, npids, nrs, n, timeout_ms): re-checks every 100 µs until
 *   every one of the npids processes is asleep in one of nrs in the same pass;
 *   returns 0 then, or -1 with errno ETIMEDOUT when timeout_ms passed first. Never
 *   waits longer than timeout_ms plus one pass.
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

int proc_stat(pid_t pid, char *state, pid_t *pgrp);
int proc_sleep(pid_t pid, struct proc_sleep *s);
int proc_asleep_in(pid_t pid, const long *nrs, size_t n);
int proc_is_sleeping(pid_t pid);
int proc_wait_all_asleep(const pid_t *pids, size_t npids, const long *nrs, size_t n, int timeout_ms);

#endif
