#!/bin/sh
# bench/09-master-dispatch.sh — lab 09's benchmark (`make bench-9`).
#
# For the baseline (self: the workers accept themselves) and the three dispatch
# policies (first_idle, round_robin, least_loaded), 4 workers, CONNS requests
# (default 5000) with 1 and with 8 in flight, REPS times (default 5), records from
# the lab's output: the per-worker counts, CPU time per connection of master +
# workers (each process's own getrusage between ready and stop) and its master
# share, context switches per connection, and the client's p50/p99 latency,
# into results/09-master-dispatch.csv; then draws results/09-master-dispatch.png/.svg.
# Runs from the repository root with FDLAB_BUILD set (make bench-9 does both);
# about 30 s on 2 cores.
set -eu
. bench/lib.sh
build=${FDLAB_BUILD:-build/gcc}
lab=$build/labs/09-master-dispatch/lab
conns=${CONNS:-5000}
reps=${REPS:-5}
workers=4
out=results/09-master-dispatch.csv
tmp=$out.tmp
[ -x "$lab" ] || { echo "bench: $lab missing: run make V=gcc all first" >&2; exit 1; }

keys="conns errors cpu_us_per_conn master_cpu_us_per_conn workers_cpu_us_per_conn csw_per_conn p50_us p99_us worker.0 worker.1 worker.2 worker.3 clean"
{
  header "make bench-9 = sh bench/09-master-dispatch.sh with CONNS=$conns REPS=$reps; each row: \$FDLAB_BUILD/labs/09-master-dispatch/lab -m MODE -w $workers -n $conns -c CONC"
  echo "mode,workers,concurrency,rep,conns,errors,cpu_us_per_conn,master_cpu_us_per_conn,workers_cpu_us_per_conn,csw_per_conn,p50_us,p99_us,w0,w1,w2,w3,clean"
} >"$tmp"
rep=1
# Repetitions outermost, so a burst of load from elsewhere on the machine spreads
# over all modes instead of spoiling one.
while [ "$rep" -le "$reps" ]; do
  for conc in 1 8; do
    for mode in self first_idle round_robin least_loaded; do
      progress "rep=$rep/$reps concurrency=$conc mode=$mode"
      o=$("$lab" -m "$mode" -w "$workers" -n "$conns" -c "$conc") ||
        { echo "bench: lab -m $mode -c $conc failed:" >&2; printf '%s\n' "$o" >&2; exit 1; }
      # $keys unquoted: one argument per key
      vals=$(kv_row "$o" "$mode.c$conc." $keys)
      echo "$mode,$workers,$conc,$rep$vals" >>"$tmp"
    done
  done
  rep=$((rep + 1))
done
mv "$tmp" "$out"
progress "wrote $out"
plot 09-master-dispatch
progress "drew results/09-master-dispatch.png and .svg"
