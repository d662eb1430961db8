/* child.h — a long-running sibling program (the descriptor server, the pidfd target)
 * started by lab.c with fork+exec, talked to through two pipes.
 *
 * child_start(c, argv): forks and execs argv[0] (a path) with stdin = a pipe we write
 *   (closing it is the "stop" signal the programs wait for) and stdout = a pipe we
 *   read; stderr is inherited. The child stays in our process group so that whoever
 *   runs the lab sees it if it is ever left behind. Returns 0, or -1 with errno.
 * child_wait_key(c, key, timeout_s): reads the child's stdout into c->text until a
 *   line "key=..." has arrived. Returns 0; -1 with errno ETIMEDOUT, or EPIPE when the
 *   child closed stdout first.
 * child_finish(c, timeout_s): closes the child's stdin, reads stdout to EOF and reaps
 *   the child, all within timeout_s; on timeout the child is killed (SIGKILL) and
 *   reaped. Returns the exit code (128+signal when killed), or -1 with errno.
 *   Frees nothing: c->text stays valid until child_free(c).
 * child_free(c): frees c->text (safe after a failed start).
 */
#ifndef LAB04_CHILD_H
#define LAB04_CHILD_H

#include <stddef.h>
#include <sys/types.h>

struct child {
    pid_t pid;
    int pidfd;      /* to wait for the exit with a bound (poll) */
    int in, out;    /* our ends: the child's stdin and stdout */
    char *text;     /* everything read from its stdout, NUL-terminated */
    size_t len, cap;
};

int child_start(struct child *c, char *const argv[]);
int child_wait_key(struct child *c, const char *key, double timeout_s);
int child_finish(struct child *c, double timeout_s);
void child_free(struct child *c);

#endif
