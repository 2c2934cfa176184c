"""The Sphinx directive with a real sphinx-build from PyPI: ``.. gradtrace::`` draws what `gradtrace markdown` draws.

usage: python test_sphinx_ext.py GRADTRACE_BIN   (run by scripts/test-docs.sh, in a venv with sphinx and ./python)

Builds an HTML project (a page with a plain block, width= and alt=, step=all, format=png, src=, and a page in a
subfolder) with -W (warnings are errors); every <img> of the built pages must be a file of the site with the bytes
of the image `gradtrace markdown` draws for the same fence; a broken block must fail the build at its .rst line.
"""
import hashlib
import html
import os
import re
import subprocess
import sys
import tempfile

BIN = os.path.abspath(sys.argv[1])
SPHINX = os.path.join(os.path.dirname(sys.executable), "sphinx-build")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


NEURON = "x1 = 2\nx2 = 0\nw1 = -3\nw2 = 1\nb = 6.8813735870195432\nn = x1*w1 + x2*w2 + b\no = tanh(n)\n"
# (options, program) per directive of index.rst, in order; the reference draws the same fences.
BLOCKS = [
    ("", "a = 2\nb = -3\nL = a * b\n"),
    ('width=90% alt="the \\"neuron\\" [final]"', NEURON),
    ("step=all", "x = 2\ny = x * x\n"),
    ("format=png step=1", "x = 2\nw = 3\nu = w * x\nL = (u^2 - 10)^2\n"),
    ("src=programs/neuron.grad title=\"from a file\"", ""),
]


def rst_block(options, program):
    body = "".join("   " + l + "\n" if l else "\n" for l in program.splitlines())
    return f".. gradtrace:: {options}\n\n{body}\n" if program else f".. gradtrace:: {options}\n\n"


def md_block(options, program):
    return f"```gradtrace {options}\n{program}```\n\n"


def digest(data):
    return hashlib.sha256(data).hexdigest()


def build(root, *extra):
    return subprocess.run([SPHINX, "-W", "-q", "-b", "html", *extra, os.path.join(root, "src"), os.path.join(root, "out")],
                          env=dict(os.environ, GRADTRACE=BIN), capture_output=True, text=True)


with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "src")
    os.makedirs(os.path.join(src, "programs"))
    os.makedirs(os.path.join(src, "sub"))
    with open(os.path.join(src, "conf.py"), "w") as f:
        f.write('project = "t"\nextensions = ["gradtrace.sphinx"]\nhtml_theme = "alabaster"\n')
    with open(os.path.join(src, "programs", "neuron.grad"), "w") as f:
        f.write(NEURON)
    with open(os.path.join(src, "index.rst"), "w") as f:
        f.write("Backprop\n========\n\n.. toctree::\n\n   sub/page\n\n" + "".join(rst_block(o, p) for o, p in BLOCKS))
    with open(os.path.join(src, "sub", "page.rst"), "w") as f:
        f.write("Sub\n===\n\n" + rst_block("rankdir=TB", "x = 1\ny = exp(x)\n"))
    r = build(tmp)
    check(r.returncode == 0, "sphinx-build -W succeeds " + r.stderr.strip()[-300:])

    # The reference: the same fences through the command.
    ref = os.path.join(tmp, "ref")
    os.makedirs(ref)
    with open(os.path.join(src, "ref.md"), "w") as f:
        f.write("".join(md_block(o, p) for o, p in BLOCKS))
    c = subprocess.run([BIN, "markdown", os.path.join(src, "ref.md"), "-o", os.path.join(ref, "ref.md")], capture_output=True, text=True)
    check(c.returncode == 0, "gradtrace markdown draws the same fences " + c.stderr[:200])
    with open(os.path.join(ref, "ref.md"), encoding="utf-8") as f:
        ref_md = f.read()
    ref_names = re.findall(r"gradtrace-[0-9a-f]{16}(?:-step-[0-9]+)?\.(?:svg|png)", ref_md)

    out = os.path.join(tmp, "out")
    with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
        page = f.read()
    imgs = re.findall(r"<img[^>]*>", page)
    check(len(imgs) == len(ref_names) == 6, f"index.html has {len(imgs)} images (the command links {len(ref_names)}, want 6)")
    for tag, name in zip(imgs, ref_names):
        src_attr = re.search(r'src="([^"]+)"', tag).group(1)
        path = os.path.normpath(os.path.join(out, src_attr))
        if not os.path.isfile(path):
            check(False, f"<img src={src_attr}> is a file of the site")
            continue
        with open(path, "rb") as f, open(os.path.join(ref, name), "rb") as g:
            check(digest(f.read()) == digest(g.read()), f"{src_attr}: the bytes of the command's {name}")
    neuron = [t for t in imgs if "neuron" in t]
    check(len(neuron) == 1 and 'alt="the &quot;neuron&quot; [final]"' in neuron[0] and "90%" in neuron[0],
          f"alt= and width= reach the page: {neuron[:1]}")
    check(any(t for t in imgs if ".png" in t), "format=png gives a PNG")
    with open(os.path.join(out, "sub", "page.html"), encoding="utf-8") as f:
        sub = re.findall(r'<img[^>]*src="([^"]+)"', f.read())
    check(len(sub) == 1 and os.path.isfile(os.path.normpath(os.path.join(out, "sub", sub[0]))), f"sub/page.html links its image: {sub}")

    # Rebuild from scratch: the same bytes.
    before = {n: digest(open(os.path.join(out, "_images", n), "rb").read()) for n in os.listdir(os.path.join(out, "_images"))}
    r2 = build(tmp, "-E")
    after = {n: digest(open(os.path.join(out, "_images", n), "rb").read()) for n in os.listdir(os.path.join(out, "_images"))}
    check(r2.returncode == 0 and before == after, "a fresh rebuild (-E) gives the same image bytes")

    # A warning of the command (width= shrinking the text below 9 px): a Sphinx warning at the directive's line.
    with open(os.path.join(src, "sub", "page.rst"), "a") as f:
        f.write("\n.. gradtrace:: width=200\n\n   x1 = 2\n   w1 = -3\n   o = tanh(x1*w1 + 1)\n")
    r4 = subprocess.run([SPHINX, "-q", "-b", "html", src, os.path.join(tmp, "out")], env=dict(os.environ, GRADTRACE=BIN),
                        capture_output=True, text=True)
    check(r4.returncode == 0 and "sub/page.rst:10" in r4.stderr and "WARNING" in r4.stderr and "9 px" in r4.stderr,
          "a width= warning is a Sphinx warning at sub/page.rst:10 (the directive): " + repr(r4.stderr.strip().splitlines()[-1:]))
    with open(os.path.join(src, "sub", "page.rst"), "w") as f:
        f.write("Sub\n===\n\n" + rst_block("rankdir=TB", "x = 1\ny = exp(x)\n"))

    # A broken block: the build fails at the directive's line, naming the problem.
    with open(os.path.join(src, "sub", "page.rst"), "a") as f:
        f.write("\ntext\n\n.. gradtrace::\n\n   x = 2\n   y = x +\n")
    r3 = build(tmp)
    lines = (r3.stderr + r3.stdout).strip().splitlines()
    check(r3.returncode != 0 and any("sub/page.rst:15" in l and "expected an operand" in l for l in lines),
          f"a broken block fails the build at sub/page.rst:15 (the line of y = x +): {lines[-2:]}")

print(f"sphinx directive: {'all checks passed' if not failures else f'{len(failures)} failed'}")
sys.exit(1 if failures else 0)
