"""The package in a real Jupyter kernel: a notebook that captures a micrograd model is executed by nbclient, and
its outputs must hold the picture (_repr_svg_) and the step player (player()); the executed notebook is rendered to
HTML by nbconvert and screenshotted in headless Chromium.

usage: python test_notebook.py GRADTRACE_BIN OUT_DIR
(run by scripts/test-notebook.sh in a venv with nbclient, nbconvert, ipykernel, micrograd and ./python)
Writes OUT_DIR/micrograd.ipynb (executed), OUT_DIR/micrograd.html and OUT_DIR/micrograd.png (the screenshot).
"""
import os
import re
import shutil
import subprocess
import sys

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

BIN = os.path.abspath(sys.argv[1])
OUT = os.path.abspath(sys.argv[2])
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


CAPTURE = '''\
import random
from micrograd.nn import Neuron
import gradtrace.micrograd as gm

random.seed(1337)
model = Neuron(2)                       # micrograd's neuron: relu(w·x + b)
loss = (model([2.0, 3.0]) - 1.0) ** 2
graph = gm.capture(loss, model=model)
graph'''

nb = nbformat.v4.new_notebook()
nb.cells = [
    nbformat.v4.new_markdown_cell("# A micrograd neuron, traced by GradTrace\n\n"
                                  "`gradtrace.micrograd.capture` records the graph with the model's parameter names; "
                                  "the notebook shows the final picture, then the step player."),
    nbformat.v4.new_code_cell(CAPTURE),
    nbformat.v4.new_markdown_cell("Every step of the backward pass (play, or drag the slider):"),
    nbformat.v4.new_code_cell("graph.player()"),
]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}

os.makedirs(OUT, exist_ok=True)
env_before = os.environ.get("GRADTRACE")
os.environ["GRADTRACE"] = BIN  # the kernel inherits it
client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": OUT}})
try:
    client.execute()
    executed = True
except Exception as e:  # a failing cell: report it
    print(f"FAIL the notebook did not run: {str(e)[-600:]}")
    failures.append("execute")
    executed = False
nbformat.write(nb, os.path.join(OUT, "micrograd.ipynb"))

if executed:
    picture = [o for o in nb.cells[1].outputs if o.get("output_type") == "execute_result"]
    svg = picture[0]["data"].get("image/svg+xml", "") if picture else ""
    check("<svg" in svg and "<text" in svg, f"the graph cell shows an SVG with real text ({len(svg)} characters)")
    check("w.0" in svg and "w.1" in svg, "the picture names the parameters by the model's attribute paths (w.0, w.1, b)")
    m = re.search(r'<svg[^>]* width="([0-9.]+)pt"', svg)
    check(m is not None and float(m.group(1)) <= 900, f"the picture is {m.group(1) if m else '?'} pt wide: it fits a notebook column")
    player = [o for o in nb.cells[3].outputs if o.get("output_type") in ("execute_result", "display_data")]
    page = player[0]["data"].get("text/html", "") if player else ""
    check(len(page) > 1000 and ("range" in page or "slider" in page), f"the player cell shows the HTML player ({len(page)} characters)")

    body, _ = HTMLExporter().from_notebook_node(nb)
    html_path = os.path.join(OUT, "micrograd.html")
    with open(html_path, "w", encoding="utf-8") as f:
        f.write(body)
    check("<svg" in body or "data:image/svg+xml" in body, "nbconvert's HTML holds the picture")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    check(chromium is not None, "Chromium is installed (scripts/test.sh installs it)")
    if chromium:
        shot = os.path.join(OUT, "micrograd.png")
        if os.path.exists(shot):
            os.remove(shot)
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1280,2400", "--virtual-time-budget=5000", f"--screenshot={shot}",
                        "file://" + html_path], capture_output=True, timeout=120)
        ok = os.path.isfile(shot) and os.path.getsize(shot) > 20000
        check(ok, f"Chromium screenshots the executed notebook ({shot})")

print(f"notebook: {'all checks passed' if not failures else f'{len(failures)} failed'}")
sys.exit(1 if failures else 0)
