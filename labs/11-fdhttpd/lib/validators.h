/* validators.h — the request header values of conditional and ranged GETs, as static.h
 * specifies them (CONDITIONALS, RANGE); static.c decides with them. Pure: no I/O.
 *
 * static_none_match(req, etag): 1 when an If-None-Match line matches our (strong,
 *   quoted) etag by WEAK comparison, or is "*"; 0 otherwise.
 * static_if_range_ok(req, etag, lm): 1 when the range may be served: no If-Range, a
 *   strong match with etag, or an HTTP-date equal to lm (Last-Modified).
 * static_etag(tag, sb): writes the file's strong, quoted ETag into tag (64 bytes):
 *   its size and mtime (ns) in hex — never its inode number, which would tell a client
 *   about the file system (and change when a file is restored from a copy).
 * static_range_parse(v, size, first, last): one Range value against a file of size
 *   bytes: RANGE_OK with [*first, *last], RANGE_416 (unsatisfiable), or RANGE_IGNORE
 *   (serve the whole file: another unit, several ranges, a syntax error).
 */
#ifndef LAB11_VALIDATORS_H
#define LAB11_VALIDATORS_H

#include <sys/stat.h>
#include <time.h>

#include "http_parse.h"

enum range_res { RANGE_IGNORE, RANGE_OK, RANGE_416 };

int static_none_match(const struct http_request *req, const char *etag);
int static_if_range_ok(const struct http_request *req, const char *etag, time_t lm);
void static_etag(char tag[64], const struct stat *sb);
enum range_res static_range_parse(struct http_str v, long long size, long long *first, long long *last);

#endif
