#!/usr/bin/env bash
# The lab's rows most sensitive to a loaded machine, run many times in parallel copies
# under stress-ng: process-exit (decided in milliseconds, where scheduling delays show)
# and host-reboot (a new host made while the probe is due). Prints each row's
# measurements and how many were inside the model's interval. Needs root and stress-ng;
# touches nothing outside the lab's own namespaces.
#
#   bench/lab_under_load.sh [ROUNDS] [COPIES] [STRESS_CPUS]   (default 3 6 2)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
copies=${2:-6}
stress_cpus=${3:-2}
out=$(mktemp -d)
stress_pid=""
cleanup() {
  [ -z "$stress_pid" ] || kill "$stress_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT

stress-ng --cpu "$stress_cpus" --timeout 3600s >/dev/null 2>&1 &
stress_pid=$!
echo "load: stress-ng --cpu $stress_cpus; $copies copies of the lab at a time, $rounds rounds"
for round in $(seq "$rounds"); do
  for copy in $(seq "$copies"); do
    build/tcpka lab --only process-exit --only host-reboot --json \
      >"$out/$round-$copy.json" 2>/dev/null &
  done
  wait $(jobs -p | grep -v "^$stress_pid$") 2>/dev/null || true
done

/usr/bin/python3 - "$out" <<'PY'
import glob, json, sys
rows = {}
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    try:
        report = json.load(open(path))
    except ValueError:
        rows.setdefault("(no report)", []).append((None, False))
        continue
    for s in report["scenarios"]:
        title = s["scenario"] + (f" ({s['variant']})" if s["variant"] else "")
        m = s["measured"]
        rows.setdefault(title, []).append((m.get("after_ms"), s["pass"]))
for title, runs in rows.items():
    times = sorted(t for t, _ in runs if t is not None)
    inside = sum(1 for _, ok in runs if ok)
    spread = f"{times[0]}..{times[-1]} ms" if times else "-"
    print(f"{title:<30} {inside}/{len(runs)} inside  measured {spread}")
PY
