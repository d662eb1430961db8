/* lab.c — lab 01, the naive attempt: can a process hand a connection to another by
 * writing the descriptor NUMBER into shared memory? (No.) And is a default mutex in
 * shared memory a cross-process lock? (Only half of one.)
 *
 * Usage: lab [-s a|b|c]   (default: all three scenarios)
 *   a  server + client: the worker's write() to the number fails with EBADF.
 *   b  server + client: the worker owns that number itself (its log file); the write
 *      succeeds into the log — proven by st_dev/st_ino, kcmp(2) and the log's bytes.
 *   c  mutex: a default mutex in MAP_SHARED memory loses the wake-up across processes;
 *      with PTHREAD_PROCESS_SHARED it does not.
 * Prints an explanation, then every result as key=value lines prefixed with the
 * scenario ("a.", "b.", "c."), then <claim>.shown=1|0 per claim and
 * claims_shown/claims_total. Exit 0 only when every claim of the run was shown.
 * Sibling programs (server, client, mutex) are found next to /proc/self/exe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "claim.h"
#include "err.h"
#include "kv.h"
#include "labpath.h"
#include "lib/pair.h"
#include "spawn.h"

struct ctx {
    char dir[4096]; /* where our sibling programs live */
    struct claims claims;
};

/* A number the lab's programs printed, or -999 when absent (no valid value is). */
static long num(const char *text, const char *key)
{
    return kv_long_or(text, key, -999);
}

static void scenario_fd(struct ctx *c, char which)
{
    char *s = NULL, *cl = NULL;
    int left = -1;
    if (which == 'a') {
        puts("\n# a. The worker write()s to the number the parent published.");
        puts("The worker was forked before accept(): that number is not open in its table.");
    } else {
        puts("\n# b. Same, but the worker opened its log file after fork().");
        puts("open() returns the lowest free number, accept() too, in two copies of one table:");
        puts("the log got the client's number, and the worker's write() lands in the log.");
    }
    if (pair_run(c->dir, which, &s, &cl, &left) < 0) {
        warn_errno("scenario %c: server/client run failed", which);
        claim(&c->claims, which == 'a' ? "a.shown" : "b.shown", 0);
        return;
    }
    char prefix[3] = {which, '.', '\0'};
    kv_forward(prefix, s, NULL);
    kv_forward(prefix, cl, NULL);
    /* The server runs in a group of its own, which the tests' leftover check cannot
     * see: pair_run looked (kill(-pgid, 0) == ESRCH) after reaping it. */
    char key[32];
    snprintf(key, sizeof key, "%c.leftover_procs", which);
    kv_print(key, "%d", left);
    int ok;
    if (which == 'a') {
        ok = kv_is(s, "worker_write_errno", "EBADF") && kv_is(s, "worker_fd_kind", "not_open") &&
             kv_is(s, "kcmp_errno", "EBADF") && kv_is(s, "kcmp_listener", "0") &&
             kv_is(cl, "client_bytes", "0") && kv_is(cl, "client_eof", "1") &&
             kv_is(s, "fds_leaked", "0");
    } else {
        ok = kv_is(s, "fd_number_coincides", "1") &&
             num(s, "worker_write_bytes") == num(s, "payload_len") &&
             kv_is(s, "worker_fd_kind", "regular") && kv_is(s, "parent_fd_kind", "socket") &&
             kv_is(s, "worker_fd_is_log", "1") &&
             kv_is(s, "same_inode_as_socket", "0") && kv_is(s, "kcmp_errno", "0") &&
             num(s, "kcmp") >= 1 && kv_is(s, "kcmp_listener", "0") &&
             kv_is(s, "payload_in_log", "1") && kv_is(cl, "client_bytes", "0") &&
             kv_is(cl, "client_eof", "1") && kv_is(s, "fds_leaked", "0");
    }
    ok = ok && left == 0;
    claim(&c->claims, which == 'a' ? "a.shown" : "b.shown", ok);
    free(s);
    free(cl);
}

static void scenario_mutex(struct ctx *c)
{
    puts("\n# c. The shared mutex, initialised like the seed's (no PTHREAD_PROCESS_SHARED).");
    puts("A locks; B blocks in the lock; A waits until /proc shows B asleep in futex(2)");
    puts("on the lock word, then unlocks. A private futex is keyed by (address space,");
    puts("address): A's wake-up cannot reach B. With PTHREAD_PROCESS_SHARED it does.");
    char path[4200];
    snprintf(path, sizeof path, "%s/mutex", c->dir);
    char *argv[] = {path, NULL};
    struct run_result r;
    if (run_capture(argv, 60, &r) < 0 || r.timed_out || run_exit_code(&r) != 0) {
        warn_errno("scenario c: mutex run failed");
        if (r.err)
            fputs(r.err, stderr);
        run_result_free(&r);
        claim(&c->claims, "c.private.shown", 0);
        claim(&c->claims, "c.pshared.shown", 0);
        claim(&c->claims, "c.lock.shown", 0);
        return;
    }
    kv_forward("c.", r.out, NULL);
    const char *o = r.out;
    claim(&c->claims, "c.private.shown",
          kv_is(o, "private.trylock_while_held", "EBUSY") &&
              kv_is(o, "private.waiter_seen_asleep", "1") &&
              kv_is(o, "private.futex_private_flag", "1") &&
              kv_is(o, "private.unlocked_before_deadline", "1") &&
              kv_is(o, "private.waiter", "ETIMEDOUT") &&
              kv_is(o, "private.lock_word_after_unlock", "0"));
    claim(&c->claims, "c.pshared.shown",
          kv_is(o, "pshared.trylock_while_held", "EBUSY") &&
              kv_is(o, "pshared.waiter_seen_asleep", "1") &&
              kv_is(o, "pshared.futex_private_flag", "0") &&
              kv_is(o, "pshared.unlocked_before_deadline", "1") &&
              kv_is(o, "pshared.asleep_after_unlock", "0") &&
              kv_is(o, "pshared.waiter", "acquired"));
    claim(&c->claims, "c.lock.shown",
          kv_is(o, "lock.waiter_seen_asleep", "1") && kv_is(o, "lock.futex_private_flag", "1") &&
              kv_is(o, "lock.asleep_after_unlock", "1") && kv_is(o, "lock.waiter", "stuck") &&
              kv_is(o, "lock.lock_word_after_unlock", "0"));
    run_result_free(&r);
}

int main(int argc, char **argv)
{
    struct ctx c = {.claims = {0}};
    const char *which = "abc";
    int opt;
    while ((opt = getopt(argc, argv, "s:")) != -1) {
        if (opt == 's' && optarg[0] && !optarg[1] && strchr("abc", optarg[0]))
            which = optarg;
        else
            die_msg("usage: lab [-s a|b|c]");
    }
    if (self_dir(c.dir, sizeof c.dir) < 0)
        die("the directory of /proc/self/exe");

    puts("Lab 01 - the naive attempt (a real failed design, re-implemented).");
    puts("The server forks its workers, THEN accepts, and publishes the client's descriptor");
    puts("NUMBER in MAP_SHARED memory under a default pthread mutex. A number indexes a");
    puts("per-process table, and a default mutex is process-private: both fail.");
    if (strchr(which, 'a'))
        scenario_fd(&c, 'a');
    if (strchr(which, 'b'))
        scenario_fd(&c, 'b');
    if (strchr(which, 'c'))
        scenario_mutex(&c);
    puts("");
    kv_print("claims_shown", "%d", c.claims.held);
    kv_print("claims_total", "%d", c.claims.made);
    puts(claims_held(&c.claims) ? "Every claim was shown." : "NOT every claim was shown: see above.");
    return claims_held(&c.claims) ? 0 : 1;
}
