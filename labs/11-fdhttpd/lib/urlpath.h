/* urlpath.h — a request target to a relative path beneath the docroot, and a path back
 * to a Location value (urlpath.c). The rules are static.h's (TARGET → PATH); nothing
 * here touches the file system.
 *
 * urlpath_split(req, path, query): the path and query views of the target (origin- or
 *   absolute-form: the part after the authority); an empty path is "/"; the query
 *   starts at '?' (included).
 * urlpath_normalise(path, rel, cap, dir_hint): decodes and normalises path (starting
 *   with '/') into rel (cap bytes, NUL-terminated, no leading '/', "" for the root).
 *   *dir_hint = 1 when the last segment was empty, "." or "..". Returns 0, or the HTTP
 *   status to answer (400, 414).
 * urlpath_location(buf, cap, rel, query): "Location: /<rel re-encoded>/<query>\r\n" for
 *   the redirect of a directory named without its slash. 0, or -1 when it does not fit.
 */
#ifndef LAB11_URLPATH_H
#define LAB11_URLPATH_H

#include <stddef.h>

#include "http_parse.h"

void urlpath_split(const struct http_request *req, struct http_str *path, struct http_str *query);
int urlpath_normalise(struct http_str path, char *rel, size_t cap, int *dir_hint);
int urlpath_location(char *buf, size_t cap, const char *rel, struct http_str query);

#endif
