"""Hand a micrograd graph to GradTrace (standard library only).

    import gradtrace_micrograd as g
    g.to_json(loss)             # the graph as GradTrace's JSON (README: "Graphs as JSON")
    g.write(loss, "loss.json")  # ... saved; then: gradtrace trace loss.json
    g.show(loss)                # the HTML step player, displayed inline by Jupyter

The walk reads only micrograd's public attributes: ``data``, ``_prev``, ``_op`` and, when present, ``label``.
micrograd's op strings are passed through as they are ('+', '*', '**2', 'ReLU', 'tanh', 'exp', '' for a leaf);
gradtrace reads them. Because ``_prev`` is a set, inputs are put in a deterministic order: for '*' a
constant leaf (such as the -1 of micrograd's ``-b = b * -1``) comes second; otherwise children are ordered
by their structure, so the same graph always gives the same JSON. A node that uses one child twice
(``a + a``, ``a * a``: ``_prev`` holds it once) lists it twice.

micrograd from PyPI (0.1.0) has no ``tanh`` or ``exp``; importing this module adds the lecture's versions
(``_op`` 'tanh' and 'exp') to ``micrograd.engine.Value`` when they are missing.
"""

import json
import math
import os
import shutil
import subprocess
import tempfile

__all__ = ["to_json", "write", "show", "Player"]


def _number(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _children(v):
    return list(getattr(v, "_prev", ()) or ())


def _is_leaf(v):
    return not _children(v)


def _signatures(root):
    """A structural signature per node (by id), computed without recursion, to order set members."""
    sig = {}
    stack = [(root, False)]
    while stack:
        v, done = stack.pop()
        if id(v) in sig:
            continue
        kids = _children(v)
        if done or not kids:
            parts = sorted(sig[id(c)] for c in kids)
            label = getattr(v, "label", "") or ""
            sig[id(v)] = "(%s %r %s [%s])" % (getattr(v, "_op", ""), float(v.data), label, " ".join(parts))
            if len(sig[id(v)]) > 256:  # keep signatures short on deep graphs
                sig[id(v)] = sig[id(v)][:200] + str(hash(sig[id(v)]) & 0xFFFFFFFF)
        else:
            stack.append((v, True))
            for c in kids:
                if id(c) not in sig:
                    stack.append((c, False))
    return sig


def _ordered_inputs(v, sig):
    kids = _children(v)
    op = getattr(v, "_op", "") or ""
    if len(kids) == 1 and op in ("+", "*"):
        return [kids[0], kids[0]]  # a + a, a * a
    def key(c):
        unnamed_constant = _is_leaf(c) and not (getattr(c, "label", "") or "")
        return (1 if (op == "*" and unnamed_constant) else 0, sig[id(c)])
    return sorted(kids, key=key)


def _graph(value):
    """Nodes in topological order (inputs first), as GradTrace's JSON node objects."""
    nodes, out, _ = _walk(value)
    return nodes, out


def _walk(value):
    """The JSON node objects, the output's id, and the micrograd Values in the same order."""
    sig = _signatures(value)
    ids = {}
    nodes = []
    values = []
    stack = [(value, False)]
    while stack:
        v, done = stack.pop()
        if id(v) in ids:
            continue
        ins = _ordered_inputs(v, sig)
        if done or not ins:
            ids[id(v)] = len(nodes)
            values.append(v)
            label = getattr(v, "label", "") or None
            nodes.append({"id": len(nodes), "name": label, "op": getattr(v, "_op", "") or "",
                          "inputs": [ids[id(c)] for c in ins], "value": _number(v.data)})
        else:
            stack.append((v, True))
            for c in reversed(ins):
                if id(c) not in ids:
                    stack.append((c, False))
    return nodes, ids[id(value)], values


def to_json(value):
    """The graph that ends in ``value`` as GradTrace's JSON text: {"output": ID, "nodes": [...]}."""
    nodes, out = _graph(value)
    lines = ",\n  ".join(json.dumps(n, ensure_ascii=False) for n in nodes)
    return '{"output": %d,\n "nodes": [\n  %s\n ]}\n' % (out, lines)


def write(value, path):
    """Saves ``to_json(value)`` to ``path`` (then ``gradtrace trace path``, ``gradtrace render path -o x.svg``)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(to_json(value))
    return path


class Player:
    """The HTML step player of a graph; Jupyter displays it inline through ``_repr_html_``."""

    def __init__(self, html):
        self.html = html

    def _repr_html_(self):
        # An iframe keeps the player's script and styles apart from the notebook's page.
        escaped = self.html.replace("&", "&amp;").replace('"', "&quot;")
        return '<iframe srcdoc="%s" style="width:100%%;height:520px;border:0" title="GradTrace player"></iframe>' % escaped

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html)
        return path


def show(value, gradtrace=None, args=()):
    """Runs ``gradtrace animate`` on the graph of ``value`` and returns a ``Player`` (the HTML player).

    ``gradtrace`` is the executable (default: $GRADTRACE, else ``gradtrace`` on the PATH); ``args`` are more
    options, such as ``["--collapse", "neuron"]``."""
    exe = gradtrace or os.environ.get("GRADTRACE") or shutil.which("gradtrace") or "gradtrace"
    with tempfile.TemporaryDirectory(prefix="gradtrace-") as d:
        graph = write(value, os.path.join(d, "graph.json"))
        html = os.path.join(d, "player.html")
        p = subprocess.run([exe, "animate", graph, "-o", html, *args], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("gradtrace animate failed: " + p.stderr.strip())
        with open(html, encoding="utf-8") as f:
            return Player(f.read())


def _add_lecture_ops():
    """micrograd on PyPI lacks the lecture's tanh and exp: add them (same maths, same op names)."""
    try:
        from micrograd.engine import Value
    except ImportError:
        return
    if not hasattr(Value, "tanh"):
        def tanh(self):
            x = self.data
            t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
            out = Value(t, (self,), "tanh")
            def _backward():
                self.grad += (1 - t ** 2) * out.grad
            out._backward = _backward
            return out
        Value.tanh = tanh
    if not hasattr(Value, "exp"):
        def exp(self):
            out = Value(math.exp(self.data), (self,), "exp")
            def _backward():
                self.grad += out.data * out.grad
            out._backward = _backward
            return out
        Value.exp = exp


_add_lecture_ops()
