# bench/peers.sh — sourced by bench/server.sh and bench/server-callgrind.sh: fdhttpd and
# the servers it is compared with, each configured for one worker on one address:
# $PEERS_ADDR, 127.0.0.1 unless the caller set it (bench/server.sh NET=veth).
#
# peers_begin, peers_file  the programs, a private directory and the docroot (below)
# peers_install            installs nginx-light, h2o and lighttpd (Debian packages) when
#                          missing, through common/mk/deps.sh
# peer_start NAME [WRAP]   starts NAME (nginx, h2o, lighttpd, fdhttpd), pinned to CPU 0
#                          (taskset), its files in $tmp (pid, logs, config), listening on
#                          $peers_addr at free ports; WRAP (e.g. "valgrind --tool=callgrind
#                          ...") runs in front of the server. Returns once it answers
#                          $root/13.txt. Sets <name>_top (the process started, stopped by
#                          peers_stop) and <name>_worker (the process that serves:
#                          nginx's and fdhttpd's worker, h2o and lighttpd themselves).
#                          nginx serves two ports: sendfile on and off.
# peer_port SERVER         the port of SERVER (nginx, nginx-nosendfile, h2o, lighttpd,
#                          fdhttpd); peer_worker SERVER: its serving process
# peers_stop               SIGTERM to every started server, a bounded wait, then SIGKILL
# proc_cpu_ns PID          run time of every thread of PID (ns, /proc/PID/task/*/schedstat)
#
# Every server: one worker (nginx worker_processes 1, h2o num-threads 1, lighttpd's
# single process, fdhttpd -w 1), no access log, keep-alive without a request limit, the
# docroot $root ($tmp, $root and $fdhttpd come from peers_begin).
# Its variables are prefixed pr_ (sh has no locals). Unprivileged-safe: no port below 1024; as root nginx, h2o and fdhttpd
# (--user root) keep running as root (their default would switch to a user that may not read
# $tmp, nor write valgrind's output there).

peers_started=

# peers_begin NAME: $fdhttpd and $fdload of $FDLAB_BUILD (checked), a private directory
# $tmp (removed, every started server stopped, on exit) and in it the docroot $root with
# 13.txt (13 bytes) and 4k.bin; peers_file NAME BYTES adds a file of random bytes.
peers_begin() {
  build=${FDLAB_BUILD:-build/gcc}
  peers_addr=${PEERS_ADDR:-127.0.0.1}
  fdhttpd=$build/labs/11-fdhttpd/fdhttpd
  fdload=$build/labs/11-fdhttpd/fdload
  for pr_p in "$fdhttpd" "$fdload"; do
    [ -x "$pr_p" ] || { echo "bench: $pr_p missing: run make V=gcc all first" >&2; exit 1; }
  done
  tmp=$(mktemp -d "/tmp/fdlab-bench-$1.XXXXXX")
  chmod 755 "$tmp"
  trap 'peers_stop; rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM
  root=$tmp/root
  mkdir -p "$root"
  chmod 755 "$root"
  printf 'hello, world\n' >"$root/13.txt"
  chmod 644 "$root/13.txt"
  peers_file 4k.bin 4096
}

peers_file() {
  head -c "$2" /dev/urandom >"$root/$1"
  chmod 644 "$root/$1"
}

peers_install() {
  sh common/mk/deps.sh nginx-light h2o lighttpd >&2 || { echo "bench: could not install the peers" >&2; exit 1; }
}

peer_bin() {
  for pr_b in "$@"; do
    command -v "$pr_b" 2>/dev/null && return
    for pr_d in /usr/sbin /usr/bin; do [ -x "$pr_d/$pr_b" ] && { echo "$pr_d/$pr_b"; return; }; done
  done
  echo "bench: $1 not found" >&2
  exit 1
}

peer_children() { cat "/proc/$1/task/$1/children" 2>/dev/null | tr -s ' ' '\n' | sed '/^$/d'; }

# A port nothing listens on (sh cannot bind port 0 and keep it; the servers start one
# after the other, each listening before the next port is chosen, and a collision
# shows as a start failure, not as a wrong measurement).
free_port() {
  while :; do
    pr_p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 ))
    grep -q ":$(printf '%04X' "$pr_p") " /proc/net/tcp 2>/dev/null || { echo "$pr_p"; return; }
  done
}

proc_cpu_ns() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { if (NR == 0) exit 1; printf "%.0f\n", s }'
}

# Waits until PID (alive) answers GET /13.txt on PORT; dumps LOG and exits otherwise.
peer_wait() {
  pr_i=0
  while [ $pr_i -lt 900 ]; do
    kill -0 "$2" 2>/dev/null || { cat "$4" >&2 2>/dev/null; echo "bench: $1 did not start" >&2; exit 1; }
    curl -sSf -o /dev/null --max-time 10 "http://$peers_addr:$3/13.txt" 2>"$tmp/curl.err" && return 0
    sleep 0.1; pr_i=$((pr_i + 1))
  done
  cat "$4" >&2 2>/dev/null
  echo "bench: $1 does not answer on port $3 ($(cat "$tmp/curl.err"))" >&2
  exit 1
}

peer_start() {
  pr_name=$1; pr_wrap=${2:-}
  case $pr_name in
  nginx)
    nginx_port=$(free_port); nginx_off_port=$(free_port)
    while [ "$nginx_off_port" = "$nginx_port" ]; do nginx_off_port=$(free_port); done
    if [ "$(id -u)" -eq 0 ]; then pr_u='user root;'; else pr_u=; fi
    cat >"$tmp/nginx.conf" <<EOF
$pr_u
daemon off;
master_process on;
worker_processes 1;
error_log $tmp/nginx-error.log;
pid $tmp/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/client_body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  types { text/plain txt; }
  default_type application/octet-stream;
  tcp_nopush on;
  keepalive_requests 1000000;
  server { listen $peers_addr:$nginx_port; root $root; sendfile on; }
  server { listen $peers_addr:$nginx_off_port; root $root; sendfile off; }
}
EOF
    # shellcheck disable=SC2086
    taskset -c 0 $pr_wrap "$(peer_bin nginx)" -p "$tmp" -e "$tmp/nginx-error.log" -c "$tmp/nginx.conf" >"$tmp/nginx.out" 2>&1 &
    nginx_top=$!
    peers_started="$peers_started nginx" # before waiting: a failed start is stopped too
    peer_wait nginx "$nginx_top" "$nginx_port" "$tmp/nginx.out"
    nginx_worker=$(peer_children "$nginx_top" | head -n 1)
    ;;
  h2o)
    h2o_port=$(free_port)
    if [ "$(id -u)" -eq 0 ]; then pr_u='user: root'; else pr_u=; fi
    cat >"$tmp/h2o.conf" <<EOF
$pr_u
listen:
  host: $peers_addr
  port: $h2o_port
num-threads: 1
pid-file: $tmp/h2o.pid
error-log: $tmp/h2o-error.log
hosts:
  default:
    paths:
      /:
        file.dir: $root
EOF
    # shellcheck disable=SC2086
    taskset -c 0 $pr_wrap "$(peer_bin h2o)" -c "$tmp/h2o.conf" >"$tmp/h2o.out" 2>&1 &
    h2o_top=$!
    peers_started="$peers_started h2o"
    peer_wait h2o "$h2o_top" "$h2o_port" "$tmp/h2o.out"
    h2o_worker=$h2o_top
    ;;
  lighttpd)
    lighttpd_port=$(free_port)
    cat >"$tmp/lighttpd.conf" <<EOF
server.document-root = "$root"
server.bind = "$peers_addr"
server.port = $lighttpd_port
server.pid-file = "$tmp/lighttpd.pid"
server.errorlog = "$tmp/lighttpd-error.log"
server.max-keep-alive-requests = 1000000
server.max-fds = 8192
server.max-connections = 4096
mimetype.assign = (".txt" => "text/plain", "" => "application/octet-stream")
EOF
    # shellcheck disable=SC2086
    taskset -c 0 $pr_wrap "$(peer_bin lighttpd)" -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.out" 2>&1 &
    lighttpd_top=$!
    peers_started="$peers_started lighttpd"
    peer_wait lighttpd "$lighttpd_top" "$lighttpd_port" "$tmp/lighttpd.out"
    lighttpd_worker=$lighttpd_top
    ;;
  fdhttpd)
    # --access-log off: the others run without one; like for like. --user root: see above.
    # The old output goes first: the shell truncates it only once the child runs, and a
    # stale ready= line from an earlier start would name a port nobody listens on any more.
    rm -f "$tmp/fdhttpd.out"
    # shellcheck disable=SC2086
    taskset -c 0 $pr_wrap "$fdhttpd" -l "$peers_addr:0" -w 1 --root "$root" --access-log off --user root >"$tmp/fdhttpd.out" 2>"$tmp/fdhttpd.err" &
    fdhttpd_top=$!
    peers_started="$peers_started fdhttpd"
    pr_i=0
    while [ $pr_i -lt 900 ] && ! grep -q '^ready=1' "$tmp/fdhttpd.out"; do
      kill -0 "$fdhttpd_top" 2>/dev/null || { cat "$tmp/fdhttpd.err" >&2; echo "bench: fdhttpd did not start" >&2; exit 1; }
      sleep 0.1; pr_i=$((pr_i + 1))
    done
    fdhttpd_port=$(sed -n 's/^listening=.*://p' "$tmp/fdhttpd.out")
    [ -n "$fdhttpd_port" ] || { cat "$tmp/fdhttpd.out" "$tmp/fdhttpd.err" >&2; echo "bench: fdhttpd not ready after 90 s" >&2; exit 1; }
    peer_wait fdhttpd "$fdhttpd_top" "$fdhttpd_port" "$tmp/fdhttpd.err"
    fdhttpd_worker=$(peer_children "$fdhttpd_top" | head -n 1)
    ;;
  *) echo "bench: unknown server $pr_name" >&2; exit 2 ;;
  esac
}

peer_port() {
  case $1 in
  nginx) echo "$nginx_port" ;; nginx-nosendfile) echo "$nginx_off_port" ;;
  h2o) echo "$h2o_port" ;; lighttpd) echo "$lighttpd_port" ;; fdhttpd) echo "$fdhttpd_port" ;;
  esac
}

peer_worker() {
  case $1 in
  nginx*) echo "$nginx_worker" ;; h2o) echo "$h2o_worker" ;;
  lighttpd) echo "$lighttpd_worker" ;; fdhttpd) echo "$fdhttpd_worker" ;;
  esac
}

peer_top() { eval "echo \${$1_top:-}"; }

# Stops the servers named (default: every started one) and waits for them (bounded).
peers_stop() {
  pr_list=${*:-$peers_started}
  pr_pids=
  for pr_n in $pr_list; do
    pr_p=$(peer_top "$pr_n")
    [ -n "$pr_p" ] && kill -0 "$pr_p" 2>/dev/null && { kill -TERM "$pr_p" 2>/dev/null || true; pr_pids="$pr_pids $pr_p"; }
  done
  pr_i=0
  while [ $pr_i -lt 100 ]; do
    pr_alive=0
    for pr_p in $pr_pids; do kill -0 "$pr_p" 2>/dev/null && pr_alive=1; done
    [ $pr_alive -eq 0 ] && break
    sleep 0.1; pr_i=$((pr_i + 1))
  done
  for pr_p in $pr_pids; do kill -KILL "$pr_p" 2>/dev/null || true; done
  for pr_p in $pr_pids; do wait "$pr_p" 2>/dev/null || true; done
}
