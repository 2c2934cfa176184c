#!/usr/bin/env bash
# ThreadSanitizer run of the parallel paths: frames (PNG, SVG, PDF), animate (GIF, SVG, HTML) and
# markdown --jobs N, built with `swift build --sanitize=thread` in .build-tsan. Any report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# gradtrace-draw has every command and all the threaded drawing code (the lean gradtrace would exec it, and
# SwiftPM's plugin-built copy of it is not the one this build instruments).
swift build --sanitize=thread --scratch-path .build-tsan --product gradtrace-draw >&2
BIN=.build-tsan/debug/gradtrace-draw
export TSAN_OPTIONS="halt_on_error=1 abort_on_error=0 exitcode=66"
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
n=0
run() { n=$((n+1)); "$@" >/dev/null || { echo "tsan: FAILED: $*" >&2; exit 1; }; }
run "$BIN" frames samples/neuron.grad -o "$d/png" --jobs 4
run "$BIN" frames samples/loss.grad -o "$d/svg" --format svg --jobs 3
run "$BIN" frames samples/pipeline.grad -o "$d/pdf" --format pdf --jobs 2
run "$BIN" frames samples/mlp-demo.grad -o "$d/mlp" --collapse neuron --jobs 4
run "$BIN" animate samples/neuron.grad -o "$d/a.gif"
run "$BIN" animate samples/neuron.grad -o "$d/a.svg"
run "$BIN" animate samples/neuron.grad -o "$d/a.html"
mkdir "$d/docs"; cp samples/docs/guide.md "$d/docs/"; cp samples/docs/guide.md "$d/docs/copy.md"
run "$BIN" markdown "$d/docs" -o "$d/out" --jobs 4
echo "tsan: $n passed, 0 failed"
