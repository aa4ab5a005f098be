"""Markdown for GitHub with untrusted text made inert: no mention pings, no issue links.

GitHub turns ``@user``, ``@org/team``, ``#123``, ``GH-123`` and ``owner/repo#123`` in a
comment, a pull-request body or a job summary into mentions and cross-references: a
diagram label or a branch name that holds them would make the bot notify people or link
(and so back-reference) unrelated issues. :func:`neutralise` puts a zero-width space
(U+200B) inside each of them, which GitHub does not read through, while the text stays
readable; fenced code blocks, inline code and URLs (where GitHub links nothing, and where
the characters matter) are left as they are.
"""

from __future__ import annotations

import re

#: The invisible character that breaks a mention or reference apart.
ZWSP = "\u200b"

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# inline code spans, autolinks and bare URLs: kept byte for byte
_KEEP = re.compile(r"(`+)(?:.*?[^`])?\1(?!`)|<https?://[^>\s]*>|https?://[^\s<>()]+")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_HASH_REF = re.compile(r"#(?=\d)")
_GH_REF = re.compile(r"(?<![A-Za-z0-9])(GH)-(?=\d)", re.IGNORECASE)


def _inert(text: str) -> str:
    text = _MENTION.sub("@" + ZWSP, text)
    text = _HASH_REF.sub("#" + ZWSP, text)
    return _GH_REF.sub(lambda m: m.group(1) + ZWSP + "-", text)


def _inline(line: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _KEEP.finditer(line):
        out.append(_inert(line[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_inert(line[pos:]))
    return "".join(out)


def neutralise(markdown: str) -> str:
    """``markdown`` with every mention and issue reference outside code made inert."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines(keepends=True):
        opened = _FENCE.match(line)
        if fence is not None:
            out.append(line)
            closes = opened is not None and opened.group(1)[0] == fence[0]
            if closes and opened and len(opened.group(1)) >= len(fence):
                fence = None if not line.strip().lstrip(fence[0]) else fence
            continue
        if opened:
            fence = opened.group(1)
            out.append(line)
            continue
        out.append(_inline(line))
    return "".join(out)
