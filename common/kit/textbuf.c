/* textbuf.c — see textbuf.h. */
#include "textbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

enum { TEXTBUF_MIN_FREE = 1024, TEXTBUF_FIRST = 8192 };

ssize_t textbuf_read(struct textbuf *b, int fd)
{
    if (b->cap - b->len < TEXTBUF_MIN_FREE) {
        size_t ncap = b->cap ? 2 * b->cap : TEXTBUF_FIRST;
        char *np = realloc(b->p, ncap);
        if (!np) {
            errno = ENOMEM;
            return -1;
        }
        b->p = np;
        b->cap = ncap;
    }
    ssize_t n;
    do
        n = read(fd, b->p + b->len, b->cap - b->len - 1);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        b->len += (size_t)n;
    b->p[b->len] = '\0';
    return n;
}

void textbuf_free(struct textbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
