"""GradTrace from Python: graphs captured from micrograd, PyTorch and JAX, drawn by the gradtrace executable.

Standard library only at import; each bridge imports its framework when it is used::

    import gradtrace.micrograd as gm
    g = gm.capture(loss, model=model)   # a Graph
    g.grad()["layers.0.neurons.1.w.2"]  # GradTrace's gradient, by the model's own name
    g.save("mlp.svg")                   # the final picture (svg, png or pdf by extension)
    g                                   # in Jupyter: the picture inline (_repr_svg_)
    g.player()                          # in Jupyter: the step player, sized for a notebook cell
"""

import json
import math
import os
import shutil
import subprocess
import tempfile

__all__ = ["executable", "Graph", "Player", "GradTraceError"]


def executable():
    """The gradtrace executable this package runs: $GRADTRACE, else the one inside the wheel, else the PATH."""
    env = os.environ.get("GRADTRACE")
    if env:
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin", "gradtrace")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("gradtrace")
    if found:
        return found
    raise FileNotFoundError(
        "gradtrace executable not found: set $GRADTRACE, put gradtrace on the PATH, or pip install the gradtrace wheel")


class GradTraceError(RuntimeError):
    """gradtrace refused the graph or failed; the message is its own (what and where)."""


def number(x):
    """A float as graph JSON writes it: non-finite values as the strings "nan", "inf", "-inf"."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def tensor_json(shape, rows):
    """A value as graph JSON writes it: a number for shape [], else {"shape", "data"} (nested rows)."""
    if not shape:
        return number(rows)
    return {"shape": list(shape), "data": _map_nested(rows, number)}


def _map_nested(rows, f):
    if isinstance(rows, (list, tuple)):
        return [_map_nested(r, f) for r in rows]
    return f(rows)


def run(args, input_path=None):
    """Runs gradtrace with ``args``; returns its standard output (text), raises GradTraceError on failure."""
    p = subprocess.run([executable(), *args], capture_output=True, text=True)
    if p.returncode not in (0,):
        raise GradTraceError("gradtrace %s failed (exit %d): %s" % (args[0], p.returncode, p.stderr.strip()))
    return p.stdout


class Graph:
    """A captured graph: GradTrace's graph JSON (``doc``), and what gradtrace makes of it.

    Every method that needs the executable writes the JSON to a temporary file and runs gradtrace on it.
    """

    def __init__(self, doc):
        self.doc = doc

    # -- the JSON --------------------------------------------------------------------------------------
    def to_json(self):
        """The graph as GradTrace's JSON text (one node per line, deterministic)."""
        head = {k: v for k, v in self.doc.items() if k not in ("nodes", "reference")}
        parts = ["{" + ", ".join("%s: %s" % (json.dumps(k), json.dumps(v, ensure_ascii=False)) for k, v in head.items())]
        nodes = ",\n  ".join(json.dumps(n, ensure_ascii=False, allow_nan=False) for n in self.doc["nodes"])
        text = parts[0] + (",\n" if head else "\n") + ' "nodes": [\n  ' + nodes + "\n ]"
        if "reference" in self.doc:
            text += ',\n "reference": ' + json.dumps(self.doc["reference"], ensure_ascii=False, allow_nan=False)
        return text + "}\n"

    def write(self, path):
        """Saves the JSON to ``path`` (then ``gradtrace trace path``, ``gradtrace render path -o x.svg``)."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())
        return path

    def _with_file(self, f):
        with tempfile.TemporaryDirectory(prefix="gradtrace-") as d:
            return f(self.write(os.path.join(d, "graph.json")), d)

    # -- what gradtrace computes -----------------------------------------------------------------------
    def grad(self):
        """GradTrace's gradient of the output with respect to every input: {name: number or nested lists}."""
        out = self._with_file(lambda path, d: run(["grad", path, "--json"]))
        inputs = json.loads(out)["inputs"]
        return {name: (v["grad"]["data"] if isinstance(v["grad"], dict) else v["grad"]) for name, v in inputs.items()}

    def check(self):
        """``gradtrace check`` on the graph: (passed, report text). With reference gradients it compares them too."""
        def go(path, d):
            p = subprocess.run([executable(), "check", path], capture_output=True, text=True)
            if p.returncode not in (0, 1):
                raise GradTraceError("gradtrace check failed (exit %d): %s" % (p.returncode, p.stderr.strip()))
            return p.returncode == 0, p.stdout
        return self._with_file(go)

    def trace(self):
        """``gradtrace trace --json``: the backward pass step by step, as a dict."""
        return json.loads(self._with_file(lambda path, d: run(["trace", path, "--json"])))

    def save(self, path, *options):
        """Draws the final picture to ``path`` (SVG, PNG or PDF by its extension); ``options`` are more
        ``gradtrace render`` options, such as ``"--collapse", "neuron"``."""
        target = os.path.abspath(path)
        self._with_file(lambda graph, d: run(["render", graph, "-o", target, *options]))
        return path

    def svg(self, *options):
        """The final picture as SVG text."""
        def go(graph, d):
            out = os.path.join(d, "picture.svg")
            run(["render", graph, "-o", out, *options])
            with open(out, encoding="utf-8") as f:
                return f.read()
        return self._with_file(go)

    def _repr_svg_(self):
        """Jupyter shows a Graph as its final picture."""
        return self.svg()

    def player(self, *options, height=520):
        """The step player (``gradtrace animate -o X.html``), shown by Jupyter in a frame ``height`` px tall."""
        def go(graph, d):
            out = os.path.join(d, "player.html")
            run(["animate", graph, "-o", out, *options])
            with open(out, encoding="utf-8") as f:
                return f.read()
        return Player(self._with_file(go), height=height)


class Player:
    """The HTML step player of a graph; Jupyter displays it inline through ``_repr_html_``.

    The player lays itself out to the frame it is given (it fits the picture to the frame's width and
    height), so the frame is a notebook cell's width and ``height`` pixels tall."""

    def __init__(self, html, height=520):
        self.html = html
        self.height = height

    def _repr_html_(self):
        # An iframe keeps the player's script and styles apart from the notebook's page.
        escaped = self.html.replace("&", "&amp;").replace('"', "&quot;")
        return ('<iframe srcdoc="%s" style="width:100%%;height:%dpx;border:0" title="GradTrace player"></iframe>'
                % (escaped, self.height))

    def save(self, path):
        """Saves the player as a standalone HTML page."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html)
        return path
