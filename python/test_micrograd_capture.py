"""gradtrace.micrograd.capture(loss, model=model) against micrograd from PyPI: usage: test_micrograd_capture.py GRADTRACE_BIN

Names by attribute path, gradients by name equal micrograd's, the reference gradients checked by gradtrace check,
neurons collapsed and boxed, one name per node, and the pictures Graph.save and _repr_svg_ make.
Prints one line per test and `micrograd capture: N passed, M failed`; exits 1 when one failed."""
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testrunner import run_tests  # noqa: E402
BIN = os.path.abspath(sys.argv[1])
os.environ["GRADTRACE"] = BIN
import gradtrace  # noqa: E402
import gradtrace.micrograd as gm  # noqa: E402
from micrograd.engine import Value  # noqa: E402
from micrograd.nn import MLP, Neuron  # noqa: E402

TMP = tempfile.mkdtemp(prefix="gradtrace-capture-")


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def demo():
    random.seed(1337)
    model = MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
    loss.backward()
    return model, loss


def test_parameters_named_by_path_and_gradients_agree():
    model, loss = demo()
    g = gm.capture(loss, model=model)
    grads = g.grad()
    params, _ = gm.named_parameters(model)
    assert len(params) == len(model.parameters()) == 41
    assert [p for p, _ in params][:3] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.w.2"]
    assert set(grads) == {p for p, _ in params}, sorted(set(grads) ^ {p for p, _ in params})[:5]
    for path, v in params:
        assert close(grads[path], v.grad), (path, grads[path], v.grad)
    assert model.layers[0].neurons[1].w[2].grad == next(v for p, v in params if p == "layers.0.neurons.1.w.2").grad


def test_subtracting_a_number_keeps_the_order():
    # model(x) - 1.0 is micrograd's model(x) + Value(-1.0): drawn t + -1, the number second as written.
    model, loss = demo()
    g = gm.capture(loss, model=model)
    nodes = g.doc["nodes"]
    adds = [n for n in nodes if n["op"] == "+" and any(nodes[i]["op"] == "const" for i in n["inputs"])]
    assert adds, "no sum with a constant"
    for n in adds:
        assert nodes[n["inputs"][0]]["op"] != "const" and nodes[n["inputs"][1]]["op"] == "const", n


def test_reference_gradients_checked():
    model, loss = demo()
    g = gm.capture(loss, model=model)
    assert g.doc["reference"]["grads"]["layers.2.neurons.0.b"] == model.layers[2].neurons[0].b.grad
    ok, report = g.check()
    assert ok, report
    assert "all 41 reference gradients (micrograd) agree" in report, report
    g.doc["reference"]["grads"]["layers.1.neurons.3.w.0"] += 0.25
    ok, report = g.check()
    assert not ok and "'layers.1.neurons.3.w.0'" in report, report


def test_one_name_per_node_and_neurons_collapse():
    model, loss = demo()
    g = gm.capture(loss, model=model)
    names = [n["name"] for n in g.doc["nodes"] if n["name"]]
    assert names.count("layers.1.neurons.2") == 4, "each of the 4 calls of a neuron carries its path"
    assert g.doc["nodes"][-1]["name"] == "loss"
    t = g.trace()
    assert t["output"] == "loss" and t["nodes"][-1]["name"] == "loss"
    path = g.write(os.path.join(TMP, "mlp.json"))
    for args in (["--collapse", "neuron"], ["--collapse", "layer"], ["--clusters"]):
        out = os.path.join(TMP, "mlp-%s.svg" % args[-1].strip("-"))
        p = subprocess.run([BIN, "render", path, "-o", out, *args], capture_output=True, text=True)
        assert p.returncode == 0, (args, p.stderr)
        svg = open(out, encoding="utf-8").read()
        assert "layers.0.neurons.1" in svg or "layers.0" in svg, args
    p = subprocess.run([BIN, "trace", path, "--granularity", "layer"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_save_by_extension_and_inline_svg():
    n = Neuron(2)
    x = [Value(1.0), Value(-2.0)]
    out = n(x)
    out.backward()
    g = gm.capture(out, model=n, name="out")
    assert sorted(g.grad()) == ["b", "w.0", "w.1"], sorted(g.grad())
    for ext, magic in (("svg", b"<svg"), ("png", b"\x89PNG"), ("pdf", b"%PDF")):
        path = g.save(os.path.join(TMP, "neuron." + ext))
        head = open(path, "rb").read(400)
        assert magic in head, (ext, head[:20])
    svg = g._repr_svg_()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg[:400]
    assert "w.0" in svg


def test_refusals_are_errors():
    a = Value(1.0)
    g = gm.capture(a * 2)
    g.doc["nodes"][0]["name"] = "bad\nname"
    try:
        g.grad()
    except gradtrace.GradTraceError as e:
        assert "U+000A" in str(e) and "exit 2" in str(e), str(e)
    else:
        raise AssertionError("a name with a newline was accepted")


run_tests("micrograd capture", [test_parameters_named_by_path_and_gradients_agree, test_subtracting_a_number_keeps_the_order,
         test_reference_gradients_checked, test_one_name_per_node_and_neurons_collapse, test_save_by_extension_and_inline_svg,
         test_refusals_are_errors])
