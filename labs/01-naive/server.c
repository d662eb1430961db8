/* server.c — the seed's design, re-implemented: fork the workers, THEN accept, and
 * hand the client's descriptor NUMBER to the workers through MAP_SHARED anonymous
 * memory guarded by a mutex initialised with default (process-private) attributes.
 *
 * Usage: server -s a|b [-t timeout_ms]
 *   -s a  the worker write()s to the published number, which is not open in its own
 *         descriptor table: EBADF.
 *   -s b  the worker opened its log file after fork(); by the lowest-free-number rule
 *         of open(2) the log got the same number the parent's accept() returned, so the
 *         write() SUCCEEDS — into the log. Proven with fstat() (st_dev/st_ino) and
 *         kcmp(2) KCMP_FILE, by stat() of the log's path (worker_fd_is_log: the
 *         worker's descriptor has the log's st_dev/st_ino), and by finding the
 *         bytes in the log.
 *   -t    bound for every wait (accept, worker hand-over), default 5000 ms.
 * Prints "port=N" as soon as it is listening (127.0.0.1, kernel-chosen port), then
 * its results as key=value lines (see notes/01-naive.md). One worker: the seed had
 * two, and each behaves exactly like this one. Exit 0 when the run completed
 * (whatever it showed), 1 on a setup error. Every child is reaped; the temporary
 * directory (mkdtemp) holding the log is removed before exit.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "kcmp.h"
#include "kv.h"
#include "lib/naive.h"
#include "lib/picture.h"
#include "sock.h"

/* What the worker found out, written by the worker, read by the parent once
 * worker_done is set (release/acquire through the atomics). */
struct report {
    int log_fd;      /* b: the number open() gave the worker's log; -1 in a */
    int seen_fd;     /* the number the worker read from shared memory, -1 if none came */
    long write_ret;  /* write()'s return value */
    int write_errno; /* its errno when it failed, else 0 */
    int fstat_ok;    /* 1 when fstat(seen_fd) worked in the worker */
    dev_t dev;
    ino_t ino;
    mode_t mode;
};

/* The seed's shared area, plus the flags this lab needs to finish cleanly. */
struct shared {
    pthread_mutex_t mutex; /* default attributes: process-PRIVATE, as in the seed */
    int client_fd;         /* guarded by mutex; -1 until the parent accepted */
    struct report rep;
    atomic_int worker_done; /* worker -> parent: rep is filled */
    atomic_int parent_done; /* parent -> worker: kcmp is done, you may close and exit */
};

struct ctx {
    char scenario;
    int timeout_ms;
    int fds_before;
    int listener;
    uint16_t port;
    struct shared *sh;
    pid_t worker;
    char dir[64];
    char log[128];
};

static const char *kind_of(mode_t m)
{
    return S_ISSOCK(m) ? "socket" : S_ISREG(m) ? "regular" : "other";
}

/* Lock with a bound: with this mutex a waiter in another process may never be woken
 * (scenario c), so the seed's plain pthread_mutex_lock() could hang for ever. */
static int lock_bounded(pthread_mutex_t *m, int ms)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
        die("clock_gettime(CLOCK_REALTIME)");
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_mutex_timedlock(m, &ts);
}

__attribute__((noreturn)) static void worker_main(struct ctx *c)
{
    struct shared *sh = c->sh;
    struct report *r = &sh->rep;
    r->log_fd = -1;
    if (c->scenario == 'b') {
        /* After fork(), like any worker opening its own log: open(2) returns the
         * lowest number free in THIS process's table. */
        r->log_fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (r->log_fd < 0)
            warn_errno("worker: open %s", c->log);
    }
    /* Poll the shared slot, as the seed did, until the parent publishes a number. */
    int fd = -1;
    for (double end = mono_s() + c->timeout_ms / 1000.0;
         fd < 0 && !atomic_load(&sh->parent_done) && mono_s() < end;) {
        if (lock_bounded(&sh->mutex, 100) == 0) {
            fd = sh->client_fd;
            int rc = pthread_mutex_unlock(&sh->mutex);
            if (rc != 0) {
                errno = rc;
                die("worker: pthread_mutex_unlock");
            }
        }
        if (fd < 0)
            sleep_ms(1);
    }
    r->seen_fd = fd;
    if (fd >= 0) {
        /* The seed's mistake: fd is an index into the PARENT's table. */
        ssize_t n = write(fd, NAIVE_PAYLOAD, strlen(NAIVE_PAYLOAD));
        r->write_ret = (long)n;
        r->write_errno = n < 0 ? errno : 0;
        struct stat st;
        if (fstat(fd, &st) == 0) {
            r->fstat_ok = 1;
            r->dev = st.st_dev;
            r->ino = st.st_ino;
            r->mode = st.st_mode;
        }
    }
    atomic_store(&sh->worker_done, 1);
    /* Stay alive with the log open until the parent has compared with kcmp(). */
    for (double end = mono_s() + c->timeout_ms / 1000.0;
         !atomic_load(&sh->parent_done) && mono_s() < end;)
        sleep_ms(1);
    if (r->log_fd >= 0)
        close(r->log_fd);
    _exit(0);
}

/* kcmp_file (kcmp.h) with its errno captured: 0 same open file description, 1..3
 * different, -1 with *err set. */
static int kcmp_err(pid_t a, pid_t b, int fda, int fdb, int *err)
{
    int k = kcmp_file(a, b, fda, fdb);
    *err = k < 0 ? errno : 0;
    return k;
}

static int log_holds_payload(const char *path, long *size)
{
    char buf[4096];
    *size = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0)
        return 0;
    *size = (long)n;
    return memmem(buf, (size_t)n, NAIVE_PAYLOAD, strlen(NAIVE_PAYLOAD)) != NULL;
}

/* Ends a run: closes cfd (when >= 0; the only reference to the connection, so the
 * client sees EOF now) and the listener, removes the log and the mkdtemp directory,
 * and reports descriptor balance. The worker must already be reaped. 0, or -1 after
 * printing what failed. */
static int finish(struct ctx *c, int cfd)
{
    int bad = 0;
    if (cfd >= 0)
        close(cfd);
    close(c->listener);
    if (munmap(c->sh, sizeof *c->sh) < 0)
        warn_errno("munmap"), bad = 1;
    if (unlink(c->log) < 0 && errno != ENOENT)
        warn_errno("unlink %s", c->log), bad = 1;
    if (rmdir(c->dir) < 0)
        warn_errno("rmdir %s", c->dir), bad = 1;
    kv_print("tmpdir", "%s", c->dir);
    kv_print("fds_leaked", "%d", fd_count() - c->fds_before);
    return bad ? -1 : 0;
}

static void usage(void)
{
    die_msg("usage: server -s a|b [-t timeout_ms]");
}

int main(int argc, char **argv)
{
    struct ctx c = {.scenario = 0, .timeout_ms = 5000, .listener = -1};
    int opt;
    while ((opt = getopt(argc, argv, "s:t:")) != -1) {
        if (opt == 's' && (optarg[0] == 'a' || optarg[0] == 'b') && !optarg[1])
            c.scenario = optarg[0];
        else if (opt == 't' && atoi(optarg) > 0)
            c.timeout_ms = atoi(optarg);
        else
            usage();
    }
    if (!c.scenario)
        usage();
    if ((c.fds_before = fd_count()) < 0)
        die("fd_count");
    strcpy(c.dir, "/tmp/fdlab01.XXXXXX");
    if (!mkdtemp(c.dir))
        die("mkdtemp");
    snprintf(c.log, sizeof c.log, "%s/worker.log", c.dir);

    c.listener = tcp_listen_loopback(8, SOCK_CLOEXEC, &c.port);
    if (c.listener < 0)
        die("tcp_listen_loopback");
    c.sh = shared_anon(sizeof *c.sh);
    naive_mutex_init(&c.sh->mutex, 0);
    c.sh->client_fd = -1;

    /* Fork first ... */
    c.worker = fork();
    if (c.worker < 0)
        die("fork");
    if (c.worker == 0)
        worker_main(&c);

    /* ... THEN accept: the worker's table is a copy taken before this fd existed. */
    kv_print("port", "%u", c.port);
    struct pollfd p = {c.listener, POLLIN, 0};
    int ready = poll(&p, 1, c.timeout_ms);
    if (ready < 0)
        die("poll listener");
    if (ready == 0) {
        warn_msg("no client connected within %d ms", c.timeout_ms);
        kv_print("accepted", "0");
        atomic_store(&c.sh->parent_done, 1); /* the worker stops waiting and exits */
        if (waitpid(c.worker, NULL, 0) != c.worker)
            die("waitpid worker");
        finish(&c, -1);
        return 1;
    }
    int cfd = accept4(c.listener, NULL, NULL, SOCK_CLOEXEC);
    if (cfd < 0)
        die("accept4");
    if (lock_bounded(&c.sh->mutex, c.timeout_ms) != 0)
        die_msg("parent could not lock the shared mutex");
    c.sh->client_fd = cfd; /* publish the NUMBER, as the seed did */
    int urc = pthread_mutex_unlock(&c.sh->mutex);
    if (urc != 0) {
        errno = urc;
        die("parent: pthread_mutex_unlock");
    }

    for (double end = mono_s() + c.timeout_ms / 1000.0;
         !atomic_load(&c.sh->worker_done) && mono_s() < end;)
        sleep_ms(1);
    if (!atomic_load(&c.sh->worker_done))
        warn_msg("worker did not report within %d ms", c.timeout_ms);
    struct report *r = &c.sh->rep;

    /* Compare what the number means in each process, while the worker still holds it. */
    struct stat mine;
    if (fstat(cfd, &mine) < 0)
        die("fstat client fd");
    int kerr, lerr;
    int k = kcmp_err(getpid(), c.worker, cfd, cfd, &kerr);
    int kl = kcmp_err(getpid(), c.worker, c.listener, c.listener, &lerr);
    naive_draw(c.scenario, c.worker, c.listener, cfd); /* only with FDLAB_DRAW set */
    atomic_store(&c.sh->parent_done, 1);
    int status;
    if (waitpid(c.worker, &status, 0) != c.worker)
        die("waitpid worker");

    kv_print("scenario", "%c", c.scenario);
    kv_print("client_fd", "%d", cfd);
    kv_print("worker_seen_fd", "%d", r->seen_fd);
    kv_print("worker_write_ret", "%ld", r->write_ret);
    kv_print("worker_write_errno", "%s", r->write_errno ? errno_name(r->write_errno) : "0");
    kv_print("worker_write_bytes", "%ld", r->write_ret > 0 ? r->write_ret : 0);
    kv_print("payload_len", "%zu", strlen(NAIVE_PAYLOAD));
    kv_print("parent_fd_kind", "%s", kind_of(mine.st_mode));
    kv_print("worker_fd_kind", "%s", r->fstat_ok ? kind_of(r->mode) : "not_open");
    kv_print("same_inode_as_socket", "%d",
             r->fstat_ok && r->dev == mine.st_dev && r->ino == mine.st_ino);
    kv_print("kcmp", "%d", k);
    kv_print("kcmp_errno", "%s", kerr ? errno_name(kerr) : "0");
    kv_print("kcmp_same_file", "%d", k == 0);
    kv_print("kcmp_listener", "%d", kl); /* control: an INHERITED fd is the same file */
    kv_print("kcmp_listener_errno", "%s", lerr ? errno_name(lerr) : "0");
    if (c.scenario == 'b') {
        long size;
        kv_print("worker_log_fd", "%d", r->log_fd);
        kv_print("fd_number_coincides", "%d", r->log_fd >= 0 && r->log_fd == cfd);
        /* The log, looked up by its path: is it the file behind the worker's number? */
        struct stat lst;
        if (stat(c.log, &lst) < 0)
            die("stat %s", c.log);
        kv_print("worker_fd_is_log", "%d",
                 r->fstat_ok && r->dev == lst.st_dev && r->ino == lst.st_ino);
        kv_print("payload_in_log", "%d", log_holds_payload(c.log, &size));
        kv_print("log_bytes", "%ld", size);
    }
    kv_print("worker_exit", "%d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));

    kv_print("accepted", "1");
    return finish(&c, cfd) < 0 ? 1 : 0;
}
