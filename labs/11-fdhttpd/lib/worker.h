/* worker.h — a worker's context and its connections (worker.c, conn.c); internal.
 *
 * One struct fdh_w per worker process (the only mutable "global": passed everywhere).
 * Connections are a doubly-linked list so that drain and terminate can walk them.
 * Life of a connection (conn.c):
 *   conn_open   accepted or received fd -> registered for EV_READ, timer armed
 *   READING     read until a complete request head (http_parse.h) or an error
 *   WRITING     the response, EV_WRITE while the socket buffer is full
 *   then        keep-alive: back to READING (a pipelined request may already be in
 *               the buffer); otherwise, or when draining: conn_close
 * The idle/stuck timer (FDH_IO_TIMEOUT_MS) restarts on every read or write progress.
 */
#ifndef LAB11_WORKER_H
#define LAB11_WORKER_H

#include <sys/types.h>

#include "evloop.h"
#include "fdhttpd.h"

#define FDH_IN_MAX 8192   /* request head buffer; longer heads are 431 */
#define FDH_OUT_MAX 16384 /* one response (the /status text fits) */

struct fdh_w;

struct fdh_conn {
    struct fdh_conn *prev, *next;
    struct fdh_w *w;
    int fd;
    int writing;           /* 0 reading, 1 writing */
    int close_after;       /* close once the response is written */
    int eof;               /* the client shut down its side: answer what is buffered */
    size_t inlen, prev_len;
    size_t outlen, outoff;
    struct ev_timer timer;
    char in[FDH_IN_MAX];
    char out[FDH_OUT_MAX];
};

struct fdh_w {
    const struct fdh_config *cfg;
    struct fdh_shared *sh;
    struct fdh_slot *me;
    int slot;
    pid_t pid;
    struct evloop *el;
    int lfd, chan;
    int listening;         /* lfd is in the epoll set */
    int held;              /* mutex: this worker holds the accept mutex */
    int draining;          /* QUIT received: no accepting, close when idle */
    int stop;              /* leave the loop after this iteration */
    struct fdh_conn *conns;
    long nconns;
};

/* conn.c */
void fdh_conn_open(struct fdh_w *w, int fd);    /* takes fd (closes it on failure) */
void fdh_conn_close(struct fdh_conn *c);
void fdh_conn_drain(struct fdh_w *w);           /* close idle connections (QUIT) */
void fdh_conn_close_all(struct fdh_w *w);       /* TERMINATE / end */

#endif
