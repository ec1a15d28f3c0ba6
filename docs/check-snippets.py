#!/usr/bin/env python3
"""Keeps the code in the guides identical to the compiled examples it is taken from.

In a guide, a fenced code block preceded by a marker line

    <!-- snippet: examples/echo-coroutines/main.cpp#server -->

must hold exactly the lines between `// [snippet:server]` and `// [end-snippet]` (`#` for
CMake files) of that file, with their common indentation removed; a marker without `#NAME`
stands for the whole file. In the guides listed below, every C++ and CMake block must carry
such a marker, so that no code in them is typed by hand and left to rot.

    check-snippets.py           report blocks that differ from their source (exit 1)
    check-snippets.py --update  rewrite those blocks from their sources
"""

import difflib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ["README.md", "docs/guide.md", "docs/porting.md"]
MARKER = re.compile(r"^<!-- snippet: (?P<path>[^#\s]+)(?:#(?P<name>[\w-]+))? -->$")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)$")
CHECKED_LANGUAGES = {"cpp", "c++", "cmake"}


def extract(path: str, name: str | None) -> list[str]:
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    if name is None:
        return lines
    begin = re.compile(r"^\s*(//|#) \[snippet:" + re.escape(name) + r"\]$")
    end = re.compile(r"^\s*(//|#) \[end-snippet\]$")
    starts = [i for i, line in enumerate(lines) if begin.match(line)]
    if len(starts) != 1:
        raise LookupError(f"{path}: {len(starts)} '[snippet:{name}]' markers (want 1)")
    stop = next((i for i in range(starts[0] + 1, len(lines)) if end.match(lines[i])), None)
    if stop is None:
        raise LookupError(f"{path}: '[snippet:{name}]' has no '[end-snippet]'")
    body = lines[starts[0] + 1 : stop]
    indent = min((len(l) - len(l.lstrip(" ")) for l in body if l.strip()), default=0)
    return [l[indent:] for l in body]


def check_guide(guide: str, update: bool) -> list[str]:
    path = ROOT / guide
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = []
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence and fence.group("lang"):
            close = next((k for k in range(i + 1, len(lines)) if lines[k] == "```"), None)
            if close is None:
                problems.append(f"{guide}:{i + 1}: unclosed code block")
                out.extend(lines[i:])
                break
            marker = MARKER.match(lines[i - 1]) if i > 0 else None
            block = lines[i + 1 : close]
            if marker:
                try:
                    source = extract(marker.group("path"), marker.group("name"))
                except (LookupError, OSError) as e:
                    problems.append(f"{guide}:{i}: {e}")
                    source = block
                if source != block:
                    where = marker.group("path") + ("#" + marker.group("name") if marker.group("name") else "")
                    if update:
                        block = source
                    else:
                        diff = difflib.unified_diff(source, block, where, guide, lineterm="")
                        problems.append(f"{guide}:{i + 1}: differs from {where}\n" + "\n".join(diff))
            elif fence.group("lang").lower() in CHECKED_LANGUAGES:
                problems.append(f"{guide}:{i + 1}: a {fence.group('lang')} block without a snippet marker")
            out.append(line)
            out.extend(block)
            out.append("```")
            i = close + 1
            continue
        out.append(line)
        i += 1
    if update:
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return problems


def main() -> int:
    update = "--update" in sys.argv[1:]
    problems = [p for guide in GUIDES for p in check_guide(guide, update)]
    for p in problems:
        print(p, file=sys.stderr)
    if problems and not update:
        print("docs/check-snippets.py --update copies the sources into the guides", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
