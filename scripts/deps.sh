#!/usr/bin/env bash
# Installs the Debian packages GradTrace needs, when any is missing. Sourced by the other scripts.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail
packages=(pkg-config libgraphviz-dev graphviz libcairo2-dev libpango1.0-dev libpng-dev libgif-dev libdeflate-dev fonts-dejavu-core "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "missing packages (${missing[*]}) and not root: install them with apt-get" >&2; exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
