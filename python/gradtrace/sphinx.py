"""The Sphinx extension: a ``.. gradtrace::`` directive draws a program.

    # conf.py
    extensions = ["gradtrace.sphinx"]
    gradtrace_format = "svg"    # optional: blocks without format= (svg or png), as --format

    .. gradtrace:: step=2 width=480 alt="the second step"

       x = 2
       y = x * x

The directive's argument is a fence's info string after the word gradtrace (the same options: step=, format=,
animate, alt=, title=, at=, src=, width=, …) and its content is the program. Each directive becomes one fence of a
Markdown text that `gradtrace markdown` converts (the executable from gradtrace.executable()), so the options,
image names and image bytes are exactly the command's; the images it links become Sphinx image nodes (Sphinx
copies them into the built site). A broken block is reported at the directive's line in the .rst file.
"""

import html
import os
import re
import subprocess

from docutils import nodes
from docutils.parsers.rst import Directive, directives

from . import executable

_ASSET = r"gradtrace-[0-9a-f]{16}(?:-step-[0-9]+)?\.(?:svg|png|gif)"
# The ways `gradtrace markdown` links an image: Markdown, or an <img> tag (a size given, or a step=all strip).
_MARKDOWN_IMAGE = r"!\[((?:\\.|[^\]\\])*)\]\((" + _ASSET + r")\)"
_IMG_TAG = r"<img\b([^>]*)>"
_ATTRIBUTE = re.compile(r'([a-zA-Z-]+)="([^"]*)"')
_DIAGNOSTIC = re.compile(r"^<stdin>:(\d+):(\d+): (.*)$")


class GradTraceDirective(Directive):
    """``.. gradtrace:: [options]`` with the program as content (or ``src=FILE`` and no content)."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True

    def run(self):
        env = self.state.document.settings.env
        source, _ = self.state_machine.get_source_and_line(self.lineno)
        options = self.arguments[0] if self.arguments else ""
        body = list(self.content)
        ticks = 3
        for line in body:
            run = len(line) - len(line.lstrip("`"))
            ticks = max(ticks, run + 1)
        fence = "`" * ticks
        text = f"{fence}gradtrace {options}\n" + "".join(line + "\n" for line in body) + f"{fence}\n"

        cache = os.path.join(env.app.doctreedir, "gradtrace")
        out = os.path.join(cache, env.docname + ".md")
        cmd = [executable(), "markdown", "-", "-o", out, "--assets", cache, "--link-style", "docc",
               "--root", env.srcdir, "--format", env.config.gradtrace_format]
        doc_dir = os.path.dirname(source) if source and os.path.isfile(source) else env.srcdir
        try:
            done = subprocess.run(cmd, input=text.encode("utf-8"), cwd=doc_dir, capture_output=True)
        except OSError as e:
            return [self.state_machine.reporter.error(f"gradtrace: cannot run {cmd[0]}: {e}", line=self.lineno)]
        if done.returncode != 0:
            return [self.state_machine.reporter.error(m, line=l) for l, m in self._diagnostics(done.stderr, "error")]
        with open(out, encoding="utf-8") as f:
            converted = f.read()

        # Warnings (such as a width= that makes text too small to read) reach the build's log at their line.
        result = [self.state_machine.reporter.warning(m, line=l) for l, m in self._diagnostics(done.stderr, "warning")]
        for m in re.finditer(_MARKDOWN_IMAGE + "|" + _IMG_TAG, converted):
            if m.group(2):
                name, alt, width, height = m.group(2), re.sub(r"\\(.)", r"\1", m.group(1)), None, None
            else:
                attrs = {k: html.unescape(v) for k, v in _ATTRIBUTE.findall(m.group(3))}
                name, alt, width, height = attrs.get("src", ""), attrs.get("alt", ""), attrs.get("width"), attrs.get("height")
                if not re.fullmatch(_ASSET, name):
                    continue
            path = os.path.join(cache, name)
            uri = "/" + os.path.relpath(path, env.srcdir).replace(os.sep, "/")
            image = nodes.image(uri=uri, alt=alt)
            if width:
                image["width"] = width if width.endswith("%") else width + "px"
            if height and not (width or "").endswith("%"):
                image["height"] = height + "px"
            env.note_dependency(path)
            result.append(image)
        if not any(isinstance(n, nodes.image) for n in result):
            return [self.state_machine.reporter.error("gradtrace: the block gave no image", line=self.lineno)]
        return result

    def _diagnostics(self, stderr, kind):
        """gradtrace's messages of a kind (error, warning), at the .rst lines they point to: fence line 1 is the
        directive, the next its content."""
        first_content = self.content_offset + 1  # 1-based line of the content's first line
        out = []
        for line in stderr.decode("utf-8", "replace").splitlines():
            m = _DIAGNOSTIC.match(line)
            if m and not m.group(3).startswith(kind + ": "):
                continue
            if m:
                k = int(m.group(1))
                where = self.lineno if k == 1 else first_content + k - 2
                message = m.group(3)[len(kind) + 2:]
                out.append((where, f"gradtrace: {message}" + (f" (column {m.group(2)} of the program line)" if k > 1 else "")))
            elif kind == "error" and line.startswith("gradtrace:") and not out:
                out.append((self.lineno, line))
        if kind == "error" and not out:
            out.append((self.lineno, "gradtrace markdown failed: " + stderr.decode("utf-8", "replace").strip()[:300]))
        return out


def setup(app):
    """Registers the directive and its option (gradtrace_format)."""
    app.add_config_value("gradtrace_format", "svg", "env")
    app.add_directive("gradtrace", GradTraceDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
