#!/usr/bin/env python3
"""The runnable examples of the docs (docs/man/README.md has the convention).

Usage:
  doc_examples.py extract FILE...   one JSON object per example on stdout
  doc_examples.py lint FILE...      command lines outside ```sh blocks (exit 1)

In a ```sh block a line starting with "$ " is a command (a trailing "\\"
continues it on the next line); other lines are the output shown. A trailing
comment may say "(exit N)" (the documented exit code, default 0) and
"(stderr)" (the command writes to standard error although it succeeds).
"```sh not-run: REASON" marks a whole block as not run, "(not-run: REASON)"
in the comment one command. "<!-- fixture: NAME -->" names the state the
page's examples start from. Only the standard library.
"""
import json
import re
import sys

FENCE = re.compile(r"^(\s*)```(.*)$")
COMMAND_WORDS = re.compile(r"^\s*(\$ )?(kubectl (canary|probecheck)|helm rollback-safe)\b")
PLACEHOLDER = re.compile(r"\[|\||\.\.\.|\b[A-Z][A-Z_]{2,}\b")


def blocks(path):
    """(fence line, info, indent, [(line number, text)]) per fenced block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, indent, info = i + 1, m.group(1), m.group(2).strip()
        body = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            text = lines[i]
            body.append((i + 1, text[len(indent):] if text.startswith(indent) else text.lstrip()))
            i += 1
        yield start, info, body
        i += 1


def fixture(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.fullmatch(r"\s*<!--\s*fixture:\s*(\S+)\s*-->\s*", line)
            if m:
                return m.group(1)
    return None


def split_comment(command):
    """The command and its trailing comment (a '#' outside quotes after a blank)."""
    quote = None
    for i, c in enumerate(command):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or command[i - 1] in " \t"):
            return command[:i].rstrip(), command[i + 1:].strip()
    return command, ""


def examples(path):
    fix = fixture(path)
    for start, info, body in blocks(path):
        words = info.split(None, 1)
        if not words or words[0] != "sh":
            continue
        block_skip = None
        if len(words) > 1:
            m = re.match(r"not-run:\s*(.+)$", words[1])
            if not m:
                raise SystemExit(f"{path}:{start}: unknown block annotation {words[1]!r}")
            block_skip = m.group(1)
        i = 0
        while i < len(body):
            number, text = body[i]
            i += 1
            if not text.startswith("$ "):
                continue
            command = text[2:]
            while command.endswith("\\") and i < len(body):
                command = command[:-1] + "\n" + body[i][1]
                i += 1
            code, comment = split_comment(command.split("\n")[-1])
            command = "\n".join(command.split("\n")[:-1] + [code])
            exit_code = re.search(r"\(exit (\d+)\)", comment)
            skip = re.search(r"\(not-run: ([^)]+)\)", comment)
            yield {
                "file": path,
                "line": number,
                "fixture": fix,
                "command": command,
                "exit": int(exit_code.group(1)) if exit_code else 0,
                "stderr": "(stderr)" in comment,
                "skip": block_skip or (skip.group(1) if skip else None),
            }


def lint(path):
    bad = 0
    for start, info, body in blocks(path):
        if info.split(None, 1)[:1] and info.split(None, 1)[0] in ("sh", "text", "yaml", "json"):
            continue
        for number, text in body:
            if text.startswith("$ ") or (COMMAND_WORDS.match(text) and not PLACEHOLDER.search(text)):
                print(f"{path}:{number}: an example outside a ```sh block (see docs/man/README.md): {text.strip()[:70]}")
                bad += 1
    return bad


def main(argv):
    if len(argv) < 3 or argv[1] not in ("extract", "lint"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "extract":
        for path in argv[2:]:
            for example in examples(path):
                print(json.dumps(example), flush=True)
        return 0
    return 1 if sum(lint(path) for path in argv[2:]) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
