#!/usr/bin/env python3
"""Writes a wheel from a staged folder, for scripts/build-wheel.sh.

usage: wheel.py PYPROJECT STAGE SCRIPTS_DIR OUT_DIR PLATFORM_TAG

STAGE holds what goes into site-packages (the gradtrace package with its executable, libraries, plugin and
fonts, and the old gradtrace_micrograd module); SCRIPTS_DIR holds what pip installs into bin/. The metadata
(name, version, summary, licence, Python requirement, entry points, long description) comes from the package's
pyproject.toml, so the wheel and `pip install ./python` describe the same package. The zip is deterministic:
entries sorted, one fixed date (SOURCE_DATE_EPOCH when set), file modes kept (pip keeps the executable bit).
Prints the wheel's path.
"""
import base64
import hashlib
import os
import sys
import time
import tomllib
import zipfile


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def metadata(project, readme_text):
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}"]
    if "description" in project:
        lines.append(f"Summary: {project['description']}")
    lic = project.get("license", {})
    if isinstance(lic, dict) and "text" in lic:
        lines.append(f"License: {lic['text']}")
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    for dep in project.get("dependencies", []):
        lines.append(f"Requires-Dist: {dep}")
    text = "\n".join(lines) + "\n"
    if readme_text is not None:
        text += "Description-Content-Type: text/markdown\n\n" + readme_text
    return text


def entry_points(project):
    groups = {}
    if project.get("scripts"):
        groups["console_scripts"] = project["scripts"]
    for group, table in sorted(project.get("entry-points", {}).items()):
        if table:
            groups[group] = table
    out = []
    for group, table in groups.items():
        out.append(f"[{group}]")
        out += [f"{k} = {v}" for k, v in sorted(table.items())]
        out.append("")
    return "\n".join(out)


def main():
    pyproject, stage, scripts, out_dir, platform = sys.argv[1:6]
    with open(pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    name, version = project["name"], project["version"]
    readme = project.get("readme")
    readme_text = None
    if isinstance(readme, str):
        with open(os.path.join(os.path.dirname(pyproject), readme), encoding="utf-8") as f:
            readme_text = f.read()
    tag = f"py3-none-{platform}"
    dist_info = f"{name}-{version}.dist-info"
    data_scripts = f"{name}-{version}.data/scripts"

    files = []  # (archive name, path on disk)
    for root, dirs, names in os.walk(stage):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for n in sorted(names):
            p = os.path.join(root, n)
            files.append((os.path.relpath(p, stage).replace(os.sep, "/"), p))
    for n in sorted(os.listdir(scripts)):
        files.append((f"{data_scripts}/{n}", os.path.join(scripts, n)))
    files.sort()

    generated = {
        f"{dist_info}/METADATA": metadata(project, readme_text),
        f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: gradtrace scripts/wheel.py\nRoot-Is-Purelib: false\nTag: {tag}\n",
        f"{dist_info}/entry_points.txt": entry_points(project),
        f"{dist_info}/top_level.txt": "gradtrace\ngradtrace_micrograd\n",
    }
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    date = time.gmtime(max(epoch, 315532800))[:6]
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}-{version}-{tag}.whl")
    record = []
    with zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        def add(arc, data, mode):
            info = zipfile.ZipInfo(arc, date)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
            record.append(f"{arc},{record_hash(data)},{len(data)}")
        for arc, p in files:
            with open(p, "rb") as f:
                data = f.read()
            add(arc, data, 0o755 if os.access(p, os.X_OK) else 0o644)
        for arc, text in generated.items():
            add(arc, text.encode("utf-8"), 0o644)
        record.append(f"{dist_info}/RECORD,,")
        add_record = "\n".join(record) + "\n"
        info = zipfile.ZipInfo(f"{dist_info}/RECORD", date)
        info.external_attr = (0o100000 | 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, add_record)
    os.replace(path + ".tmp", path)
    print(path)


if __name__ == "__main__":
    main()
