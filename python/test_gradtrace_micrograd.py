"""Tests of gradtrace_micrograd against micrograd from PyPI: usage: test_gradtrace_micrograd.py GRADTRACE_BIN

Prints one line per test and a closing line `python bridge: N passed, M failed`; exits 1 when one failed."""
import json
import math
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testrunner import run_tests  # noqa: E402
import gradtrace_micrograd as g  # noqa: E402  (adds tanh/exp to PyPI micrograd)
import gradtrace.micrograd as gm  # noqa: E402
from micrograd.engine import Value  # noqa: E402
from micrograd.nn import MLP  # noqa: E402

BIN = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="gradtrace-python-")


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def trace_json(value, name):
    path = g.write(value, os.path.join(TMP, name + ".json"))
    p = subprocess.run([BIN, "trace", path, "--json"], capture_output=True, text=True)
    assert p.returncode == 0, "gradtrace exit %d: %s" % (p.returncode, p.stderr)
    return json.loads(p.stdout)


def same_gradients(out, name):
    """Every node's gradient through gradtrace equals micrograd's own (1e-9 relative)."""
    out.backward()
    t = trace_json(out, name)
    values = [v for v, _ in gm.walk(out)]
    nodes = t["nodes"]
    assert len(nodes) == len(values), "%d nodes in gradtrace, %d in micrograd" % (len(nodes), len(values))
    assert close(float(t["value"]), out.data), "value %s vs %s" % (t["value"], out.data)
    leaves = 0
    for n, v in zip(nodes, values):
        if not n["inputs"]:
            leaves += 1
            assert close(float(n["grad"]), v.grad), "node %d: gradtrace %s, micrograd %s" % (n["id"], n["grad"], v.grad)
    return leaves


def test_neuron():
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.8813735870195432)
    for v, label in ((x1, "x1"), (x2, "x2"), (w1, "w1"), (w2, "w2"), (b, "b")):
        v.label = label
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    same_gradients(o, "neuron")
    assert close(w1.grad, 1.0) and close(x2.grad, 0.5), (w1.grad, x2.grad)  # the lecture's numbers
    t = trace_json(o, "neuron-named")
    assert close(t["inputs"]["w1"]["grad"], x1.data * (1 - o.data ** 2))


def test_mlp_demo():
    random.seed(1337)
    model = MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
    leaves = same_gradients(loss, "mlp")
    assert leaves >= len(model.parameters())


def test_deterministic_and_subtraction_order():
    def build():
        a, b = Value(3.0), Value(5.0)
        a.label, b.label = "a", "b"
        c = a - b           # a + (b * -1)
        d = c * c + a ** 2  # c used twice: _prev holds it once
        e = d / b
        return e
    one, two = g.to_json(build()), g.to_json(build())
    assert one == two, "to_json differs between two identical graphs"
    e = build()
    same_gradients(e, "sub")
    nodes = json.loads(one)["nodes"]
    neg = [n for n in nodes if n["op"] == "*" and any(nodes[i]["value"] == -1 for i in n["inputs"])]
    assert neg and nodes[neg[0]["inputs"][1]]["value"] == -1, "the -1 of -b should be the second input"
    assert any(n["op"] == "*" and n["inputs"][0] == n["inputs"][1] for n in nodes), "c * c should list c twice"


def test_show_returns_the_player():
    a, b = Value(2.0), Value(-3.0)
    a.label, b.label = "a", "b"
    player = g.show((a * b).relu(), gradtrace=BIN)
    assert 'height:520px' in player._repr_html_()
    html = player._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "step" in player.html
    assert "<script" in player.html and "http://" not in player.html.replace("http://www.w3.org", "")


run_tests("python bridge", [test_neuron, test_mlp_demo, test_deterministic_and_subtraction_order, test_show_returns_the_player], limit=3)
