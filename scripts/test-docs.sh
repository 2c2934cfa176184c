#!/usr/bin/env bash
# The documentation plugins against the real tools from PyPI: python/test_mkdocs_plugin.py (mkdocs build and
# serve), python/test_sphinx_ext.py (sphinx-build), and scripts/doc-examples.py: the command-line transcripts and
# Python examples of README.md and docs/*.md, run as written (micrograd from PyPI for the Python ones). The virtual environment lives outside the clone, in ~/.cache/gradtrace-test-venvs/docs (made once);
# the package is reinstalled from python/ on every run. Never skipped: a missing piece is a failure.
# Usage: scripts/test-docs.sh [GRADTRACE_BIN]   (default: .build/debug/gradtrace, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/gradtrace}
[ -x "$bin" ] || swift build --product gradtrace
venv=${GRADTRACE_VENVS:-$HOME/.cache/gradtrace-test-venvs}/docs
if [ ! -x "$venv/bin/mkdocs" ] || [ ! -x "$venv/bin/sphinx-build" ] || ! "$venv/bin/python" -c 'import micrograd' 2>/dev/null; then
  python3 -m venv "$venv" || { echo "docs plugins: cannot create a virtual environment (apt-get install python3-venv)"; exit 1; }
  "$venv/bin/pip" install -q "mkdocs==1.6.1" "sphinx==8.1.3" "micrograd==0.1.0" || { echo "docs plugins: cannot install mkdocs, sphinx and micrograd from PyPI"; exit 1; }
fi
"$venv/bin/pip" install -q --no-deps --force-reinstall ./python >/dev/null
abs="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
"$venv/bin/python" python/test_mkdocs_plugin.py "$abs"
"$venv/bin/python" python/test_sphinx_ext.py "$abs"
"$venv/bin/python" scripts/doc-examples.py "$abs" "$venv/bin/python"
