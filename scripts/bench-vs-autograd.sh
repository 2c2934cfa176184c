#!/usr/bin/env bash
# The tensor benchmark: a 2-layer MLP (batch 64, 784 -> 128 -> 10, cross-entropy), forward + backward,
# through `gradtrace grad` (a whole process: reading the program, randn, forward, backward, output)
# and through NumPy + HIPS autograd (installed from PyPI into a virtual environment under .build/),
# in one run. Usage: scripts/bench-vs-autograd.sh [RUNS]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
venv=.build/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q numpy autograd >/dev/null
swift build -c release --product gradtrace >/dev/null
bin=.build/release/gradtrace
prog=Benchmarks/tensor/mlp784.grad
"$bin" grad "$prog" > /dev/null   # warm the file cache
python3 - "$bin" "$prog" "$runs" <<'PY' > /tmp/gradtrace-bench-tensor.txt
import subprocess, sys, time, resource
bin, prog, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
best = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run([bin, "grad", prog], stdout=subprocess.DEVNULL, check=True)
    best.append(time.perf_counter() - t)
best.sort()
print("gradtrace_process_median", best[len(best) // 2])
print("gradtrace_process_min", best[0])
print("gradtrace_rss_kb", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
"$venv/bin/python" Benchmarks/tensor/bench_autograd.py 200 >> /tmp/gradtrace-bench-tensor.txt
python3 - /tmp/gradtrace-bench-tensor.txt <<'PY'
import sys
d = {k: float(v) for k, v in (l.split() for l in open(sys.argv[1]))}
ms = lambda s: f"{s * 1000:.1f} ms"
print("2-layer MLP, batch 64, 784 -> 128 -> 10, cross-entropy: forward + backward, all input gradients")
print(f"  gradtrace grad (whole process, median of runs): {ms(d['gradtrace_process_median'])}  (min {ms(d['gradtrace_process_min'])}, max RSS {d['gradtrace_rss_kb'] / 1024:.0f} MB)")
print(f"  autograd, per iteration (warm, in-process):     {ms(d['autograd_per_iteration'])}")
print(f"  autograd, first iteration with imports:         {ms(d['autograd_process'])}")
r = d['autograd_per_iteration'] / d['gradtrace_process_median']
print(f"  gradtrace process / autograd warm iteration:    {'%.2f' % r}x {'(gradtrace faster)' if r >= 1 else '(autograd faster)'}")
PY
