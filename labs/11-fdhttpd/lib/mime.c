/* mime.c — the extension table (see mime.h). */
#include "mime.h"

#include <string.h>

/* Sorted by extension (lower case, strcmp order): mime_type() searches it by halving. */
static const struct {
    const char *ext;
    const char *type;
} table[] = {
    {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"gif", "image/gif"},
    {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"ico", "image/x-icon"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript; charset=utf-8"}, /* RFC 9239 */
    {"json", "application/json"},
    {"md", "text/markdown; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"mp4", "video/mp4"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"svg", "image/svg+xml"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xml", "application/xml"},
};

const char *mime_type(const char *name, size_t len)
{
    size_t dot = len, i = len;
    while (i > 0 && name[i - 1] != '/') {
        if (name[i - 1] == '.' && dot == len)
            dot = i - 1;
        i--;
    }
    /* i: start of the last segment. A leading dot alone is a hidden file, not an extension. */
    if (dot == len || dot == i)
        return MIME_DEFAULT;
    const char *ext = name + dot + 1;
    size_t elen = len - dot - 1;
    char low[8];
    if (elen == 0 || elen >= sizeof low)
        return MIME_DEFAULT;
    for (size_t k = 0; k < elen; k++) {
        char c = ext[k];
        low[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    low[elen] = '\0';
    size_t lo = 0, hi = sizeof table / sizeof table[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(low, table[mid].ext);
        if (cmp == 0)
            return table[mid].type;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return MIME_DEFAULT;
}
