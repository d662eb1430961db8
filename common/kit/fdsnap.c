/* fdsnap.c — see fdsnap.h: reading descriptor tables and grouping them by open file
 * description. Naming lives in fdsnap_name.c, the picture in fdsnap_dot.c. */
#include "fdsnap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdsnap_int.h"
#include "kcmp.h"

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

struct fdsnap *fdsnap_new(const char *title)
{
    struct fdsnap *s = calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    copy(s->title, sizeof s->title, title);
    return s;
}

void fdsnap_free(struct fdsnap *s)
{
    free(s);
}

static int panel_(struct fdsnap *s, const char *title)
{
    if (s->npanel == FDSNAP_MAX_PANELS) {
        errno = E2BIG;
        return -1;
    }
    copy(s->panel[s->npanel++].title, sizeof s->panel[0].title, title);
    return 0;
}

static int alias_(struct fdsnap *s, const char *path, const char *label)
{
    if (s->nalias == (int)(sizeof s->alias / sizeof s->alias[0])) {
        errno = E2BIG;
        return -1;
    }
    struct fdsnap_alias *a = &s->alias[s->nalias++];
    copy(a->path, sizeof a->path, path);
    copy(a->label, sizeof a->label, label);
    return 0;
}

static struct fdsnap_panel *current(const struct fdsnap *s)
{
    return s->npanel ? (struct fdsnap_panel *)&s->panel[s->npanel - 1] : NULL;
}

static int proc_(struct fdsnap *s, pid_t pid, const char *role)
{
    if (!s->npanel && panel_(s, "") < 0)
        return -1;
    struct fdsnap_panel *p = current(s);
    if (p->nproc == FDSNAP_MAX_PROCS) {
        errno = E2BIG;
        return -1;
    }
    struct fdsnap_proc *pr = &p->proc[p->nproc];
    pr->pid = pid;
    copy(pr->role, sizeof pr->role, role);
    return p->nproc++;
}

static enum fdsnap_kind kind_of(const char *target, mode_t mode)
{
    if (strncmp(target, "socket:", 7) == 0)
        return FDK_SOCKET;
    if (strncmp(target, "pipe:", 5) == 0)
        return FDK_PIPE;
    if (strcmp(target, "anon_inode:[eventpoll]") == 0)
        return FDK_EPOLL;
    if (strncmp(target, "anon_inode:", 11) == 0)
        return FDK_ANON;
    if (S_ISREG(mode))
        return FDK_FILE;
    if (S_ISDIR(mode))
        return FDK_DIR;
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return FDK_DEV;
    return FDK_OTHER;
}

/* Reads /proc/PID/fdinfo/FD: flags, pos and, for epoll, the tfd lines. */
static int read_fdinfo(pid_t pid, struct fdsnap_ent *e)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, e->fd);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        unsigned flags;
        long long pos;
        int tfd;
        unsigned ev;
        unsigned long ino;
        if (sscanf(line, "pos: %lld", &pos) == 1)
            e->pos = pos;
        else if (sscanf(line, "flags: %o", &flags) == 1)
            e->flags = flags & ~(unsigned)O_CLOEXEC; /* per descriptor, not per description */
        else if (sscanf(line, "tfd: %d events: %x data: %*x pos: %*u ino: %lx", &tfd, &ev, &ino) == 3 &&
                 e->nwatch < FDSNAP_MAX_WATCH)
            e->watch[e->nwatch++] = (struct fdsnap_watch){tfd, ev, ino};
    }
    fclose(f);
    return 0;
}

/* Does e share a description with the first descriptor r (of process rp) that points
 * at the same object? 1 yes, 0 no, -1 with errno. */
static int same_desc(struct fdsnap *s, pid_t rp, const struct fdsnap_ent *r, pid_t ep,
                     const struct fdsnap_ent *e)
{
    if (r->dev != e->dev || r->ino != e->ino)
        return 0; /* one description points at one object */
    if (!s->fallback) {
        int k = kcmp_file(rp, ep, r->fd, e->fd);
        if (k >= 0)
            return k == 0;
        if (errno != ENOSYS && errno != EPERM && errno != EACCES)
            return -1;
        s->fallback = 1;
    }
    return r->flags == e->flags && r->pos == e->pos;
}

static int find_obj(struct fdsnap_panel *p, unsigned long dev, unsigned long ino)
{
    for (int i = 0; i < p->nobj; i++)
        if (p->obj[i].ino == ino && p->obj[i].dev == dev)
            return i;
    return -1;
}

static int add_obj(struct fdsnap *s, struct fdsnap_panel *p, pid_t pid, const struct fdsnap_ent *e)
{
    /* Every anon_inode file (epoll, eventfd, timerfd, ...) shares one inode: there the
     * description is the object, and a new description is a new object. */
    int i = e->kind == FDK_EPOLL || e->kind == FDK_ANON ? -1 : find_obj(p, e->dev, e->ino);
    if (i >= 0)
        return i;
    if (p->nobj == FDSNAP_MAX_OBJ) {
        errno = E2BIG;
        return -1;
    }
    struct fdsnap_obj *o = &p->obj[p->nobj];
    o->kind = e->kind;
    o->dev = e->dev;
    o->ino = e->ino;
    fdsnap_name(s, pid, e->target, o);
    return p->nobj++;
}

static int fd_(struct fdsnap *s, int proc, int fd, const char *note)
{
    struct fdsnap_panel *p = current(s);
    if (!p || proc < 0 || proc >= p->nproc) {
        errno = EINVAL;
        return -1;
    }
    struct fdsnap_proc *pr = &p->proc[proc];
    if (pr->n == FDSNAP_MAX_FDS) {
        errno = E2BIG;
        return -1;
    }
    struct fdsnap_ent *e = &pr->ent[pr->n];
    memset(e, 0, sizeof *e);
    e->fd = fd;
    e->desc = e->obj = -1;
    copy(e->note, sizeof e->note, note);

    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pr->pid, fd);
    ssize_t n = readlink(path, e->target, sizeof e->target - 1);
    if (n < 0) {
        if (errno != ENOENT)
            return -1;
        snprintf(path, sizeof path, "/proc/%d/fd", (int)pr->pid);
        if (access(path, F_OK) < 0)
            return -1; /* the process is gone, not the descriptor */
        e->kind = FDK_NOTOPEN;
        pr->n++;
        return 0;
    }
    e->target[n] = '\0';
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pr->pid, fd);
    struct stat st;
    if (stat(path, &st) < 0 || read_fdinfo(pr->pid, e) < 0)
        return -1;
    e->dev = (unsigned long)st.st_dev;
    e->ino = (unsigned long)st.st_ino;
    e->kind = kind_of(e->target, st.st_mode);

    for (int q = 0; q < p->nproc && e->desc < 0; q++) {
        const struct fdsnap_proc *qp = &p->proc[q];
        for (int i = 0; i < qp->n && e->desc < 0; i++) {
            const struct fdsnap_ent *r = &qp->ent[i];
            if (r->desc < 0 || p->desc[r->desc].proc != q || p->desc[r->desc].ent != i)
                continue; /* compare with each description's first descriptor only */
            int same = same_desc(s, qp->pid, r, pr->pid, e);
            if (same < 0)
                return -1;
            if (same)
                e->desc = r->desc;
        }
    }
    if (e->desc < 0) {
        int o = add_obj(s, p, pr->pid, e);
        if (o < 0)
            return -1;
        e->desc = p->ndesc++;
        p->desc[e->desc] = (struct fdsnap_desc){proc, pr->n, o};
    }
    e->obj = p->desc[e->desc].obj;
    pr->n++;
    return 0;
}

static int by_number(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Is /proc/PID/fd/FD a socket or an epoll instance? */
static int is_net(pid_t pid, int fd)
{
    char path[64], target[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0)
        return 0;
    target[n] = '\0';
    return strncmp(target, "socket:", 7) == 0 || strcmp(target, "anon_inode:[eventpoll]") == 0;
}

/* Does descriptor fd of pid share a description with a recorded descriptor of
 * process other in panel p? Checked before recording, so that nothing is named (no
 * port or instance number used up) for a descriptor that is left out. */
static int shares_with(const struct fdsnap *s, const struct fdsnap_panel *p, pid_t pid, int fd, int other)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
    if (stat(path, &st) < 0)
        return 0;
    const struct fdsnap_proc *o = &p->proc[other];
    for (int i = 0; i < o->n; i++) {
        const struct fdsnap_ent *e = &o->ent[i];
        if (e->kind == FDK_NOTOPEN || e->dev != (unsigned long)st.st_dev || e->ino != (unsigned long)st.st_ino)
            continue;
        if (s->fallback || kcmp_file(o->pid, pid, e->fd, fd) == 0)
            return 1;
    }
    return 0;
}

/* Every descriptor of proc in ascending order, filtered: net_only keeps sockets and
 * epoll instances, other >= 0 keeps those sharing a description with process other. */
static int all_(struct fdsnap *s, int proc, int min_fd, int net_only, int other)
{
    struct fdsnap_panel *p = current(s);
    if (!p || proc < 0 || proc >= p->nproc) {
        errno = EINVAL;
        return -1;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)p->proc[proc].pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int fds[256], n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < (int)(sizeof fds / sizeof fds[0])) {
        char *end;
        long v = strtol(de->d_name, &end, 10);
        /* The directory stream's own descriptor is listed when the process is us. */
        if (*end == '\0' && end != de->d_name && v >= min_fd && !(p->proc[proc].pid == getpid() && v == dirfd(d)))
            fds[n++] = (int)v;
    }
    closedir(d);
    qsort(fds, (size_t)n, sizeof fds[0], by_number);
    if (other >= p->nproc) {
        errno = EINVAL;
        return -1;
    }
    pid_t pid = p->proc[proc].pid;
    for (int i = 0; i < n; i++)
        if ((!net_only || is_net(pid, fds[i])) && (other < 0 || shares_with(s, p, pid, fds[i], other)) &&
            fd_(s, proc, fds[i], NULL) < 0)
            return -1;
    return 0;
}

/* The public calls: each failure is remembered in s for fdsnap_draw (see fdsnap.h). */
static int noted(struct fdsnap *s, int rc)
{
    if (rc < 0 && !s->err)
        s->err = errno ? errno : EIO;
    return rc;
}

static const struct fdsnap_ent *recorded(const struct fdsnap *s, int proc, int fd)
{
    const struct fdsnap_panel *p = current(s);
    if (!p || proc < 0 || proc >= p->nproc)
        return NULL;
    for (int i = 0; i < p->proc[proc].n; i++)
        if (p->proc[proc].ent[i].fd == fd)
            return &p->proc[proc].ent[i];
    return NULL;
}

int fdsnap_same(const struct fdsnap *s, int p1, int fd1, int p2, int fd2)
{
    const struct fdsnap_ent *a = recorded(s, p1, fd1), *b = recorded(s, p2, fd2);
    if (!a || !b) {
        errno = EINVAL;
        return -1;
    }
    return a->desc >= 0 && a->desc == b->desc;
}

int fdsnap_shared_fd(const struct fdsnap *s, int proc, int other, int ofd)
{
    const struct fdsnap_ent *o = recorded(s, other, ofd);
    const struct fdsnap_panel *p = current(s);
    if (!o || proc < 0 || proc >= p->nproc) {
        errno = EINVAL;
        return -1;
    }
    int best = -1;
    for (int i = 0; i < p->proc[proc].n; i++) {
        const struct fdsnap_ent *e = &p->proc[proc].ent[i];
        if (o->desc >= 0 && e->desc == o->desc && (best < 0 || e->fd < best))
            best = e->fd;
    }
    if (best < 0)
        errno = ENOENT;
    return best;
}

int fdsnap_nth_fd(const struct fdsnap *s, int proc, int i)
{
    const struct fdsnap_panel *p = current(s);
    if (!p || proc < 0 || proc >= p->nproc || i < 0 || i >= p->proc[proc].n) {
        errno = EINVAL;
        return -1;
    }
    return p->proc[proc].ent[i].fd;
}

int fdsnap_note(struct fdsnap *s, int proc, int fd, const char *note)
{
    struct fdsnap_ent *e = (struct fdsnap_ent *)recorded(s, proc, fd);
    if (!e) {
        errno = EINVAL;
        return noted(s, -1);
    }
    copy(e->note, sizeof e->note, note);
    return 0;
}

int fdsnap_watches(const struct fdsnap *s, int proc, int epfd, int *tfds, int max)
{
    const struct fdsnap_ent *e = recorded(s, proc, epfd);
    if (!e || e->kind != FDK_EPOLL) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < e->nwatch && i < max; i++)
        tfds[i] = e->watch[i].tfd;
    return e->nwatch;
}

const char *fdsnap_method(const struct fdsnap *s)
{
    return s->fallback ? "inode+flags+offset" : "kcmp";
}


int fdsnap_panel(struct fdsnap *s, const char *title)
{
    return noted(s, panel_(s, title));
}

int fdsnap_alias(struct fdsnap *s, const char *path, const char *label)
{
    return noted(s, alias_(s, path, label));
}

int fdsnap_proc(struct fdsnap *s, pid_t pid, const char *role)
{
    return noted(s, proc_(s, pid, role));
}

int fdsnap_fd(struct fdsnap *s, int proc, int fd, const char *note)
{
    return noted(s, fd_(s, proc, fd, note));
}

int fdsnap_fds(struct fdsnap *s, int proc, ...)
{
    va_list ap;
    va_start(ap, proc);
    int rc = 0;
    for (int fd = va_arg(ap, int); fd >= 0 && rc == 0; fd = va_arg(ap, int)) {
        const char *note = va_arg(ap, const char *);
        rc = fdsnap_fd(s, proc, fd, note);
    }
    va_end(ap);
    return rc;
}

int fdsnap_all(struct fdsnap *s, int proc, int min_fd)
{
    return noted(s, all_(s, proc, min_fd, 0, -1));
}

int fdsnap_sockets(struct fdsnap *s, int proc)
{
    return noted(s, all_(s, proc, 0, 1, -1));
}

int fdsnap_shared(struct fdsnap *s, int proc, int other)
{
    return noted(s, all_(s, proc, 0, 0, other));
}
