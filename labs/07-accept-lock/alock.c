/* alock — run one accept-lock scenario and print its results (used by the bench and
 * the tests; lab.c runs a fixed set of them).
 *
 *   alock -m none|fcntl|ofd|pmutex|nginx [-w WORKERS] [-n REQUESTS] [-c CONCURRENCY]
 *         [-k KILL_AFTER [-K]] [-r] [-L CONN_LIMIT] [-D DELAY_MS] [-i IDLE] [-t TIMEOUT_S]
 *
 * Defaults: -w 4 -n 300 -c 1. -k K: the first worker to take the lock after K accepted
 * connections dies by SIGKILL holding it; with -K (fcntl, ofd, pmutex) the client pauses
 * after K requests instead and the parent SIGKILLs the holder, blocked in accept(),
 * from outside; -r: the parent replaces dead workers.
 * -L/-D/-i: nginx's per-worker connection limit (64), a loser's retry delay (20 ms),
 * and idle connections the client opens before the requests (the throttle demo;
 * with nginx worker 0 takes all of them, so -i must not exceed -L).
 * Prints the keys of print.h without prefix. Exits 0 when every request was answered
 * and every connection the client made was accepted, 1 otherwise, 2 on bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "kv.h"
#include "lib/alock.h"
#include "lib/print.h"

static void usage(void)
{
    fprintf(stderr, "usage: alock -m none|fcntl|ofd|pmutex|nginx [-w WORKERS] [-n REQUESTS]"
                    " [-c CONCURRENCY] [-k KILL_AFTER [-K]] [-r] [-L CONN_LIMIT] [-D DELAY_MS]"
                    " [-i IDLE] [-t TIMEOUT_S]\n");
    exit(2);
}

static long num(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    struct alock_opts o = {.workers = 4, .requests = 300, .concurrency = 1};
    int method = -1, opt;
    while ((opt = getopt(argc, argv, "m:w:n:c:k:KrL:D:i:t:")) != -1) {
        switch (opt) {
        case 'm': method = alock_method_parse(optarg); break;
        case 'w': o.workers = (int)num(optarg); break;
        case 'n': o.requests = num(optarg); break;
        case 'c': o.concurrency = (int)num(optarg); break;
        case 'k': o.kill_after = num(optarg); break;
        case 'K': o.outside_kill = 1; break;
        case 'r': o.respawn = 1; break;
        case 'L': o.conn_limit = (int)num(optarg); break;
        case 'D': o.delay_ms = (int)num(optarg); break;
        case 'i': o.idle = (int)num(optarg); break;
        case 't': o.timeout_s = (double)num(optarg); break;
        default: usage();
        }
    }
    if (optind != argc || method < 0)
        usage();
    o.method = (enum alock_method)method;
    struct alock_result r;
    if (alock_run(&o, &r) < 0) {
        if (errno == EINVAL)
            usage();
        die("alock_run %s", alock_method_name(o.method));
    }
    alock_print("", &o, &r);
    return r.errors == 0 && r.ok == o.requests && r.accepted == o.requests + o.idle ? 0 : 1;
}
