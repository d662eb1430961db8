/* routes.h — what fdhttpd answers: a table of routes, tried in order, the first whose
 * match accepts the request answers it (routes.c). The last route, the static files,
 * matches everything.
 *
 *   GET/HEAD /status   the shared statistics as key=value lines (text/plain); 404
 *                      when --status refuses the client (off, or loopback and remote)
 *   POST/PUT /echo     200 with the request body (Content-Length response)
 *   anything else      static_handle_cached (static.h): files under the root, 304, 206,
 *                      416, OPTIONS 204, other methods of RFC 9110 405, unknown ones 501;
 *                      404 when there is no root
 *
 * A route answers in one of two ways:
 *   answer   at the head: fills *r (a reply, reply.h). A body the request carries is read
 *            and discarded before r is sent (body.c). Returns 0, or an HTTP status when it
 *            cannot answer (503: out of memory), sent as a closing error reply.
 *   collect  (non-NULL) the body is collected into c->big (c->body_len bytes, at most
 *            --max-body) and the route answers once it is complete, also when the
 *            request has no body (then body_len is 0).
 * A target matches a path in origin-form, with or without a query ("/echo?x").
 */
#ifndef LAB11_ROUTES_H
#define LAB11_ROUTES_H

#include "http_parse.h"
#include "reply.h"

struct fdh_conn;

struct fdh_route {
    const char *name;
    int (*match)(const struct http_request *req);
    int (*answer)(struct fdh_conn *c, const struct http_request *req, enum reply_conn conn, struct reply *r);
    void (*collect)(struct fdh_conn *c, enum reply_conn conn, struct reply *r);
};

/* The route for req: never NULL. */
const struct fdh_route *fdh_route_find(const struct http_request *req);

/* rt->answer, then for HEAD the body dropped (error pages too: a HEAD answer has no
 * body, RFC 9110 9.3.2). Returns what answer returned. */
int fdh_route_answer(const struct fdh_route *rt, struct fdh_conn *c, const struct http_request *req,
                     enum reply_conn conn, struct reply *r);

#endif
