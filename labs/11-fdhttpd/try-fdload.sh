#!/bin/sh
# The fdload transcript of note 11, run for real: starts fdhttpd on a free port with two
# workers, sends it 20,000 kept-alive requests (4 connections, 8 pipelined each), prints
# the command and fdload's report with the port shown as PORT, then drains the server.
# Abridged by one line: the per-worker split, which the reuseport hash makes vary by run.
# Usage: sh labs/11-fdhttpd/try-fdload.sh   (from the repository root; FDLAB_BUILD=build/gcc)
set -eu
bin=${FDLAB_BUILD:-build/gcc}/labs/11-fdhttpd
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
mkfifo "$tmp/out"
"$bin/fdhttpd" -l 127.0.0.1:0 -w 2 --access-log off >"$tmp/out" &
pid=$!
port=
exec 3<"$tmp/out"
while IFS= read -r line <&3; do # the server says where it listens, then ready=1
    case $line in
    listening=*) port=${line##*:} ;;
    ready=1) break ;;
    esac
done
[ -n "$port" ] || { echo "try-fdload: fdhttpd printed no listening= line" >&2; exit 1; }
args="-k -c 4 -t 1 --pipeline 8 -n 20000 --path /hello.txt"
echo "\$ build/gcc/labs/11-fdhttpd/fdload -p PORT $args"
# shellcheck disable=SC2086 # the arguments are split on purpose
"$bin/fdload" -p "$port" $args >"$tmp/report"
grep -v '^  Per worker' "$tmp/report" | sed "s/:$port\\//:PORT\\//"
