#!/bin/sh
# bench/07-accept-lock.sh — lab 07: what an accept lock costs and saves.
#
# For each method (none = lab 06's unlocked epoll herd, fcntl, ofd, pmutex, nginx),
# N = 1, 2, 4, 8 workers and two loads — c=1 (one connection at a time: every idle
# worker is waiting, the herd's worst case) and c=8 — runs
#   alock -m METHOD -w N -n REQ -c C
# REPS times and writes one CSV row per run to results/07-accept-lock.csv:
#   wake-ups per connection (voluntary context switches in the accept path: the wait
#   for the listener plus the wait for the lock), EAGAIN-empty wake-ups, the workers'
#   CPU time per connection (getrusage via wait4), and the client's throughput.
# Then draws results/07-accept-lock.png/.svg (bench/07-accept-lock.gp).
# Env: REQ (3000), REPS (3). Runs from the repository root; FDLAB_BUILD names the
# build (make bench-7 sets build/gcc). About 30 s; progress on stderr.
set -eu
. bench/lib.sh

build=${FDLAB_BUILD:-build/gcc}
alock=$build/labs/07-accept-lock/alock
REQ=${REQ:-3000}
REPS=${REPS:-3}
out=results/07-accept-lock.csv
[ -x "$alock" ] || { echo "bench: $alock missing: run make V=gcc build-lab-07" >&2; exit 1; }

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
  header "make bench-7 = sh bench/07-accept-lock.sh with REQ=$REQ REPS=$REPS; each row: \$FDLAB_BUILD/labs/07-accept-lock/alock -m METHOD -w N -n $REQ -c C"
  echo "method,workers,concurrency,rep,requests,ok,errors,wakeups_per_conn,accept_wakeups_per_conn,lock_wakeups_per_conn,empty_wakeups,cpu_us_per_conn,rps,busy_workers"
} >"$tmp"

for c in 1 8; do
  for rep in $(seq 1 "$REPS"); do
    for n in 1 2 4 8; do
      for m in none fcntl ofd pmutex nginx; do
        progress "c=$c rep=$rep/$REPS workers=$n method=$m"
        if ! o=$("$alock" -m "$m" -w "$n" -n "$REQ" -c "$c"); then
          echo "bench: alock -m $m -w $n -c $c failed:" >&2
          printf '%s\n' "$o" >&2
          exit 1
        fi
        vals=$(kv_row "$o" "" requests ok errors wakeups_per_conn accept_wakeups_per_conn \
          lock_wakeups_per_conn empty_wakeups cpu_us_per_conn rps busy_workers)
        echo "$m,$n,$c,$rep$vals" >>"$tmp"
      done
    done
  done
done
mv "$tmp" "$out"
chmod 644 "$out" # mktemp made it private
trap - EXIT
progress "wrote $out"
plot 07-accept-lock
progress "wrote results/07-accept-lock.png and .svg"
