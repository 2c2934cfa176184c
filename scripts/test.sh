#!/usr/bin/env bash
# The whole test suite: installs what it needs on a fresh Debian machine, builds, runs every test.
# The Python package (python/) runs against micrograd, NumPy + autograd from PyPI in ~/.cache/gradtrace-test-venvs.
# Render tests always run: Graphviz, Cairo, Pango, fonts and Chromium (for the HTML player) are installed here.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh chromium python3-venv
swift build --build-tests
swift test --skip-build
# The benchmark as a smoke run (debug build, small sizes; prints figures, asserts no timing).
.build/debug/gradtrace-bench smoke
scripts/test-python.sh .build/debug/gradtrace   # the Python bridges against micrograd, autograd, JAX and PyTorch (torch: ~3 GB, once)
scripts/test-docs.sh .build/debug/gradtrace     # MkDocs plugin, Sphinx directive (from PyPI), README/docs examples run as written
scripts/test-notebook.sh .build/debug/gradtrace # the Python package in a real Jupyter kernel (nbclient), the executed notebook screenshotted
scripts/test-wheel.sh .build/debug/gradtrace    # the wheel on a clean Debian root (debootstrap), against this build
# Hardening: a libFuzzer smoke run of the core, and ThreadSanitizer over the parallel paths.
scripts/fuzz.sh
scripts/tsan.sh
