#!/usr/bin/env python3
"""The baseline side of scripts/bench-vs-micrograd.sh: micrograd's backward and micrograd-style
draw_dot + Graphviz, timed in this process. Prints `key value` lines (seconds).
usage: bench_micrograd.py FRAME_WIDTH FRAME_HEIGHT BASELINE_FRAMES OUTDIR"""
import random, subprocess, sys, threading, time

from micrograd.engine import Value
from micrograd.nn import MLP
import graphviz

width, height, sample_frames, outdir = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


def best(n, f):
    b = float("inf")
    for _ in range(n):
        t = time.perf_counter(); f(); b = min(b, time.perf_counter() - t)
    return b


def demo_loss():
    random.seed(1337)
    model = MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    return sum((model(x) - y) ** 2 for x, y in zip(xs, ys))  # micrograd returns a Value for one output


loss = demo_loss()
print("mlp_backward", best(20, loss.backward))


def chain(n):
    x = Value(0.5); y = x
    for _ in range(n):
        y = y * 0.999999 + 0.000001
    return y


# Chains at Python's default recursion limit: micrograd's topological sort is recursive.
for n in (1_000, 10_000, 100_000, 1_000_000):
    y = chain(n)
    try:
        print(f"chain_{n}_default", best(1, y.backward))
    except RecursionError:
        print(f"chain_{n}_default", "RecursionError")
    del y

# With the limit raised (and a big thread stack so the interpreter survives the depth).
result = {}


def deep():
    sys.setrecursionlimit(10_000_000)
    for n in (1_000, 10_000, 100_000):
        y = chain(n)
        result[n] = best(1, y.backward)


threading.stack_size(1 << 30)
t = threading.Thread(target=deep); t.start(); t.join()
for n, v in result.items():
    print(f"chain_{n}_raised", v)


def trace_graph(root):
    nodes, edges = [], []
    seen = set()
    stack = [root]
    while stack:  # iterative, so the baseline is not penalised by recursion here
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v)); nodes.append(v)
        for c in v._prev:
            edges.append((c, v)); stack.append(c)
    return nodes, edges


def draw_dot(root, known):
    """micrograd's draw_dot (record nodes with data and grad, an op node per operation),
    with the gradient shown only for nodes whose gradient is known at this step."""
    dot = graphviz.Digraph(format="png", graph_attr={"rankdir": "LR", "dpi": "72"})
    nodes, edges = trace_graph(root)
    for n in nodes:
        uid = str(id(n))
        g = f"{n.grad:.4f}" if id(n) in known else "?"
        dot.node(name=uid, label="{ data %.4f | grad %s }" % (n.data, g), shape="record")
        if n._op:
            dot.node(name=uid + n._op, label=n._op)
            dot.edge(uid + n._op, uid)
    for a, b in edges:
        dot.edge(str(id(a)), str(id(b)) + b._op)
    return dot


# Frames: one draw_dot + dot -Tpng per backward step, scaled to GradTrace's frame size.
loss = demo_loss()
loss.backward()
order, seen = [], set()
stack = [(loss, False)]
while stack:
    v, done = stack.pop()
    if done:
        order.append(v); continue
    if id(v) in seen:
        continue
    seen.add(id(v)); stack.append((v, True))
    for c in v._prev:
        stack.append((c, False))
steps = [v for v in reversed(order) if v._prev]
print("baseline_steps", len(steps))
known = set()
times = []
for k in range(min(sample_frames, len(steps) + 1)):
    if k > 0:
        known.add(id(steps[k - 1]))
        for c in steps[k - 1]._prev:
            known.add(id(c))
    src = draw_dot(loss, known).source
    t = time.perf_counter()
    subprocess.run(["dot", "-Tpng", f"-Gsize={width / 72},{height / 72}!", "-Gratio=fill", "-Gdpi=72",
                    "-o", f"{outdir}/baseline-{k:03d}.png"], input=src.encode(), check=True)
    times.append(time.perf_counter() - t)
print("baseline_frame", sum(times) / len(times))

# Single render: the SVG of the whole demo graph.
src = draw_dot(loss, {id(v) for v in order}).source
svg = best(3, lambda: subprocess.run(["dot", "-Tsvg", "-o", f"{outdir}/baseline.svg"], input=src.encode(), check=True))
print("baseline_svg", svg)
