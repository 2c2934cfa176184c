"""micrograd graphs into GradTrace: ``capture(loss, model=model)`` → a ``gradtrace.Graph``.

The walk reads only micrograd's public attributes: ``data``, ``_prev``, ``_op`` and, when present, ``label``.
micrograd's op strings are passed through as they are ('+', '*', '**2', 'ReLU', 'tanh', 'exp', '' for a leaf).
Because ``_prev`` is a set, inputs are put in a deterministic order: for '*' and '+' a constant leaf (such as the
-1 of micrograd's ``-b = b * -1``, or the -1.0 of ``x - 1.0 = x + -1.0``) comes second; otherwise children are ordered by their structure, so the same
graph always gives the same JSON. A node that uses one child twice (``a + a``: ``_prev`` holds it once) lists
it twice.

With ``model`` (an ``MLP``, ``Layer`` or ``Neuron``, or any object holding them), parameters are named by
their attribute path, as PyTorch's ``named_parameters()`` names them (``layers.0.neurons.1.w.2``,
``layers.2.neurons.0.b``), and every output of a neuron takes the neuron's path (``layers.0.neurons.1``),
so ``--collapse neuron``, ``--clusters`` and ``grad`` read like the model. Leaves that are not parameters
(the data micrograd wraps in ``Value``) are constants, unless they carry a ``label``.

micrograd from PyPI (0.1.0) has no ``tanh`` or ``exp``; importing this module adds the lecture's versions
(``_op`` 'tanh' and 'exp') to ``micrograd.engine.Value`` when they are missing.
"""

import math

from . import Graph, number

__all__ = ["capture", "walk", "named_parameters"]


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
        # A number micrograd wrapped (the -1 of -b = b * -1, the -1.0 of x - 1.0 = x + -1.0) comes second, as written.
        unnamed_constant = _is_leaf(c) and not (getattr(c, "label", "") or "")
        return (1 if (op in ("*", "+") and unnamed_constant) else 0, sig[id(c)])
    return sorted(kids, key=key)


def walk(value):
    """The micrograd Values of the graph ending in ``value``, inputs first, and each one's ordered inputs."""
    sig = _signatures(value)
    seen = {}
    order = []
    stack = [(value, False)]
    while stack:
        v, done = stack.pop()
        if id(v) in seen:
            continue
        ins = _ordered_inputs(v, sig)
        if done or not ins:
            seen[id(v)] = len(order)
            order.append((v, ins))
        else:
            stack.append((v, True))
            for c in reversed(ins):
                if id(c) not in seen:
                    stack.append((c, False))
    return order


def _is_value(x):
    return hasattr(x, "data") and hasattr(x, "_prev") and hasattr(x, "_op")


def named_parameters(model, prefix=""):
    """(path, Value) for every parameter of ``model`` by attribute path, in attribute order, as PyTorch names them,
    and (path, module) for every module (an object with ``parameters()``) below it."""
    params, modules = [], []
    stack = [(prefix, model)]
    seen = set()
    while stack:
        path, obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if _is_value(obj):
            params.append((path, obj))
            continue
        if isinstance(obj, (list, tuple)):
            items = [("%s.%d" % (path, i) if path else str(i), x) for i, x in enumerate(obj)]
        elif hasattr(obj, "__dict__"):
            if hasattr(obj, "parameters") and path:
                modules.append((path, obj))
            items = [("%s.%s" % (path, k) if path else k, x) for k, x in vars(obj).items() if not k.startswith("_")]
        else:
            continue
        for item in reversed(items):
            if _is_value(item[1]) or isinstance(item[1], (list, tuple)) or hasattr(item[1], "__dict__"):
                stack.append(item)
    return params, modules


def _neuron_outputs(order, modules):
    """The output node of every call of every neuron module (an object with ``w`` and ``b``): micrograd's
    ``Neuron.__call__`` sums ``b + w0*x0 + w1*x1 + …`` and may apply one activation. Returns {id(Value): path}."""
    consumers = {}
    for v, ins in order:
        for c in ins:
            consumers.setdefault(id(c), []).append(v)
    names = {}
    for path, m in modules:
        w, b = getattr(m, "w", None), getattr(m, "b", None)
        if not isinstance(w, (list, tuple)) or not _is_value(b):
            continue
        ws = {id(x) for x in w}
        # Each call starts a chain at b: s = s + (wi * xi), one step per weight.
        for start in consumers.get(id(b), []):
            s = start
            while True:
                step = None
                for c in consumers.get(id(s), []):
                    if (getattr(c, "_op", "") == "+" and any(getattr(p, "_op", "") == "*" and
                            any(id(q) in ws for q in _children(p)) for p in _children(c) if p is not s)):
                        step = c
                        break
                if step is None:
                    break
                s = step
            after = consumers.get(id(s), [])
            if len(after) == 1 and getattr(after[0], "_op", "") in ("ReLU", "tanh", "sigmoid") and len(_children(after[0])) == 1:
                s = after[0]
            names[id(s)] = path
    return names


def capture(value, model=None, name="loss"):
    """The graph that ends in ``value`` (after or before ``value.backward()``) as a ``gradtrace.Graph``.

    With ``model``, parameters are named by attribute path and neurons' outputs by the neuron's path;
    ``name`` names the output node. When ``backward()`` has run, micrograd's gradients of the parameters go
    into the graph's reference gradients, so ``Graph.check()`` compares them with GradTrace's."""
    order = walk(value)
    ids = {id(v): k for k, (v, _) in enumerate(order)}
    param_names, modules = ({}, [])
    if model is not None:
        params, modules = named_parameters(model)
        param_names = {id(v): path for path, v in params}
    outputs = _neuron_outputs(order, modules) if modules else {}
    nodes = []
    reference = {}
    for k, (v, ins) in enumerate(order):
        op = getattr(v, "_op", "") or ""
        label = getattr(v, "label", "") or None
        node = {"id": k, "name": None, "op": op, "inputs": [ids[id(c)] for c in ins], "value": number(v.data)}
        if not ins:
            if id(v) in param_names:
                node["name"] = param_names[id(v)]
                node["op"] = "input"
                reference[node["name"]] = number(getattr(v, "grad", 0.0))
            elif label:
                node["name"] = label
            elif model is not None:
                node["op"] = "const"
        else:
            node["name"] = outputs.get(id(v), label)
        nodes.append(node)
    if nodes[-1]["name"] is None:
        nodes[-1]["name"] = name
    doc = {"format": "gradtrace-graph/1", "output": len(nodes) - 1, "nodes": nodes}
    if model is not None and any(g != 0 for g in reference.values()):
        doc["source"] = {"framework": "micrograd"}
        doc["reference"] = {"grads": reference, "tolerance": 1e-9}
    return Graph(doc)


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
