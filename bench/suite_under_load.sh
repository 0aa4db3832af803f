#!/usr/bin/env bash
# The whole plain-build suite, RUNS times in a row, at twice the parallelism ./dev test
# uses (ctest -j 8 per core) and beside stress-ng: what a shared, slow machine does to
# the tests. Prints each run's summary and the tests that failed, and keeps a failed
# run's whole output (path printed); stops at nothing.
# Needs root (the privileged tests) and stress-ng; build first (./dev setup).
#
#   bench/suite_under_load.sh [RUNS] [STRESS_CPUS]   (default 5 2)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
stress_cpus=${2:-2}
jobs=$(($(nproc) * 8))
out=$(mktemp -d)
stress_pid=""
cleanup() {
  [ -z "$stress_pid" ] || kill "$stress_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT

if [ "$stress_cpus" -gt 0 ]; then
  stress-ng --cpu "$stress_cpus" --timeout 36000s >/dev/null 2>&1 &
  stress_pid=$!
fi
echo "load: ctest -j $jobs, stress-ng --cpu $stress_cpus; $runs runs"
passed=0
for run in $(seq "$runs"); do
  start=$SECONDS
  status=0
  (cd build && ctest -j "$jobs" --timeout 300 --output-on-failure >"$out/run.txt" 2>&1) ||
    status=$?
  summary=$(grep -E "tests passed" "$out/run.txt" || echo "no summary")
  echo "run $run: $((SECONDS - start)) s: $summary"
  grep -E '\*\*\*(Failed|Timeout|Exception)' "$out/run.txt" | sed 's/^.*Test *#[0-9]*: /    /' || true
  if [ $status -eq 0 ]; then
    passed=$((passed + 1))
  else
    kept=$(mktemp /tmp/suite-under-load-run-$run.XXXXXX.txt)
    cp "$out/run.txt" "$kept"
    echo "    (its output: $kept)"
  fi
done
echo "$passed of $runs runs passed"
