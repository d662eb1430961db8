#!/bin/sh
# Install what `make test` needs when it is missing, and nothing else.
# Usage: deps.sh [extra Debian packages...]
# Checks first (so a machine that has everything never calls apt-get), then installs
# with apt-get, through sudo when not root. Exits non-zero with a clear message
# when it cannot install.
set -eu

need=""
pkg-config --version >/dev/null 2>&1 || need="$need pkg-config"
if ! pkg-config --exists criterion 2>/dev/null; then need="$need libcriterion-dev"; fi
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v clang >/dev/null 2>&1 || need="$need clang"
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || need="$need libclang-rt-14-dev"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v ab >/dev/null 2>&1 || need="$need apache2-utils"
# linux/bpf.h: the reuseport steering program is assembled against the UAPI header.
[ -f /usr/include/linux/bpf.h ] || need="$need linux-libc-dev"
command -v dot >/dev/null 2>&1 || need="$need graphviz"
[ -e /usr/include/liburing.h ] || need="$need liburing-dev"
for p in "$@"; do
  case "$p" in
    gnuplot-nox) command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox" ;;
    # Servers and tools found by their program (any package that provides it will do;
    # /usr/sbin may be off a user's PATH).
    nginx-light) command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx-light" ;;
    lighttpd) command -v lighttpd >/dev/null 2>&1 || [ -x /usr/sbin/lighttpd ] || need="$need lighttpd" ;;
    h2o | valgrind) command -v "$p" >/dev/null 2>&1 || need="$need $p" ;;
    *) dpkg -s "$p" >/dev/null 2>&1 || need="$need $p" ;;
  esac
done

[ -z "$need" ] && exit 0

echo "deps: installing:$need"
if [ "$(id -u)" -eq 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"
else
  echo "deps: missing:$need — not root and no sudo; install them with apt-get and rerun" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing:$need — no apt-get on this machine; install them by hand" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null || { echo "deps: apt-get update failed" >&2; exit 1; }
# The web servers the bench compares with are started by the bench itself, on loopback
# and high ports: their packages must not start a system service on port 80 when
# installed. policy-rc.d (exit 101: "not allowed") is Debian's switch for that; one we
# put there is removed again.
policy=""
case "$need" in *nginx*|*h2o*|*lighttpd*)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d \
      && policy=/usr/sbin/policy-rc.d
  fi ;;
esac
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null; rc=$?
[ -n "$policy" ] && $SUDO rm -f "$policy"
[ "$rc" -eq 0 ] || { echo "deps: apt-get install$need failed" >&2; exit 1; }
echo "deps: done"
