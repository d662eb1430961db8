/* textbuf.h — the text a child process prints, collected as it arrives.
 *
 * struct textbuf: p is NUL-terminated once anything was read (NULL before), len
 *   bytes long (a NUL inside the data shortens what string functions see), cap the
 *   allocation. A zeroed struct is empty; textbuf_free releases it (safe when empty).
 *
 * textbuf_read(b, fd): one read(2) of fd appended to b, growing b so that at least
 *   1 KiB is free first. Returns read's result: > 0 bytes appended, 0 at end of file,
 *   -1 with errno (EINTR retried; EAGAIN from a non-blocking fd; ENOMEM when b could
 *   not grow, nothing read). b->p stays NUL-terminated in every case once allocated.
 * textbuf_free(b): frees b->p and zeroes b.
 */
#ifndef FDLAB_TEXTBUF_H
#define FDLAB_TEXTBUF_H

#include <stddef.h>
#include <sys/types.h>

struct textbuf {
    char *p;
    size_t len, cap;
};

ssize_t textbuf_read(struct textbuf *b, int fd);
void textbuf_free(struct textbuf *b);

#endif
