/* config.h — fdhttpd's options (struct fdh_config) and the limits and timings they
 * default to: the numbers --help and the notes quote. config.c parses them; usage.c
 * is the --help text.
 */
#ifndef LAB11_CONFIG_H
#define LAB11_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sockaddr.h"

struct fdh_accept_ops;

#define FDH_MAX_WORKERS 64
#define FDH_MAX_ADDRS 8 /* --listen given at most this many times */
#define FDH_DEFAULT_USER "nobody"  /* --user when started as root without one */
#define FDH_DEFAULT_PORT 8080

/* Timings (milliseconds) — the constants the notes and --help quote. */
#define FDH_TERM_GRACE_MS 3000     /* SIGTERM: workers get this long before SIGKILL */
#define FDH_DRAIN_MAX_MS 30000     /* SIGQUIT: in-flight work gets this long */
#define FDH_CRASH_WINDOW_MS 1000   /* a worker dying younger than this "keeps crashing" */
#define FDH_BACKOFF_MIN_MS 100     /* first delayed respawn */
#define FDH_BACKOFF_MAX_MS 5000    /* the back-off doubles up to this */
#define FDH_EMFILE_PAUSE_MS 100    /* accept4 failed with EMFILE/ENFILE: stop accepting this long
                                      (workers, and a master that accepts) */
#define FDH_IO_TIMEOUT_MS 10000    /* default of the three connection timeouts (config.c) */
/* Reload and upgrade (lab 12). */
#define FDH_RELOAD_DRAIN_MS 10000  /* --drain-timeout: old workers, then SIGKILL */
#define FDH_READY_MAX_MS 10000     /* a new generation / new master must be ready in this */
#define FDH_DRAIN_IDLE_MS 300      /* draining: a connection idle this long since the switch
                                      is half-closed (a request racing it sees FIN, not RST) */
/* Request limits (defaults of the flags of the same names). */
#define FDH_MAX_BODY (1L << 20)       /* --max-body: larger request bodies get 413 */
#define FDH_MAX_HEADER_BYTES 16384    /* --max-header-bytes: a longer head gets 431 (room
                                         for an 8 KiB request-line and its fields) */
#define FDH_MAX_HEADERS 64            /* --max-headers: more field lines get 431 */
#define FDH_MAX_LINE 8192             /* request-line (fixed; nginx's too): longer gets 414,
                                         within --max-header-bytes */
#define FDH_BODY_MIN_RATE 500         /* bytes/s: a body gets the io timeout plus 1 s per
                                         this many bytes received, in all (Apache's
                                         mod_reqtimeout MinRate default) */
#define FDH_MAX_CONNS 4096            /* --max-conns: per worker; at it, stop accepting
                                         (a passed connection beyond it: 503 + close) */

enum { FDH_STATUS_OFF, FDH_STATUS_LOOPBACK, FDH_STATUS_ON }; /* --status */

struct fdh_config {
    struct sa_any listen[FDH_MAX_ADDRS]; /* --listen, in the order given (each port 0:
                             the kernel chooses), each printed as listen.N=ADDR */
    int nlisten;          /* 1..FDH_MAX_ADDRS; the default is 127.0.0.1:8080 */
    int listen_from_file; /* the --config file gave --listen: its list replaces argv's */
    int workers;          /* 1..FDH_MAX_WORKERS */
    const struct fdh_accept_ops *accept; /* the accept strategy (accept.h) */
    const char *root;     /* docroot: --root, else the bundled site (see config.c);
                             NULL when neither exists (then every file is 404) */
    char root_buf[4096];  /* storage for a root found by the default search */
    long max_body;        /* bytes; --max-body */
    long max_header_bytes;/* --max-header-bytes */
    long max_headers;     /* --max-headers */
    long max_conns;       /* per worker; --max-conns */
    long header_timeout_ms;    /* first byte of a head -> complete head (slowloris) */
    long keepalive_timeout_ms; /* idle between requests */
    long io_timeout_ms;        /* no progress while reading a body or sending */
    const char *access_log;    /* --access-log: a file every worker appends to (accesslog.h);
                                  NULL when off */
    char access_log_buf[4096]; /* storage for the default path */
    int check_only;       /* -t */
    int status_mode;      /* --status: FDH_STATUS_OFF, _LOOPBACK (default) or _ON */
    const char *user;     /* --user NAME, NULL when not given */
    int drop;             /* 1: workers switch to uid/gid after opening what they need
                             (started as root, the user is not root) */
    uid_t uid;            /* the workers' user (drop only) */
    gid_t gid;
    char user_name[64];   /* the user the workers run as, for messages; "" when not root */
    int crash_slot;       /* testing aid: the worker in this slot exits after READY; -1 */
    int stubborn_slot;    /* testing aid: the worker in this slot ignores QUIT/TERMINATE; -1 */
    int slow_slot;        /* testing aid: the worker in this slot sleeps slow_ms before each
                             connection it accepts; -1 */
    long slow_ms;         /* --slow-ms */
    /* reload and upgrade (lab 12) */
    long drain_timeout_ms;     /* --drain-timeout */
    const char *config_file;   /* --config, NULL when none */
    const char *upgrade_from;  /* --upgrade-from: the old master's socket name, "-" for
                                  --no-handover (bind fresh, retrying), NULL normally */
    int no_handover;           /* --no-handover */
    int argc;                  /* the command line as given (re-parsed on SIGHUP, passed */
    char **argv;               /*   to the new master on SIGUSR2) */
    const char *cache_control; /* --cache-control VALUE on 200/206/304 of files; NULL: none */
    int gzip_static;           /* --gzip-static: FILE.gz answers a client accepting gzip */
    char cfg_text[8192];       /* the --config file's text; option values point here */
};

/* Parses argv (then --config FILE) into *cfg. Returns 0, or -1 with a reason in err
 * (errlen bytes). --help prints fdh_usage and exits 0 from inside (it is not an error). */
int fdh_config_parse(int argc, char **argv, struct fdh_config *cfg, char *err, size_t errlen);
extern const char fdh_usage[]; /* the --help text (usage.c) */

#endif
