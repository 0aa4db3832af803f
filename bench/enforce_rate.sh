#!/usr/bin/env bash
# The cost of tcpka enforce on connection setup: bench/connection_rate.cpp (one thread,
# loopback, connect + accept + abort, as fast as it goes) in a cgroup of its own, ROUNDS
# times without the sockops program attached and ROUNDS times with `tcpka enforce
# --cgroup ... --policy 2:1:3,ut=auto` attached, alternating in one run so that the
# machine's drift lands on both. Prints each round and the medians: connections a
# second, the ratio (the issue's goal: at least 97 %), and the cost per connection
# (1/with - 1/without; each connection is two established ends, both covered). A third
# variant, `self`, has the program set the same options itself with setsockopt() on
# both ends: what keepalive costs when a program asks for it the usual way.
#
#   bench/enforce_rate.sh [SECONDS] [ROUNDS]      (as root; defaults 5 5)
set -euo pipefail

SECONDS_=${1:-5}
ROUNDS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TCPKA=$ROOT/build/tcpka
RATE=$ROOT/build/bench/connection_rate

[ "$(id -u)" -eq 0 ] || { echo "enforce_rate.sh: run as root (BPF, cgroups)" >&2; exit 3; }
[ -x "$TCPKA" ] && [ -x "$RATE" ] || { echo "enforce_rate.sh: build first (./dev setup)" >&2; exit 3; }
MOUNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$MOUNT" ] || { echo "enforce_rate.sh: no cgroup2 hierarchy is mounted" >&2; exit 3; }
CGROUP=/tcpka-enforce-rate-$$
mkdir "$MOUNT$CGROUP"
ERR=$(mktemp /tmp/tcpka-enforce-rate.XXXXXX)
enforce=""
cleanup() {
  if [ -n "$enforce" ]; then kill "$enforce" 2>/dev/null || true; wait "$enforce" 2>/dev/null || true; fi
  rmdir "$MOUNT$CGROUP" 2>/dev/null || true
  rm -f "$ERR"
}
trap cleanup EXIT

# One round in the cgroup, in a private network namespace (loopback only, its own ports).
round() {
  unshare --net sh -c "ip link set lo up && echo \$\$ > '$MOUNT$CGROUP/cgroup.procs' && exec '$RATE' $SECONDS_ ${1:-}" |
    awk '{ print $6 }'
}

without=()
with=()
self=()
for r in $(seq "$ROUNDS"); do
  without+=("$(round)")
  self+=("$(round self)")
  "$TCPKA" enforce --cgroup "$CGROUP" --policy 2:1:3,ut=auto 2>"$ERR" &
  enforce=$!
  until grep -q enforcing "$ERR"; do
    kill -0 "$enforce" 2>/dev/null || { echo "enforce_rate.sh: tcpka enforce failed" >&2; exit 3; }
    sleep 0.05
  done
  with+=("$(round)")
  kill -INT "$enforce"; wait "$enforce" || true; enforce=""
  echo "round $r: without ${without[-1]}/s, program sets it ${self[-1]}/s, with enforce ${with[-1]}/s" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m_without=$(median "${without[@]}")
m_with=$(median "${with[@]}")
m_self=$(median "${self[@]}")
awk -v a="$m_without" -v b="$m_with" -v c="$m_self" -v s="$SECONDS_" -v n="$ROUNDS" 'BEGIN {
  printf "| connections/s without | program sets it itself | with enforce | enforce/without | cost per connection | enforce/self |\n|---|---|---|---|---|---|\n"
  printf "| %d | %d | %d | %.1f %% | %.2f µs | %.1f %% |\n", a, c, b, 100 * b / a, (1 / b - 1 / a) * 1e6, 100 * b / c
  printf "(medians of %d rounds of %s s each)\n", n, s
}'
