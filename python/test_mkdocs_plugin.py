"""The MkDocs plugin with a real mkdocs from PyPI: `mkdocs build` and `mkdocs serve` draw gradtrace fences exactly
as `gradtrace markdown` does.

usage: python test_mkdocs_plugin.py GRADTRACE_BIN   (run by scripts/test-docs.sh, in a venv with mkdocs and ./python)

A site of four pages (an index, a page in a subfolder served as guide/usage/index.html with width=, PNG, step=all,
src= and ref= blocks, a page without fences, a page at the docs root) is built with --strict; every <img> of the
built pages must resolve to a file of the site, each image must have the name and bytes that `gradtrace markdown`
gives the same page, the converted Markdown must be the command's byte for byte, a second build must draw nothing
and change no image, a broken block must stop the build with the page, line and column, and `mkdocs serve` must
serve the same page and image bytes.
"""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

BIN = os.path.abspath(sys.argv[1])
MKDOCS = os.path.join(os.path.dirname(sys.executable), "mkdocs")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


PAGES = {
    "index.md": "# Backprop\n\nThe product rule, drawn:\n\n```gradtrace\na = 2\nb = -3\nL = a * b\n```\n",
    "guide/usage.md": (
        "# Usage\n\n"
        "```gradtrace src=../programs/neuron.grad id=neuron width=90% alt=\"the neuron\"\n```\n\n"
        "The first step, as a PNG:\n\n"
        "```gradtrace ref=neuron step=1 format=png\n```\n\n"
        "Every step:\n\n"
        "```gradtrace step=all\nx = 2\ny = x * x\nz = y + x\n```\n\n"
        "A plain code block stays: \n\n```python\nprint('gradtrace')\n```\n"
    ),
    "about.md": "# About\n\nNo pictures here.\n",
    "guide/index.md": "# Guide\n\nSee [usage](usage.md).\n\n```gradtrace rankdir=TB title=\"a chain\"\nx = 1\ny = exp(x)\nz = y * y\n```\n",
}
NEURON = "x1 = 2\nx2 = 0\nw1 = -3\nw2 = 1\nb = 6.8813735870195432\nn = x1*w1 + x2*w2 + b\no = tanh(n)\n"
CONFIG = "site_name: gradtrace plugin test\nplugins:\n  - gradtrace\n"


def make_site(root):
    for rel, text in PAGES.items():
        p = os.path.join(root, "docs", rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
    os.makedirs(os.path.join(root, "docs", "programs"))
    with open(os.path.join(root, "docs", "programs", "neuron.grad"), "w") as f:
        f.write(NEURON)
    with open(os.path.join(root, "mkdocs.yml"), "w") as f:
        f.write(CONFIG)


def mkdocs(root, *args):
    env = dict(os.environ, GRADTRACE=BIN)
    return subprocess.run([MKDOCS, *args], cwd=root, env=env, capture_output=True, text=True)


def images_of(html_path, site):
    """Every <img src> of a built page, resolved to a file path in the site."""
    with open(html_path, encoding="utf-8") as f:
        html = f.read()
    out = []
    for src in re.findall(r'<img[^>]*?src="([^"]+)"', html):
        out.append((src, os.path.normpath(os.path.join(os.path.dirname(html_path), src))))
    return out


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def snapshot(folder):
    """name -> (bytes hash, mtime) of every file under folder."""
    out = {}
    for root, _, names in os.walk(folder):
        for n in names:
            p = os.path.join(root, n)
            out[os.path.relpath(p, folder)] = (digest(p), os.stat(p).st_mtime_ns)
    return out


with tempfile.TemporaryDirectory() as tmp:
    site_root = os.path.join(tmp, "site-src")
    make_site(site_root)
    r = mkdocs(site_root, "build", "--strict")
    check(r.returncode == 0, f"mkdocs build --strict succeeds {r.stderr.strip()[-300:] if r.returncode else ''}")
    site = os.path.join(site_root, "site")

    # The reference: the command itself on the same docs folder, images in the same relative folder.
    ref = os.path.join(tmp, "ref")
    cmd = [BIN, "markdown", "docs", "-o", ref, "--assets", os.path.join(ref, "assets", "gradtrace")]
    c = subprocess.run(cmd, cwd=site_root, capture_output=True, text=True)
    check(c.returncode == 0, "gradtrace markdown converts the same docs folder " + c.stderr.strip()[:200])

    cache_pages = os.path.join(site_root, ".cache", "gradtrace", "pages")
    for rel in PAGES:
        with open(os.path.join(ref, rel), "rb") as f:
            want = f.read()
        converted = os.path.join(cache_pages, rel)
        if "gradtrace" in PAGES[rel]:
            with open(converted, "rb") as f:
                got = f.read()
            check(got == want, f"{rel}: the plugin's Markdown is gradtrace markdown's, byte for byte")
        else:
            check(not os.path.exists(converted) and want == PAGES[rel].encode(), f"{rel}: left alone, as the command leaves it")

    pages_html = {"index.md": "index.html", "guide/usage.md": "guide/usage/index.html",
                  "guide/index.md": "guide/index.html", "about.md": "about/index.html"}
    expected_counts = {"index.md": 1, "guide/usage.md": 5, "guide/index.md": 1, "about.md": 0}
    first_images = {}
    for rel, html in pages_html.items():
        imgs = images_of(os.path.join(site, html), site)
        with open(os.path.join(ref, rel), encoding="utf-8") as f:
            ref_names = re.findall(r"gradtrace-[0-9a-f]{16}(?:-step-[0-9]+)?\.(?:svg|png)", f.read())
        check(len(imgs) == expected_counts[rel] == len(ref_names),
              f"{html}: {len(imgs)} images (want {expected_counts[rel]}, the command links {len(ref_names)})")
        for (src, path), name in zip(imgs, ref_names):
            exists = os.path.isfile(path)
            check(exists, f"{html}: <img src={src}> is a file of the site")
            if not exists:
                continue
            check(os.path.basename(path) == name, f"{html}: image key {os.path.basename(path)} is the command's ({name})")
            same = digest(path) == digest(os.path.join(ref, "assets", "gradtrace", name))
            check(same, f"{html}: {name} has the command's bytes")
            first_images[path] = digest(path)
    with open(os.path.join(site, "guide/usage/index.html"), encoding="utf-8") as f:
        usage = f.read()
    check('width="90%"' in usage and 'alt="the neuron"' in usage, "width= and alt= reach the built page")
    check("print(&#39;gradtrace&#39;)" in usage or "print('gradtrace')" in usage, "a python block with the word gradtrace stays code")
    svgs = [p for p in first_images if p.endswith(".svg")]
    check(all(b"<text" in open(p, "rb").read() for p in svgs) and svgs, f"{len(svgs)} SVGs with real <text>")
    check(any(p.endswith(".png") for p in first_images), "format=png gives a PNG")

    # Rebuild: nothing drawn again, no image in the cache rewritten, the site's images the same bytes.
    before = snapshot(os.path.join(site_root, ".cache"))
    r2 = mkdocs(site_root, "build", "--strict")
    after = snapshot(os.path.join(site_root, ".cache"))
    check(r2.returncode == 0 and before == after, "a second build rewrites no cached file (same bytes, same mtimes)")
    check(all(digest(p) == h for p, h in first_images.items()), "a second build gives the same image bytes")

    # Plugin options: format: png for blocks without format=.
    with open(os.path.join(site_root, "mkdocs.yml"), "w") as f:
        f.write("site_name: t\nplugins:\n  - gradtrace:\n      format: png\n      assets: img/diagrams\n")
    r3 = mkdocs(site_root, "build", "--strict")
    imgs = images_of(os.path.join(site, "index.html"), site)
    check(r3.returncode == 0 and len(imgs) == 1 and imgs[0][1].endswith(".png") and "/img/diagrams/" in imgs[0][1]
          and os.path.isfile(imgs[0][1]), f"format: png and assets: img/diagrams apply ({imgs})")
    with open(os.path.join(site_root, "mkdocs.yml"), "w") as f:
        f.write(CONFIG)

    # A warning of the command (width= shrinking the text below 9 px) reaches the log with the page and line;
    # --strict turns it into a failed build.
    with open(os.path.join(site_root, "docs", "about.md"), "a") as f:
        f.write("\n```gradtrace width=200\nx1 = 2\nw1 = -3\nb = 1\no = tanh(x1*w1 + b)\n```\n")
    r5 = mkdocs(site_root, "build")
    r6 = mkdocs(site_root, "build", "--strict")
    check(r5.returncode == 0 and "docs/about.md:5:" in r5.stderr and "warning" in r5.stderr and r6.returncode != 0,
          "a width= warning names docs/about.md:5 and fails --strict: " + repr([l for l in r5.stderr.splitlines() if "gradtrace" in l][:1]))
    with open(os.path.join(site_root, "docs", "about.md"), "w") as f:
        f.write(PAGES["about.md"])

    # A broken block: the build stops, naming the page, line and column.
    broken = os.path.join(tmp, "broken")
    make_site(broken)
    with open(os.path.join(broken, "docs", "guide", "bad.md"), "w") as f:
        f.write("# Bad\n\ntext\n\n```gradtrace\nx = 2\ny = x +\n```\n")
    r4 = mkdocs(broken, "build")
    check(r4.returncode != 0 and "docs/guide/bad.md:7:" in r4.stderr and "error" in r4.stderr,
          "a broken block stops the build at docs/guide/bad.md:7: " + repr(r4.stderr.strip().splitlines()[-1:] if r4.stderr else ""))
    check(not os.path.exists(os.path.join(broken, "site", "guide", "bad", "index.html")), "no page is written for it")

    # mkdocs serve: the same page and image bytes over HTTP.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, GRADTRACE=BIN)
    serve = subprocess.Popen([MKDOCS, "serve", "--no-livereload", "-a", f"127.0.0.1:{port}"], cwd=site_root, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        page = None
        for _ in range(120):
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/guide/usage/", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.25)
        check(page is not None, "mkdocs serve serves guide/usage/")
        if page is not None:
            srcs = re.findall(r'<img[^>]*?src="([^"]+)"', page)
            ok = len(srcs) == 5
            for src in srcs:
                url = urllib.parse.urljoin(f"http://127.0.0.1:{port}/guide/usage/", src)
                body = urllib.request.urlopen(url, timeout=5).read()
                name = os.path.basename(src)
                ok = ok and hashlib.sha256(body).hexdigest() == digest(os.path.join(ref, "assets", "gradtrace", name))
            check(ok, f"mkdocs serve: the page's {len(srcs)} images have the command's bytes")
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=10)
        except subprocess.TimeoutExpired:
            serve.kill()

print(f"mkdocs plugin: {'all checks passed' if not failures else f'{len(failures)} failed'}")
sys.exit(1 if failures else 0)
