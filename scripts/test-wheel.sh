#!/usr/bin/env bash
# Proves the wheel on a clean machine: a minimal Debian root made with debootstrap (python3, pip and venv only:
# no Graphviz, Cairo, Pango, fonts or Swift), the wheel installed there with pip into a virtual environment, every
# sample rendered there (SVG, PNG, PDF of each, a GIF, an HTML player, frames, a Markdown page) and compared byte
# for byte with what the source build draws on this machine. Also checks that every shared library the wheel's
# gradtrace loads there comes from the wheel or from glibc/libstdc++/libgcc_s (ld.so's own list), that
# `import gradtrace` finds the same executable and runs it, and that bad input still exits 2 with a located error.
#
# Usage: scripts/test-wheel.sh [SOURCE_BUILD_BIN]   (default: .build/release/gradtrace, built when missing)
# Needs root (debootstrap, mount, chroot; through sudo when not root). The Debian root is cached in ${GRADTRACE_DEBOOTSTRAP:-~/.cache/gradtrace-debootstrap}.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "test-wheel: needs root or sudo (debootstrap, mount, chroot)" >&2; exit 1; }
  exec sudo -E "$0" "$@"
fi
scripts/deps.sh debootstrap
t0=$(date +%s.%N)
secs() { python3 -c "import time; print(f'{time.time() - $1:.1f}')"; }   # seconds since $1 (date +%s.%N)

src=${1:-.build/release/gradtrace}
if [ -z "${1:-}" ]; then swift build -c release --product gradtrace; fi
src=$(cd "$(dirname "$src")" && pwd)/$(basename "$src")
[ -x "$src" ] || { echo "test-wheel: no source build at $src" >&2; exit 1; }

scripts/build-wheel.sh
whl=$(ls dist/gradtrace-*.whl)
echo "test-wheel: $(basename "$whl"), $(( $(stat -c %s "$whl") / 1000 )) kB"

# The clean machine: Debian bookworm, minbase + python3, pip and venv.
cache=${GRADTRACE_DEBOOTSTRAP:-$HOME/.cache/gradtrace-debootstrap}
root=$cache/bookworm
if [ ! -f "$root/.gradtrace-ready" ]; then
  t=$(date +%s.%N)
  rm -rf "$root.tmp"; mkdir -p "$cache"
  debootstrap --variant=minbase --include=python3,python3-pip,python3-venv bookworm "$root.tmp" http://deb.debian.org/debian \
    >"$cache/debootstrap.log" 2>&1 || { tail -5 "$cache/debootstrap.log" >&2; echo "test-wheel: debootstrap failed" >&2; exit 1; }
  rm -rf "$root"; mv "$root.tmp" "$root"; touch "$root/.gradtrace-ready"
  echo "test-wheel: made the Debian root in $(secs "$t") s"
fi
# /proc as on any running machine (ld.so reads /proc/self/exe to resolve the executable's $ORIGIN RPATH).
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
here=$(mktemp -d)
trap 'umount "$root/proc" 2>/dev/null || true; rm -rf "$here"' EXIT
run() { chroot "$root" /usr/bin/env -i HOME=/gt/home PATH=/gt/venv/bin:/usr/bin:/bin LANG=C.UTF-8 "$@"; }
# Nothing to draw with outside the wheel: no Graphviz, Cairo, Pango, fontconfig, fonts or Swift runtime.
strays=$(cd "$root" && ls -d usr/lib/x86_64-linux-gnu/{libgvc,libcairo,libpango-,libfontconfig,libswiftCore}* usr/share/fonts usr/bin/dot 2>/dev/null || true)
[ -z "$strays" ] || { echo "test-wheel: the clean root is not clean: $strays" >&2; exit 1; }

# A fresh test folder in the root each run.
rm -rf "$root/gt"; mkdir -p "$root/gt/home" "$root/gt/work"
cp "$whl" "$root/gt/"
cp -r samples "$root/gt/work/"
cat >"$root/gt/render-all.sh" <<'EOF'
#!/bin/sh
# render-all.sh GRADTRACE OUT: what test-wheel.sh compares (run from the folder holding samples/).
set -eu
g=$1; out=$2; mkdir -p "$out"
for s in samples/*.grad samples/tensors/*.grad; do
  n=$(basename "$s" .grad); case $s in samples/tensors/*) n=tensor-$n; r="--rankdir TB";; *) r="";; esac
  for f in svg png pdf; do "$g" render "$s" -o "$out/$n.$f" $r; done
  "$g" trace "$s" > "$out/$n.trace.txt"
done
"$g" render samples/loss.grad --step 3 --theme dark --scale 1.5 -o "$out/loss-step3-dark.png"
"$g" render samples/mlp-demo.grad --collapse neuron --clusters -o "$out/mlp-neuron.svg"
"$g" animate samples/neuron.grad -o "$out/neuron.gif"
"$g" animate samples/neuron.grad -o "$out/neuron.html"
"$g" animate samples/neuron.grad -o "$out/neuron-anim.svg"
"$g" frames samples/micrograd-chain.grad -o "$out/frames"
"$g" markdown samples/docs/guide.md -o "$out/docs/guide.md"
EOF
chmod +x "$root/gt/render-all.sh"

run python3 -m venv /gt/venv
t=$(date +%s.%N)
run /gt/venv/bin/pip install -q --no-deps "/gt/$(basename "$whl")"
echo "test-wheel: pip install of the wheel into a fresh venv in the clean root: $(secs "$t") s"
[ -x "$root/gt/venv/bin/gradtrace" ] || { echo "test-wheel: the wheel put no gradtrace on the PATH" >&2; exit 1; }

# The source build's pictures here, the wheel's there.
(cd "$root/gt/work" && HOME="$here" "$root/gt/render-all.sh" "$src" "$here/source") >/dev/null
t=$(date +%s.%N)
run sh -c 'cd /gt/work && /gt/render-all.sh gradtrace /gt/wheel' >/dev/null
echo "test-wheel: rendered in the clean root in $(secs "$t") s"
n=$(cd "$here/source" && find . -type f | wc -l)
if ! diff -r "$here/source" "$root/gt/wheel" >"$here/diff" 2>&1; then
  head -20 "$here/diff" >&2; echo "test-wheel: the wheel's output differs from the source build's" >&2; exit 1
fi
echo "test-wheel: $n files (SVG, PNG, PDF, traces, GIF, HTML player, animated SVG, frames, Markdown) byte-identical to the source build's"

# Every library gradtrace loads (ld.so's own list, plugins included): from the wheel (/gt/venv) or glibc, libstdc++,
# libgcc_s. The PATH script is Python, which execs the launcher, which execs the executable: one process, so only
# what is loaded after the last program but one took control (Debian's python3 itself loads libexpat and libz).
run sh -c 'cd /gt/work && LD_DEBUG=libs LD_DEBUG_OUTPUT=/gt/lddebug gradtrace render samples/mlp-demo.grad -o /gt/mlp.png' 2>/dev/null
f=$(grep -l 'initialize program: .*_libexec/gradtrace' "$root"/gt/lddebug.* | head -1)
[ -n "$f" ] || { echo "test-wheel: no ld.so debug output of the executable" >&2; exit 1; }
loaded=$(awk -v last="$(grep -c 'transferring control:' "$f")" '/transferring control:/ {n++} n >= last - 1' "$f" \
  | grep -o 'calling init: [^ ]*' | awk '{print $3}' | sort -u)
[ -n "$loaded" ] || { echo "test-wheel: no ld.so debug output" >&2; exit 1; }
foreign=$(grep -v '^/gt/venv/' <<<"$loaded" | grep -Ev '/(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+|ld-linux-x86-64|libutil|libresolv)\.so' || true)
[ -z "$foreign" ] || { echo "test-wheel: loads libraries from outside the wheel: $foreign" >&2; exit 1; }
grep -q '_graphviz/libgvplugin_dot_layout' <<<"$loaded" || { echo "test-wheel: the wheel's Graphviz plugin was not loaded" >&2; exit 1; }
echo "test-wheel: gradtrace loads $(grep -c '^/gt/venv/' <<<"$loaded") libraries from the wheel (the Graphviz plugin too), the others are glibc's, libstdc++ and libgcc_s"

# The Python package finds the same executable and runs it.
run /gt/venv/bin/python -c '
import gradtrace, os, subprocess
exe = gradtrace.executable()
assert os.path.realpath(exe).startswith("/gt/venv/"), exe
out = subprocess.run([exe, "grad", "samples/loss.grad"], cwd="/gt/work", capture_output=True, text=True, check=True).stdout
assert "dL/dw = 1248" in out, out
print("test-wheel: import gradtrace runs", exe)'

# Bad input through the PATH script: exit 2, a located message, nothing on stdout.
set +e
out=$(run sh -c 'cd /gt/work && gradtrace trace -e "x = 2; y = x +"' 2>"$here/err"); rc=$?
set -e
[ $rc = 2 ] && [ -z "$out" ] && grep -q '1:15: error' "$here/err" \
  || { echo "test-wheel: bad input: exit $rc, stdout '$out', stderr $(head -c 200 "$here/err")" >&2; exit 1; }
echo "test-wheel: bad input exits 2 with a located error"
[ -n "${KEEP:-}" ] || rm -rf "$root/gt"
echo "test-wheel: passed in $(secs "$t0") s"
