/* loadclient — the command-line face of loadgen.h.
 *
 *   loadclient -p PORT [-H host] -c CONNS (-n REQUESTS | -d SECONDS) [-t TIMEOUT] [-k]
 *              [--csv FILE]
 *
 * Prints key=value lines: requests, ok, errors.<kind> for every kind, rps (successful
 * requests per second of the run), p50_ms, p99_ms, max_ms (over successful requests),
 * elapsed_s, and worker.<id>=count for every X-Worker id seen. --csv writes one line
 * per request (loadgen_write_csv). Exits 0 when the run was made (even if requests
 * failed: the errors are the result), 1 when it could not be, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "fdlimit.h"
#include "kv.h"
#include "loadgen.h"

static void usage(void)
{
    fprintf(stderr, "usage: loadclient -p PORT [-H host] -c CONNS (-n REQUESTS | -d SECONDS)"
                    " [-t TIMEOUT] [-k] [--csv FILE]\n");
    exit(2);
}

static double parse_num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0)
        die_msg("bad %s: %s", what, s);
    return v;
}

int main(int argc, char **argv)
{
    struct loadgen_opts o = {0};
    const char *csv = NULL;
    static const struct option longopts[] = {{"csv", required_argument, NULL, 'C'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "p:H:c:n:d:t:kh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p': {
            double p = parse_num(optarg, "port");
            if (p < 1 || p > 65535 || p != (int)p)
                die_msg("bad port: %s", optarg);
            o.port = (uint16_t)p;
            break;
        }
        case 'H': o.host = optarg; break;
        case 'c': o.connections = (int)parse_num(optarg, "connections"); break;
        case 'n': o.requests = (long)parse_num(optarg, "requests"); break;
        case 'd': o.duration_s = parse_num(optarg, "duration"); break;
        case 't': o.timeout_s = parse_num(optarg, "timeout"); break;
        case 'k': o.keepalive = 1; break;
        case 'C': csv = optarg; break;
        default: usage();
        }
    }
    if (optind != argc || !o.port || o.connections < 1 || (o.requests > 0) == (o.duration_s > 0))
        usage();
    /* Each connection needs a descriptor, plus a few for the process itself. */
    if (fd_limit_raise((long)o.connections + 64) < 0)
        warn_errno("raising RLIMIT_NOFILE");

    struct loadgen_result r;
    if (loadgen_run(&o, &r) < 0)
        die("loadgen_run");
    kv_print("requests", "%zu", r.nsamples);
    kv_print("ok", "%ld", r.ok);
    for (int e = LG_ERR_CONNECT; e <= LG_ERR_PROTOCOL; e++) {
        char key[32];
        snprintf(key, sizeof key, "errors.%s", loadgen_error_name((enum lg_error)e));
        kv_print(key, "%ld", r.errors[e]);
    }
    kv_print("elapsed_s", "%.3f", r.elapsed_s);
    kv_print("rps", "%.1f", r.elapsed_s > 0 ? (double)r.ok / r.elapsed_s : 0.0);
    kv_print("p50_ms", "%.3f", 1e3 * loadgen_percentile(&r, 0.50));
    kv_print("p99_ms", "%.3f", 1e3 * loadgen_percentile(&r, 0.99));
    kv_print("max_ms", "%.3f", 1e3 * loadgen_percentile(&r, 1.0));
    for (int w = 0; w < LOADGEN_MAX_WORKERS; w++) {
        if (r.per_worker[w]) {
            char key[32];
            snprintf(key, sizeof key, "worker.%d", w);
            kv_print(key, "%ld", r.per_worker[w]);
        }
    }
    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f)
            die("open %s", csv);
        if (loadgen_write_csv(&r, f) < 0)
            die("write %s", csv);
        if (fclose(f) != 0)
            die("close %s", csv);
    }
    loadgen_result_free(&r);
    return 0;
}
