#!/usr/bin/env bash
# The same keepalive-less Python echo server (tests/data/echo_server.py) in the lab's
# black-box mode, three ways: as it is, under Debian's libkeepalive (LD_PRELOAD, with
# KEEPIDLE=2 KEEPINTVL=1 KEEPCNT=3), and under `tcpka exec` with the same timings and
# ut=auto. Needs root, python3 and libkeepalive0 (apt-get install libkeepalive0).
#
#   bench/exec_vs_libkeepalive.sh [CAP]      (default 20s)
set -euo pipefail
cd "$(dirname "$0")/.."
cap=${1:-20s}
server="python3 $PWD/tests/data/echo_server.py {port}"
libkeepalive=$(dpkg -L libkeepalive0 2>/dev/null | grep 'libkeepalive.so$' | head -1)
[ -n "$libkeepalive" ] || { echo "exec_vs_libkeepalive.sh: install libkeepalive0" >&2; exit 3; }

run() {  # run NAME TARGET [ENV...]
  local name=$1 target=$2
  shift 2
  env "$@" build/tcpka lab --json --cap "$cap" --target "$target" 2>/dev/null |
    python3 -c '
import json, sys
name = sys.argv[1]
for s in json.load(sys.stdin)["scenarios"]:
    m = s["measured"]
    title = s["scenario"] + (" (" + s["variant"] + ")" if s["variant"] else "")
    when = "dropped after %.3fs" % (m["after_ms"] / 1000) if m["kind"] == "dropped" else "kept it (" + m["kind"] + ")"
    print("| %s | %s | %s |" % (title, name, when))
' "$name"
}

# First what each sets, on the same programs: the C probe in each of its modes and Python.
probe=build/tests/socket_probe
echo "| program | libkeepalive (KEEPIDLE=7 KEEPINTVL=3 KEEPCNT=4) | tcpka exec idle=7s,intvl=3s,cnt=4,ut=auto |"
echo "|---|---|---|"
for mode in connection ipv6 threads fork-exec own-keepalive-off udp python; do
  if [ "$mode" = python ]; then command=(python3 tests/data/socket_probe.py); else command=("$probe" "$mode"); fi
  ka=$(KEEPIDLE=7 KEEPINTVL=3 KEEPCNT=4 LD_PRELOAD=$libkeepalive "${command[@]}" | sort -u | paste -sd';')
  tc=$(build/tcpka exec --policy idle=7s,intvl=3s,cnt=4,ut=auto -- "${command[@]}" | sort -u | paste -sd';')
  echo "| $mode | $ka | $tc |"
done
echo

echo "| scenario | server | what it did with the dead client |"
echo "|---|---|---|"
{
  run "as written" "$server"
  run "libkeepalive 2/1/3" "env LD_PRELOAD=$libkeepalive $server" KEEPIDLE=2 KEEPINTVL=1 KEEPCNT=3
  run "tcpka exec 2/1/3, ut=auto" "$PWD/build/tcpka exec --policy idle=2s,intvl=1s,cnt=3,ut=auto -- $server"
} | sort -s -t'|' -k2,2
