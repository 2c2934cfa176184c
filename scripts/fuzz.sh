#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer and AddressSanitizer, one harness per input the project reads:
#   core      programs: parser, traces, forward mode, collapse, check, ProgramWriter round trip (Fuzz/FuzzCore.swift)
#   markdown  Markdown documents: fence scan, HTML blocks, fence options and their normalized round trip,
#             fence bodies parsed with their at=/seed= (Fuzz/FuzzMarkdown.swift)
#   json      graph JSON: load, build, trace, forward, check, write and re-read (Fuzz/FuzzJSON.swift, when present)
#
#   scripts/fuzz.sh                            smoke run of every harness: 20,000 executions each (what CI runs)
#   scripts/fuzz.sh core -max_total_time=3600  one harness for an hour; any libFuzzer flag is passed on
#   scripts/fuzz.sh all -runs=5000000          every harness, 5·10⁶ executions each
#
# Each harness keeps its work corpus in .build-fuzz/NAME/corpus (between runs), seeded from the samples,
# Fuzz/regressions (inputs that once broke an invariant) and Fuzz/seeds/NAME; crashes are written to
# .build-fuzz/NAME/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
root=.build-fuzz
which=all
case "${1:-}" in core|markdown|json|all) which=$1; shift;; esac
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-runs=20000)
mkdir -p "$root"

# The C kernels of the core, with AddressSanitizer, once per change.
kobj="$root/kernels.o"
if [ ! -f "$kobj" ] || [ Sources/CKernels/kernels.c -nt "$kobj" ] || [ Sources/CKernels/include/gt_kernels.h -nt "$kobj" ]; then
  clang -c -O2 -g -fsanitize=address -I Sources/CKernels/include Sources/CKernels/kernels.c -o "$kobj"
fi
core_srcs=$(find Sources/GradTrace -name '*.swift' | LC_ALL=C sort)
# The drawing module and the file writer it re-exports (GradTraceFiles), copied into one module: their
# `import GradTraceFiles` lines are dropped, the module being one here.
mkdir -p "$root/render-src"
rm -rf "$root/render-src.new" && mkdir -p "$root/render-src.new"
for f in $(find Sources/GradTraceRender Sources/GradTraceFiles -name '*.swift' | LC_ALL=C sort); do
  out="$root/render-src.new/$(echo "$f" | tr '/' '_')"
  sed -e 's/^@_exported import GradTraceFiles$//' -e 's/^import GradTraceFiles$//' "$f" > "$out"
  touch -r "$f" "$out"
done
# Kept when unchanged, so that the harnesses are rebuilt only when a source changed.
if ! diff -rq "$root/render-src.new" "$root/render-src" >/dev/null 2>&1; then rm -rf "$root/render-src"; mv "$root/render-src.new" "$root/render-src"; else rm -rf "$root/render-src.new"; fi
render_srcs=$(find "$root/render-src" -name '*.swift' | LC_ALL=C sort)
# The drawing module's C libraries, for the harnesses that need it (markdown, json): their module maps,
# headers and libraries, and CTempFiles (a SwiftPM C target: its module map is written here).
mkdir -p "$root/ctempfiles"
printf 'module CTempFiles {\n    header "%s"\n    export *\n}\n' "$PWD/Sources/CTempFiles/include/tempfiles.h" > "$root/ctempfiles/module.modulemap.new"
cmp -s "$root/ctempfiles/module.modulemap.new" "$root/ctempfiles/module.modulemap" || mv "$root/ctempfiles/module.modulemap.new" "$root/ctempfiles/module.modulemap"
render_flags() {
  echo -I Sources/CCairo -I Sources/CGraphviz -I Sources/CImageCodecs -I Sources/CDeflate -I "$root/ctempfiles"
  pkg-config --cflags libgvc pangocairo libpng libdeflate | tr ' ' '\n' | grep '^-I' | sed 's/^/-Xcc /'
  pkg-config --libs libgvc pangocairo libpng libdeflate; echo -lgif
}
tobj="$root/tempfiles.o"
if [ ! -f "$tobj" ] || [ Sources/CTempFiles/tempfiles.c -nt "$tobj" ]; then
  clang -c -O2 -g -fsanitize=address -I Sources/CTempFiles/include Sources/CTempFiles/tempfiles.c -o "$tobj"
fi

# build NAME HARNESS [EXTRA SOURCES AND FLAGS…]: one module holding the core, the extras and the harness.
build() {
  local name=$1 harness=$2; shift 2
  local bin="$root/$name/fuzz-$name"
  mkdir -p "$root/$name"
  if [ ! -x "$bin" ] || [ -n "$(find Sources Fuzz -newer "$bin" \( -name '*.swift' -o -name '*.c' -o -name '*.h' \) 2>/dev/null | head -1)" ]; then
    echo "building $bin (swiftc -sanitize=fuzzer,address)" >&2
    # shellcheck disable=SC2086
    swiftc -sanitize=fuzzer,address -parse-as-library -module-name GradTrace -O -g \
      -I Sources/CKernels/include -Xcc -I -Xcc Sources/CKernels/include \
      $core_srcs "$@" "$harness" "$kobj" -o "$bin" 2>&1 | grep -v -e "warning: file '.*' is part of module 'GradTrace'; ignoring import" -e "Cannot export local symbol" >&2 || true
    [ -x "$bin" ] || { echo "fuzz: $name harness does not build" >&2; exit 1; }
  fi
}

# run NAME DICT MAXLEN SEED-DIRS…
run() {
  local name=$1 dict=$2 maxlen=$3; shift 3
  local dir="$root/$name" status runs
  mkdir -p "$dir/corpus"
  set +e
  "$dir/fuzz-$name" -dict="$dict" -max_len="$maxlen" -timeout=20 -rss_limit_mb=4096 -artifact_prefix="$dir/" \
    "${args[@]}" "$dir/corpus" "$@" >"$dir/last.log" 2>&1
  status=$?
  set -e
  grep -E '^#[0-9]+ +(DONE|INITED)|ERROR|Fatal error|Test unit written|Done [0-9]+ runs' "$dir/last.log" | cut -c1-300 | sed "s/^/$name: /"
  if [ "$status" != 0 ]; then echo "fuzz: $name FAILED (exit $status), see $dir/last.log" >&2; exit 1; fi
  runs=$(grep -Eo 'Done [0-9]+ runs' "$dir/last.log" | grep -Eo '[0-9]+' || echo 0)
  cov=$(grep -Eo 'cov: [0-9]+' "$dir/last.log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  echo "fuzz $name: $runs executions, coverage $cov edges, no crash"
}

if [ "$which" = core ] || [ "$which" = all ]; then
  mkdir -p "$root/core/seeds"
  cp samples/*.grad "$root/core/seeds/"
  for s in samples/tensors/*.grad; do cp "$s" "$root/core/seeds/tensor-$(basename "$s")"; done
  build core Fuzz/FuzzCore.swift
  run core Fuzz/grad.dict 4096 "$root/core/seeds" Fuzz/regressions
fi
if [ "$which" = markdown ] || [ "$which" = all ]; then
  mkdir -p "$root/markdown/seeds"
  cp samples/docs/*.md docs/*.md "$root/markdown/seeds/" 2>/dev/null || true
  # shellcheck disable=SC2046
  build markdown Fuzz/FuzzMarkdown.swift $render_srcs "$tobj" $(render_flags)
  run markdown Fuzz/markdown.dict 8192 "$root/markdown/seeds" Fuzz/seeds/markdown
fi
if { [ "$which" = json ] || [ "$which" = all ]; } && [ -f Fuzz/FuzzJSON.swift ]; then
  # shellcheck disable=SC2046
  build json Fuzz/FuzzJSON.swift $render_srcs "$tobj" $(render_flags)
  run json Fuzz/json.dict 16384 Fuzz/seeds/json
fi
