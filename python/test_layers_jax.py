"""The layer functions against JAX in float64 (from PyPI): usage: test_layers_jax.py GRADTRACE_BIN

Each case is a gradtrace program and the same computation written with jax.numpy / jax.lax. The inputs'
values are read back from `gradtrace grad --json` (so `randn` inputs need no copy of the generator); the
value and every element of every differentiable input's gradient must agree with JAX to 1e-9 relative.
Covers every registry function with its options and edge cases: padding, stride, repeated ids,
broadcasting in both directions, negative axes, batched @ with broadcast batch axes, slices.
Prints one line per case and `layers vs jax: N passed, M failed`; exits 1 when one failed."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testrunner import run_tests  # noqa: E402

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

BIN = sys.argv[1]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def layer_norm(x, g=None, b=None, eps=1e-5):
    m = jnp.mean(x, axis=-1, keepdims=True)
    v = jnp.mean((x - m) ** 2, axis=-1, keepdims=True)
    y = (x - m) / jnp.sqrt(v + eps)
    if g is not None:
        y = y * g
    if b is not None:
        y = y + b
    return y


def batch_norm(x, g, b, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    m = jnp.mean(x, axis=axes, keepdims=True)
    v = jnp.mean((x - m) ** 2, axis=axes, keepdims=True)
    return (x - m) / jnp.sqrt(v + eps) * g.reshape(shape) + b.reshape(shape)


def conv2d(x, w, b=None, stride=1, padding=0):
    y = lax.conv_general_dilated(x, w, (stride, stride), [(padding, padding), (padding, padding)],
                                 dimension_numbers=("NCHW", "OIHW", "NCHW"), precision=lax.Precision.HIGHEST)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def max_pool2d(x, k, stride=None):
    s = stride or k
    return lax.reduce_window(x, -jnp.inf, lax.max, (1,) * (x.ndim - 2) + (k, k), (1,) * (x.ndim - 2) + (s, s), "VALID")


def avg_pool2d(x, k, stride=None):
    s = stride or k
    return lax.reduce_window(x, 0.0, lax.add, (1,) * (x.ndim - 2) + (k, k), (1,) * (x.ndim - 2) + (s, s), "VALID") / (k * k)


def log_softmax(x, axis=-1):
    return x - jax.scipy.special.logsumexp(x, axis=axis, keepdims=True)


def cross_entropy(z, y):
    return -jnp.mean(log_softmax(z, 1)[jnp.arange(z.shape[0]), y])


def nll_loss(lp, y):
    return -jnp.mean(lp[jnp.arange(lp.shape[0]), y])


def bce(p, y):
    return -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))


def gelu(x):
    return jax.nn.gelu(x, approximate=False)


def sample(name):
    with open(os.path.join(ROOT, "samples", "tensors", name)) as f:
        return f.read()


A34 = "[[0.3, -1.2, 2.0, 0.7], [1.5, 0.1, -0.4, -2.2], [0.9, 0.8, -0.6, 0.05]]"

# (name, program, python function of the listed inputs, differentiable inputs, other inputs passed as constants)
CASES = [
    ("linear: matrix, vector and rank-3 inputs, with and without bias",
     "x = randn(3, 4)\nv = randn(4)\nt = randn(2, 3, 4)\nW = randn(2, 4)\nb = randn(2)\n"
     "L = sum(linear(x, W, b) ^ 2) + sum(linear(v, W) * [1, -2]) + sum(tanh(linear(t, W, b)))",
     lambda x, v, t, W, b: jnp.sum(linear(x, W, b) ** 2) + jnp.sum(linear(v, W) * jnp.array([1.0, -2])) + jnp.sum(jnp.tanh(linear(t, W, b))),
     ["x", "v", "t", "W", "b"], []),
    ("transpose with negative axes, permute",
     "x = randn(2, 3, 4)\nc = randn(4, 3, 2)\nL = sum(transpose(x, 0, -1) * c) + sum(permute(x, 2, 0, 1) ^ 2 * arange(3)) + sum(transpose(x) @ x)",
     lambda x, c: jnp.sum(jnp.swapaxes(x, 0, -1) * c) + jnp.sum(jnp.transpose(x, (2, 0, 1)) ** 2 * jnp.arange(3.0))
     + jnp.sum(jnp.swapaxes(x, -1, -2) @ x),
     ["x"], ["c"]),
    ("concat along 0, 1 and -1; stack along 0 and -1",
     "a = randn(2, 3)\nb = randn(2, 2)\nc = randn(1, 3)\n"
     "L = sum(concat(a, b, axis=1) ^ 2 * arange(5)) + sum(concat(a, c) * 3 - concat(a, c, a, axis=0) [0:3, :]) "
     "+ sum(stack(a, a * 2, axis=-1) ^ 3) + sum(stack(a[0], c[0]) * [[1], [2]]) + sum(concat(b, a, axis=-1) ^ 2)",
     lambda a, b, c: jnp.sum(jnp.concatenate([a, b], 1) ** 2 * jnp.arange(5.0)) + jnp.sum(jnp.concatenate([a, c]) * 3 - jnp.concatenate([a, c, a])[0:3, :])
     + jnp.sum(jnp.stack([a, a * 2], -1) ** 3) + jnp.sum(jnp.stack([a[0], c[0]]) * jnp.array([[1.0], [2.0]]))
     + jnp.sum(jnp.concatenate([b, a], -1) ** 2),
     ["a", "b", "c"], []),
    ("comparisons, where, maximum, minimum (with ties), clamp, broadcasting both ways",
     "x = [[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]]\nr = [1.0, -1.5, 0.0]\nc = [[0.3], [-2.0]]\n"
     "L = sum(where(x > r, x * c, r - x) ^ 2) + sum(maximum(x, r) * [1, 2, 3]) + sum(minimum(c, x) ^ 2) "
     "+ sum(clamp(x, -1, 1.5) * c) + sum((x <= 0.25) * x) + sum(clamp(x, min=0) + clamp(x, max=0.3) ^ 2)",
     lambda x, r, c: jnp.sum(jnp.where(x > r, x * c, r - x) ** 2) + jnp.sum(jnp.maximum(x, r) * jnp.array([1.0, 2, 3]))
     + jnp.sum(jnp.minimum(c, x) ** 2) + jnp.sum(jnp.clip(x, -1, 1.5) * c) + jnp.sum((x <= 0.25) * x)
     + jnp.sum(jnp.clip(x, 0, None) + jnp.clip(x, None, 0.3) ** 2),
     ["x", "r", "c"], []),
    ("embedding with repeated ids, rank-2 ids",
     "T = randn(5, 3)\nids = [[1, 3, 1], [0, 4, 1]]\nw = randn(3)\nL = sum(tanh(embedding(T, ids)) * w) + sum(embedding(T, [2, 2]) ^ 2)",
     lambda T, w, ids: jnp.sum(jnp.tanh(T[ids]) * w) + jnp.sum(T[jnp.array([2, 2])] ** 2),
     ["T", "w"], ["ids"]),
    ("layer_norm with and without affine, eps, rank 3",
     "x = randn(2, 3, 4)\ng = randn(4)\nb = randn(4)\nc = randn(2, 3, 4)\n"
     "L = sum(layer_norm(x, g, b) * c) + sum(layer_norm(x * 3, eps=0.1) ^ 3)",
     lambda x, g, b, c: jnp.sum(layer_norm(x, g, b) * c) + jnp.sum(layer_norm(x * 3, eps=0.1) ** 3),
     ["x", "g", "b"], ["c"]),
    ("batch_norm over [N, C] and [N, C, H, W]",
     "x = randn(4, 3)\nz = randn(2, 3, 2, 2)\ng = randn(3)\nb = randn(3)\nc = randn(4, 3)\nd = randn(2, 3, 2, 2)\n"
     "L = sum(batch_norm(x, g, b) * c) + sum(batch_norm(z, g, b, eps=0.01) * d)",
     lambda x, z, g, b, c, d: jnp.sum(batch_norm(x, g, b) * c) + jnp.sum(batch_norm(z, g, b, 0.01) * d),
     ["x", "z", "g", "b"], ["c", "d"]),
    ("conv2d: padding 0, 1, 2; stride 1, 2; bias or not; several channels",
     "x = randn(2, 3, 5, 6)\nW = randn(4, 3, 3, 2)\nb = randn(4)\nV = randn(2, 3, 2, 2)\n"
     "L = sum(conv2d(x, W, b) ^ 2) + sum(tanh(conv2d(x, W, b, stride=2, padding=1))) + sum(conv2d(x, V, padding=2, stride=3) * 0.5)",
     lambda x, W, b, V: jnp.sum(conv2d(x, W, b) ** 2) + jnp.sum(jnp.tanh(conv2d(x, W, b, 2, 1))) + jnp.sum(conv2d(x, V, None, 3, 2) * 0.5),
     ["x", "W", "b", "V"], []),
    ("max_pool2d and avg_pool2d: stride = kernel, overlapping stride, rank 3",
     "x = randn(2, 2, 5, 5)\nc = randn(2, 2, 2, 2)\ny = randn(3, 4, 4)\n"
     "L = sum(max_pool2d(x, 2) * c) + sum(max_pool2d(x, 3, stride=1) ^ 2) + sum(avg_pool2d(x, 2, 3) * [1, 2]) + sum(avg_pool2d(y, kernel_size=2) ^ 2)",
     lambda x, y, c: jnp.sum(max_pool2d(x, 2) * c) + jnp.sum(max_pool2d(x, 3, 1) ** 2) + jnp.sum(avg_pool2d(x, 2, 3) * jnp.array([1.0, 2]))
     + jnp.sum(avg_pool2d(y, 2) ** 2),
     ["x", "y"], ["c"]),
    ("flatten, gelu, silu, softplus, leaky_relu (default and given slope)",
     "x = randn(2, 3, 2)\nL = sum(flatten(x) * arange(6)) + sum(gelu(x) + silu(x) * 2 + softplus(x * 3) + leaky_relu(x) + leaky_relu(x, negative_slope=0.2) ^ 2)",
     lambda x: jnp.sum(x.reshape(2, 6) * jnp.arange(6.0)) + jnp.sum(gelu(x) + jax.nn.silu(x) * 2 + jax.nn.softplus(x * 3)
                                                                    + jax.nn.leaky_relu(x, 0.01) + jax.nn.leaky_relu(x, 0.2) ** 2),
     ["x"], []),
    ("mse_loss, nll_loss, binary_cross_entropy",
     "a = randn(3, 4)\nt = randn(3, 4)\ny = [2, 0, 3]\np = [0.2, 0.7, 0.45, 0.9, 0.35]\nq = [0, 1, 1, 0, 0.25]\n"
     "L = mse_loss(a, t) + nll_loss(log_softmax(a), y) + binary_cross_entropy(p, q) + binary_cross_entropy(sigmoid(a), sigmoid(t))",
     lambda a, t, p, q, y: jnp.mean((a - t) ** 2) + nll_loss(log_softmax(a), y) + bce(p, q) + bce(jax.nn.sigmoid(a), jax.nn.sigmoid(t)),
     ["a", "t", "p", "q"], ["y"]),
    ("batched @: [2, 3, 4] @ [4, 2], [3, 4] @ [2, 4, 2], [2, 1, 2, 3] @ [3, 3, 2], slices of batches",
     "A = randn(2, 3, 4)\nB = randn(4, 2)\nC = randn(2, 4, 2)\nD = randn(2, 1, 2, 3)\nE = randn(3, 3, 2)\n"
     "L = sum((A @ B) ^ 2) + sum(A[0] @ C) + sum(tanh(D @ E)) + sum((A @ C)[:, 1:, ::2] * 3) + sum(A[-1:, ::2, 1:3] ^ 2)",
     lambda A, B, C, D, E: jnp.sum((A @ B) ** 2) + jnp.sum(A[0] @ C) + jnp.sum(jnp.tanh(D @ E)) + jnp.sum((A @ C)[:, 1:, ::2] * 3)
     + jnp.sum(A[-1:, ::2, 1:3] ** 2),
     ["A", "B", "C", "D", "E"], []),
]


def attention_ref(X, Wq, Wk, Wv, y):
    Q, K, V = linear(X, Wq), linear(X, Wk), linear(X, Wv)
    A = jax.nn.softmax(Q @ K.T / jnp.sqrt(2.0), axis=-1)
    return cross_entropy(A @ V, y)


def cnn_ref(x, cw, cb, fw, fb, y):
    c = jax.nn.relu(conv2d(x, cw, cb, 1, 1))
    p = max_pool2d(c, 2)
    return cross_entropy(linear(p.reshape(p.shape[0], -1), fw, fb), y)


def embedding_ref(T, W, b, ids, y):
    e = T[ids]
    return cross_entropy(linear(jnp.mean(e, axis=1), W, b), y)


def transformer_ref(x, g1, b1, wq, wk, wv, wo, g2, b2, w1, c1, w2, c2, target):
    h1 = layer_norm(x, g1, b1)
    q, k, v = linear(h1, wq), linear(h1, wk), linear(h1, wv)
    a = jax.nn.softmax(q @ k.T / 2.0, axis=-1) @ v
    h = x + linear(a, wo)
    m = linear(gelu(linear(layer_norm(h, g2, b2), w1, c1)), w2, c2)
    return jnp.mean((h + m - target) ** 2)


def two_blocks_ref(x, *params):
    target = params[-1]
    h = x
    for b in range(2):
        g1, b1, wq, wk, wv, wo, g2, b2, w1, c1, w2, c2 = params[12 * b:12 * b + 12]
        a1 = layer_norm(h, g1, b1)
        q, k, v = linear(a1, wq), linear(a1, wk), linear(a1, wv)
        h = h + linear(jax.nn.softmax(q @ k.T / 2.0, axis=-1) @ v, wo)
        h = h + linear(gelu(linear(layer_norm(h, g2, b2), w1, c1)), w2, c2)
    return jnp.mean((h - target) ** 2)


BLOCK = ["ln1.weight", "ln1.bias", "attn.q.weight", "attn.k.weight", "attn.v.weight", "attn.out.weight",
         "ln2.weight", "ln2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"]

SAMPLES = [
    ("sample two-blocks.grad", "two-blocks.grad", two_blocks_ref,
     ["x"] + ["block1." + n for n in BLOCK] + ["block2." + n for n in BLOCK], ["target"]),
    ("sample attention-head.grad", "attention-head.grad", attention_ref, ["X", "Wq", "Wk", "Wv"], ["y"]),
    ("sample cnn-6x6.grad", "cnn-6x6.grad", cnn_ref, ["x", "conv.weight", "conv.bias", "fc.weight", "fc.bias"], ["y"]),
    ("sample embedding-classifier.grad", "embedding-classifier.grad", embedding_ref, ["table", "W", "b"], ["ids", "y"]),
    ("sample transformer-block.grad", "transformer-block.grad", transformer_ref,
     ["x", "ln1.weight", "ln1.bias", "attn.q.weight", "attn.k.weight", "attn.v.weight", "attn.out.weight",
      "ln2.weight", "ln2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"], ["target"]),
]


def tensor(v):
    if isinstance(v, dict):
        return jnp.array(v["data"], dtype=jnp.float64)
    return jnp.array(float(v))


def close(a, b, tol=1e-9):
    a = [float(t) for t in jnp.ravel(jnp.asarray(a, dtype=jnp.float64))]
    b = [float(t) for t in jnp.ravel(jnp.asarray(b, dtype=jnp.float64))]
    return len(a) == len(b) and all(abs(x - y) <= tol * max(1.0, abs(x), abs(y)) for x, y in zip(a, b))


def run(program, f, diff, const):
    p = subprocess.run([BIN, "grad", "-", "--json"], input=program, capture_output=True, text=True)
    assert p.returncode == 0, "gradtrace exit %d: %s" % (p.returncode, p.stderr)
    out = json.loads(p.stdout)
    ins = out["inputs"]
    args = [tensor(ins[k]["value"]) for k in diff] + [tensor(ins[k]["value"]).astype(jnp.int32) if k in ("ids", "y") else tensor(ins[k]["value"]) for k in const]
    expected = f(*args)
    assert close(tensor(out["value"]), expected), "value %s, jax %s" % (out["value"], expected)
    checked = 0
    for i, k in enumerate(diff):
        g = jax.grad(f, argnums=i)(*args)
        got = tensor(ins[k]["grad"])
        assert got.shape == jnp.shape(g), "%s: gradient shape %s, jax %s" % (k, got.shape, jnp.shape(g))
        assert close(got, g), "%s: gradient %s, jax %s" % (k, got.tolist(), g.tolist())
        checked += got.size
    return checked


def dropout_case():
    """The mask is gradtrace's own (seeded); check its form and that value and gradient use the same mask."""
    program = "x = randn(20, 10)\nd = dropout(x, 0.3)\nL = sum(d * x)\n"
    p = subprocess.run([BIN, "grad", "-", "--json"], input=program, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    x = tensor(out["inputs"]["x"]["value"])
    g = tensor(out["inputs"]["x"]["grad"])
    mask = g / (2 * x)   # L = Σ m·x², so ∂L/∂x = 2·m·x
    kept = jnp.isclose(mask, 1 / 0.7, rtol=1e-12)
    assert bool(jnp.all(kept | jnp.isclose(mask, 0.0, atol=1e-12))), "mask values are not 0 or 1/(1-p)"
    assert 0.5 < float(jnp.mean(kept)) < 0.9, "kept fraction %s for p = 0.3" % float(jnp.mean(kept))
    assert close(tensor(out["value"]), jnp.sum(mask * x * x)), "value and gradient use different masks"
    again = subprocess.run([BIN, "grad", "-", "--json"], input=program, capture_output=True, text=True)
    assert again.stdout == p.stdout, "the mask changes between runs"
    return int(g.size)


def main():
    jobs = [(c[0], lambda c=c: run(c[1], c[2], c[3], c[4])) for c in CASES]
    jobs += [(name, lambda s=s: run(sample(s[1]), s[2], s[3], s[4])) for s in SAMPLES for name in [s[0]]]
    jobs.append(("dropout: a seeded 0 or 1/(1 − p) mask, the same in value and gradient", dropout_case))
    run_tests("layers vs jax", jobs)


main()
