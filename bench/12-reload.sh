#!/bin/sh
# bench/12-reload.sh — lab 12's experiment (`make bench-12`): failed requests over time
# while fdhttpd is reloaded and upgraded, against a naive restart and against closing
# the listeners early.
#
# Three scenarios, one after the other, each on a fresh fdhttpd (-w 2, reuseport) under
# continuous open-loop load from three fdload clients started before the first event and
# stopped (SIGTERM: requests in flight finish) after the last one:
#   ka        -k --rate RATE_KA on 8 connections: kept-alive, with the client retry of
#             RFC 9112 9.3.1 (a request on a reused connection that sees EOF/RST before
#             any byte is resent once on a new connection, counted as retried)
#   ka_noretry  the same with --no-retry: the keep-alive race shows as errors
#   close     Connection: close at RATE_CLOSE on 8 connections: a new connection per
#             request, so every moment without a listener shows
# Scenarios and events (a PAUSE between events; every event waits for the server's
# own completion line, never a blind sleep):
#   handover  RELOADS SIGHUPs (each waits for reload=done: the old generation has
#             exited), then UPGRADES SIGUSR2s (each waits for upgrade=done, which the new
#             master prints once the old one has exited; the new one's master_pid= line
#             names the process to signal next)
#   naive     RESTARTS times: SIGTERM the master, wait until it has exited, start a new
#             fdhttpd on the same port and wait for its ready=1
#   early     EARLY SIGUSR2s of a server started with --no-handover (the old master
#             closes its listeners and drains before the new one binds fresh sockets);
#             each waits for the new master's ready=1 and for the old one to exit
#   overlap   OVERLAPS times the "overlapping reuseport" reload: a new fdhttpd binds its
#             own SO_REUSEPORT sockets on the same port (both generations serve), and
#             OVERLAP seconds after its ready=1 the old one gets SIGQUIT (stop accepting,
#             close its listeners, finish what is in flight); each waits for it to exit.
#             net.ipv4.tcp_migrate_req=0: what sits in the old listeners' queues is reset
#   overlap_migrate  the same with net.ipv4.tcp_migrate_req=1 (Linux 5.14): the queued
#             connections move to the new generation's listeners
# Every scenario runs in a network namespace of its own (labs/12-reload/netns: the
# sysctl is per namespace, so the host's is never changed), on its own loopback. Where
# the namespace may not be created (not root) the bench runs on the host's loopback
# and leaves both overlap scenarios out (the sysctl decides them), saying so.
# Output (each data file starts with machine, date and command):
#   results/12-reload-series.csv   scenario,client,t_s,ok,errors,refused,connect,reset,
#                                  eof,timeout,bad,retried: one row per INTERVAL per client
#                                  (what finished since the previous row; a row is longer
#                                  only when the client was not scheduled in time), t_s
#                                  when it was written, since the scenario's load started
#   results/12-reload-events.csv   scenario,n,event,t_sent_s,t_done_s
#   results/12-reload.csv          the summary: scenario,client,events,requests,ok,failed,
#                                  reset,refused,connect,eof,timeout,bad,retried (failed is
#                                  the sum of the five kinds after it; client "all" sums)
#   results/12-reload.png/.svg     errors per interval over time, one panel per scenario
#
#   sh bench/12-reload.sh           the benchmark: about 2-3 minutes on 2 cores
#   sh bench/12-reload.sh --smoke DIR   2 reloads, 1 upgrade, 2 restarts, 2 early
#                                   upgrades, 2 overlaps each under light load, the data files in DIR, no
#                                   plot (for the tests; about 10-20 s)
# Runs from the repository root with FDLAB_BUILD set (make bench-12 does both).
set -eu
. bench/lib.sh
build=${FDLAB_BUILD:-build/gcc}
srv=$build/labs/11-fdhttpd/fdhttpd
load=$build/labs/11-fdhttpd/fdload
smoke=0
if [ "${1:-}" = "--smoke" ]; then
  smoke=1
  res=${2:?usage: 12-reload.sh --smoke DIR}
  reloads=${RELOADS:-2} upgrades=${UPGRADES:-1} restarts=${RESTARTS:-2} early=${EARLY:-2}
  overlaps=${OVERLAPS:-2}
  settle=${SETTLE:-0.5}
  # Light load and a long timeout: the tests run it beside others, under ASan too, and
  # what they assert is which requests fail, not how fast the rest are.
  rate_ka=${RATE_KA:-200} rate_close=${RATE_CLOSE:-100} timeout=${TIMEOUT:-10}
else
  res=results
  reloads=${RELOADS:-50} upgrades=${UPGRADES:-20} restarts=${RESTARTS:-70} early=${EARLY:-20}
  overlaps=${OVERLAPS:-20}
  rate_ka=${RATE_KA:-1000} rate_close=${RATE_CLOSE:-400} timeout=${TIMEOUT:-2}
  settle=${SETTLE:-1}
fi
pause=${PAUSE:-0.3}        # seconds between events
overlap=${OVERLAP:-0.2}    # seconds both generations serve in an overlap
# settle: seconds of load before the first and after the last event (set above)
interval=${INTERVAL:-0.1}  # series interval
workers=2
for p in "$srv" "$load" "$build/bench/subreaper"; do
  [ -x "$p" ] || { echo "bench: $p missing: run make V=gcc all first" >&2; exit 1; }
done
# Run under bench/subreaper: a master started by an upgrade is orphaned when the old one
# exits, and must be reaped at once, not whenever init gets to it (see subreaper.c).
if [ -z "${FDLAB_SUBREAPED:-}" ]; then
  FDLAB_SUBREAPED=1 exec "$build/bench/subreaper" sh "$0" "$@"
fi
# Then in a network namespace of our own when we may (see the top).
netns=$build/labs/12-reload/netns
if [ -z "${FDLAB_NETNS:-}" ]; then
  if [ -x "$netns" ] && "$netns" true 2>/dev/null; then
    FDLAB_NETNS=own exec "$netns" sh "$0" "$@"
  fi
  FDLAB_NETNS=host
fi
migrate_sysctl=/proc/sys/net/ipv4/tcp_migrate_req
mkdir -p "$res"
tmp=$(mktemp -d)
master=      # the master to signal (changes with every upgrade and restart)
loadpids=
cleanup() {
  for p in $loadpids; do kill -KILL "$p" 2>/dev/null || true; done
  [ -n "$master" ] && kill -KILL "$master" 2>/dev/null || true
  # Workers of a killed master die with it only when they notice; make sure.
  for f in "$tmp"/*.srv; do
    [ -e "$f" ] || continue
    for p in $(sed -n 's/^master_pid=//p' "$f"); do kill -KILL "$p" 2>/dev/null || true; done
  done
  rm -rf "$tmp"
  return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now() { date +%s.%N; }
# key FILE KEY: the value of the last "KEY=" line of FILE ("" when absent).
key() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
# count FILE REGEX: lines of FILE matching REGEX; 0 when FILE does not exist yet (a
# server started with `>>LOG &` creates LOG in the background child: a loaded machine
# runs wait_lines first, and an empty count made `[ "" -lt N ]` an error that ended
# the wait at once — the driver then went on with no master pid).
count() { c=$(grep -c -- "$2" "$1" 2>/dev/null || true); echo "${c:-0}"; }
# wait_lines FILE REGEX N SECONDS: until FILE has N lines matching REGEX; fails after
# SECONDS (the server never said it), showing the file.
wait_lines() {
  deadline=$(($(date +%s) + $4))
  while [ "$(count "$1" "$2")" -lt "$3" ]; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "bench: no $3th line '$2' in $1 within $4 s:" >&2
      tail -n 20 "$1" >&2
      exit 1
    fi
    sleep 0.02
  done
}
# alive PID: the process exists and is not a zombie. A master started by an upgrade is
# not our child: when it exits it is a zombie until bench/subreaper reaps it; it has
# exited all the same.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ -n "$st" ] && [ "$st" != Z ]
}
# wait_gone PID SECONDS: until the process has exited (it may not be our child).
wait_gone() {
  deadline=$(($(date +%s) + $2))
  while alive "$1"; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "bench: process $1 did not exit within $2 s" >&2
      exit 1
    fi
    sleep 0.02
  done
  wait "$1" 2>/dev/null || true # reap it when it is our child
}

# start_server LOG PORT FLAGS...: start fdhttpd appending to LOG, wait for its n-th
# ready=1 (n = the ready lines LOG had + 1); sets master and port.
start_server() {
  log=$1 p=$2
  shift 2
  n=$(($(count "$log" '^ready=1') + 1))
  "$srv" -l "127.0.0.1:$p" -w $workers -a reuseport "$@" >>"$log" 2>>"$log.err" &
  wait_lines "$log" '^ready=1' "$n" 10
  master=$(key "$log" master_pid)
  port=$(key "$log" listening | sed 's/.*://')
}

# stop_server LOG: SIGTERM the current master and wait until it is gone.
stop_server() {
  kill -TERM "$master"
  wait_gone "$master" 10
  master=
}

# start_load SCENARIO: the three clients, each with its series file; returns
# when every one has written its first row.
start_load() {
  loadpids=
  now >"$tmp/$1.t0"
  for client in ka ka_noretry close; do
    case $client in
      ka) flags="-k -c 8 --rate $rate_ka" ;;
      ka_noretry) flags="-k -c 8 --rate $rate_ka --no-retry" ;;
      close) flags="-c 8 --rate $rate_close" ;;
    esac
    # shellcheck disable=SC2086 # flags are words
    "$load" -p "$port" -t 1 $flags -d 3600 --timeout "$timeout" --kv --series "$tmp/$1.$client.series" \
      --interval "$interval" >"$tmp/$1.$client.kv" 2>"$tmp/$1.$client.err" &
    loadpids="$loadpids $!"
  done
  for client in ka ka_noretry close; do
    wait_lines "$tmp/$1.$client.series" '^[0-9]' 1 10
  done
}

stop_load() {
  for p in $loadpids; do kill -TERM "$p"; done
  for p in $loadpids; do
    wait "$p" || { echo "bench: fdload failed:" >&2; cat "$tmp"/*.err >&2; exit 1; }
  done
  loadpids=
}

# end_scenario: the last SETTLE seconds of load, then stop the clients and the server.
end_scenario() {
  sleep "$settle"
  stop_load
  stop_server
}

# event SCENARIO N NAME: record an event's start (call before) ...
ev_start() { ev_t=$(now); }
# ... and its completion.
ev_done() { echo "$1,$2,$3,$ev_t,$(now)" >>"$tmp/events.raw"; }

scenario_handover() {
  log=$tmp/handover.srv
  start_server "$log" 0
  start_load handover
  sleep "$settle"
  i=1
  while [ $i -le "$reloads" ]; do
    progress "handover: reload $i/$reloads"
    ev_start
    kill -HUP "$master"
    wait_lines "$log" '^reload=done' $i 30
    ev_done handover $i reload
    sleep "$pause"
    i=$((i + 1))
  done
  i=1
  while [ $i -le "$upgrades" ]; do
    progress "handover: upgrade $i/$upgrades"
    old=$master
    ev_start
    kill -USR2 "$master"
    wait_lines "$log" '^upgrade=done' $i 30
    ev_done handover $((reloads + i)) upgrade
    master=$(key "$log" master_pid)
    [ "$master" != "$old" ] || { echo "bench: upgrade $i: no new master_pid in $log" >&2; exit 1; }
    wait_gone "$old" 30 # the old master drains and exits
    sleep "$pause"
    i=$((i + 1))
  done
  end_scenario
}

scenario_naive() {
  log=$tmp/naive.srv
  start_server "$log" 0
  start_load naive
  sleep "$settle"
  i=1
  while [ $i -le "$restarts" ]; do
    progress "naive: restart $i/$restarts"
    ev_start
    stop_server
    start_server "$log" "$port"
    ev_done naive $i restart
    sleep "$pause"
    i=$((i + 1))
  done
  end_scenario
}

scenario_early() {
  log=$tmp/early.srv
  start_server "$log" 0 --no-handover
  start_load early
  sleep "$settle"
  i=1
  while [ $i -le "$early" ]; do
    progress "early: upgrade $i/$early (--no-handover)"
    old=$master
    ev_start
    kill -USR2 "$master"
    # No hand-over, no upgrade=done: the new master binds its own sockets and says
    # ready=1 (the first start said it once); the old one drains and exits meanwhile.
    wait_lines "$log" '^ready=1' $((i + 1)) 30
    master=$(key "$log" master_pid)
    [ "$master" != "$old" ] || { echo "bench: early upgrade $i: no new master_pid" >&2; exit 1; }
    wait_gone "$old" 30
    ev_done early $i upgrade
    sleep "$pause"
    i=$((i + 1))
  done
  end_scenario
}

# overlap NAME SYSCTL: the overlapping-reuseport scenario with tcp_migrate_req=SYSCTL.
overlap() {
  echo "$2" >"$migrate_sysctl" || { echo "bench: cannot set $migrate_sysctl" >&2; exit 1; }
  log=$tmp/$1.srv
  start_server "$log" 0
  start_load "$1"
  sleep "$settle"
  i=1
  while [ $i -le "$overlaps" ]; do
    progress "$1: overlap $i/$overlaps (tcp_migrate_req=$2)"
    old=$master
    ev_start
    start_server "$log" "$port" # the new generation: its own sockets, same group
    [ "$master" != "$old" ] || { echo "bench: overlap $i: no new master_pid" >&2; exit 1; }
    sleep "$overlap"
    kill -QUIT "$old"
    wait_gone "$old" 30
    ev_done "$1" $i overlap
    sleep "$pause"
    i=$((i + 1))
  done
  end_scenario
  echo 0 >"$migrate_sysctl"
}
scenario_overlap() { overlap overlap 0; }
scenario_overlap_migrate() { overlap overlap_migrate 1; }

scenarios=${SCENARIOS:-handover naive early overlap overlap_migrate}
skipped=
if [ "$FDLAB_NETNS" != own ] || [ ! -w "$migrate_sysctl" ]; then
  # Not in a namespace of our own (the host's sysctl is not ours to change), or a
  # kernel before 5.14: both overlap scenarios need the sysctl, leave them out.
  why="no network namespace of our own (needs root)"
  [ "$FDLAB_NETNS" = own ] && why="$migrate_sysctl missing (Linux < 5.14)"
  skipped=" skipped: overlap overlap_migrate ($why)"
  scenarios=$(printf '%s\n' $scenarios | grep -v '^overlap' | tr '\n' ' ')
  progress "$skipped"
fi
: >"$tmp/events.raw"
how=
[ $smoke = 0 ] || how=" --smoke DIR"
cmd="make bench-12 = sh bench/12-reload.sh$how (RELOADS=$reloads UPGRADES=$upgrades RESTARTS=$restarts EARLY=$early OVERLAPS=$overlaps OVERLAP=$overlap PAUSE=$pause SETTLE=$settle INTERVAL=$interval RATE_KA=$rate_ka RATE_CLOSE=$rate_close TIMEOUT=$timeout); fdhttpd -w $workers -a reuseport; clients: fdload -t 1 -k -c 8 --rate $rate_ka [--no-retry] and -c 8 --rate $rate_close, --timeout $timeout -d 3600 --series (stopped by SIGTERM); network namespace: $FDLAB_NETNS$skipped"
started=$(date +%s)
for s in $scenarios; do
  progress "scenario $s"
  "scenario_$s"
done
progress "all scenarios in $(($(date +%s) - started)) s"

# ---- the data files
{
  header "$cmd"
  echo "scenario,client,t_s,ok,errors,refused,connect,reset,eof,timeout,bad,retried"
  for s in $scenarios; do
    t0=$(cat "$tmp/$s.t0")
    for client in ka ka_noretry close; do
      # series: t_s,unix_s,ok,errors,refused,connect,reset,eof,timeout,bad,retried
      awk -F, -v s="$s" -v c="$client" -v t0="$t0" 'NR > 1 {
        printf "%s,%s,%.3f", s, c, $2 - t0
        for (i = 3; i <= 11; i++) printf ",%s", $i
        printf "\n" }' "$tmp/$s.$client.series"
    done
  done
} >"$res/12-reload-series.csv"
{
  header "$cmd"
  echo "scenario,n,event,t_sent_s,t_done_s"
  while IFS=, read -r s n ev ts td; do
    t0=$(cat "$tmp/$s.t0")
    awk -v s="$s" -v n="$n" -v ev="$ev" -v ts="$ts" -v td="$td" -v t0="$t0" \
      'BEGIN { printf "%s,%s,%s,%.3f,%.3f\n", s, n, ev, ts - t0, td - t0 }'
  done <"$tmp/events.raw"
} >"$res/12-reload-events.csv"
{
  header "$cmd"
  echo "scenario,client,events,requests,ok,failed,reset,refused,connect,eof,timeout,bad,retried"
  for s in $scenarios; do
    events=$(grep -c "^$s," "$tmp/events.raw" || true)
    for client in ka ka_noretry close; do
      f=$tmp/$s.$client.kv
      echo "$s,$client,$events,$(key "$f" requests),$(key "$f" ok),$(key "$f" errors.transport),$(key "$f" kind.reset),$(key "$f" kind.refused),$(key "$f" kind.connect),$(key "$f" kind.eof),$(key "$f" kind.timeout),$(key "$f" kind.bad),$(key "$f" retried)"
    done
  done | tee "$tmp/summary.rows"
  awk -F, '{ k = $1; ev[k] = $3; for (i = 4; i <= 13; i++) sum[k, i] += $i
             if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
    END { for (j = 1; j <= n; j++) { k = order[j]; printf "%s,all,%s", k, ev[k]
            for (i = 4; i <= 13; i++) printf ",%d", sum[k, i]; printf "\n" } }' "$tmp/summary.rows"
} >"$res/12-reload.csv"
progress "wrote $res/12-reload.csv, 12-reload-series.csv, 12-reload-events.csv"
cat "$res/12-reload.csv" >&2
if [ $smoke = 0 ]; then
  plot 12-reload
  progress "drew results/12-reload.png and .svg"
fi
