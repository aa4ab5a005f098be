"""Align generated HCL the way ``terraform fmt`` does, without needing ``terraform``.

The generator and the fixer write one attribute per line with two-space indentation;
what ``terraform fmt`` then changes is the alignment of ``=``: in each run of consecutive
single-line attributes at the same depth (a blank line, a comment, a block or a
multi-line value ends the run) the names are padded to the longest one. :func:`format_hcl`
does exactly that and leaves everything else as it is; the tests compare its output with
``terraform fmt -check`` where a ``terraform`` binary is installed.
"""

from __future__ import annotations

import re

_ATTRIBUTE = re.compile(
    r"^(?P<indent>\s*)(?P<key>[A-Za-z_][A-Za-z0-9_-]*)\s*=(?!=)\s*(?P<value>.*)$"
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_OPEN, _CLOSE = "([{", ")]}"


def _balance(line: str) -> int:
    """Brackets opened minus closed on ``line``, outside string literals and comments."""
    code = _STRING.sub('""', line)
    code = re.split(r"\s#|^\s*#|//", code, maxsplit=1)[0]
    return sum(code.count(c) for c in _OPEN) - sum(code.count(c) for c in _CLOSE)


def format_hcl(text: str) -> str:
    """``text`` with ``=`` aligned in every run of single-line attributes."""
    lines = text.split("\n")
    out: list[str] = []
    run: list[tuple[str, str, str]] = []  # (indent, key, value) of the current run
    depth = 0  # > 0 inside a multi-line attribute value: left as it is

    def flush() -> None:
        if run:
            width = max(len(key) for _, key, _ in run)
            out.extend(f"{indent}{key.ljust(width)} = {value}" for indent, key, value in run)
            run.clear()

    for line in lines:
        if depth > 0:
            out.append(line)
            depth += _balance(line)
            continue
        match = _ATTRIBUTE.match(line)
        if match is None:
            flush()
            out.append(line)
            continue
        balance = _balance(line)
        if balance > 0:  # a multi-line value: a run of its own, not aligned
            flush()
            out.append(f"{match['indent']}{match['key']} = {match['value']}")
            depth = balance
            continue
        if run and run[0][0] != match["indent"]:
            flush()
        run.append((match["indent"], match["key"], match["value"].rstrip()))
    flush()
    return "\n".join(out)
