"""gradtrace.jax against JAX from PyPI (float64): usage: test_jax_bridge.py GRADTRACE_BIN

Each model's every parameter gradient from `gradtrace grad FILE.json --json` equals jax.grad's to 1e-9 relative,
`gradtrace check` agrees with the reference gradients the bridge records, and an unmapped primitive is refused by
name. Prints one line per test and `jax bridge: N passed, M failed`; exits 1 when one failed."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testrunner import run_tests  # noqa: E402
BIN = os.path.abspath(sys.argv[1])
os.environ["GRADTRACE"] = BIN
import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import gradtrace.jax as gj  # noqa: E402

PINNED = "0.10.2"  # the jaxpr is not a stable API: the primitive table is tested against this version
TMP = tempfile.mkdtemp(prefix="gradtrace-jax-")
r = np.random.default_rng(7)


def agree(fn, params, *args):
    """Captures fn, then compares gradtrace's gradient of every parameter with jax.grad's, element by element."""
    g = gj.capture(fn, params, *args)
    path = g.write(os.path.join(TMP, fn.__name__ + ".json"))
    p = subprocess.run([BIN, "grad", path, "--json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    want = jax.grad(fn)(params, *args)
    n = 0
    for keys, w in jax.tree_util.tree_flatten_with_path(want)[0]:
        name = gj._path_name(keys)
        gv = got["inputs"][name]["grad"]
        a = np.asarray(gv["data"] if isinstance(gv, dict) else gv, dtype=float)
        w = np.asarray(w, dtype=float)
        assert a.shape == w.shape, (name, a.shape, w.shape)
        scale = max(np.abs(w).max(), 1e-300)
        err = np.abs(a - w).max() / scale
        assert err <= 1e-9, "%s: largest difference %.3g of the largest gradient" % (name, err)
        n += w.size
    assert abs(float(got["value"]) - float(fn(params, *args))) <= 1e-9 * max(1, abs(float(fn(params, *args))))
    ok, report = g.check()
    assert ok, report
    return n


def test_mlp_log_softmax_pick():
    def mlp(params, x, y):
        h = jnp.tanh(x @ params["layers"][0]["w"] + params["layers"][0]["b"])
        logits = h @ params["layers"][1]["w"] + params["layers"][1]["b"]
        return -jnp.mean(jax.nn.log_softmax(logits, axis=-1)[jnp.arange(4), y])
    params = {"layers": [{"w": r.normal(size=(3, 5)), "b": r.normal(size=5)}, {"w": r.normal(size=(5, 3)), "b": np.zeros(3)}]}
    agree(mlp, params, r.normal(size=(4, 3)), np.array([0, 2, 1, 0]))
    g = gj.capture(mlp, params, r.normal(size=(4, 3)), np.array([0, 2, 1, 0]))
    ops = [n["op"] for n in g.doc["nodes"]]
    assert "broadcast_in_dim" not in ops and ops.count("add") == 2 and "log_softmax" in ops and "pick" in ops, ops
    names = {n["name"] for n in g.doc["nodes"] if n["name"]}
    assert {"layers.0.w", "layers.0.b", "layers.1.w", "layers.1.b", "x", "y", "loss"} <= names, names


def test_attention_head():
    def attention(p, x):
        q, k, v = x @ p["q"], x @ p["k"], x @ p["v"]
        s = jax.nn.softmax(q @ k.T / jnp.sqrt(4.0), axis=-1)
        return jnp.sum((s @ v) ** 2)
    p = {"q": r.normal(size=(6, 4)), "k": r.normal(size=(6, 4)), "v": r.normal(size=(6, 4))}
    agree(attention, p, r.normal(size=(3, 6)))


def test_elementwise_and_reductions():
    def many(p, x):
        a = jax.nn.sigmoid(x * p["w"]) + jnp.exp(-jnp.abs(p["w"])) + jnp.log(1 + p["w"] ** 2)
        b = jnp.sqrt(p["w"] ** 2 + 1) * jax.lax.rsqrt(p["w"] ** 2 + 2) + jnp.sin(p["w"]) * jnp.cos(x)
        c = jax.nn.relu(a - 1.2) + jnp.maximum(b, 0.1 * a) + jnp.where(x > 0, a, b)
        return jnp.mean(jnp.max(c.reshape(2, 3), axis=1)) + jnp.sum(c, axis=0).sum() / 7
    p = {"w": r.normal(size=6)}
    agree(many, p, r.normal(size=6))


def test_refuses_unmapped_primitives():
    def fft(p, x):
        return jnp.sum(jnp.abs(jnp.fft.fft(x * p["w"])))
    try:
        gj.capture(fft, {"w": r.normal(size=4)}, r.normal(size=4))
    except gj.Unsupported as e:
        assert "'fft'" in str(e), str(e)
    else:
        raise AssertionError("fft was not refused")
    def cumsum(p, x):
        return jnp.sum(jnp.cumsum(x * p["w"]))
    try:
        gj.capture(cumsum, {"w": r.normal(size=4)}, r.normal(size=4))
    except gj.Unsupported as e:
        assert "cumsum" in str(e), str(e)
    else:
        raise AssertionError("cumsum was not refused")


def test_pinned_version():
    assert jax.__version__ == PINNED, "tested against JAX %s, found %s: pin it (scripts/test-python.sh)" % (PINNED, jax.__version__)


run_tests("jax bridge", [test_pinned_version, test_mlp_log_softmax_pick, test_attention_head, test_elementwise_and_reductions,
         test_refuses_unmapped_primitives])
