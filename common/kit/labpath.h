/* labpath.h — where the course's built programs are.
 *
 * Programs are built under one directory per variant (build/gcc, build/asan, ...);
 * `make` passes it to labs and tests as FDLAB_BUILD.
 *
 * build_path(buf, len, rel): writes "$FDLAB_BUILD/<rel>" into buf (FDLAB_BUILD unset
 *   or empty means build/gcc), e.g. rel = "labs/11-fdhttpd/fdhttpd" or
 *   "bench/loadclient". Returns buf, or NULL with errno = ENAMETOOLONG when the path
 *   does not fit in len bytes (buf then holds a truncated, NUL-terminated path).
 * self_dir(buf, len): writes the directory of this program (/proc/self/exe), where
 *   its sibling programs of the same lab live. Returns 0, or -1 with errno (readlink's,
 *   or ENAMETOOLONG when it does not fit in len bytes).
 */
#ifndef FDLAB_LABPATH_H
#define FDLAB_LABPATH_H

#include <stddef.h>

const char *build_path(char *buf, size_t len, const char *rel);
int self_dir(char *buf, size_t len);

#endif
