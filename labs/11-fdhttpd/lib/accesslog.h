/* accesslog.h — fdhttpd's buffered access log, one per worker (--access-log).
 *
 * Each worker appends one line per completed response to a PRIVATE buffer and writes
 * the buffer with one write(2) when the next line would not fit (ALOG_BUF bytes), on a
 * timer ALOG_FLUSH_MS after the first line went into an empty buffer, and when the
 * worker leaves its loop (SIGQUIT drain, SIGTERM, TERMINATE: alog_close). A worker
 * killed with SIGKILL, or one that dies on a fatal error, loses what it had buffered:
 * at most ALOG_BUF bytes and at most ALOG_FLUSH_MS of lines.
 *
 * Line (the Common Log Format, ident and user always "-"):
 *   PEER - - [23/Nov/2026:23:02:54 +0000] "GET /a.txt HTTP/1.1" 200 21
 *   PEER     the client's address (getpeername once per connection)
 *   [time]   the worker's clock of the response (UTC, whole seconds)
 *   "..."    the request line as received (method, target, version), cut at
 *            ALOG_REQ_MAX bytes (then ending in "..."); bytes outside printable ASCII,
 *            '"' and '\\' are written as \xHH, so a request can never forge a line.
 *            "-" when the response answers no parsed request (400 on garbage, 431...)
 *   status   the response's status
 *   bytes    the response's BODY bytes (CLF's %b, nginx's $body_bytes_sent when the
 *            whole body went out): Content-Length or the range's length; 0 for HEAD,
 *            304 and 204. It is the size the response was queued with: a client that
 *            disconnects in the middle still gets its full size logged.
 *   LOCAL    only when the server listens on several addresses (alog_name_local): the
 *            address the connection came in on, "IPv4:PORT" or "[IPv6]:PORT"
 *            (getsockname once per connection), appended after bytes as nginx's
 *            custom formats do with $server_addr:$server_port. A one-address server
 *            writes plain CLF, which every log tool reads.
 * Responses that never reach the response path are not logged: the 503 of
 * --max-conns (before a connection exists) and the best-effort 408 of a timed-out
 * head or body. 100 Continue is not a response (no line).
 *
 * SHARING ONE FILE BETWEEN WORKERS. Every worker opens the file itself with O_APPEND.
 * For a regular file, Linux performs "set the offset to the end of file, then write"
 * as one atomic step per write(2) (write(2), O_APPEND; local file systems also hold
 * the inode lock for the whole write), so the bytes of one write(2) land contiguous,
 * never interleaved with another worker's, whatever their size: no PIPE_BUF limit.
 * Since every buffer holds whole lines, every line stays whole. The exceptions are a
 * short write (disk full, RLIMIT_FSIZE: the rest is retried and may then land after
 * another worker's write) and NFS (O_APPEND is not atomic across clients). For a
 * target that is not a regular file (a FIFO, a pipe, a terminal: --access-log
 * /dev/stderr) only writes of at most PIPE_BUF bytes are atomic (pipe(7)), so there
 * each write carries whole lines and at most PIPE_BUF bytes.
 *
 * REOPENING (SIGUSR1, the logrotate habit: mv access.log access.log.1, then signal).
 * The worker's descriptor follows the renamed file, so lines keep landing in
 * access.log.1 until alog_reopen: it first writes what is buffered (to the old file:
 * those lines were made before the signal), then opens the path again (a new file)
 * and switches to it. Nothing is lost: a line is either in the buffer, and goes to
 * the old file at the switch, or made after it, and goes to the new one. How the
 * signal reaches the workers: the master forwards it (master.c says why).
 *
 * Usage (worker.c, conn.c): al = alog_open(path, el) once per worker; per request
 * alog_request() when its head was parsed and alog_reply() when its response is
 * queued (both are no-ops when al is NULL, i.e. the log is off); alog_close(al) at
 * exit. Single-threaded, like the worker.
 */
#ifndef LAB11_ACCESSLOG_H
#define LAB11_ACCESSLOG_H

#include <stddef.h>
#include <time.h>

#include "evloop.h"
#include "http_parse.h"
#include "reply.h"

#define ALOG_BUF (64 * 1024) /* bytes buffered before a write */
#define ALOG_FLUSH_MS 1000   /* a line waits at most this long */
#define ALOG_REQ_MAX 256     /* bytes of the request line kept (after escaping) */

struct alog;

/* Per connection: the request line of the request being answered, and the peer. */
struct alog_req {
    char peer[48];  /* "" until looked up */
    char local[64]; /* alog_name_local: the connection's own address, looked up with peer */
    unsigned short len;
    char line[ALOG_REQ_MAX + 4];
};

/* Opens (creates, mode 0644) path for appending; the flush timer lives on el.
 * Returns the log, or NULL with errno (the caller decides: the worker warns and runs
 * without a log). */
struct alog *alog_open(const char *path, struct evloop *el);

/* From now on every line names the local address the connection came in on. */
void alog_name_local(struct alog *al);

/* Writes what is buffered, then opens path again (O_APPEND|O_CREAT) and writes to
 * it from now on. 0; -1 with errno when it cannot be opened (then the log goes on in
 * the old file, and the caller warns). al NULL: 0. */
int alog_reopen(struct alog *al, const char *path);

/* Remembers req's request line (escaped, cut) in q for the next alog_reply on the
 * same connection. al NULL: nothing. */
void alog_request(struct alog *al, struct alog_req *q, int fd, const struct http_request *req);

/* Appends the line of the reply r (status, body bytes) answering q's request, at
 * wall-clock time now; forgets q's request line. May write (buffer full). al NULL:
 * nothing. Call it before r's body or file is given away (reply_release). */
void alog_reply(struct alog *al, struct alog_req *q, int fd, time_t now, const struct reply *r);

/* Writes what is buffered (one write per buffer; a failure is warned once per log
 * and the lines are dropped, the server goes on). */
void alog_flush(struct alog *al);

/* alog_flush, stops the timer, closes the file, frees. NULL: nothing. */
void alog_close(struct alog *al);

#endif
