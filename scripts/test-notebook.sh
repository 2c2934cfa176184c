#!/usr/bin/env bash
# The Python package in a real Jupyter kernel: python/test_notebook.py executes a notebook that captures a
# micrograd model (nbclient), checks the picture and the player among its outputs, renders it to HTML (nbconvert)
# and screenshots it in headless Chromium (into .build/notebook/). The virtual environment lives outside the clone,
# in ~/.cache/gradtrace-test-venvs/notebook (made once); the package is reinstalled from python/ on every run.
# Usage: scripts/test-notebook.sh [GRADTRACE_BIN]   (default: .build/debug/gradtrace, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh chromium python3-venv
bin=${1:-.build/debug/gradtrace}
[ -x "$bin" ] || swift build --product gradtrace
venv=${GRADTRACE_VENVS:-$HOME/.cache/gradtrace-test-venvs}/notebook
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import nbclient, nbconvert, ipykernel, micrograd' 2>/dev/null; then
  python3 -m venv "$venv" || { echo "notebook: cannot create a virtual environment (apt-get install python3-venv)"; exit 1; }
  "$venv/bin/pip" install -q "nbclient==0.11.0" "nbconvert==7.17.2" "nbformat==5.11.1" "ipykernel==7.4.0" "micrograd==0.1.0" \
    || { echo "notebook: cannot install nbclient, nbconvert, ipykernel and micrograd from PyPI"; exit 1; }
fi
"$venv/bin/pip" install -q --no-deps --force-reinstall ./python >/dev/null
abs="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
"$venv/bin/python" python/test_notebook.py "$abs" .build/notebook
