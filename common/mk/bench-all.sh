#!/bin/sh
# `make bench`: every benchmark of the course, one after the other, then every plot.
#
# Runs from the repository root after `make V=gcc all` (the Makefile does both). The
# benches, in this order: the labs' bench/NN-*.sh by number (05 ... 10, 12-reload when
# present), then bench/ch30.sh (the course's summary table), then bench/server.sh
# (fdhttpd against nginx, h2o and lighttpd, the longest) and bench/server-veth.sh (its
# 10 MiB case across a veth pair; root only: exit 77 is reported as skipped, not failed). Each runs as `make bench-NAME` would run it
# (sh bench/NAME.sh with FDLAB_BUILD=build/gcc), under a time limit of BENCH_LIMIT
# seconds (default 900; the whole process group is killed when it runs over), its
# output shown indented and kept in build/bench-logs/NAME.log (QUICK: BENCH_OUT/logs/).
# A failed bench is reported and the next one still runs; this script exits 1 when any
# failed (after listing which), 0 when every one passed.
#
# At the end it redraws every plot (common/mk/plots.sh: each bench/*.gp), prints a timing
# table and writes bench-summary.md into the results directory: per bench its duration,
# status and the files it wrote, plus the machine (CPU, cores, kernel, load at start) and
# the commit measured.
#
# QUICK=1 is a rehearsal, not a measurement: fewer rounds and connections per bench (the
# environment knobs each script documents), QUICK=1 exported for benches that read it,
# and everything written into a scratch tree (BENCH_OUT, default build/bench-quick/:
# symlinks to the repository plus its own results/), so results/ is never touched.
# Those numbers are only a check that every bench runs to completion.
set -u
quick=${QUICK:-0}
[ "$quick" = 0 ] || [ "$quick" = 1 ] || { echo "bench: QUICK must be 0 or 1" >&2; exit 2; }
limit=${BENCH_LIMIT:-900}
root=$(pwd)
[ -f "$root/bench/lib.sh" ] || { echo "bench: run from the repository root" >&2; exit 2; }

# The benches in order: NN-*.sh by number, then the named ones that exist.
list=
for s in bench/[0-9][0-9]-*.sh; do # the glob sorts by name: by number
  [ -f "$s" ] && list="$list $s"
done
for n in ch30 server server-veth; do
  [ -f "bench/$n.sh" ] && list="$list bench/$n.sh"
done
names=$(for s in $list; do basename "$s" .sh; done)
n=$(echo "$names" | wc -w)

# Where the benches run: the repository itself, or (QUICK) a scratch tree whose
# results/ is its own and whose every other entry links to the repository, so the
# scripts' relative paths (bench/, results/, build/gcc, labs/) work unchanged.
if [ "$quick" = 1 ]; then
  work=${BENCH_OUT:-build/bench-quick}
  case $work in /*) ;; *) work=$root/$work ;; esac
  rm -rf "$work" && mkdir -p "$work/results" || exit 1
  for e in "$root"/* "$root"/.[!.]*; do
    [ -e "$e" ] || continue
    b=$(basename "$e")
    case $b in results|.git) continue ;; esac
    ln -s "$e" "$work/$b" || exit 1
  done
  export QUICK=1
else
  work=$root
fi
res=$work/results
mkdir -p "$res" || exit 1
# Each bench's full output; a rehearsal keeps its own beside its results.
logs=$root/build/bench-logs
[ "$quick" = 1 ] && logs=$work/logs
mkdir -p "$logs" || exit 1

# quick_env NAME: the reduced settings of one bench (QUICK=1 only).
quick_env() {
  case $1 in
    05-*) echo "BENCH05_MS=30" ;;
    06-*) echo "CONNS=100 REPS=1" ;;
    07-*) echo "REQ=300 REPS=1" ;;
    08-*) echo "CONNS=40 REPS=2 SLOW_REQS=40 DURATION=1" ;;
    09-*) echo "CONNS=300 REPS=1" ;;
    10-*) echo "REPS=1" ;;
    ch30) echo "ROUNDS=1 CONNS=500" ;;
    server|server-veth) echo "SECS=1 ROUNDS=1 CONNS=10" ;;
    *) echo "ROUNDS=1 REPS=1" ;;
  esac
}

fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
machine="${cpu:-unknown}; cores=$(nproc); kernel=$(uname -r); load at start $(cut -d' ' -f1-3 /proc/loadavg)"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | head -n 1)
[ -n "$dirty" ] && commit="$commit (with uncommitted changes)"
start=$(date +%s)
echo "bench: $n benches in $work$( [ "$quick" = 1 ] && echo ' (QUICK=1: a rehearsal, not a measurement)')"
echo "bench: machine: $machine"

table=$(mktemp) || exit 1
trap 'rm -f "$table" "$work/.bench-mark"' EXIT
interrupted() {
  for p in "$logs"/*.pid; do
    [ -f "$p" ] && kill -TERM -- "-$(cat "$p")" 2>/dev/null
    rm -f "$p"
  done
  echo "bench: interrupted" >&2
  exit 130
}
trap interrupted INT TERM
failed=
skipped=
k=0
for name in $names; do
  k=$((k + 1))
  env=
  [ "$quick" = 1 ] && env=$(quick_env "$name")
  echo "[$k/$n] $name ... (started at $(fmt $(($(date +%s) - start))) total)${env:+ with $env}"
  touch "$work/.bench-mark"
  sleep 1 # mtimes have a one-second grain on some file systems: files written now are newer
  t0=$(date +%s)
  log=$logs/$name.log
  # The bench runs in its own process group under timeout, which kills the whole group
  # (servers, load clients) when the limit passes; its status travels through a file
  # because a pipeline's status is tee's.
  # timeout leads its own process group, so a Ctrl-C at the terminal does not reach the
  # bench: the INT/TERM trap below kills that group by the pid recorded in $log.pid.
  (
    cd "$work" || exit 1
    # shellcheck disable=SC2086
    env FDLAB_BUILD=build/gcc $env timeout -k 10 "$limit" sh "bench/$name.sh" 2>&1 &
    echo $! >"$log.pid"
    wait $!
    echo $? >"$log.rc"
  ) | tee "$log" | sed -u "s/^/    /"
  rc=$(cat "$log.rc" 2>/dev/null || echo 1)
  rm -f "$log.rc" "$log.pid"
  dt=$(($(date +%s) - t0))
  case $rc in
    0) status=ok ;;
    77) status="skipped: it cannot run here (its log says why)" ;;
    124|137) status="timed out after ${limit}s" ;;
    *) status="failed (exit $rc)" ;;
  esac
  [ "$rc" = 0 ] || [ "$rc" = 77 ] || failed="$failed $name"
  [ "$rc" = 77 ] && skipped="$skipped $name"
  files=$(cd "$work" && find results -type f -newer .bench-mark | sort | tr '\n' ' ')
  echo "[$k/$n] $name $status ($(fmt $dt); $(fmt $(($(date +%s) - start))) total)"
  if [ "$rc" != 0 ]; then # a skip too: the reason is in the last lines
    echo "[$k/$n] $name: last lines of $log:"
    tail -n 15 "$log" | sed 's/^/    /'
  fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$(fmt $dt)" "$status" "${files:-none}" >>"$table"
done

echo "[plots] redrawing every plot from $res"
plots_rc=0
(cd "$work" && sh common/mk/plots.sh) >"$logs/plots.log" 2>&1 || plots_rc=$?
if [ $plots_rc = 0 ]; then
  plots=ok
else
  plots="failed (see $logs/plots.log)"
  failed="$failed plots"
fi
total=$(($(date +%s) - start))

{
  echo "# make bench$( [ "$quick" = 1 ] && echo ' QUICK=1 (a rehearsal: reduced rounds, not a measurement)')"
  echo
  echo "Machine: $machine. Commit: $commit. Finished $(date -u +%Y-%m-%dT%H:%M:%SZ); total $(fmt $total)."
  echo "Each bench's own output: ${logs#"$root"/}/NAME.log. Plots redrawn: $plots."
  echo
  echo "| bench | duration | status | files written |"
  echo "|---|---:|---|---|"
  while IFS="$(printf '\t')" read -r b d s f; do
    echo "| $b | $d | $s | $(echo "$f" | sed 's/ *$//; s/results\///g') |"
  done <"$table"
} >"$res/bench-summary.md"

echo
echo "bench: timing (total $(fmt $total)):"
while IFS="$(printf '\t')" read -r b d s f; do
  printf '  %-24s %8s  %s\n' "$b" "$d" "$s"
done <"$table"
printf '  %-24s %8s  %s\n' plots "" "$plots"
echo "bench: wrote $res/bench-summary.md"
if [ -n "$failed" ]; then
  echo "bench: FAILED:$failed" >&2
  exit 1
fi
if [ -n "$skipped" ]; then
  echo "bench: $((n - $(echo $skipped | wc -w))) of $n benches passed; SKIPPED (could not run here):$skipped"
else
  echo "bench: all $n benches passed"
fi
