/* kv.c — see kv.h. */
#include "kv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_line(const char *key, const char *fmt, va_list ap)
{
    char val[512];
    vsnprintf(val, sizeof val, fmt, ap);
    /* One printf + flush: a line is never split between two writes of ours. */
    printf("%s=%s\n", key, val);
    fflush(stdout);
}

void kv_print(const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_line(key, fmt, ap);
    va_end(ap);
}

void kv_print_in(const char *prefix, const char *name, const char *fmt, ...)
{
    char key[128];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    va_list ap;
    va_start(ap, fmt);
    print_line(key, fmt, ap);
    va_end(ap);
}

char *kv_get(const char *text, const char *key)
{
    size_t klen = strlen(key);
    const char *found = NULL;
    for (const char *line = text; line && *line;) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=')
            found = line + klen + 1;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    if (!found) {
        errno = ENOENT;
        return NULL;
    }
    size_t n = strcspn(found, "\n");
    char *v = malloc(n + 1);
    if (!v) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(v, found, n);
    v[n] = '\0';
    return v;
}

int kv_long(const char *text, const char *key, long *out)
{
    char *v = kv_get(text, key);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    int bad = (end == v || *end != '\0' || errno == ERANGE);
    free(v);
    if (bad) {
        errno = EINVAL;
        return -1;
    }
    *out = x;
    return 0;
}

int kv_is(const char *text, const char *key, const char *want)
{
    char *v = kv_get(text, key);
    int eq = v && strcmp(v, want) == 0;
    free(v);
    return eq;
}

long kv_long_or(const char *text, const char *key, long missing)
{
    long v;
    return kv_long(text, key, &v) == 0 ? v : missing;
}

void kv_forward(const char *prefix, const char *text, const char *skip)
{
    size_t slen = skip ? strlen(skip) : 0;
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        size_t klen = strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789_.");
        int skipped = skip && slen == klen && strncmp(line, skip, klen) == 0;
        if (klen > 0 && klen < len && line[klen] == '=' && !skipped)
            printf("%s%.*s\n", prefix, (int)len, line);
        line = nl ? nl + 1 : NULL;
    }
    fflush(stdout);
}
