/* lab.c — lab 13: io_uring, the newest way to accept and to pass a descriptor.
 *
 * Usage: lab [-p burst|pass|ledger] [-n N] [ledger options: -m epoll|uring -k 0|1
 *            -c CONNS -r REQUESTS]
 *   Part 1 (burst)  a burst of N connections (default 64) accepted by an epoll loop,
 *                   by one multishot IORING_OP_ACCEPT, and into fixed ("direct") slots.
 *   Part 2 (pass)   an acceptor ring hands connections to worker rings with
 *                   IORING_OP_MSG_RING + IORING_MSG_SEND_FD, against SCM_RIGHTS over
 *                   socketpairs (lab 09's way), both between threads; the same to a
 *                   forked process through an inherited ring fd; and what sendmsg
 *                   says to an io_uring fd in SCM_RIGHTS.
 *   Part 3 (ledger) one server, epoll then io_uring, serving the same tiny response,
 *                   kept-alive and one request per connection: CPU µs, system calls and
 *                   context switches per request. With -m only that server and case
 *                   run (the bench's way).
 * Prints key=value lines, <claim>.shown=1|0 per claim and claims_shown/claims_total.
 * Exit 0 when every claim was shown, 1 when one was not, 77 (RING_SKIP_EXIT) when
 * io_uring cannot be used here (disabled by kernel.io_uring_disabled, not built in):
 * then nothing was shown, and the tests report a skip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "kv.h"
#include "lib/parts.h"
#include "lib/ring.h"

static unsigned num_arg(const char *s, unsigned lo, unsigned hi)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        die_msg("bad number %s (want %u..%u); see lab.c's header for usage", s, lo, hi);
    return (unsigned)v;
}

int main(int argc, char **argv)
{
    const char *part = NULL, *mode = NULL;
    unsigned n = 64, keep = 1, conns = 8, reqs = 0;
    int opt;
    while ((opt = getopt(argc, argv, "p:n:m:k:c:r:")) != -1) {
        switch (opt) {
        case 'p': part = optarg; break;
        case 'n': n = num_arg(optarg, 1, 4096); break;
        case 'm': mode = optarg; break;
        case 'k': keep = num_arg(optarg, 0, 1); break;
        case 'c': conns = num_arg(optarg, 1, 1024); break;
        case 'r': reqs = num_arg(optarg, 1, 10000000); break;
        default: die_msg("usage: lab [-p burst|pass|ledger] [-n N] [-m epoll|uring -k 0|1 -c C -r R]");
        }
    }
    if (optind != argc || (part && strcmp(part, "burst") && strcmp(part, "pass") &&
                           strcmp(part, "ledger")) ||
        (mode && strcmp(mode, "epoll") && strcmp(mode, "uring")))
        die_msg("usage: lab [-p burst|pass|ledger] [-n N] [-m epoll|uring -k 0|1 -c C -r R]");
    puts("Lab 13: io_uring — multishot accept, passing descriptors between rings, the cost ledger.");
    char why[160];
    if (!ring_usable(why, sizeof why)) {
        kv_print("io_uring", "unavailable");
        kv_print("skipped", "%s", why);
        printf("io_uring cannot be used here (%s): this lab shows nothing; exit %d = skipped.\n",
               why, RING_SKIP_EXIT);
        return RING_SKIP_EXIT;
    }
    kv_print("io_uring", "available");
    struct claims c = {0};
    if (mode) { /* one ledger case, for the bench */
        struct ledger l;
        int ok = ledger_case(mode, (int)keep, conns, reqs ? reqs : (keep ? LEDGER_KEEP : LEDGER_CLOSE), &l);
        return ok ? 0 : 1;
    }
    if (!part || !strcmp(part, "burst"))
        burst_part(&c, n);
    if (!part || !strcmp(part, "pass"))
        pass_part(&c, n * 4);
    if (!part || !strcmp(part, "ledger"))
        ledger_part(&c);
    kv_print("claims_shown", "%d", c.shown);
    kv_print("claims_total", "%d", c.total);
    return c.shown == c.total && c.total > 0 ? 0 : 1;
}
