/* fcache.h — a worker's open-file cache (nginx's open_file_cache idea, not its code).
 *
 * Serving a file costs openat2 + fstat + close per request without a cache; with it, a
 * path that was served less than FC_VALID_MS ago costs no system call at all. One cache
 * per worker process (no sharing, no locks), created after fork, freed on worker exit.
 *
 *   fc = fcache_new(FC_MAX_ENTRIES);
 *   fcache_tick(fc, evloop_now_ms(el));           once per loop iteration
 *   e = fcache_find(fc, key, keylen);             fresh entry (a reference) or NULL
 *   e = fcache_store(fc, key, keylen, fd, &sb, ctype, now);  after a (re)open; takes fd
 *   ... send from e->data or e->fd ...
 *   fcache_unref(e);                              once the response is out
 *   fcache_free(fc);                              every reference dropped first
 *
 * KEY. Any byte string (static.c uses the normalised path, with a trailing '/' when the
 * request named a directory, so "/d/" and "/d" never share an entry). The entry holds
 * the FINAL regular file (a directory's index.html).
 *
 * FRESHNESS (the contract the tests check). An entry is trusted for FC_VALID_MS after it
 * was opened or last revalidated, measured on the clock given to fcache_tick
 * (monotonic ms). After that fcache_find returns NULL: the caller opens the path again
 * (so every check of static.h — RESOLVE_BENEATH, symlinks, permissions — runs again)
 * and hands the result to fcache_store, which keeps the old entry when the file is the
 * same (device, inode, size, mtime in ns all equal: the new fd is closed) and replaces it
 * otherwise. Consequences, each bounded by FC_VALID_MS (the worker ticks the clock at
 * every event it serves, fdh_conn_clock, so an idle wait does not stretch it):
 *  - a file replaced on disk (rename over it, or rewritten so that size or mtime
 *    changes) is served with its new bytes and new ETag;
 *  - a file removed (or made unreadable) answers 404 (403) — the caller does not store
 *    failures, and fcache_forget drops the stale entry;
 *  - a file rewritten IN PLACE keeping inode, size and mtime (only possible by setting
 *    mtime back) is not noticed at all — the ETag would not change either.
 *  Within the window a cached small file is served from memory (the old bytes); a big
 *  one from the cached descriptor (the file's current bytes, under the cached length).
 *
 * SMALL FILES (size <= FC_SMALL_MAX) are read into memory by fcache_store and their
 * descriptor is closed: the response then leaves with its head in ONE send. Bigger
 * files keep their descriptor open (O_RDONLY; sendfile with an explicit offset never
 * moves a shared file position, so one descriptor serves every connection at once).
 *
 * BOUNDS. At most `max` entries; the least recently used is dropped to make room. So a
 * worker holds at most `max` cached descriptors (big files only), plus those still being
 * sent from dropped entries.
 *
 * REFERENCES. An entry lives while the table holds it OR a reply uses it: find/store
 * return it with one more reference; fcache_unref drops one. A dropped or replaced
 * entry is freed (its descriptor closed, its bytes freed) with the last reference, so
 * a 10 MiB sendfile in progress survives a revalidation that replaced its entry.
 */
#ifndef LAB11_FCACHE_H
#define LAB11_FCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define FC_VALID_MS 1000    /* an entry is trusted this long, then revalidated */
#define FC_SMALL_MAX 16384  /* files up to this size are kept in memory */
#define FC_MAX_ENTRIES 1024 /* default bound (entries per worker) */

struct fcache;

struct fc_entry {
    /* read-only for users */
    int fd;             /* open O_RDONLY descriptor (big files); -1 when data holds the bytes */
    const char *data;   /* the whole file (size <= FC_SMALL_MAX); NULL for big files */
    off_t size;
    time_t mtime_s;     /* st_mtim.tv_sec */
    const char *ctype;  /* Content-Type (static string from mime.h), as given to store */
    char etag[64];      /* quoted strong ETag (static.h's format) */
    char lmdate[32];    /* IMF-fixdate of mtime_s (reply.h http_date_format) */
    /* the user's (static.c: the head of a 200, kept to be copied with a new Date):
     * memo_len bytes (0 after fcache_store: none yet) and what it was made with */
    char memo[384];
    size_t memo_len;
    int memo_conn;
    const char *memo_ctype, *memo_extra;
    /* private to fcache.c */
    struct fc_entry *hnext, *prev, *next;
    struct fcache *fc;
    int refs, in_table;
    uint64_t checked_ms;
    dev_t dev;
    ino_t ino;
    struct timespec mtim;
    uint32_t hash;
    size_t keylen;
    char key[];
};

/* An empty cache bounded to max >= 1 entries. NULL with errno (EINVAL, ENOMEM). */
struct fcache *fcache_new(size_t max);
/* Closes and frees every entry the table holds; entries still referenced are freed by
 * their last fcache_unref (do that before, or never: a worker frees after closing every
 * connection). NULL accepted. */
void fcache_free(struct fcache *fc);
/* The cache's clock: monotonic milliseconds, from the event loop, once per iteration. */
void fcache_tick(struct fcache *fc, uint64_t now_ms);
/* A fresh entry for key (one more reference), or NULL: absent or older than
 * FC_VALID_MS (then the caller reopens and calls fcache_store or fcache_forget). */
struct fc_entry *fcache_find(struct fcache *fc, const char *key, size_t keylen);
/* Stores the regular file just opened for key: fd (TAKEN: kept or closed, in every
 * case), *sb its fstat. Returns the entry with one more reference, or NULL (ENOMEM, or
 * a read error / short read of a small file — the file is changing under us) after
 * closing fd; then the caller serves without the cache. */
struct fc_entry *fcache_store(struct fcache *fc, const char *key, size_t keylen, int fd, const struct stat *sb,
                              const char *ctype);
/* Drops key's entry when there is one (its file is gone or no longer allowed). */
void fcache_forget(struct fcache *fc, const char *key, size_t keylen);
/* Drops one reference (e may be NULL). */
void fcache_unref(struct fc_entry *e);
/* fcache_unref with a void * (reply.h's unpin hook). */
void fcache_unpin(void *e);

struct fcache_stats {
    long hits, misses, revalidated, replaced, evicted, entries;
};
void fcache_get_stats(const struct fcache *fc, struct fcache_stats *st);

#endif
