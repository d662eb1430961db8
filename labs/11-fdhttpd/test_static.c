/* Tests for lib/static.h, lib/reply.h, lib/mime.h — the response layer of fdhttpd.
 *
 * Each test builds a fresh docroot in a mkdtemp directory (Criterion runs every test in
 * its own process), parses REAL request bytes with http_parse_request — placed so that
 * they end exactly at a PROT_NONE page, so reading one byte past a view's length kills
 * the test — and asserts on the reply: status, head fields, file range, and that the
 * descriptor count is unchanged once the reply is released (no fd leaks).
 *
 *   T/            mkdtemp
 *     root/       the docroot
 *       index.html hello.txt data.bin (100 bytes 0..99) empty.txt style.css
 *       dir/index.html   noindex/a.txt   a/b.txt   fifo   unreadable.txt (mode 0)
 *       link_in -> hello.txt            (inside → inside)
 *       link_dir -> dir                 (inside → inside, a directory)
 *       link_out -> T/outside/secret.txt (absolute, outside)
 *       link_up -> ../outside/secret.txt (relative, outside)
 *     outside/secret.txt   x   etc/passwd   (what an escape would reach)
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdcount.h"
#include "http_parse.h"
#include "lib/fcache.h"
#include "lib/mime.h"
#include "lib/reply.h"
#include "lib/static.h"
#include "tests/srvtest.h"

#define TMO 120 /* one timeout for every test: Criterion 2.4 (labs/01-naive/test_naive.c) */
#define S_(lit) lit, sizeof(lit) - 1 /* a literal and its length */

static char tmpdir[64];
static char rootdir[128];

/* ---------------------------------------------------------------- the docroot */

static void put_file(const char *rel, const void *data, size_t n)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0, "create %s", p);
    cr_assert_eq(write(fd, data, n), (ssize_t)n);
    cr_assert_eq(close(fd), 0);
}

static void put_dir(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s", p);
}

static void put_link(const char *target, const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    cr_assert_eq(symlink(target, p), 0, "symlink %s", p);
}

static const char HELLO[] = "hello, world\n";
static const char INDEX_HTML[] = "<h1>home</h1>\n";

static void make_root(void)
{
    strcpy(tmpdir, "/tmp/fdhttpd-static-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(rootdir, sizeof rootdir, "%s/root", tmpdir);
    put_dir("root");
    put_dir("outside");
    put_dir("etc");
    put_file("outside/secret.txt", "secret\n", 7);
    put_file("x", "x\n", 2);
    put_file("etc/passwd", "root:x:0:0\n", 11);
    put_file("root/index.html", INDEX_HTML, sizeof INDEX_HTML - 1);
    put_file("root/hello.txt", HELLO, sizeof HELLO - 1);
    unsigned char data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (unsigned char)i;
    put_file("root/data.bin", data, sizeof data);
    put_file("root/empty.txt", "", 0);
    put_file("root/style.css", "h1{color:red}\n", 14);
    put_dir("root/dir");
    put_file("root/dir/index.html", "<p>dir</p>\n", 11);
    put_dir("root/noindex");
    put_file("root/noindex/a.txt", "a\n", 2);
    put_dir("root/a");
    put_file("root/a/b.txt", "b\n", 2);
    put_link("hello.txt", "root/link_in");
    put_link("dir", "root/link_dir");
    char abs[256];
    snprintf(abs, sizeof abs, "%s/outside/secret.txt", tmpdir);
    put_link(abs, "root/link_out");
    put_link("../outside/secret.txt", "root/link_up");
    char p[256];
    snprintf(p, sizeof p, "%s/root/fifo", tmpdir);
    cr_assert_eq(mkfifo(p, 0644), 0);
    put_file("root/unreadable.txt", "no\n", 3);
    snprintf(p, sizeof p, "%s/root/unreadable.txt", tmpdir);
    cr_assert_eq(chmod(p, 0), 0);
}

static struct site site;

static void setup_nofollow(void)
{
    make_root();
    cr_assert_eq(site_open(&site, rootdir, 0), 0);
}

static void setup_follow(void)
{
    make_root();
    cr_assert_eq(site_open(&site, rootdir, 1), 0);
}

static void teardown(void)
{
    site_close(&site);
    rm_tree(tmpdir);
    tmpdir[0] = '\0';
}

/* ---------------------------------------------------------------- requests */

#define NHDR 32
static const struct http_limits LIM = {.max_line = 16384, .max_head = 32768, .max_headers = NHDR};

struct ask {
    struct reply r;
    char *map; /* the guard mapping holding the request bytes */
    size_t maplen;
};

/* Parses raw (must be one complete, valid request head) against a guard page and
 * answers it. Asserts the fd count is unchanged by static_handle + reply_release.
 * The reply is left in a->r with file_fd still open (reply_release in done()). */
static int ask(struct ask *a, const char *raw, time_t now)
{
    size_t n = strlen(raw), page = (size_t)sysconf(_SC_PAGESIZE);
    size_t usable = (n / page + 1) * page;
    a->maplen = usable + page;
    a->map = mmap(NULL, a->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(a->map, MAP_FAILED);
    cr_assert_eq(mprotect(a->map + usable, page, PROT_NONE), 0);
    char *buf = a->map + usable - n;
    memcpy(buf, raw, n);
    struct http_header h[NHDR];
    struct http_request req;
    ssize_t got = http_parse_request(buf, n, 0, &LIM, h, &req);
    cr_assert_eq(got, (ssize_t)n, "request did not parse: %zd (%s): %s", got, req.reason ? req.reason : "", raw);
    int before = fd_count();
    int st = static_handle(&site, &req, now, "X-Worker: 3\r\n", &a->r);
    cr_assert_eq(st, a->r.status);
    cr_assert_eq(fd_count(), before + (a->r.file_fd >= 0 ? 1 : 0), "fds: %s", raw);
    cr_assert_eq(a->r.head_len >= 4 && memcmp(a->r.head + a->r.head_len - 4, "\r\n\r\n", 4) == 0, 1);
    if (a->r.file_fd >= 0) {
        cr_assert_null(a->r.body);
        cr_assert_gt(a->r.file_len, 0);
    }
    return st;
}

static void done(struct ask *a)
{
    int before = fd_count();
    int had = a->r.file_fd >= 0;
    reply_release(&a->r);
    cr_assert_eq(a->r.file_fd, -1);
    cr_assert_eq(fd_count(), before - had);
    cr_assert_eq(munmap(a->map, a->maplen), 0);
}

/* The value of head field `name` (first occurrence) into val; 1 when present. */
static int hdr(const struct reply *r, const char *name, char *val, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = memchr(r->head, '\n', r->head_len); /* skip the status line */
    const char *end = r->head + r->head_len;
    while (p != NULL && p + 1 < end) {
        p++;
        const char *e = memchr(p, '\r', (size_t)(end - p));
        if (e == NULL || e == p)
            return 0;
        if ((size_t)(e - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)(e - v);
            cr_assert_lt(vl, cap);
            memcpy(val, v, vl);
            val[vl] = '\0';
            return 1;
        }
        p = e + 1;
    }
    return 0;
}

static long hdr_long(const struct reply *r, const char *name)
{
    char v[128];
    if (!hdr(r, name, v, sizeof v))
        return -1;
    return atol(v);
}

static void assert_hdr(const struct reply *r, const char *name, const char *want)
{
    char v[512];
    cr_assert(hdr(r, name, v, sizeof v), "no %s in:\n%.*s", name, (int)r->head_len, r->head);
    cr_assert_str_eq(v, want, "%s", name);
}

static void read_file_range(const struct reply *r, char *out)
{
    cr_assert_eq(pread(r->file_fd, out, (size_t)r->file_len, r->file_off), (ssize_t)r->file_len);
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: h\r\n\r\n"

/* One request whose expected status is st; the reply is released. */
static void expect(const char *raw, int st)
{
    struct ask a;
    int got = ask(&a, raw, time(NULL));
    cr_expect_eq(got, st, "%d for %s (want %d)", got, raw, st);
    done(&a);
}

/* ---------------------------------------------------------------- plain GET */

TestSuite(static_files, .init = setup_nofollow, .fini = teardown, .timeout = TMO);

Test(static_files, get_file, .timeout = TMO)
{
    struct ask a;
    time_t now = time(NULL);
    cr_assert_eq(ask(&a, GET("/hello.txt"), now), 200);
    assert_hdr(&a.r, "Content-Type", "text/plain; charset=utf-8");
    cr_assert_eq(hdr_long(&a.r, "Content-Length"), 13);
    assert_hdr(&a.r, "X-Worker", "3");
    assert_hdr(&a.r, "Server", "fdhttpd");
    assert_hdr(&a.r, "Accept-Ranges", "bytes");
    char v[128], want[HTTP_DATE_LEN + 1];
    http_date_format(now, want);
    assert_hdr(&a.r, "Date", want);
    cr_assert(hdr(&a.r, "ETag", v, sizeof v));
    cr_assert(v[0] == '"' && v[strlen(v) - 1] == '"', "strong etag %s", v);
    cr_assert(hdr(&a.r, "Last-Modified", v, sizeof v));
    time_t lm;
    cr_assert_eq(http_date_parse(v, strlen(v), &lm), 0);
    cr_assert_leq(lm, now);
    cr_assert_not(hdr(&a.r, "Connection", v, sizeof v));
    cr_assert_eq(a.r.close, 0);
    cr_assert_geq(a.r.file_fd, 0);
    cr_assert_eq(a.r.file_off, 0);
    cr_assert_eq(a.r.file_len, 13);
    char buf[32] = {0};
    read_file_range(&a.r, buf);
    cr_assert_str_eq(buf, HELLO);
    cr_assert(strncmp(a.r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    done(&a);
}

Test(static_files, content_types, .timeout = TMO)
{
    struct ask a;
    cr_assert_eq(ask(&a, GET("/style.css"), time(NULL)), 200);
    assert_hdr(&a.r, "Content-Type", "text/css; charset=utf-8");
    done(&a);
    cr_assert_eq(ask(&a, GET("/data.bin"), time(NULL)), 200);
    assert_hdr(&a.r, "Content-Type", MIME_DEFAULT);
    cr_assert_eq(a.r.file_len, 100);
    done(&a);
}

Test(static_files, root_and_dir_index, .timeout = TMO)
{
    struct ask a;
    cr_assert_eq(ask(&a, GET("/"), time(NULL)), 200);
    assert_hdr(&a.r, "Content-Type", "text/html; charset=utf-8");
    cr_assert_eq(a.r.file_len, (off_t)strlen(INDEX_HTML));
    done(&a);
    cr_assert_eq(ask(&a, GET("/dir/"), time(NULL)), 200);
    cr_assert_eq(a.r.file_len, 11);
    done(&a);
    expect(GET("/dir/."), 200);
    expect(GET("/dir/index.html"), 200);
    expect(GET("/noindex/"), 403);  /* no listings */
    expect(GET("/noindex/a.txt"), 200);
}

Test(static_files, dir_redirects, .timeout = TMO)
{
    struct ask a;
    cr_assert_eq(ask(&a, GET("/dir"), time(NULL)), 301);
    assert_hdr(&a.r, "Location", "/dir/");
    cr_assert_not_null(a.r.body);
    cr_assert_eq(hdr_long(&a.r, "Content-Length"), (long)a.r.body_len);
    done(&a);
    cr_assert_eq(ask(&a, GET("/dir?x=1&y"), time(NULL)), 301);
    assert_hdr(&a.r, "Location", "/dir/?x=1&y");
    done(&a);
    /* Re-encoded from the normalised path: never a protocol-relative "//evil" URL. */
    cr_assert_eq(ask(&a, GET("//noindex"), time(NULL)), 301);
    assert_hdr(&a.r, "Location", "/noindex/");
    done(&a);
    cr_assert_eq(ask(&a, GET("/a/../%64ir"), time(NULL)), 301);
    assert_hdr(&a.r, "Location", "/dir/");
    done(&a);
}

Test(static_files, not_found_and_errors, .timeout = TMO)
{
    struct ask a;
    cr_assert_eq(ask(&a, GET("/nope.txt"), time(NULL)), 404);
    assert_hdr(&a.r, "Content-Type", "text/html; charset=utf-8");
    cr_assert_not_null(a.r.body);
    cr_assert_eq(hdr_long(&a.r, "Content-Length"), (long)a.r.body_len);
    cr_assert_not_null(memmem(a.r.body, a.r.body_len, "404 Not Found", 13));
    cr_assert_eq(a.r.file_fd, -1);
    cr_assert_eq(a.r.close, 0, "404 keeps the connection");
    done(&a);
    expect(GET("/hello.txt/"), 404); /* a file is no directory */
    expect(GET("/hello.txt/x"), 404);
    expect(GET("/a/nope/b"), 404);
    /* too long: a segment over NAME_MAX (ENAMETOOLONG), a path over PATH_MAX */
    static char raw[12000];
    char seg[301];
    memset(seg, 'a', 300);
    seg[300] = '\0';
    snprintf(raw, sizeof raw, "GET /%s HTTP/1.1\r\nHost: h\r\n\r\n", seg);
    expect(raw, 404); /* no file has such a name: not found, the line is not too long */
    int n = snprintf(raw, sizeof raw, "GET ");
    for (int i = 0; i < 1200; i++)
        n += snprintf(raw + n, sizeof raw - (size_t)n, "/abcdefgh");
    snprintf(raw + n, sizeof raw - (size_t)n, " HTTP/1.1\r\nHost: h\r\n\r\n");
    expect(raw, 404);
}

Test(static_files, query_and_decoding, .timeout = TMO)
{
    expect(GET("/hello.txt?a=b/../../etc/passwd"), 200);
    expect(GET("/hel%6Co.txt"), 200);
    expect(GET("/HELLO.TXT"), 404);
    expect(GET("/%zz"), 400);
    expect(GET("/hello.txt%"), 400);
    expect(GET("/hello.txt%4"), 400);
    expect(GET("/a%00b"), 400);
    expect(GET("/a%2Fb.txt"), 400);
    expect(GET("/a%2fb.txt"), 400);
    expect(GET("/a%0Ab"), 400);
    expect(GET("/a%7Fb"), 400);
    expect(GET("/a/b.txt"), 200);
    expect(GET("/a/./b.txt"), 200);
    expect(GET("/a//b.txt"), 200);
    expect(GET("/a/../hello.txt"), 200);
    expect(GET("/a/b.txt/../../hello.txt"), 200);
}

/* Every escape attempt: refused, no descriptor opened (ask() checks the fd count),
 * nothing from outside the root returned. */
Test(static_files, traversal, .timeout = TMO)
{
    static const struct {
        const char *raw;
        int st;
    } cases[] = {
        {GET("/../etc/passwd"), 400},
        {GET("/../x"), 400},
        {GET("/a/../../x"), 400},
        {GET("/a/b.txt/../../../x"), 400},
        {GET("/%2e%2e/x"), 400},
        {GET("/%2E%2E/etc/passwd"), 400},
        {GET("/%2e%2e%2fx"), 400},
        {GET("/..%2f..%2fetc"), 400},
        {GET("/..%2F..%2Fetc%2Fpasswd"), 400},
        {GET("//etc/passwd"), 404}, /* "etc/passwd" INSIDE the root: absent */
        {GET("///../x"), 400},
        {GET("/.%2e/"), 400},
        {GET("/.%2e/x"), 400},
        {GET("/%2e./x"), 400},
        {GET("/%00"), 400},
        {GET("/hello.txt%00.png"), 400},
        {GET("/..\\..\\etc\\passwd"), 400},
        {GET("/a%5c..%5c..%5cx"), 400},
        {GET("/a\\b.txt"), 400},
        {"GET http://h/../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET http://h/a/../../x HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET http://h/%2e%2e/x HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET http://h//etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", 404},
        {GET("/link_out"), 403},
        {GET("/link_up"), 403},
        {GET("/#frag"), 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ask a;
        int st = ask(&a, cases[i].raw, time(NULL));
        cr_expect_eq(st, cases[i].st, "%s: %d, want %d", cases[i].raw, st, cases[i].st);
        cr_assert_eq(a.r.file_fd, -1, "%s opened a file", cases[i].raw);
        cr_assert_null(memmem(a.r.head, a.r.head_len, "secret", 6));
        done(&a);
    }
}

Test(static_files, absolute_form, .timeout = TMO)
{
    struct ask a;
    cr_assert_eq(ask(&a, "GET http://h/hello.txt?q HTTP/1.1\r\nHost: h\r\n\r\n", time(NULL)), 200);
    cr_assert_eq(a.r.file_len, 13);
    done(&a);
    cr_assert_eq(ask(&a, "GET http://h:80 HTTP/1.1\r\nHost: h\r\n\r\n", time(NULL)), 200); /* index */
    cr_assert_eq(a.r.file_len, (off_t)strlen(INDEX_HTML));
    done(&a);
    cr_assert_eq(ask(&a, "GET http://h/dir?z HTTP/1.1\r\nHost: h\r\n\r\n", time(NULL)), 301);
    assert_hdr(&a.r, "Location", "/dir/?z");
    done(&a);
}

Test(static_files, special_files, .timeout = TMO)
{
    expect(GET("/fifo"), 403); /* and it did not block: O_NONBLOCK */
    expect(GET("/link_in"), 403); /* no symlinks at all by default */
    expect(GET("/link_dir/"), 403);
    expect(GET("/link_dir/index.html"), 403);
}

Test(static_files, unreadable_file, .timeout = TMO)
{
    /* root bypasses file permissions (CAP_DAC_OVERRIDE): as root, check as "nobody"
     * (seteuid only, so the test can come back to clean up). */
    int was_root = geteuid() == 0;
    if (was_root)
        cr_assert_eq(seteuid(65534), 0, "seteuid");
    expect(GET("/unreadable.txt"), 403);
    expect(GET("/hello.txt"), 200);
    if (was_root)
        cr_assert_eq(seteuid(0), 0);
}

TestSuite(static_follow, .init = setup_follow, .fini = teardown, .timeout = TMO);

Test(static_follow, symlinks_inside_only, .timeout = TMO)
{
    struct ask a;
    cr_assert_eq(ask(&a, GET("/link_in"), time(NULL)), 200);
    cr_assert_eq(a.r.file_len, 13);
    done(&a);
    expect(GET("/link_dir/"), 200);
    expect(GET("/link_dir/index.html"), 200);
    expect(GET("/link_out"), 403); /* absolute target: RESOLVE_BENEATH says EXDEV */
    expect(GET("/link_up"), 403);  /* "../" out of the root: EXDEV as well */
    expect(GET("/fifo"), 403);
}

/* ---------------------------------------------------------------- HEAD, methods, connection */

Test(static_files, head, .timeout = TMO)
{
    struct ask a;
    cr_assert_eq(ask(&a, "HEAD /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n", time(NULL)), 200);
    cr_assert_eq(hdr_long(&a.r, "Content-Length"), 13, "HEAD announces GET's length");
    cr_assert_eq(a.r.file_fd, -1);
    cr_assert_null(a.r.body);
    cr_assert_eq(a.r.file_len, 0);
    done(&a);
    /* HEAD ignores Range (RFC 9110 §14.2) */
    cr_assert_eq(ask(&a, "HEAD /data.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=0-9\r\n\r\n", time(NULL)), 200);
    cr_assert_eq(hdr_long(&a.r, "Content-Length"), 100);
    done(&a);
    expect("HEAD /nope HTTP/1.1\r\nHost: h\r\n\r\n", 404);
}

Test(static_files, methods, .timeout = TMO)
{
    struct ask a;
    cr_assert_eq(ask(&a, "POST /hello.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", time(NULL)), 405);
    assert_hdr(&a.r, "Allow", "GET, HEAD, OPTIONS");
    cr_assert_eq(a.r.close, 0);
    done(&a);
    cr_assert_eq(ask(&a, "DELETE /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n", time(NULL)), 405);
    assert_hdr(&a.r, "Allow", "GET, HEAD, OPTIONS");
    done(&a);
    cr_assert_eq(ask(&a, "OPTIONS /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n", time(NULL)), 204);
    assert_hdr(&a.r, "Allow", "GET, HEAD, OPTIONS");
    char v[64];
    cr_assert_not(hdr(&a.r, "Content-Length", v, sizeof v), "204 has no Content-Length");
    cr_assert_null(a.r.body);
    done(&a);
    cr_assert_eq(ask(&a, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", time(NULL)), 204);
    assert_hdr(&a.r, "Allow", "GET, HEAD, OPTIONS");
    done(&a);
    expect("get /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n", 501); /* case-sensitive: an unknown method */
    expect("BREW /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n", 501);
}

Test(static_files, connection, .timeout = TMO)
{
    struct ask a;
    char v[64];
    cr_assert_eq(ask(&a, "GET /hello.txt HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", time(NULL)), 200);
    assert_hdr(&a.r, "Connection", "close");
    cr_assert_eq(a.r.close, 1);
    done(&a);
    cr_assert_eq(ask(&a, "GET /hello.txt HTTP/1.0\r\n\r\n", time(NULL)), 200);
    assert_hdr(&a.r, "Connection", "close");
    cr_assert_eq(a.r.close, 1);
    done(&a);
    cr_assert_eq(ask(&a, "GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", time(NULL)), 200);
    assert_hdr(&a.r, "Connection", "keep-alive");
    cr_assert_eq(a.r.close, 0);
    done(&a);
    cr_assert_eq(ask(&a, GET("/%zz"), time(NULL)), 400);
    assert_hdr(&a.r, "Connection", "close");
    cr_assert_eq(a.r.close, 1, "400 always closes");
    done(&a);
    cr_assert_eq(ask(&a, GET("/nope"), time(NULL)), 404);
    cr_assert_not(hdr(&a.r, "Connection", v, sizeof v));
    done(&a);
}

/* ---------------------------------------------------------------- conditionals */

/* The ETag and Last-Modified of a plain GET of path. */
static void validators(const char *path, char *etag, char *lm)
{
    char raw[256];
    struct ask a;
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path);
    cr_assert_eq(ask(&a, raw, time(NULL)), 200);
    cr_assert(hdr(&a.r, "ETag", etag, 128));
    cr_assert(hdr(&a.r, "Last-Modified", lm, 64));
    done(&a);
}

static int cond(const char *path, const char *hdrs)
{
    char raw[1024];
    struct ask a;
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: h\r\n%s\r\n", path, hdrs);
    int st = ask(&a, raw, time(NULL));
    if (st == 304) {
        char v[128];
        cr_assert(hdr(&a.r, "ETag", v, sizeof v), "304 carries the ETag");
        cr_assert(hdr(&a.r, "Last-Modified", v, sizeof v));
        cr_assert_not(hdr(&a.r, "Content-Length", v, sizeof v));
        cr_assert_eq(a.r.file_fd, -1);
        cr_assert_null(a.r.body);
    }
    done(&a);
    return st;
}

Test(static_files, if_none_match, .timeout = TMO)
{
    char etag[128], lm[64], h[512];
    validators("/hello.txt", etag, lm);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    cr_assert_eq(cond("/hello.txt", h), 304);
    snprintf(h, sizeof h, "If-None-Match: W/%s\r\n", etag);
    cr_assert_eq(cond("/hello.txt", h), 304, "weak comparison");
    snprintf(h, sizeof h, "If-None-Match: \"x\", W/\"y\" ,%s\r\n", etag);
    cr_assert_eq(cond("/hello.txt", h), 304, "a list");
    snprintf(h, sizeof h, "If-None-Match: \"x\"\r\nIf-None-Match: %s\r\n", etag);
    cr_assert_eq(cond("/hello.txt", h), 304, "several field lines");
    cr_assert_eq(cond("/hello.txt", "If-None-Match: *\r\n"), 304);
    cr_assert_eq(cond("/hello.txt", "If-None-Match: \"other\"\r\n"), 200);
    cr_assert_eq(cond("/nope", "If-None-Match: *\r\n"), 404);
    /* the validator belongs to the file: another file's ETag does not match */
    cr_assert_eq(cond("/style.css", h), 200);
    /* If-None-Match takes precedence: a matching IMS is not even looked at */
    snprintf(h, sizeof h, "If-None-Match: \"other\"\r\nIf-Modified-Since: %s\r\n", lm);
    cr_assert_eq(cond("/hello.txt", h), 200);
    /* ETag changes with the content */
    char p[256], etag2[128], lm2[64];
    snprintf(p, sizeof p, "%s/root/hello.txt", tmpdir);
    int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "!", 1), 1);
    cr_assert_eq(close(fd), 0);
    validators("/hello.txt", etag2, lm2);
    cr_assert_str_neq(etag, etag2);
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    cr_assert_eq(cond("/hello.txt", h), 200);
}

Test(static_files, if_modified_since, .timeout = TMO)
{
    char etag[128], lm[64], h[512];
    validators("/hello.txt", etag, lm);
    snprintf(h, sizeof h, "If-Modified-Since: %s\r\n", lm);
    cr_assert_eq(cond("/hello.txt", h), 304);
    cr_assert_eq(cond("/hello.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"), 200);
    cr_assert_eq(cond("/hello.txt", "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n"), 304);
    cr_assert_eq(cond("/hello.txt", "If-Modified-Since: Friday, 01-Jan-60 00:00:00 GMT\r\n"), 304, "rfc850, 2060");
    cr_assert_eq(cond("/hello.txt", "If-Modified-Since: Fri Jan  1 00:00:00 2100\r\n"), 304, "asctime");
    cr_assert_eq(cond("/hello.txt", "If-Modified-Since: tomorrow\r\n"), 200, "invalid: ignored");
    cr_assert_eq(cond("/hello.txt", "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 UTC\r\n"), 200);
    cr_assert_eq(cond("/hello.txt", "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n"
                                    "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n"),
                 200, "two field lines: ignored");
}

/* ---------------------------------------------------------------- ranges */

static int range(const char *path, const char *hdrs, long off, long len, const char *crange)
{
    char raw[1024];
    struct ask a;
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: h\r\n%s\r\n", path, hdrs);
    int st = ask(&a, raw, time(NULL));
    if (st == 206) {
        cr_assert_eq(a.r.file_off, off, "%s", hdrs);
        cr_assert_eq(a.r.file_len, len, "%s", hdrs);
        cr_assert_eq(hdr_long(&a.r, "Content-Length"), len);
        assert_hdr(&a.r, "Content-Range", crange);
        assert_hdr(&a.r, "Content-Type", MIME_DEFAULT);
        unsigned char buf[100];
        read_file_range(&a.r, (char *)buf);
        for (long i = 0; i < len; i++)
            cr_assert_eq(buf[i], off + i);
    } else if (st == 416) {
        assert_hdr(&a.r, "Content-Range", crange);
        cr_assert_eq(a.r.file_fd, -1);
        cr_assert_eq(a.r.close, 0);
    } else if (st == 200) {
        char v[64];
        cr_assert_not(hdr(&a.r, "Content-Range", v, sizeof v));
        cr_assert_eq(a.r.file_off, 0);
    }
    done(&a);
    return st;
}

Test(static_files, single_ranges, .timeout = TMO)
{
    cr_assert_eq(range("/data.bin", "Range: bytes=0-9\r\n", 0, 10, "bytes 0-9/100"), 206);
    cr_assert_eq(range("/data.bin", "Range: bytes=10-10\r\n", 10, 1, "bytes 10-10/100"), 206);
    cr_assert_eq(range("/data.bin", "Range: bytes=90-\r\n", 90, 10, "bytes 90-99/100"), 206);
    cr_assert_eq(range("/data.bin", "Range: bytes=-5\r\n", 95, 5, "bytes 95-99/100"), 206);
    cr_assert_eq(range("/data.bin", "Range: bytes=-500\r\n", 0, 100, "bytes 0-99/100"), 206);
    cr_assert_eq(range("/data.bin", "Range: bytes=50-1000\r\n", 50, 50, "bytes 50-99/100"), 206);
    cr_assert_eq(range("/data.bin", "Range: bytes=99-99999999999999999999999\r\n", 99, 1, "bytes 99-99/100"), 206);
    cr_assert_eq(range("/data.bin", "Range: BYTES=0-0\r\n", 0, 1, "bytes 0-0/100"), 206);
    cr_assert_eq(range("/data.bin", "Range: bytes=0-9,\r\n", 0, 10, "bytes 0-9/100"), 206, "empty element");
}

Test(static_files, unsatisfiable_ranges, .timeout = TMO)
{
    cr_assert_eq(range("/data.bin", "Range: bytes=100-\r\n", 0, 0, "bytes */100"), 416);
    cr_assert_eq(range("/data.bin", "Range: bytes=100-200\r\n", 0, 0, "bytes */100"), 416);
    cr_assert_eq(range("/data.bin", "Range: bytes=99999999999999999999-\r\n", 0, 0, "bytes */100"), 416);
    cr_assert_eq(range("/data.bin", "Range: bytes=-0\r\n", 0, 0, "bytes */100"), 416);
    cr_assert_eq(range("/empty.txt", "Range: bytes=0-\r\n", 0, 0, "bytes */0"), 416);
    cr_assert_eq(range("/empty.txt", "Range: bytes=-1\r\n", 0, 0, "bytes */0"), 416);
}

Test(static_files, ignored_ranges, .timeout = TMO)
{
    cr_assert_eq(range("/data.bin", "Range: bytes=0-1,5-6\r\n", 0, 0, NULL), 200, "several ranges: whole file");
    cr_assert_eq(range("/data.bin", "Range: bytes=5-2\r\n", 0, 0, NULL), 200, "last < first: invalid");
    cr_assert_eq(range("/data.bin", "Range: items=0-1\r\n", 0, 0, NULL), 200);
    cr_assert_eq(range("/data.bin", "Range: bytes=-\r\n", 0, 0, NULL), 200);
    cr_assert_eq(range("/data.bin", "Range: bytes=a-b\r\n", 0, 0, NULL), 200);
    cr_assert_eq(range("/data.bin", "Range: bytes=0-1\r\nRange: bytes=2-3\r\n", 0, 0, NULL), 200);
    struct ask a;
    cr_assert_eq(ask(&a, GET("/empty.txt"), time(NULL)), 200);
    cr_assert_eq(hdr_long(&a.r, "Content-Length"), 0);
    cr_assert_eq(a.r.file_fd, -1, "nothing to send");
    done(&a);
}

Test(static_files, if_range, .timeout = TMO)
{
    char etag[128], lm[64], h[512];
    validators("/data.bin", etag, lm);
    snprintf(h, sizeof h, "Range: bytes=0-9\r\nIf-Range: %s\r\n", etag);
    cr_assert_eq(range("/data.bin", h, 0, 10, "bytes 0-9/100"), 206);
    snprintf(h, sizeof h, "Range: bytes=0-9\r\nIf-Range: W/%s\r\n", etag);
    cr_assert_eq(range("/data.bin", h, 0, 0, NULL), 200, "weak tags never match strongly");
    cr_assert_eq(range("/data.bin", "Range: bytes=0-9\r\nIf-Range: \"other\"\r\n", 0, 0, NULL), 200);
    snprintf(h, sizeof h, "Range: bytes=0-9\r\nIf-Range: %s\r\n", lm);
    cr_assert_eq(range("/data.bin", h, 0, 10, "bytes 0-9/100"), 206);
    cr_assert_eq(range("/data.bin", "Range: bytes=0-9\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n", 0, 0, NULL),
                 200);
    cr_assert_eq(range("/data.bin", "Range: bytes=0-9\r\nIf-Range: junk\r\n", 0, 0, NULL), 200);
    /* a 304 wins over a range */
    snprintf(h, sizeof h, "Range: bytes=0-9\r\nIf-None-Match: %s\r\n", etag);
    cr_assert_eq(range("/data.bin", h, 0, 0, NULL), 304);
}

/* ---------------------------------------------------------------- the bundled demo site */

/* labs/11-fdhttpd/site, found next to this source file (tests run from the repository
 * root, where __FILE__ is relative to). */
static void setup_demo(void)
{
    char p[256];
    const char *slash = strrchr(__FILE__, '/');
    int n = slash ? (int)(slash - __FILE__) : 1;
    snprintf(p, sizeof p, "%.*s/site", n, slash ? __FILE__ : ".");
    cr_assert_eq(site_open(&site, p, 0), 0, "open %s (run the tests from the repository root)", p);
}

static void teardown_demo(void)
{
    site_close(&site);
}

TestSuite(demo_site, .init = setup_demo, .fini = teardown_demo, .timeout = TMO);

Test(demo_site, serves_every_page, .timeout = TMO)
{
    static const struct {
        const char *path;
        int st;
        const char *ctype;
    } pages[] = {
        {"/", 200, "text/html; charset=utf-8"},
        {"/index.html", 200, "text/html; charset=utf-8"},
        {"/style.css", 200, "text/css; charset=utf-8"},
        {"/logo.svg", 200, "image/svg+xml"},
        {"/hello.txt", 200, "text/plain; charset=utf-8"},
        {"/docs/", 200, "text/html; charset=utf-8"},
        {"/docs", 301, "text/html; charset=utf-8"},
    };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        char raw[256];
        struct ask a;
        snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", pages[i].path);
        cr_assert_eq(ask(&a, raw, time(NULL)), pages[i].st, "%s", pages[i].path);
        assert_hdr(&a.r, "Content-Type", pages[i].ctype);
        done(&a);
    }
    struct ask a;
    cr_assert_eq(ask(&a, "GET /hello.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=19-28\r\n\r\n", time(NULL)), 206);
    char buf[16] = {0};
    read_file_range(&a.r, buf);
    cr_assert_str_eq(buf, "0123456789", "the range the demo page advertises");
    done(&a);
}

/* ---------------------------------------------------------------- reply.h and mime.h alone */

Test(reply, status_texts, .timeout = TMO)
{
    static const int codes[] = {200, 204, 206, 301, 304, 400, 403, 404, 405, 408,
                                411, 413, 414, 416, 431, 500, 501, 503, 505};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        cr_assert_str_neq(reply_status_text(codes[i]), "Unknown", "%d", codes[i]);
        struct reply r;
        char line[64];
        reply_error(&r, codes[i], REPLY_KEEP, NULL, 0);
        snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", codes[i], reply_status_text(codes[i]));
        cr_assert(strncmp(r.head, line, strlen(line)) == 0, "%s", line);
        cr_assert_eq(r.file_fd, -1);
        if (codes[i] == 204 || codes[i] == 304)
            cr_assert_null(r.body);
        else
            cr_assert_eq(hdr_long(&r, "Content-Length"), (long)r.body_len);
    }
    cr_assert_str_eq(reply_status_text(299), "Unknown");
    cr_assert_str_eq(reply_status_text(404), "Not Found");
    cr_assert_str_eq(reply_status_text(431), "Request Header Fields Too Large");
}

Test(reply, simple_and_date, .timeout = TMO)
{
    struct reply r;
    cr_assert_eq(reply_simple(&r, 200, "text/plain", "ok\n", 3, "X-Worker: 3\r\n", REPLY_KEEP, 784111777), 200);
    static const char want[] = "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: fdhttpd\r\n"
                               "Content-Type: text/plain\r\nContent-Length: 3\r\nX-Worker: 3\r\n\r\n";
    cr_assert_eq(r.head_len, sizeof want - 1);
    cr_assert(memcmp(r.head, want, r.head_len) == 0, "%.*s", (int)r.head_len, r.head);
    cr_assert_eq(r.body_len, 3);
    cr_assert_eq(r.close, 0);
    reply_simple(&r, 200, NULL, "", 0, NULL, REPLY_CLOSE, 0);
    assert_hdr(&r, "Connection", "close");
    cr_assert_eq(r.close, 1);
    cr_assert_eq(hdr_long(&r, "Content-Length"), 0);
    reply_error(&r, 503, REPLY_KEEP_HTTP10, "Retry-After: 1\r\n", 0);
    assert_hdr(&r, "Connection", "keep-alive");
    assert_hdr(&r, "Retry-After", "1");
    cr_assert_eq(reply_conn_of(0, 1), REPLY_CLOSE);
    cr_assert_eq(reply_conn_of(1, 1), REPLY_KEEP);
    cr_assert_eq(reply_conn_of(1, 0), REPLY_KEEP_HTTP10);
    /* dates */
    time_t t;
    char d[HTTP_DATE_LEN + 1];
    http_date_format(784111777, d);
    cr_assert_str_eq(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    cr_assert_eq(http_date_parse(d, strlen(d), &t), 0);
    cr_assert_eq(t, 784111777);
    cr_assert_eq(http_date_parse(S_("Sunday, 06-Nov-94 08:49:37 GMT"), &t), 0);
    cr_assert_eq(t, 784111777);
    cr_assert_eq(http_date_parse(S_("Sun Nov  6 08:49:37 1994"), &t), 0);
    cr_assert_eq(t, 784111777);
    cr_assert_eq(http_date_parse(S_("Sun, 06 Nov 1994 08:49:37 GMT "), &t), -1);
    cr_assert_eq(http_date_parse(S_("Sun, 06 Nov 1994 08:49:37 GM"), &t), -1); /* a prefix: no over-read */
    cr_assert_eq(http_date_parse(S_("Sun, 31 Feb 1994 08:49:37 GMT"), &t), -1);
    cr_assert_eq(http_date_parse(S_("Sun, 29 Feb 1900 08:49:37 GMT"), &t), -1);
    cr_assert_eq(http_date_parse(S_("Sun, 06 Nov 1994 24:49:37 GMT"), &t), -1);
    cr_assert_eq(http_date_parse(S_("Sun, 06 Nov 1994 08:49:37 GMT") - 4, &t), -1);
    cr_assert_eq(http_date_parse("", 0, &t), -1);
}

Test(reply, oversized_head_becomes_500, .timeout = TMO)
{
    static char big[REPLY_HEAD_MAX + 16];
    memset(big, 'a', sizeof big - 1);
    memcpy(big, "X-Big: ", 7);
    struct reply r;
    cr_assert_eq(reply_simple(&r, 200, "text/plain", "ok\n", 3, big, REPLY_KEEP, 0), 500);
    cr_assert_eq(r.close, 1);
    cr_assert_null(r.body);
    cr_assert_eq(hdr_long(&r, "Content-Length"), 0);
    cr_assert(memcmp(r.head + r.head_len - 4, "\r\n\r\n", 4) == 0);
    cr_assert_null(memmem(r.head, r.head_len, "X-Big", 5), "never a truncated line");
}

#define M(s) mime_type(s, sizeof(s) - 1)

Test(mime, table, .timeout = TMO)
{
    static const char *const pairs[][2] = {
        {"a.css", "text/css; charset=utf-8"}, {"a.csv", "text/csv; charset=utf-8"},
        {"a.gif", "image/gif"}, {"a.htm", "text/html; charset=utf-8"},
        {"a.html", "text/html; charset=utf-8"}, {"a.ico", "image/x-icon"},
        {"a.jpeg", "image/jpeg"}, {"a.jpg", "image/jpeg"},
        {"a.js", "text/javascript; charset=utf-8"}, {"a.json", "application/json"},
        {"a.md", "text/markdown; charset=utf-8"}, {"a.mjs", "text/javascript; charset=utf-8"},
        {"a.mp4", "video/mp4"}, {"a.pdf", "application/pdf"}, {"a.png", "image/png"},
        {"a.svg", "image/svg+xml"}, {"a.txt", "text/plain; charset=utf-8"},
        {"a.wasm", "application/wasm"}, {"a.webp", "image/webp"}, {"a.woff", "font/woff"},
        {"a.woff2", "font/woff2"}, {"a.xml", "application/xml"},
    };
    /* every row is found: the binary search only works on a sorted table */
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        cr_assert_str_eq(mime_type(pairs[i][0], strlen(pairs[i][0])), pairs[i][1], "%s", pairs[i][0]);
    cr_assert_str_eq(M("dir/INDEX.HTML"), "text/html; charset=utf-8");
    cr_assert_str_eq(M("x.tar.gz"), MIME_DEFAULT);
    cr_assert_str_eq(M("Makefile"), MIME_DEFAULT);
    cr_assert_str_eq(M(".html"), MIME_DEFAULT);
    cr_assert_str_eq(M("a.d/file"), MIME_DEFAULT);
    cr_assert_str_eq(M("file."), MIME_DEFAULT);
    cr_assert_str_eq(M("a.verylongext"), MIME_DEFAULT);
    cr_assert_str_eq(mime_type("a.html", 4), MIME_DEFAULT, "only len bytes are read: \"a.ht\"");
    cr_assert_str_eq(mime_type("", 0), MIME_DEFAULT);
}

/* ---------------------------------------------------------------- the open-file cache */

/* One GET through static_handle_cached with the cache's clock at now_ms. The reply is
 * left in *r (pinned when cached: release it). */
static int ask_cached(struct fcache *fc, uint64_t now_ms, const char *raw, struct reply *r)
{
    struct http_header h[NHDR];
    struct http_request req;
    ssize_t got = http_parse_request(raw, strlen(raw), 0, &LIM, h, &req);
    cr_assert_eq(got, (ssize_t)strlen(raw));
    fcache_tick(fc, now_ms);
    return static_handle_cached(&site, fc, &req, time(NULL), NULL, NULL, r);
}

/* The body of a 200 as a string (memory or file). */
static void body_of(const struct reply *r, char *out, size_t cap)
{
    cr_assert_lt((size_t)(r->body ? r->body_len : (size_t)r->file_len), cap);
    if (r->body) {
        memcpy(out, r->body, r->body_len);
        out[r->body_len] = '\0';
    } else {
        read_file_range(r, out);
        out[r->file_len] = '\0';
    }
}

static void replace_file(const char *rel, const char *text)
{
    char tmp[64], p[256], q[256];
    snprintf(tmp, sizeof tmp, "%s.new", rel);
    put_file(tmp, text, strlen(text));
    snprintf(p, sizeof p, "%s/%s", tmpdir, tmp);
    snprintf(q, sizeof q, "%s/%s", tmpdir, rel);
    cr_assert_eq(rename(p, q), 0); /* a new inode under the old name */
}

TestSuite(fcache, .init = setup_nofollow, .fini = teardown, .timeout = TMO);

Test(fcache, small_file_from_memory_revalidated_replaced_removed, .timeout = TMO)
{
    struct fcache *fc = fcache_new(4);
    cr_assert_not_null(fc);
    struct reply r;
    char body[64], etag1[96], etag2[96];
    int fds = fd_count();
    cr_assert_eq(ask_cached(fc, 1000, GET("/hello.txt"), &r), 200);
    cr_assert_not_null(r.body, "a small file is served from memory");
    cr_assert_eq(r.file_fd, -1);
    cr_assert_not_null(r.pin);
    cr_assert_eq(fd_count(), fds, "a small file keeps no descriptor");
    body_of(&r, body, sizeof body);
    cr_assert_str_eq(body, HELLO);
    cr_assert(hdr(&r, "ETag", etag1, sizeof etag1));
    reply_release(&r);
    cr_assert_null(r.pin);

    /* Within FC_VALID_MS: a hit, even after the file changed (the documented window). */
    replace_file("root/hello.txt", "changed!\n");
    struct fcache_stats st0, st1;
    fcache_get_stats(fc, &st0);
    cr_assert_eq(ask_cached(fc, 1000 + FC_VALID_MS - 1, GET("/hello.txt"), &r), 200);
    fcache_get_stats(fc, &st1);
    cr_assert_eq(st1.hits, st0.hits + 1);
    body_of(&r, body, sizeof body);
    cr_assert_str_eq(body, HELLO);
    reply_release(&r);

    /* At the bound: reopened, and the new file (new inode) replaces the entry. */
    cr_assert_eq(ask_cached(fc, 1000 + FC_VALID_MS, GET("/hello.txt"), &r), 200);
    body_of(&r, body, sizeof body);
    cr_assert_str_eq(body, "changed!\n");
    cr_assert(hdr(&r, "ETag", etag2, sizeof etag2));
    cr_assert_str_neq(etag1, etag2, "a replaced file has a new ETag");
    reply_release(&r);
    fcache_get_stats(fc, &st1);
    cr_assert_eq(st1.replaced, st0.replaced + 1);

    /* Unchanged at the next bound: revalidated, kept. */
    cr_assert_eq(ask_cached(fc, 1000 + 2 * FC_VALID_MS, GET("/hello.txt"), &r), 200);
    reply_release(&r);
    fcache_get_stats(fc, &st0);
    cr_assert_eq(st0.revalidated, st1.revalidated + 1);

    /* Removed: 404 after the bound, and the entry is gone. */
    char p[256];
    snprintf(p, sizeof p, "%s/root/hello.txt", tmpdir);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(ask_cached(fc, 1000 + 3 * FC_VALID_MS, GET("/hello.txt"), &r), 404);
    reply_release(&r);
    fcache_get_stats(fc, &st1);
    cr_assert_eq(st1.entries, st0.entries - 1);
    fcache_free(fc);
    cr_assert_eq(fd_count(), fds);
}

/* A cache hit copies the 200 head kept in the entry and stamps the Date: it must be the
 * head an uncached answer builds for the same request, Date, Connection line and
 * extra — also when the Connection line changes between hits. */
static void head_of(struct fcache *fc, const char *raw, const char *date, struct reply *r)
{
    struct http_header h[NHDR];
    struct http_request req;
    cr_assert_eq(http_parse_request(raw, strlen(raw), 0, &LIM, h, &req), (ssize_t)strlen(raw));
    if (fc != NULL)
        fcache_tick(fc, 5000);
    cr_assert_eq(static_handle_cached(&site, fc, &req, time(NULL), date, "X-Worker: 3\r\n", r), 200);
}

Test(fcache, cached_head_is_the_head_built_fresh, .timeout = TMO)
{
    struct fcache *fc = fcache_new(4);
    cr_assert_not_null(fc);
    static const char *const dates[] = {"Sun, 06 Nov 1994 08:49:37 GMT", "Mon, 07 Nov 1994 09:50:38 GMT"};
    static const char *const reqs[] = {GET("/hello.txt"),
                                       "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                       "GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", GET("/hello.txt")};
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++)
        for (int d = 0; d < 2; d++) {
            struct reply a, b;
            head_of(NULL, reqs[i], dates[d], &a); /* built fresh, no cache */
            head_of(fc, reqs[i], dates[d], &b);   /* from the cache: the first time builds it */
            cr_assert_eq(a.head_len, b.head_len, "request %zu date %d", i, d);
            cr_assert(memcmp(a.head, b.head, a.head_len) == 0, "request %zu date %d:\n%.*s\n---\n%.*s", i, d,
                      (int)a.head_len, a.head, (int)b.head_len, b.head);
            cr_assert_eq(a.close, b.close);
            reply_release(&a);
            reply_release(&b);
        }
    fcache_free(fc);
}

Test(fcache, big_file_descriptor_pinned_across_replacement, .timeout = TMO)
{
    static char big[FC_SMALL_MAX + 100];
    memset(big, 'A', sizeof big);
    put_file("root/big.bin", big, sizeof big);
    struct fcache *fc = fcache_new(4);
    cr_assert_not_null(fc);
    int fds = fd_count();
    struct reply r1, r2;
    cr_assert_eq(ask_cached(fc, 0, GET("/big.bin"), &r1), 200);
    cr_assert_null(r1.body);
    cr_assert_geq(r1.file_fd, 0, "a big file is sent from its cached descriptor");
    cr_assert_eq(fd_count(), fds + 1);
    cr_assert_eq(ask_cached(fc, 10, GET("/big.bin"), &r2), 200);
    cr_assert_eq(r2.file_fd, r1.file_fd, "one descriptor serves both");
    cr_assert_eq(fd_count(), fds + 1);
    reply_release(&r2);
    cr_assert_eq(fd_count(), fds + 1, "the cache keeps it");

    /* Replaced while r1 is still "sending": r1's descriptor stays valid until released. */
    memset(big, 'B', sizeof big);
    put_file("root/big.new", big, sizeof big);
    char p[256], q[256];
    snprintf(p, sizeof p, "%s/root/big.new", tmpdir);
    snprintf(q, sizeof q, "%s/root/big.bin", tmpdir);
    cr_assert_eq(rename(p, q), 0);
    cr_assert_eq(ask_cached(fc, 10 + FC_VALID_MS, GET("/big.bin"), &r2), 200);
    cr_assert_neq(r2.file_fd, r1.file_fd);
    char c1, c2;
    cr_assert_eq(pread(r1.file_fd, &c1, 1, 0), 1);
    cr_assert_eq(pread(r2.file_fd, &c2, 1, 0), 1);
    cr_assert_eq(c1, 'A', "the old reply still reads the old file");
    cr_assert_eq(c2, 'B', "the new reply reads the new file");
    cr_assert_eq(fd_count(), fds + 2);
    reply_release(&r1);
    cr_assert_eq(fd_count(), fds + 1, "the replaced entry closed with its last reference");
    reply_release(&r2);
    /* A range of a cached file, and HEAD (no body, no pin left behind). */
    cr_assert_eq(ask_cached(fc, 20 + FC_VALID_MS, "GET /big.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=1-2\r\n\r\n", &r1), 206);
    cr_assert_eq(r1.file_off, 1);
    cr_assert_eq(r1.file_len, 2);
    reply_release(&r1);
    cr_assert_eq(ask_cached(fc, 20 + FC_VALID_MS, "HEAD /big.bin HTTP/1.1\r\nHost: h\r\n\r\n", &r1), 200);
    cr_assert_null(r1.pin);
    cr_assert_eq(r1.file_fd, -1);
    fcache_free(fc);
    cr_assert_eq(fd_count(), fds, "fcache_free closes what the cache held");
}

Test(fcache, bounded_lru_and_directory_index, .timeout = TMO)
{
    struct fcache *fc = fcache_new(2);
    cr_assert_not_null(fc);
    struct reply r;
    const char *paths[] = {GET("/"), GET("/dir/"), GET("/style.css"), GET("/dir/")};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(ask_cached(fc, 5, paths[i], &r), 200, "%s", paths[i]);
        reply_release(&r);
    }
    struct fcache_stats st;
    fcache_get_stats(fc, &st);
    cr_assert_eq(st.entries, 2, "never more than max entries");
    cr_assert_eq(st.evicted, 1);
    cr_assert_eq(st.hits, 1, "the last /dir/ was still cached");
    /* "/dir" (no slash) is a redirect, never the cached "/dir/" entry. */
    cr_assert_eq(ask_cached(fc, 5, GET("/dir"), &r), 301);
    reply_release(&r);
    fcache_free(fc);
}

/* Puts a symbolic link to `target` in place of root/<rel> in one step (rename over it). */
static void swap_in_link(const char *target, const char *rel)
{
    char tmp[64], p[256], q[256];
    snprintf(tmp, sizeof tmp, "%s.lnk", rel);
    put_link(target, tmp);
    snprintf(p, sizeof p, "%s/%s", tmpdir, tmp);
    snprintf(q, sizeof q, "%s/%s", tmpdir, rel);
    cr_assert_eq(rename(p, q), 0);
}

/* A cached file (and a cached directory index) replaced by a symbolic link out of the
 * root: served from the cache only within FC_VALID_MS, then the revalidation opens the
 * path again with every check of static.h, refuses it (403: RESOLVE_NO_SYMLINKS without
 * --follow-symlinks, RESOLVE_BENEATH with it) and drops the entry. The secret is never
 * read. */
static void symlink_swapped_in(void)
{
    struct fcache *fc = fcache_new(8);
    cr_assert_not_null(fc);
    int fds = fd_count();
    struct reply r;
    char body[64];
    put_file("root/swap.txt", "public\n", 7);
    put_dir("root/d2");
    put_file("root/d2/index.html", "<p>d2</p>\n", 10);
    cr_assert_eq(ask_cached(fc, 0, GET("/swap.txt"), &r), 200);
    reply_release(&r);
    cr_assert_eq(ask_cached(fc, 0, GET("/d2/"), &r), 200);
    reply_release(&r);
    swap_in_link("../outside/secret.txt", "root/swap.txt");
    swap_in_link("../../outside/secret.txt", "root/d2/index.html");
    cr_assert_eq(ask_cached(fc, FC_VALID_MS - 1, GET("/swap.txt"), &r), 200, "the documented window");
    body_of(&r, body, sizeof body);
    cr_assert_str_eq(body, "public\n");
    reply_release(&r);
    struct fcache_stats st0, st1;
    fcache_get_stats(fc, &st0);
    cr_assert_eq(ask_cached(fc, FC_VALID_MS, GET("/swap.txt"), &r), 403);
    cr_assert_null(r.pin);
    cr_assert(r.body == NULL || memmem(r.body, r.body_len, "secret", 6) == NULL);
    reply_release(&r);
    cr_assert_eq(ask_cached(fc, FC_VALID_MS, GET("/d2/"), &r), 403, "the directory index too");
    reply_release(&r);
    fcache_get_stats(fc, &st1);
    cr_assert_eq(st1.entries, st0.entries - 2, "both entries dropped");
    /* And stays refused (nothing was stored for it). */
    cr_assert_eq(ask_cached(fc, FC_VALID_MS + 1, GET("/swap.txt"), &r), 403);
    reply_release(&r);
    fcache_free(fc);
    cr_assert_eq(fd_count(), fds);
}

Test(fcache, symlink_swapped_in_refused_at_revalidation, .timeout = TMO) { symlink_swapped_in(); }
Test(static_follow, cached_then_symlink_out_refused_at_revalidation, .timeout = TMO) { symlink_swapped_in(); }

/* A 404 is never cached: the file is served as soon as it exists, within the same
 * millisecond of the cache's clock. */
Test(fcache, missing_file_served_once_present, .timeout = TMO)
{
    struct fcache *fc = fcache_new(4);
    cr_assert_not_null(fc);
    struct reply r;
    char body[64];
    cr_assert_eq(ask_cached(fc, 7, GET("/late.txt"), &r), 404);
    reply_release(&r);
    put_file("root/late.txt", "here now\n", 9);
    cr_assert_eq(ask_cached(fc, 7, GET("/late.txt"), &r), 200);
    body_of(&r, body, sizeof body);
    cr_assert_str_eq(body, "here now\n");
    reply_release(&r);
    fcache_free(fc);
}

/* 304, Range and HEAD on a cached small file (memory), and the Content-Length of a
 * replacement of another size: the framing always matches the bytes. */
Test(fcache, conditional_range_head_and_length_of_cached_entries, .timeout = TMO)
{
    struct fcache *fc = fcache_new(4);
    cr_assert_not_null(fc);
    int fds = fd_count();
    struct reply r;
    char etag[96], req[256], body[64];
    cr_assert_eq(ask_cached(fc, 0, GET("/hello.txt"), &r), 200);
    cr_assert(hdr(&r, "ETag", etag, sizeof etag));
    cr_assert_eq(hdr_long(&r, "Content-Length"), (long)sizeof HELLO - 1);
    reply_release(&r);
    snprintf(req, sizeof req, "GET /hello.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: %s\r\n\r\n", etag);
    cr_assert_eq(ask_cached(fc, 1, req, &r), 304);
    cr_assert_null(r.pin, "a 304 keeps no pin");
    cr_assert_null(r.body);
    reply_release(&r);
    cr_assert_eq(ask_cached(fc, 2, "GET /hello.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=1-3\r\n\r\n", &r), 206);
    cr_assert_eq(hdr_long(&r, "Content-Length"), 3);
    cr_assert_eq(r.body_len, 3);
    cr_assert(memcmp(r.body, "ell", 3) == 0);
    cr_assert_not_null(r.pin, "the bytes are the entry's: pinned");
    reply_release(&r);
    cr_assert_eq(ask_cached(fc, 3, "GET /hello.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=99-\r\n\r\n", &r), 416);
    cr_assert_null(r.pin);
    reply_release(&r);
    cr_assert_eq(ask_cached(fc, 4, "HEAD /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n", &r), 200);
    cr_assert_eq(hdr_long(&r, "Content-Length"), (long)sizeof HELLO - 1);
    cr_assert_null(r.body);
    cr_assert_null(r.pin);
    reply_release(&r);
    /* Replaced by a longer file: after the bound, the new length with the new bytes. */
    replace_file("root/hello.txt", "a longer hello, world\n");
    cr_assert_eq(ask_cached(fc, FC_VALID_MS + 4, GET("/hello.txt"), &r), 200);
    cr_assert_eq(hdr_long(&r, "Content-Length"), 22);
    body_of(&r, body, sizeof body);
    cr_assert_str_eq(body, "a longer hello, world\n");
    reply_release(&r);
    /* The old ETag no longer matches. */
    cr_assert_eq(ask_cached(fc, FC_VALID_MS + 5, req, &r), 200);
    reply_release(&r);
    fcache_free(fc);
    cr_assert_eq(fd_count(), fds);
}
