/* kv.h — the labs' output format: one "key=value" line per result.
 *
 * Writing (labs): kv_print(key, fmt, ...) prints "key=<formatted value>\n" to stdout
 *   and flushes at once, so the line survives a later fork(), _exit() or crash and
 *   lines from several processes appear in the order they were printed.
 *   Keys are [a-z0-9_.]+ by convention; a value runs to the end of its line.
 *   kv_print_in(prefix, name, fmt, ...) prints the key "<prefix><name>" the same way
 *   (a group of results under one prefix such as "epoll.n4."; the key is cut at 127
 *   bytes).
 *
 * Reading (tests): kv_get(text, key) finds the LAST line "key=..." in text (a lab may
 *   print a provisional value and then the final one) and returns a malloc'd copy of
 *   the value, or NULL when absent (errno = ENOENT) or out of memory (errno = ENOMEM).
 *   kv_long(text, key, &out) parses that value as a decimal long: 0 on success,
 *   -1 when absent or not a whole number (errno = ENOENT or EINVAL).
 *   kv_is(text, key, want) is 1 when the value equals want exactly, else 0.
 *   kv_long_or(text, key, missing) is kv_long's number, or missing when kv_long fails.
 *
 * In Criterion tests (the macros expand to cr_assert_eq, so the file includes
 *   criterion.h; never use them in a forked child):
 *   KV_LONG(text, key) is kv_long's number; the test fails, showing text, when the key
 *   is absent or not a whole number.
 *   ASSERT_KV(text, key, want) fails the test, showing text, unless the value of key
 *   is exactly want. Each argument is evaluated once.
 *
 * Relaying (a lab that runs another program): kv_forward(prefix, text, skip) prints
 *   every key=value line of text again with prefix in front of its key, in order,
 *   and flushes once. A key here is [a-z0-9_.]+ followed by '='; lines that are not
 *   key=value (explanations) are dropped, and so are lines whose key equals skip
 *   (NULL: none). prefix may be "".
 */
#ifndef FDLAB_KV_H
#define FDLAB_KV_H

__attribute__((format(printf, 2, 3))) void kv_print(const char *key, const char *fmt, ...);
__attribute__((format(printf, 3, 4))) void kv_print_in(const char *prefix, const char *name, const char *fmt,
                                                       ...);
char *kv_get(const char *text, const char *key);
int kv_long(const char *text, const char *key, long *out);
int kv_is(const char *text, const char *key, const char *want);
long kv_long_or(const char *text, const char *key, long missing);
void kv_forward(const char *prefix, const char *text, const char *skip);

#define KV_LONG(text, key)                                                                                \
    __extension__({                                                                                       \
        const char *kv_text_ = (text), *kv_key_ = (key);                                                  \
        long kv_v_ = 0;                                                                                   \
        cr_assert_eq(kv_long(kv_text_, kv_key_, &kv_v_), 0, "key %s absent or not a number in:\n%s",      \
                     kv_key_, kv_text_);                                                                  \
        kv_v_;                                                                                            \
    })
#define ASSERT_KV(text, key, want)                                                                        \
    do {                                                                                                  \
        const char *kv_text_ = (text), *kv_key_ = (key), *kv_want_ = (want);                              \
        cr_assert(kv_is(kv_text_, kv_key_, kv_want_), "want %s=%s in:\n%s", kv_key_, kv_want_, kv_text_);  \
    } while (0)

#endif
