"""A differential oracle: random tensor programs over every function of the language, against JAX in float64.

    python oracle.py GRADTRACE_BIN [--seed S] [--count N] [--verbose]

Each program draws random leaves (random shapes, broadcastable both ways, random values as exact
literals), applies one registry function (or operator, reduction, slice) with random options, maybe
an element-wise function on top, and reduces with random weights: `L = sum(y * C)`. `gradtrace grad
--json` gives the value and every input's gradient; JAX (jax.value_and_grad, float64) the reference;
every element must agree to 1e-9 relative (scale max(1, |reference|)).

Kinks are skipped by rule, never by tolerance: values are drawn away from the points where a function
is not differentiable (relu and abs at 0, ties of max, maximum and minimum, clamp at its bounds, the
maxima of a pooling window, comparisons at equality), and a program whose values land there anyway is
skipped and counted. ORACLE names every function the language has; a Swift test fails when the
registry gains one without an entry here.

Prints one line per failure and `oracle: N passed, M failed` (with the skips); exits 1 on a failure.
"""
import json
import math
import os
import random
import subprocess
import sys
import tempfile

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import jax.scipy.special  # noqa: E402,F401
from jax import lax  # noqa: E402


class Skip(Exception):
    """A program whose values land on a kink: skipped by rule."""


class Case:
    """A program under construction: leaves (literals), the GradTrace expression and the JAX function."""

    def __init__(self, r):
        self.r = r
        self.leaves = []  # (name, array as nested lists, differentiable, integer)
        self.n = 0

    def leaf(self, shape, lo=-2.0, hi=2.0, diff=True, away=None, distinct=False):
        """A leaf of `shape` with values in [lo, hi]; `away`: values at least 0.05 from each point given."""
        count = 1
        for d in shape:
            count *= d
        vals = []
        while len(vals) < count:
            v = round(self.r.uniform(lo, hi), 3)
            if away is not None and any(abs(v - a) < 0.05 for a in away):
                continue
            if distinct and any(abs(v - w) < 0.01 for w in vals):
                continue
            vals.append(v)
        name = "x%d" % self.n
        self.n += 1
        self.leaves.append((name, nest(vals, shape), diff, False))
        return name

    def ints(self, shape, hi):
        count = 1
        for d in shape:
            count *= d
        vals = [self.r.randrange(hi) for _ in range(count)]
        if count > 1:
            vals[-1] = vals[0]  # a repeated id or label, so sums over repeats are exercised
        name = "i%d" % self.n
        self.n += 1
        self.leaves.append((name, nest(vals, shape), False, True))
        return name

    def shape(self, rank=None, lo=1, hi=4):
        rank = self.r.randint(0, 3) if rank is None else rank
        return [self.r.randint(lo, hi) for _ in range(rank)]

    def broadcast_pair(self):
        """Two shapes that broadcast, each side stretched in turn."""
        a = self.shape(self.r.randint(1, 3))
        b = list(a[self.r.randint(0, len(a)):])
        b = [1 if self.r.random() < 0.4 else d for d in b]
        return (a, b) if self.r.random() < 0.5 else (b, a)

    def axis(self, rank):
        k = self.r.randrange(rank)
        return k - rank if self.r.random() < 0.4 else k


def nest(vals, shape):
    if not shape:
        return vals[0]
    step = len(vals) // shape[0]
    return [nest(vals[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def lit(v):
    if isinstance(v, list):
        return "[" + ", ".join(lit(x) for x in v) + "]"
    return repr(float(v)) if not isinstance(v, int) else str(v)


# MARK: - References in JAX

def ln(x, g=None, b=None, eps=1e-5):
    m = jnp.mean(x, axis=-1, keepdims=True)
    v = jnp.mean((x - m) ** 2, axis=-1, keepdims=True)
    y = (x - m) / jnp.sqrt(v + eps)
    return y * (1 if g is None else g) + (0 if b is None else b)


def bn(x, g, b, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    m = jnp.mean(x, axis=axes, keepdims=True)
    v = jnp.mean((x - m) ** 2, axis=axes, keepdims=True)
    return (x - m) / jnp.sqrt(v + eps) * g.reshape(shape) + b.reshape(shape)


def conv(x, w, b, stride, padding):
    y = lax.conv_general_dilated(x, w, (stride, stride), [(padding, padding)] * 2,
                                 dimension_numbers=("NCHW", "OIHW", "NCHW"), precision=lax.Precision.HIGHEST)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def pool(x, k, s, kind):
    win, strides = (1,) * (x.ndim - 2) + (k, k), (1,) * (x.ndim - 2) + (s, s)
    if kind == "max":
        return lax.reduce_window(x, -jnp.inf, lax.max, win, strides, "VALID")
    return lax.reduce_window(x, 0.0, lax.add, win, strides, "VALID") / (k * k)


UNARY = {
    "exp": (jnp.exp, -2, 2, None), "log": (jnp.log, 0.2, 3, None), "sin": (jnp.sin, -3, 3, None),
    "cos": (jnp.cos, -3, 3, None), "tan": (jnp.tan, -1.2, 1.2, None), "tanh": (jnp.tanh, -2, 2, None),
    "sigmoid": (jax.nn.sigmoid, -3, 3, None), "relu": (lambda x: jnp.maximum(x, 0), -2, 2, [0]),
    "sqrt": (jnp.sqrt, 0.2, 3, None), "abs": (jnp.abs, -2, 2, [0]),
    "gelu": (lambda x: jax.nn.gelu(x, approximate=False), -3, 3, None), "silu": (jax.nn.silu, -3, 3, None),
    "erf": (jax.scipy.special.erf, -2.5, 2.5, None),
    "softplus": (jax.nn.softplus, -3, 3, None), "leaky_relu": (lambda x: jnp.where(x > 0, x, 0.01 * x), -2, 2, [0]),
}
BINARY = {"+": jnp.add, "-": jnp.subtract, "*": jnp.multiply, "/": jnp.divide}
COMPARE = {"<": jnp.less, "<=": jnp.less_equal, ">": jnp.greater, ">=": jnp.greater_equal, "==": jnp.equal, "!=": jnp.not_equal}


# MARK: - Makers: one per function; each returns (GradTrace expression, JAX function of the leaves dict)

def m_unary(name):
    def make(c):
        f, lo, hi, away = UNARY[name]
        x = c.leaf(c.shape(), lo, hi, away=away)
        if name == "leaky_relu" and c.r.random() < 0.5:
            return "leaky_relu(%s, negative_slope=0.2)" % x, lambda v: jnp.where(v[x] > 0, v[x], 0.2 * v[x])
        return "%s(%s)" % (name, x), lambda v: f(v[x])
    return make


def m_binary(op):
    def make(c):
        sa, sb = c.broadcast_pair()
        a = c.leaf(sa)
        b = c.leaf(sb, away=[0] if op == "/" else None)
        return "%s %s %s" % (a, op, b), lambda v: BINARY[op](v[a], v[b])
    return make


def m_pow(c):
    sa, sb = c.broadcast_pair()
    a, b = c.leaf(sa, 0.5, 2), c.leaf(sb, -1.5, 1.5)
    if c.r.random() < 0.5:
        return "pow(%s, %s)" % (a, b), lambda v: v[a] ** v[b]
    return "%s ^ 3" % a, lambda v: v[a] ** 3


def m_compare(op):
    def make(c):
        sa, sb = c.broadcast_pair()
        a, b = c.leaf(sa), c.leaf(sb)
        # The mask carries no gradient; multiplied by a, a's gradient passes through where it is 1.
        return "(%s %s %s) * %s" % (a, op, b, a), lambda v: COMPARE[op](v[a], v[b]) * v[a]
    return make


def m_matmul(c):
    m, k, n = c.r.randint(1, 4), c.r.randint(1, 4), c.r.randint(1, 4)
    kind = c.r.choice(["mm", "mv", "vm", "vv", "bmm", "bcast"])
    shapes = {"mm": ([m, k], [k, n]), "mv": ([m, k], [k]), "vm": ([k], [k, n]), "vv": ([k], [k]),
              "bmm": ([2, m, k], [2, k, n]), "bcast": ([2, 1, m, k], [3, k, n])}[kind]
    a, b = c.leaf(shapes[0]), c.leaf(shapes[1])
    return "%s @ %s" % (a, b), lambda v: jnp.matmul(v[a], v[b], precision=lax.Precision.HIGHEST)


def m_reduce(name):
    def make(c):
        shape = c.shape(c.r.randint(1, 3))
        x = c.leaf(shape, distinct=(name == "max"))
        f = {"sum": jnp.sum, "mean": jnp.mean, "max": jnp.max}[name]
        if c.r.random() < 0.3:
            return "%s(%s)" % (name, x), lambda v: f(v[x])
        ax = c.axis(len(shape))
        form = "%s(%s, axis=%d)" if c.r.random() < 0.5 else "%s(%s, %d)"
        return form % (name, x, ax), lambda v: f(v[x], axis=ax, keepdims=True)
    return make


def m_axisfn(name):
    def make(c):
        shape = c.shape(c.r.randint(1, 3))
        x = c.leaf(shape)
        ax = c.axis(len(shape))
        f = {"logsumexp": lambda t, a: jax.scipy.special.logsumexp(t, axis=a, keepdims=True),
             "softmax": lambda t, a: jax.nn.softmax(t, axis=a), "log_softmax": lambda t, a: jax.nn.log_softmax(t, axis=a)}[name]
        return "%s(%s, axis=%d)" % (name, x, ax), lambda v: f(v[x], ax)
    return make


def m_reshape(c):
    shape = c.shape(c.r.randint(1, 3), 1, 4)
    x = c.leaf(shape)
    total = 1
    for d in shape:
        total *= d
    new = [total] if c.r.random() < 0.5 else [1, total]
    if total % 2 == 0 and c.r.random() < 0.5:
        new = [2, total // 2]
    return "reshape(%s, %s)" % (x, ", ".join(map(str, new))), lambda v: v[x].reshape(new)


def m_transpose(c):
    shape = c.shape(c.r.randint(2, 4))
    x = c.leaf(shape)
    a, b = c.axis(len(shape)), c.axis(len(shape))
    return "transpose(%s, %d, %d)" % (x, a, b), lambda v: jnp.swapaxes(v[x], a, b)


def m_permute(c):
    shape = c.shape(c.r.randint(2, 4))
    x = c.leaf(shape)
    p = list(range(len(shape)))
    c.r.shuffle(p)
    return "permute(%s, %s)" % (x, ", ".join(map(str, p))), lambda v: jnp.transpose(v[x], p)


def m_flatten(c):
    shape = c.shape(c.r.randint(2, 4))
    x = c.leaf(shape)
    return "flatten(%s)" % x, lambda v: v[x].reshape(shape[0], -1)


def m_concat(name):
    def make(c):
        rank = c.r.randint(1, 3)
        base = c.shape(rank)
        ax = c.axis(rank)
        k = c.r.randint(2, 3)
        names = []
        for _ in range(k):
            s = list(base)
            if name == "concat":
                s[ax] = c.r.randint(1, 3)
            names.append(c.leaf(s))
        if name == "stack":
            ax = c.r.randrange(rank + 1) - (rank + 1 if c.r.random() < 0.4 else 0)
        f = jnp.concatenate if name == "concat" else jnp.stack
        return "%s(%s, axis=%d)" % (name, ", ".join(names), ax), lambda v: f([v[n] for n in names], axis=ax)
    return make


def m_where(c):
    sa, sb = c.broadcast_pair()
    p, q, a, b = c.leaf(sa), c.leaf(sb), c.leaf(sa), c.leaf(sb)
    return "where(%s > %s, %s, %s)" % (p, q, a, b), lambda v: jnp.where(v[p] > v[q], v[a], v[b])


def m_maxmin(name):
    def make(c):
        sa, sb = c.broadcast_pair()
        a, b = c.leaf(sa), c.leaf(sb)
        f = jnp.maximum if name == "maximum" else jnp.minimum

        def g(v):
            # A tie is a kink: skipped by rule (GradTrace halves the gradient there, as JAX does, but by convention).
            if not isinstance(v[a], jax.core.Tracer) and bool(jnp.any(jnp.abs(v[a] - v[b]) < 1e-3)):
                raise Skip()
            return f(v[a], v[b])
        return "%s(%s, %s)" % (name, a, b), g
    return make


def m_clamp(c):
    x = c.leaf(c.shape(), away=[-0.5, 0.7])
    form, lo, hi = c.r.choice([("clamp(%s, -0.5, 0.7)", -0.5, 0.7), ("clamp(%s, min=-0.5)", -0.5, None),
                               ("clamp(%s, max=0.7)", None, 0.7)])
    return form % x, lambda v: jnp.clip(v[x], lo, hi)


def m_linear(c):
    i, o = c.r.randint(1, 4), c.r.randint(1, 4)
    xs = c.r.choice([[i], [c.r.randint(1, 3), i], [2, c.r.randint(1, 3), i]])
    x, w = c.leaf(xs), c.leaf([o, i])
    if c.r.random() < 0.5:
        return "linear(%s, %s)" % (x, w), lambda v: v[x] @ v[w].T
    b = c.leaf([o])
    return "linear(%s, %s, %s)" % (x, w, b), lambda v: v[x] @ v[w].T + v[b]


def m_embedding(c):
    vocab, d = c.r.randint(2, 5), c.r.randint(1, 3)
    t = c.leaf([vocab, d])
    ids = c.ints(c.r.choice([[3], [2, 3]]), vocab)
    return "embedding(%s, %s)" % (t, ids), lambda v: v[t][v[ids]]


def m_layer_norm(c):
    shape = c.shape(c.r.randint(1, 3), 2, 4)
    x = c.leaf(shape)
    if c.r.random() < 0.5:
        return "layer_norm(%s, eps=0.01)" % x, lambda v: ln(v[x], eps=0.01)
    g, b = c.leaf([shape[-1]]), c.leaf([shape[-1]])
    return "layer_norm(%s, %s, %s)" % (x, g, b), lambda v: ln(v[x], v[g], v[b])


def m_batch_norm(c):
    shape = c.r.choice([[c.r.randint(2, 4), c.r.randint(1, 3)], [2, c.r.randint(1, 2), 2, 2]])
    x, g, b = c.leaf(shape), c.leaf([shape[1]]), c.leaf([shape[1]])
    return "batch_norm(%s, %s, %s)" % (x, g, b), lambda v: bn(v[x], v[g], v[b])


def m_conv2d(c):
    n, ci, co, k = c.r.randint(1, 2), c.r.randint(1, 2), c.r.randint(1, 2), c.r.randint(1, 3)
    stride, pad = c.r.randint(1, 2), c.r.randint(0, 1)
    h = c.r.randint(max(k - 2 * pad, 1), 5)
    x, w = c.leaf([n, ci, h, h]), c.leaf([co, ci, k, k])
    if c.r.random() < 0.5:
        b = c.leaf([co])
        return ("conv2d(%s, %s, %s, stride=%d, padding=%d)" % (x, w, b, stride, pad),
                lambda v: conv(v[x], v[w], v[b], stride, pad))
    return "conv2d(%s, %s, stride=%d, padding=%d)" % (x, w, stride, pad), lambda v: conv(v[x], v[w], None, stride, pad)


def m_pool(kind):
    def make(c):
        k = c.r.randint(1, 2)
        s = c.r.randint(1, 2)
        h = c.r.randint(k, 5)
        x = c.leaf([c.r.randint(1, 2), c.r.randint(1, 2), h, h], distinct=(kind == "max"))
        name = kind + "_pool2d"
        if c.r.random() < 0.5:
            return "%s(%s, %d)" % (name, x, k), lambda v: pool(v[x], k, k, kind)
        return "%s(%s, %d, stride=%d)" % (name, x, k, s), lambda v: pool(v[x], k, s, kind)
    return make


def m_mse(c):
    s = c.shape(c.r.randint(1, 2))
    a, b = c.leaf(s), c.leaf(s)
    return "mse_loss(%s, %s)" % (a, b), lambda v: jnp.mean((v[a] - v[b]) ** 2)


def m_nll(c):
    n, k = c.r.randint(1, 4), c.r.randint(2, 4)
    z, y = c.leaf([n, k]), c.ints([n], k)
    return ("nll_loss(log_softmax(%s, axis=1), %s)" % (z, y),
            lambda v: -jnp.mean(jax.nn.log_softmax(v[z], axis=1)[jnp.arange(n), v[y]]))


def m_bce(c):
    s = c.shape(c.r.randint(1, 2))
    z, y = c.leaf(s), c.leaf(s, 0.0, 1.0)
    def f(v):
        p = jax.nn.sigmoid(v[z])
        return -jnp.mean(v[y] * jnp.log(p) + (1 - v[y]) * jnp.log(1 - p))
    return "binary_cross_entropy(sigmoid(%s), %s)" % (z, y), f


def m_cross_entropy(c):
    n, k = c.r.randint(1, 4), c.r.randint(2, 4)
    z, y = c.leaf([n, k]), c.ints([n], k)
    return "cross_entropy(%s, %s)" % (z, y), lambda v: -jnp.mean(jax.nn.log_softmax(v[z], axis=1)[jnp.arange(n), v[y]])


def m_pick(c):
    n, k = c.r.randint(1, 4), c.r.randint(2, 4)
    z, y = c.leaf([n, k]), c.ints([n], k)
    return "pick(%s, %s)" % (z, y), lambda v: v[z][jnp.arange(n), v[y]]


def m_slice(c):
    shape = c.shape(c.r.randint(1, 3), 2, 5)
    x = c.leaf(shape)
    parts, idx = [], []
    for d in shape:
        kind = c.r.choice(["all", "range", "tail", "step", "index"])
        if kind == "all":
            parts.append(":"); idx.append(slice(None))
        elif kind == "range":
            a = c.r.randrange(d); b = c.r.randint(a + 1, d)
            parts.append("%d:%d" % (a, b)); idx.append(slice(a, b))
        elif kind == "tail":
            a = -c.r.randint(1, d)
            parts.append("%d:" % a); idx.append(slice(a, None))
        elif kind == "step":
            parts.append("::2"); idx.append(slice(None, None, 2))
        else:
            a = c.r.randrange(d)
            parts.append(str(a)); idx.append(a)
    return "%s[%s]" % (x, ", ".join(parts)), lambda v: v[x][tuple(idx)]


ORACLE = {
    **{name: m_unary(name) for name in UNARY},
    **{"operator " + op: m_binary(op) for op in BINARY},
    "lt": m_compare("<"), "le": m_compare("<="), "gt": m_compare(">"), "ge": m_compare(">="), "eq": m_compare("=="),
    "ne": m_compare("!="),
    "pow": m_pow, "operator @": m_matmul, "sum": m_reduce("sum"), "mean": m_reduce("mean"), "max": m_reduce("max"),
    "logsumexp": m_axisfn("logsumexp"), "softmax": m_axisfn("softmax"), "log_softmax": m_axisfn("log_softmax"),
    "reshape": m_reshape, "transpose": m_transpose, "permute": m_permute, "flatten": m_flatten,
    "concat": m_concat("concat"), "stack": m_concat("stack"), "where": m_where,
    "maximum": m_maxmin("maximum"), "minimum": m_maxmin("minimum"), "clamp": m_clamp, "linear": m_linear,
    "embedding": m_embedding, "layer_norm": m_layer_norm, "batch_norm": m_batch_norm, "conv2d": m_conv2d,
    "max_pool2d": m_pool("max"), "avg_pool2d": m_pool("avg"), "mse_loss": m_mse, "nll_loss": m_nll,
    "binary_cross_entropy": m_bce, "cross_entropy": m_cross_entropy, "pick": m_pick, "slicing": m_slice,
}
# Not drawn at random, with the reason (the Swift coverage test reads these names too):
EXCLUDED = {
    "dropout": "its mask comes from GradTrace's own seeded generator, which JAX cannot reproduce (the layer tests check it)",
    "zeros": "a constructor (no gradient)", "ones": "a constructor (no gradient)",
    "arange": "a constructor (no gradient)", "randn": "a constructor (GradTrace's own generator)",
}


def make_program(r, key=None):
    c = Case(r)
    key = key or r.choice(sorted(ORACLE))
    expr, f = ORACLE[key](c)
    on_top = r.choice([None, None, "tanh", "exp", "sin"])
    return c, key, expr, f, on_top


def reference(c, expr_f, on_top, weights_of):
    env_const = {n: jnp.array(v, dtype=jnp.int64 if integer else jnp.float64) for n, v, d, integer in c.leaves if not d}
    diff_names = [n for n, v, d, integer in c.leaves if d]

    def full(vals):
        env = dict(env_const)
        env.update(vals)
        y = expr_f(env)
        if on_top:
            y = getattr(jnp, on_top)(y)
        return y

    diff_vals = {n: jnp.array(v, dtype=jnp.float64) for n, v, d, integer in c.leaves if d}
    y0 = full(diff_vals)
    w = weights_of(jnp.shape(y0))

    def loss(vals):
        return jnp.sum(full(vals) * w)

    value, grads = jax.value_and_grad(loss)(diff_vals)
    return float(value), {n: grads[n] for n in diff_names}, y0


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def flat(x):
    if isinstance(x, dict):
        return flat(x["data"])
    if isinstance(x, list):
        out = []
        for e in x:
            out += flat(e)
        return out
    return [float(x)]


def run_one(binary, r, verbose, key=None):
    c, key, expr, f, on_top = make_program(r, key)
    try:
        # Weights for the reduction: random, so every element's gradient matters.
        weights = {}

        def weights_of(shape):
            count = int(math.prod(shape)) if shape else 1
            vals = [round(r.uniform(-1.5, 1.5), 3) for _ in range(count)]
            weights["lit"] = nest(vals, list(shape)) if shape else vals[0]
            return jnp.array(weights["lit"], dtype=jnp.float64)

        value, grads, _ = reference(c, f, on_top, weights_of)
    except Skip:
        return key, "skip", ""
    lines = ["%s = %s" % (n, lit(v)) for n, v, d, integer in c.leaves]
    y = "(%s)" % expr
    if on_top:
        y = "%s(%s)" % (on_top, y)
    lines.append("y = %s" % y)
    lines.append("L = sum(y * %s)" % lit(weights["lit"]) if isinstance(weights["lit"], list) else "L = sum(y * %s)" % lit(weights["lit"]))
    program = "\n".join(lines) + "\n"
    with tempfile.NamedTemporaryFile("w", suffix=".grad", delete=False) as fh:
        fh.write(program)
        path = fh.name
    try:
        p = subprocess.run([binary, "grad", path, "--json"], capture_output=True, text=True)
    finally:
        os.unlink(path)
    if p.returncode != 0:
        return key, "fail", "gradtrace refused it: %s\n%s" % (p.stderr.strip()[:300], program)
    got = json.loads(p.stdout)
    if not math.isfinite(value):
        return key, "skip", ""
    if not close(got["value"], value):
        return key, "fail", "value %r, JAX %r\n%s" % (got["value"], value, program)
    for name, g in grads.items():
        ours = flat(got["inputs"][name]["grad"])
        ref = [float(x) for x in jnp.ravel(g)]
        if len(ours) != len(ref):
            return key, "fail", "%s: %d gradient elements, JAX %d\n%s" % (name, len(ours), len(ref), program)
        for k, (a, b) in enumerate(zip(ours, ref)):
            if not close(a, b):
                return key, "fail", "%s[%d]: gradient %r, JAX %r\n%s" % (name, k, a, b, program)
    if verbose:
        print("ok  ", key, expr)
    return key, "pass", ""


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        sys.exit(2)
    binary = args[0]
    seed, count, verbose = 1, 300, "--verbose" in args
    if "--seed" in args:
        seed = int(args[args.index("--seed") + 1])
    if "--count" in args:
        count = int(args[args.index("--count") + 1])
    r = random.Random(seed)
    passed = failed = skipped = 0
    seen = set()
    # Every function once first (in a seeded order), so that a run of at least that many programs covers them all;
    # then functions at random.
    first = sorted(ORACLE)
    r.shuffle(first)
    for i in range(count):
        key, verdict, message = run_one(binary, r, verbose, first[i] if i < len(first) else None)
        seen.add(key)
        if verdict == "pass":
            passed += 1
        elif verdict == "skip":
            skipped += 1
        else:
            failed += 1
            print("FAIL", key, message)
    missing = sorted(set(ORACLE) - seen)
    print("oracle (seed %d): %d programs over %d of %d functions, %d skipped by rule" % (seed, count, len(seen), len(ORACLE), skipped))
    if missing and count >= 300:
        print("oracle: functions never drawn:", ", ".join(missing))
        failed += 1
    print("oracle: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
