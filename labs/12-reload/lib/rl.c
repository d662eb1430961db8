/* rl.c — see rl.h. */
#include "rl.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "kv.h"
#include "sock.h"

int rl_count(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, len) == 0)
            n++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

int rl_wait(struct fdh_srv *s, const char *prefix, int n, double timeout_s)
{
    double end = mono_s() + timeout_s;
    while (rl_count(s->out, prefix) < n) {
        if (mono_s() >= end) {
            errno = ETIMEDOUT;
            return -1;
        }
        fdh_srv_pump(s, 20);
    }
    return 0;
}

pid_t rl_master(const struct fdh_srv *s)
{
    long v;
    return kv_long(s->out, "master_pid", &v) == 0 ? (pid_t)v : -1;
}

static int cmp_ul(const void *a, const void *b)
{
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return x < y ? -1 : x > y;
}

int rl_listen_inodes(uint16_t port, char *buf, size_t cap)
{
    FILE *f = fopen("/proc/net/tcp", "re");
    if (f == NULL)
        return -1;
    char line[512];
    unsigned long ino[256];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < 256) {
        unsigned lport, st;
        unsigned long inode;
        /* "  0: 0100007F:1F90 00000000:0000 0A ... uid timeout inode" */
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lport, &st, &inode) == 3 &&
            lport == port && st == 0x0A)
            ino[n++] = inode;
    }
    fclose(f);
    qsort(ino, (size_t)n, sizeof ino[0], cmp_ul);
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lu", i ? "," : "", ino[i]);
    return n;
}

int rl_holds(pid_t pid, const char *inodes)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    char list[4096];
    snprintf(list, sizeof list, "%s", inodes);
    for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        DIR *d = opendir(path);
        if (d == NULL)
            return -1;
        char want[64];
        snprintf(want, sizeof want, "socket:[%s]", tok);
        int found = 0;
        struct dirent *e;
        while (!found && (e = readdir(d)) != NULL) {
            char lp[400], target[128];
            snprintf(lp, sizeof lp, "%s/%s", path, e->d_name);
            ssize_t k = readlink(lp, target, sizeof target - 1);
            if (k > 0) {
                target[k] = '\0';
                found = strcmp(target, want) == 0;
            }
        }
        closedir(d);
        if (!found)
            return 0;
    }
    return 1;
}

int rl_reap_wait(struct fdh_srv *s, pid_t pid, double timeout_s)
{
    double end = mono_s() + timeout_s;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (mono_s() >= end) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            if (pid == s->pid)
                s->pid = 0;
            return -1;
        }
        fdh_srv_pump(s, 20);
    }
    if (pid == s->pid)
        s->pid = 0;
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

void rl_reap_all(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

int rl_get(uint16_t port, const char *path, char *body)
{
    char req[512], resp[16384];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", path);
    if (fdh_http(port, req, resp, sizeof resp, 5000) < 0)
        return -1;
    int code;
    if (sscanf(resp, "HTTP/1.1 %d", &code) != 1)
        return -1;
    if (body) {
        char *b = strstr(resp, "\r\n\r\n");
        snprintf(body, 4096, "%s", b ? b + 4 : "");
    }
    return code;
}

int rl_get_on(const char *host, uint16_t port, const char *path)
{
    int fd = tcp_connect(host, port, SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    char req[512], resp[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", path);
    int code = -1;
    ssize_t got = write(fd, req, (size_t)n) == n ? read_full(fd, resp, sizeof resp - 1, 5000) : -1;
    if (got > 0) {
        resp[got] = '\0';
        if (sscanf(resp, "HTTP/1.1 %d", &code) != 1)
            code = -1;
    }
    close(fd);
    return code;
}

long rl_status_long(uint16_t port, const char *key)
{
    char body[32768];
    long v;
    if (fdh_status(port, body, sizeof body) < 0 || kv_long(body, key, &v) < 0)
        return -1;
    return v;
}

int rl_children(pid_t pid, int *zombies)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    int n = 0, z = 0;
    long c;
    while (fscanf(f, "%ld", &c) == 1) {
        n++;
        char sp[64], line[512];
        snprintf(sp, sizeof sp, "/proc/%ld/stat", c);
        FILE *g = fopen(sp, "re");
        if (g == NULL)
            continue; /* reaped between the two reads: not a zombie */
        /* "pid (comm) S ...": the state follows the LAST ')' (comm may hold one) */
        if (fgets(line, sizeof line, g)) {
            char *r = strrchr(line, ')');
            z += r && r[1] == ' ' && r[2] == 'Z';
        }
        fclose(g);
    }
    fclose(f);
    *zombies = z;
    return n;
}
