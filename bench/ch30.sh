#!/bin/sh
# bench/ch30.sh — UNP vol. 1 ch. 30's summary table, re-measured (`make bench-ch30`).
#
# For each design — bench/ch30srv -m iterative|fork|prefork|fcntl|mutex|passfd|epoll|
# exclusive|reuseport|uring (-w 4 where there are workers) and lab 11's fdhttpd -w 4 in each
# of its five accept strategies (fdhttpd-reuseport|-exclusive|-mutex|-passfd|-steered:
# fdhttpd --accept=MODE, its bundled static site; steered loads an eBPF program, so
# without CAP_BPF it is left out, said on stderr and in the files' note line) — start
# the server, drive CONNS (default
# 10000) connections through it with bench/loadclient (-c 8 in flight, one request
# per connection, Connection: close), stop it, and record
#   cpu_s          user+sys CPU of every server process: ch30srv's own report at exit
#                  (getrusage SELF + CHILDREN after reaping); for fdhttpd the growth,
#                  during the load, of utime+stime in /proc/PID/stat of the master and
#                  its workers, read before it is stopped
#   cpu_per_10k_s  cpu_s scaled to 10,000 connections
#   rps, p50_ms, p99_ms   from loadclient
#   spread         max/min of the connections each worker served (X-Worker header);
#                  "nan" for iterative and fork, which have no workers; "inf" when a
#                  worker served none (fdhttpd's accept mutex: its holder keeps it)
# ROUNDS (default 3) rounds, the designs interleaved within each round. Writes
# results/ch30.csv (every run), results/ch30-medians.csv and results/ch30-table.md
# (medians per design, a Markdown table for the README) and draws results/ch30.png/.svg.
#
#   sh bench/ch30.sh            the benchmark (about 30 s on 2 cores)
#   sh bench/ch30.sh --smoke    every design once with 200 connections, results in a
#                               scratch directory, exit 0 only when every request of
#                               every design was answered and each server stopped
#                               cleanly (for the tests)
# Runs from the repository root with FDLAB_BUILD set (make bench-ch30 does both).
set -eu
. bench/lib.sh
build=${FDLAB_BUILD:-build/gcc}
srv=$build/bench/ch30srv
lc=$build/bench/loadclient
httpd=$build/labs/11-fdhttpd/fdhttpd
workers=4
designs="iterative fork prefork fcntl mutex passfd epoll exclusive reuseport uring
  fdhttpd-reuseport fdhttpd-exclusive fdhttpd-mutex fdhttpd-passfd fdhttpd-steered"
smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
if [ $smoke = 1 ]; then
  rounds=1 conns=200 res=$(mktemp -d)
else
  rounds=${ROUNDS:-3} conns=${CONNS:-10000} res=results
fi
for p in "$srv" "$lc" "$httpd"; do
  [ -x "$p" ] || { echo "bench: $p missing: run make V=gcc all first" >&2; exit 1; }
done
tmp=$(mktemp -d)
spid=
cleanup() {
  [ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null || true
  rm -rf "$tmp"
  [ $smoke = 1 ] && rm -rf "$res"
  return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM
hz=$(getconf CLK_TCK)

# key FILE KEY: the value of the last "KEY=" line of FILE ("" when absent).
key() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# wait_for FILE KEY: up to 5 s for the server to print KEY=.
wait_for() {
  i=0
  while [ -z "$(key "$1" "$2")" ]; do
    i=$((i + 1))
    [ $i -le 100 ] || { echo "bench: server never printed $2=" >&2; exit 1; }
    kill -0 "$spid" 2>/dev/null || { echo "bench: server died at start" >&2; exit 1; }
    sleep 0.05
  done
}

# stop: SIGTERM, then wait for the server's exit (at most 10 s, then SIGKILL, a failure).
stop() {
  kill -TERM "$spid"
  i=0
  while kill -0 "$spid" 2>/dev/null && [ "$(ps -o stat= -p "$spid" | cut -c1)" != Z ]; do
    i=$((i + 1))
    [ $i -le 200 ] || { kill -KILL "$spid"; echo "bench: server ignored SIGTERM" >&2; exit 1; }
    sleep 0.05
  done
  rc=0
  wait "$spid" || rc=$?
  spid=
  [ $rc = 0 ] || { echo "bench: server exited $rc" >&2; exit 1; }
}

# fdhttpd_ticks PID: utime+stime of the master and its workers, in clock ticks.
fdhttpd_ticks() {
  pids="$1 $(cat /proc/"$1"/task/*/children)"
  for p in $pids; do cat /proc/"$p"/stat; done |
    sed 's/^.*) //' | awk '{ t += $12 + $13 } END { print t }'
}

# run DESIGN ROUND: one measurement, one CSV row on stdout.
run() {
  d=$1 out=$tmp/srv.out
  # Empty it here: the background job's own redirection truncates it only later, and
  # wait_for must not read the previous server's port and ready lines.
  : >"$out"
  case $d in fdhttpd-*) fd=1 ;; *) fd=0 ;; esac
  if [ $fd = 1 ]; then
    "$httpd" -l 127.0.0.1:0 -w $workers --accept="${d#fdhttpd-}" --access-log off >"$out" 2>"$tmp/srv.err" &
    spid=$!
    wait_for "$out" ready
    port=$(key "$out" listening | sed 's/.*://')
    t0=$(fdhttpd_ticks "$spid")
  else
    "$srv" -m "$d" -w $workers >"$out" 2>"$tmp/srv.err" &
    spid=$!
    wait_for "$out" ready
    port=$(key "$out" port)
  fi
  timeout 120 "$lc" -p "$port" -c 8 -n "$conns" >"$tmp/lc.out" ||
    { echo "bench: loadclient failed for $d" >&2; exit 1; }
  if [ $fd = 1 ]; then
    t1=$(fdhttpd_ticks "$spid")
    stop
    cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.3f", (b - a) / hz }')
  else
    stop
    cpu=$(key "$out" cpu_s)
  fi
  ok=$(key "$tmp/lc.out" ok)
  [ "$ok" = "$conns" ] || {
    echo "bench: $d: only $ok of $conns requests ok:" $(grep '^errors' "$tmp/lc.out") >&2
    cat "$tmp/srv.err" >&2
    exit 1
  }
  case $d in
    iterative|fork) nw=1 ;;
    *) nw=$workers ;;
  esac
  spread=$(awk -F= -v nw="$nw" '/^worker\./ { sub(/^worker\./, "", $1); c[$1] = $2 }
    END { if (nw < 2) { print "nan"; exit }
          mx = 0; mn = -1
          for (i = 0; i < nw; i++) { v = c[i] + 0; if (v > mx) mx = v; if (mn < 0 || v < mn) mn = v }
          if (mn == 0) print "inf"; else printf "%.2f\n", mx / mn }' "$tmp/lc.out")
  printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$2" "$d" "$nw" "$ok" "$cpu" \
    "$(awk -v c="$cpu" -v n="$conns" 'BEGIN { printf "%.3f", c * 10000 / n }')" \
    "$(key "$tmp/lc.out" rps)" "$(key "$tmp/lc.out" p50_ms)" "$(key "$tmp/lc.out" p99_ms)" "$spread"
}

# can_steer: 0 when fdhttpd --accept=steered starts here (it needs CAP_BPF to load its
# program; without it the server exits at once with the reason).
can_steer() {
  : >"$tmp/probe.out"
  "$httpd" -l 127.0.0.1:0 -w 1 --accept=steered --access-log off >"$tmp/probe.out" 2>"$tmp/probe.err" &
  spid=$!
  i=0
  while [ -z "$(key "$tmp/probe.out" ready)" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$spid" 2>/dev/null || [ "$(ps -o stat= -p "$spid" | cut -c1)" = Z ]; then
      kill -KILL "$spid" 2>/dev/null || true
      wait "$spid" 2>/dev/null || true
      spid=
      return 1
    fi
    sleep 0.05
  done
  stop
}
note="load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other jobs shared the machine: compare rows of one run, not runs)"
if ! can_steer; then
  progress "fdhttpd-steered skipped: $(cat "$tmp/probe.err")"
  designs=$(echo $designs | sed 's/ fdhttpd-steered//')
  note="$note; fdhttpd-steered skipped (no CAP_BPF)"
fi

csv=$res/ch30.csv
{
  header "make bench-ch30 = sh bench/ch30.sh with ROUNDS=$rounds CONNS=$conns; each row: \$FDLAB_BUILD/bench/ch30srv -m DESIGN -w $workers (fdhttpd-MODE: labs/11-fdhttpd/fdhttpd -w $workers --accept=MODE) driven by bench/loadclient -c 8 -n $conns"
  echo "# note: $note"
  echo "round,design,workers,ok,cpu_s,cpu_per_10k_s,rps,p50_ms,p99_ms,spread"
} >"$tmp/csv"
r=1
while [ $r -le "$rounds" ]; do
  for d in $designs; do
    progress "round $r/$rounds: $d"
    run "$d" "$r" >>"$tmp/csv"
  done
  r=$((r + 1))
done
mv "$tmp/csv" "$csv"
progress "wrote $csv"

# Medians per design, in the order of $designs (the middle value of the rounds; the
# lower middle for an even count). Columns as in ch30.csv from cpu_per_10k_s on.
med() { # med DESIGN COLUMN
  grep -v '^#' "$csv" | awk -F, -v d="$1" -v c="$2" '$2 == d { print $c }' | sort -g |
    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
{
  sed -n 1p "$csv"
  echo "# columns: design,cpu_per_10k_s,rps,p99_ms,spread"
  for d in $designs; do
    echo "$d,$(med "$d" 6),$(med "$d" 7),$(med "$d" 9),$(med "$d" 10)"
  done
} >"$res/ch30-medians.csv"
{
  echo "UNP vol. 1 ch. 30 re-measured: $conns connections (one request each, 8 in flight) per design, $workers workers, median of $rounds rounds (\`make bench-ch30\`)."
  echo
  echo "| design | server CPU s per 10,000 conns (user+sys) | requests/s | p99 latency ms | worker spread max/min |"
  echo "|---|---:|---:|---:|---:|"
  grep -v '^#' "$res/ch30-medians.csv" | while IFS=, read -r d c q p s; do
    case $d in
      iterative) name="iterative (serv00)" ;;
      fork) name="fork per connection (serv01)" ;;
      prefork) name="pre-forked, blocking accept, no lock (serv02)" ;;
      fcntl) name="pre-forked, fcntl lock around accept (serv03)" ;;
      mutex) name="pre-forked, robust pshared mutex around accept (serv04)" ;;
      passfd) name="pre-forked, parent accepts and passes the fd (serv05)" ;;
      epoll) name="one epoll per worker, shared listener" ;;
      exclusive) name="EPOLLEXCLUSIVE" ;;
      reuseport) name="SO_REUSEPORT" ;;
      uring) name="io_uring per worker: multishot accept, direct descriptors (lab 13)" ;;
      fdhttpd-*) name="fdhttpd -w $workers --accept=${d#fdhttpd-} (lab 11)" ;;
    esac
    [ "$s" = nan ] && s="—"
    [ "$s" = inf ] && s="∞ (a worker served none)"
    echo "| $name | $c | $q | $p | $s |"
  done
  echo
  sed -n 1p "$csv" | sed 's/^# machine: /Machine: /'
  echo
  echo "Note: $note."
} >"$res/ch30-table.md"
progress "wrote $res/ch30-medians.csv and $res/ch30-table.md"
if [ $smoke = 1 ]; then
  progress "smoke: every design answered all $conns requests and stopped cleanly"
  exit 0
fi
plot ch30
progress "drew results/ch30.png and .svg"
