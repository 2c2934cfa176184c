#!/usr/bin/env bash
# The Python side against frameworks from PyPI: the micrograd bridge (gradtrace_micrograd.py and gradtrace.micrograd),
# tensor programs against NumPy + HIPS autograd, the layer functions and the JAX bridge against JAX in float64, and the
# PyTorch bridge against PyTorch. Each framework set
# lives in its own virtual environment outside the clone, under ${GRADTRACE_VENVS:-~/.cache/gradtrace-test-venvs},
# created once and reused (a second run downloads nothing). Never skipped: a missing piece is a failure.
# Usage: scripts/test-python.sh [GRADTRACE_BIN]   (default: .build/debug/gradtrace, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/gradtrace}
[ -x "$bin" ] || swift build --product gradtrace
abs="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
venvs=${GRADTRACE_VENVS:-$HOME/.cache/gradtrace-test-venvs}

# venv NAME CHECK PIP-ARGS…: prints the python of a virtual environment holding PIP-ARGS (CHECK imports them).
venv() {
  local name=$1 check=$2; shift 2
  local v=$venvs/$name
  if [ ! -x "$v/bin/python" ] || ! "$v/bin/python" -c "$check" 2>/dev/null; then
    mkdir -p "$venvs"
    [ -x "$v/bin/python" ] || python3 -m venv "$v" >&2 || { echo "python: cannot create a virtual environment (apt-get install python3-venv)" >&2; exit 1; }
    "$v/bin/pip" install -q "$@" >&2 || { echo "python: cannot install $* from PyPI" >&2; exit 1; }
  fi
  echo "$v/bin/python"
}

py=$(venv micrograd 'import micrograd, numpy, autograd' micrograd numpy autograd)
# The package installs with pip (standard library only), as a user installs it.
"$py" -m pip install -q --no-deps --force-reinstall ./python >/dev/null
"$py" python/test_gradtrace_micrograd.py "$abs"
"$py" python/test_micrograd_capture.py "$abs"
"$py" python/test_tensors_autograd.py "$abs"
# Frame PNGs (compressed in bands, recompressed from a cache) decoded by Python's zlib and compared with render --step.
"$py" python/test_png_frames.py "$abs"
# The layer functions against JAX in float64 (jax, jaxlib from PyPI).
jpy=${GRADTRACE_JAX_VENV:+$GRADTRACE_JAX_VENV/bin/python}
# JAX pinned: the jax bridge reads jaxprs, which are not a stable API (python/test_jax_bridge.py checks the version).
[ -n "$jpy" ] || jpy=$(venv jax 'import jax, jaxlib; assert jax.__version__ == "0.10.2"' jax==0.10.2 jaxlib==0.10.2)
"$jpy" python/test_layers_jax.py "$abs"
"$jpy" python/test_jax_bridge.py "$abs"
# The PyTorch bridge against PyTorch from PyPI, pinned (the plain PyPI wheel: about 3.0 GB downloaded with its CUDA
# libraries, 5.4 GB installed, about 2 minutes to install here; the tests themselves take about 10 s).
tpy=$(venv torch 'import torch, numpy; assert torch.__version__.split("+")[0] == "2.15.0"' torch==2.15.0 numpy)
"$tpy" python/test_torch_bridge.py "$abs"
# The differential oracle: 300 random programs over every function (fixed seed) against JAX in float64.
# A long run: python/oracle.py BIN --seed S --count 5000.
"$jpy" python/oracle.py "$abs" --seed 1 --count 300
