/* Tests for fdsnap.h: descriptors are grouped by open file description (a dup is
 * grouped, an independent open is not, a passed descriptor is found in the receiver),
 * an epoll instance lists what it watches, and the picture is the same every run. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdcount.h"
#include "fdpass.h"
#include "fdsnap.h"
#include "sock.h"

/* The DOT text of s, malloc'd. */
static char *dot_of(const struct fdsnap *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    cr_assert_not_null(m);
    cr_assert_eq(fdsnap_write_dot(s, m), 0);
    cr_assert_eq(fclose(m), 0);
    return text;
}

/* The picture of s contains both texts. */
static void dot_has(const struct fdsnap *s, const char *one, const char *two)
{
    char *dot = dot_of(s);
    cr_assert_not_null(strstr(dot, one), "no %s in:\n%s", one, dot);
    cr_assert_not_null(strstr(dot, two), "no %s in:\n%s", two, dot);
    free(dot);
}

/* fds[0] opens /dev/null, fds[1] is its dup, fds[2] a second, independent open. */
static void dup_and_open(int fds[3])
{
    fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    fds[1] = fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
    fds[2] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
}

static void close_three(const int fds[3])
{
    for (int i = 0; i < 3; i++)
        close(fds[i]);
}

Test(fdsnap, dup_grouped_independent_open_not, .timeout = 120)
{
    int fds[3], a, b, c;
    dup_and_open(fds);
    a = fds[0], b = fds[1], c = fds[2];
    struct fdsnap *s = fdsnap_new("dup versus open");
    cr_assert_not_null(s);
    int me = fdsnap_proc(s, getpid(), "the test");
    cr_assert_eq(me, 0);
    cr_assert_eq(fdsnap_fd(s, me, a, "open"), 0);
    cr_assert_eq(fdsnap_fd(s, me, b, "dup of it"), 0);
    cr_assert_eq(fdsnap_fd(s, me, c, "open again"), 0);
    cr_assert_eq(fdsnap_same(s, me, a, me, b), 1, "a dup shares the description");
    cr_assert_eq(fdsnap_same(s, me, a, me, c), 0, "an independent open does not (method %s)",
                 fdsnap_method(s));
    cr_assert_str_eq(fdsnap_method(s), "kcmp");
    dot_has(s, "/dev/null", "fd table of the test");
    fdsnap_free(s);
    close_three(fds);
}

Test(fdsnap, shared_records_only_what_shares_a_description, .timeout = 120)
{
    int fds[3], a, b;
    dup_and_open(fds); /* fds[2], the independent open, must be left out */
    a = fds[0], b = fds[1];
    struct fdsnap *s = fdsnap_new("shared");
    int one = fdsnap_proc(s, getpid(), "the test"), two = fdsnap_proc(s, getpid(), "the test again");
    cr_assert_eq(fdsnap_fd(s, one, a, NULL), 0);
    cr_assert_eq(fdsnap_shared(s, two, one), 0);
    cr_assert_eq(fdsnap_nth_fd(s, two, 0), a < b ? a : b, "ascending");
    cr_assert_eq(fdsnap_nth_fd(s, two, 1), a < b ? b : a);
    cr_assert_eq(fdsnap_nth_fd(s, two, 2), -1, "the independent open is left out");
    cr_assert_eq(fdsnap_shared(s, two, 5), -1, "no such process in the panel");
    cr_assert_eq(setenv("FDLAB_DRAW", "/nonexistent", 1), 0);
    errno = 0;
    cr_assert_eq(fdsnap_draw(s, "x"), -1);
    cr_assert_eq(errno, EINVAL, "the remembered failure, not an attempt to write");
    fdsnap_free(s);
    close_three(fds);
}

Test(fdsnap, number_not_open_is_drawn_as_such, .timeout = 120)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    close(fd);
    struct fdsnap *s = fdsnap_new("t");
    int me = fdsnap_proc(s, getpid(), "the test");
    cr_assert_eq(fdsnap_fd(s, me, fd, NULL), 0);
    cr_assert_eq(fdsnap_same(s, me, fd, me, fd), 0, "a closed number shares nothing");
    cr_assert_eq(fdsnap_same(s, me, fd, me, fd + 1), -1, "an unrecorded number is EINVAL");
    char *dot = dot_of(s);
    cr_assert_not_null(strstr(dot, "not open"));
    free(dot);
    fdsnap_free(s);
}

Test(fdsnap, passed_descriptor_found_in_receiver, .timeout = 120)
{
    int before = fd_count();
    int sv[2], report[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    cr_assert_eq(pipe2(report, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) { /* receiver: report the number it got, then wait to be killed */
        close(sv[0]);
        int got[1];
        size_t n = 1;
        char b;
        if (recv_fds(sv[1], got, &n, &b, 1) != 1 || n != 1)
            _exit(1);
        if (write(report[1], &got[0], sizeof got[0]) != (ssize_t)sizeof got[0])
            _exit(1);
        pause();
        _exit(0);
    }
    close(sv[1]);
    close(report[1]);
    int f = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cr_assert_geq(f, 0);
    cr_assert_eq(send_fds(sv[0], &f, 1, "x", 1), 1);
    int theirs = -1;
    cr_assert_eq(read(report[0], &theirs, sizeof theirs), (ssize_t)sizeof theirs);

    struct fdsnap *s = fdsnap_new("SCM_RIGHTS");
    int snd = fdsnap_proc(s, getpid(), "the sender"), rcv = fdsnap_proc(s, pid, "the receiver");
    cr_assert_eq(fdsnap_fd(s, snd, f, "sent"), 0);
    cr_assert_eq(fdsnap_fd(s, rcv, theirs, "received"), 0);
    cr_assert_eq(fdsnap_fd(s, rcv, sv[1], "its end of the channel"), 0);
    cr_assert_eq(fdsnap_same(s, snd, f, rcv, theirs), 1, "one description, two tables");
    cr_assert_eq(fdsnap_shared_fd(s, rcv, snd, f), theirs, "the receiver's number for the sent file");
    cr_assert_eq(fdsnap_nth_fd(s, rcv, 1), sv[1]);
    cr_assert_eq(fdsnap_nth_fd(s, rcv, 2), -1);
    cr_assert_eq(fdsnap_same(s, snd, f, rcv, sv[1]), 0);
    dot_has(s, "fd table of the receiver", "unix stream socket");
    fdsnap_free(s);

    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    close(f);
    close(sv[0]);
    close(report[0]);
    cr_assert_eq(fd_count(), before);
}

Test(fdsnap, epoll_instance_lists_what_it_watches, .timeout = 120)
{
    uint16_t port;
    int l = tcp_listen_loopback(8, SOCK_CLOEXEC, &port);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    cr_assert(l >= 0 && ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), 0);
    struct fdsnap *s = fdsnap_new("epoll");
    int me = fdsnap_proc(s, getpid(), "the worker");
    cr_assert_eq(fdsnap_fd(s, me, ep, "its epoll instance"), 0);
    int tfds[4];
    cr_assert_eq(fdsnap_watches(s, me, ep, tfds, 4), 1);
    cr_assert_eq(tfds[0], l);
    cr_assert_eq(fdsnap_watches(s, me, l, tfds, 4), -1, "the listener is not recorded");
    cr_assert_eq(fdsnap_fd(s, me, l, "the listener"), 0);
    cr_assert_eq(fdsnap_watches(s, me, l, tfds, 4), -1, "a listener is no epoll instance");
    char *dot = dot_of(s);
    char want[64];
    snprintf(want, sizeof want, "watches fd %d: EPOLLIN | EPOLLEXCLUSIVE", l);
    cr_assert_not_null(strstr(dot, want), "%s", dot);
    cr_assert_not_null(strstr(dot, "p0_o0 -> p0_o1 [style=dashed"), "an arrow to the watched listener");
    cr_assert_not_null(strstr(dot, "TCP listening socket<br/>127.0.0.1:port1"));
    cr_assert_null(strstr(dot, "p0_o2"), "the watched socket and the listener are one object:\n%s", dot);
    free(dot);
    fdsnap_free(s);
    close(ep);
    close(l);
}

Test(fdsnap, two_epoll_instances_are_two_objects, .timeout = 120)
{
    int a = epoll_create1(EPOLL_CLOEXEC), b = epoll_create1(EPOLL_CLOEXEC);
    cr_assert(a >= 0 && b >= 0);
    struct fdsnap *s = fdsnap_new("epolls");
    int me = fdsnap_proc(s, getpid(), "the test");
    cr_assert_eq(fdsnap_fds(s, me, a, "one", b, "two", -1), 0);
    cr_assert_eq(fdsnap_same(s, me, a, me, b), 0, "anon inodes share an inode, not a description");
    dot_has(s, "epoll instance 1", "epoll instance 2");
    fdsnap_free(s);
    close(a);
    close(b);
}

/* One connection through a fresh listener, drawn; every number that changes from run
 * to run (pid, inode, port) must stay out of the text. */
static char *draw_connection(void)
{
    uint16_t port;
    int l = tcp_listen_loopback(8, SOCK_CLOEXEC, &port);
    cr_assert_geq(l, 0);
    int c = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
    int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    int d = fcntl(a, F_DUPFD_CLOEXEC, 0);
    cr_assert(c >= 0 && a >= 0 && d >= 0);
    struct fdsnap *s = fdsnap_new("one connection");
    cr_assert_eq(fdsnap_panel(s, "accepted"), 0);
    int me = fdsnap_proc(s, getpid(), "the server");
    cr_assert_eq(fdsnap_fd(s, me, l, "listener"), 0);
    cr_assert_eq(fdsnap_fd(s, me, a, "accepted"), 0);
    cr_assert_eq(fdsnap_fd(s, me, d, "dup"), 0);
    cr_assert_eq(fdsnap_fd(s, me, c, "client"), 0);
    char *dot = dot_of(s);
    fdsnap_free(s);
    close(d);
    close(a);
    close(c);
    close(l);
    char num[32];
    snprintf(num, sizeof num, "%u", (unsigned)port);
    cr_assert_null(strstr(dot, num), "the port number is replaced:\n%s", dot);
    snprintf(num, sizeof num, "%d", (int)getpid());
    cr_assert_null(strstr(dot, num), "the pid is not written");
    return dot;
}

Test(fdsnap, drawing_is_deterministic, .timeout = 120)
{
    char *one = draw_connection();
    char *two = draw_connection();
    cr_assert_str_eq(one, two, "same facts, same picture");
    cr_assert_not_null(strstr(one, "127.0.0.1:port1 \u2194 127.0.0.1:port2"));
    free(one);
    free(two);
}

Test(fdsnap, draw_writes_only_when_asked, .timeout = 120)
{
    char dir[] = "/tmp/fdsnap-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    struct fdsnap *s = fdsnap_new("t");
    unsetenv("FDLAB_DRAW");
    cr_assert_null(fdsnap_drawing());
    cr_assert_eq(fdsnap_draw(s, "x"), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/x.dot", dir);
    cr_assert_eq(access(path, F_OK), -1, "nothing written without FDLAB_DRAW");
    cr_assert_eq(setenv("FDLAB_DRAW", dir, 1), 0);
    cr_assert_eq(fdsnap_draw(s, "x"), 0);
    cr_assert_eq(access(path, F_OK), 0);
    unlink(path);
    rmdir(dir);
    fdsnap_free(s);
}
