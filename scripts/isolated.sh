#!/usr/bin/env bash
# Runs a command in a network namespace of its own, so every packet the tests
# and benchmarks send stays on this machine: loopback, plus one veth pair with
# an address from the benchmarking range (198.18.0.0/15, RFC 2544) and a
# default route into it. WebRTC needs that: Chromium and libwebrtc gather no
# candidates on loopback alone, and no candidates without a default route.
# Nothing is attached to the other end of the veth, so nothing can leave.
#
#   bash scripts/isolated.sh npm test
#   bash scripts/isolated.sh npm run bench
#
# Needs root (or unprivileged user namespaces) and iproute2; where it cannot
# make the namespace it says so and runs the command as it is.
set -euo pipefail
if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/isolated.sh <command> [args...]" >&2
  exit 2
fi
if [ "${SWARMDROP_ISOLATED:-}" = 1 ]; then
  exec "$@"
fi
setup='ip link set lo up &&
  ip link add sd0 type veth peer name sd1 &&
  ip addr add 198.18.0.1/24 dev sd0 &&
  ip link set sd0 up && ip link set sd1 up &&
  ip route add default via 198.18.0.2 dev sd0'
if command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 &&
  unshare -n bash -c "$setup" >/dev/null 2>&1; then
  exec unshare -n bash -c "$setup && SWARMDROP_ISOLATED=1 exec \"\$@\"" isolated "$@"
fi
if [ "$(id -u)" != 0 ] && command -v unshare >/dev/null 2>&1 &&
  unshare -rn bash -c "$setup" >/dev/null 2>&1; then
  exec unshare -rn bash -c "$setup && SWARMDROP_ISOLATED=1 exec \"\$@\"" isolated "$@"
fi
echo "isolated.sh: cannot make a network namespace here; running without one" >&2
exec "$@"
