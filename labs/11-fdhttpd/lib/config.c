/* config.c — fdhttpd's options: parsing, checking (-t) and --help. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdhttpd.h"

const char fdh_usage[] =
    "usage: fdhttpd [options]\n"
    "A pre-forked HTTP/1.1 server: one master process supervising N worker processes,\n"
    "each running one epoll event loop.\n"
    "\n"
    "  -l, --listen IP:PORT   address to listen on (default 127.0.0.1:8080); PORT 0 lets\n"
    "                         the kernel choose. On start the master prints\n"
    "                         listening=IP:PORT, and ready=1 once every worker is up.\n"
    "  -w, --workers N        worker processes, 1..64 (default: the number of CPUs)\n"
    "  -a, --accept MODE      how connections reach the workers:\n"
    "                           reuseport  one SO_REUSEPORT listener per worker, opened by\n"
    "                                      the master (the kernel spreads connections)\n"
    "                           exclusive  one shared listener, EPOLLEXCLUSIVE in each\n"
    "                                      worker's epoll set\n"
    "                           mutex      one shared listener, nginx-style accept mutex\n"
    "                                      (trylock, robust, in shared memory)\n"
    "                           passfd     the master accepts and passes each connection\n"
    "                                      to a worker over its channel (SCM_RIGHTS)\n"
    "                         (default reuseport)\n"
    "  -r, --root DIR         document root (a directory). Default: the bundled site,\n"
    "                         labs/11-fdhttpd/site, looked up from the current directory\n"
    "                         (the repo root) and then upwards from the binary's directory\n"
    "      --max-body BYTES   largest request body (default 1048576); larger: 413, close\n"
    "      --max-header-bytes BYTES  largest request head (default 8192); larger: 431\n"
    "      --max-headers N    most field lines in a head (default 64); more: 431\n"
    "                         (a request-line longer than 4096 bytes: 414)\n"
    "      --max-conns N      connections per worker (default 4096); at the limit the\n"
    "                         worker stops accepting until one closes (new ones wait\n"
    "                         in the backlog); passfd: beyond it, 503 and close\n"
    "      --header-timeout S seconds from a head's first byte to its end (default 10);\n"
    "                         then 408 and close (slowloris)\n"
    "      --keepalive-timeout S  seconds a connection may sit idle between requests\n"
    "                         (default 10)\n"
    "      --io-timeout S     seconds without progress while reading a body or sending a\n"
    "                         response (default 10)\n"
    "  -t, --test-config      check the options, print the reason of a failure, exit 0/1\n"
    "      --crash-slot S     testing aid: the worker in slot S aborts right after it is\n"
    "                         ready, every time (shows the respawn back-off)\n"
    "      --stubborn-slot S  testing aid: the worker in slot S ignores the master's QUIT\n"
    "                         and TERMINATE (shows the deadline and its SIGKILL)\n"
    "  -h, --help             this text\n"
    "\n"
    "Requests: GET /status answers the shared statistics as key=value lines; POST or PUT\n"
    "/echo answers the request body; everything else is a file under the root (GET,\n"
    "HEAD, OPTIONS; other methods 405). Every response names its worker (X-Worker).\n"
    "Signals to the master: SIGTERM/SIGINT stop now (workers get 3 s, then SIGKILL);\n"
    "SIGQUIT drains (stop accepting, finish requests in flight, at most 30 s). A worker\n"
    "that dies is respawned in its slot; one that keeps dying within 1 s of its start\n"
    "is respawned after 100 ms, doubling up to 5 s.\n"
    "Exit status: 0 after a clean stop, 1 on a configuration or start-up error.\n";

static const char *names[FDH_NACCEPT] = {"reuseport", "exclusive", "mutex", "passfd"};

const char *fdh_accept_name(enum fdh_accept a)
{
    return (unsigned)a < FDH_NACCEPT ? names[a] : "unknown";
}

int fdh_accept_parse(const char *name)
{
    for (int i = 0; i < FDH_NACCEPT; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* A whole decimal number in [lo, hi], or -1. */
static long parse_num(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    return v;
}

/* Seconds (a decimal like 0.5) in (0, 86400] -> milliseconds, or -1. */
static long parse_secs(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || v > 86400)
        return -1;
    long ms = (long)(v * 1000 + 0.5);
    return ms < 1 ? 1 : ms;
}

/* The default docroot: "labs/11-fdhttpd/site" below the current directory (make and
 * the tests run from the repo root), else below one of the first 5 ancestors of the
 * binary's directory ($BUILD/labs/11-fdhttpd/fdhttpd is 3 levels below the repo). */
static void default_root(struct fdh_config *cfg)
{
    static const char rel[] = "labs/11-fdhttpd/site";
    struct stat st;
    if (stat(rel, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(cfg->root_buf, sizeof cfg->root_buf, "%s", rel);
        cfg->root = cfg->root_buf;
        return;
    }
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    for (int up = 0; up < 5; up++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL)
            return;
        *slash = '\0';
        if (snprintf(cfg->root_buf, sizeof cfg->root_buf, "%s/%s", exe[0] ? exe : "", rel) >=
            (int)sizeof cfg->root_buf)
            return;
        if (stat(cfg->root_buf, &st) == 0 && S_ISDIR(st.st_mode)) {
            cfg->root = cfg->root_buf;
            return;
        }
    }
}

static int parse_listen(const char *s, struct fdh_config *cfg)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= sizeof cfg->ip)
        return -1;
    char ip[sizeof cfg->ip];
    memcpy(ip, s, (size_t)(colon - s));
    ip[colon - s] = '\0';
    struct in_addr a;
    long port = parse_num(colon + 1, 0, 65535);
    if (inet_pton(AF_INET, ip, &a) != 1 || port < 0)
        return -1;
    memcpy(cfg->ip, ip, sizeof ip);
    cfg->port = (uint16_t)port;
    return 0;
}

int fdh_config_parse(int argc, char **argv, struct fdh_config *cfg, char *err, size_t errlen)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    *cfg = (struct fdh_config){.ip = "127.0.0.1", .port = FDH_DEFAULT_PORT,
                               .workers = ncpu < 1 ? 1 : ncpu > FDH_MAX_WORKERS ? FDH_MAX_WORKERS : (int)ncpu,
                               .accept = FDH_REUSEPORT, .crash_slot = -1, .stubborn_slot = -1,
                               .max_body = FDH_MAX_BODY, .max_header_bytes = FDH_MAX_HEADER_BYTES,
                               .max_headers = FDH_MAX_HEADERS, .max_conns = FDH_MAX_CONNS,
                               .header_timeout_ms = FDH_IO_TIMEOUT_MS, .keepalive_timeout_ms = FDH_IO_TIMEOUT_MS,
                               .io_timeout_ms = FDH_IO_TIMEOUT_MS};
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},  {"workers", required_argument, NULL, 'w'},
        {"accept", required_argument, NULL, 'a'},  {"root", required_argument, NULL, 'r'},
        {"test-config", no_argument, NULL, 't'},   {"help", no_argument, NULL, 'h'},
        {"crash-slot", required_argument, NULL, 'C'}, {"stubborn-slot", required_argument, NULL, 'S'},
        {"max-body", required_argument, NULL, 'B'}, {"max-header-bytes", required_argument, NULL, 'H'},
        {"max-headers", required_argument, NULL, 'N'}, {"max-conns", required_argument, NULL, 'M'},
        {"header-timeout", required_argument, NULL, 'T'}, {"keepalive-timeout", required_argument, NULL, 'K'},
        {"io-timeout", required_argument, NULL, 'I'},
        {NULL, 0, NULL, 0}};
    long crash = -1, stubborn = -1;
    int c;
    opterr = 0; /* our own messages */
    optind = 1;
    while ((c = getopt_long(argc, argv, ":l:w:a:r:th", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (parse_listen(optarg, cfg) < 0)
                return snprintf(err, errlen, "--listen '%s': want IPv4:PORT, e.g. 127.0.0.1:0", optarg), -1;
            break;
        case 'w': {
            long n = parse_num(optarg, 1, FDH_MAX_WORKERS);
            if (n < 0)
                return snprintf(err, errlen, "--workers '%s': want 1..%d", optarg, FDH_MAX_WORKERS), -1;
            cfg->workers = (int)n;
            break;
        }
        case 'a': {
            int a = fdh_accept_parse(optarg);
            if (a < 0)
                return snprintf(err, errlen, "--accept '%s': want reuseport, exclusive, mutex or passfd",
                                optarg), -1;
            cfg->accept = (enum fdh_accept)a;
            break;
        }
        case 'r': cfg->root = optarg; break;
        case 't': cfg->check_only = 1; break;
        case 'C':
            if ((crash = parse_num(optarg, 0, FDH_MAX_WORKERS - 1)) < 0)
                return snprintf(err, errlen, "--crash-slot '%s': want a slot number", optarg), -1;
            break;
        case 'S':
            if ((stubborn = parse_num(optarg, 0, FDH_MAX_WORKERS - 1)) < 0)
                return snprintf(err, errlen, "--stubborn-slot '%s': want a slot number", optarg), -1;
            break;
        case 'B':
            if ((cfg->max_body = parse_num(optarg, 0, 1L << 30)) < 0)
                return snprintf(err, errlen, "--max-body '%s': want 0..%ld bytes", optarg, 1L << 30), -1;
            break;
        case 'H':
            if ((cfg->max_header_bytes = parse_num(optarg, 256, 1L << 20)) < 0)
                return snprintf(err, errlen, "--max-header-bytes '%s': want 256..1048576", optarg), -1;
            break;
        case 'N':
            if ((cfg->max_headers = parse_num(optarg, 1, 1000)) < 0)
                return snprintf(err, errlen, "--max-headers '%s': want 1..1000", optarg), -1;
            break;
        case 'M':
            if ((cfg->max_conns = parse_num(optarg, 1, 1000000)) < 0)
                return snprintf(err, errlen, "--max-conns '%s': want 1..1000000", optarg), -1;
            break;
        case 'T': case 'K': case 'I': {
            long ms = parse_secs(optarg);
            if (ms < 0)
                return snprintf(err, errlen, "--%s '%s': want seconds > 0, e.g. 0.5",
                                c == 'T' ? "header-timeout" : c == 'K' ? "keepalive-timeout" : "io-timeout", optarg), -1;
            *(c == 'T' ? &cfg->header_timeout_ms : c == 'K' ? &cfg->keepalive_timeout_ms : &cfg->io_timeout_ms) = ms;
            break;
        }
        case 'h': fputs(fdh_usage, stdout); exit(0);
        case ':': return snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]), -1;
        default: return snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]), -1;
        }
    }
    if (optind < argc)
        return snprintf(err, errlen, "unexpected argument '%s'", argv[optind]), -1;
    if (crash >= cfg->workers)
        return snprintf(err, errlen, "--crash-slot %ld: there are only %d workers", crash, cfg->workers), -1;
    if (stubborn >= cfg->workers)
        return snprintf(err, errlen, "--stubborn-slot %ld: there are only %d workers", stubborn, cfg->workers), -1;
    cfg->crash_slot = (int)crash;
    cfg->stubborn_slot = (int)stubborn;
    if (cfg->root == NULL)
        default_root(cfg);
    else {
        struct stat st;
        if (stat(cfg->root, &st) < 0)
            return snprintf(err, errlen, "--root '%s': %s", cfg->root, strerror(errno)), -1;
        if (!S_ISDIR(st.st_mode))
            return snprintf(err, errlen, "--root '%s': not a directory", cfg->root), -1;
    }
    return 0;
}
