#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time: fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET.
# Each starts from the kept corpus (fuzz/corpus/<target>, read only: new inputs go to a
# scratch directory) and stops at the first crash, leaving the input in fuzz-artifacts/.
# Turn a crash into a regression test: copy the input to fuzz/regressions/<target>/.
set -euo pipefail
build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS}
seconds=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS}
here=$(cd "$(dirname "$0")" && pwd)
artifacts=$PWD/fuzz-artifacts
mkdir -p "$artifacts"
status=0
for target in "$build"/fuzz/fuzz_*; do
  [ -f "$target" ] && [ -x "$target" ] || continue
  name=${target##*/fuzz_}
  scratch=$(mktemp -d)
  max_len=4096
  [ "$name" = gen_profile ] && max_len=262144  # large enough for nesting deep enough to matter
  # detect_leaks=0: DPDK's EAL keeps its memory until exit by design.
  if ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$target" -max_total_time="$seconds" -max_len=$max_len -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$artifacts/$name-" "$scratch" "$here/corpus/$name" "$here/regressions/$name" \
       >"$artifacts/$name.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$artifacts/$name.log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz $name: ${seconds}s, $runs inputs, no crash"
  else
    echo "fuzz $name: CRASH (log: $artifacts/$name.log)"
    grep -E "check failed|ERROR: |SUMMARY|Test unit written" "$artifacts/$name.log" | head -5
    status=1
  fi
  rm -rf "$scratch"
done
exit $status
