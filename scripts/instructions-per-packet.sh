#!/usr/bin/env bash
# Instructions per packet of a pkio program, counted by callgrind (valgrind's instruction
# counter: the same count run after run, whatever else the machine does, unlike a timing).
# Runs the command twice, with N and 2N packets (the word COUNT in its arguments), and prints
# (I(2N) - I(N)) / N, so start-up and teardown cancel out:
#   scripts/instructions-per-packet.sh 500000 build/apps/gen/pkio-gen -- --count COUNT --quiet
# Needs valgrind (Debian package valgrind; building and testing pkio do not).
set -euo pipefail
n=$1
shift
command=("$@")
count() {  # count PACKETS: the instructions of one run
  local args=() out
  for a in "${command[@]}"; do args+=("${a//COUNT/$1}"); done
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "${args[@]}" 2>&1 >/dev/null) || {
    echo "$out" >&2
    exit 1
  }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$out"
}
one=$(count "$n")
two=$(count "$((2 * n))")
awk -v a="$one" -v b="$two" -v n="$n" \
  'BEGIN { printf "%.1f instructions per packet (%d packets: %d in all; %d packets: %d)\n", (b - a) / n, n, a, 2 * n, b }'
