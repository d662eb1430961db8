#!/usr/bin/env python3
"""run.py — fdhttpd's HTTP/1.1 conformance and request-smuggling suite (make conformance).

usage: run.py --fdhttpd PATH [--cases FILE ...] [--timeout S] [-v]
       run.py --port PORT [--cases FILE ...]     (a server that is already running)

With --fdhttpd it starts the server itself on 127.0.0.1 port 0 (two workers, access
log off, a scratch document root holding the suite's fixtures), runs every case, and
stops it (SIGTERM, then waits). Without --cases it runs the two files beside it:
  desync-guardian-cases.json  115 public smuggling cases (Apache-2.0, see NOTICE-*)
  fdlab-cases.json            fdlab's own RFC 9112 / RFC 9110 cases

A case sends its bytes on a fresh connection and reads one response (status line,
fields, a Content-Length or chunked body). The connection's state after that read is
  closed   the server closed it (an orderly close or a reset: both end the connection)
  open     nothing more arrives for a short while and the connection stays up
  timeout  no complete response within --timeout seconds
The case's rules are tried in order; the first whose conditions all hold gives the
verdict (pass, warn, fail). Conditions understood: response (a status line was read),
state (one state or a list), status (codes, "2xx" classes, "200-499" ranges),
all/any/not. A case using anything else is an error of the suite, not a pass.

Prints one line per case that did not pass, a count per verdict, and last
"conformance: N passed, N failed" (warnings count as passed and are listed).
Exit 0 when nothing failed, 1 when a case failed, 2 on a usage or suite error.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CASES = ["desync-guardian-cases.json", "fdlab-cases.json"]


class SuiteError(Exception):
    pass


def expand(text, host):
    """The suite's template: {HOST} and the literal braces {{ }}; bytes are latin-1."""
    out = text.replace("{{", "\0LB\0").replace("}}", "\0RB\0").replace("{HOST}", host)
    if "{" in out.replace("\0LB\0", "").replace("\0RB\0", ""):
        raise SuiteError("template field this runner does not know: %r" % text[:60])
    return out.replace("\0LB\0", "{").replace("\0RB\0", "}").encode("latin-1")


def read_response(sock, deadline, head_only):
    """Read one response (head_only: the request was HEAD, so no body follows).
    Returns (status or None, state). Never raises on I/O."""
    buf = b""

    def more():
        nonlocal buf
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout"
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return "timeout"
        except (ConnectionResetError, BrokenPipeError):
            return "closed"
        except OSError:
            return "error"
        if not chunk:
            return "closed"
        buf += chunk
        return None

    while b"\r\n\r\n" not in buf:
        st = more()
        if st:
            return None, st
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None, "error"
    status = int(parts[1])
    fields = {}
    for ln in lines[1:]:
        name, _, value = ln.partition(b":")
        fields[name.strip().lower()] = value.strip().lower()
    buf = body
    if head_only or status // 100 == 1 or status in (204, 304):
        pass
    elif b"chunked" in fields.get(b"transfer-encoding", b""):
        while not buf.endswith(b"0\r\n\r\n"):
            st = more()
            if st:
                return status, st
    elif b"content-length" in fields:
        want = int(fields[b"content-length"])
        while len(buf) < want:
            st = more()
            if st:
                return status, st
    # Whether the server keeps the connection: wait briefly for a close.
    short = min(deadline, time.monotonic() + 0.3)
    st = None
    while st is None:
        left = short - time.monotonic()
        if left <= 0:
            return status, "open"
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return status, "open"
        except (ConnectionResetError, BrokenPipeError):
            return status, "closed"
        except OSError:
            return status, "error"
        if not chunk:
            return status, "closed"


def status_matches(status, wanted):
    for w in wanted:
        if isinstance(w, int) and status == w:
            return True
        if isinstance(w, str):
            if len(w) == 3 and w.endswith("xx") and status // 100 == int(w[0]):
                return True
            if "-" in w:
                lo, hi = w.split("-")
                if int(lo) <= status <= int(hi):
                    return True
    return False


def holds(cond, status, state):
    for key, want in cond.items():
        if key == "response":
            ok = (status is not None) == bool(want)
        elif key == "state":
            ok = state in (want if isinstance(want, list) else [want])
        elif key == "status":
            ok = status is not None and status_matches(status, want)
        elif key == "all":
            ok = all(holds(c, status, state) for c in want)
        elif key == "any":
            ok = any(holds(c, status, state) for c in want)
        elif key == "not":
            ok = not holds(want, status, state)
        elif key == "step":
            ok = want == 0
        else:
            raise SuiteError("condition this runner does not know: %s" % key)
        if not ok:
            return False
    return True


def run_case(case, port, timeout):
    if len(case["steps"]) != 1 or not isinstance(case["steps"][0]["send"], str):
        raise SuiteError("%s: only one-step string cases are supported" % case["id"])
    data = expand(case["steps"][0]["send"], "127.0.0.1:%d" % port)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may close early; what it answered is still read
        status, state = read_response(s, time.monotonic() + timeout, data.startswith(b"HEAD "))
    for cond, verdict in case["expect"]["rules"]:
        if holds(cond, status, state):
            return verdict, status, state
    return case["expect"]["default"], status, state


def start_server(binary, root):
    p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--workers", "2",
                          "--root", root, "--access-log", "off"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith("listening="):
            port = int(line.strip().rsplit(":", 1)[1])
        if line.strip() == "ready=1" and port:
            return p, port
    p.kill()
    p.wait()
    raise SuiteError("fdhttpd did not print listening= and ready=1")


def stop_server(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.stdout.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fdhttpd")
    ap.add_argument("--port", type=int)
    ap.add_argument("--cases", action="append")
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("-v", action="store_true", help="print every case")
    a = ap.parse_args()
    if bool(a.fdhttpd) == bool(a.port):
        ap.error("give exactly one of --fdhttpd and --port")
    cases, fixtures = [], {}
    for name in a.cases or [os.path.join(HERE, c) for c in DEFAULT_CASES]:
        with open(name, encoding="utf-8") as f:
            d = json.load(f)
        cases += d["cases"]
        fixtures.update(d.get("fixtures", {}))
    root = tempfile.mkdtemp(prefix="fdlab-conf-")
    server = None
    try:
        # Readable by anyone: started as root, fdhttpd's workers run as nobody (--user).
        os.chmod(root, 0o755)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("conformance\n")
        os.chmod(os.path.join(root, "index.html"), 0o644)
        for path, fx in fixtures.items():
            with open(os.path.join(root, path.lstrip("/")), "w", encoding="latin-1") as f:
                f.write(fx["content"])
            os.chmod(os.path.join(root, path.lstrip("/")), 0o644)
        port = a.port
        if a.fdhttpd:
            server, port = start_server(a.fdhttpd, root)
        counts = {"pass": 0, "warn": 0, "fail": 0}
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda c: run_case(c, port, a.timeout), cases))
        for case, (verdict, status, state) in zip(cases, results):
            counts[verdict] = counts.get(verdict, 0) + 1
            if verdict != "pass" or a.v:
                print("%-4s %s status=%s state=%s  (%s)" % (verdict, case["id"], status, state,
                                                            case["expect"].get("summary", "")))
        print("cases=%d pass=%d warn=%d fail=%d" % (len(cases), counts["pass"], counts["warn"],
                                                   counts["fail"]))
        print("conformance: %d passed, %d failed" % (counts["pass"] + counts["warn"], counts["fail"]))
        return 1 if counts["fail"] else 0
    except SuiteError as e:
        print("conformance: suite error: %s" % e)
        return 2
    finally:
        if server:
            stop_server(server)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
