"""Run-time guards against hostile input: bounded YAML, output targets, credential masking.

- :func:`check_output_target` refuses to replace anything but a regular file;
- :func:`safe_yaml_load` parses YAML whose aliases may not expand it beyond a small
  multiple of its size (an alias bomb is refused before it is built), nested at most
  :data:`agents.guards.MAX_NESTING` deep;
- :func:`mask_credentials` shows a database URL with every credential it carries masked,
  using the driver's own conninfo parsing where the driver is installed.

Bounded reads of regular files, size and nesting limits are the contract's
(:mod:`agents.guards`, re-exported here), since agents read their input through them.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agents.errors import MAX_ERROR_CHARS, InputError, cut_line
from agents.guards import (
    ARTIFACT_LIMIT_ENV,
    DEFAULT_MAX_ARTIFACT_BYTES,
    MAX_NESTING,
    LimitExceeded,
    check_depth,
    file_kind,
    max_artifact_bytes,
    read_regular_bytes,
    read_regular_text,
)

__all__ = [
    "ARTIFACT_LIMIT_ENV",
    "DEFAULT_MAX_ARTIFACT_BYTES",
    "MAX_NESTING",
    "MAX_PIPELINE_BYTES",
    "LimitExceeded",
    "check_depth",
    "check_output_target",
    "connection_secrets",
    "cut",
    "mask_credentials",
    "max_artifact_bytes",
    "read_regular_bytes",
    "read_regular_text",
    "safe_yaml_load",
    "scrub_secrets",
]

#: Largest pipeline file, in bytes.
MAX_PIPELINE_BYTES = 1024 * 1024
#: A YAML document may expand (through aliases) to at most this many times its own nodes ...
YAML_EXPANSION_FACTOR = 10
#: ... or this many nodes, whichever is larger.
YAML_MIN_NODE_BUDGET = 10_000


def cut(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with a note of how much went."""
    return cut_line(text, limit)


def _kind(mode: int) -> str:
    return file_kind(mode)


def check_output_target(path: Path) -> None:
    """Refuse to write over anything but a regular file: a device, a FIFO, a socket or a
    symbolic link (which a rename would replace, or a write would follow) is left alone."""
    path = Path(path)
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a folder; give a file path")
    if stat.S_ISLNK(info.st_mode):
        raise InputError(f"{path}: is a symbolic link; refusing to replace it, give a file path")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            f"{path}: is {_kind(info.st_mode)}, not a regular file; refusing to replace it"
        )


def safe_yaml_load(text: str, *, where: str) -> Any:
    """``yaml.safe_load`` of ``text`` with aliases bounded and nesting limited.

    The document is composed into nodes first (aliases are shared, so that is cheap), then
    the size it would have once every alias is expanded is counted without building it;
    beyond :data:`YAML_EXPANSION_FACTOR` times its own nodes (at least
    :data:`YAML_MIN_NODE_BUDGET`) it is refused. Raises ``yaml.YAMLError`` for bad YAML.
    """
    import yaml
    from yaml.nodes import MappingNode, Node, SequenceNode

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sizes: dict[int, int] = {}
        distinct = 0
        # post-order over the node graph; a node reached again (an alias) is counted again
        # through ``sizes``, never walked again
        stack: list[tuple[Node, int, bool]] = [(node, 1, False)]
        on_path: set[int] = set()
        while stack:
            current, depth, done = stack.pop()
            key = id(current)
            if done:
                on_path.discard(key)
                children = _children(current, MappingNode, SequenceNode)
                sizes[key] = 1 + sum(sizes[id(c)] for c in children)
                continue
            if key in sizes:
                continue
            if key in on_path:
                raise LimitExceeded(f"{where}: a YAML alias refers to itself")
            if depth > MAX_NESTING:
                raise LimitExceeded(f"{where}: nested deeper than {MAX_NESTING} levels")
            distinct += 1
            on_path.add(key)
            stack.append((current, depth, True))
            for child in _children(current, MappingNode, SequenceNode):
                if id(child) not in sizes:
                    stack.append((child, depth + 1, False))
        budget = max(YAML_MIN_NODE_BUDGET, YAML_EXPANSION_FACTOR * distinct)
        if sizes[id(node)] > budget:
            raise LimitExceeded(
                f"{where}: YAML aliases expand {distinct:,} nodes to {sizes[id(node)]:,} "
                f"(limit {budget:,}); refused"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _children(node: Any, mapping: Any, sequence: Any) -> list[Any]:
    if isinstance(node, mapping):
        return [part for pair in node.value for part in pair]
    if isinstance(node, sequence):
        return list(node.value)
    return []


# --------------------------------------------------------------------------- credentials

#: Connection parameters that hold secrets (libpq's, and any that look like one).
_SECRET_KEYS = {"password", "sslpassword"}
_SECRET_WORDS = ("password", "secret", "token", "passphrase")
MASK = "***"


def _is_secret_key(key: str) -> bool:
    low = key.lower()
    return low in _SECRET_KEYS or any(word in low for word in _SECRET_WORDS)


def connection_secrets(url: str) -> list[str]:
    """Every credential value ``url`` carries, as the driver parses it (longest first)."""
    params = _conninfo(url)
    found = [v for k, v in (params or {}).items() if _is_secret_key(k) and v]
    return sorted(set(found), key=len, reverse=True)


def _conninfo(url: str) -> dict[str, str] | None:
    """The connection parameters of ``url``: for a PostgreSQL URL psycopg's own parsing
    when it is installed, else the URL's parts. None when it cannot be parsed."""
    conninfo_to_dict: Any = None
    if url.lower().startswith(("postgresql:", "postgres:")):
        try:
            import psycopg.conninfo

            conninfo_to_dict = psycopg.conninfo.conninfo_to_dict
        except ImportError:
            conninfo_to_dict = None
    if conninfo_to_dict is not None:
        try:
            return {str(k): str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
        except Exception:  # noqa: BLE001 - any parse failure: show nothing of it
            return None
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
        out = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
        if parts.username:
            out["user"] = unquote(parts.username)
        if parts.password is not None:
            out["password"] = unquote(parts.password)
        if parts.hostname:
            out["host"] = parts.hostname
        if parts.port:
            out["port"] = str(parts.port)
        if parts.path.strip("/"):
            out["dbname"] = unquote(parts.path.lstrip("/"))
    except ValueError:
        return None
    return out


def mask_credentials(url: str) -> str:
    """``url`` as it may be shown or logged: every credential (the userinfo password,
    ``password=``, ``sslpassword=`` and the like) is ``***``.

    Database URLs are rebuilt from the driver's parsing of them, so nothing the driver
    would read as a secret survives whatever way it was written; a URL that cannot be
    parsed is shown as its scheme only.
    """
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    if not scheme.lower().startswith("postgres"):
        return _mask_generic(text)
    params = _conninfo(text)
    if params is None:
        return f"{scheme}://…"
    from urllib.parse import quote, urlencode, urlsplit

    user = params.pop("user", "")
    has_password = bool(params.pop("password", ""))
    host = params.pop("host", "")
    port = params.pop("port", "")
    dbname = params.pop("dbname", "")
    userinfo = quote(user, safe="") + (f":{MASK}" if has_password else "")
    hosts = ""
    if host:
        pairs = zip(host.split(","), _ports(port, host), strict=False)
        hosts = ",".join((f"[{h}]" if ":" in h else h) + (f":{p}" if p else "") for h, p in pairs)
    netloc = f"{userinfo}@{hosts}" if userinfo else hosts
    shown = {k: (MASK if _is_secret_key(k) else v) for k, v in params.items()}
    query = "?" + urlencode(shown, safe="*") if shown else ""
    try:
        slash = urlsplit(text).path.startswith("/")
    except ValueError:
        slash = bool(dbname)
    path = "/" + quote(dbname, safe="") if dbname else ("/" if slash else "")
    return f"{scheme}://{netloc}{path}{query}"


def _mask_generic(url: str) -> str:
    """A URL of another kind with its userinfo password and secret-looking query values
    masked (its path, a SQLite file's, say, is kept as written)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    try:
        parts = urlsplit(url)
        password = parts.password
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    if not password and not any(_is_secret_key(k) for k, _ in query):
        return url
    if password:
        userinfo, _, hostinfo = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:{MASK}@{hostinfo}")
    if any(_is_secret_key(k) for k, _ in query):
        masked = [(k, MASK if _is_secret_key(k) else v) for k, v in query]
        parts = parts._replace(query=urlencode(masked, safe="*"))
    return parts.geturl()


def _ports(port: str, host: str) -> list[str]:
    hosts = host.split(",")
    ports = port.split(",") if port else [""]
    if len(ports) == 1:
        ports = ports * len(hosts)
    return ports + [""] * (len(hosts) - len(ports))


def scrub_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (as given and URL-encoded) masked."""
    from urllib.parse import quote

    for secret in secrets:
        if len(secret) < 3:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, MASK)
    return text
