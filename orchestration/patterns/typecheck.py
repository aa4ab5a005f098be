"""Can one agent's output feed another agent's input? Checked before anything runs.

Every pattern checks its boundaries with :func:`incompatibility`: a sequential pipeline
at each stage boundary, a parallel group against its combiner, a plan along each data
edge, a feedback loop between generator, validator and fixer.

An output model ``Out`` can feed an input model ``In`` when ``Out`` is ``In`` or a
subclass of it, or, structurally, when every required field of ``In`` exists on ``Out``
and every field the two share has an ``Out`` annotation that ``In``'s annotation admits.
"Admits" is the subclass relation extended through ``X | None``, ``list[...]``,
``dict[...]``, ``tuple[...]``, ``Literal[...]`` and nested models (checked the same way),
plus ``int`` into ``float`` (pydantic accepts it). ``Any`` on either side is accepted.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["admits", "fields_incompatibility", "incompatibility", "type_name"]

_NONE = type(None)


def incompatibility(out_model: type[BaseModel], in_model: type[BaseModel]) -> str | None:
    """None when an ``out_model`` instance can feed ``in_model``; else a one-line reason.

    The reason names the field and both types, e.g.
    ``field 'icons': DetectionResult has list[Icon], FilterInput needs list[Resource]``.
    """
    return _incompatibility(out_model, in_model, set())


def fields_incompatibility(
    fields: Mapping[str, Any], source: str, in_model: type[BaseModel]
) -> str | None:
    """Like :func:`incompatibility` for a document described field by field.

    ``fields`` maps field names to annotations (what a producer will put there);
    ``source`` names the producer in the reason. Used where the document is assembled
    by a pattern, such as a parallel group's combiner input or a feedback loop's fix
    request.
    """
    return _fields_incompatibility(fields, source, in_model, set())


def admits(target: Any, source: Any) -> bool:
    """True when a value of annotation ``source`` is valid for annotation ``target``."""
    return _admits(target, source, set())


def type_name(tp: Any) -> str:
    """A short readable rendering of an annotation: ``list[Icon]``, ``str | None``."""
    if tp is _NONE or tp is None:
        return "None"
    if tp is Any:
        return "Any"
    if tp is Ellipsis:
        return "..."
    origin = get_origin(tp)
    if origin is Annotated:
        return type_name(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return " | ".join(type_name(arg) for arg in get_args(tp))
    if origin is Literal:
        return "Literal[" + ", ".join(repr(arg) for arg in get_args(tp)) + "]"
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        args = get_args(tp)
        if not args:
            return name
        return f"{name}[{', '.join(type_name(arg) for arg in args)}]"
    name = getattr(tp, "__name__", None)
    return name if isinstance(name, str) else str(tp).removeprefix("typing.")


# --- internals -------------------------------------------------------------------------


def _incompatibility(
    out_model: type[BaseModel],
    in_model: type[BaseModel],
    seen: set[tuple[Any, Any]],
) -> str | None:
    if out_model is in_model or issubclass(out_model, in_model):
        return None
    fields = {name: info.annotation for name, info in out_model.model_fields.items()}
    return _fields_incompatibility(fields, out_model.__name__, in_model, seen)


def _keys(name: str, info: Any) -> list[str]:
    keys = [name]
    for alias in (info.validation_alias, info.alias):
        if isinstance(alias, str) and alias not in keys:
            keys.append(alias)
    return keys


def _fields_incompatibility(
    fields: Mapping[str, Any],
    source: str,
    in_model: type[BaseModel],
    seen: set[tuple[Any, Any]],
) -> str | None:
    target = in_model.__name__
    used: set[str] = set()
    for name, info in in_model.model_fields.items():
        key = next((k for k in _keys(name, info) if k in fields), None)
        if key is None:
            if info.is_required():
                return (
                    f"field {name!r} missing from {source} "
                    f"({target} requires {type_name(info.annotation)})"
                )
            continue
        used.add(key)
        have = fields[key]
        if not _admits(info.annotation, have, seen):
            return (
                f"field {name!r}: {source} has {type_name(have)}, "
                f"{target} needs {type_name(info.annotation)}"
            )
    if in_model.model_config.get("extra") == "forbid":
        for key in fields:
            if key not in used:
                return f"field {key!r} of {source} is not accepted by {target} (extra forbidden)"
    return None


def _strip(tp: Any) -> Any:
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif hasattr(tp, "__supertype__"):  # typing.NewType
            tp = tp.__supertype__
        else:
            return _NONE if tp is None else tp


def _union_members(tp: Any) -> tuple[Any, ...] | None:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return get_args(tp)
    return None


def _admits(target: Any, source: Any, seen: set[tuple[Any, Any]]) -> bool:
    target, source = _strip(target), _strip(source)
    if target is Any or target is object or source is Any:
        return True
    if target == source:
        return True
    members = _union_members(source)
    if members is not None:
        return all(_admits(target, member, seen) for member in members)
    members = _union_members(target)
    if members is not None:
        return any(_admits(member, source, seen) for member in members)
    if get_origin(source) is Literal:
        values = get_args(source)
        if get_origin(target) is Literal:
            return set(values) <= set(get_args(target))
        return all(_admits(target, type(value), seen) for value in values)
    if get_origin(target) is Literal:
        return False
    if get_origin(source) is not None or get_origin(target) is not None:
        return _admits_generic(target, source, seen)
    if isinstance(source, type) and isinstance(target, type):
        if issubclass(source, target):
            return True
        if target is float and source is int:
            return True
        if issubclass(source, BaseModel) and issubclass(target, BaseModel):
            pair = (source, target)
            if pair in seen:  # a recursive model: assume the cycle fits
                return True
            seen.add(pair)
            return _incompatibility(source, target, seen) is None
    return False


def _admits_generic(target: Any, source: Any, seen: set[tuple[Any, Any]]) -> bool:
    s_origin = get_origin(source) or source
    t_origin = get_origin(target) or target
    if not (isinstance(s_origin, type) and isinstance(t_origin, type)):
        return False
    if not issubclass(s_origin, t_origin):
        return False
    s_args, t_args = get_args(source), get_args(target)
    if not t_args or not s_args:  # a bare list on either side: the items cannot be told
        return True
    if issubclass(t_origin, tuple):
        if len(t_args) == 2 and t_args[1] is Ellipsis:
            items = [a for a in s_args if a is not Ellipsis]
            return all(_admits(t_args[0], a, seen) for a in items)
        if Ellipsis in s_args or len(s_args) != len(t_args):
            return False
    if len(s_args) != len(t_args):
        return True
    return all(_admits(t, s, seen) for t, s in zip(t_args, s_args, strict=True))
