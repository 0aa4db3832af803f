#!/usr/bin/env bash
# The lab's default matrix, run RUNS times: how long the whole matrix takes, and for each
# scenario every measurement with its ratio to the model's bound. Needs root (or
# unprivileged user namespaces); touches nothing outside the lab's own namespaces.
#
#   bench/lab_matrix.sh [RUNS]      (default 3; build first: ./dev setup)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for run in $(seq "$runs"); do
  start=$(date +%s.%N)
  status=0
  build/tcpka lab --json >"$out/$run.json" 2>/dev/null || status=$?
  end=$(date +%s.%N)
  printf 'run %d: %.1f s, exit %d\n' "$run" "$(echo "$end - $start" | bc)" "$status"
done

python3 - "$out" "$runs" <<'PY'
import json, sys
folder, runs = sys.argv[1], int(sys.argv[2])
reports = [json.load(open(f"{folder}/{i}.json")) for i in range(1, runs + 1)]
print()
print(f"{'scenario':<42} {'predicted':<24} {'measured (each run)':<28} {'max ratio':>9}  pass")
for index, first in enumerate(reports[0]["scenarios"]):
    title = first["scenario"] + (f" ({first['variant']})" if first["variant"] else "")
    e = first["expected"]
    population = first.get("population")
    if population and "predicted" in population:
        predicted = f"{population['predicted_low']:.3f}..{population['predicted']:.3f} killed"
    elif population:
        predicted = f"{e['earliest_ms']/1000:.3f}..{e['latest_ms']/1000:.3f}s each"
    elif e["kind"] == "detected":
        predicted = f"{e['earliest_ms']/1000:.3f}..{e['latest_ms']/1000:.3f}s {e['errno']}"
    elif e["kind"] == "beyond_cap":
        predicted = f"{e['earliest_ms']/1000:.1f}s (beyond cap)"
    else:
        predicted = e["kind"]
    cells, ratios, passes = [], [], 0
    for report in reports:
        s = report["scenarios"][index]
        m = s["measured"]
        passes += s["pass"]
        p = s.get("population")
        if p and "predicted" in p:
            cells.append(f"{p['measured']:.3f}")
        elif p:
            cells.append(f"{p['detected_inside']}/{p['dead']}")
        elif m["kind"] == "ended":
            cells.append(f"{m['after_ms']/1000:.3f}")
            if e["kind"] == "detected" and e["earliest_ms"] > 0:
                ratios.append(m["after_ms"] / e["earliest_ms"])
        else:
            cells.append(m["kind"])
    ratio = f"{max(ratios):.3f}" if ratios else ""
    print(f"{title:<42} {predicted:<24} {' '.join(cells):<28} {ratio:>9}  {passes}/{runs}")
PY
