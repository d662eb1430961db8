/* kv.h — the labs' output format: one "key=value" line per result.
 *
 * Writing (labs): kv_print(key, fmt, ...) prints "key=<formatted value>\n" to stdout
 *   and flushes at once, so the line survives a later fork(), _exit() or crash and
 *   lines from several processes appear in the order they were printed.
 *   Keys are [a-z0-9_.]+ by convention; a value runs to the end of its line.
 *
 * Reading (tests): kv_get(text, key) finds the LAST line "key=..." in text (a lab may
 *   print a provisional value and then the final one) and returns a malloc'd copy of
 *   the value, or NULL when absent (errno = ENOENT) or out of memory (errno = ENOMEM).
 *   kv_long(text, key, &out) parses that value as a decimal long: 0 on success,
 *   -1 when absent or not a whole number (errno = ENOENT or EINVAL).
 *   kv_is(text, key, want) is 1 when the value equals want exactly, else 0.
 */
#ifndef FDLAB_KV_H
#define FDLAB_KV_H

__attribute__((format(printf, 2, 3))) void kv_print(const char *key, const char *fmt, ...);
char *kv_get(const char *text, const char *key);
int kv_long(const char *text, const char *key, long *out);
int kv_is(const char *text, const char *key, const char *want);

#endif
