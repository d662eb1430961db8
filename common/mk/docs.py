#!/usr/bin/env python3
"""docs.py — keep the numbers and excerpts in notes/*.md and README.md true.

usage: docs.py update|check [FILE.md ...]     (default: README.md and notes/*.md)

Two kinds of generated block, each between an opening and a closing HTML comment:

  <!-- output: lab-06 select="^(mode|claim)" -->
  ```text
  ...lines the lab printed...
  ```
  <!-- /output -->
      The lines of `make lab-06`'s real output that the regular expression selects
      (Python re.search per line; without select=, every line). Each lab named in the
      checked files runs once, from the repository root, with FDLAB_BUILD (default
      build/gcc); its exit status must be 0, or 77 when what it shows cannot run on this
      machine: its blocks are then left as they are and reported NOT CHECKED.

  <!-- run: sh labs/11-fdhttpd/try-fdload.sh -->
  ```text
  ...what the command prints...
  ```
  <!-- /run -->
      A transcript: the command runs with sh from the repository root (FDLAB_BUILD set
      as for labs) and must exit 0; checked like an output block, numbers masked.

  <!-- gen: sh bench/tables.sh server -->
  ...whatever the command prints (a markdown table from results/, say)...
  <!-- /gen -->
      The command runs with sh from the repository root; it must exit 0.

update rewrites every block from a fresh run. check changes nothing: a gen block must
be exactly what its command prints now; an output or run block must have the same lines
as the lab or command prints now with every number (and its unit: 12.5us, 3.1MB) replaced
by '#' and runs of blanks folded (the keys and the claims, not the noisy values). check
prints each stale block and exits 1; 0 when all are current;
2 when a lab or command fails or a block is malformed.
"""
import glob
import os
import re
import subprocess
import sys

OPEN = re.compile(r'<!-- (output|run|gen): (.*?) -->\n')
NUMBER = re.compile(r'[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?(us|ms|s|[KMGT]i?B)?')


class DocError(Exception):
    pass


class LabSkipped(Exception):
    """The lab exited 77: what it shows cannot run on this machine (it said why)."""


def lab_dir(num):
    dirs = glob.glob("labs/%s-*/lab.c" % num)
    if len(dirs) != 1:
        raise DocError("no lab %s" % num)
    return os.path.dirname(dirs[0])


def run_lab(num, cache):
    if num not in cache:
        build = os.environ.get("FDLAB_BUILD", "build/gcc")
        prog = os.path.join(build, lab_dir(num), "lab")
        env = dict(os.environ, FDLAB_BUILD=build)
        p = subprocess.run([prog], env=env, capture_output=True, text=True, timeout=600)
        if p.returncode == 77:
            cache[num] = LabSkipped(p.stdout.strip().splitlines()[-1:] or ["exit 77"])
        elif p.returncode != 0:
            raise DocError("%s exited %d:\n%s" % (prog, p.returncode, p.stderr[-2000:]))
        else:
            cache[num] = p.stdout.splitlines()
    if isinstance(cache[num], LabSkipped):
        raise cache[num]
    return cache[num]


def output_block(spec, cache):
    m = re.fullmatch(r'lab-(\d\d)(?: select="(.*)")?', spec)
    if not m:
        raise DocError("bad output block: %r" % spec)
    sel = re.compile(m.group(2) or "")
    lines = [ln for ln in run_lab(m.group(1), cache) if sel.search(ln)]
    if not lines:
        raise DocError("lab-%s printed no line that %r selects" % (m.group(1), m.group(2)))
    return "```text\n" + "\n".join(lines) + "\n```\n"


def gen_block(cmd):
    p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise DocError("%r exited %d:\n%s" % (cmd, p.returncode, p.stderr[-2000:]))
    return p.stdout if p.stdout.endswith("\n") else p.stdout + "\n"


def run_block(cmd):
    env = dict(os.environ, FDLAB_BUILD=os.environ.get("FDLAB_BUILD", "build/gcc"))
    p = subprocess.run(["sh", "-c", cmd], env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise DocError("%r exited %d:\n%s" % (cmd, p.returncode, p.stderr[-2000:]))
    return "```text\n" + p.stdout + ("" if p.stdout.endswith("\n") else "\n") + "```\n"


def shape(text):
    # Numbers masked, then runs of blanks folded: a printf width pads a shorter number.
    return [re.sub(" +", " ", NUMBER.sub("#", ln)) for ln in text.splitlines()]


def process(path, mode, cache):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out, pos, stale = [], 0, []
    for m in OPEN.finditer(text):
        if m.start() < pos:
            continue
        kind, spec = m.group(1), m.group(2)
        close = "<!-- /%s -->" % kind
        end = text.find(close, m.end())
        if end < 0:
            raise DocError("%s: block %r has no %s" % (path, spec, close))
        old = text[m.end():end]
        try:
            new = {"output": lambda: output_block(spec, cache), "run": lambda: run_block(spec),
                   "gen": lambda: gen_block(spec)}[kind]()
        except LabSkipped as e:
            print("docs: %s: block '%s' NOT CHECKED: the lab skipped (exit 77): %s" %
                  (path, spec, e.args[0][0] if e.args and e.args[0] else ""))
            new = old
        same = True if new is old else None
        if same is None:
            same = old == new if kind == "gen" else shape(old) == shape(new)
        if not same:
            stale.append((spec, old, new))
        out.append(text[pos:m.end()])
        out.append(new if mode == "update" else old)
        pos = end
    out.append(text[pos:])
    if mode == "update":
        result = "".join(out)
        if result != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(result)
            print("docs: updated %s" % path)
    return stale


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("update", "check"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    mode = sys.argv[1]
    files = sys.argv[2:] or ["README.md"] + sorted(glob.glob("notes/*.md"))
    cache, bad = {}, 0
    try:
        for path in files:
            for spec, old, new in process(path, mode, cache):
                if mode == "check":
                    bad += 1
                    print("docs: %s: block '%s' is stale; now:\n%s" % (path, spec, new))
    except (DocError, subprocess.TimeoutExpired) as e:
        print("docs: %s" % e, file=sys.stderr)
        return 2
    if mode == "check":
        print("docs: %d files, %d stale blocks, labs run: %s" %
              (len(files), bad, " ".join(sorted(cache)) or "none"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
