#!/bin/sh
# tcpka.exe policy as a Windows user runs it, under Wine:
#  - bad input: one line naming Windows' limit, exit 2;
#  - --fd-of to a listener on loopback with --keep-total: Wine's fallback path reports
#    SIO_KEEPALIVE_VALS, the fixed count 10 and the interval scaled to 300 ms.
# Usage: policy_command_under_wine.sh WINE64 TCPKA_EXE   (WINEPREFIX etc. in the environment)
set -u
wine=$1
tcpka=$2
fail() { echo "FAIL: $*"; exit 1; }

out=$("$wine" "$tcpka" policy -p cnt=300 2>&1)
code=$?
echo "$out"
[ "$code" -eq 2 ] || fail "exit $code, expected 2"
echo "$out" | grep -q "TCP_KEEPCNT accepts 1..255" || fail "no Windows limit in the message"

# A listener that accepts one connection and lives at most 30 s; killed on exit.
port_file=$(mktemp)
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1], "w").write(str(s.getsockname()[1])); s.settimeout(30)
try: s.accept()
except OSError: pass
' "$port_file" &
listener=$!
trap 'kill $listener 2>/dev/null; wait $listener 2>/dev/null; rm -f "$port_file"' EXIT
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
port=$(cat "$port_file")
[ -n "$port" ] || fail "the listener did not start"

json=$("$wine" "$tcpka" policy -p idle=2s,intvl=1s,cnt=3 --keep-total --fd-of "127.0.0.1:$port" --json) ||
  fail "tcpka policy --fd-of failed: $json"
echo "$json" | python3 -c '
import json, sys
live = json.load(sys.stdin)["live_socket"]
print(live)
assert live["mechanism"] == "SIO_KEEPALIVE_VALS", live
assert live["fixed_count"] == 10, live
assert live["adapted_interval_ms"] == 300, live
assert live["read_back"]["keepalive"] is True, live
assert live["read_back"]["idle_ms"] is None and "cannot be read back" in live["read_back"]["unreadable"], live
' || fail "unexpected live_socket"
echo "ok"
