#!/usr/bin/env python3
"""Man pages from docs/man/*.md: a small, fixed Markdown subset to roff.

Usage:
  man.py build [--version V] [--out DIR] PAGE.md...   write DIR/NAME.SECTION for each page
  man.py check PAGE.md...                           the structure only (no output)
  man.py flags PAGE.md                              the long flags the page's OPTIONS list
  man.py help-flags < HELP                          the long flags a --help text lists
  man.py help-commands < HELP                       the commands a --help text lists

A page (see docs/man/README.md) is:

  # NAME(SECTION)
  <!-- commands: SUBCOMMAND... -->      optional: whose --help OPTIONS mirrors
  ## NAME / SYNOPSIS / DESCRIPTION / OPTIONS / EXIT STATUS / EXAMPLES / SEE ALSO
  (in that order; ENVIRONMENT or FILES may come before SEE ALSO)

with paragraphs, "- " bullets (in OPTIONS and EXIT STATUS a bullet that
starts with `term` is a tagged item), ``` fences, `code`, **bold**, *italic*
and [links](x.md). <!-- include: FILE --> pulls in another file of the
directory (the shared connection flags). Anything else (tables, HTML,
deeper lists) is refused, so a page cannot render differently than it reads.
Only the standard library; the output depends on the input alone.
"""
import os
import re
import sys

REQUIRED = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]
OPTIONAL = {"ENVIRONMENT", "FILES"}
TAGGED = {"OPTIONS", "EXIT STATUS", "ENVIRONMENT", "FILES"}
LONG_FLAG = re.compile(r"(?<![\w-])--([a-z0-9][a-z0-9-]*)")


class PageError(Exception):
    pass


def read_page(path, seen=None):
    """The page's lines with includes expanded and comments kept aside."""
    seen = seen or set()
    real = os.path.realpath(path)
    if real in seen:
        raise PageError(f"{path}: include loop")
    seen = seen | {real}
    out = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for number, line in enumerate(lines, 1):
        m = re.fullmatch(r"\s*<!--\s*include:\s*(\S+)\s*-->\s*", line)
        if m:
            out.extend(read_page(os.path.join(os.path.dirname(path), m.group(1)), seen))
            continue
        out.append((path, number, line))
    return out


def directives(path):
    """HTML-comment directives of a page: {'commands': [...], 'fixture': ...}."""
    found = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.fullmatch(r"\s*<!--\s*(commands|fixture):(.*?)-->\s*", line)
            if m:
                found[m.group(1)] = m.group(2).split()
    return found


def parse(path):
    """[(section, [blocks])] where a block is ('p', text) | ('li', text)
    | ('item', term, text) | ('code', info, [lines]) | ('sub', text)."""
    lines = read_page(path)
    title = None
    sections = []
    current = None
    i = 0
    para = []

    def flush():
        if para:
            current[1].append(("p", " ".join(s.strip() for s in para)))
            para.clear()

    while i < len(lines):
        where, number, line = lines[i]
        loc = f"{where}:{number}"
        if re.fullmatch(r"\s*<!--.*-->\s*", line):
            i += 1
            continue
        if title is None:
            if not line.strip():
                i += 1
                continue
            m = re.fullmatch(r"# ([a-z0-9][a-z0-9-]*)\((\d)\)", line)
            if not m:
                raise PageError(f"{loc}: the first line must be '# name(section)'")
            title = (m.group(1), m.group(2))
            i += 1
            continue
        if line.startswith("## "):
            if current:
                flush()
            current = (line[3:].strip(), [])
            sections.append(current)
            i += 1
            continue
        if current is None:
            if line.strip():
                raise PageError(f"{loc}: text before the first '## SECTION'")
            i += 1
            continue
        if line.startswith("```"):
            flush()
            info = line[3:].strip()
            body = []
            i += 1
            while i < len(lines) and not lines[i][2].startswith("```"):
                body.append(lines[i][2])
                i += 1
            if i == len(lines):
                raise PageError(f"{loc}: unterminated code block")
            current[1].append(("code", info, body))
            i += 1
            continue
        if line.startswith("### "):
            flush()
            current[1].append(("sub", line[4:].strip()))
            i += 1
            continue
        if re.match(r"\s*(\||<[a-zA-Z]|#|\d+\. |\* |\s+- )", line) or line.startswith("    "):
            raise PageError(f"{loc}: not in the man page subset: {line.strip()[:40]!r}")
        if line.startswith("- "):
            flush()
            text = [line[2:]]
            i += 1
            while i < len(lines) and lines[i][2].startswith("  ") and lines[i][2].strip():
                text.append(lines[i][2].strip())
                i += 1
            joined = " ".join(t.strip() for t in text)
            m = re.match(r"`([^`]+)`\s*(.*)$", joined)
            if current[0] in TAGGED and m:
                current[1].append(("item", m.group(1), m.group(2).lstrip(":—- ").strip()))
            else:
                current[1].append(("li", joined))
            continue
        if not line.strip():
            flush()
            i += 1
            continue
        para.append(line)
        i += 1
    if current:
        flush()
    if title is None:
        raise PageError(f"{path}: empty page")
    names = [s[0] for s in sections]
    required = [n for n in names if n not in OPTIONAL]
    if required != REQUIRED:
        raise PageError(f"{path}: sections {names}; expected {REQUIRED} in this order "
                        f"(optional: {sorted(OPTIONAL)} before SEE ALSO)")
    for n in names:
        if n in OPTIONAL and names.index(n) < names.index("EXIT STATUS"):
            raise PageError(f"{path}: {n} belongs after EXIT STATUS")
    base = os.path.basename(path)
    if base != title[0] + ".md":
        raise PageError(f"{path}: the title names {title[0]}, the file is {base}")
    name_text = " ".join(b[1] for b in sections[0][1] if b[0] == "p")
    if not name_text.startswith(title[0] + " - "):
        raise PageError(f"{path}: NAME must read '{title[0]} - what it does'")
    return title, sections


def esc(text):
    text = text.replace("\\", "\\e")
    return text


def inline(text):
    """Markdown inline markup to roff font escapes."""
    out = []
    pos = 0
    pattern = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*|\[([^\]]+)\]\(([^)]+)\)")
    for m in pattern.finditer(text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + esc(m.group(1)).replace("-", "\\-") + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + esc(m.group(2)) + "\\fR")
        elif m.group(3) is not None:
            out.append("\\fI" + esc(m.group(3)) + "\\fR")
        else:
            label, target = m.group(4), m.group(5)
            page = re.fullmatch(r"(?:\.\./man/)?([a-z0-9-]+)\.md", target)
            if page and re.fullmatch(r"[a-z0-9-]+\(\d\)", label.strip("`")):
                out.append("\\fB" + esc(page.group(1)).replace("-", "\\-") + "\\fR(1)")
            else:
                out.append(inline(label))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def line_safe(text):
    """A roff text line must not start with a control character."""
    return "\\&" + text if text[:1] in (".", "'") else text


def term(text):
    """An option term: the flag names bold, their argument italic."""
    parts = []
    for word in text.split(" "):
        if word.startswith("-") or re.fullmatch(r"[0-9,]+", word):
            parts.append("\\fB" + esc(word).replace("-", "\\-") + "\\fR")
        else:
            parts.append("\\fI" + esc(word).replace("-", "\\-") + "\\fR")
    return " ".join(parts)


def render(path, version):
    (name, section), sections = parse(path)
    out = [f'.TH "{name.upper()}" "{section}" "" "rollguard {version}" "rollguard manual"',
           ".\\\" Generated by scripts/man.py from docs/man/" + os.path.basename(path) + ": edit that file.",
           ".nh", ".ad l"]
    for title, blocks in sections:
        out.append(f'.SH "{title}"')
        first = True
        for block in blocks:
            kind = block[0]
            if kind == "p":
                if title == "NAME":
                    n, _, desc = block[1].partition(" - ")
                    out.append(esc(n).replace("-", "\\-") + " \\- " + inline(desc))
                else:
                    if not first:
                        out.append(".PP")
                    out.append(line_safe(inline(block[1])))
            elif kind == "sub":
                out.append(f'.SS "{esc(block[1])}"')
            elif kind == "li":
                out.append(".IP \\(bu 2")
                out.append(line_safe(inline(block[1])))
            elif kind == "item":
                out.append(".TP")
                out.append(term(block[1]))
                out.append(line_safe(inline(block[2])))
            elif kind == "code":
                if not first:
                    out.append(".PP")
                out.append(".RS 4")
                out.append(".nf")
                for line in block[2]:
                    out.append(line_safe(esc(line).replace("-", "\\-")))
                out.append(".fi")
                out.append(".RE")
            first = False
    return "\n".join(out) + "\n"


def option_flags(path):
    _, sections = parse(path)
    flags = set()
    for title, blocks in sections:
        if title == "OPTIONS":
            for block in blocks:
                if block[0] == "item":
                    flags.update(LONG_FLAG.findall(block[1]))
    return flags


def help_sections(text, wanted):
    lines = []
    inside = False
    for line in text.split("\n"):
        if re.match(r"^\S.*:$", line):
            inside = line[:-1] in wanted
            continue
        if inside and line.strip():
            lines.append(line)
    return lines


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "build":
            version, out_dir, pages = "unknown", ".", []
            while args:
                a = args.pop(0)
                if a == "--version":
                    version = args.pop(0)
                elif a == "--out":
                    out_dir = args.pop(0)
                else:
                    pages.append(a)
            os.makedirs(out_dir, exist_ok=True)
            for page in sorted(pages):
                text = render(page, version)
                (name, section), _ = parse(page)
                target = os.path.join(out_dir, f"{name}.{section}")
                tmp = target + ".tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, target)
            return 0
        if cmd == "check":
            for page in args:
                parse(page)
            return 0
        if cmd == "flags":
            for flag in sorted(option_flags(args[0])):
                print(flag)
            return 0
        if cmd == "help-flags":
            flags = set()
            for line in help_sections(sys.stdin.read(), {"Flags", "Global Flags"}):
                m = re.match(r"\s+(?:-\S, )?--([a-z0-9][a-z0-9-]*)", line)
                if m:
                    flags.add(m.group(1))
            for flag in sorted(flags):
                print(flag)
            return 0
        if cmd == "help-commands":
            for line in help_sections(sys.stdin.read(), {"Available Commands"}):
                m = re.match(r"\s+(\S+)", line)
                if m and m.group(1) != "help":
                    print(m.group(1))
            return 0
    except (PageError, OSError) as e:
        print(f"man.py: {e}", file=sys.stderr)
        return 1
    print(f"man.py: unknown command {cmd!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
