/* worker.h — a worker's context and its connections (worker.c, conn.c); internal.
 *
 * One struct fdh_w per worker process (the only mutable "global": passed everywhere).
 * Connections are a doubly-linked list so that drain and terminate can walk them.
 * Life of a connection (conn.c):
 *   conn_open   accepted or received fd -> registered for EV_READ, idle timer armed
 *   CS_HEAD     read until a complete request head (http_parse.h) or an error; the
 *               answer is prepared at once (routes, or static_handle)
 *   CS_BODY     a request with a body: read it exactly (Content-Length, or chunked via
 *               http_chunked.h), into the echo buffer or discarded; then the answer
 *   CS_SEND     a response with a tail (a file: sendfile; a big body) is going out;
 *               EV_WRITE while the socket buffer is full
 *   then        keep-alive: back to CS_HEAD (a pipelined request may already be in
 *               the buffer); otherwise, or when draining: conn_close
 * Responses to pipelined requests are gathered in `out` (heads and small bodies, a cached
 * small file included) and leave in one sendmsg per batch; a memory body too big for
 * `out` is the second piece of that same sendmsg; a big file follows with sendfile.
 * One timer per connection, in one of four modes (conn.c, set_timer): idle between
 * requests (keepalive), head (from its first byte, NOT restarted: slowloris), body and
 * send (restarted on progress).
 */
#ifndef LAB11_WORKER_H
#define LAB11_WORKER_H

#include <sys/types.h>
#include <time.h>

#include "accesslog.h"
#include "evloop.h"
#include "fdhttpd.h"
#include "http_chunked.h"
#include "http_parse.h"
#include "reply.h"
#include "static.h"

#define FDH_OUT_MAX 16384  /* gathered response heads and small bodies */
#define FDH_BATCH_MAX 8192 /* parse another pipelined request only below this much output */

struct fdh_w;

enum fdh_cstate { CS_HEAD, CS_BODY, CS_SEND };
enum fdh_tmode { T_NONE, T_IDLE, T_HEAD, T_BODY, T_SEND };

struct fdh_conn {
    struct fdh_conn *prev, *next;
    struct fdh_w *w;
    int fd;
    enum fdh_cstate state;
    enum fdh_tmode tmode;  /* what the timer is armed for */
    int progress;          /* bytes moved since the timer was last considered */
    int close_after;       /* draining: the next response says close */
    int last;              /* a closing response is queued: parse nothing more, close
                              once it is written */
    int dirty;             /* an error reply: the client may still be sending */
    int lingering;         /* the closing response is out and our side shut down: what
                              still arrives is read and dropped until EOF or LINGER_MS */
    int eof;               /* the client shut down its side: answer what is buffered */
    size_t inlen, prev_len;
    /* the body of the current request (CS_BODY) */
    int echo;              /* 1: collected into big and echoed; 0: discarded */
    int chunked;
    struct http_chunked ck;
    uint64_t body_left;    /* Content-Length: bytes still to come */
    size_t body_len;       /* body bytes taken so far */
    enum reply_conn rconn; /* the echo's connection handling, decided at the head */
    int have_r;            /* r holds the answer prepared for after a discarded body */
    struct reply r;
    char *big;             /* echo body or /status text (malloc'd, grows to max_body) */
    size_t bigcap;
    /* output: out[outoff, outlen), then the tail: tmem or the file tfd */
    size_t outlen, outoff;
    const char *tmem;
    size_t tmem_len, tmem_off;
    int tfd;               /* owned, or borrowed from tpin */
    off_t toff, tleft;
    struct fc_entry *tpin; /* the cache entry that owns tmem or tfd (fcache.h), or NULL */
    int own;               /* accepted by this worker: the only reference (fdh_conn_close) */
    int nodelay;           /* TCP_NODELAY set (lazily, once the connection is kept alive) */
    int rfull;             /* the last read filled the buffer: more may be in the socket */
    struct ev_timer timer;
    struct alog_req alreq; /* the access log's view of the request being answered */
    char out[FDH_OUT_MAX];
    char in[];             /* cfg->max_header_bytes + 1 bytes */
};

struct fdh_w {
    const struct fdh_config *cfg;
    const struct site *site;
    struct fdh_shared *sh;
    struct fdh_slot *me;
    int slot;
    pid_t pid;
    struct evloop *el;
    int lfd, chan;
    int listening;         /* lfd is in the epoll set */
    int held;              /* mutex: this worker holds the accept mutex */
    int draining;          /* QUIT received: no accepting, close when idle */
    struct ev_timer drain_idle; /* draining: FDH_DRAIN_IDLE_MS, then fdh_conn_drain_idle */
    int stop;              /* leave the loop after this iteration */
    struct fdh_conn *conns;
    long nconns;
    struct http_limits lim;
    struct http_header *headers; /* lim.max_headers entries, shared by all requests */
    struct alog *alog;     /* --access-log: this worker's buffer; NULL when off */
    char xworker[32];      /* "X-Worker: N\r\n", appended to every response */
    time_t now;            /* wall-clock seconds, refreshed once per loop iteration:
                              every Date of one iteration uses it (the per-second cache) */
    char date[HTTP_DATE_LEN + 1]; /* http_date_format(now), redone only when now changes */
    struct fcache *fc;     /* the open-file cache (fcache.h), this worker's own */
    int paused_full;       /* not accepting: nconns reached --max-conns */
    int paused_emfile;     /* not accepting for FDH_EMFILE_PAUSE_MS: accept4 ran out of fds */
    int emfile_logged;     /* the EMFILE episode was logged (once per episode) */
    struct ev_timer accept_timer; /* ends paused_emfile */
};

/* worker.c: the worker's clock for what an event answers — Date (now, date: formatted
 * only when the second changes) and the cache's trust period (fcache_tick). conn.c
 * calls it at the start of every connection event: a refresh once per loop iteration
 * would run BEFORE the next epoll_wait, and the first answer after an idle wait would
 * carry a Date as old as the idle time (and trust cache entries that long past
 * FC_VALID_MS). time() is a vDSO read, not a system call. */
void fdh_worker_clock(struct fdh_w *w);

/* worker.c: called by conn.c whenever nconns changed; pauses accepting at
 * cfg->max_conns (the listener leaves the epoll set, so new connections wait in the
 * kernel's backlog) and resumes below it. Without effect for passfd (no listener: conn.c answers
 * 503 over the limit). */
void fdh_worker_conns_changed(struct fdh_w *w);

/* conn.c */
void fdh_conn_open(struct fdh_w *w, int fd);    /* takes fd (closes it on failure) */
void fdh_conn_close(struct fdh_conn *c);
void fdh_conn_drain(struct fdh_w *w);           /* QUIT: every connection closes after its
                                                   next response */
void fdh_conn_drain_idle(struct fdh_w *w);      /* FDH_DRAIN_IDLE_MS later: half-close the
                                                   connections still idle */
void fdh_conn_close_all(struct fdh_w *w);       /* TERMINATE / end */

#endif
