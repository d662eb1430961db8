/* config.c — fdhttpd's options: parsing and checking (-t); the --help text is usage.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accept.h"
#include "config.h"

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

/* --access-log: "off" -> NULL; a path must open for appending now (so that -t and the
 * start fail with the reason, not every worker later). Without the flag: access.log in
 * the binary's directory, silently none when that cannot be opened (a default must not
 * stop the server). Returns 0, or -1 with err. */
static int access_log_check(struct fdh_config *cfg, char *err, size_t errlen)
{
    int dflt = cfg->access_log == NULL;
    if (!dflt && strcmp(cfg->access_log, "off") == 0) {
        cfg->access_log = NULL;
        return 0;
    }
    if (dflt) {
        char exe[2048];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
        if (slash == NULL)
            return 0;
        *slash = '\0';
        if (snprintf(cfg->access_log_buf, sizeof cfg->access_log_buf, "%s/access.log", exe) >=
            (int)sizeof cfg->access_log_buf)
            return 0;
        cfg->access_log = cfg->access_log_buf;
    }
    int fd = open(cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (dflt) {
            cfg->access_log = NULL;
            return 0;
        }
        return snprintf(err, errlen, "--access-log '%s': %s", cfg->access_log, strerror(errno)), -1;
    }
    close(fd);
    return 0;
}

/* Appends one --listen address (the first one from a --config file replaces argv's
 * list: the file wins). 0, or -1 with the reason in err. */
static int parse_listen(const char *s, struct fdh_config *cfg, int in_file, char *err, size_t errlen)
{
    if (in_file && !cfg->listen_from_file)
        cfg->nlisten = 0, cfg->listen_from_file = 1;
    struct sa_any a;
    if (sa_parse_endpoint(s, &a) < 0)
        return snprintf(err, errlen, "--listen '%s': want IPv4:PORT, [IPv6]:PORT or *:PORT, e.g. 127.0.0.1:0 "
                        "or [::1]:0", s), -1;
    if (cfg->nlisten >= FDH_MAX_ADDRS)
        return snprintf(err, errlen, "--listen '%s': at most %d addresses", s, FDH_MAX_ADDRS), -1;
    for (int i = 0; i < cfg->nlisten; i++)
        if (cfg->listen[i].len == a.len && memcmp(&cfg->listen[i].u, &a.u, a.len) == 0 && sa_port(&a.u.sa) != 0)
            return snprintf(err, errlen, "--listen '%s': given twice", s), -1;
    cfg->listen[cfg->nlisten++] = a;
    return 0;
}

/* Long-only options (no short letter). */
enum { FDH_OPT_SLOW_SLOT = 0x5301, FDH_OPT_SLOW_MS };

/* The numeric options (limits, timeouts, testing slots). Returns 0, or -1 with err. */
static int apply_number(int c, const char *arg, struct fdh_config *cfg, long *crash, long *stubborn, char *err,
                        size_t errlen)
{
    switch (c) {
    case 'C':
        if ((*crash = parse_num(arg, 0, FDH_MAX_WORKERS - 1)) < 0)
            return snprintf(err, errlen, "--crash-slot '%s': want a slot number", arg), -1;
        return 0;
    case 'S':
        if ((*stubborn = parse_num(arg, 0, FDH_MAX_WORKERS - 1)) < 0)
            return snprintf(err, errlen, "--stubborn-slot '%s': want a slot number", arg), -1;
        return 0;
    case FDH_OPT_SLOW_SLOT:
        if ((cfg->slow_slot = (int)parse_num(arg, 0, FDH_MAX_WORKERS - 1)) < 0)
            return snprintf(err, errlen, "--slow-slot '%s': want a slot number", arg), -1;
        return 0;
    case FDH_OPT_SLOW_MS:
        if ((cfg->slow_ms = parse_num(arg, 1, 10000)) < 0)
            return snprintf(err, errlen, "--slow-ms '%s': want 1..10000", arg), -1;
        return 0;
    case 'B':
        if ((cfg->max_body = parse_num(arg, 0, 1L << 30)) < 0)
            return snprintf(err, errlen, "--max-body '%s': want 0..%ld bytes", arg, 1L << 30), -1;
        return 0;
    case 'H':
        if ((cfg->max_header_bytes = parse_num(arg, 256, 1L << 20)) < 0)
            return snprintf(err, errlen, "--max-header-bytes '%s': want 256..1048576", arg), -1;
        return 0;
    case 'N':
        if ((cfg->max_headers = parse_num(arg, 1, 1000)) < 0)
            return snprintf(err, errlen, "--max-headers '%s': want 1..1000", arg), -1;
        return 0;
    case 'M':
        if ((cfg->max_conns = parse_num(arg, 1, 1000000)) < 0)
            return snprintf(err, errlen, "--max-conns '%s': want 1..1000000", arg), -1;
        return 0;
    case 'T': case 'K': case 'I': case 'D': {
        long ms = parse_secs(arg);
        if (ms < 0)
            return snprintf(err, errlen, "--%s '%s': want seconds > 0, e.g. 0.5",
                            c == 'T' ? "header-timeout" : c == 'K' ? "keepalive-timeout"
                            : c == 'I' ? "io-timeout" : "drain-timeout", arg), -1;
        *(c == 'T' ? &cfg->header_timeout_ms : c == 'K' ? &cfg->keepalive_timeout_ms
          : c == 'I' ? &cfg->io_timeout_ms : &cfg->drain_timeout_ms) = ms;
        return 0;
    }
    }
    return 0;
}

/* The options whose value is checked against a set or a shape: --workers, --accept,
 * --status, --cache-control (its value stays a pointer into argv or the config text).
 * Returns 0, or -1 with err. */
static int apply_choice(int c, const char *arg, struct fdh_config *cfg, char *err, size_t errlen)
{
    switch (c) {
    case 'w': {
        long n = parse_num(arg, 1, FDH_MAX_WORKERS);
        if (n < 0)
            return snprintf(err, errlen, "--workers '%s': want 1..%d", arg, FDH_MAX_WORKERS), -1;
        cfg->workers = (int)n;
        return 0;
    }
    case 'a': {
        const struct fdh_accept_ops *a = fdh_accept_find(arg);
        if (a == NULL)
            return snprintf(err, errlen, "--accept '%s': want reuseport, exclusive, mutex, passfd or steered",
                            arg), -1;
        cfg->accept = a;
        return 0;
    }
    case 'Z':
        if (strcmp(arg, "on") == 0)
            cfg->status_mode = FDH_STATUS_ON;
        else if (strcmp(arg, "off") == 0)
            cfg->status_mode = FDH_STATUS_OFF;
        else if (strcmp(arg, "loopback") == 0)
            cfg->status_mode = FDH_STATUS_LOOPBACK;
        else
            return snprintf(err, errlen, "--status '%s': want on, off or loopback", arg), -1;
        return 0;
    case 'c':
        if (strpbrk(arg, "\r\n") || strlen(arg) > 200)
            return snprintf(err, errlen, "--cache-control: one line of at most 200 bytes"), -1;
        cfg->cache_control = strcmp(arg, "off") == 0 ? NULL : arg;
        return 0;
    }
    return 0;
}

static const struct option longopts[] = {
    {"listen", required_argument, NULL, 'l'},  {"workers", required_argument, NULL, 'w'},
    {"accept", required_argument, NULL, 'a'},  {"root", required_argument, NULL, 'r'},
    {"test-config", no_argument, NULL, 't'},   {"help", no_argument, NULL, 'h'},
    {"crash-slot", required_argument, NULL, 'C'}, {"stubborn-slot", required_argument, NULL, 'S'},
    {"max-body", required_argument, NULL, 'B'}, {"max-header-bytes", required_argument, NULL, 'H'},
    {"max-headers", required_argument, NULL, 'N'}, {"max-conns", required_argument, NULL, 'M'},
    {"header-timeout", required_argument, NULL, 'T'}, {"keepalive-timeout", required_argument, NULL, 'K'},
    {"io-timeout", required_argument, NULL, 'I'}, {"access-log", required_argument, NULL, 'L'},
    {"user", required_argument, NULL, 'Y'}, {"status", required_argument, NULL, 'Z'},
    /* lab 12: reload and upgrade */
    {"config", required_argument, NULL, 'f'}, {"no-handover", no_argument, NULL, 'O'},
    {"upgrade-from", required_argument, NULL, 'U'}, {"drain-timeout", required_argument, NULL, 'D'},
    {"slow-slot", required_argument, NULL, FDH_OPT_SLOW_SLOT}, {"slow-ms", required_argument, NULL, FDH_OPT_SLOW_MS},
    /* operator habits */
    {"cache-control", required_argument, NULL, 'c'}, {"gzip-static", no_argument, NULL, 'g'},
    {NULL, 0, NULL, 0}};

/* One pass of getopt over argv (argv[0] is skipped) into *cfg; *crash / *stubborn get
 * the testing slots (checked later against the final worker count). in_file: the
 * options come from a --config file, where --config, --upgrade-from and -t make no
 * sense and are refused. Returns 0, or -1 with the reason in err. */
static int apply(int argc, char **argv, struct fdh_config *cfg, long *crash, long *stubborn, int in_file,
                 char *err, size_t errlen)
{
    int c;
    opterr = 0; /* our own messages */
    optind = 0; /* 0, not 1: glibc then fully re-initialises (parsed again on reload) */
    while ((c = getopt_long(argc, argv, ":l:w:a:r:th", longopts, NULL)) != -1) {
        if (in_file && (c == 'f' || c == 'U' || c == 't' || c == 'h'))
            return snprintf(err, errlen, "%s: '%s' is not allowed in a config file", cfg->config_file,
                            argv[optind - 1]), -1;
        switch (c) {
        case 'l':
            if (parse_listen(optarg, cfg, in_file, err, errlen) < 0)
                return -1;
            break;
        case 'r': cfg->root = optarg; break;
        case 't': cfg->check_only = 1; break;
        case 'L': cfg->access_log = optarg; break;
        case 'Y': cfg->user = optarg; break;
        case 'f': cfg->config_file = optarg; break;
        case 'O': cfg->no_handover = 1; break;
        case 'U': cfg->upgrade_from = optarg; break;
        case 'g': cfg->gzip_static = 1; break;
        case 'h': fputs(fdh_usage, stdout); exit(0);
        case ':': return snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]), -1;
        case '?': return snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]), -1;
        case 'w': case 'a': case 'Z': case 'c':
            if (apply_choice(c, optarg, cfg, err, errlen) < 0)
                return -1;
            break;
        default:
            if (apply_number(c, optarg, cfg, crash, stubborn, err, errlen) < 0)
                return -1;
            break;
        }
    }
    if (optind < argc)
        return snprintf(err, errlen, "unexpected argument '%s'", argv[optind]), -1;
    return 0;
}

/* The --config file: the same long options, one per line ("name value", "name=value"
 * or "name" alone, with or without the leading "--"), '#' starts a comment. It is
 * read into cfg->cfg_text and turned into an argv whose strings point there, so the
 * values (e.g. root) live as long as the config. */
static int apply_file(struct fdh_config *cfg, long *crash, long *stubborn, char *err, size_t errlen)
{
    FILE *f = fopen(cfg->config_file, "re");
    if (f == NULL)
        return snprintf(err, errlen, "--config '%s': %s", cfg->config_file, strerror(errno)), -1;
    size_t n = fread(cfg->cfg_text, 1, sizeof cfg->cfg_text - 1, f);
    int bad = ferror(f), big = !bad && n == sizeof cfg->cfg_text - 1 && fgetc(f) != EOF;
    fclose(f);
    if (bad || big)
        return snprintf(err, errlen, "--config '%s': %s", cfg->config_file,
                        bad ? "read error" : "larger than 8 KiB"), -1;
    cfg->cfg_text[n] = '\0';
    char *av[2 * 64 + 2];
    int ac = 0, lineno = 0;
    av[ac++] = "fdhttpd";
    /* getopt wants "--name": the names are copied into names[] (only the values must
     * outlive the parse, and they stay in cfg_text). */
    enum { NAMEMAX = 32 };
    char names[64][NAMEMAX];
    int nnames = 0; /* options seen: not (ac - 1) / 2, since a flag takes no value */
    for (char *line = cfg->cfg_text, *next; line && *line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *name = line + strspn(line, " \t\r");
        if (*name == '\0')
            continue;
        char *end = name + strcspn(name, " \t\r=");
        char *val = NULL;
        if (*end) {
            *end++ = '\0';
            val = end + strspn(end, " \t\r=");
            char *vend = val + strlen(val);
            while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '\r'))
                *--vend = '\0';
            if (*val == '\0')
                val = NULL;
        }
        if (name[0] == '-' && name[1] == '-')
            name += 2;
        if (ac >= (int)(sizeof av / sizeof av[0]) - 3 || nnames >= 64 || strlen(name) + 3 > NAMEMAX)
            return snprintf(err, errlen, "%s:%d: too many or too long options", cfg->config_file, lineno), -1;
        char *nm = names[nnames++];
        snprintf(nm, NAMEMAX, "--%s", name);
        av[ac++] = nm;
        if (val)
            av[ac++] = val;
    }
    av[ac] = NULL;
    return apply(ac, av, cfg, crash, stubborn, 1, err, errlen);
}

/* --user (started as root): the workers' uid and gid, looked up now so that a worker
 * never consults NSS and a wrong name is a start-up error. Not root: nothing to drop. */
static int resolve_user(struct fdh_config *cfg, char *err, size_t errlen)
{
    if (geteuid() != 0)
        return 0;
    const char *name = cfg->user ? cfg->user : FDH_DEFAULT_USER;
    errno = 0;
    struct passwd *pw = getpwnam(name);
    if (pw == NULL)
        return snprintf(err, errlen, "--user '%s': %s", name, errno ? strerror(errno) : "no such user"), -1;
    snprintf(cfg->user_name, sizeof cfg->user_name, "%s", name);
    cfg->uid = pw->pw_uid;
    cfg->gid = pw->pw_gid;
    cfg->drop = pw->pw_uid != 0;
    return 0;
}

int fdh_config_parse(int argc, char **argv, struct fdh_config *cfg, char *err, size_t errlen)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    *cfg = (struct fdh_config){
                               .workers = ncpu < 1 ? 1 : ncpu > FDH_MAX_WORKERS ? FDH_MAX_WORKERS : (int)ncpu,
                               .accept = fdh_accept_default(), .crash_slot = -1, .stubborn_slot = -1,
                               .slow_slot = -1, .slow_ms = 50,
                               .status_mode = FDH_STATUS_LOOPBACK,
                               .max_body = FDH_MAX_BODY, .max_header_bytes = FDH_MAX_HEADER_BYTES,
                               .max_headers = FDH_MAX_HEADERS, .max_conns = FDH_MAX_CONNS,
                               .header_timeout_ms = FDH_IO_TIMEOUT_MS, .keepalive_timeout_ms = FDH_IO_TIMEOUT_MS,
                               .io_timeout_ms = FDH_IO_TIMEOUT_MS, .drain_timeout_ms = FDH_RELOAD_DRAIN_MS,
                               .argc = argc, .argv = argv};
    long crash = -1, stubborn = -1;
    if (apply(argc, argv, cfg, &crash, &stubborn, 0, err, errlen) < 0)
        return -1;
    /* The file comes after argv: on a reload it is what changed, so it wins. */
    if (cfg->config_file && apply_file(cfg, &crash, &stubborn, err, errlen) < 0)
        return -1;
    if (cfg->nlisten == 0) {
        sa_parse_ip("127.0.0.1", FDH_DEFAULT_PORT, &cfg->listen[0]);
        cfg->nlisten = 1;
    }
    if (crash >= cfg->workers)
        return snprintf(err, errlen, "--crash-slot %ld: there are only %d workers", crash, cfg->workers), -1;
    if (stubborn >= cfg->workers)
        return snprintf(err, errlen, "--stubborn-slot %ld: there are only %d workers", stubborn, cfg->workers), -1;
    if (cfg->slow_slot >= cfg->workers)
        return snprintf(err, errlen, "--slow-slot %d: there are only %d workers", cfg->slow_slot, cfg->workers), -1;
    cfg->crash_slot = (int)crash;
    cfg->stubborn_slot = (int)stubborn;
    if (access_log_check(cfg, err, errlen) < 0 || resolve_user(cfg, err, errlen) < 0)
        return -1;
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
