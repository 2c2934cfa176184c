"""The MkDocs plugin: ```gradtrace fences become pictures in `mkdocs build` and `mkdocs serve`.

    # mkdocs.yml
    plugins:
      - gradtrace            # options (all optional): format, jobs, force, assets, cache_dir

Each page that mentions gradtrace goes through `gradtrace markdown` (the executable from
gradtrace.executable(): $GRADTRACE, the wheel's, or the PATH), so the fence options, image names and
image bytes are exactly the command's; the plugin does not read the fences itself. The images are drawn
into a cache folder (default `.cache/gradtrace` beside mkdocs.yml; an image already there is not drawn
again, so a rebuild under `mkdocs serve` redraws only what changed) and published in the site under
`assets` (default `assets/gradtrace`). A broken block stops the build with the page, line and column.
"""

import logging
import os
import re
import subprocess

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File

from . import executable

# An image name of `gradtrace markdown`: gradtrace-<16 hex digits of the hash>[-step-N].<extension>.
_ASSET = r"gradtrace-[0-9a-f]{16}(?:-step-[0-9]+)?\.(?:svg|png|gif)"
_WARNING = re.compile(r"^<stdin>(:\d+:\d+: warning: .*)$")
log = logging.getLogger("mkdocs.plugins.gradtrace")


class GradTraceConfig(Config):
    """The plugin's options in mkdocs.yml."""

    format = config_options.Choice(("svg", "png"), default="svg")  # blocks without format=, as --format
    jobs = config_options.Type(int, default=0)                     # blocks drawn at once (0: one per core), as --jobs
    force = config_options.Type(bool, default=False)               # draw graphs above the node limit, as --force
    assets = config_options.Type(str, default="assets/gradtrace")  # where the images go in the site
    cache_dir = config_options.Type(str, default=".cache/gradtrace")  # relative to mkdocs.yml


class GradTracePlugin(BasePlugin[GradTraceConfig]):
    """Runs `gradtrace markdown` on every page that holds a gradtrace fence."""

    def on_config(self, config):
        base = os.path.dirname(os.path.abspath(config.config_file_path or "mkdocs.yml"))
        self._cache = os.path.normpath(os.path.join(base, self.config.cache_dir))
        self._base = base
        docs = os.path.abspath(config.docs_dir)
        if self._cache == docs or self._cache.startswith(docs + os.sep):
            raise PluginError(f"gradtrace: cache_dir {self.config.cache_dir!r} is inside docs_dir; "
                              "mkdocs serve would rebuild for ever: choose a folder outside it")
        assets = self.config.assets.strip("/")
        if not assets or assets.startswith("..") or os.path.isabs(self.config.assets):
            raise PluginError(f"gradtrace: assets {self.config.assets!r} must be a folder inside the site")
        self._assets = assets
        # The converted pages and their images mirror the docs folder, so each page's image links are the
        # same relative paths as from its source file.
        self._pages = os.path.join(self._cache, "pages")
        self._links = {}  # page src_uri -> [(link as written in the page, asset File)]
        return config

    def on_page_markdown(self, markdown, page, config, files):
        if "gradtrace" not in markdown:  # no fence can open without the word
            return markdown
        src_uri = page.file.src_uri
        out = os.path.join(self._pages, *src_uri.split("/"))
        assets_dir = os.path.join(self._pages, *self._assets.split("/"))
        source = page.file.abs_src_path
        cwd = os.path.dirname(source) if source else os.path.abspath(config.docs_dir)
        cmd = [executable(), "markdown", "-", "-o", out, "--assets", assets_dir,
               "--root", os.path.abspath(config.docs_dir), "--format", self.config.format,
               "--jobs", str(self.config.jobs)]
        if self.config.force:
            cmd.append("--force")
        try:
            done = subprocess.run(cmd, input=markdown.encode("utf-8"), cwd=cwd, capture_output=True)
        except OSError as e:
            raise PluginError(f"gradtrace: cannot run {cmd[0]}: {e}") from None
        if done.returncode != 0:
            shown = os.path.relpath(source, self._base) if source else "docs/" + src_uri
            message = done.stderr.decode("utf-8", "replace").replace("<stdin>", shown).rstrip()
            raise PluginError(message or f"gradtrace markdown failed on {shown} (exit {done.returncode})")
        shown = os.path.relpath(source, self._base) if source else "docs/" + src_uri
        # Warnings (such as a width= that makes text too small to read) reach the build's log; --strict fails on them.
        for line in done.stderr.decode("utf-8", "replace").splitlines():
            m = _WARNING.match(line)
            if m:
                log.warning("gradtrace: " + shown + m.group(1))
        with open(out, encoding="utf-8") as f:
            converted = f.read()

        # Publish the images the page links to, as files of the site (so mkdocs copies and serves them, and
        # rewrites Markdown image links for the page's URL).
        page_dir = os.path.dirname(out)
        prefix = os.path.relpath(assets_dir, page_dir).replace(os.sep, "/") + "/"
        if prefix == "./":
            prefix = ""
        links = []
        for name in sorted(set(re.findall(re.escape(prefix) + "(" + _ASSET + ")", converted))):
            uri = self._assets + "/" + name
            f = files.get_file_from_path(uri)
            if f is None:
                if not os.path.isfile(os.path.join(assets_dir, name)):
                    continue
                f = File(uri, src_dir=self._pages, dest_dir=config.site_dir,
                         use_directory_urls=config.use_directory_urls)
                files.append(f)
            links.append((prefix + name, f))
        self._links[src_uri] = links
        return converted

    def on_page_content(self, html, page, config, files):
        # Blocks with width= (and PNGs, sized in CSS pixels) are raw <img> tags, which mkdocs leaves as written:
        # point them at the image's URL from the page's own URL (foo.md is served as foo/index.html).
        for link, f in self._links.get(page.file.src_uri, []):
            html = html.replace(f'src="{link}"', f'src="{f.url_relative_to(page.file)}"')
        return html
