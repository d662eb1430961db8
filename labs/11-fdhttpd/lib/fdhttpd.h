/* fdhttpd.h — the pieces of lab 11's server, shared by its master, its workers, the
 * lab driver and the tests. The server's main() is ../fdhttpd.c; nothing here has one.
 *
 * Process model (notes/11-fdhttpd.md walks through it):
 *   master   parses options, opens the listener(s), maps the shared statistics, forks
 *            N workers and then only supervises: signals (signalfd), worker channels,
 *            SIGCHLD -> reap -> respawn in the same slot (with back-off). In the
 *            passfd strategy it also accepts and hands each connection to a worker.
 *   worker   one epoll event loop (common/runtime/evloop.h) over its connections, its
 *            channel, its signals and — per strategy — the listener.
 *
 * Files:
 *   config.c   fdh_config_parse / fdh_usage / fdh_accept_name  (options, -t, --help)
 *   stats.c    the shared-memory statistics and the /status text
 *   master.c   fdh_master_run: the master's whole life
 *   worker.c   fdh_worker_run: a worker's whole life (accept strategies)
 *   conn.c     one client connection: read a request head and body, answer (routes
 *              /status and /echo, else static.c), keep alive or close
 *   static.c   files under the docroot -> struct reply (reply.c builds heads; mime.c)
 *   fcache.c   a worker's open-file cache: fd/stat/ETag per path, small files in
 *              memory, revalidated after FC_VALID_MS (static_handle_cached uses it)
 *   accesslog.c  the per-worker buffered access log (--access-log)
 *   harness.c  start/stop a server and talk HTTP to it (lab.c and the tests)
 * Lab 12 (reload, upgrade; notes/12-reload.md):
 *   master.c   generations (SIGHUP), the upgrade's old and new side (SIGUSR2), sd_notify
 *   handover.h listeners.c (checking sockets from elsewhere, systemd activation) and
 *              upgrade.c (the upgrade protocol's messages, SO_PEERCRED)
 */
#ifndef LAB11_FDHTTPD_H
#define LAB11_FDHTTPD_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FDH_MAX_WORKERS 64
#define FDH_DEFAULT_PORT 8080

enum fdh_accept { FDH_REUSEPORT, FDH_EXCLUSIVE, FDH_MUTEX, FDH_PASSFD, FDH_NACCEPT };

/* Timings (milliseconds) — the constants the notes and --help quote. */
#define FDH_TERM_GRACE_MS 3000     /* SIGTERM: workers get this long before SIGKILL */
#define FDH_DRAIN_MAX_MS 30000     /* SIGQUIT: in-flight work gets this long */
#define FDH_CRASH_WINDOW_MS 1000   /* a worker dying younger than this "keeps crashing" */
#define FDH_BACKOFF_MIN_MS 100     /* first delayed respawn */
#define FDH_BACKOFF_MAX_MS 5000    /* the back-off doubles up to this */
#define FDH_EMFILE_PAUSE_MS 100    /* accept4 failed with EMFILE/ENFILE: stop accepting this long
                                      (workers, and the passfd master) */
#define FDH_IO_TIMEOUT_MS 10000    /* default of the three connection timeouts (config.c) */
/* Lab 12: reload and upgrade. */
#define FDH_RELOAD_DRAIN_MS 10000  /* --drain-timeout: old workers, then SIGKILL */
#define FDH_READY_MAX_MS 10000     /* a new generation / new master must be ready in this */
#define FDH_DRAIN_IDLE_MS 300      /* draining: a connection idle this long since the switch
                                      is half-closed (a request racing it sees FIN, not RST) */
/* Request limits (defaults of the flags of the same names). */
#define FDH_MAX_BODY (1L << 20)       /* --max-body: larger request bodies get 413 */
#define FDH_MAX_HEADER_BYTES 8192     /* --max-header-bytes: a longer head gets 431 */
#define FDH_MAX_HEADERS 64            /* --max-headers: more field lines get 431 */
#define FDH_MAX_LINE 4096             /* request-line (fixed): longer gets 414 */
#define FDH_MAX_CONNS 4096            /* --max-conns: per worker; at it, stop accepting
                                         (passfd: beyond it, 503 + close) */
#define FDH_MUTEX_DELAY_MS 20      /* mutex: a loser retries the accept mutex after this */
#define FDH_MUTEX_HOLD_MS 100      /* mutex: the holder waits at most this, then lets go */

struct fdh_config {
    char ip[16];          /* dotted quad */
    uint16_t port;        /* 0: the kernel chooses; printed as listening=IP:PORT */
    int workers;          /* 1..FDH_MAX_WORKERS */
    enum fdh_accept accept;
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
    int crash_slot;       /* testing aid: the worker in this slot exits after READY; -1 */
    int stubborn_slot;    /* testing aid: the worker in this slot ignores QUIT/TERMINATE; -1 */
    /* lab 12 */
    long drain_timeout_ms;     /* --drain-timeout */
    const char *config_file;   /* --config, NULL when none */
    const char *upgrade_from;  /* --upgrade-from: the old master's socket name, "-" for
                                  --no-handover (bind fresh, retrying), NULL normally */
    int no_handover;           /* --no-handover */
    int argc;                  /* the command line as given (re-parsed on SIGHUP, passed */
    char **argv;               /*   to the new master on SIGUSR2) */
    char cfg_text[8192];       /* the --config file's text; option values point here */
};

/* One worker's counters, one cache line each so that workers never write to the
 * same line (no false sharing). Counters are read by anyone, hence relaxed atomics,
 * and changed with atomic adds (never load+store): since lab 12 a slot may briefly
 * have two workers (the old generation draining while the new one serves).
 * The page is made before the first fork, so the counts survive a worker's death
 * (its replacement continues them), a reload, and — the page is a memfd handed to
 * the new master with the listeners — an upgrade. */
struct fdh_slot {
    alignas(64) atomic_long requests; /* responses completed */
    atomic_long bytes;                /* response bytes written */
    atomic_long active;               /* connections open right now */
    atomic_long accepted;             /* connections taken (accept or passed) */
    atomic_int pid;                   /* this bank's worker in the slot, 0 while none */
    atomic_int starts;                /* workers started in this slot and bank */
    atomic_long writes;               /* response write calls (sendmsg, sendfile): with
                                         requests, shows the batching of pipelined replies */
};

/* Banks: a worker of generation G writes bank G % 2. At most two generations are
 * ever alive at once and they are consecutive (master.c), so each (bank, slot) has ONE
 * live worker, and when the master reaps a SIGKILLed worker it can zero exactly that
 * worker's `active` without touching the other generation's. /status sums the banks. */
#define FDH_BANKS 2
#define FDH_SHARED_MAGIC 0x46444853u /* "FDHS": checked by a new master (upgrade) */

struct fdh_shared {
    uint32_t magic, size;             /* FDH_SHARED_MAGIC, sizeof(struct fdh_shared) */
    pthread_mutex_t accept_mutex;     /* FDH_MUTEX: robust, process-shared */
    alignas(64) atomic_int holder;    /* pid holding accept_mutex, 0 when free */
    /* written by the master (one master at a time acts on each: the new master only
     * after the old one handed over) */
    alignas(64) atomic_long generation;   /* the serving generation, 1 at the first start */
    atomic_long reloads;              /* completed reloads */
    atomic_long reloads_failed;       /* refused (invalid options) or rolled back */
    atomic_long upgrades;             /* completed binary upgrades */
    atomic_long upgrades_failed;      /* rolled back */
    atomic_long respawns;             /* workers respawned after an unasked-for exit */
    atomic_long backoff_ms[FDH_MAX_WORKERS]; /* crash loop: the slot's current respawn
                                                delay, 0 when it is not looping */
    struct fdh_slot slot[FDH_BANKS][FDH_MAX_WORKERS];
};

/* config.c */
/* Parses argv into *cfg. Returns 0, or -1 with a reason in err (errlen bytes).
 * --help prints fdh_usage and exits 0 from inside (it is not an error). */
int fdh_config_parse(int argc, char **argv, struct fdh_config *cfg, char *err, size_t errlen);
const char *fdh_accept_name(enum fdh_accept a);
int fdh_accept_parse(const char *name); /* enum value or -1 */
extern const char fdh_usage[];

/* stats.c */
/* A new zeroed page in a memfd (memfd_create + ftruncate + mmap MAP_SHARED), the
 * accept mutex initialised; *fd gets the memfd (close-on-exec; pass it to hand the
 * page over). NULL with errno. */
struct fdh_shared *fdh_shared_new(int *fd);
/* Maps a page made by fdh_shared_new in another process (the old master's memfd):
 * accepts only a sealed memfd (F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL) of the right size
 * with the magic; the mutex is NOT initialised again (old workers may hold it).
 * NULL with errno (EPROTO: not such a page). */
struct fdh_shared *fdh_shared_attach(int fd);
void fdh_shared_free(struct fdh_shared *sh);
/* Writes the /status body (key=value lines) into buf; returns its length (< cap). */
size_t fdh_status_text(const struct fdh_shared *sh, const struct fdh_config *cfg, char *buf, size_t cap);

/* master.c: the whole server; returns the process exit code. cfg is heap-allocated
 * (malloc) and becomes the master's (a reload replaces and frees it). */
int fdh_master_run(struct fdh_config *cfg);

/* worker.c: what the master's fork child runs; never returns. */
struct site;
struct fdh_worker_env {
    const struct fdh_config *cfg;
    const struct site *site; /* opened by the master before the first fork */
    struct fdh_shared *sh;
    struct fdh_slot *me; /* this worker's counters: sh->slot[generation % 2][slot] */
    int slot;
    int lfd;  /* this worker's listener (reuseport: its own; exclusive/mutex: the shared
                 one); -1 for passfd */
    int chan; /* the worker's end of its channel */
    pid_t master; /* the master's pid, read before fork (PR_SET_PDEATHSIG check) */
};
__attribute__((noreturn)) void fdh_worker_run(const struct fdh_worker_env *env);

#endif
