#!/usr/bin/env bash
# tcpka inspect over N established sockets whose keepalive settings it reads, timed side by
# side with `ss -tanoip` on the same sockets in the same run.
#
#   bench/inspect_scale.sh [SOCKETS] [RUNS]      (as root; defaults 100000 5)
#
# A holder (Python, written to a temp dir) runs in a private network namespace of its own
# (unshare --net, lo up; nothing leaves it) and opens SOCKETS/2 loopback connections to
# itself, so SOCKETS established sockets, both ends, each with SO_KEEPALIVE and a policy
# of its own (idle, interval, count and user timeout vary; one in ten leaves the timings
# to the namespace's sysctls). One process may hold at most the hard RLIMIT_NOFILE
# descriptors (20,000 in this sandbox, no CAP_SYS_RESOURCE to raise it), so the holder
# forks workers of at most 9,000 connections each; worker k listens on 127.0.0.1:(5000+k)
# and connects from 127.0.0.(k+2), which leaves every (source, destination) pair far from
# running out of ephemeral ports without touching any sysctl.
# Every idle time is 15 minutes or more, so no probe is due during the run: 100,000
# sockets set up within two seconds probe in step, and loopback's backlog
# (net.core.netdev_max_backlog, 1000 packets) drops what overflows it; a first version
# with idle=30s lost 1,149 connections to keepalive timeouts (TCPAbortOnTimeout) before
# its end, and the probes' load was in the timings.
# Once it is ready, hyperfine (apt-get install hyperfine) times each command RUNS times,
# after one warm-up run, output to /dev/null:
#   ss -tanoip inside the namespace (nsenter), and
#   tcpka inspect --netns /proc/HOLDER/ns/net --via bpf --json, the same as a text table,
#   --via pidfd (text), --via none (text).
# Then one run of each under /usr/bin/time for its peak RSS, and a check that --via bpf
# and --via pidfd report SOCKETS established sockets, every one with its settings read.
# Prints a Markdown table. Everything it starts dies with it, and the namespace with them.
set -euo pipefail

SOCKETS=${1:-100000}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PER_WORKER=9000  # connections, so 18,000 descriptors

[ "$(id -u)" -eq 0 ] || { echo "inspect_scale.sh: run as root (a private network namespace, BPF)" >&2; exit 3; }
command -v hyperfine >/dev/null || { echo "inspect_scale.sh: install hyperfine (apt-get install hyperfine)" >&2; exit 3; }
PAIRS=$((SOCKETS / 2))
[ "$PAIRS" -gt 0 ] || { echo "inspect_scale.sh: SOCKETS must be at least 2" >&2; exit 2; }
WORKERS=$(( (PAIRS + PER_WORKER - 1) / PER_WORKER ))
[ "$WORKERS" -le 250 ] || { echo "inspect_scale.sh: at most $((250 * PER_WORKER * 2)) sockets" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tcpka-inspect-scale.XXXXXX)
holder=""
cleanup() {
  # Killing the holder closes the pipe its workers wait on; they exit, and with the last
  # of them the namespace and every socket in it.
  if [ -n "$holder" ]; then
    kill -9 "$holder" 2>/dev/null || true
    wait "$holder" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The binary is copied, so that a rebuild during the run cannot mix two versions.
cp "$ROOT/build/tcpka" "$WORK/tcpka"
TCPKA=$WORK/tcpka

cat > "$WORK/holder.py" <<'PY'
# holder.py PAIRS WORKERS: PAIRS loopback connections spread over WORKERS forked
# processes; prints "ready ..." once all are up, then holds them until stdin ends.
import os, resource, socket, sys

pairs, workers = int(sys.argv[1]), int(sys.argv[2])
IP_BIND_ADDRESS_NO_PORT = 24
IDLE = [900, 1200, 1800, 3600, 5400, 7200, 10800]  # none due during the run: see above
INTERVAL = [5, 10, 15, 30, 75]
COUNT = [3, 4, 5, 9]

def set_policy(s, i):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if i % 10 == 9:
        return  # keepalive on, timings from the namespace's sysctls
    idle, intvl, cnt = IDLE[i % 7], INTERVAL[i % 5], COUNT[i % 4]
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)
    if i % 3 == 0:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, (idle + intvl * cnt) * 1000)

def work(k, count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if 2 * count + 64 > hard:
        raise RuntimeError(f"{2 * count} descriptors wanted, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 5000 + k))
    listener.listen(4096)
    held = []
    for j in range(count):
        client = socket.socket()
        client.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        client.bind((f"127.0.0.{k + 2}", 0))
        client.connect(("127.0.0.1", 5000 + k))
        server, _ = listener.accept()
        set_policy(client, 2 * j + k)
        set_policy(server, 2 * j + k + 1)
        held += (client, server)
    return held

report_r, report_w = os.pipe()
release_r, release_w = os.pipe()
children = []
for k in range(workers):
    count = pairs // workers + (1 if k < pairs % workers else 0)
    pid = os.fork()
    if pid == 0:
        os.close(report_r)
        os.close(release_w)
        try:
            held = work(k, count)
            os.write(report_w, f"ok {k} {count}\n".encode())
        except BaseException as e:
            os.write(report_w, f"error worker {k}: {e!r}\n".encode())
            os._exit(1)
        os.close(report_w)
        os.read(release_r, 1)  # returns when the holder is gone
        os._exit(0)
    children.append(pid)
os.close(report_w)
os.close(release_r)
lines = os.fdopen(report_r).read().splitlines()
errors = [l for l in lines if not l.startswith("ok ")]
done = sum(int(l.split()[2]) for l in lines if l.startswith("ok "))
if errors or done != pairs:
    print("\n".join(errors) or f"{done} of {pairs} connections", file=sys.stderr)
    sys.exit(1)
print(f"ready {2 * pairs} established sockets in {workers} processes", flush=True)
sys.stdin.read()
PY

# The holder in a namespace of its own; `unshare --net` and sh exec it, so $holder is its
# pid and /proc/$holder/ns/net its namespace. Its stdin is our pipe: it lives while we do.
# shellcheck disable=SC2016  # $0 and $@ are the inner sh's
coproc HOLDER { exec unshare --net -- sh -c 'ip link set lo up && exec /usr/bin/python3 "$0" "$@"' \
  "$WORK/holder.py" "$PAIRS" "$WORKERS" 2>&1; }
holder=$HOLDER_PID
NS=/proc/$holder/ns/net
start=$(date +%s%N)
ready=""
read -r -t 900 -u "${HOLDER[0]}" ready || true
case $ready in
  ready*) ;;
  *) echo "inspect_scale.sh: the holder failed: ${ready:-no ready line}" >&2; exit 1 ;;
esac
[ "$(readlink "$NS")" != "$(readlink /proc/self/ns/net)" ] ||
  { echo "inspect_scale.sh: the holder is in the host's namespace" >&2; exit 1; }
echo "holder: $ready, $(( ($(date +%s%N) - start) / 1000000 )) ms to set up; namespace $(readlink "$NS")" >&2
echo "ss sees $(nsenter --net="$NS" ss -Htan state established | wc -l) established sockets in it" >&2

names=("ss -tanoip" "tcpka inspect --via bpf --json" "tcpka inspect --via bpf" \
       "tcpka inspect --via pidfd" "tcpka inspect --via none")
commands=("nsenter --net=$NS ss -tanoip"
          "$TCPKA inspect --netns $NS --via bpf --json"
          "$TCPKA inspect --netns $NS --via bpf"
          "$TCPKA inspect --netns $NS --via pidfd"
          "$TCPKA inspect --netns $NS --via none")
hyperfine_args=()
for i in "${!names[@]}"; do hyperfine_args+=(-n "${names[$i]}" "${commands[$i]}"); done
hyperfine -N --warmup 1 --runs "$RUNS" --output null --style basic \
  --export-json "$WORK/times.json" "${hyperfine_args[@]}" >&2

for i in "${!names[@]}"; do
  # shellcheck disable=SC2086  # the command lines are word lists
  /usr/bin/time -f %M -o "$WORK/rss.$i" ${commands[$i]} >/dev/null
done

"$TCPKA" inspect --netns "$NS" --via bpf --json >"$WORK/bpf.json"
"$TCPKA" inspect --netns "$NS" --via pidfd --json >"$WORK/pidfd.json"

/usr/bin/python3 - "$WORK" "$SOCKETS" "${#names[@]}" <<'PY'
import json, statistics, sys
work, sockets, count = sys.argv[1], int(sys.argv[2]) // 2 * 2, int(sys.argv[3])
results = json.load(open(f"{work}/times.json"))["results"]
ss = statistics.median(results[0]["times"])
print("| command | min | median | median / ss | peak RSS |")
print("|---|---|---|---|---|")
for i, r in enumerate(results):
    rss = int(open(f"{work}/rss.{i}").read().split()[-1])
    median = statistics.median(r["times"])
    print(f"| `{r['command']}` | {min(r['times']):.3f} s | {median:.3f} s "
          f"| {median / ss:.2f} | {rss / 1024:.1f} MiB |")
print()
failed = False
for via in ("bpf", "pidfd"):
    report = json.load(open(f"{work}/{via}.json"))
    established = [s for s in report["sockets"] if s["state"].upper() == "ESTABLISHED"]
    read = [s for s in established if s["settings"] is not None]
    on = [s for s in read if s["settings"]["keepalive"]]
    print(f"--via {via}: {len(report['sockets'])} sockets, {len(established)} established, "
          f"settings read for {len(read)}, keepalive on in {len(on)}")
    failed |= not (len(established) == len(read) == len(on) == sockets)
if failed:
    print(f"CHECK FAILED: expected {sockets} established sockets, all read, keepalive on")
    sys.exit(1)
PY
