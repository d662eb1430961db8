/* srvharness.h — start an fdhttpd (lab 11), talk to it, stop it: for the lab drivers
 * and tests of labs 11 and 12.
 *
 * fdh_srv_start(s, bin, argv, timeout_s)
 *   Forks and execs bin with argv (argv[0] included, NULL-terminated) in a NEW process
 *   group (its id is the master's pid), stdout and stderr on pipes, with
 *   PR_SET_PDEATHSIG = SIGKILL: if the calling thread dies (a test assertion aborts
 *   it), the whole server goes too. Waits until the
 *   master printed "ready=1" (every worker up) and reads the port from "listening=".
 *   Returns 0; -1 with errno (ETIMEDOUT, or the server exited first: ECHILD) — then the
 *   group is killed and reaped. s->out / s->err accumulate what the server printed.
 * fdh_srv_pump(s, ms): reads the server's pipes for up to ms (so it never blocks on a
 *   full pipe); returns 1 when both pipes reached end of file.
 * fdh_srv_wait(s, timeout_s)
 *   Waits for the master to exit (pumping the pipes). Returns its exit code (128+sig
 *   when killed), or -1 when it did not exit in time (then it is SIGKILLed and reaped).
 * fdh_srv_leftovers(s): processes still in the server's group (scan of /proc); then
 *   SIGKILLs them, so that nothing outlives the caller. Call after fdh_srv_wait.
 * fdh_srv_free(s): closes the pipes, frees the text; kills and reaps the group if the
 *   master is still running (safe to call twice and on a failed start).
 * fdh_http(port, request, resp, cap, timeout_ms)
 *   One exchange on a fresh connection: sends request, reads until the server closes
 *   (send "Connection: close"). resp gets a NUL-terminated copy (cut to cap-1).
 *   Returns the response length, or -1 with errno.
 * fdh_status(port, body, cap): GET /status; body gets the key=value text (kv.h).
 *   Returns 0, or -1 with errno.
 */
#ifndef KIT_SRVHARNESS_H
#define KIT_SRVHARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fdh_srv {
    pid_t pid;         /* the master; 0 after it was reaped */
    pid_t pgid;        /* the server's process group (the master's pid) */
    int status;        /* waitpid status once reaped */
    int outfd, errfd;  /* pipes, -1 at EOF */
    uint16_t port;
    char *out, *err;   /* NUL-terminated, malloc'd */
    size_t outlen, errlen;
};

int fdh_srv_start(struct fdh_srv *s, const char *bin, char *const argv[], double timeout_s);
int fdh_srv_pump(struct fdh_srv *s, int ms);
int fdh_srv_wait(struct fdh_srv *s, double timeout_s);
int fdh_srv_leftovers(struct fdh_srv *s);
void fdh_srv_free(struct fdh_srv *s);
ssize_t fdh_http(uint16_t port, const char *request, char *resp, size_t cap, int timeout_ms);
int fdh_status(uint16_t port, char *body, size_t cap);

#endif
