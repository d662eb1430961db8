/* rl.h — lab 12's helpers around the server harness (srvharness.h, common/kit):
 * following a server whose master changes (upgrade), waiting for its key=value lines,
 * and identifying listening sockets.
 *
 * rl_count(text, prefix): how many lines of text start with prefix.
 * rl_wait(s, prefix, n, timeout_s): pumps the server's pipes until at least n lines
 *   start with prefix. 0, or -1 (ETIMEDOUT) when the time ran out.
 * rl_master(s): the pid of the last "master_pid=" line (the current master after an
 *   upgrade: each new master prints its own), or -1.
 * rl_listen_inodes(port, buf, cap): the socket inodes of every TCP socket LISTENing
 *   on port (from /proc/net/tcp), sorted, as "ino,ino,...". Same text before and
 *   after = the same sockets (not new ones bound to the same port). Returns the count,
 *   or -1 with errno.
 * rl_holds(pid, inodes): 1 when process pid has every socket of the "ino,ino" list
 *   open (its /proc/PID/fd links "socket:[ino]"), 0 when not, -1 on error.
 * rl_reap_wait(s, pid, timeout_s): waits for pid to exit (our child: the first master,
 *   or a later master reparented to us — the caller must be a child subreaper,
 *   prctl(PR_SET_CHILD_SUBREAPER)), pumping the pipes. Returns its exit code (128+sig
 *   when killed), or -1 when it did not exit in time (then it is SIGKILLed). When pid
 *   is s->pid, s->pid is cleared.
 * rl_reap_all(): reaps every exited child without waiting (orphans we inherited).
 * rl_get(port, path, status_out): GET path (Connection: close); returns the status
 *   code and copies the body into status_out when not NULL (cap 4096), -1 on error.
 * rl_get_on(host, port, path): GET path on a fresh connection to host (an IPv4 or
 *   IPv6 literal) and port; the status code, or -1 on error.
 * rl_status_long(port, key): a number from /status, or -1.
 * rl_children(pid, &zombies): how many children process pid has (its single thread's
 *   /proc/PID/task/PID/children), and in *zombies how many of them have exited but are
 *   not reaped (state Z in /proc/CHILD/stat). -1 with errno when pid cannot be read.
 */
#ifndef LAB12_RL_H
#define LAB12_RL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "srvharness.h"

int rl_count(const char *text, const char *prefix);
int rl_wait(struct fdh_srv *s, const char *prefix, int n, double timeout_s);
pid_t rl_master(const struct fdh_srv *s);
int rl_listen_inodes(uint16_t port, char *buf, size_t cap);
int rl_holds(pid_t pid, const char *inodes);
int rl_reap_wait(struct fdh_srv *s, pid_t pid, double timeout_s);
void rl_reap_all(void);
int rl_get(uint16_t port, const char *path, char *body);
int rl_get_on(const char *host, uint16_t port, const char *path);
long rl_status_long(uint16_t port, const char *key);
int rl_children(pid_t pid, int *zombies);

#endif
