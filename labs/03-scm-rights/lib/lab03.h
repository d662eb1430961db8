/* lab03.h — what lab 03's scenario files share.
 *
 * struct lab: the one per-process context; claim() records a claim that did not
 *   hold (warning on stderr) so that the lab exits non-zero.
 * kcmp_file(p1, p2, fd1, fd2): kcmp(2) KCMP_FILE; 0 when both descriptors refer to
 *   the same open file description, 1/2/3 when not, -1 with errno (EBADF, ESRCH).
 *   Both processes must be alive and hold the descriptor at the time of the call.
 * wait_readable(fd, ms): poll POLLIN; 1 ready, 0 after ms, -1 with errno.
 * read_full(fd, buf, n, ms): exactly n bytes (fewer at EOF), each wait bounded by ms;
 *   -1 with errno (ETIMEDOUT).
 * read_line(fd, buf, cap, ms): one '\n'-terminated line (byte by byte, nothing after
 *   it consumed), '\n' replaced by '\0'; returns its length or -1 (ETIMEDOUT, EPROTO
 *   at EOF / line too long).
 * poll_now(fd): revents of a zero-timeout poll for POLLIN|POLLRDHUP (0 = nothing
 *   to read and no end of file), -1 with errno.
 * reap(pid, ms): wait at most ms for pid to exit, else SIGKILL; always reaps.
 *   Returns the exit code (128+signal), or -1 with errno (ETIMEDOUT when killed).
 *
 * The parent<->worker channel is an AF_UNIX SOCK_SEQPACKET socketpair: one struct
 * chmsg per message, at most one descriptor attached (fdpass.h).
 * ch_send(ch, m, fd): fd < 0 sends none. 0, or -1 with errno.
 * ch_recv(ch, m, fd, ms): waits at most ms; fd NULL means no descriptor is expected
 *   (one that arrives anyway is an EMSGSIZE error, closed by recv_fds). Returns 1
 *   with *m (and *fd, -1 when none came), 0 at EOF, -1 with errno.
 *
 * open_extra_fds(fds, n): n descriptors on /dev/null (so that a process's lowest
 *   free number is pushed up); 0, or -1 with errno and nothing left open.
 */
#ifndef LAB03_H
#define LAB03_H

#include <stddef.h>
#include <sys/types.h>

#define WAIT_MS 10000 /* bound on every wait; the lab normally needs milliseconds */

struct lab {
    int failed;
};

struct chmsg {
    int type; /* enum in each scenario */
    int a, b;
};

void claim(struct lab *lab, int ok, const char *what);
int kcmp_file(pid_t p1, pid_t p2, int fd1, int fd2);
int wait_readable(int fd, int ms);
ssize_t read_full(int fd, void *buf, size_t n, int ms);
ssize_t read_line(int fd, char *buf, size_t cap, int ms);
int poll_now(int fd);
int reap(pid_t pid, int ms);
int ch_send(int ch, const struct chmsg *m, int fd);
int ch_recv(int ch, struct chmsg *m, int *fd, int ms);
pid_t fork_or_die(void);
void seqpair_or_die(int sv[2]);
int open_extra_fds(int *fds, int n);
void close_fds(const int *fds, int n);

/* The scenarios (one file each). */
void scn_serve(struct lab *lab, int workers, int clients);
void scn_inflight(struct lab *lab);
void scn_multi(struct lab *lab);
void scn_ctrunc(struct lab *lab);
void scn_churn(struct lab *lab, int passes);
void scn_limits(struct lab *lab);

#endif
