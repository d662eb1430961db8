#!/usr/bin/env python3
"""http_client.py — drive fdhttpd with Python's http.client (test_clients.c runs it).

usage: http_client.py PORT keepalive|chunked|big

  keepalive  several requests on ONE HTTPConnection: GET /a.txt twice, a 404 with its
             body, HEAD of a file and of a missing file, then GET again. Checks the
             local port never changes (http.client reconnects silently otherwise).
             (http.client drops a stray body after HEAD with its read buffer, so the
             "no body after HEAD" rule is checked on the wire in test_clients.c.)
  chunked    POST /echo with a body from a generator: http.client sends it with
             Transfer-Encoding: chunked; the echo must be the concatenation.
  big        GET /big (a 1 GiB sparse file): read in 1 MiB pieces, COUNTED, never
             stored; the count must equal Content-Length.

Prints key=value lines and "ok=1" last when every check held; exits 0 then, 1 when a
check failed (the failing check is printed as fail=...), 2 on bad usage.
"""
import http.client
import sys


def fail(what):
    print("fail=%s" % what)
    sys.exit(1)


def keepalive(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    ports = set()
    n = 0
    for method, path, want_status, want_body in [
        ("GET", "/a.txt", 200, b"0123456789abcdefghij\n"),
        ("GET", "/nope", 404, None),
        ("HEAD", "/a.txt", 200, b""),
        ("HEAD", "/nope", 404, b""),
        ("GET", "/a.txt", 200, b"0123456789abcdefghij\n"),
    ]:
        conn.request(method, path)
        if conn.sock is None:
            fail("no socket after request %d" % n)
        ports.add(conn.sock.getsockname()[1])
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != want_status:
            fail("%s %s: status %d" % (method, path, resp.status))
        if want_body is not None and body != want_body:
            fail("%s %s: body %r" % (method, path, body[:80]))
        if resp.getheader("X-Worker") is None:
            fail("%s %s: no X-Worker" % (method, path))
        if resp.will_close:
            fail("%s %s: the server closes" % (method, path))
        n += 1
    conn.close()
    print("requests=%d" % n)
    print("connections=%d" % len(ports))
    if len(ports) != 1:
        fail("more than one connection")


def chunked(port):
    pieces = [b"hello ", b"chunked ", b"\x00\x01\xff binary ", b"world" * 1000]

    def gen():
        for p in pieces:
            yield p

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("POST", "/echo", body=gen(), encode_chunked=True,
                 headers={"Content-Type": "application/octet-stream"})
    resp = conn.getresponse()
    body = resp.read()
    want = b"".join(pieces)
    print("status=%d" % resp.status)
    print("echo_bytes=%d" % len(body))
    if resp.status != 200 or body != want:
        fail("echo differs")
    # The same connection goes on after a chunked request.
    conn.request("GET", "/a.txt")
    resp = conn.getresponse()
    if resp.read() != b"0123456789abcdefghij\n":
        fail("GET after the chunked body")
    conn.close()


def big(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/big")
    resp = conn.getresponse()
    length = int(resp.getheader("Content-Length", "-1"))
    got = 0
    while True:
        chunk = resp.read(1 << 20)
        if not chunk:
            break
        if chunk.count(0) != len(chunk):
            fail("a sparse file reads as zeros")
        got += len(chunk)
    conn.close()
    print("status=%d" % resp.status)
    print("content_length=%d" % length)
    print("bytes=%d" % got)
    if resp.status != 200 or got != length or length != 1 << 30:
        fail("byte count")


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("keepalive", "chunked", "big"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    port = int(sys.argv[1])
    {"keepalive": keepalive, "chunked": chunked, "big": big}[sys.argv[2]](port)
    print("ok=1")


if __name__ == "__main__":
    main()
