/* pdeath.h — a forked helper that must not outlive the process that started it.
 *
 * A test or lab killed by its timeout must leave nothing behind, so every child it
 * forks asks the kernel for SIGKILL when its parent exits (PR_SET_PDEATHSIG).
 *
 * die_with_parent(parent): call first thing in the child, with parent = the pid
 *   the parent had (getpid() before fork, or getppid() read before this call). Arms
 *   SIGKILL on the parent's exit, then checks that parent is still the parent: when
 *   it is not, the parent died before the setting took effect and the signal will
 *   never come, so the child _exit(1)s at once. Dies (err.h) when prctl fails.
 *   Returns only when the death signal is armed and the parent is alive. The setting
 *   survives execve but not a further fork.
 */
#ifndef FDLAB_PDEATH_H
#define FDLAB_PDEATH_H

#include <sys/types.h>

void die_with_parent(pid_t parent);

#endif
