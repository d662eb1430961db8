/* mime.h — Content-Type from a file name's extension.
 *
 * mime_type(name, len): name is a view (not NUL-terminated; only name[0, len) is read).
 * The extension is what follows the last '.' of the last path segment, compared
 * case-insensitively against a small sorted table (binary search). No extension, a
 * dot-file without another dot (".profile"), or an unknown extension give
 * MIME_DEFAULT. Text types carry "; charset=utf-8". The result is a static string.
 */
#ifndef LAB11_MIME_H
#define LAB11_MIME_H

#include <stddef.h>

#define MIME_DEFAULT "application/octet-stream"

const char *mime_type(const char *name, size_t len);

#endif
