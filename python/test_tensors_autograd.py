"""Tensor programs against NumPy + HIPS autograd (from PyPI): usage: test_tensors_autograd.py GRADTRACE_BIN

Each case is a gradtrace program and the same computation written with autograd.numpy; the value and
every element of every input's gradient must agree to 1e-9 relative. Covers every tensor op, broadcasting
in both directions, kept and negative axes, indexing, pick and cross_entropy.
Prints one line per case and `tensors vs autograd: N passed, M failed`; exits 1 when one failed."""
import json
import subprocess
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testrunner import run_tests  # noqa: E402

import autograd.numpy as np
from autograd import grad

BIN = sys.argv[1]


def lse(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def softmax(x, axis):
    return np.exp(x - lse(x, axis))


def log_softmax(x, axis):
    return x - lse(x, axis)


def cross_entropy(z, y):
    n = z.shape[0]
    return -np.mean(log_softmax(z, 1)[np.arange(n), y])


def relu(x):
    return np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


X = [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]
W = [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]]
Z34 = [[0.3, -1.2, 2.0, 0.7], [1.5, 0.1, -0.4, -2.2], [0.9, 0.8, -0.6, 0.05]]

# (name, inputs {name: value}, program body using the inputs, python function of the inputs)
CASES = [
    ("matmul + broadcast bias + tanh + cross_entropy",
     {"X": X, "W": W, "b": [0.1, -0.1]},
     "y = [1, 0]\nL = cross_entropy(tanh(X @ W + b), y)",
     lambda X, W, b: cross_entropy(np.tanh(X @ W + b), np.array([1, 0]))),
    ("broadcast a row and a column",
     {"A": Z34, "r": [0.5, -1.0, 2.0, 0.25], "c": [[1.5], [-0.5], [2.0]]},
     "L = sum((A + r) * (A - c) / (c * c + 1))",
     lambda A, r, c: np.sum((A + r) * (A - c) / (c * c + 1))),
    ("both directions at once: [4] with [3, 1]",
     {"a": [1.0, -2.0, 3.0, 0.5], "B": [[0.5], [1.5], [-1.0]]},
     "L = sum(a * B ^ 2 + exp(B - a))",
     lambda a, B: np.sum(a * B ** 2 + np.exp(B - a))),
    ("matrix-vector, vector-matrix, vector-vector",
     {"A": [[1.0, 2.0], [3.0, 4.0]], "v": [0.5, -1.0]},
     "L = sum(A @ v) + v @ A @ v + sum(v @ A) * (v @ v)",
     lambda A, v: np.sum(A @ v) + v @ A @ v + np.sum(v @ A) * (v @ v)),
    ("reductions with kept and negative axes",
     {"x": Z34},
     "L = sum(x - max(x, 1)) + sum(mean(x, 0) * [1, 2, 3, 4]) + max(x) + sum(sum(x, -1) ^ 2) + mean(x)",
     lambda x: np.sum(x - np.max(x, axis=1, keepdims=True)) + np.sum(np.mean(x, axis=0, keepdims=True) * np.array([1.0, 2, 3, 4]))
     + np.max(x) + np.sum(np.sum(x, axis=-1, keepdims=True) ** 2) + np.mean(x)),
    ("softmax, log_softmax, logsumexp over both axes",
     {"x": Z34},
     "L = sum(softmax(x, -1) * x) + sum(log_softmax(x, 0) * x) + sum(logsumexp(x, 1) * [[2], [-1], [0.5]]) + sum(softmax(x) ^ 2)",
     lambda x: np.sum(softmax(x, -1) * x) + np.sum(log_softmax(x, 0) * x) + np.sum(lse(x, 1) * np.array([[2.0], [-1], [0.5]]))
     + np.sum(softmax(x, -1) ** 2)),
    ("transpose and reshape",
     {"x": Z34},
     "L = sum(transpose(x) @ x) + sum(reshape(x, 2, 6) * arange(6)) + sum(reshape(x, 12) ^ 3)",
     lambda x: np.sum(x.T @ x) + np.sum(np.reshape(x, (2, 6)) * np.arange(6)) + np.sum(np.reshape(x, (12,)) ** 3)),
    ("indexing with negative indices",
     {"x": Z34},
     "L = x[1, 2] * x[0, -1] + sum(x[-1] * x[0]) + x[2][1] ^ 2",
     lambda x: x[1, 2] * x[0, -1] + np.sum(x[-1] * x[0]) + x[2][1] ** 2),
    ("pick of log_softmax and cross_entropy",
     {"z": Z34},
     "y = [3, 0, 1]\nL = sum(pick(log_softmax(z, 1), y) * [1, 2, 3]) + cross_entropy(z * 2, y)",
     lambda z: np.sum(log_softmax(z, 1)[np.arange(3), np.array([3, 0, 1])] * np.array([1.0, 2, 3])) + cross_entropy(z * 2, np.array([3, 0, 1]))),
    ("element-wise functions",
     {"x": [[0.3, 1.7, 0.9], [2.2, 0.45, 1.1]], "p": [1.5, 2.0, 0.5]},
     "L = sum(sin(x) * cos(x) + tan(x / 4) + sigmoid(x) + relu(x - 1) + sqrt(x) + abs(x - 1) + log(x) + pow(x, p) - x / p)",
     lambda x, p: np.sum(np.sin(x) * np.cos(x) + np.tan(x / 4) + sigmoid(x) + relu(x - 1) + np.sqrt(x) + np.abs(x - 1)
                         + np.log(x) + x ** p - x / p)),
    ("a two-layer network on a batch",
     {"X": [[0.1, 0.2, -0.3, 0.4], [0.5, -0.6, 0.7, 0.0], [-0.2, 0.3, 0.1, -0.4]],
      "W1": [[0.2, -0.1, 0.4], [0.3, 0.2, -0.5], [-0.4, 0.1, 0.2], [0.1, 0.3, 0.3]], "b1": [0.01, -0.02, 0.03],
      "W2": [[0.5, -0.3], [0.2, 0.4], [-0.1, 0.6]], "b2": [0.1, -0.1]},
     "y = [1, 0, 1]\nh = relu(X @ W1 + b1)\nL = cross_entropy(h @ W2 + b2, y) + 0.01 * sum(W1 * W1)",
     lambda X, W1, b1, W2, b2: cross_entropy(relu(X @ W1 + b1) @ W2 + b2, np.array([1, 0, 1])) + 0.01 * np.sum(W1 * W1)),
]


def literal(v):
    return json.dumps(v).replace(" ", "")


def tensor(v):
    if isinstance(v, dict):
        return np.array(v["data"], dtype=float)
    return np.array(float(v) if not isinstance(v, str) else float(v.replace("inf", "Infinity")))


def close(a, b, tol=1e-9):
    a = np.array(a, dtype=float).ravel()
    b = np.array(b, dtype=float).ravel()
    return a.shape == b.shape and all(abs(x - y) <= tol * max(1.0, abs(x), abs(y)) for x, y in zip(a, b))


def run(case):
    name, inputs, body, f = case
    names = list(inputs)
    program = "\n".join("%s = %s" % (k, literal(inputs[k])) for k in names) + "\n" + body + "\n"
    p = subprocess.run([BIN, "grad", "-", "--json"], input=program, capture_output=True, text=True)
    assert p.returncode == 0, "gradtrace exit %d: %s" % (p.returncode, p.stderr)
    out = json.loads(p.stdout)
    args = [np.array(inputs[k], dtype=float) for k in names]
    expected = f(*args)
    assert close(tensor(out["value"]), expected), "value %s, autograd %s" % (out["value"], expected)
    checked = 0
    for i, k in enumerate(names):
        g = grad(f, i)(*args)
        got = tensor(out["inputs"][k]["grad"])
        assert got.shape == np.shape(g), "%s: gradient shape %s, autograd %s" % (k, got.shape, np.shape(g))
        assert close(got, g), "%s: gradient %s, autograd %s" % (k, got.tolist(), np.array(g).tolist())
        checked += got.size
    return checked


def main():
    run_tests("tensors vs autograd", [(case[0], lambda case=case: run(case)) for case in CASES])


main()
