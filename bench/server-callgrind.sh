#!/bin/sh
# bench/server-callgrind.sh — user-space instructions per request of fdhttpd and of the
# servers bench/server.sh compares it with (`make bench-server-callgrind`).
#
# Instruction counts do not depend on the machine's load, unlike CPU time: this is the
# measure to work on the hot path with while other programs share the CPUs. Each server
# (one worker, bench/peers.sh) runs under `valgrind --tool=callgrind`, which counts every
# instruction the serving process executes in user space (its threads together; not the
# kernel's work in its system calls). The client, fdload with ONE connection, sends a
# fixed number of requests one after the other, so every request is one trip through the
# event loop and the count is the same from run to run. Each server and case runs twice,
# each time freshly started and stopped: WARM requests, then WARM + N; the difference
# divided by N is the cost of one request, with start-up, the first request (opening the
# file, allocating) and shutdown subtracted out.
#
# Cases: ka-13B (13-byte file, keep-alive), ka-4KiB, close-13B (Connection: close, a new
# connection per request), pipe16-13B (16 requests pipelined per write).
# Writes results/server-callgrind.csv (per server and case: instructions per request)
# and results/server-callgrind-fdhttpd.csv (fdhttpd's ka-13B instructions per request by
# source file and function, self cost, from callgrind_annotate of both runs).
# Environment: N (default 10000), WARM (default 1024), SERVERS (default "fdhttpd nginx
# h2o lighttpd"), CASES (default all four), OUT (default results).
# Needs valgrind (installed when missing); about 3 minutes with the defaults.
set -eu
. bench/lib.sh
. bench/peers.sh
n=${N:-10000}
warm=${WARM:-1024}
servers=${SERVERS:-fdhttpd nginx h2o lighttpd}
cases=${CASES:-ka-13B ka-4KiB close-13B pipe16-13B}
outdir=${OUT:-results}
out=$outdir/server-callgrind.csv
funcs=$outdir/server-callgrind-fdhttpd.csv
[ $((n % 16)) -eq 0 ] && [ $((warm % 16)) -eq 0 ] || { echo "bench: N and WARM must be multiples of 16 (pipe16)" >&2; exit 2; }
sh common/mk/deps.sh valgrind >&2 || { echo "bench: valgrind is needed" >&2; exit 1; }
if [ "$servers" != fdhttpd ]; then peers_install; fi

peers_begin callgrind

# Instructions (Ir) of the serving process: its callgrind file's summary line.
ir_of() { sed -n 's/^summary: //p' "$tmp/cg.$1" | head -n 1; }

# run SERVER CASE COUNT TAG: one fresh server under callgrind, COUNT requests, stopped;
# leaves the worker's profile in $tmp/TAG and its instruction count in $tmp/ir. (Not
# run in $(...): a subshell would not share peers_started with the EXIT trap.)
run() {
  s=$1; c=$2; count=$3; tag=$4
  rm -f "$tmp"/cg.*
  peer_start "$s" "valgrind --tool=callgrind --callgrind-out-file=$tmp/cg.%p"
  port=$(peer_port "$s"); w=$(peer_worker "$s")
  case $c in
  ka-13B) flags="-k --path /13.txt" ;;
  ka-4KiB) flags="-k --path /4k.bin" ;;
  close-13B) flags="--path /13.txt" ;;
  pipe16-13B) flags="--pipeline=16 --path /13.txt" ;;
  *) echo "bench: unknown case $c" >&2; exit 2 ;;
  esac
  # shellcheck disable=SC2086
  "$fdload" -p "$port" -c 1 -t 1 $flags -n "$count" --timeout 30 --kv >"$tmp/run.kv" 2>"$tmp/run.err" \
    || { cat "$tmp/run.err" >&2; echo "bench: fdload failed ($s $c)" >&2; exit 1; }
  ok=$(sed -n 's/^status.2xx=//p' "$tmp/run.kv")
  # peer_wait's curl made one request too: it is in both runs, so it cancels out.
  [ "$ok" = "$count" ] || { cat "$tmp/run.kv" >&2; echo "bench: $s $c: $ok of $count answered 2xx" >&2; exit 1; }
  peers_stop "$s"
  peers_started=
  [ -s "$tmp/cg.$w" ] || { echo "bench: no callgrind profile for $s's worker $w" >&2; exit 1; }
  cp "$tmp/cg.$w" "$tmp/$tag"
  ir_of "$w" >"$tmp/ir"
}

{
  header "make bench-server-callgrind = sh bench/server-callgrind.sh (N=$n WARM=$warm); each server one worker under valgrind --tool=callgrind, fdload -c 1 -t 1 [-k|--pipeline=16] -n COUNT; instructions_per_req = (Ir after WARM+N requests - Ir after WARM) / N, user space of the serving process (every thread)"
  echo "server,case,requests,instructions,instructions_per_req"
} >"$out.tmp"
for c in $cases; do
  for s in $servers; do
    progress "callgrind: $s $c (WARM=$warm, then WARM+N=$((warm + n)))"
    run "$s" "$c" "$warm" "warm.$s.$c"; a=$(cat "$tmp/ir")
    run "$s" "$c" $((warm + n)) "full.$s.$c"; b=$(cat "$tmp/ir")
    echo "$s,$c,$n,$((b - a))" | awk -F, -v OFS=, '{ print $0, sprintf("%.0f", $4 / $3) }' >>"$out.tmp"
    progress "  $s $c: $(tail -n 1 "$out.tmp" | cut -d, -f5) instructions per request"
  done
done
mv "$out.tmp" "$out"
progress "wrote $out"

# fdhttpd's ka-13B by function: self cost in the long run minus the short one, per request.
if [ -f "$tmp/full.fdhttpd.ka-13B" ]; then
  {
    header "fdhttpd ka-13B, self instructions per request by function: (callgrind_annotate of the WARM+N run - of the WARM run) / N, N=$n (bench/server-callgrind.sh)"
    echo "file_function,instructions_per_req"
    for t in warm full; do
      # Lines "Ir (share)  file:function [object]": the function's self cost; code
      # inlined from a header shows under that header's name.
      callgrind_annotate --auto=no --threshold=100 "$tmp/$t.fdhttpd.ka-13B" 2>/dev/null |
        awk -v t="$t" '/^ *[0-9,]+ +\( *[0-9.]+%\) +[^ ]+:[^ ]+/ && !/PROGRAM TOTALS/ {
          ir = $1; gsub(/,/, "", ir); f = $0; sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", f); sub(/ .*$/, "", f)
          sub(/^.*\//, "", f); print t, f, ir }'
    done | awk -v n="$n" '{ v[$2] += ($1 == "full" ? $3 : -$3) }
      END { for (f in v) if (v[f] / n >= 1) printf "%s,%.0f\n", f, v[f] / n }' | sort -t, -k2,2nr
  } >"$funcs"
  progress "wrote $funcs"
fi
grep -v '^#' "$out" | column -s, -t >&2 || true
