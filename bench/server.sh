#!/bin/sh
# bench/server.sh — fdhttpd versus nginx, side by side in one run (`make bench-server`).
#
# One server worker each, pinned to CPU 0 (fdhttpd -w 1, its master idle beside it;
# nginx worker_processes 1, its master idle beside it); the load client fdload with one
# thread pinned to CPU 1. For every case and ROUNDS rounds (default 3) the servers run
# interleaved, nginx first, with the same client settings for SECS seconds (default 5).
#
# Cases (files in a temporary docroot, served by both):
#   ka-13B       13-byte file, keep-alive          ka-4KiB     4 KiB file, keep-alive
#   ka-100KiB    100 KiB file, keep-alive          ka-10MiB    10 MiB file, keep-alive (MB/s)
#   close-13B    13 bytes, Connection: close (a new connection per request)
#   pipe16-13B   13 bytes, 16 requests pipelined per connection
# nginx runs with sendfile on; an "nginx-nosendfile" server (same nginx process, a second
# listen port with sendfile off) joins the ka-13B and ka-10MiB cases.
#
# Per timed run: requests/s, MB/s read by the client and p99 (fdload --kv), and the
# worker's CPU time from /proc/PID/schedstat (ns of run time, exact; fallback: utime +
# stime from /proc/PID/stat in clock ticks) divided by the requests.
# Syscalls per request come from a separate fixed-count run per server and case (no
# tracing during the timed runs, so tracing costs never reach the CPU figures): `perf stat
# -e raw_syscalls:sys_enter,syscalls:sys_enter_<call>... -p WORKER` when perf works here
# (total plus a breakdown), else `strace -c -f -p WORKER`.
#
# Writes results/server.csv (a row per server/case/round), results/server-syscalls.csv
# (per server/case/syscall counts), results/server-summary.csv (medians per case and the
# ratios fdhttpd/nginx) and draws results/server.png/.svg (bench/server.gp).
# Runs from the repository root with FDLAB_BUILD set; about 4 minutes with defaults.
# Environment: SECS (default 5), ROUNDS (default 3), CONNS (default 50).
set -eu
. bench/lib.sh
build=${FDLAB_BUILD:-build/gcc}
fdhttpd=$build/labs/11-fdhttpd/fdhttpd
fdload=$build/labs/11-fdhttpd/fdload
secs=${SECS:-5}
rounds=${ROUNDS:-3}
conns=${CONNS:-50}
out=results/server.csv
sysout=results/server-syscalls.csv
summary=results/server-summary.csv
for p in "$fdhttpd" "$fdload"; do
  [ -x "$p" ] || { echo "bench: $p missing: run make V=gcc all first" >&2; exit 1; }
done
for t in taskset curl gnuplot; do
  command -v "$t" >/dev/null 2>&1 || { echo "bench: $t is needed and missing" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || { echo "bench: needs 2 CPUs (server on 0, client on 1)" >&2; exit 1; }

# --- nginx: install when missing (Debian package nginx) --------------------------------
nginx_bin=$(command -v nginx || true)
[ -n "$nginx_bin" ] || { [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx; } || true
if [ -z "$nginx_bin" ]; then
  progress "nginx missing: installing the Debian package nginx"
  if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "bench: nginx is not installed and I am not root and have no sudo: run 'apt-get install -y nginx' as root" >&2
    exit 1
  fi
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y nginx >&2; then
    echo "bench: 'apt-get install -y nginx' failed (try 'apt-get update' first, or install nginx by hand)" >&2
    exit 1
  fi
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$nginx_bin" ] || { echo "bench: nginx still missing after apt-get install" >&2; exit 1; }
fi

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

# --- temp dir, docroot, clean-up -------------------------------------------------------
tmp=$(mktemp -d /tmp/fdlab-bench-server.XXXXXX)
chmod 755 "$tmp"
root=$tmp/root
mkdir -p "$root"
printf 'hello, world\n' >"$root/13.txt"
head -c 4096 /dev/urandom >"$root/4k.bin"
head -c 102400 /dev/urandom >"$root/100k.bin"
head -c 10485760 /dev/urandom >"$root/10m.bin"
chmod 644 "$root"/*
chmod 755 "$root"
fd_master=
ng_master=
cleanup() {
  if [ -n "$fd_master" ] && kill -0 "$fd_master" 2>/dev/null; then
    kill -TERM "$fd_master" 2>/dev/null || true
  fi
  if [ -n "$ng_master" ] && kill -0 "$ng_master" 2>/dev/null; then
    kill -TERM "$ng_master" 2>/dev/null || true
  fi
  # Bounded wait for both masters (each stops its own workers).
  i=0
  while [ $i -lt 50 ]; do
    alive=0
    for m in $fd_master $ng_master; do if kill -0 "$m" 2>/dev/null; then alive=1; fi; done
    if [ $alive -eq 0 ]; then break; fi
    sleep 0.1; i=$((i + 1))
  done
  for m in $fd_master $ng_master; do kill -KILL "$m" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

children() { cat "/proc/$1/task/$1/children" 2>/dev/null | tr -s ' ' '\n' | sed '/^$/d'; }

# Free port: bind port 0 is not available from sh; pick from the kernel by asking fdhttpd
# would cost a process, so choose random high ports and check nothing listens there.
free_port() {
  while :; do
    p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 ))
    hex=$(printf '%04X' "$p")
    grep -q ":$hex " /proc/net/tcp 2>/dev/null || { echo "$p"; return; }
  done
}

# --- start nginx -----------------------------------------------------------------------
ng_port=$(free_port)
ng_off_port=$(free_port)
while [ "$ng_off_port" = "$ng_port" ]; do ng_off_port=$(free_port); done
if [ "$(id -u)" -eq 0 ]; then ng_user='user root;'; else ng_user=; fi
cat >"$tmp/nginx.conf" <<EOF
$ng_user
daemon off;
master_process on;
worker_processes 1;
error_log $tmp/error.log;
pid $tmp/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/client_body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  default_type application/octet-stream;
  tcp_nopush on;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$ng_port; root $root; sendfile on; }
  server { listen 127.0.0.1:$ng_off_port; root $root; sendfile off; }
}
EOF
taskset -c 0 "$nginx_bin" -p "$tmp" -e "$tmp/error.log" -c "$tmp/nginx.conf" >"$tmp/nginx.out" 2>&1 &
ng_master=$!
ng_worker=
i=0
while [ $i -lt 100 ]; do
  kill -0 "$ng_master" 2>/dev/null || { cat "$tmp/nginx.out" "$tmp/error.log" >&2 2>/dev/null; echo "bench: nginx did not start" >&2; exit 1; }
  ng_worker=$(children "$ng_master" | head -n 1)
  if [ -n "$ng_worker" ] && curl -sf -o /dev/null "http://127.0.0.1:$ng_port/13.txt"; then break; fi
  sleep 0.1; i=$((i + 1))
done
[ -n "$ng_worker" ] || { echo "bench: nginx worker not found" >&2; exit 1; }
progress "nginx $("$nginx_bin" -v 2>&1 | sed 's/.*: //') master=$ng_master worker=$ng_worker ports $ng_port (sendfile on) $ng_off_port (off)"

# --- start fdhttpd -----------------------------------------------------------------------
# --access-log off: nginx above runs with access_log off; like for like.
taskset -c 0 "$fdhttpd" -l 127.0.0.1:0 -w 1 --root "$root" --access-log off >"$tmp/fdhttpd.out" 2>"$tmp/fdhttpd.err" &
fd_master=$!
i=0
while [ $i -lt 100 ] && ! grep -q '^ready=1' "$tmp/fdhttpd.out"; do
  kill -0 "$fd_master" 2>/dev/null || { cat "$tmp/fdhttpd.err" >&2; echo "bench: fdhttpd did not start" >&2; exit 1; }
  sleep 0.1; i=$((i + 1))
done
grep -q '^ready=1' "$tmp/fdhttpd.out" || { echo "bench: fdhttpd not ready after 10 s" >&2; exit 1; }
fd_port=$(sed -n 's/^listening=.*://p' "$tmp/fdhttpd.out")
fd_worker=$(children "$fd_master" | head -n 1)
[ -n "$fd_worker" ] || { echo "bench: fdhttpd worker not found" >&2; exit 1; }
progress "fdhttpd master=$fd_master worker=$fd_worker port $fd_port"

# Both must serve the same bytes; otherwise the comparison means nothing.
for f in 13.txt 4k.bin 100k.bin 10m.bin; do
  for p in $ng_port $ng_off_port $fd_port; do
    if ! curl -sf "http://127.0.0.1:$p/$f" | cmp -s - "$root/$f"; then
      echo "bench: port $p does not serve $f correctly (fdhttpd=$fd_port nginx=$ng_port,$ng_off_port)" >&2
      exit 1
    fi
  done
done

port_of() { case $1 in nginx) echo "$ng_port" ;; nginx-nosendfile) echo "$ng_off_port" ;; fdhttpd) echo "$fd_port" ;; esac; }
worker_of() { case $1 in nginx*) echo "$ng_worker" ;; fdhttpd) echo "$fd_worker" ;; esac; }
# Run time of a task in ns: schedstat (exact) or stat ticks.
cpu_ns() {
  if [ -r "/proc/$1/schedstat" ]; then
    cut -d' ' -f1 "/proc/$1/schedstat"
  else
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1e9 / hz }' "/proc/$1/stat"
  fi
}

# case: name path bytes conns fdload-flags count-for-syscall-run servers
cases="ka-13B /13.txt 13 $conns -k 20000 nginx,nginx-nosendfile,fdhttpd
ka-4KiB /4k.bin 4096 $conns -k 20000 nginx,fdhttpd
ka-100KiB /100k.bin 102400 $conns -k 5000 nginx,fdhttpd
ka-10MiB /10m.bin 10485760 8 -k 100 nginx,nginx-nosendfile,fdhttpd
close-13B /13.txt 13 $conns - 10000 nginx,fdhttpd
pipe16-13B /13.txt 13 $conns --pipeline=16 40000 nginx,fdhttpd"

kvget() { sed -n "s/^$1=//p" "$2" | head -n 1; }

{
  header "make bench-server = sh bench/server.sh (SECS=$secs ROUNDS=$rounds CONNS=$conns); server worker on CPU 0, client: taskset -c 1 \$FDLAB_BUILD/labs/11-fdhttpd/fdload -t 1 -c C [-k|--pipeline=16] -d $secs --path P --kv; nginx $("$nginx_bin" -v 2>&1 | sed 's/.*: //') worker_processes 1; fdhttpd -w 1 -a reuseport; cpu = worker run time from /proc/PID/schedstat"
  echo "server,case,round,bytes,conns,flags,requests,rps,mb_s,p50_us,p99_us,errors,cpu_ms,cpu_us_per_req"
} >"$out.tmp"

# --- timed runs, interleaved -------------------------------------------------------------
total=0
echo "$cases" | while read -r c path bytes cc flags n servers; do
  for s in $(echo "$servers" | tr ',' ' '); do total=$((total + rounds)); done
  echo "$total"
done | tail -n 1 >"$tmp/total"
total=$(cat "$tmp/total")
done_runs=0
echo "$cases" >"$tmp/cases"
while read -r c path bytes cc flags n servers; do
  [ "$flags" = - ] && flags=
  r=1
  while [ "$r" -le "$rounds" ]; do
    for s in $(echo "$servers" | tr ',' ' '); do
      done_runs=$((done_runs + 1))
      port=$(port_of "$s"); w=$(worker_of "$s")
      progress "[$done_runs/$total] $c round $r/$rounds $s"
      c0=$(cpu_ns "$w")
      # shellcheck disable=SC2086
      taskset -c 1 "$fdload" -p "$port" -c "$cc" -t 1 $flags -d "$secs" --path "$path" --kv >"$tmp/run.kv" 2>"$tmp/run.err" \
        || { cat "$tmp/run.err" >&2; echo "bench: fdload failed ($s $c)" >&2; exit 1; }
      c1=$(cpu_ns "$w") || { echo "bench: $s worker $w died during $c" >&2; exit 1; }
      req=$(kvget status.2xx "$tmp/run.kv")
      rps=$(kvget rps "$tmp/run.kv")
      bps=$(kvget read_bytes_per_s "$tmp/run.kv")
      p50=$(kvget latency.p50_us "$tmp/run.kv")
      p99=$(kvget latency.p99_us "$tmp/run.kv")
      errs=$(awk -F= '/^errors\./ { e += $2 } /^status\.[1345]xx=/ { e += $2 } END { print e + 0 }' "$tmp/run.kv")
      [ -n "$req" ] && [ "$req" -gt 0 ] || { cat "$tmp/run.kv" >&2; echo "bench: no successful requests ($s $c)" >&2; exit 1; }
      echo "$s,$c,$r,$bytes,$cc,${flags:-close},$req,$rps,$bps,$p50,$p99,$errs,$c0,$c1" |
        awk -F, -v OFS=, '{ cpu = ($14 - $13) / 1e6; $9 = sprintf("%.2f", $9 / 1e6); $13 = sprintf("%.1f", cpu); $14 = sprintf("%.3f", cpu * 1000 / $7); print }' >>"$out.tmp"
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
  while read -r c path bytes cc flags n servers; do
    [ "$flags" = - ] && flags=
    for s in $(echo "$servers" | tr ',' ' '); do
      port=$(port_of "$s"); w=$(worker_of "$s")
      progress "syscalls: $c $s (-n $n, $sysmethod)"
      if [ "$sysmethod" = perf ]; then
        perf stat -x, -e "$perf_events" -p "$w" -o "$tmp/sys.txt" 2>/dev/null &
      else
        strace -c -f -p "$w" -o "$tmp/sys.txt" 2>/dev/null &
      fi
      tracer=$!
      sleep 0.5   # let the tracer attach before the first request
      # shellcheck disable=SC2086
      taskset -c 1 "$fdload" -p "$port" -c "$cc" -t 1 $flags -n "$n" --path "$path" --kv >"$tmp/run.kv" 2>"$tmp/run.err" \
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

# --- summary: medians per case and ratios ------------------------------------------------
awk -f bench/server-summary.awk "$out" "$sysout" >"$summary.tmp"
{ header "medians of $out over $rounds rounds (syscalls from $sysout); ratios = fdhttpd / nginx (sendfile on; *_vs_nosendfile: / nginx with sendfile off)"; cat "$summary.tmp"; } >"$summary"
rm -f "$summary.tmp"
progress "wrote $summary"
grep -v "^#" "$summary" | column -s, -t >&2 || true
plot server
progress "drew results/server.png and .svg"
