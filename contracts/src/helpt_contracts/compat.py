"""Does a new JSON Schema of an event still serve consumers of the old one?

Allowed within a version: new optional fields, changed descriptions. Breaking: a field removed or
renamed, a field's type, format, enum or constraints changed, a new required field. Both schemas
are resolved through their own `$defs`, so a change inside a nested model counts too.
"""

from __future__ import annotations

from typing import Any

__all__ = ["breaking_changes"]

_DOC_KEYS = frozenset({"title", "description", "examples", "default", "$id", "$schema", "$comment"})
_NESTED = ("anyOf", "oneOf", "allOf", "prefixItems")


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable breaking changes from `old` to `new`; empty when compatible."""
    problems: list[str] = []
    _compare(old, new, old.get("$defs", {}), new.get("$defs", {}), "", problems, depth=0)
    return problems


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        schema = {**defs[ref], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _compare(old: Any, new: Any, old_defs: dict, new_defs: dict, path: str, problems: list[str], depth: int) -> None:
    if depth > 32:  # recursive models: deep enough to have seen every field once
        return
    if not isinstance(old, dict) or not isinstance(new, dict):
        if old != new:
            problems.append(f"{path or '(root)'}: changed from {old!r} to {new!r}")
        return
    old, new = _resolve(old, old_defs), _resolve(new, new_defs)
    if "properties" in old or "properties" in new:
        _compare_object(old, new, old_defs, new_defs, path, problems, depth)
    for key in _NESTED:
        a, b = old.get(key), new.get(key)
        if a is None and b is None:
            continue
        if a is None or b is None or len(a) != len(b):
            problems.append(f"{path or '(root)'}: type changed ({key})")
            continue
        for i, (x, y) in enumerate(zip(a, b)):
            _compare(x, y, old_defs, new_defs, f"{path}[{key}{i}]", problems, depth + 1)
    for key in ("items", "additionalProperties", "propertyNames"):
        if key in old or key in new:
            _compare(old.get(key), new.get(key), old_defs, new_defs, f"{path}[{key}]", problems, depth + 1)
    skip = _DOC_KEYS | {"properties", "required", "$defs", "items", "additionalProperties", "propertyNames", *_NESTED}
    for key in sorted((old.keys() | new.keys()) - skip):
        if key.startswith("x-"):
            continue
        if old.get(key) != new.get(key):
            problems.append(f"{path or '(root)'}: {key} changed from {old.get(key)!r} to {new.get(key)!r}")


def _compare_object(old: dict, new: dict, old_defs: dict, new_defs: dict, path: str, problems: list[str], depth: int) -> None:
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name in old_props:
        if name not in new_props:
            problems.append(f"{path}.{name}: field removed or renamed")
    added_required = set(new.get("required", ())) - set(old.get("required", ()))
    for name in sorted(added_required):
        problems.append(f"{path}.{name}: became required")
    for name in old_props.keys() & new_props.keys():
        _compare(old_props[name], new_props[name], old_defs, new_defs, f"{path}.{name}", problems, depth + 1)
