/* Tests for textbuf.h: text collected read by read, always NUL-terminated. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "textbuf.h"

Test(textbuf, collects_everything_until_end_of_file, .timeout = 120)
{
    /* More than the first allocation, so the buffer has to grow. */
    static char data[40000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('a' + i % 26);
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    struct textbuf b = {0};
    size_t off = 0;
    ssize_t n = 1;
    while (n > 0) {
        /* 4 KiB in, then read until the pipe is empty; at the end close for EOF. */
        if (off < sizeof data) {
            size_t chunk = sizeof data - off < 4096 ? sizeof data - off : 4096;
            cr_assert_eq(write(p[1], data + off, chunk), (ssize_t)chunk);
            off += chunk;
            if (off == sizeof data)
                close(p[1]);
        }
        n = textbuf_read(&b, p[0]);
        cr_assert_geq(n, 0, "%s", strerror(errno));
    }
    close(p[0]);
    cr_assert_eq(b.len, sizeof data);
    cr_assert_eq(memcmp(b.p, data, sizeof data), 0);
    cr_assert_eq(b.p[b.len], '\0');
    cr_assert_gt(b.cap, b.len);
    textbuf_free(&b);
    cr_assert_null(b.p);
    cr_assert_eq(b.len + b.cap, 0);
}

Test(textbuf, a_failed_read_keeps_the_text, .timeout = 120)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    struct textbuf b = {0};
    cr_assert_eq(write(p[1], "k=v\n", 4), 4);
    cr_assert_eq(textbuf_read(&b, p[0]), 4);
    errno = 0;
    cr_assert_eq(textbuf_read(&b, p[0]), -1, "nothing more to read yet");
    cr_assert_eq(errno, EAGAIN);
    cr_assert_str_eq(b.p, "k=v\n");
    close(p[1]);
    cr_assert_eq(textbuf_read(&b, p[0]), 0);
    cr_assert_str_eq(b.p, "k=v\n");
    close(p[0]);
    textbuf_free(&b);
}
