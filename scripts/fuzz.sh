#!/usr/bin/env bash
# Coverage-guided fuzzing of the core (parser, traces, forward mode, collapse, check, ProgramWriter
# round trip) with libFuzzer and AddressSanitizer.
#
#   scripts/fuzz.sh                  smoke run: 20,000 executions (what CI runs)
#   scripts/fuzz.sh -runs=10000000   a long run; any libFuzzer flag is passed on (-max_total_time=3600 …)
#
# The work corpus lives in .build-fuzz/corpus (kept between runs), seeded from samples/*.grad and
# Fuzz/regressions (inputs that once broke an invariant);
# crashes are written to .build-fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build-fuzz
mkdir -p "$out/corpus" "$out/seeds"
cp samples/*.grad "$out/seeds/"
for s in samples/tensors/*.grad; do cp "$s" "$out/seeds/tensor-$(basename "$s")"; done
srcs=$(find Sources/GradTrace -name '*.swift' | LC_ALL=C sort)
bin="$out/fuzz-core"
if [ ! -x "$bin" ] || [ -n "$(find Sources/GradTrace Fuzz -newer "$bin" -name '*.swift' | head -1)" ]; then
  echo "building $bin (swiftc -sanitize=fuzzer,address)" >&2
  # shellcheck disable=SC2086
  swiftc -sanitize=fuzzer,address -parse-as-library -module-name GradTrace -O -g \
    $srcs Fuzz/FuzzCore.swift -o "$bin"
fi
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-runs=20000)
set +e
"$bin" -dict=Fuzz/grad.dict -max_len=4096 -timeout=20 -rss_limit_mb=4096 -artifact_prefix="$out/" \
  "${args[@]}" "$out/corpus" "$out/seeds" Fuzz/regressions >"$out/last.log" 2>&1
status=$?
set -e
grep -E '^#[0-9]+ +(DONE|INITED)|ERROR|Fatal error|Test unit written|Done [0-9]+ runs' "$out/last.log" | cut -c1-300
if [ "$status" != 0 ]; then echo "fuzz: FAILED (exit $status), see $out/last.log" >&2; exit 1; fi
runs=$(grep -Eo 'Done [0-9]+ runs' "$out/last.log" | grep -Eo '[0-9]+' || echo 0)
echo "fuzz: $runs executions, no crash"
