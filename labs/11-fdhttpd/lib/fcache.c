/* fcache.c — the worker's open-file cache (see fcache.h for the contract).
 *
 * Layout: a chained hash table (FNV-1a of the key, power-of-two buckets, sized for
 * `max` entries once) plus an LRU list, most recently used first. Nothing is shared
 * between processes: each worker builds its own after fork.
 */
#include "fcache.h"
#include "reply.h"
#include "validators.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fcache {
    struct fc_entry **tab;
    size_t mask; /* buckets - 1 */
    size_t n, max;
    struct fc_entry *head, *tail; /* LRU: head = most recent */
    uint64_t now_ms;
    struct fcache_stats st;
};

static uint32_t fnv1a(const char *k, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    return h;
}

struct fcache *fcache_new(size_t max)
{
    if (max == 0) {
        errno = EINVAL;
        return NULL;
    }
    struct fcache *fc = calloc(1, sizeof *fc);
    if (fc == NULL)
        return NULL;
    size_t b = 16;
    while (b < max)
        b *= 2;
    if ((fc->tab = calloc(b, sizeof *fc->tab)) == NULL) {
        free(fc);
        return NULL;
    }
    fc->mask = b - 1;
    fc->max = max;
    return fc;
}

static void entry_free(struct fc_entry *e)
{
    if (e->fd >= 0)
        close(e->fd); /* read-only file: nothing can be lost */
    free((void *)e->data);
    free(e);
}

void fcache_unref(struct fc_entry *e)
{
    if (e != NULL && --e->refs == 0)
        entry_free(e);
}

void fcache_unpin(void *e)
{
    fcache_unref(e);
}

/* Takes e out of the table and the LRU list; drops the table's reference. */
static void unlink_entry(struct fcache *fc, struct fc_entry *e)
{
    struct fc_entry **pp = &fc->tab[e->hash & fc->mask];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->prev)
        e->prev->next = e->next;
    else
        fc->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        fc->tail = e->prev;
    e->in_table = 0;
    fc->n--;
    fcache_unref(e);
}

void fcache_free(struct fcache *fc)
{
    if (fc == NULL)
        return;
    while (fc->head)
        unlink_entry(fc, fc->head);
    free(fc->tab);
    free(fc);
}

void fcache_tick(struct fcache *fc, uint64_t now_ms)
{
    fc->now_ms = now_ms;
}

static struct fc_entry *lookup(struct fcache *fc, const char *key, size_t keylen, uint32_t h)
{
    for (struct fc_entry *e = fc->tab[h & fc->mask]; e; e = e->hnext)
        if (e->hash == h && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
            return e;
    return NULL;
}

static void to_front(struct fcache *fc, struct fc_entry *e)
{
    if (fc->head == e)
        return;
    e->prev->next = e->next; /* e is not the head, so it has a prev */
    if (e->next)
        e->next->prev = e->prev;
    else
        fc->tail = e->prev;
    e->prev = NULL;
    e->next = fc->head;
    fc->head->prev = e;
    fc->head = e;
}

struct fc_entry *fcache_find(struct fcache *fc, const char *key, size_t keylen)
{
    struct fc_entry *e = lookup(fc, key, keylen, fnv1a(key, keylen));
    if (e == NULL || fc->now_ms - e->checked_ms >= FC_VALID_MS) {
        fc->st.misses++;
        return NULL;
    }
    fc->st.hits++;
    to_front(fc, e);
    e->refs++;
    return e;
}

void fcache_forget(struct fcache *fc, const char *key, size_t keylen)
{
    struct fc_entry *e = lookup(fc, key, keylen, fnv1a(key, keylen));
    if (e != NULL)
        unlink_entry(fc, e);
}

/* Reads the whole small file into a new buffer; NULL when it cannot be read exactly. */
static char *slurp(int fd, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (p == NULL)
        return NULL;
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, p + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* error, or the file shrank since fstat */
            free(p);
            return NULL;
        }
        got += (size_t)n;
    }
    return p;
}

/* A new entry for the regular file fd (TAKEN: kept for a big file, closed after
 * reading a small one), not yet in the table. NULL (fd closed) on ENOMEM or a failed
 * read. */
static struct fc_entry *entry_new(struct fcache *fc, const char *key, size_t keylen, uint32_t h, int fd,
                                  const struct stat *sb, const char *ctype)
{
    struct fc_entry *e = calloc(1, sizeof *e + keylen);
    if (e == NULL) {
        close(fd);
        return NULL;
    }
    e->fd = fd;
    if (sb->st_size <= FC_SMALL_MAX) {
        char *p = slurp(fd, (size_t)sb->st_size);
        close(fd);
        e->fd = -1;
        if (p == NULL) {
            free(e);
            return NULL;
        }
        e->data = p;
    }
    e->size = sb->st_size;
    e->mtime_s = sb->st_mtim.tv_sec;
    e->mtim = sb->st_mtim;
    e->dev = sb->st_dev;
    e->ino = sb->st_ino;
    e->ctype = ctype;
    static_etag(e->etag, sb);
    http_date_format(e->mtime_s, e->lmdate);
    e->fc = fc;
    e->hash = h;
    e->keylen = keylen;
    memcpy(e->key, key, keylen);
    e->checked_ms = fc->now_ms;
    return e;
}

/* Puts e in its bucket and at the front of the LRU list, dropping the least recently
 * used entry first when the table is full. */
static void insert(struct fcache *fc, struct fc_entry *e)
{
    if (fc->n >= fc->max) {
        fc->st.evicted++;
        unlink_entry(fc, fc->tail);
    }
    e->hnext = fc->tab[e->hash & fc->mask];
    fc->tab[e->hash & fc->mask] = e;
    e->next = fc->head;
    if (fc->head)
        fc->head->prev = e;
    fc->head = e;
    if (fc->tail == NULL)
        fc->tail = e;
    e->in_table = 1;
    fc->n++;
}

struct fc_entry *fcache_store(struct fcache *fc, const char *key, size_t keylen, int fd, const struct stat *sb,
                              const char *ctype)
{
    uint32_t h = fnv1a(key, keylen);
    struct fc_entry *old = lookup(fc, key, keylen, h);
    if (old != NULL) {
        if (old->dev == sb->st_dev && old->ino == sb->st_ino && old->size == sb->st_size &&
            old->mtim.tv_sec == sb->st_mtim.tv_sec && old->mtim.tv_nsec == sb->st_mtim.tv_nsec) {
            close(fd); /* the same file: keep what we have, trust it for another period */
            old->checked_ms = fc->now_ms;
            old->ctype = ctype;
            fc->st.revalidated++;
            to_front(fc, old);
            old->refs++;
            return old;
        }
        fc->st.replaced++;
        unlink_entry(fc, old); /* in-flight replies keep it alive until they are done */
    }
    struct fc_entry *e = entry_new(fc, key, keylen, h, fd, sb, ctype);
    if (e == NULL)
        return NULL;
    insert(fc, e);
    e->refs = 2; /* the table's and the caller's */
    return e;
}

void fcache_get_stats(const struct fcache *fc, struct fcache_stats *st)
{
    *st = fc->st;
    st->entries = (long)fc->n;
}
