/* fdsnap_int.h — the snapshot's data, shared by fdsnap.c (reading and grouping),
 * fdsnap_name.c (stable names for objects) and fdsnap_dot.c (the picture).
 * Not for labs: they use fdsnap.h.
 */
#ifndef FDLAB_FDSNAP_INT_H
#define FDLAB_FDSNAP_INT_H

#include <sys/types.h>

#include "fdsnap.h"

#define FDSNAP_MAX_DESC (FDSNAP_MAX_PROCS * FDSNAP_MAX_FDS)
#define FDSNAP_MAX_OBJ FDSNAP_MAX_DESC /* an object per description at most */
#define FDSNAP_MAX_SEEN 64                   /* ports and unnamed inodes, per snapshot */

/* What a descriptor points at, from its /proc/PID/fd link. */
enum fdsnap_kind {
    FDK_NOTOPEN, FDK_FILE, FDK_DIR, FDK_DEV, FDK_SOCKET, FDK_PIPE, FDK_EPOLL, FDK_ANON, FDK_OTHER
};

struct fdsnap_watch {
    int tfd;            /* the number in the adding process's table */
    unsigned events;    /* EPOLLIN, EPOLLEXCLUSIVE, ... */
    unsigned long ino;  /* the watched object's inode */
};

struct fdsnap_ent {
    int fd;
    char note[96];
    enum fdsnap_kind kind;
    char target[256];   /* readlink of /proc/PID/fd/N */
    unsigned long dev, ino;
    unsigned flags;     /* status flags and access mode, O_CLOEXEC removed */
    long long pos;
    int desc, obj;      /* indexes in the panel; -1 when not open */
    int nwatch;
    struct fdsnap_watch watch[FDSNAP_MAX_WATCH];
};

struct fdsnap_proc {
    pid_t pid;
    char role[64];
    int n;
    struct fdsnap_ent ent[FDSNAP_MAX_FDS];
};

struct fdsnap_desc {
    int proc, ent;      /* the first descriptor seen pointing at it */
    int obj;
};

struct fdsnap_obj {
    enum fdsnap_kind kind;
    unsigned long dev, ino;
    char label[192];
};

struct fdsnap_panel {
    char title[128];
    int nproc, ndesc, nobj;
    struct fdsnap_proc proc[FDSNAP_MAX_PROCS];
    struct fdsnap_desc desc[FDSNAP_MAX_DESC];
    struct fdsnap_obj obj[FDSNAP_MAX_OBJ];
};

struct fdsnap_alias {
    char path[256];
    char label[64];
};

struct fdsnap {
    char title[160];
    int err;            /* the errno of the first failed call, 0 when none failed */
    int fallback;       /* 1 once kcmp was refused: group by object+flags+offset */
    int npanel, nalias, nport, nanon, nepoll;
    unsigned port[FDSNAP_MAX_SEEN];
    unsigned long anon[FDSNAP_MAX_SEEN]; /* inodes of pipes and unnamed unix sockets */
    struct fdsnap_alias alias[8];
    struct fdsnap_panel panel[FDSNAP_MAX_PANELS];
};

/* fdsnap_name.c: fills o->label for object o, reached through process pid (whose
 * network namespace names its sockets) by link target. Never fails: an object it
 * cannot name is labelled by its kind. */
void fdsnap_name(struct fdsnap *s, pid_t pid, const char *target, struct fdsnap_obj *o);

#endif
