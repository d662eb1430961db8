#!/usr/bin/env python3
"""gzip_client.py PORT ROOT — fdhttpd --gzip-static seen by Python's http.client.

ROOT holds page.txt and page.txt.gz. Prints key=value lines; ok=1 when every check
passed (test_ops.c asserts on them):
  gzip: the .gz body for Accept-Encoding: gzip, that decompresses to page.txt,
  with Content-Encoding, Vary, Content-Type of page.txt, an ETag ending in -gzip";
  range: Range on the compressed bytes, 206 with the .gz's own Content-Range;
  cond: If-None-Match with that ETag -> 304 (Vary, Cache-Control kept);
  identity: no Accept-Encoding (and gzip;q=0) -> page.txt, another ETag, Vary still.
"""
import gzip
import http.client
import os
import sys

port, root = int(sys.argv[1]), sys.argv[2]
plain = open(os.path.join(root, "page.txt"), "rb").read()
packed = open(os.path.join(root, "page.txt.gz"), "rb").read()
ok = True


def check(key, cond):
    global ok
    print(f"{key}={1 if cond else 0}")
    ok = ok and bool(cond)


conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def get(headers):
    conn.request("GET", "/page.txt", headers=headers)
    r = conn.getresponse()
    return r, r.read()


r, body = get({"Accept-Encoding": "gzip"})
etag = r.getheader("ETag", "")
check("gzip.status", r.status == 200)
check("gzip.body_is_the_gz_file", body == packed)
check("gzip.decompresses_to_page", gzip.decompress(body) == plain)
check("gzip.content_encoding", r.getheader("Content-Encoding") == "gzip")
check("gzip.vary", r.getheader("Vary") == "Accept-Encoding")
check("gzip.content_type", r.getheader("Content-Type", "").startswith("text/plain"))
check("gzip.etag_suffix", etag.endswith('-gzip"'))
check("gzip.cache_control", r.getheader("Cache-Control") == "public, max-age=60")

r, body = get({"Accept-Encoding": "deflate, gzip;q=0.5", "Range": "bytes=0-9"})
check("range.status", r.status == 206)
check("range.bytes", body == packed[:10])
check("range.content_range", r.getheader("Content-Range") == f"bytes 0-9/{len(packed)}")
check("range.content_encoding", r.getheader("Content-Encoding") == "gzip")

r, body = get({"Accept-Encoding": "gzip", "Range": "bytes=0-9", "If-Range": etag})
check("if_range.status", r.status == 206 and body == packed[:10])

r, body = get({"Accept-Encoding": "gzip", "If-None-Match": etag})
check("cond.status", r.status == 304 and body == b"")
check("cond.vary", r.getheader("Vary") == "Accept-Encoding")
check("cond.cache_control", r.getheader("Cache-Control") == "public, max-age=60")

for name, hdrs in (("identity", {}), ("refused", {"Accept-Encoding": "gzip;q=0, identity"})):
    r, body = get(hdrs)
    check(f"{name}.body", r.status == 200 and body == plain)
    check(f"{name}.no_encoding", r.getheader("Content-Encoding") is None)
    check(f"{name}.vary", r.getheader("Vary") == "Accept-Encoding")
    check(f"{name}.other_etag", r.getheader("ETag") not in (None, etag))

r, body = get({"Accept-Encoding": "*"})
check("star.gzip", r.getheader("Content-Encoding") == "gzip" and body == packed)
print(f"gz_size={len(packed)}")
print(f"ok={1 if ok else 0}")
