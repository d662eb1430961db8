/* fdlimit.h — room for many descriptors (a load client's connections).
 *
 * fd_limit_raise(want): raises this process's soft RLIMIT_NOFILE to want when it is
 *   lower, capped at the hard limit (an unprivileged process may raise its soft limit
 *   up to the hard one, never past it); a limit already >= want is left alone.
 *   Returns the soft limit in effect afterwards (RLIM_INFINITY as LONG_MAX), which
 *   is below want when the hard limit is; -1 with errno when getrlimit or setrlimit
 *   failed (the limit is then unchanged).
 */
#ifndef FDLAB_FDLIMIT_H
#define FDLAB_FDLIMIT_H

long fd_limit_raise(long want);

#endif
