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


USED = set()  # the primitives the models below made the bridge map


def agree(fn, params, *args):
    """Captures fn, then compares gradtrace's gradient of every parameter with jax.grad's, element by element."""
    g = gj.capture(fn, params, *args)
    USED.update(g.primitives)
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
    assert ops.count("mean") == 1 and "div" not in ops, ops   # jnp.mean stays one node
    names = {n["name"] for n in g.doc["nodes"] if n["name"]}
    assert {"layers.0.w", "layers.0.b", "layers.1.w", "layers.1.b", "x", "y", "loss", "h", "logits"} <= names, names
    ops = {n["name"]: n["op"] for n in g.doc["nodes"] if n["name"]}
    assert ops["h"] == "tanh" and ops["logits"] == "add", ops   # fn's local variables name what they hold


def test_attention_head():
    def attention(p, x):
        q, k, v = x @ p["q"], x @ p["k"], x @ p["v"]
        s = jax.nn.softmax(q @ k.T / jnp.sqrt(4.0), axis=-1)
        return jnp.sum((s @ v) ** 2)
    p = {"q": r.normal(size=(6, 4)), "k": r.normal(size=(6, 4)), "v": r.normal(size=(6, 4))}
    agree(attention, p, r.normal(size=(3, 6)))
    ops = [n["op"] for n in gj.capture(attention, p, r.normal(size=(3, 6))).doc["nodes"]]
    assert ops.count("softmax") == 1 and "exp" not in ops, ops  # softmax stays one node


def test_multi_head_attention():
    """Two heads over a batch: one projection split in three (split), heads by reshape + transpose, batched
    dot_general (scores and values), a causal mask (comparison, select_n), softmax, an output projection."""
    B, T, D, H = 2, 3, 4, 2
    def mha(p, x):
        qkv = x @ p["attn"]["qkv"]["w"]
        q, k, v = jnp.split(qkv, 3, axis=-1)
        heads = lambda t: t.reshape(B, T, H, D // H).transpose(0, 2, 1, 3)
        q, k, v = heads(q), heads(k), heads(v)
        scores = jnp.einsum("bhqd,bhkd->bhqk", q, k) / jnp.sqrt(D // H)
        causal = jnp.arange(T)[:, None] >= jnp.arange(T)[None, :]
        scores = jnp.where(causal, scores, -1e9)
        att = jax.nn.softmax(scores, axis=-1)
        y = (att @ v).transpose(0, 2, 1, 3).reshape(B, T, D)
        out = y @ p["attn"]["out"]["w"] + p["attn"]["out"]["b"]
        return jnp.mean((out - x) ** 2)
    # (no bias on the keys: softmax ignores a shift along a row, so its gradient is zero and only rounding is compared)
    p = {"attn": {"qkv": {"w": r.normal(size=(D, 3 * D))}, "out": {"w": r.normal(size=(D, D)), "b": r.normal(size=D)}}}
    g = gj.capture(mha, p, r.normal(size=(B, T, D)))
    agree(mha, p, r.normal(size=(B, T, D)))
    ops = [n["op"] for n in g.doc["nodes"]]
    assert {"slice", "permute", "matmul", "softmax", "where"} <= set(ops), ops
    assert {"split", "dot_general", "transpose", "select_n"} <= set(g.primitives), g.primitives


def layer_norm(x, g, b, eps=1e-5):
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mu), axis=-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + eps) * g + b


def test_layernorm_gelu_residual_block():
    """x + W2·gelu(W1·LayerNorm(x)): gelu's erf form one node; the tanh form and lax.erf / erfc as written."""
    def block(p, x):
        x = x @ p["proj"]["w"]
        h = layer_norm(x, p["ln"]["g"], p["ln"]["b"])
        h = jax.nn.gelu(h @ p["fc1"]["w"] + p["fc1"]["b"], approximate=False)
        y = x + h @ p["fc2"]["w"]
        z = jax.nn.gelu(y, approximate=True) + 0.1 * jax.lax.erf(y) - 0.05 * jax.lax.erfc(0.5 * y)
        return jnp.sum(z * jnp.arange(1.0, 5.0)) / 10
    p = {"proj": {"w": r.normal(size=(4, 4))}, "ln": {"g": 1 + 0.1 * r.normal(size=4), "b": 0.1 * r.normal(size=4)},
         "fc1": {"w": r.normal(size=(4, 8)), "b": r.normal(size=8)}, "fc2": {"w": 0.3 * r.normal(size=(8, 4))}}
    x = r.normal(size=(3, 4))
    agree(block, p, x)
    g = gj.capture(block, p, x)
    ops = [n["op"] for n in g.doc["nodes"]]
    assert ops.count("gelu") == 1 and ops.count("erf") == 2 and "tanh" in ops, ops
    means = [n for n in g.doc["nodes"] if n["op"] == "mean"]
    assert len(means) == 2 and all(n.get("axis") == 1 for n in means), means   # LayerNorm's mean and variance
    assert {"rsqrt", "square", "integer_pow", "erf", "erfc"} <= set(g.primitives), g.primitives


def test_small_cnn():
    """conv (stride 2, padding 1) + bias, relu, 2×2 max pooling (reduce_window_max), a second conv (stride 1, no
    padding), a sum pool (reduce_window_sum), flatten, a linear layer, a logsumexp cross-entropy with the labels'
    logits picked by take_along_axis, and a max-logit margin (reduce_max)."""
    def cnn(p, x, y):
        h = jax.lax.conv_general_dilated(x, p["conv1"]["w"], (2, 2), [(1, 1), (1, 1)],
                                         dimension_numbers=("NCHW", "OIHW", "NCHW")) + p["conv1"]["b"][None, :, None, None]
        h = jax.lax.reduce_window(jax.nn.relu(h), -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 1, 1), "VALID")
        h = jax.lax.conv_general_dilated(h, p["conv2"]["w"], (1, 1), "VALID")
        h = jax.lax.reduce_window(h, 0.0, jax.lax.add, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        logits = h.reshape(h.shape[0], -1) @ p["fc"]["w"] + p["fc"]["b"]
        lse = jax.nn.logsumexp(logits, axis=-1)
        picked = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
        return jnp.mean(lse - picked) + 0.1 * jnp.mean(jnp.max(logits, axis=-1))
    p = {"conv1": {"w": 0.5 * r.normal(size=(3, 2, 3, 3)), "b": 0.1 * r.normal(size=3)},
         "conv2": {"w": 0.5 * r.normal(size=(2, 3, 2, 2))}, "fc": {"w": r.normal(size=(8, 3)), "b": np.zeros(3)}}
    x, y = r.normal(size=(2, 2, 11, 11)), np.array([2, 0])
    agree(cnn, p, x, y)
    g = gj.capture(cnn, p, x, y)
    ops = [n["op"] for n in g.doc["nodes"]]
    assert ops.count("conv2d") == 2 and ops.count("logsumexp") == 1 and "pick" in ops and "relu" in ops, ops
    assert "max_pool2d" in ops and "avg_pool2d" in ops, ops
    convs = [n for n in g.doc["nodes"] if n["op"] == "conv2d"]
    assert (convs[0]["stride"], convs[0]["padding"], convs[1]["stride"], convs[1]["padding"]) == (2, 1, 1, 0), convs


def test_embedding_model():
    """Token embeddings (table[ids] and jnp.take), a padding mask from a comparison, mean over tokens, a
    stop_gradient baseline, clipping, concatenation, slices, float conversions and a sigmoid classifier."""
    def embed(p, ids, y):
        e = p["tok"][ids] + jnp.take(p["pos"], jnp.arange(ids.shape[1]), axis=0)
        mask = (ids != 0).astype(jnp.float64)[..., None]
        pooled = jnp.sum(e * mask, axis=1) / jnp.sum(mask, axis=1)
        feats = jnp.concatenate([pooled, jax.lax.clamp(-0.5, pooled[:, :2], 0.5), jnp.expand_dims(pooled[:, 0], -1) ** 2], axis=1)
        z = (feats @ p["head"]["w"])[:, 0] + p["head"]["b"]
        z = z - jax.lax.stop_gradient(jnp.mean(z)) + jax.lax.convert_element_type(jnp.float32(0.25), jnp.float64)
        prob = jax.nn.sigmoid(z)
        yf = y.astype(jnp.float64)
        bce = -(yf * jnp.log(prob) + (1 - yf) * jnp.log1p(-prob))
        extra = jnp.sum(jnp.minimum(jnp.abs(pooled), 0.3)) + jnp.sum(jnp.expm1(0.1 * pooled) * jnp.tan(0.2 * pooled))
        odd = jnp.sum(jnp.where(pooled > 0.1, jnp.sin(pooled), jnp.cos(pooled)) * (pooled <= 0.5) * (pooled >= -0.5)
                      + (pooled < 0) * (pooled != 0.25) - (pooled == pooled[0, 0]) * pooled + ~(pooled > 0.3) * pooled
                      + ((pooled > 0.2) | (pooled < -0.2)) * pooled ** 2)
        return jnp.mean(bce) + 0.1 * extra + 0.01 * odd + 0.01 * jnp.sum((pooled ** 2 + 1) ** pooled[:, :1])
    p = {"tok": r.normal(size=(6, 4)), "pos": 0.1 * r.normal(size=(3, 4)), "head": {"w": r.normal(size=(7, 1)), "b": np.array(0.1)}}
    ids, y = np.array([[1, 4, 0], [5, 5, 2]]), np.array([1, 0])
    agree(embed, p, ids, y)
    g = gj.capture(embed, p, ids, y)
    ops = [n["op"] for n in g.doc["nodes"]]
    assert ops.count("embedding") == 2 and "concat" in ops and "clamp" in ops and "slice" in ops, ops
    # (stop_gradient: were the detached mean of z traced through, the head's gradients would differ from jax.grad's.)
    names = {n["name"]: n for n in g.doc["nodes"] if n["name"]}
    assert names["ids"]["role"] == "input" and names["ids"].get("dtype") == "int", names.get("ids")


def test_elementwise_and_reductions():
    def many(p, x):
        a = jax.nn.sigmoid(x * p["w"]) + jnp.exp(-jnp.abs(p["w"])) + jnp.log(1 + p["w"] ** 2)
        b = jnp.sqrt(p["w"] ** 2 + 1) * jax.lax.rsqrt(p["w"] ** 2 + 2) + jnp.sin(p["w"]) * jnp.cos(x)
        c = jax.nn.relu(a - 1.2) + jnp.maximum(b, 0.1 * a) + jnp.where(x > 0, a, b)
        return jnp.mean(jnp.max(c.reshape(2, 3), axis=1)) + jnp.sum(c, axis=0).sum() / 7
    p = {"w": r.normal(size=6)}
    agree(many, p, r.normal(size=6))


def test_every_primitive_is_exercised():
    """The models above, together, run every entry of the table that JAX 0.10.2 produces (the aliases are names
    other JAX versions give the same primitives, or forms the named wrappers now keep out of the jaxpr)."""
    aliases = {"pjit", "closed_call", "custom_vjp_call", "copy_p", "copy"}
    missing = sorted(set(gj.PRIMITIVES) - USED - aliases)
    assert not missing, "primitives no test model uses: %s" % missing


def test_refuses_what_it_cannot_express():
    x, w = r.normal(size=(1, 2, 6, 6)), r.normal(size=(3, 2, 3, 3))
    for kwargs, words in ((dict(rhs_dilation=(2, 2)), "rhs_dilation"), (dict(lhs_dilation=(2, 2)), "lhs_dilation"),
                          (dict(window_strides=(1, 2)), "window_strides"), (dict(padding=[(1, 0), (1, 0)]), "padding"),
                          (dict(dimension_numbers=("NHWC", "HWIO", "NHWC")), "layout"),
                          (dict(feature_group_count=2), "feature_group_count=2")):
        args = dict(window_strides=(1, 1), padding=[(0, 0), (0, 0)])
        args.update(kwargs)
        xx, ww = x, w
        if "dimension_numbers" in kwargs:
            xx, ww = x.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0)
        if "feature_group_count" in kwargs:
            ww = r.normal(size=(2, 1, 3, 3))
        def conv(p, x):
            return jnp.sum(jax.lax.conv_general_dilated(x, p["w"], **args))
        try:
            gj.capture(conv, {"w": ww}, xx)
        except gj.Unsupported as e:
            assert "'conv_general_dilated'" in str(e) and words in str(e), str(e)
        else:
            raise AssertionError("conv_general_dilated with %s was not refused" % kwargs)


def test_refuses_unmapped_primitives():
    # Each function, and what the refusal must name: fft converts its input to complex numbers first.
    cases = [(lambda p, x: jnp.sum(jnp.abs(jnp.fft.fft(x * p["w"]))), "complex128", "fft"),
             (lambda p, x: jnp.sum(jnp.sort(x * p["w"])[:2]), "'sort'", "sort"),
             (lambda p, x: jnp.sum(jnp.cumsum(x * p["w"])), "cumsum", "cumsum")]
    for fn, named, what in cases:
        try:
            gj.capture(fn, {"w": r.normal(size=4)}, r.normal(size=4))
        except gj.Unsupported as e:
            assert named in str(e), str(e)
        else:
            raise AssertionError(what + " was not refused")


def test_sample_and_docs():
    """samples/bridges/jax-mlp.json is what samples/bridges/jax-mlp.py writes (the main job renders the committed
    file, needing no JAX), and every line of the JAX examples in README.md and docs/*.md is a line of that script."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    script = os.path.join(root, "samples", "bridges", "jax-mlp.py")
    out = os.path.join(TMP, "jax-mlp.json")
    p = subprocess.run([sys.executable, script, out], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with open(out, "rb") as f, open(os.path.join(root, "samples", "bridges", "jax-mlp.json"), "rb") as g:
        assert f.read() == g.read(), "samples/bridges/jax-mlp.json is stale: run python samples/bridges/jax-mlp.py"
    with open(script, encoding="utf-8") as f:
        lines = {l.split("  #")[0].strip() for l in f}
    seen = 0
    docs = [os.path.join(root, "README.md")] + sorted(os.path.join(root, "docs", n) for n in os.listdir(os.path.join(root, "docs")) if n.endswith(".md"))
    for path in docs:
        text = open(path, encoding="utf-8").read()
        for block in text.split("```py\n")[1:]:
            body = block.split("```")[0]
            if "gradtrace.jax" not in body and "gj." not in body:
                continue
            seen += 1
            for line in body.split("\n"):
                code = "" if line.strip().startswith("#") else line.split("  #")[0].strip()
                assert not code or code in lines, "%s: %r is not in samples/bridges/jax-mlp.py" % (os.path.basename(path), code)
    assert seen >= 2, "the JAX examples of README.md and docs/ were not found (%d)" % seen


def test_pinned_version():
    assert jax.__version__ == PINNED, "tested against JAX %s, found %s: pin it (scripts/test-python.sh)" % (PINNED, jax.__version__)


run_tests("jax bridge", [test_pinned_version, test_mlp_log_softmax_pick, test_attention_head, test_multi_head_attention,
                        test_layernorm_gelu_residual_block, test_small_cnn, test_embedding_model,
                        test_elementwise_and_reductions, test_every_primitive_is_exercised,
                        test_refuses_what_it_cannot_express, test_refuses_unmapped_primitives, test_sample_and_docs])
