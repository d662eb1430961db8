/* pair.h — run lab 01's server together with its paired client (used by lab.c).
 *
 * pair_run(dir, scenario, out_server, out_client, leftovers):
 *   starts "<dir>/server -s <scenario>" in its own process group with stdout on a
 *   pipe, reads until it prints "port=N" (bounded), runs "<dir>/client -p N" to
 *   completion with run_capture() (spawn.h, bounded), then reads the server's output
 *   to its end and reaps it. Then it checks that the server's process group is empty
 *   (kill(-pgid, 0) fails with ESRCH): *leftovers is the number of processes that
 *   outlived the server in its group plus those the client left in its own (both are
 *   killed); a well-behaved pair leaves 0. Every wait is bounded (PAIR_TIMEOUT_S);
 *   on a timeout the server's group is killed with SIGKILL and reaped. The server's
 *   stderr is ours.
 *   Returns 0 with *out_server and *out_client malloc'd (the captured stdout texts,
 *   the caller frees them), -1 with errno (ETIMEDOUT when the server hung, ECHILD
 *   when it did not exit 0, others from pipe/fork/poll) — then nothing is allocated
 *   and nothing of ours is left running.
 */
#ifndef FDLAB_LAB01_PAIR_H
#define FDLAB_LAB01_PAIR_H

#define PAIR_TIMEOUT_S 20.0

int pair_run(const char *dir, char scenario, char **out_server, char **out_client, int *leftovers);

#endif
