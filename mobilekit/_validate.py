"""Build typed config dataclasses from plain dicts (TOML, JSON, kwargs).

Unknown keys and wrong types are refused with the dotted key path and the expected type, in
the manner of coremltools' optimize configs: the error names the field and the bad value.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from .errors import ConfigError


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin in (list, tuple):
        args = get_args(tp)
        return f"a list of {_type_name(args[0])}" if args else "a list"
    if origin is dict:
        return "a table"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        arms = [a for a in args if a is not type(None)]
        if len(arms) == 1:  # Optional[X]: X's own error is the precise one
            return _convert(arms[0], value, key)
        for arg in arms:
            try:
                return _convert(arg, value, key)
            except ConfigError:
                pass
        raise ConfigError(key, f"expected {_type_name(tp)}, got {_show(value)}")
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise ConfigError(key, f"expected one of {_type_name(tp)}, got {_show(value)}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, f"expected {_type_name(tp)}, got {_show(value)}")
        (item_tp, *_rest) = get_args(tp) or (Any,)
        items = [_convert(item_tp, v, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a table, got {_show(value)}")
        k_tp, v_tp = get_args(tp) or (str, Any)
        return {str(k): _convert(v_tp, v, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a table, got {_show(value)}")
        return build(tp, value, key)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(value, tp):
        return value
    raise ConfigError(key, f"expected {_type_name(tp)}, got {_show(value)}")


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def build(cls: type, data: dict, prefix: str = "") -> Any:
    """Make `cls` (a dataclass) from `data`, refusing unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    # TOML users write dashes; Python users write underscores.
    normalized = {str(k).replace("-", "_"): v for k, v in data.items()}
    kwargs = {}
    for name, value in normalized.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(key, "unknown key", hint=f"Known keys here: {known}.")
        kwargs[name] = _convert(hints[name], value, key)
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
    ]
    if missing:
        key = f"{prefix}.{missing[0]}" if prefix else missing[0]
        raise ConfigError(key, "missing", hint=f"Set `{key}` ({_type_name(hints[missing[0]])}).")
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if check is not None:
        check(prefix)
    return obj


def to_dict(obj: Any) -> Any:
    """The plain-data form of a config dataclass (for manifests and fingerprints)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj
