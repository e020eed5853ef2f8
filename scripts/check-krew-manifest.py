#!/usr/bin/env python3
"""Checks a rendered krew manifest the way krew's validate-krew-manifest does,
and against the archive it names.

    scripts/check-krew-manifest.py MANIFEST [ARCHIVE]

krew's own validator (sigs.k8s.io/krew, cmd/validate-krew-manifest) is the
authority and e2e/suites/test_krew.sh runs it when a krew build is at hand;
this script is for the machines where it cannot be built (the module is not
served by every Go module proxy). It applies the same structural rules:
apiVersion and kind, the name (the file's, [\\w-]+, no Windows device name),
a one-line shortDescription, a semver version with a leading v, and for each
platform a uri, a 64-hex sha256, a bin, from/to in every files entry, and a
selector on os/arch only that matches a supported platform and no other
platform's. With ARCHIVE it also checks what the installation step checks:
the archive's sha256, that every `from` matches a file in it, that `bin` is
there after the file operations, and that a LICENSE file is installed.
Prints one line per problem; exit 1 if there is any.
"""

import fnmatch
import hashlib
import os
import re
import sys
import tarfile

import yaml

API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"
WINDOWS_FORBIDDEN = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
# krew's cmd/validate-krew-manifest: the platforms a selector must match.
PLATFORMS = [(o, a) for o in ("darwin", "linux", "windows") for a in ("386", "amd64", "arm", "arm64")] + [
    ("linux", "ppc64le"),
    ("linux", "s390x"),
]
SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
LICENSE_NAMES = {"license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying", "copying.txt"}


def matches(selector, os_, arch):
    labels = {"os": os_, "arch": arch}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        value, op, values = labels.get(expr.get("key")), expr.get("operator"), expr.get("values") or []
        if op == "In" and value not in values or op == "NotIn" and value in values:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def check_platform(i, p, problems):
    where = f"spec.platforms[{i}]"
    if not p.get("uri"):
        problems.append(f"{where}: `uri` has to be set")
    sha = p.get("sha256") or ""
    if not re.fullmatch(r"[a-f0-9]{64}", sha):
        problems.append(f"{where}: `sha256` {sha!r} is not 64 lower-case hex digits")
    if not p.get("bin"):
        problems.append(f"{where}: `bin` has to be set")
    files = p.get("files")
    if files is not None:
        if not files:
            problems.append(f"{where}: `files` has to be unspecified or non-empty")
        for op in files:
            if not op.get("from") or not op.get("to"):
                problems.append(f"{where}: every `files` entry needs `from` and `to`")
    sel = p.get("selector")
    if not sel or (not sel.get("matchLabels") and not sel.get("matchExpressions")):
        problems.append(f"{where}: a nil or empty selector is not supported")
        return
    keys = list((sel.get("matchLabels") or {}).keys()) + [e.get("key") for e in sel.get("matchExpressions") or []]
    for k in keys:
        if k not in ("os", "arch"):
            problems.append(f"{where}: selector key {k!r} not supported")
    if not any(matches(sel, o, a) for o, a in PLATFORMS):
        problems.append(f"{where}: selector matches no supported platform")


def check_archive(p, archive, problems):
    digest = hashlib.sha256(open(archive, "rb").read()).hexdigest()
    if digest != p.get("sha256"):
        problems.append(f"{archive}: sha256 {digest} but the manifest says {p.get('sha256')}")
    if os.path.basename(archive) != os.path.basename(p.get("uri", "")):
        problems.append(f"{archive}: the manifest's uri names {os.path.basename(p.get('uri', ''))!r}")
    with tarfile.open(archive) as t:
        names = [m.name[2:] if m.name.startswith("./") else m.name for m in t.getmembers()]
        names = [n for n in names if n and n != "."]
    installed = []
    for op in p.get("files") or [{"from": "*", "to": "."}]:
        hits = [n for n in names if fnmatch.fnmatch(n, op["from"]) or n.startswith(op["from"].rstrip("/") + "/")]
        if not hits:
            problems.append(f"{archive}: files.from {op['from']!r} matches nothing in the archive")
        for n in hits:
            rel = n[len(op["from"]) :].lstrip("/") if n.startswith(op["from"].rstrip("/") + "/") else os.path.basename(n)
            installed.append(os.path.normpath(os.path.join(op["to"], rel)))
    if os.path.normpath(p.get("bin", "")) not in installed:
        problems.append(f"{archive}: bin {p.get('bin')!r} is not installed by the file operations")
    if not any(os.path.basename(n).lower() in LICENSE_NAMES for n in installed):
        problems.append(f"{archive}: no LICENSE file is installed")


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    path = sys.argv[1]
    problems = []
    try:
        with open(path) as f:
            m = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        print(f"{path}: {e}")
        return 1
    if not isinstance(m, dict):
        print(f"{path}: not a YAML mapping")
        return 1
    stem, ext = os.path.splitext(os.path.basename(path))
    if ext != ".yaml":
        problems.append(f"expected the extension .yaml, not {ext!r}")
    if m.get("apiVersion") != API_VERSION:
        problems.append(f"apiVersion {m.get('apiVersion')!r}, not {API_VERSION}")
    if m.get("kind") != "Plugin":
        problems.append(f"kind {m.get('kind')!r}, not Plugin")
    if not re.fullmatch(r"[\w-]+", stem) or stem.upper() in WINDOWS_FORBIDDEN:
        problems.append(f"the plugin name {stem!r} is not allowed")
    name = (m.get("metadata") or {}).get("name")
    if name != stem:
        problems.append(f"plugin should be named {stem!r}, not {name!r}")
    spec = m.get("spec") or {}
    short = spec.get("shortDescription") or ""
    if not short:
        problems.append("should have a short description")
    if "\n" in short or "\r" in short:
        problems.append("should not have line breaks in short description")
    if not SEMVER.match(str(spec.get("version") or "")):
        problems.append(f"version {spec.get('version')!r} is not a semver with a leading v")
    platforms = spec.get("platforms") or []
    if not platforms:
        problems.append("should have a platform specified")
    for i, p in enumerate(platforms):
        check_platform(i, p, problems)
    for o, a in PLATFORMS:
        hit = [i for i, p in enumerate(platforms) if p.get("selector") and matches(p["selector"], o, a)]
        if len(hit) > 1:
            problems.append(f"spec.platforms {hit} have overlapping selectors that select {o}/{a}")
    if len(sys.argv) == 3:
        uri_base = os.path.basename(sys.argv[2])
        mine = [p for p in platforms if os.path.basename(p.get("uri", "")) == uri_base]
        if not mine:
            problems.append(f"no platform's uri names {uri_base}")
        for p in mine:
            check_archive(p, sys.argv[2], problems)
    for p in problems:
        print(f"{path}: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
