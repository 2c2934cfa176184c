#!/usr/bin/env bash
# The Python bridge against micrograd from PyPI, tensor programs against NumPy + HIPS autograd from PyPI (a virtual
# environment in .build/python-venv, created once), and the layer functions against JAX in float64 (a virtual
# environment in ~/.cache/gradtrace-test-venvs/jax). Never skipped: a missing piece is a failure.
# Usage: scripts/test-python.sh [GRADTRACE_BIN]   (default: .build/debug/gradtrace, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/gradtrace}
[ -x "$bin" ] || swift build --product gradtrace
venv=.build/python-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import micrograd, numpy, autograd' 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || { echo "python bridge: cannot create a virtual environment (apt-get install python3-venv)"; exit 1; }
  "$venv/bin/pip" install -q micrograd numpy autograd || { echo "python bridge: cannot install micrograd, numpy and autograd from PyPI"; exit 1; }
fi
abs="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
"$venv/bin/python" python/test_gradtrace_micrograd.py "$abs"
"$venv/bin/python" python/test_tensors_autograd.py "$abs"
# The layer functions against JAX in float64 (jax, jaxlib from PyPI), in a virtual environment outside the clone.
jvenv=${GRADTRACE_JAX_VENV:-$HOME/.cache/gradtrace-test-venvs/jax}
if [ ! -x "$jvenv/bin/python" ] || ! "$jvenv/bin/python" -c 'import jax, jaxlib' 2>/dev/null; then
  [ -x "$jvenv/bin/python" ] || python3 -m venv "$jvenv" || { echo "layers vs jax: cannot create a virtual environment (apt-get install python3-venv)"; exit 1; }
  "$jvenv/bin/pip" install -q jax jaxlib || { echo "layers vs jax: cannot install jax and jaxlib from PyPI"; exit 1; }
fi
"$jvenv/bin/python" python/test_layers_jax.py "$abs"
# The differential oracle: 300 random programs over every function (fixed seed) against JAX in float64.
# A long run: python/oracle.py BIN --seed S --count 5000.
"$jvenv/bin/python" python/oracle.py "$abs" --seed 1 --count 300
