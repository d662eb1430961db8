/* path.h — from a request target to a file beneath the docroot: the TARGET → PATH rules
 * and the opening rules of static.h, as functions (path.c). static.c calls them per
 * request; precomp.c opens its .gz siblings through site_open_file (static.h).
 *
 *   path_split_target(req, &path, &query);                  views into the target
 *   st = path_normalise(path, rel, cap, &dir_hint, &len);   0, or 400 / 404 to answer
 *   fd = site_open_file(site, rel);                         beneath the root, or -1
 *   st = path_open_status(errno);                           what a failed open answers
 *   path_location(buf, cap, rel, query);                    "/dir" -> "Location: /dir/"
 *
 * Nothing here allocates, answers or keeps state; every input is a view or a string.
 */
#ifndef LAB11_PATH_H
#define LAB11_PATH_H

#include <stddef.h>

#include "http_parse.h"

/* The path and the query ('?' onwards, "" when none) of req's target: origin-form as
 * it is, absolute-form after its authority. An empty path is "/". Views into req. */
void path_split_target(const struct http_request *req, struct http_str *path, struct http_str *query);

/* Decodes path (it must start with '/') into rel: cap bytes, NUL-terminated, relative
 * (no leading '/'; "" is the root), with no "", "." or ".." segment left (static.h:
 * TARGET → PATH). *dir_hint = 1 when the last segment was empty, "." or "..";
 * *rel_len = strlen(rel). Returns 0; 400 for a bad escape, an encoded '/', '#', a
 * control byte, a backslash or a ".." above the root; 404 when rel would not fit in
 * cap (no file has such a path: the request-line's length is the parser's 414). */
int path_normalise(struct http_str path, char *rel, size_t cap, int *dir_hint, size_t *rel_len);

/* The HTTP status for the errno of a failed site_open_file (static.h: OUTCOMES):
 * 404, 403, 503 or 500. */
int path_open_status(int e);

/* "Location: /REL/[QUERY]\r\n" into buf (cap bytes, NUL-terminated): rel re-encoded
 * (unreserved bytes and sub-delims as they are, every other byte %XX), never the raw
 * target. Returns 0, or -1 when it does not fit. */
int path_location(char *buf, size_t cap, const char *rel, struct http_str query);

#endif
