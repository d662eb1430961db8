/* path.h — a normalised path (static.c: TARGET → PATH) opened beneath the docroot, and
 * what a failed open answers: the cache-miss side of static.c (path.c). precomp.c opens
 * its .gz siblings through site_open_file (static.h) too.
 *
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

/* The HTTP status for the errno of a failed site_open_file (static.h: OUTCOMES):
 * 404, 403, 503 or 500. */
int path_open_status(int e);

/* "Location: /REL/[QUERY]\r\n" into buf (cap bytes, NUL-terminated): rel re-encoded
 * (unreserved bytes and sub-delims as they are, every other byte %XX), never the raw
 * target. Returns 0, or -1 when it does not fit. */
int path_location(char *buf, size_t cap, const char *rel, struct http_str query);

#endif
