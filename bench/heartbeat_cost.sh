#!/usr/bin/env bash
# What 1 s heartbeats cost serve at scale: bench/hold.sh twice, the same connections
# held with and without `--heartbeat 1s` on both ends, side by side.
#
#   bench/heartbeat_cost.sh [CONNECTIONS] [IDLE_SECONDS] [INTERVAL]
#                                          (as root; defaults 100000 30 1s)
#
# Both ends run on this host, so every heartbeat costs the kernel twice: at 100,000
# connections and 1 s a 2-core machine does little else. The memory a connection costs
# does not depend on the interval; the CPU per ping does not depend on the count.
#
# The difference in serve's resident memory per connection is what heartbeats add (the
# deadline wheel's key; the rest fits in the connection's slot). CPU per ping is serve's
# CPU over the idle time divided by the pings it received and sent: each includes the
# pong, the read and the write, and the wheel's work.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONNECTIONS=${1:-100000}
IDLE_SECONDS=${2:-30}
INTERVAL=${3:-1s}

echo "### without heartbeats"
TCPKA_HOLD_PINGS=1 "$ROOT/bench/hold.sh" "$CONNECTIONS" "$IDLE_SECONDS"
echo
echo "### with --heartbeat $INTERVAL on both ends"
TCPKA_HOLD_PINGS=1 TCPKA_HOLD_SERVE_ARGS="--heartbeat $INTERVAL" \
  TCPKA_HOLD_CONNECT_ARGS="--heartbeat $INTERVAL" \
  "$ROOT/bench/hold.sh" "$CONNECTIONS" "$IDLE_SECONDS"
