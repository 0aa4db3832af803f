#!/usr/bin/env bash
# Hold benchmark: N idle connections with keepalive on, tcpka serve on one side and
# tcpka connect on the other, on loopback in a private network namespace.
#
#   bench/hold.sh [CONNECTIONS] [IDLE_SECONDS]      (as root; defaults 1000000 60)
#
# Each process may hold at most RLIMIT_NOFILE descriptors, and this sandbox's hard limit
# cannot be raised (no CAP_SYS_RESOURCE), so the connections are spread over several
# serve processes sharing one port (--reuse-port) and several connect processes.
# Measured: time to establish everything (the accept rate), serve's resident memory per
# connection, the kernel's slab memory per socket, and CPU over IDLE_SECONDS of idleness.
# Prints a Markdown table. Everything it starts dies with it; the namespace with them.
#
# For bench/heartbeat_cost.sh: TCPKA_HOLD_SERVE_ARGS and TCPKA_HOLD_CONNECT_ARGS add
# options to every serve and connect (word-split), and with TCPKA_HOLD_PINGS=1 serve logs
# JSON to files and the table counts the pings serve received and sent over the idle time.
set -euo pipefail

CONNECTIONS=${1:-1000000}
IDLE_SECONDS=${2:-60}
POLICY=idle=300s,intvl=30s,cnt=4,ut=auto
PORT=7001

if [ -z "${TCPKA_HOLD_IN_NAMESPACE:-}" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "hold.sh: run as root (it makes a private network namespace)" >&2; exit 3; }
  export TCPKA_HOLD_IN_NAMESPACE=1
  exec unshare --net -- "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TCPKA=$ROOT/build/tcpka
ip link set lo up

FD_LIMIT=$(ulimit -Hn)
PER_PROCESS=$((FD_LIMIT - 64))
# Servers get headroom: SO_REUSEPORT spreads connections by hash, not evenly.
SERVERS=$(( (CONNECTIONS * 6 / 5 + PER_PROCESS - 1) / PER_PROCESS ))
CLIENTS=$(( (CONNECTIONS + PER_PROCESS - 1) / PER_PROCESS ))
PER_CLIENT=$(( (CONNECTIONS + CLIENTS - 1) / CLIENTS ))
RATE_PER_CLIENT=$(( 60000 / CLIENTS + 1 ))

pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill -9 "${pids[@]}" 2>/dev/null || true; }
# Ctrl-C or a kill ends the run, and with it everything it started (the namespace dies
# with its last process).
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sum_rss_kib() {  # resident memory of the given pids, KiB
  local total=0
  for pid in "$@"; do
    total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")))
  done
  echo "$total"
}
sum_cpu_ticks() {  # user + system clock ticks of the given pids
  local total=0
  for pid in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
tcp_inuse() { awk '/^TCP:/ {print $3}' /proc/net/sockstat; }
# Slab memory of everything a TCP connection allocates: socket, inode, file, dentry,
# epoll item. (Each connection is two sockets here: both ends are on this host.)
slab_kib() {
  awk '$1 ~ /^(TCP|TCPv6|sock_inode_cache|filp|dentry|eventpoll_epi|eventpoll_pwq|kmalloc-(64|128|192|256))$/ \
       {total += $3 * $4} END {printf "%d", total / 1024}' /proc/slabinfo
}
mem_used_kib() { awk '/^MemTotal:/ {t=$2} /^MemAvailable:/ {a=$2} END {print t - a}' /proc/meminfo; }

SERVE_ARGS=${TCPKA_HOLD_SERVE_ARGS:-}
CONNECT_ARGS=${TCPKA_HOLD_CONNECT_ARGS:-}
LOGS=$(mktemp -d)
trap 'cleanup; rm -rf "$LOGS"' EXIT
server_pids=()
for i in $(seq "$SERVERS"); do
  if [ -n "${TCPKA_HOLD_PINGS:-}" ]; then
    # shellcheck disable=SC2086
    "$TCPKA" serve --listen 127.0.0.1:$PORT --reuse-port --policy "$POLICY" $SERVE_ARGS \
      --log json >"$LOGS/serve-$i.log" &
  else
    # shellcheck disable=SC2086
    "$TCPKA" serve --listen 127.0.0.1:$PORT --reuse-port --policy "$POLICY" $SERVE_ARGS \
      --log none >/dev/null &
  fi
  server_pids+=($!)
  pids+=($!)
done
# Pings serve received plus sent, summed over the serve processes' last summaries
# (each prints one on SIGHUP).
serve_pings() {
  [ -n "${TCPKA_HOLD_PINGS:-}" ] || { echo 0; return; }
  local before
  before=$(cat "$LOGS"/serve-*.log | grep -c '"summary"' || true)
  kill -HUP "${server_pids[@]}"
  local deadline=$(( $(date +%s) + 30 ))
  while [ "$(cat "$LOGS"/serve-*.log | grep -c '"summary"' || true)" -lt $((before + SERVERS)) ] &&
        [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
  for f in "$LOGS"/serve-*.log; do grep '"summary"' "$f" | tail -1; done |
    /usr/bin/python3 -c 'import json,sys; print(sum(json.loads(l).get("pings_received",0)+json.loads(l).get("pings_sent",0) for l in sys.stdin))'
}
sleep 1
rss_before=$(sum_rss_kib "${server_pids[@]}")
slab_before=$(slab_kib)
mem_before=$(mem_used_kib)
inuse_before=$(tcp_inuse)

start=$(date +%s.%N)
for k in $(seq 0 $((CLIENTS - 1))); do
  # Four source addresses per client: 127.(1+k/64).(k%64*4).1 .. .4
  a=$((1 + k / 64)); b=$((k % 64 * 4))
  # Exactly CONNECTIONS in all: the last client takes what the others leave.
  count=$PER_CLIENT
  [ "$k" -lt $((CLIENTS - 1)) ] || count=$((CONNECTIONS - PER_CLIENT * (CLIENTS - 1)))
  # shellcheck disable=SC2086
  "$TCPKA" connect 127.0.0.1:$PORT --count "$count" --rate "$RATE_PER_CLIENT" \
    --source "127.$a.$b.1-127.$a.$b.4" --policy "$POLICY" --hold $CONNECT_ARGS --log none \
    >/dev/null 2>&1 &
  pids+=($!)
done
target=$((inuse_before + 2 * CONNECTIONS))
deadline=$(( $(date +%s) + 600 ))
while [ "$(tcp_inuse)" -lt "$target" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
established=$(date +%s.%N)
held=$(( ($(tcp_inuse) - inuse_before) / 2 ))
sleep 2  # let accept loops and page faults settle

rss_after=$(sum_rss_kib "${server_pids[@]}")
slab_after=$(slab_kib)
mem_after=$(mem_used_kib)
sockstat_mem_pages=$(awk '/^TCP:/ {print $11}' /proc/net/sockstat)

pings_before=$(serve_pings)
serve_cpu_before=$(sum_cpu_ticks "${server_pids[@]}")
cpu_before=$(sum_cpu_ticks "${pids[@]}")
read -r _ user nice system idle iowait irq softirq _ < /proc/stat
total_before=$((user + nice + system + idle + iowait + irq + softirq))
busy_before=$((user + nice + system + irq + softirq))
sleep "$IDLE_SECONDS"
cpu_after=$(sum_cpu_ticks "${pids[@]}")
serve_cpu_after=$(sum_cpu_ticks "${server_pids[@]}")
pings_after=$(serve_pings)
read -r _ user nice system idle iowait irq softirq _ < /proc/stat
total_after=$((user + nice + system + idle + iowait + irq + softirq))
busy_after=$((user + nice + system + irq + softirq))

ticks=$(getconf CLK_TCK)
awk -v n="$CONNECTIONS" -v held="$held" -v servers="$SERVERS" -v clients="$CLIENTS" \
    -v start="$start" -v established="$established" \
    -v rss_b="$rss_before" -v rss_a="$rss_after" -v slab_b="$slab_before" -v slab_a="$slab_after" \
    -v mem_b="$mem_before" -v mem_a="$mem_after" -v sockmem="$sockstat_mem_pages" \
    -v cpu_b="$cpu_before" -v cpu_a="$cpu_after" -v ticks="$ticks" -v idle_s="$IDLE_SECONDS" \
    -v busy_b="$busy_before" -v busy_a="$busy_after" -v total_b="$total_before" -v total_a="$total_after" \
    -v limit="$FD_LIMIT" -v cores="$(nproc)" -v rss_total="$rss_after" \
    -v scpu_b="$serve_cpu_before" -v scpu_a="$serve_cpu_after" \
    -v pings_b="$pings_before" -v pings_a="$pings_after" 'BEGIN {
  secs = established - start
  printf "| asked | held | processes (serve + connect) | fd limit each |\n|---|---|---|---|\n"
  printf "| %d | %d | %d + %d | %d |\n\n", n, held, servers, clients, limit
  printf "| measure | value |\n|---|---|\n"
  printf "| time to establish | %.1f s |\n", secs
  printf "| accept rate | %.0f connections/s |\n", held / secs
  printf "| serve resident memory, all processes | %.1f MiB in all (%.1f MiB more than idle) for %d connections |\n", rss_total / 1024, (rss_a - rss_b) / 1024, held
  printf "| serve resident memory per connection | %.1f B |\n", (rss_a - rss_b) * 1024 / held
  printf "| kernel slab memory per socket (both ends here) | %.0f B |\n", (slab_a - slab_b) * 1024 / (2 * held)
  printf "| host memory used per connection (both ends) | %.0f B |\n", (mem_a - mem_b) * 1024 / held
  printf "| TCP buffer pages (sockstat mem) | %d |\n", sockmem
  printf "| CPU of all tcpka processes over %d s idle | %.2f s (%.3f%% of one core) |\n", idle_s, (cpu_a - cpu_b) / ticks, 100 * (cpu_a - cpu_b) / ticks / idle_s
  printf "| whole-machine busy time over %d s idle | %.2f%% of %d cores |\n", idle_s, 100 * (busy_a - busy_b) / (total_a - total_b), cores
  printf "| serve CPU over %d s idle | %.2f s |\n", idle_s, (scpu_a - scpu_b) / ticks
  if (pings_a > pings_b) {
    printf "| pings serve received and sent over %d s idle | %d (%.0f per connection per second) |\n", idle_s, pings_a - pings_b, (pings_a - pings_b) / held / idle_s
    printf "| serve CPU per ping handled | %.2f us |\n", (scpu_a - scpu_b) / ticks * 1e6 / (pings_a - pings_b)
  }
}'
