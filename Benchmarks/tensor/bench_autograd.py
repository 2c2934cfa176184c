"""The tensor benchmark's other side: the same 2-layer MLP (batch 64, 784 -> 128 -> 10, cross-entropy)
with NumPy + HIPS autograd, forward and backward, gradients of all six inputs (X included, as gradtrace
gives them). Prints `autograd_per_iteration SECONDS` and `autograd_process SECONDS` (one iteration in a
fresh interpreter, imports included)."""
import sys
import time

T0 = time.perf_counter()
import autograd.numpy as np  # noqa: E402
from autograd import grad  # noqa: E402


def cross_entropy(z, y):
    m = np.max(z, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return -np.mean((z - lse)[np.arange(z.shape[0]), y])


def loss(params, y):
    X, W1, b1, W2, b2 = params
    h = np.tanh(X @ W1 / 28 + b1)
    return cross_entropy(h @ W2 / 11.3 + b2, y)


rng = np.random.RandomState(0)
params = (rng.randn(64, 784), rng.randn(784, 128), np.zeros(128), rng.randn(128, 10), np.zeros(10))
y = rng.randint(0, 10, 64)
g = grad(loss)
g(params, y)
first = time.perf_counter() - T0
n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
t = time.perf_counter()
for _ in range(n):
    g(params, y)
per = (time.perf_counter() - t) / n
print("autograd_per_iteration", per)
print("autograd_process", first)
