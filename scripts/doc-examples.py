#!/usr/bin/env python3
"""Runs the command-line and Python examples of README.md and docs/*.md, as written, and compares their output.

usage: scripts/doc-examples.py GRADTRACE_BIN PYTHON

In each file, in order, in a fresh folder holding links to samples/ and python/ (so examples read the repository's
files and write only there):
- a code block whose first line starts with `$ gradtrace` is a transcript: every `$ ` line is run by bash (with
  GRADTRACE_BIN's folder first on the PATH; standard error joined to standard output), and what it prints must be the
  lines that follow it, exactly;
- a ```python block is run by PYTHON (GRADTRACE set to GRADTRACE_BIN) and must exit 0, so later transcripts can read
  what it wrote.
The Swift blocks are compiled and run by the Swift tests (scripts/readme-snippets.sh). Prints one line per example
and `doc examples: N passed, M failed`.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.path.abspath(sys.argv[1])
PYTHON = sys.argv[2]


def blocks(text):
    """(info string, body lines, first line number) of every top-level fenced block."""
    out, fence, info, body, start = [], None, "", [], 0
    for n, line in enumerate(text.split("\n"), 1):
        m = re.match(r"^(`{3,}|~{3,})(.*)$", line)
        if fence is None:
            if m:
                fence, info, body, start = m.group(1), m.group(2).strip(), [], n
        elif m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2).strip():
            out.append((info, body, start))
            fence = None
        else:
            body.append(line)
    return out


def transcript(body):
    """[(command, expected output lines)] of a transcript block."""
    steps = []
    for line in body:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


passed = failed = 0
env = dict(os.environ, GRADTRACE=BIN, PATH=os.path.dirname(BIN) + os.pathsep + os.environ.get("PATH", ""), LC_ALL="C.UTF-8")
files = ["README.md"] + sorted("docs/" + f for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md"))
for rel in files:
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        found = blocks(f.read())
    with tempfile.TemporaryDirectory() as work:
        for name in ("samples", "python"):
            os.symlink(os.path.join(ROOT, name), os.path.join(work, name))
        for info, body, line in found:
            where = f"{rel}:{line}"
            if info == "python":
                p = subprocess.run([PYTHON, "-"], input="\n".join(body) + "\n", cwd=work, env=env,
                                   capture_output=True, text=True, timeout=600)
                ok = p.returncode == 0
                print(f"{'ok  ' if ok else 'FAIL'} {where}: python example" + ("" if ok else f" exits {p.returncode}: {p.stderr.strip()[-400:]}"))
                passed, failed = passed + ok, failed + (not ok)
            elif info == "" and body and body[0].startswith("$ gradtrace"):
                for cmd, want in transcript(body):
                    p = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, timeout=600)
                    got = p.stdout.rstrip("\n").split("\n") if p.stdout.strip() else []
                    while want and not want[-1].strip():
                        want = want[:-1]
                    ok = got == want
                    print(f"{'ok  ' if ok else 'FAIL'} {where}: $ {cmd}")
                    if not ok:
                        for w, g in zip(want + [""] * len(got), got + [""] * len(want)):
                            if w != g:
                                print(f"       want: {w!r}\n       got:  {g!r}")
                                break
                    passed, failed = passed + ok, failed + (not ok)
print(f"doc examples: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
