#!/usr/bin/env bash
# tcpka watch under a storm of deaths: RATE loopback connections a second die for SECONDS
# seconds (bench/death_storm.cpp: connect, accept, then a RST or FINs as HOW says; two
# deaths each, the client's and the server's), in a private network namespace (unshare --net, lo up; nothing
# leaves it). watch runs on the host with --log json to a file; afterwards the script
# counts the close lines of the storm's port, reads watch's own count of lost deaths,
# and its CPU time (utime + stime from /proc/PID/stat, in clock ticks), to give:
#   deaths expected, reported, lost (counted by watch), CPU seconds, CPU per death.
#
#   bench/watch_deaths.sh [RATE] [SECONDS] [VIA] [HOW]  (root; defaults 5000 10 bpf reset)
#
# The storm starts 3 s after its namespace, so that the sock_diag source (which finds new
# namespaces every 2 s) has joined it; the BPF source sees every namespace from the start.
#
# PAUSE=1 stops watch (SIGSTOP) for the storm and resumes it after: the ring buffer
# (8 MiB, about 58,000 deaths) overflows, and what it drops must show as lost, exactly:
# reported + lost = expected, when nothing else on the host dies meanwhile.
# Other deaths on the host during the run are reported too and cost CPU too: the CPU per
# death is an upper bound. Everything it starts dies with it.
set -euo pipefail

RATE=${1:-5000}
SECONDS_=${2:-10}
VIA=${3:-bpf}
HOW=${4:-reset}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TCPKA=$ROOT/build/tcpka
STORM=$ROOT/build/bench/death_storm

[ "$(id -u)" -eq 0 ] || { echo "watch_deaths.sh: run as root (BPF, a private namespace)" >&2; exit 3; }
[ -x "$TCPKA" ] && [ -x "$STORM" ] || { echo "watch_deaths.sh: build first (./dev setup)" >&2; exit 3; }

WORK=$(mktemp -d /tmp/tcpka-watch-deaths.XXXXXX)
watch_pid=""
cleanup() {
  if [ -n "$watch_pid" ]; then kill -9 "$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true; fi
  [ -n "${KEEP:-}" ] && cp "$WORK/deaths.json" /tmp/last-deaths.json; rm -rf "$WORK"
}
trap cleanup EXIT

"$TCPKA" watch --via "$VIA" --log json --survey-interval 0 >"$WORK/deaths.json" 2>"$WORK/watch.err" &
watch_pid=$!
for _ in $(seq 300); do
  grep -q "ready via" "$WORK/watch.err" && break
  kill -0 "$watch_pid" 2>/dev/null || { cat "$WORK/watch.err" >&2; exit 3; }
  sleep 0.1
done
grep -q "ready via" "$WORK/watch.err" || { echo "watch_deaths.sh: watch never got ready" >&2; exit 3; }

[ -n "${PAUSE:-}" ] && kill -STOP "$watch_pid"
read -r _ port _ connections _ took < <(unshare --net sh -c "ip link set lo up && echo '1024 65535' >/proc/sys/net/ipv4/ip_local_port_range && sleep 3 && exec '$STORM' $HOW $RATE $SECONDS_")
[ -n "${PAUSE:-}" ] && kill -CONT "$watch_pid"
ticks_per_second=$(getconf CLK_TCK)
# Let watch read what is still queued, then stop it (SIGINT drains the source first).
sleep 1
read -r utime stime < <(awk '{print $14, $15}' "/proc/$watch_pid/stat")
kill -INT "$watch_pid"
wait "$watch_pid" || true
watch_pid=""

expected=$((connections * 2))
reported=$(grep -c "127.0.0.1:$port\"" "$WORK/deaths.json" || true)
lost=$(sed -n 's/.* ended, \([0-9]*\) deaths lost.*/\1/p' "$WORK/watch.err")
all=$(grep -c '"event":"close"' "$WORK/deaths.json" || true)
cpu=$(awk -v u="$utime" -v s="$stime" -v t="$ticks_per_second" 'BEGIN { printf "%.2f", (u + s) / t }')
per=$(awk -v c="$cpu" -v n="$all" 'BEGIN { if (n > 0) printf "%.1f", c * 1e6 / n; else print "-" }')
echo "| via | ending | rate | seconds (storm took) | deaths expected | reported | lost (counted) | all deaths seen | watch CPU s | CPU per death |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo "| $VIA | $HOW | $RATE/s connections ($((RATE * 2))/s deaths) | $SECONDS_ ($took) | $expected | $reported | $lost | $all | $cpu | ${per} µs |"
