#!/bin/sh
# bench/06-thundering-herd.sh — lab 06's benchmark (`make bench-6`).
#
# For both modes (blocking accept, one epoll instance per worker) and N = 1, 2, 4, 8,
# 16 workers, drives CONNS connections (default 1000) with 1 and with 4 in flight,
# REPS times (default 3), and records the lab's per-connection counts:
#   wakeups_per_conn  voluntary context switches inside accept/epoll_wait (kernel wake-ups)
#   returns_per_conn  how often accept/epoll_wait returned to the worker
#   eagain_per_conn   accept() calls that lost the race
#   csw_per_conn      all voluntary context switches of all workers but the one sleep
#                     of each that the final shutdown ends (never below wakeups_per_conn)
# into results/06-thundering-herd.csv, then draws results/06-thundering-herd.png/.svg.
# A run that failed (lab exit status != 0: a request failed, a connection was not
# accepted, or a worker did not report) or printed errors != 0 stops the bench with
# its output on stderr, so no row ever comes from a run with errors.
# Runs from the repository root with FDLAB_BUILD set (make bench-6 does both); about
# 30 s on 2 cores.
set -eu
. bench/lib.sh
build=${FDLAB_BUILD:-build/gcc}
lab=$build/labs/06-thundering-herd/lab
conns=${CONNS:-1000}
reps=${REPS:-3}
out=results/06-thundering-herd.csv
tmp=$out.tmp
[ -x "$lab" ] || { echo "bench: $lab missing: run make V=gcc all first" >&2; exit 1; }

{
  header "make bench-6 = sh bench/06-thundering-herd.sh with CONNS=$conns REPS=$reps; each row: \$FDLAB_BUILD/labs/06-thundering-herd/lab -m MODE -w N -n $conns -c CONC"
  echo "mode,workers,concurrency,rep,conns,wakeups_per_conn,returns_per_conn,eagain_per_conn,csw_per_conn,busy_workers"
} >"$tmp"
for conc in 1 4; do
  for mode in accept epoll; do
    for n in 1 2 4 8 16; do
      rep=1
      while [ "$rep" -le "$reps" ]; do
        progress "mode=$mode workers=$n concurrency=$conc rep=$rep/$reps"
        if ! o=$("$lab" -m "$mode" -w "$n" -n "$conns" -c "$conc"); then
          echo "bench: lab -m $mode -w $n -n $conns -c $conc failed:" >&2
          printf '%s\n' "$o" >&2
          exit 1
        fi
        errors=$(printf '%s\n' "$o" | sed -n "s/^$mode\.n$n\.errors=//p")
        if [ "$errors" != 0 ]; then
          echo "bench: lab -m $mode -w $n -n $conns -c $conc: errors=${errors:-missing}" >&2
          printf '%s\n' "$o" >&2
          exit 1
        fi
        vals=$(kv_row "$o" "$mode.n$n." conns wakeups_per_conn returns_per_conn eagain_per_conn \
          csw_per_conn busy_workers)
        echo "$mode,$n,$conc,$rep$vals" >>"$tmp"
        rep=$((rep + 1))
      done
    done
  done
done
mv "$tmp" "$out"
progress "wrote $out"
plot 06-thundering-herd
progress "drew results/06-thundering-herd.png and .svg"
