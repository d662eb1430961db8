/* drop.h — becoming another user for good, and small helpers shared by lab 04.
 *
 * drop_privs(uid, gid): setgroups(0) + setresgid(gid x3) + setresuid(uid x3), in that
 *   order (group changes need the privilege we are about to lose). Afterwards it
 *   checks that setuid(0) fails when uid != 0: a drop that can be undone is no drop.
 *   Needs CAP_SETUID/CAP_SETGID (root). Returns 0, or -1 with errno (EPERM, or
 *   EPERM too when the drop turned out to be reversible).
 * parse_uint(s, &out): a whole decimal number in [0, UINT_MAX - 1]; 0 or -1 (EINVAL).
 * cap_sys_ptrace(): 1 when CAP_SYS_PTRACE (bit 19) is in this process's effective
 *   set (read from /proc/self/status), 0 when not, -1 when unknown.
 */
#ifndef LAB04_DROP_H
#define LAB04_DROP_H

#include <stddef.h>
#include <sys/types.h>

int drop_privs(uid_t uid, gid_t gid);
int parse_uint(const char *s, unsigned *out);
int cap_sys_ptrace(void);

#endif
