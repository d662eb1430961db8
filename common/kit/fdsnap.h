/* fdsnap.h — a snapshot of descriptor tables, drawn as a Graphviz picture.
 *
 * A descriptor is an index into one process's table; the entry points at an open file
 * description (access mode, status flags, offset), which points at the file, socket or
 * pipe. fork(), dup() and SCM_RIGHTS share a description; open() makes a new one.
 * fdsnap reads the tables of live processes and groups their descriptors by the
 * description they share, so a lab can draw what kcmp=0 means.
 *
 * What is read, per descriptor (proc(5)):
 *   /proc/PID/fd/N      its target (readlink) and the object's device and inode (stat);
 *   /proc/PID/fdinfo/N  the status flags and offset; for an epoll instance the
 *                       descriptors it watches (tfd, events, inode). The picture
 *                       draws an arrow to each watched object recorded in the same
 *                       panel and counts the others in the instance's label.
 * Grouping: two descriptors share a description when kcmp(KCMP_FILE) says so (both
 *   processes alive during the call). When kcmp is unavailable (ENOSYS: kernel without
 *   CONFIG_KCMP; EPERM/EACCES: no ptrace access) the snapshot falls back to "same
 *   object, same status flags, same offset" — exact for sockets (one description per
 *   socket unless shared), an approximation for files: two independent opens with equal
 *   flags and offsets are then drawn as one, and so are two epoll instances (or
 *   other anon_inode files: they all share one inode) with equal flags.
 *   fdsnap_method() says which was used.
 *
 * Naming (stable across runs, so a committed picture changes only when facts do):
 *   processes by the role the lab gives, never by pid;
 *   regular files and unix sockets by their alias (fdsnap_alias) or else their last
 *     path component (abstract names as /proc/net/unix prints them, "@name"), paths
 *     under /dev kept whole;
 *   TCP/UDP sockets by address from /proc/PID/net/{tcp,tcp6,udp,udp6}; ports >= 1024
 *     (port 0 binds and ephemeral ports, different every run) become port1, port2, ...
 *     in order of first appearance; ports < 1024 are written as they are;
 *   unnamed unix sockets (socketpair), pipes and epoll instances by a number in order
 *     of first appearance in the snapshot;
 *   descriptor numbers as they are: a lab's numbers follow from its own code.
 * Output order is the order of fdsnap_proc/fdsnap_fd calls; descriptions and objects
 * are numbered by first appearance in that order. No pid, inode or time is written.
 *
 * Limits: FDSNAP_MAX_PANELS panels, FDSNAP_MAX_PROCS processes per panel,
 * FDSNAP_MAX_FDS descriptors per process, FDSNAP_MAX_WATCH watched descriptors per
 * epoll instance (more are ignored). Beyond the first three: E2BIG.
 *
 * fdsnap_new(title): an empty snapshot; NULL with errno ENOMEM.
 * fdsnap_free(s): releases it (NULL is fine).
 * fdsnap_panel(s, title): starts a new panel (one moment, e.g. "after fork()"); the
 *   first fdsnap_proc without one opens an untitled panel. 0, or -1 (E2BIG).
 * fdsnap_alias(s, path, label): draw the file or unix socket at path (an abstract
 *   name as "@name") as label. 0, or -1 (E2BIG).
 * fdsnap_proc(s, pid, role): adds a process to the current panel, drawn as "fd table of
 *   <role>" (e.g. "the parent", "worker 0"); returns its index (>= 0) for fdsnap_fd,
 *   or -1 (E2BIG).
 * fdsnap_fd(s, proc, fd, note): reads descriptor fd of process proc now and groups it;
 *   note (may be NULL) is written next to it. A number that is not open is recorded as
 *   "not open" and returns 0. Returns 0, or -1 with errno (ESRCH/ENOENT process gone,
 *   EACCES, E2BIG, EINVAL bad proc index).
 * fdsnap_fds(s, proc, fd, note, fd, note, ..., -1): fdsnap_fd for each pair, in order;
 *   the list ends with a negative fd. 0, or -1 with errno at the first failure.
 * fdsnap_all(s, proc, min_fd): fdsnap_fd for every open descriptor >= min_fd, in
 *   ascending order. 0, or -1 with errno.
 * fdsnap_sockets(s, proc): the same for every socket and epoll instance only (what a
 *   server's picture is about; pipes and inherited files stay out). 0, or -1 with errno.
 * fdsnap_shared(s, proc, other): the same for every descriptor of proc that shares a
 *   description with one recorded for process other in this panel (e.g. the
 *   listeners an old server holds that its successor received). 0, or -1 with errno
 *   (EINVAL: other is no process of this panel).
 * fdsnap_same(s, p1, fd1, p2, fd2): in the current panel, 1 when the two recorded
 *   descriptors share a description, 0 when not (or one is not open), -1 (EINVAL)
 *   when one was not recorded.
 * fdsnap_shared_fd(s, proc, other, ofd): in the current panel, the lowest recorded
 *   descriptor of process proc that shares a description with descriptor ofd of
 *   process other (how a lab finds the number a passed descriptor got), or -1 when
 *   none does (errno ENOENT) or ofd was not recorded (EINVAL).
 * fdsnap_nth_fd(s, proc, i): the i-th descriptor number recorded for proc in the
 *   current panel (in recording order), or -1 (EINVAL) when there is none.
 * fdsnap_note(s, proc, fd, note): sets the note of a recorded descriptor. 0, or -1
 *   (EINVAL: not recorded).
 * fdsnap_watches(s, proc, epfd, tfds, max): the descriptor numbers the recorded epoll
 *   instance epfd watches (up to max into tfds, in fdinfo order); returns their count,
 *   or -1 (EINVAL) when epfd is not a recorded epoll instance.
 * fdsnap_method(s): "kcmp" or "inode+flags+offset" (the fallback above).
 * fdsnap_write_dot(s, out): writes the Graphviz DOT text. 0, or -1 with errno.
 * fdsnap_drawing(): the directory named by FDLAB_DRAW when set and non-empty (a lab
 *   draws its pictures only then), else NULL.
 * fdsnap_draw(s, name): when drawing, writes FDLAB_DRAW/name.dot and prints
 *   "picture=<path>"; does nothing otherwise (s may then be NULL). 0, or -1 with errno;
 *   also -1, writing nothing, when an earlier call on s failed (errno: its errno), so
 *   a lab may add to a snapshot without checking each call and check this one.
 *   Every function above that fails records its errno in s for this purpose.
 */
#ifndef FDLAB_FDSNAP_H
#define FDLAB_FDSNAP_H

#include <stdio.h>
#include <sys/types.h>

#define FDSNAP_MAX_PANELS 4
#define FDSNAP_MAX_PROCS 6
#define FDSNAP_MAX_FDS 12
#define FDSNAP_MAX_WATCH 8

struct fdsnap;

struct fdsnap *fdsnap_new(const char *title);
void fdsnap_free(struct fdsnap *s);
int fdsnap_panel(struct fdsnap *s, const char *title);
int fdsnap_alias(struct fdsnap *s, const char *path, const char *label);
int fdsnap_proc(struct fdsnap *s, pid_t pid, const char *role);
int fdsnap_fd(struct fdsnap *s, int proc, int fd, const char *note);
int fdsnap_fds(struct fdsnap *s, int proc, ...);
int fdsnap_all(struct fdsnap *s, int proc, int min_fd);
int fdsnap_sockets(struct fdsnap *s, int proc);
int fdsnap_shared(struct fdsnap *s, int proc, int other);
int fdsnap_same(const struct fdsnap *s, int p1, int fd1, int p2, int fd2);
int fdsnap_shared_fd(const struct fdsnap *s, int proc, int other, int ofd);
int fdsnap_nth_fd(const struct fdsnap *s, int proc, int i);
int fdsnap_note(struct fdsnap *s, int proc, int fd, const char *note);
int fdsnap_watches(const struct fdsnap *s, int proc, int epfd, int *tfds, int max);
const char *fdsnap_method(const struct fdsnap *s);
int fdsnap_write_dot(const struct fdsnap *s, FILE *out);
const char *fdsnap_drawing(void);
int fdsnap_draw(const struct fdsnap *s, const char *name);

#endif
