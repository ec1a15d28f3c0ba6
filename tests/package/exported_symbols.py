#!/usr/bin/env python3
"""Checks what a shared smux library exports: the public API, nothing of src/'s own.

Usage: exported_symbols.py SOURCE_DIR LIBRARY.so OBJECT_DIR [LIBRARY.so OBJECT_DIR ...]

OBJECT_DIR holds the library's object files (CMakeFiles/<target>.dir of its build). The
symbols come from `nm -D --defined-only` of the library and `nm -g --defined-only` of its
objects, demangled.

What the public headers (include/smux) declare is told apart from what only src/ declares by
reading both trees, so that the rules follow the code without a list to keep up to date:

* src-only classes: classes defined at namespace scope in src/ under a qualified name that
  include/ defines nowhere, e.g. smux::core::session_state (include/ only forward-declares it)
  and smux::kcp::engine::impl. No exported symbol may name one, not even as a template
  argument or a parameter type.
* src-only namespaces: namespaces that src/ opens and include/ never does (e.g.
  smux::core::detail). No exported symbol may be in one.
* public entities: the first name after its namespaces of a smux symbol (the class of a
  member, or the function) must be a name the public headers' code uses. This catches a
  function that only a src/ header declares (e.g. smux::kcp::detail::make_cfb_crypt).

And the other way round, everything consumers may need is exported: every strong (not
inline, not template) definition in the library's objects of a smux symbol that passes the
rules above, i.e. what the public headers declare and src/ defines, must be in the
library's dynamic symbol table. A missing export annotation fails here rather than when a
consumer happens to call the function.
"""

import pathlib
import re
import subprocess
import sys

# Demangled prefixes of symbols that belong to the entity after them.
SPECIAL_PREFIXES = ("typeinfo name for ", "typeinfo for ", "vtable for ", "VTT for ",
                    "construction vtable for ", "guard variable for ", "non-virtual thunk to ",
                    "virtual thunk to ", "covariant return thunk to ")


def code_of(path):
    """The file's text without comments and string literals (kept as empty quotes)."""
    text = path.read_text(encoding="utf-8")
    # A character literal holds one character or one escape (not a digit separator: 4'194'304).
    return re.sub(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\[^\'\n]{1,9}|[^\'\\\n])\'',
                  lambda m: '""' if m.group(0).startswith('"') else " ", text, flags=re.S)


DEFINITION = re.compile(
    r"namespace\s*([\w:]*)\s*\{"                                     # 1: a namespace opens
    r"|(?:class|struct|union)\s+(?:[A-Z_]+EXPORT\s+)?([\w:]+)\s*(?:final\s*)?[:{]"  # 2: class
    r"|[{}]")


def scan(paths):
    """Namespaces opened, and classes defined at namespace scope (qualified names)."""
    namespaces, classes = set(), set()
    for path in paths:
        code = code_of(path)
        stack = []  # (qualified namespace, brace depth it opened at)
        depth = 0
        for m in DEFINITION.finditer(code):
            current = stack[-1][0] if stack else ""
            if m.group(0) == "{":
                depth += 1
            elif m.group(0) == "}":
                depth -= 1
                if stack and stack[-1][1] == depth:
                    stack.pop()
            elif m.group(0).startswith("namespace"):
                name = m.group(1) or "(anonymous namespace)"
                qualified = f"{current}::{name}" if current else name
                namespaces.add(qualified)
                stack.append((qualified, depth))
                depth += 1
            else:
                at_namespace_scope = depth == (len(stack) and stack[-1][1] + 1)
                if at_namespace_scope and "anonymous" not in current:
                    classes.add(f"{current}::{m.group(2)}" if current else m.group(2))
                if m.group(0).endswith("{"):
                    depth += 1
    return namespaces, classes


def demangled_symbols(args):
    out = subprocess.run(["nm", "-C", "--defined-only", *args], check=True, text=True,
                         capture_output=True).stdout
    symbols = []
    for line in out.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3:
            symbols.append((parts[1], parts[2]))
    return symbols


def main(argv):
    if len(argv) < 4 or len(argv) % 2 != 0:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    source = pathlib.Path(argv[1])
    headers = sorted((source / "include" / "smux").rglob("*.hpp"))
    sources = sorted(p for p in (source / "src").rglob("*") if p.suffix in (".hpp", ".cpp"))
    public_namespaces, public_classes = scan(headers)
    src_namespaces, src_classes = scan(sources)
    public_words = set()
    for path in headers:
        public_words.update(re.findall(r"[A-Za-z_]\w*", code_of(path)))

    src_only_classes = sorted(src_classes - public_classes)
    src_only_namespaces = sorted(
        n for n in src_namespaces - public_namespaces if "anonymous" not in n)
    forbidden = re.compile(
        "|".join([rf"(?<![\w:]){re.escape(c)}(?!\w)" for c in src_only_classes] +
                 [rf"(?<![\w:]){re.escape(n)}::" for n in src_only_namespaces]))
    # Longest first, so that smux::kcp::detail wins over smux::kcp.
    namespaces = sorted(public_namespaces | src_namespaces, key=len, reverse=True)

    def entity(symbol):
        """The entity a smux symbol belongs to (the name after its namespaces), or None."""
        for prefix in SPECIAL_PREFIXES:
            if symbol.startswith(prefix):
                symbol = symbol[len(prefix):]
                break
        if not symbol.startswith("smux::"):
            return None
        for ns in namespaces:
            if symbol.startswith(ns + "::"):
                rest = symbol[len(ns) + 2:]
                match = re.match(r"operator|[A-Za-z_~]\w*", rest)
                return match.group(0).lstrip("~") if match else rest
        return symbol

    print(f"src-only classes: {len(src_only_classes)} (e.g. "
          f"{', '.join(src_only_classes[:4])}); src-only namespaces: "
          f"{', '.join(src_only_namespaces) or 'none'}")
    failures = []
    for library, objects in zip(argv[2::2], argv[3::2]):
        name = pathlib.Path(library).name
        exported = {s for _, s in demangled_symbols(["-D", library])}
        own = 0
        for symbol in sorted(exported):
            if forbidden.search(symbol):
                failures.append(f"{name} exports a symbol of src/ only: {symbol}")
                continue
            e = entity(symbol)
            if e is None:
                continue
            own += 1
            if e not in public_words:
                failures.append(f"{name} exports {symbol}: '{e}' is not in the public headers")
        object_files = sorted(str(p) for p in pathlib.Path(objects).rglob("*.o"))
        if not object_files:
            failures.append(f"{name}: no object files under {objects}")
            continue
        required = 0
        for kind, symbol in demangled_symbols(["-g", *object_files]):
            # Strong definitions only: inline functions and template instantiations (W, V, u)
            # are compiled by the consumer too.
            if kind not in "TDBR" or forbidden.search(symbol):
                continue
            e = entity(symbol)
            if e is None or e not in public_words:
                continue
            required += 1
            if symbol not in exported:
                failures.append(f"{name} does not export {symbol} (declared in include/smux, "
                                "defined in src/: its class or function needs the export macro)")
        print(f"{name}: {len(exported)} symbols exported, {own} of them smux's; "
              f"{required} definitions in src/ of what include/smux declares")
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
