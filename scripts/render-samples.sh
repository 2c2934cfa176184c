#!/usr/bin/env bash
# The main job: renders every sample (samples/*.grad) into output/, as SVG and PNG of the final
# state, with its step table beside it. Installs what it needs on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build -c release --product gradtrace
bin=.build/release/gradtrace
mkdir -p output
for s in samples/*.grad; do
  name=$(basename "$s" .grad)
  "$bin" trace "$s" > "output/$name.trace.txt"
  "$bin" render "$s" -o "output/$name.svg"
  "$bin" render "$s" -o "output/$name.png"
  echo "output/$name.{svg,png,trace.txt}"
done
# Tensor samples (samples/tensors/*.grad): a layer is one node.
mkdir -p output/tensors
for s in samples/tensors/*.grad; do
  name=$(basename "$s" .grad)
  "$bin" trace "$s" > "output/tensors/$name.trace.txt"
  "$bin" render "$s" -o "output/tensors/$name.svg" --rankdir TB
  "$bin" render "$s" -o "output/tensors/$name.png" --rankdir TB
  echo "output/tensors/$name.{svg,png,trace.txt}"
done
# Modules (dotted names): the transformer block with its module boxes, and with each module as one node.
"$bin" render samples/tensors/transformer-block.grad -o output/tensors/transformer-block.clusters.svg --clusters --rankdir TB
"$bin" render samples/tensors/transformer-block.grad -o output/tensors/transformer-block.modules.png --collapse module --rankdir TB
echo "output/tensors/transformer-block.{clusters.svg,modules.png}"
# Graphs captured from frameworks (samples/bridges/*.json, written by gradtrace.torch / gradtrace.jax and committed,
# so this job needs no framework): traced, rendered and checked against the framework's own gradients.
mkdir -p output/bridges
for s in samples/bridges/*.json; do
  name=$(basename "$s" .json)
  "$bin" trace "$s" > "output/bridges/$name.trace.txt"
  "$bin" render "$s" -o "output/bridges/$name.svg" --rankdir TB
  "$bin" render "$s" -o "output/bridges/$name.png" --rankdir TB
  "$bin" check "$s" > "output/bridges/$name.check.txt"
  echo "output/bridges/$name.{svg,png,trace.txt,check.txt}"
done
# The pictures README.md shows (small, committed).
mkdir -p output/showcase
"$bin" render samples/loss.grad -o output/showcase/loss.png --scale 1.5
"$bin" render samples/loss.grad -o output/showcase/loss-step3.png --step 3 --scale 1.5
"$bin" render samples/neuron.grad -o output/showcase/neuron.svg --title "micrograd's neuron: o = tanh(x1·w1 + x2·w2 + b)"
"$bin" render samples/tensors/broadcast-bias.grad -o output/showcase/tensor-bias.png --scale 1.5 --rankdir TB
"$bin" render samples/bridges/torch-attention.json -o output/showcase/torch-attention.png --rankdir TB --scale 1
"$bin" render samples/bridges/jax-mlp.json -o output/showcase/jax-mlp.png --rankdir TB --scale 1
echo "output/showcase/{loss.png,loss-step3.png,neuron.svg,tensor-bias.png,torch-attention.png,jax-mlp.png}"
# The documentation sample: a Markdown page whose gradtrace fences become pictures.
"$bin" markdown samples/docs/guide.md -o output/docs/guide.md
echo "output/docs/guide.md"
