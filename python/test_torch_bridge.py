"""gradtrace.torch against PyTorch from PyPI: usage: test_torch_bridge.py GRADTRACE_BIN

Models of our own (an MLP, an attention head, a multi-head attention block, a LayerNorm + GELU residual block, a
small CNN, an embedding bag, BatchNorm with cat/clamp/where, ...) are captured; every parameter's gradient from
`gradtrace grad FILE.json --json` must equal PyTorch's (float64) to 1e-9 relative, and `gradtrace check FILE.json`
must agree with the reference gradients the bridge records. A float32 model agrees within float32 rounding, an
unmapped call (torch.fft.fft) is refused naming it and its module, and every function the issue lists is used by
some model (checked at the end). Prints one line per test and `torch bridge: N passed, M failed`; exits 1 when one
failed."""
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testrunner import run_tests  # noqa: E402
BIN = os.path.abspath(sys.argv[1])
os.environ["GRADTRACE"] = BIN
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import gradtrace.torch as gt  # noqa: E402

PINNED = "2.15.0"  # scripts/test-python.sh installs this version
TMP = tempfile.mkdtemp(prefix="gradtrace-torch-")
torch.manual_seed(0)

# Every call the bridge maps is counted, so that the end of the run can say which listed function no model used.
USED = set()
for _key, _rule in list(gt.FUNCTIONS.items()):
    def _counting(c, args, kwargs, out, _key=_key, _rule=_rule):
        USED.add(_key)
        return _rule(c, args, kwargs, out)
    gt.FUNCTIONS[_key] = _counting
gt._COMPARISONS = {gt.FUNCTIONS[k] for k in ("lt", "le", "gt", "ge", "eq", "ne", "less", "less_equal", "greater",
                                              "greater_equal", "not_equal")}


def gradtrace(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def agree(model, fn, *args, tolerance=1e-9, label=None):
    """Captures fn(*args) and compares gradtrace's gradient of every parameter (and its loss) with PyTorch's."""
    label = label or fn.__name__
    g = gt.capture(fn, *args, model=model)
    path = g.write(os.path.join(TMP, label + ".json"))
    code, out, err = gradtrace("grad", path, "--json")
    assert code == 0, err
    got = json.loads(out)
    loss = fn(*args)
    lv = float(loss.detach())
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    want = torch.autograd.grad(loss, [p for _, p in params], allow_unused=True)
    checked = 0
    # As `gradtrace check` does: a millionth of the graph's largest gradient is the floor of every scale (a gradient
    # that is zero in theory, like an attention key's bias, is rounding noise on both sides).
    largest = max(float(w.abs().max()) for w in want if w is not None)
    for (name, p), w in zip(params, want):
        if w is None:
            assert name not in got["inputs"], name
            continue
        assert name in got["inputs"], "%s: not an input of the graph (its inputs: %s)" % (name, sorted(got["inputs"]))
        gv = got["inputs"][name]["grad"]
        a = torch.tensor(gv["data"] if isinstance(gv, dict) else gv, dtype=torch.float64)
        w = w.detach().to(torch.float64)
        assert tuple(a.shape) == tuple(w.shape), (name, tuple(a.shape), tuple(w.shape))
        scale = max(float(w.abs().max()), 1e-6 * largest, 1e-300)
        err = float((a - w).abs().max()) / scale
        assert err <= tolerance, "%s: largest difference %.3g of the largest gradient (tolerance %g)" % (name, err, tolerance)
        checked += 1
    assert checked == len([w for w in want if w is not None]) and checked > 0
    value = float(got["value"])
    assert abs(value - lv) <= max(tolerance, 1e-12) * max(1.0, abs(lv)), (value, lv)
    code, out, err = gradtrace("check", path)
    assert code == 0, out + err
    assert "reference gradients (torch %s" % torch.__version__ in out, out
    return g


# -- models ------------------------------------------------------------------------------------------------------------
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 6)
        self.fc2 = nn.Linear(6, 5)
        self.out = nn.Linear(5, 3)

    def forward(self, x):
        h = torch.tanh(self.fc1(x))
        h = F.relu(self.fc2(h)) + torch.sigmoid(h[:, :5]) * 0.5
        return self.out(h)


def test_mlp_cross_entropy():
    m = MLP().double()
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.tensor([0, 2, 1, 1, 0, 2])
    def loss(x, y):
        return F.cross_entropy(m(x), y)
    g = agree(m, loss, x, y)
    nodes = {n.get("name"): n for n in g.doc["nodes"]}
    assert nodes["x"]["op"] == "const" and nodes["x"]["role"] == "input", nodes["x"]
    assert nodes["y"]["role"] == "labels" and nodes["y"]["dtype"] == "int", nodes["y"]
    assert nodes["fc1.weight"]["role"] == "parameter" and nodes["fc1.weight"]["module"] == "fc1"
    assert nodes["fc1"]["op"] == "linear" and nodes["out"]["op"] == "linear" and nodes["loss"]["op"] == "cross_entropy"


def test_elementwise_and_reductions():
    m = MLP().double()
    x = torch.randn(6, 3, dtype=torch.float64)
    def loss(x):
        z = m(x)
        a = torch.exp(-z.abs()) + torch.log(1 + z ** 2) + torch.sqrt(z * z + 1.0) - 2 / (3 + z.pow(2))
        b = z.sum(dim=1, keepdim=True) / 4 - z.mean(0).unsqueeze(0) + z.mean(dim=(0, 1), keepdim=True) + 2.0 ** torch.tanh(z)
        c = F.silu(a) * F.gelu(b) - F.gelu(b, approximate="tanh") + F.softplus(z) + F.leaky_relu(z, 0.2)
        d = torch.maximum(c, b) - torch.minimum(a, 0.5 * b) + torch.square(z).rsqrt() + z.max(dim=1, keepdim=True).values
        w = z * 1.0
        w += z ** 2      # in place on a node: taken
        w *= 0.5
        w.div_(2.0)
        v = z @ torch.linspace(-1, 1, 3, dtype=torch.float64)   # matrix @ vector
        return d.sum() / z.numel() + w.mean() + v @ v / 10 + z.var(dim=0).sum() + torch.amax(z, 1).mean() + z.std() + (1.0 - z).log1p().sum()
    agree(m, loss, x)


class AttentionHead(nn.Module):
    def __init__(self, d=6, h=4):
        super().__init__()
        self.q = nn.Linear(d, h, bias=False)
        self.k = nn.Linear(d, h, bias=False)
        self.v = nn.Linear(d, h, bias=False)
        self.h = h

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        a = F.softmax(q @ k.T / math.sqrt(self.h), dim=-1)
        return a @ v


def test_attention_head():
    m = AttentionHead().double()
    x, target = torch.randn(5, 6, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    def loss(x, target):
        return F.mse_loss(m(x), target)
    g = agree(m, loss, x, target)
    ops = [n["op"] for n in g.doc["nodes"]]
    assert ops.count("linear") == 3 and ops.count("matmul") == 2 and "softmax" in ops and "mse_loss" in ops, ops


class MultiHead(nn.Module):
    """Causal multi-head self-attention with a residual and a projection, as in a GPT block."""

    def __init__(self, d=8, heads=2):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.heads = heads

    def forward(self, x):
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        q = q.view(B, T, self.heads, D // self.heads).transpose(1, 2)
        k = k.view(B, T, self.heads, D // self.heads).permute(0, 2, 1, 3)
        v = v.reshape(B, T, self.heads, D // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // self.heads))
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, D)
        return x + self.proj(y)


class TinyGPT(nn.Module):
    def __init__(self, vocab=7, d=8):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.attn = MultiHead(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, ids):
        h = self.attn(self.tok(ids))
        first, second = torch.chunk(h, 2, dim=1)
        h = torch.cat([first, second * 0.5], dim=1)
        return self.head(h)


def test_multi_head_attention():
    m = TinyGPT().double()
    ids, targets = torch.tensor([[1, 3, 3, 0], [2, 6, 1, 1]]), torch.tensor([3, 3, 0, 5, 6, 1, 1, 2])
    def loss(ids, targets):
        logits = m(ids)
        return F.nll_loss(F.log_softmax(logits.view(-1, logits.shape[-1]), dim=1), targets)
    g = agree(m, loss, ids, targets)
    names = {n.get("name") for n in g.doc["nodes"]}
    assert {"attn.qkv", "attn.proj", "attn", "head", "tok", "attn.qkv.weight", "ids", "targets"} <= names, names
    ops = [n["op"] for n in g.doc["nodes"]]
    assert ops.count("slice") == 5 and "permute" in ops and "where" in ops and "concat" in ops, ops


class Block(nn.Module):
    """Pre-norm residual MLP: x + fc2(dropout(gelu(fc1(ln(x)))))."""

    def __init__(self, d=6):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)
        self.drop = nn.Dropout(0.25)

    def forward(self, x):
        return x + self.fc2(self.drop(F.gelu(self.fc1(self.ln(x)))))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block())
        self.ln_f = nn.LayerNorm([2, 3])

    def forward(self, x):
        h = self.blocks(x)
        return self.ln_f(h.view(-1, 4, 2, 3)).flatten(1)


def test_layer_norm_gelu_residual():
    m = Residual().double()
    x = torch.randn(3, 4, 6, dtype=torch.float64)
    def loss(x):
        torch.manual_seed(5)  # the dropout masks PyTorch draws are the graph's constants; the same ones each run
        return ((m(x) - target) ** 2).mean()
    target = torch.randn(3, 24, dtype=torch.float64)
    g = agree(m, loss, x)
    masks = [n for n in g.doc["nodes"] if n.get("name", "").endswith("dropout_mask")]
    assert [n["name"] for n in masks] == ["blocks.0.drop.dropout_mask", "blocks.1.drop.dropout_mask"], masks
    data = torch.tensor(masks[0]["value"]["data"], dtype=torch.float64).flatten().tolist()
    assert set(data) == {0.0, 1 / 0.75} and 0 < data.count(0.0) < len(data), set(data)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 3, 3, padding=1, bias=False)  # before a batch norm: its bias would get a zero gradient
        self.bn = nn.BatchNorm2d(3)
        self.conv2 = nn.Conv2d(3, 4, 3, stride=2, padding="valid")
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn(self.conv1(x)), inplace=True), 2)  # [N, 3, 3, 3]
        h = F.avg_pool2d(torch.tanh(self.conv2(h)), 1)             # [N, 4, 1, 1]
        return self.fc(torch.flatten(h, 1))


def test_small_cnn():
    m = CNN().double()
    x, y = torch.randn(2, 2, 6, 6, dtype=torch.float64), torch.tensor([2, 0])
    def loss(x, y):
        return F.cross_entropy(m(x), y)
    g = agree(m, loss, x, y)
    ops = [n["op"] for n in g.doc["nodes"]]
    for op in ("conv2d", "batch_norm", "max_pool2d", "avg_pool2d", "flatten", "linear"):
        assert op in ops, (op, ops)


class Bag(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(9, 4)
        self.bag = nn.EmbeddingBag(9, 4, mode="sum")
        self.cls = nn.Linear(8, 2)

    def forward(self, ids):
        e = self.emb(ids).mean(dim=1)           # the mean of each bag's rows
        return self.cls(torch.cat([e, self.bag(ids)], dim=-1))


def test_embedding_bag():
    m = Bag().double()
    ids, y = torch.tensor([[1, 4, 4, 2], [0, 8, 1, 1], [3, 3, 3, 5]]), torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    def loss(ids, y):
        return F.binary_cross_entropy_with_logits(m(ids), y) + F.binary_cross_entropy(torch.sigmoid(m(ids)), y)
    agree(m, loss, ids, y)


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 5)
        self.bn = nn.BatchNorm1d(10)
        self.out = nn.Linear(10, 1)

    def forward(self, x):
        h = self.fc(x)
        h = torch.cat([h.clamp(-0.5, 0.8), torch.where(h > 0, h, 0.1 * h)], dim=1)
        h = self.bn(h)
        s = torch.stack([h[:, 0], h.clamp(min=0)[:, 1], torch.clamp(h, max=0.3)[:, 2]], dim=1).sum(1, keepdim=True)
        z = torch.where(h <= s, h, s) + (h >= 0.2) * 0.5 + (h < -1).float() - (h == h.max()) * 0.25
        return torch.sigmoid(self.out(z)).squeeze(1)


def test_batch_norm_cat_clamp_where():
    m = Gated().double()
    x, y = torch.randn(6, 4, dtype=torch.float64), torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    def loss(x, y):
        return F.binary_cross_entropy(m(x), y)
    g = agree(m, loss, x, y)
    ops = [n["op"] for n in g.doc["nodes"]]
    for op in ("batch_norm", "concat", "stack", "clamp", "where", "gt", "ge", "le", "lt", "eq"):
        assert op in ops, (op, ops)


class TiedTransformer(nn.Module):
    """Token and position embeddings, F.scaled_dot_product_attention (causal), a GELU feed-forward in nn.Sequential,
    and a read-out that shares the token embedding's weight."""

    def __init__(self, vocab=6, T=4, d=8):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(T, d)
        self.ln = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.ff = nn.Sequential(nn.Linear(d, 16), nn.GELU(), nn.Linear(16, d))
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, ids):
        B, T = ids.shape
        x = self.tok(ids) + self.pos(torch.arange(T))
        q, k, v = self.qkv(self.ln(x)).chunk(3, dim=-1)
        q, k, v = [t.view(B, T, 2, 4).transpose(1, 2) for t in (q, k, v)]
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + a.transpose(1, 2).reshape(B, T, 8)
        return self.head(x + self.ff(x))


def test_tied_transformer_and_found_model():
    m = TiedTransformer().double()
    ids = torch.tensor([[1, 2, 3, 1], [0, 5, 5, 2]])
    g = agree(m, lambda ids: F.cross_entropy(m(ids).view(-1, 6), ids.view(-1)), ids, label="tied")
    names = [n.get("name") for n in g.doc["nodes"] if n["op"] == "input"]
    assert names.count("tok.weight") == 1 and "head.weight" not in names, names
    # Without model=, the module fn reads (here from its closure) names the parameters.
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2)).double()
    criterion = nn.CrossEntropyLoss()
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.tensor([0, 1, 1, 0, 1])
    def loss(x, y):
        z = seq(x)
        return criterion(z, y) + torch.logsumexp(z, dim=1).mean() + F.normalize(z, dim=1).sum()
    g = gt.capture(loss, x, y)
    assert {"0.weight", "3.bias", "0", "3"} <= {n.get("name") for n in g.doc["nodes"]}, g.doc["nodes"]
    agree(seq, loss, x, y)


MM = torch.Generator().manual_seed(2147483647)
C = torch.randn((27, 2), generator=MM, dtype=torch.float64, requires_grad=True)
W1 = torch.randn((6, 10), generator=MM, dtype=torch.float64, requires_grad=True)
b1 = torch.randn(10, generator=MM, dtype=torch.float64, requires_grad=True)
W2 = torch.randn((10, 27), generator=MM, dtype=torch.float64, requires_grad=True)
b2 = torch.randn(27, generator=MM, dtype=torch.float64, requires_grad=True)


def makemore(X, Y):
    """Raw tensors as in Karpathy's makemore MLP: C[X] is an embedding, prob[arange(N), Y] a pick."""
    emb = C[X]
    h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
    logits = h @ W2 + b2
    counts = logits.exp()
    prob = counts / counts.sum(1, keepdims=True)
    return -prob[torch.arange(X.shape[0]), Y].log().mean() + 0.01 * (W1 ** 2).mean()


class PlainAttention(nn.Module):
    """A forward whose first argument is not called `self`: its locals are still named in its module."""
    def __init__(s):
        super().__init__()
        s.q, s.k, s.v = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(s, x):
        scores = s.q(x) @ s.k(x).transpose(0, 1) / 2.0
        weights = torch.softmax(scores, dim=-1)
        return weights @ s.v(x)


class WithPlainAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = PlainAttention()
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.attn(x))


def test_locals_named_in_their_module_and_collapsed():
    m = WithPlainAttention().double()
    x, y = torch.randn(3, 4, dtype=torch.float64), torch.tensor([0, 1, 1])
    def loss(x, y):
        return F.cross_entropy(m(x), y)
    g = agree(m, loss, x, y)
    names = {n.get("name") for n in g.doc["nodes"]}
    assert {"attn.scores", "attn.weights", "attn"} <= names, names
    # The module structure reaches the pictures: one node for attn (and out) when collapsed, boxes with --clusters.
    dot = os.path.join(TMP, "plain-attention.dot")
    code, out, err = gradtrace("render", g.write(os.path.join(TMP, "plain-attention.json")), "--collapse", "module", "-o", dot)
    assert code == 0, err
    text = open(dot).read()
    assert 'label="module attn\\n' in text, text[:2000]
    assert "attn.scores" not in text and "attn.weights" not in text, "attn was not collapsed"
    code, out, err = gradtrace("render", os.path.join(TMP, "plain-attention.json"), "--clusters", "-o", dot)
    assert code == 0, err
    assert "subgraph cluster" in open(dot).read()


def test_raw_tensors_named_by_variable():
    X, Y = torch.randint(0, 27, (8, 3), generator=MM), torch.randint(0, 27, (8,), generator=MM)
    g = gt.capture(makemore, X, Y)
    nodes = {n.get("name"): n for n in g.doc["nodes"] if n.get("name")}
    for name in ("C", "W1", "b1", "W2", "b2"):
        assert nodes[name]["op"] == "input" and nodes[name]["role"] == "parameter", nodes.get(name)
    assert nodes["emb"]["op"] == "embedding" and nodes["X"]["dtype"] == "int" and nodes["Y"]["role"] == "labels"
    assert any(n["op"] == "pick" for n in g.doc["nodes"])
    code, out, err = gradtrace("grad", g.write(os.path.join(TMP, "makemore.json")), "--json")
    assert code == 0, err
    got = json.loads(out)["inputs"]
    want = torch.autograd.grad(makemore(X, Y), [C, W1, b1, W2, b2])
    for name, w in zip(("C", "W1", "b1", "W2", "b2"), want):
        a = torch.tensor(got[name]["grad"]["data"], dtype=torch.float64)
        assert float((a - w).abs().max()) <= 1e-9 * float(w.abs().max()), name
    ok, report = g.check()
    assert ok, report


def test_detach_and_no_grad_are_constants():
    m = MLP().double()
    x = torch.randn(4, 3, dtype=torch.float64)
    def loss(x):
        z = m(x)
        with torch.no_grad():
            scale = z.abs().max() + 1
        centre = z.detach().mean(0) * 0.5
        shift = torch.zeros(z.shape[1], dtype=torch.float64)
        z = z + shift
        shift.add_(0.25)  # a constant changed in place: its new value where it is used next
        return (((z + shift - centre) / scale) ** 2).sum()
    g = agree(m, loss, x)
    # The detached values are constants: no node reads z twice through them.
    consts = [n for n in g.doc["nodes"] if n["op"] == "const" and not n.get("role")]
    assert len(consts) >= 2, consts


def test_batch_norm_evaluation_mode():
    m = CNN().double()
    x, y = torch.randn(2, 2, 6, 6, dtype=torch.float64), torch.tensor([1, 0])
    m.train()
    m(x)  # moves the running statistics
    m.eval()
    def loss(x, y):
        return F.cross_entropy(m(x), y, reduction="sum")
    g = agree(m, loss, x, y, label="cnn_eval")
    assert "batch_norm" not in [n["op"] for n in g.doc["nodes"]]


def test_float32_model():
    m = Residual()  # float32 parameters and data
    x, target = torch.randn(3, 4, 6), torch.randn(3, 24)
    def loss(x):
        torch.manual_seed(5)
        return ((m(x) - target) ** 2).mean()
    g = gt.capture(loss, x, model=m)
    assert g.doc["reference"]["tolerance"] == 1e-3, g.doc["reference"]
    path = g.write(os.path.join(TMP, "float32.json"))
    code, out, err = gradtrace("grad", path, "--json")
    assert code == 0, err
    got = json.loads(out)["inputs"]
    # Exact float32 values in; float64 arithmetic in GradTrace: the gradients differ by float32 rounding only.
    m64 = Residual().double()
    m64.load_state_dict(m.state_dict())
    torch.manual_seed(5)
    want = torch.autograd.grad(((m64(x.double()) - target.double()) ** 2).mean(), list(m64.parameters()))
    worst = 0.0
    for (name, _), w in zip(m64.named_parameters(), want):
        gv = got[name]["grad"]
        a = torch.tensor(gv["data"] if isinstance(gv, dict) else gv, dtype=torch.float64)
        worst = max(worst, float((a - w).abs().max()) / float(w.abs().max()))
    assert worst <= 1e-9, "GradTrace on exact float32 values vs PyTorch float64 on the same values: %.3g" % worst
    w32 = torch.autograd.grad(loss(x), list(m.parameters()))
    worst32 = 0.0
    for (name, _), w in zip(m.named_parameters(), w32):
        gv = got[name]["grad"]
        a = torch.tensor(gv["data"] if isinstance(gv, dict) else gv, dtype=torch.float64)
        worst32 = max(worst32, float((a - w.double()).abs().max()) / float(w.abs().max()))
    assert worst32 <= 1e-5, "float32 PyTorch vs GradTrace: %.3g of the largest gradient" % worst32
    code, out, err = gradtrace("check", path)
    assert code == 0 and "agree within 0.001 relative" in out, out + err
    print("      float32: largest difference %.2g of the largest gradient (PyTorch float32 vs GradTrace float64)" % worst32)
    # Attention in float32: tiny gradient elements differ by float32 rounding of the largest one, which check accepts.
    gpt = TinyGPT()
    ids, targets = torch.tensor([[1, 3, 3, 0], [2, 6, 1, 1]]), torch.tensor([3, 3, 0, 5, 6, 1, 1, 2])
    g = gt.capture(lambda: F.cross_entropy(gpt(ids).view(-1, 7), targets))
    code, out, err = gradtrace("check", g.write(os.path.join(TMP, "gpt32.json")))
    assert code == 0 and "agree within 0.001 relative" in out, out + err


class Mixer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return torch.fft.fft(self.fc(x)).abs()


class WithMixer(nn.Module):
    def __init__(self):
        super().__init__()
        self.mix = Mixer()

    def forward(self, x):
        return self.mix(x).sum()


def viewed(h):
    """A view taken before its base changes in place: PyTorch's view sees the change, so the graph cannot use its old node."""
    h = h * 1.0
    first = h[:, :2]
    h += 1
    return first.sum() + h.sum()


def test_refuses_unmapped_calls():
    m = WithMixer().double()
    x = torch.randn(2, 4, dtype=torch.float64)
    try:
        gt.capture(lambda x: m(x), x, model=m)
    except gt.Unsupported as e:
        assert str(e).startswith("torch.fft.fft in module 'mix' (Mixer): GradTrace has no function for it"), str(e)
    else:
        raise AssertionError("torch.fft.fft was not refused")
    fc = nn.Linear(4, 4).double()
    for bad, what in ((lambda x: torch.cumsum(fc(x), 1).sum(), "torch.cumsum"),
                      (lambda x: fc(x).relu_().sum(), "Tensor.relu_"),
                      (lambda x: F.elu(fc(x)).sum(), "torch.nn.functional.elu"),
                      (lambda x: F.relu(fc(x)[:, 1:], inplace=True).sum(), "torch.nn.functional.relu"),
                      (lambda x: torch.zeros(2, 4, dtype=torch.float64).add_(fc(x)).sum(), "Tensor.add_"),
                      (lambda x: viewed(fc(x)), "Tensor.sum")):
        try:
            gt.capture(bad, x, model=fc)
        except gt.Unsupported as e:
            assert what in str(e) and "the top level of fn" in str(e), str(e)
        else:
            raise AssertionError(what + " was not refused")


def test_check_fails_on_wrong_reference():
    m = MLP().double()
    x, y = torch.randn(4, 3, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    g = gt.capture(lambda x, y: F.cross_entropy(m(x), y), x, y, model=m)
    w = g.doc["reference"]["grads"]["fc2.bias"]
    w["data"][1] += 1e-6
    path = g.write(os.path.join(TMP, "tampered.json"))
    code, out, err = gradtrace("check", path)
    assert code == 1 and "fc2.bias" in out, (code, out, err)


def test_committed_sample_is_reproduced():
    # samples/bridges/torch-attention.json (rendered by the main job) is what its script writes today, byte for byte.
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    sample = os.path.join(root, "samples", "bridges", "torch-attention.json")
    fresh = os.path.join(TMP, "torch-attention.json")
    p = subprocess.run([sys.executable, os.path.join(root, "samples", "bridges", "torch-attention.py"), fresh],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with open(sample, encoding="utf-8") as a, open(fresh, encoding="utf-8") as b:
        assert a.read() == b.read(), "samples/bridges/torch-attention.json is stale: run samples/bridges/torch-attention.py"
    nodes = {n.get("name"): n for n in json.load(open(fresh))["nodes"]}
    assert nodes["a"]["op"] == "softmax" and nodes["q"]["op"] == "linear", sorted(k for k in nodes if k)
    code, out, err = gradtrace("check", fresh)
    assert code == 0, out + err


def test_pinned_version():
    assert torch.__version__.split("+")[0] == PINNED, "tested against PyTorch %s, found %s" % (PINNED, torch.__version__)


LISTED = ["linear", "matmul", "conv2d", "max_pool2d", "avg_pool2d", "flatten", "view", "reshape", "unsqueeze", "squeeze",
          "transpose", "permute", "T", "split", "chunk", "cat", "stack", "where", "gt", "lt", "ge", "le", "eq", "clamp",
          "maximum", "minimum", "embedding", "layer_norm", "batch_norm", "softmax", "log_softmax", "relu", "gelu", "silu",
          "tanh", "sigmoid", "exp", "log", "sqrt", "pow", "add", "sub", "rsub", "mul", "div", "rdiv", "neg", "sum", "mean", "cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy", "dropout"]


def test_every_listed_function_was_used():
    missing = [f for f in LISTED if f not in USED]
    assert not missing, "no model used: " + ", ".join(missing)


run_tests("torch bridge", [test_pinned_version, test_mlp_cross_entropy, test_elementwise_and_reductions, test_attention_head,
         test_multi_head_attention, test_layer_norm_gelu_residual, test_small_cnn, test_embedding_bag,
         test_batch_norm_cat_clamp_where, test_tied_transformer_and_found_model, test_locals_named_in_their_module_and_collapsed,
         test_raw_tensors_named_by_variable,
         test_detach_and_no_grad_are_constants,
         test_batch_norm_evaluation_mode,
         test_float32_model, test_refuses_unmapped_calls, test_check_fails_on_wrong_reference, test_committed_sample_is_reproduced,
         test_every_listed_function_was_used], limit=6)
