#!/usr/bin/env bash
# The hold benchmark against other echo servers a user might pick, driven by the same
# tcpka connect: N idle connections with keepalive on (idle 300 s), resident memory per
# connection, side by side in one run. One process each, so N stays under one process's
# descriptor limit. Connections open at 3,000 per second, which every one of them
# accepts without overflowing its listen queue (Go's does at 10,000).
#
#   bench/compare_servers.sh [CONNECTIONS]      (default 15000)
#
# Needs node (Node.js), go (Debian's golang-go) and python3; missing ones are skipped.
set -euo pipefail

CONNECTIONS=${1:-15000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TCPKA=$ROOT/build/tcpka
PEERS=$ROOT/bench/peers
WORK=$(mktemp -d)
pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill -9 "${pids[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
tcp_inuse() { awk '/^TCP:/ {print $3}' /proc/net/sockstat; }

# measure NAME PORT COMMAND...: start the server, hold CONNECTIONS, print a table row.
measure() {
  local name=$1 port=$2
  shift 2
  "$@" > "$WORK/$name.out" 2>&1 &
  local server=$!
  pids+=($server)
  for _ in $(seq 100); do grep -q listening "$WORK/$name.out" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  local before inuse
  before=$(rss_kib $server)
  inuse=$(tcp_inuse)
  "$TCPKA" connect 127.0.0.1:$port --count "$CONNECTIONS" --rate 3000 \
    --source 127.0.0.2-127.0.0.5 --hold --log none >/dev/null 2>&1 &
  local client=$!
  pids+=($client)
  local target=$((inuse + 2 * CONNECTIONS))
  for _ in $(seq 600); do [ "$(tcp_inuse)" -ge "$target" ] && break; sleep 0.1; done
  sleep 2
  local after held
  after=$(rss_kib $server)
  held=$(( ($(tcp_inuse) - inuse) / 2 ))
  awk -v name="$name" -v held="$held" -v b="$before" -v a="$after" 'BEGIN {
    printf "| %s | %d | %.1f MiB | %.1f MiB | %.0f B |\n", name, held, b / 1024, a / 1024, (a - b) * 1024 / held }'
  kill -9 $client $server 2>/dev/null || true
  wait $client $server 2>/dev/null || true
  sleep 1
}

echo "| server | connections held | RSS before | RSS holding them | RSS per connection |"
echo "|---|---|---|---|---|"
measure "tcpka serve (C++, epoll)" 7101 "$TCPKA" serve --listen 127.0.0.1:7101 \
  --policy idle=300s,intvl=30s,cnt=4,ut=auto --log none
if command -v go >/dev/null; then
  (cd "$PEERS" && go build -o "$WORK/echo-go" echo.go)
  measure "Go $(go version | awk '{print $3}') net (goroutine per connection)" 7102 "$WORK/echo-go" 7102 300
fi
if command -v node >/dev/null; then
  measure "Node.js $(node --version) net" 7103 node "$PEERS/echo.js" 7103 300000
fi
if [ -x /usr/bin/python3 ]; then
  measure "Python $(/usr/bin/python3 --version | awk '{print $2}') asyncio" 7104 /usr/bin/python3 "$PEERS/echo.py" 7104 300
fi
