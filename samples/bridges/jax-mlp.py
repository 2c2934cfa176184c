"""Writes samples/bridges/jax-mlp.json: a two-layer classifier written in JAX, captured by gradtrace.jax.

    python samples/bridges/jax-mlp.py      # needs jax==0.10.2 (python/test_jax_bridge.py checks the bytes)

The committed JSON is what the main job renders (scripts/render-samples.sh needs no framework)."""
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import gradtrace.jax as gj  # noqa: E402


def loss(params, x, y):
    """Mean cross-entropy of tanh(x·W1 + b1)·W2 + b2 against the labels y."""
    h = jnp.tanh(x @ params["hidden"]["w"] + params["hidden"]["b"])
    logits = h @ params["out"]["w"] + params["out"]["b"]
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(logp[jnp.arange(x.shape[0]), y])


params = {"hidden": {"w": np.array([[0.5, -1.0, 0.3], [0.8, 0.2, -0.6]]), "b": np.array([0.1, 0.0, -0.2])},
          "out": {"w": np.array([[1.0, -0.5], [-0.7, 0.4], [0.2, 0.9]]), "b": np.array([0.0, 0.1])}}
x = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, -1.5]])
y = np.array([0, 1, 1])

g = gj.capture(loss, params, x, y)
g.write(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax-mlp.json"))
