#!/bin/sh
# bench/server.sh — fdhttpd versus the servers a user would pick, side by side in one run
# (`make bench-server`): nginx with sendfile on and off, h2o and lighttpd (Debian
# packages, installed when missing: bench/peers.sh) and fdhttpd.
#
# One server worker each, pinned to CPU 0 (fdhttpd -w 1, nginx worker_processes 1 — both
# with an idle master beside — h2o num-threads 1, lighttpd's single process); the load
# client fdload with one thread pinned to CPU 1. For every case and ROUNDS rounds
# (default 3) the servers run interleaved — the order rotates by one each round, so no
# server always follows the same one — with the same client settings for SECS seconds
# (default 3).
#
# Cases (files in a temporary docroot, served by all):
#   ka-13B       13-byte file, keep-alive          ka-4KiB     4 KiB file, keep-alive
#   ka-100KiB    100 KiB file, keep-alive          ka-10MiB    10 MiB file, keep-alive, 4 conns
#   close-13B    13 bytes, Connection: close (a new connection per request)
#   pipe16-13B   13 bytes, 16 requests pipelined per connection
# nginx-nosendfile is the same nginx worker on a second port with sendfile off.
#
# Per timed run: requests/s, MB/s read by the client and p99 (fdload --kv); the server's
# CPU time (every thread of its serving process, /proc/PID/task/*/schedstat: ns of run
# time, exact) divided by the requests; and who was busy: the server's CPU time and the
# client's (user + system of fdload, from the shell's `times`, 10 ms ticks) each as a
# share of the run's elapsed time. A run whose client was busy >= 90% of the time while
# the server was not is marked bound=client: its requests/s say how fast fdload is, not
# the server; its CPU per request still is the server's cost. (The machine has two CPUs:
# a second client would take the server's CPU, so the honest comparison there is CPU per
# request, not throughput.)
# Syscalls per request come from a separate fixed-count run per server and case (no
# tracing during the timed runs, so tracing costs never reach the CPU figures): `perf stat
# -e raw_syscalls:sys_enter,syscalls:sys_enter_<call>... -p WORKER` when perf works here
# (total plus a breakdown), else `strace -c -f -p WORKER`.
#
# Writes results/server.csv (a row per server/case/round), results/server-syscalls.csv
# (per server/case/syscall counts), results/server-profile.csv (kernel and user shares
# of the CPU, perf record -e cpu-clock, for the servers in PROFILE), results/server-summary.csv (medians per case, the
# best peer per case and fdhttpd's ratios to it; bench/server-summary.awk) and draws
# results/server.png/.svg (bench/server.gp).
# Runs from the repository root with FDLAB_BUILD set; 6 min 10 s with defaults (measured,
# peers already installed).
# NET=veth (root only; bench/server-veth.sh, `make bench-server-veth`) runs the same with
# the client in a network namespace of its own across a veth pair (bench/netns.sh): the
# servers listen on the pair's address instead of 127.0.0.1, and every file above is
# written as results/server-veth*.csv instead (no plot).
# Environment: SECS (default 3), ROUNDS (default 3), CONNS (default 50), SERVERS (default
# "nginx nginx-nosendfile h2o lighttpd fdhttpd"; fdhttpd must be among them), CASES (a
# space-separated subset of the case names; default all), PROFILE (servers to profile;
# default fdhttpd, "" for none), NET (lo, the default, or veth).
set -eu
. bench/lib.sh
. bench/peers.sh
. bench/netns.sh
secs=${SECS:-3}
rounds=${ROUNDS:-3}
conns=${CONNS:-50}
servers=${SERVERS:-nginx nginx-nosendfile h2o lighttpd fdhttpd}
only=${CASES:-}
net=${NET:-lo}
case $net in
lo) base=results/server; client=; netdesc="client and servers on loopback (127.0.0.1)" ;;
veth) base=results/server-veth; netdesc="the client in a network namespace of its own, across a veth pair (MTU 1500; bench/netns.sh), the servers on 10.250.250.1" ;;
*) echo "bench: NET must be lo or veth" >&2; exit 2 ;;
esac
out=$base.csv
sysout=$base-syscalls.csv
summary=$base-summary.csv
for t in taskset curl gnuplot; do
  command -v "$t" >/dev/null 2>&1 || { echo "bench: $t is needed and missing" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || { echo "bench: needs 2 CPUs (server on 0, client on 1)" >&2; exit 1; }
case " $servers " in *" fdhttpd "*) ;; *) echo "bench: SERVERS must include fdhttpd" >&2; exit 2 ;; esac
peers_install
if [ "$net" = veth ]; then
  netns_up || { echo "bench: skipped: NET=veth could not run here (above); nothing written" >&2; exit 77; }
  client=$netns_run
  export PEERS_ADDR=$netns_server
fi
peers_begin server
if [ "$net" = veth ]; then trap 'peers_stop; rm -rf "$tmp"; netns_down' EXIT; fi
peers_file 100k.bin 102400
peers_file 10m.bin 10485760

# --- how to count syscalls ---------------------------------------------------------------
sysmethod=none
if command -v perf >/dev/null 2>&1 && perf stat -x, -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
  sysmethod=perf
elif command -v strace >/dev/null 2>&1; then
  sysmethod=strace
fi
# perf: raw_syscalls:sys_enter gives the total; the per-call tracepoints below give the
# breakdown (the rest is reported as "other"). Listing them all (syscalls:sys_enter_*, ~350
# events) works too but costs perf ~15 s per attach, hence this short list.
perf_events=raw_syscalls:sys_enter
if [ "$sysmethod" = perf ]; then
  tracefs=/sys/kernel/tracing/events/syscalls
  [ -d "$tracefs" ] || tracefs=/sys/kernel/debug/tracing/events/syscalls
  for sc in read readv recvfrom recvmsg write writev sendto sendmsg sendfile64 splice \
            openat openat2 newfstatat statx close epoll_wait epoll_pwait epoll_ctl \
            accept4 accept setsockopt getsockopt ioctl pread64 brk mmap munmap shutdown; do
    if [ -d "$tracefs/sys_enter_$sc" ]; then perf_events="$perf_events,syscalls:sys_enter_$sc"; fi
  done
fi
progress "syscall counting: $sysmethod"

# --- start the servers -----------------------------------------------------------------
procs=
for s in $servers; do
  case $s in nginx-nosendfile) p=nginx ;; *) p=$s ;; esac
  case " $procs " in *" $p "*) ;; *) procs="$procs $p" ;; esac
done
for p in $procs; do
  peer_start "$p"
  progress "$p top=$(peer_top "$p") worker=$(peer_worker "$p") port $(peer_port "$p")"
done
nginx_version=$("$(peer_bin nginx)" -v 2>&1 | sed 's/.*: //')
h2o_version=$("$(peer_bin h2o)" --version 2>/dev/null | sed -n '1s/ version /\//p')
lighttpd_version=$("$(peer_bin lighttpd)" -v 2>/dev/null | sed -n '1s/ .*//p')

# Every server must serve the same bytes; otherwise the comparison means nothing.
for f in 13.txt 4k.bin 100k.bin 10m.bin; do
  for s in $servers; do
    # shellcheck disable=SC2086 # $client: empty, or the namespace's prefix
    if ! $client curl -sf "http://$peers_addr:$(peer_port "$s")/$f" | cmp -s - "$root/$f"; then
      echo "bench: $s (port $(peer_port "$s")) does not serve $f correctly" >&2
      exit 1
    fi
  done
done

# Children's user + system CPU seconds of this shell in `times` output FILE (second line).
# `times` itself must run in this shell (times >FILE), not in $(...) or a pipeline: a
# subshell would report its own children, none.
child_cpu() {
  awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); t += a[1] * 60 + a[2] } printf "%.3f\n", t }' "$1"
}

# case: name path bytes conns fdload-flags count-for-syscall-run
allcases="ka-13B /13.txt 13 $conns -k 20000
ka-4KiB /4k.bin 4096 $conns -k 20000
ka-100KiB /100k.bin 102400 $conns -k 5000
ka-10MiB /10m.bin 10485760 4 -k 100
close-13B /13.txt 13 $conns - 10000
pipe16-13B /13.txt 13 $conns --pipeline=16 40000"
echo "$allcases" | while read -r c rest; do
  if [ -z "$only" ] || echo " $only " | grep -q " $c "; then echo "$c $rest"; fi
done >"$tmp/cases"
[ -s "$tmp/cases" ] || { echo "bench: no case matches CASES=$only" >&2; exit 2; }

kvget() { sed -n "s/^$1=//p" "$2" | head -n 1; }

{
  header "NET=$net sh bench/server.sh (SECS=$secs ROUNDS=$rounds CONNS=$conns${only:+ CASES=$only}); $netdesc; server worker on CPU 0, client: taskset -c 1 \$FDLAB_BUILD/labs/11-fdhttpd/fdload -t 1 -c C [-k|--pipeline=16] -d $secs --path P --kv; $nginx_version worker_processes 1 (nginx: sendfile on; nginx-nosendfile: off); $h2o_version num-threads 1; $lighttpd_version; fdhttpd -w 1 -a reuseport; cpu = the serving process's run time from /proc/PID/task/*/schedstat; client_busy and server_busy = CPU time / elapsed; bound = client when the client was busy >= 0.90 and the server not"
  echo "server,case,round,bytes,conns,flags,requests,rps,mb_s,p50_us,p99_us,errors,cpu_ms,cpu_us_per_req,elapsed_s,server_busy,client_busy,bound"
} >"$out.tmp"

# --- timed runs, interleaved (the order rotates each round) -----------------------------
nservers=$(echo $servers | wc -w)
total=$(( $(wc -l <"$tmp/cases") * rounds * nservers ))
done_runs=0
while read -r c path bytes cc flags n; do
  [ "$flags" = - ] && flags=
  r=1
  while [ "$r" -le "$rounds" ]; do
    k=0
    while [ $k -lt "$nservers" ]; do
      # shellcheck disable=SC2086
      s=$(echo $servers | tr ' ' '\n' | sed -n "$(( (k + r - 1) % nservers + 1 ))p")
      k=$((k + 1))
      done_runs=$((done_runs + 1))
      port=$(peer_port "$s"); w=$(peer_worker "$s")
      progress "[$done_runs/$total] $c round $r/$rounds $s"
      c0=$(proc_cpu_ns "$w")
      times >"$tmp/times0"
      # shellcheck disable=SC2086
      $client taskset -c 1 "$fdload" -H "$peers_addr" -p "$port" -c "$cc" -t 1 $flags -d "$secs" --path "$path" --kv >"$tmp/run.kv" 2>"$tmp/run.err" \
        || { cat "$tmp/run.err" >&2; echo "bench: fdload failed ($s $c)" >&2; exit 1; }
      times >"$tmp/times1"
      u0=$(child_cpu "$tmp/times0"); u1=$(child_cpu "$tmp/times1")
      c1=$(proc_cpu_ns "$w") || { echo "bench: $s worker $w died during $c" >&2; exit 1; }
      req=$(kvget status.2xx "$tmp/run.kv")
      rps=$(kvget rps "$tmp/run.kv")
      bps=$(kvget read_bytes_per_s "$tmp/run.kv")
      p50=$(kvget latency.p50_us "$tmp/run.kv")
      p99=$(kvget latency.p99_us "$tmp/run.kv")
      el=$(kvget elapsed_s "$tmp/run.kv")
      errs=$(awk -F= '/^errors\./ { e += $2 } /^status\.[1345]xx=/ { e += $2 } END { print e + 0 }' "$tmp/run.kv")
      [ -n "$req" ] && [ "$req" -gt 0 ] || { cat "$tmp/run.kv" >&2; echo "bench: no successful requests ($s $c)" >&2; exit 1; }
      echo "$s,$c,$r,$bytes,$cc,${flags:-close},$req,$rps,$bps,$p50,$p99,$errs,$c0,$c1,$el,$u0,$u1" |
        awk -F, -v OFS=, '{
          cpu = ($14 - $13) / 1e6; sb = cpu / 1000 / $15; cb = ($17 - $16) / $15
          $9 = sprintf("%.2f", $9 / 1e6); $13 = sprintf("%.1f", cpu); $14 = sprintf("%.3f", cpu * 1000 / $7)
          $16 = sprintf("%.3f", sb); $17 = sprintf("%.3f", cb)
          $18 = (cb >= 0.9 && sb < 0.9) ? "client" : (sb >= 0.9 && cb < 0.9) ? "server" : (sb >= 0.9) ? "both" : "neither"
          print }' >>"$out.tmp"
      [ "$errs" -eq 0 ] || progress "  warning: $errs errors/non-2xx in $s $c"
    done
    r=$((r + 1))
  done
done <"$tmp/cases"
mv "$out.tmp" "$out"
progress "wrote $out"

# --- syscalls per request: fixed-count runs ---------------------------------------------
{
  header "syscalls of the server worker during taskset -c 1 fdload -t 1 -c C [-k|--pipeline=16] -n N --path P; counted with $sysmethod (perf stat -e raw_syscalls:sys_enter + syscalls:sys_enter_<call> -p WORKER; rest = other; or strace -c -f -p WORKER)"
  echo "server,case,requests,syscall,count,per_req"
} >"$sysout.tmp"
if [ "$sysmethod" != none ]; then
  while read -r c path bytes cc flags n; do
    [ "$flags" = - ] && flags=
    for s in $servers; do
      port=$(peer_port "$s"); w=$(peer_worker "$s")
      progress "syscalls: $c $s (-n $n, $sysmethod)"
      if [ "$sysmethod" = perf ]; then
        perf stat -x, -e "$perf_events" -p "$w" -o "$tmp/sys.txt" 2>/dev/null &
      else
        strace -c -f -p "$w" -o "$tmp/sys.txt" 2>/dev/null &
      fi
      tracer=$!
      sleep 0.5   # let the tracer attach before the first request
      # shellcheck disable=SC2086
      $client taskset -c 1 "$fdload" -H "$peers_addr" -p "$port" -c "$cc" -t 1 $flags -n "$n" --path "$path" --kv >"$tmp/run.kv" 2>"$tmp/run.err" \
        || { kill -INT "$tracer" 2>/dev/null; cat "$tmp/run.err" >&2; echo "bench: fdload failed ($s $c, syscalls)" >&2; exit 1; }
      kill -INT "$tracer"
      wait "$tracer" || true
      req=$(kvget status.2xx "$tmp/run.kv")
      if [ "$sysmethod" = perf ]; then
        awk -F, -v s="$s" -v c="$c" -v n="$req" -v OFS=, '
          $3 == "raw_syscalls:sys_enter" { total = $1 + 0 }
          $3 ~ /^syscalls:sys_enter_/ && $1 + 0 > 0 {
            name = $3; sub(/^syscalls:sys_enter_/, "", name); sum += $1; print s, c, n, name, $1, sprintf("%.3f", $1 / n) }
          END { if (total > sum) print s, c, n, "other", total - sum, sprintf("%.3f", (total - sum) / n) }' "$tmp/sys.txt"
      else
        awk -v s="$s" -v c="$c" -v n="$req" -v OFS=, '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
            print s, c, n, $NF, $4, sprintf("%.3f", $4 / n) }' "$tmp/sys.txt"
      fi | sort -t, -k5,5nr >>"$sysout.tmp"
    done
  done <"$tmp/cases"
fi
mv "$sysout.tmp" "$sysout"
progress "wrote $sysout"

# --- where the server's CPU goes: kernel or user space ----------------------------------
# perf record -e cpu-clock (a timer: no hardware counters needed) on the serving process
# during a SECS run per case, for the servers in PROFILE (default fdhttpd; "" skips):
# the share of samples in the kernel and in user space (the program, its libraries,
# the vDSO). When user space is a small share, the kernel's work (the same system calls
# every server makes) bounds the case, not the server's own code.
profout=$base-profile.csv
profile=${PROFILE-fdhttpd}
if [ -n "$profile" ] && [ "$sysmethod" = perf ] && perf record -e cpu-clock -o "$tmp/probe.data" true >/dev/null 2>&1; then
  {
    header "share of the serving process's perf record -e cpu-clock samples (-p WORKER, during taskset -c 1 fdload -t 1 -c C [-k|--pipeline=16] -d $secs --path P) in the kernel and in user space"
    echo "server,case,samples,kernel_share,user_share"
  } >"$profout.tmp"
  while read -r c path bytes cc flags n; do
    [ "$flags" = - ] && flags=
    for s in $profile; do
      port=$(peer_port "$s"); w=$(peer_worker "$s")
      [ -n "$port" ] || continue
      progress "profile: $c $s"
      # shellcheck disable=SC2086
      $client taskset -c 1 "$fdload" -H "$peers_addr" -p "$port" -c "$cc" -t 1 $flags -d "$secs" --path "$path" --kv >"$tmp/run.kv" 2>"$tmp/run.err" &
      load=$!
      perf record -e cpu-clock -p "$w" -o "$tmp/perf.data" -- sleep "$(awk -v s="$secs" 'BEGIN { print (s > 1 ? s - 0.5 : s) }')" >/dev/null 2>&1 || true
      wait "$load" || { cat "$tmp/run.err" >&2; echo "bench: fdload failed ($s $c, profile)" >&2; exit 1; }
      # -n: lines "share% samples object"
      perf report -i "$tmp/perf.data" -n --sort dso --stdio 2>/dev/null |
        awk -v s="$s" -v c="$c" '/^#/ { next } NF >= 3 && $1 ~ /%$/ { if ($3 ~ /kernel/) k += $2; else u += $2 }
          END { n = k + u; printf "%s,%s,%d,%.3f,%.3f\n", s, c, n, n ? k / n : 0, n ? u / n : 0 }' >>"$profout.tmp"
    done
  done <"$tmp/cases"
  mv "$profout.tmp" "$profout"
  progress "wrote $profout"
fi

# --- summary: medians per case and ratios ------------------------------------------------
awk -v servers="$servers" -f bench/server-summary.awk "$out" "$sysout" >"$summary.tmp"
{ header "medians of $out over $rounds rounds (syscalls from $sysout); best_cpu_peer = the peer with the least CPU per request, best_rps_peer = the one with the most requests/s; ratios = fdhttpd / that peer; *_bound = client when the client was busy >= 0.90 and the server not (medians)"; cat "$summary.tmp"; } >"$summary"
rm -f "$summary.tmp"
progress "wrote $summary"
grep -v "^#" "$summary" | column -s, -t >&2 || true
if [ "$net" = lo ]; then
  plot server
  progress "drew results/server.png and .svg"
fi
