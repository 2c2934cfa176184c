#!/usr/bin/env bash
# Pictures as a reader sees them: renders the pictures the pictures issue names (medium scalar graphs, the
# collapsed MLP demo, tensor samples, the transformer block) as SVG, at full width and with --max-width 660,
# and prints each one's size in points, its aspect ratio, and its smallest text in points and in CSS pixels
# when shown in an 880 px column (never enlarged). Usage: scripts/picture-sizes.sh [BIN] (default: the release build).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release/gradtrace}
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
pictures=(
  "samples/micrograd-more-ops.grad"
  "samples/mlp-demo.grad --collapse neuron"
  "samples/tensors/mlp-demo.grad --rankdir TB"
  "samples/tensors/transformer-block.grad --rankdir TB"
  "samples/tensors/transformer-block.grad --collapse module"
  "samples/tensors/cnn-6x6.grad --rankdir TB"
)
printf '%-58s %-11s %12s %7s %9s %9s\n' picture width picture aspect "min pt" "px @880"
for spec in "${pictures[@]}"; do
  for width in "" 660; do
    # shellcheck disable=SC2086
    set -- $spec
    [ -f "$1" ] || continue
    args=("$@"); [ -n "$width" ] && args+=(--max-width "$width")
    "$bin" render "${args[@]}" -o "$d/p.svg" 2>"$d/err" || { echo "$spec: render failed: $(head -c 200 "$d/err")"; continue; }
    python3 - "$d/p.svg" "$spec" "${width:-full}" <<'EOF'
import re, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
def points(v):
    m = re.match(r"([0-9.]+)\s*(pt|px)?", v)
    return float(m.group(1)) * (0.75 if m.group(2) == "px" else 1.0)
w, h = points(root.get("width")), points(root.get("height"))
sizes = []
def walk(e, size):
    s = e.get("font-size") or (re.search(r"font-size:\s*([0-9.]+)", e.get("style", "")) or [None, None])[1]
    size = float(re.match(r"[0-9.]+", s).group(0)) if s else size
    if e.tag.split("}")[-1] == "text" and "".join(e.itertext()).strip():
        sizes.append(size or 12.0)
    for c in e:
        walk(c, size)
walk(root, None)
shown = min(1.0, 880 / (w * 4 / 3))          # points to CSS px is 4/3; a column never enlarges
smallest = min(sizes) if sizes else 0.0
print("%-58s %-11s %5.0f×%-6.0f %6.2f %9.2f %9.2f" % (sys.argv[2], sys.argv[3], w, h, max(w, h) / min(w, h), smallest, smallest * 4 / 3 * shown))
EOF
  done
done
