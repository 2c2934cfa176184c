#!/usr/bin/env bash
# GradTrace against the baseline (micrograd + micrograd-style draw_dot and Graphviz), in one run.
# Installs micrograd and graphviz from PyPI into a virtual environment under .build/, builds the
# release benchmark, runs both sides, and prints a table of ratios (the one README.md quotes).
# Usage: scripts/bench-vs-micrograd.sh [BASELINE_FRAMES]   (baseline frames timed; the rest extrapolated)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
venv=.build/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q micrograd==0.1.0 graphviz >/dev/null
swift build -c release --product gradtrace-bench >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
.build/release/gradtrace-bench mlp > "$out/gt.txt"
w=$(awk '$1=="frames_width"{print $2}' "$out/gt.txt"); h=$(awk '$1=="frames_height"{print $2}' "$out/gt.txt")
"$venv/bin/python" scripts/bench_micrograd.py "$w" "$h" "${1:-12}" "$out" > "$out/mg.txt"
python3 - "$out/gt.txt" "$out/mg.txt" <<'PY'
import sys
def load(p):
    d = {}
    for line in open(p):
        k, v = line.split(None, 1); v = v.strip()
        try: d[k] = float(v)
        except ValueError: d[k] = v
    return d
g, m = load(sys.argv[1]), load(sys.argv[2])
def ms(x):
    if x >= 1: return f"{x:.1f} s"
    return f"{x * 1000:.3g} ms" if x >= 1e-3 else f"{x * 1e6:.3g} µs"
def ratio(a, b):
    if not (isinstance(a, float) and isinstance(b, float)): return "—"
    r = a / b
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×"
rows = [("backward, MLP demo (394 values)", m["mlp_backward"], g["mlp_backward_steps"])]
for n in (1_000, 10_000, 100_000, 1_000_000):
    base = m.get(f"chain_{n}_raised", m.get(f"chain_{n}_default"))
    label = f"backward, chain of {n:,} steps"
    d = m.get(f"chain_{n}_default")
    note = " (default limit: RecursionError)" if d == "RecursionError" else ""
    rows.append((label + note, base if isinstance(base, float) else "RecursionError", g[f"chain_{n}"]))
frames = int(g["frames_count"])
base_frames = m["baseline_frame"] * frames
floor = g["frames_png_encode_one"] * frames / g["cores"]
rows.append((f"all {frames} PNG frames of the MLP demo, {int(g['frames_width'])}×{int(g['frames_height'])} px", base_frames, g["frames_png_total"]))
rows.append(("one SVG of the MLP demo (GradTrace: layout + paint; baseline: dot -Tsvg)", m["baseline_svg"], g["render_svg"]))
print("| measurement | baseline | GradTrace | GradTrace faster by |")
print("|---|---|---|---|")
for label, b, t in rows:
    bs = b if isinstance(b, str) else ms(b)
    print(f"| {label} | {bs} | {ms(t)} | {ratio(b, t) if not isinstance(b, str) else '—'} |")
print()
print(f"Baseline frames: micrograd-style draw_dot + `dot -Tpng` per step, {int(m.get('baseline_steps', 0))} steps; "
      f"{ms(m['baseline_frame'])} a frame measured over the first frames, times {frames}.")
print(f"PNG encoding floor: {ms(g['frames_png_encode_one'])} to encode one frame × {frames} frames ÷ {int(g['cores'])} cores = {ms(floor)}; "
      f"GradTrace's total is {g['frames_png_total'] / floor:.2f}× that floor.")
PY
