"""Names a package exports but imports on first use (PEP 562 ``__getattr__``).

The packages' ``__init__`` modules stay cheap to import — ``python -m agents.run --help``
does not import pydantic — while ``from agents import Agent`` still works.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], names: Iterable[str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps a name to its module.

    A name is imported from its module on first use and kept in ``namespace`` (the
    package's globals), so the next use is a plain lookup. A name whose module is the
    package's sub-module of that name is the sub-module itself.
    """
    listed = frozenset(names)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        imported = importlib.import_module(module)
        value = imported if module == f"{package}.{name}" else getattr(imported, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(listed.union(namespace))

    return __getattr__, __dir__
