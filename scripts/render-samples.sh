#!/usr/bin/env bash
# The main job: renders every sample (samples/*.grad) into output/, as SVG and PNG of the final
# state, with its step table beside it. Installs what it needs on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build -c release --product gradtrace
bin=.build/release/gradtrace
mkdir -p output
for s in samples/*.grad; do
  name=$(basename "$s" .grad)
  "$bin" trace "$s" > "output/$name.trace.txt"
  "$bin" render "$s" -o "output/$name.svg"
  "$bin" render "$s" -o "output/$name.png"
  echo "output/$name.{svg,png,trace.txt}"
done
