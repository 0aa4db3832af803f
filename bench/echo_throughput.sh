#!/usr/bin/env bash
# Echo throughput: CONNECTIONS connections each sending 64-byte messages to one tcpka serve
# thread, at several offered loads, on loopback.
#
#   bench/echo_throughput.sh [CONNECTIONS] [SECONDS]      (defaults 10000 20)
#
# For each period, tcpka connect sends a message every PERIOD on every connection (one
# in flight per connection) and times its echo. Prints messages per second, serve's CPU,
# messages per second per core of serve, and the round trip's p50 and p99.
set -euo pipefail

CONNECTIONS=${1:-10000}
SECONDS_PER_RUN=${2:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TCPKA=$ROOT/build/tcpka
PORT=7002
TICKS=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

"$TCPKA" serve --listen 127.0.0.1:$PORT --log none >/dev/null &
server=$!
trap 'kill -9 $server 2>/dev/null || true' EXIT
sleep 0.5

echo "| period | offered msg/s | achieved msg/s | serve CPU | msg/s per serve core | connect CPU | p50 | p99 |"
echo "|---|---|---|---|---|---|---|---|"
for period in 1000ms 200ms 100ms 50ms 20ms; do
  ms=${period%ms}
  offered=$((CONNECTIONS * 1000 / ms))
  before=$(cpu_ticks $server)
  out=$(/usr/bin/time -f "%U %S" "$TCPKA" connect 127.0.0.1:$PORT --count "$CONNECTIONS" --rate 20000 \
        --send-every "$period" --size 64 --warmup 2s --duration "$((SECONDS_PER_RUN + 2))s" \
        --log json 2>/tmp/echo-bench-time)
  after=$(cpu_ticks $server)
  client_cpu=$(awk '{print $1 + $2}' /tmp/echo-bench-time | tail -1)
  echo "$out" | grep '"summary"' | python3 -c "
import json, sys
s = json.load(sys.stdin)
secs = $SECONDS_PER_RUN
serve_cpu = ($after - $before) / $TICKS * secs / (secs + 2)  # the warm-up's share left out
achieved = s['round_trips'] / secs
rt = s.get('round_trip_ms', {'p50': 0, 'p99': 0})
print(f\"| $period | $offered | {achieved:.0f} | {serve_cpu / secs * 100:.0f}% | {achieved / max(serve_cpu / secs, 1e-9):.0f} | {float('$client_cpu') / (secs + 2) * 100:.0f}% | {rt['p50']:.3f} ms | {rt['p99']:.3f} ms |\")
"
done
