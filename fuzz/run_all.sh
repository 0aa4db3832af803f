#!/usr/bin/env bash
# Builds tcpka's libFuzzer targets (fuzz/*_fuzzer.cpp) and runs every one.
#
#   fuzz/run_all.sh SECONDS        each target fuzzes for SECONDS, on a copy of its corpus
#   fuzz/run_all.sh --regression   each target runs once over its seed corpus (CI's check)
#   options: --only NAME (repeatable: those targets only), --jobs N (N targets at once)
#
# Prints per target the seconds it ran, its executions, its coverage (cov and ft from
# libFuzzer's last stats line) and whether it crashed (a sanitizer report, a failed
# property, a leak, a hang beyond -timeout or memory beyond -rss_limit_mb); exits 1 if
# any did, naming the input that did it (kept under build-fuzz/artifacts/). New inputs
# go to a temporary directory, never into fuzz/corpus/.
#
# Needs the build's own packages (cmake ninja-build pkg-config libfmt-dev libmnl-dev) and
# clang with libFuzzer and the sanitizers' runtimes: clang libclang-rt-14-dev.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly BUILD=build-fuzz
readonly ARTIFACTS=$BUILD/artifacts

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

seconds=""
regression=0
jobs=1
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --regression) regression=1 ;;
    --jobs)
      if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then usage; fi
      jobs=$2
      shift
      ;;
    --only)
      [ $# -ge 2 ] || usage
      only+=("$2")
      shift
      ;;
    *)
      if ! [[ $1 =~ ^[1-9][0-9]*$ ]] || [ -n "$seconds" ]; then usage; fi
      seconds=$1
      ;;
  esac
  shift
done
# Exactly one of the two modes.
if { [ -n "$seconds" ] && [ $regression -eq 1 ]; } || { [ -z "$seconds" ] && [ $regression -eq 0 ]; }; then
  usage
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tcpka-fuzz.XXXXXX")
# shellcheck disable=SC2317 # run by the trap
cleanup() {
  # Fuzzers still running (an interrupted run) go first, by the ids they left, then the
  # shells that ran them, then their files.
  local pids=()
  mapfile -t pids < <(cat "$work"/*.pid 2>/dev/null; jobs -p)
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build (configured once; ninja makes the rebuild a no-op when nothing changed) ----
build() {
  if ! grep -qs '^TCPKA_FUZZ:BOOL=ON' "$BUILD/CMakeCache.txt" ||
    ! grep -qs '^TCPKA_WARNINGS_AS_ERRORS:BOOL=ON' "$BUILD/CMakeCache.txt"; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCPKA_FUZZ=ON \
      -DTCPKA_WARNINGS_AS_ERRORS=ON \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ || return
  fi
  cmake --build "$BUILD" -j "$(nproc)"
}
build >"$work/build.log" 2>&1 || {
  cat "$work/build.log" >&2
  echo "run_all.sh: the fuzz build failed" >&2
  exit 1
}

mapfile -t targets <"$BUILD/fuzz/fuzzers.txt"
if [ ${#only[@]} -gt 0 ]; then
  for name in "${only[@]}"; do
    printf '%s\n' "${targets[@]}" | grep -qx "$name" || {
      echo "run_all.sh: no target $name (targets: ${targets[*]})" >&2
      exit 2
    }
  done
  targets=("${only[@]}")
fi

# What a target needs beyond the common flags: its dictionary, and room for its inputs.
target_options() {
  case "$1" in
    policy_fuzzer | duration_fuzzer | shim_config_fuzzer) echo "-dict=fuzz/dict/policy.dict" ;;
    source_addresses_fuzzer | endpoint_fuzzer) echo "-dict=fuzz/dict/address.dict" ;;
    # Beyond the 8 KiB a request head may take, so that the limit itself is fuzzed.
    metrics_*) echo "-dict=fuzz/dict/http.dict -max_len=20000" ;;
    # A netlink reply is at most a page; a capture holds many frames.
    sock_diag_fuzzer | packet_trace_fuzzer) echo "-max_len=8192" ;;
  esac
}

# run_target NAME: runs it, leaves "seconds executions cov ft result [input]" in
# $work/NAME.result.
run_target() {
  local name=$1
  local corpus=$work/corpus/$name
  mkdir -p "$corpus" "$ARTIFACTS/$name"
  cp -r "fuzz/corpus/$name/." "$corpus/"
  local mode=(-runs=0)
  [ $regression -eq 1 ] || mode=(-max_total_time="$seconds")
  local start end status=0
  start=$(date +%s.%N)
  # shellcheck disable=SC2046 # target_options gives whole words
  "$BUILD/fuzz/$name" "${mode[@]}" $(target_options "$name") -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$ARTIFACTS/$name/" "$corpus" >"$work/$name.log" 2>&1 &
  echo $! >"$work/$name.pid"
  wait $! || status=$?
  rm "$work/$name.pid"
  end=$(date +%s.%N)
  local log=$work/$name.log
  local executions cov ft result="ok" input=""
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if [ "$status" -ne 0 ]; then
    result="CRASHED"
    input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    # The whole report, kept next to the input.
    cp "$log" "$ARTIFACTS/$name/last-crash.log"
  fi
  printf '%s %s %s %s %s %s\n' "$(awk "BEGIN { printf \"%.1f\", $end - $start }")" "${executions:--}" \
    "${cov:--}" "${ft:--}" "$result" "$input" >"$work/$name.result"
}

for name in "${targets[@]}"; do
  run_target "$name" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
done
wait

crashed=0
printf '%-26s %8s %12s %6s %6s  %s\n' target seconds executions cov ft result
for name in "${targets[@]}"; do
  read -r secs executions cov ft result input <"$work/$name.result"
  printf '%-26s %8s %12s %6s %6s  %s\n' "$name" "$secs" "$executions" "$cov" "$ft" "$result"
  if [ "$result" != ok ]; then
    crashed=1
    echo "  input: ${input:-(none written)}; report: $ARTIFACTS/$name/last-crash.log"
    grep -m 3 -E 'ERROR:|property violated|SUMMARY' "$ARTIFACTS/$name/last-crash.log" |
      sed 's/^/  /' || true
  fi
done
exit $crashed
