/* lab 03 — SCM_RIGHTS: the seed's server, fixed by passing descriptors.
 *
 * Scenarios (-s NAME, default all; see lib/<file>.c for each):
 *   serve     N workers, M clients, round-robin passing, kcmp, EOF on the last close
 *             (-w workers, -c clients)                                      lib/serve.c
 *   inflight  the sender closes at once; the message keeps the file alive   lib/passing.c
 *   multi     three descriptors in one message, order and identity          lib/passing.c
 *   ctrunc    too little control space: MSG_CTRUNC, dropped fds, no leak    lib/ctrunc.c
 *   churn     1,000 passes, fd counts unchanged (-n passes)                 lib/limits.c
 *   limits    SCM_MAX_FD and ETOOMANYREFS                                   lib/limits.c
 * Results are key=value lines; exit 0 only when every claim held.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fdcount.h"
#include "fdsnap.h"
#include "kv.h"
#include "lib/lab03.h"

static const char *const scenarios[] = {"serve", "inflight", "multi", "ctrunc", "churn", "limits"};
enum { NSCEN = sizeof scenarios / sizeof scenarios[0] };

static void usage(void)
{
    die_msg("usage: lab [-s serve|inflight|multi|ctrunc|churn|limits|all] [-w workers] [-c clients] "
            "[-n passes]");
}

static int number(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > 1000000)
        usage();
    return (int)v;
}

int main(int argc, char **argv)
{
    const char *which = "all";
    int workers = 3, clients = 6, passes = 1000;
    int c;
    while ((c = getopt(argc, argv, "s:w:c:n:")) != -1) {
        switch (c) {
        case 's': which = optarg; break;
        case 'w': workers = number(optarg); break;
        case 'c': clients = number(optarg); break;
        case 'n': passes = number(optarg); break;
        default: usage();
        }
    }
    int all = strcmp(which, "all") == 0, known = all;
    for (int i = 0; i < NSCEN; i++)
        known |= strcmp(which, scenarios[i]) == 0;
    if (!known || optind != argc)
        usage();

    puts("Lab 03: passing open files between processes with SCM_RIGHTS.");
    puts("The parent accepts and sends each connection to a worker over a socketpair.");
    puts("What travels is a reference to the open file description, not a number: the");
    puts("worker gets its own (here: different) number for the SAME open file.");
    struct lab lab = {0};
    if (fdsnap_drawing())
        lab.snap = fdsnap_new("Lab 03: a connection passed to a worker with SCM_RIGHTS");
    int base = fd_count();
#define RUN(name, call)                                                                                           \
    do {                                                                                                           \
        if (all || !strcmp(which, name))                                                                           \
            call;                                                                                                  \
    } while (0)
    RUN("serve", scn_serve(&lab, workers, clients));
    RUN("inflight", scn_inflight(&lab));
    RUN("multi", scn_multi(&lab));
    RUN("ctrunc", scn_ctrunc(&lab));
    RUN("churn", scn_churn(&lab, passes));
    RUN("limits", scn_limits(&lab));
#undef RUN
    int leaked = fd_count() - base;
    if (fdsnap_draw(lab.snap, "03-scm-rights") < 0)
        warn_errno("picture 03-scm-rights");
    fdsnap_free(lab.snap);
    kv_print("fds.leaked", "%d", leaked);
    claim_quiet(&lab.claims, base >= 0 && leaked == 0, "no descriptor leaked in the parent");
    kv_print("result", "%s", claims_held(&lab.claims) ? "PASS" : "FAIL");
    return claims_held(&lab.claims) ? 0 : 1;
}
