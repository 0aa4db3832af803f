#!/usr/bin/env bash
# The lab's crowds at size: the lossy path's false kills (two loss rates, the two policies
# of its rows) against the model, and a mass crash at growing scale: how long opening
# took, how many dead connections were found inside the model's interval, the spread of
# their detection times, and whether any healthy one was closed. Needs root (or
# unprivileged user namespaces); touches nothing outside the lab's own namespaces.
#
#   bench/lab_crowds.sh [LOSSY_CONNECTIONS] [SCALE...]   (defaults 5000; 1000 10000 40000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
lossy=${1:-5000}
shift || true
scales=("${@:-}")
[ -n "${scales[0]}" ] || scales=(1000 10000 40000 100000)
[ -x build/tcpka ] || { echo "lab_crowds.sh: build first (./dev setup)" >&2; exit 3; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

timed() {  # timed NAME ARGS...: runs tcpka lab ARGS --json into NAME.json, says how long
  local name=$1 start end status=0
  shift
  start=$(date +%s.%N)
  build/tcpka lab --json "$@" >"$out/$name.json" 2>/dev/null || status=$?
  end=$(date +%s.%N)
  printf '%s: %.1f s, exit %d\n' "$name" "$(echo "$end - $start" | bc)" "$status"
}

for loss in 5% 10%; do
  timed "lossy-$loss" --only lossy-path --loss "$loss" --lossy-connections "$lossy"
done
for scale in "${scales[@]}"; do
  timed "crash-$scale" --only mass-crash --scale "$scale"
done

/usr/bin/python3 - "$out" "$lossy" "${scales[@]}" <<'PY'
import json, sys
folder, lossy, scales = sys.argv[1], sys.argv[2], sys.argv[3:]
print()
print(f"{'loss':<5} {'policy':<24} {'predicted':<14} {'killed':<14} {'measured':<9} {'99.9% interval':<16} pass")
for loss in ("5%", "10%"):
    for s in json.load(open(f"{folder}/lossy-{loss}.json"))["scenarios"]:
        p = s["population"]
        print(f"{loss:<5} {s['variant']:<24} {p['predicted_low']:.3f}..{p['predicted']:.3f}   "
              f"{p['killed']:>6}/{p['connections']:<7} {p['measured']:.3f}     "
              f"{p['interval'][0]:.3f}..{p['interval'][1]:.3f}     {s['pass']}")
print()
print(f"{'connections':>11} {'opened in':>9} {'inside':>13} {'healthy closed':>14} {'min':>7} {'p50':>7} {'p99':>7} {'max':>7}  predicted      pass")
for scale in scales:
    s = json.load(open(f"{folder}/crash-{scale}.json"))["scenarios"][0]
    p, e = s.get("population"), s["expected"]
    if p is None:
        print(f"{scale:>11} did not run: {s['measured'].get('note', '')}")
        continue
    sec = lambda ms: f"{ms / 1000:.3f}s"
    print(f"{p['connections']:>11} {sec(p['took_to_open_ms']):>9} {p['detected_inside']:>6}/{p['dead']:<6} "
          f"{p['healthy_closed']:>14} {sec(p['min_ms']):>7} {sec(p['p50_ms']):>7} {sec(p['p99_ms']):>7} "
          f"{sec(p['max_ms']):>7}  {sec(e['earliest_ms'])}..{sec(e['latest_ms'])}  {s['pass']}")
PY
