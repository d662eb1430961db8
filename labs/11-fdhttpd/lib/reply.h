/* reply.h — an HTTP/1.1 response as data: a complete head, then either a small body in
 * memory or a range of an open file. PURE apart from reading the clock value it is given:
 * no I/O, no allocation, no global state. The connection layer does the writing.
 *
 * SENDING A REPLY (the caller's contract)
 *   1. write head[0, head_len)
 *   2. if body != NULL: write body[0, body_len)
 *      else if file_fd >= 0: sendfile(sock, file_fd, &off, ...) from off = file_off
 *           until file_len bytes went out. sendfile returning 0 early means the file
 *           shrank: the Content-Length already sent cannot be kept, so close the
 *           connection.
 *   3. reply_release(): closes file_fd (the reply OWNS it) and sets it to -1 — or, for a
 *      PINNED reply (pin != NULL: body or file_fd belong to an fcache entry), drops the
 *      pin instead; a caller that keeps sending after release must take the pin over.
 *   4. if close != 0: close the connection after the write; otherwise read the next
 *      request.
 *   A reply with neither body nor file (HEAD, 204, 304) is the head alone, even though
 *   its Content-Length (HEAD) may say otherwise — that is what HEAD means.
 *
 * HEAD CONTENTS (RFC 9110 / 9112), in this order:
 *   "HTTP/1.1 <status> <text>", Date (IMF-fixdate of `now`), Server: fdhttpd,
 *   Content-Type and Content-Length (not for 204 and 304, RFC 9110 §8.6, §15.4.5),
 *   "Connection: close" when closing, "Connection: keep-alive" for a kept HTTP/1.0
 *   connection (RFC 9112 §9.3), then the caller's `extra` lines verbatim — each must end
 *   in CRLF, e.g. "X-Worker: 3\r\n" — then the empty line.
 *
 * A head that would not fit REPLY_HEAD_MAX (a huge `extra`) becomes a bare 500 with
 * "Connection: close": the builders never fail and never truncate a header line.
 */
#ifndef LAB11_REPLY_H
#define LAB11_REPLY_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define REPLY_HEAD_MAX 2048
#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* What to do with the connection after this reply. */
enum reply_conn {
    REPLY_CLOSE = 0,      /* "Connection: close", out->close = 1 */
    REPLY_KEEP = 1,       /* HTTP/1.1 persistent by default: nothing to say */
    REPLY_KEEP_HTTP10 = 2 /* HTTP/1.0 that asked for keep-alive: "Connection: keep-alive" */
};

struct reply {
    int status;
    char head[REPLY_HEAD_MAX];
    size_t head_len;
    const char *body;   /* NULL, or body_len bytes that outlive the reply (static text or
                           the caller's buffer); never owned */
    size_t body_len;
    int file_fd;        /* -1, or an fd the reply OWNS (see reply_release) */
    off_t file_off;     /* file_len bytes from file_off are the body */
    off_t file_len;
    int close;          /* 1: close the connection after sending */
    void *pin;          /* NULL, or what owns body/file_fd for the send (an fcache entry):
                           then file_fd is BORROWED (never closed by the reply) and body
                           stays valid until reply_release calls unpin(pin) */
    void (*unpin)(void *pin);
};

/* The reason phrase: every status this server sends (200 204 206 301 304 400 403 404
 * 405 408 411 413 414 416 431 500 501 503 505) has one; others give "Unknown". */
const char *reply_status_text(int status);

/* Maps a parsed request's persistence (req->keep_alive, req->minor_version) to the
 * value of the `conn` parameters below. */
enum reply_conn reply_conn_of(int keep_alive, int minor_version);

/* A reply with an in-memory body (not copied: body must outlive the reply).
 * content_type NULL: no Content-Type. Returns out->status. */
int reply_simple(struct reply *out, int status, const char *content_type, const char *body, size_t len,
                 const char *extra, enum reply_conn conn, time_t now);

/* An error (or any status) with a small static HTML body naming it. 204 and 304 get no
 * body. Statuses after which the request's framing cannot be trusted — 400 408 411 413
 * 414 431 500 501 505 — always close, whatever conn says. For 405 pass the Allow line in
 * extra ("Allow: GET, HEAD\r\n"); for 416 the Content-Range line. Returns out->status. */
int reply_error(struct reply *out, int status, enum reply_conn conn, const char *extra, time_t now);

/* The head alone, for modules that add their own header lines (static.c): `hdrs` and
 * `extra` (either may be NULL) are appended in that order; content_length < 0 means no
 * Content-Length. Resets body (NULL) and file_fd (-1): set them after this call. Returns
 * out->status — 500 instead of `status` when the head did not fit. */
int reply_head(struct reply *out, int status, const char *content_type, long long content_length,
               const char *hdrs, const char *extra, enum reply_conn conn, time_t now);

/* reply_head with the Date value already formatted (`date`: HTTP_DATE_LEN chars, e.g.
 * a worker's once-per-second cache of http_date_format) instead of formatting `now`
 * per response. Same contract otherwise. */
int reply_head_date(struct reply *out, int status, const char *content_type, long long content_length,
                    const char *hdrs, const char *extra, enum reply_conn conn, const char *date);

/* A head saved from an earlier reply (its head[0, head_len), built by these functions
 * with the same status and conn) with the Date value replaced by `date` (HTTP_DATE_LEN
 * chars): the bytes reply_head_date would build now, without formatting anything —
 * static.c keeps a cached file's 200 head this way. Resets body and file_fd. Returns
 * status. */
int reply_head_copy(struct reply *out, int status, const char *head, size_t len, const char *date,
                    enum reply_conn conn);

/* reply_error with module header lines `hdrs` before the caller's `extra` (Location on
 * 301, Allow on 405, Content-Range on 416). Either may be NULL. */
int reply_error_hdrs(struct reply *out, int status, enum reply_conn conn, const char *hdrs, const char *extra,
                     time_t now);

/* Drops the body of a complete reply for HEAD: closes the file, body = NULL; the head
 * (with its Content-Length) is unchanged. */
void reply_drop_body(struct reply *r);

/* Closes file_fd when >= 0 (unless pinned) and sets it to -1; when pinned, calls
 * unpin(pin) and clears pin and body (they belonged to the pin). Idempotent. */
void reply_release(struct reply *r);

/* Writes the IMF-fixdate of t (RFC 9110 §5.6.7) to buf (HTTP_DATE_LEN chars + NUL). */
void http_date_format(time_t t, char buf[HTTP_DATE_LEN + 1]);

/* Parses an HTTP-date view (not NUL-terminated) in any of the three formats a recipient
 * must accept (RFC 9110 §5.6.7): IMF-fixdate, RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT",
 * two-digit years taken as 1970-2069), asctime ("Sun Nov  6 08:49:37 1994"). The day
 * name is checked for form, not against the date. Returns 0 and *t, or -1 when invalid. */
int http_date_parse(const char *p, size_t len, time_t *t);

#endif
