#!/usr/bin/env bash
# The large-graph guard's estimate beside dot's real layout time (the table in Benchmarks/README.md):
# chains of 1,000-10,000 nodes and MLPs from `gradtrace generate mlp`, each drawn as DOT by gradtrace,
# its estimate from `gradtrace-bench guard`, and `dot -Tsvg` timed on the DOT (one run; up to 200 s each).
# Usage: scripts/bench-guard.sh [OUT_DIR]   (builds the release binaries first)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
mkdir -p "$out"
swift build -c release --product gradtrace >/dev/null
swift build -c release --product gradtrace-bench >/dev/null
G=.build/release/gradtrace B=.build/release/gradtrace-bench
for n in 1000 2500 5000 10000; do
  { echo "x0 = 0.5"; for ((i = 1; i <= n; i++)); do echo "x$i = x$((i - 1)) * 1.0001"; done; } > "$out/chain$n.grad"
done
for l in 4,4,1 8,8,1 12,12,1 8,8,8,1 16,16,1 16,16,16,1 24,24,1; do "$G" generate mlp --layers "$l" -o "$out/mlp-$l.grad"; done
printf '| graph | nodes | edges | virtual nodes | ranks | estimate | dot -Tsvg |\n|---|---|---|---|---|---|---|\n'
for f in "$out"/chain1000 "$out"/chain2500 "$out"/chain5000 "$out"/chain10000 "$out"/mlp-4,4,1 "$out"/mlp-8,8,1 \
         "$out"/mlp-12,12,1 "$out"/mlp-8,8,8,1 "$out"/mlp-16,16,1 "$out"/mlp-16,16,16,1 "$out"/mlp-24,24,1; do
  "$G" render "$f.grad" -o "$f.dot" --force
  set -- $("$B" guard "$f.grad")
  s=$(date +%s.%N); timeout 200 dot -Tsvg "$f.dot" >/dev/null 2>&1 && e=$(date +%s.%N) || e=""
  t=$([ -n "$e" ] && echo "$e - $s" | bc | awk '{printf "%.2f s", $1}' || echo "over 200 s or failed")
  echo "| $(basename "$f") | $3 | $5 | $7 | $9 | ${11} s | $t |"
done
