"""Frozen-dataclass configs: validation, sweeps, stable ids, ``--set`` parsing.

Configs are plain ``@dataclass(frozen=True)`` classes. Their ``__post_init__`` calls the checks
of :mod:`scalesim.validate`, so a bad value raises a ``ValueError`` that names the field and the
allowed range *before* anything is compiled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import types
import typing
from typing import Any

from .validate import BOOL_WORDS, parse_number

__all__ = [
    "stable_id",
    "config_id",
    "sweep",
    "to_dict",
    "from_dict",
    "replace_from_strings",
]


def to_dict(cfg) -> dict:
    """JSON-ready dict of a (possibly nested) config dataclass; tuples become lists."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), sort_keys=True))


def from_dict(cls, d: dict):
    """Rebuild a config from :func:`to_dict` output (lists back to tuples)."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in d:
            v = d[f.name]
            if isinstance(v, list):
                v = tuple(v)
            if dataclasses.is_dataclass(hints.get(f.name)) and isinstance(v, dict):
                v = from_dict(hints[f.name], v)
            kwargs[f.name] = v
    return cls(**kwargs)


def stable_id(payload) -> str:
    """The one id hash: the first 12 hex digits of sha256 of ``payload`` as sorted-key JSON.

    Independent of the Python process (no ``hash()``), so a re-run finds its run directories.

    Args:
      payload: a JSON-serialisable object (dicts, lists, strings, numbers, bools, None).

    Returns:
      12 lowercase hex digits.
    """
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def config_id(cfg) -> str:
    """Stable id of a config: :func:`stable_id` of its class name and sorted fields."""
    return stable_id({"class": type(cfg).__name__, "fields": to_dict(cfg)})


def sweep(base, **axes) -> list:
    """Cartesian product of ``axes`` applied to ``base`` with :func:`dataclasses.replace`.

    ``sweep(cfg, width=(8, 16), alpha=(1.0, 2.0))`` gives four configs, the last axis fastest.
    Each config is validated by its own ``__post_init__``.
    """
    names = list(axes)
    for n in names:
        if n not in {f.name for f in dataclasses.fields(base)}:
            raise ValueError(f"unknown sweep axis {n!r} for {type(base).__name__}")
    return [dataclasses.replace(base, **dict(zip(names, vals))) for vals in itertools.product(*axes.values())]


def _parse(text: str, typ, name: str):
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if text.lower() in ("none", "null") and len(args) < len(typing.get_args(typ)):
            return None
        return _parse(text, args[0], name)
    if origin is tuple:
        args = [a for a in typing.get_args(typ) if a is not Ellipsis]
        elem = args[0] if args else str
        if typing.get_origin(elem) is tuple:  # a tuple of pairs: items a:b separated by commas
            inner = [a for a in typing.get_args(elem) if a is not Ellipsis]
            arity = len(inner) if Ellipsis not in typing.get_args(elem) else None
            example = ":".join(["1", "2", "3"][: arity or 2])
            items = [p for p in text.replace(" ", "").split(",") if p != ""]
            out = []
            for item in items:
                parts = item.split(":")
                if arity is not None and len(parts) != arity:
                    raise ValueError(f"--set {name}: expected comma-separated items like {example}; got {text!r}")
                out.append(tuple(_parse(q, inner[min(i, len(inner) - 1)], name) for i, q in enumerate(parts)))
            if not out:
                raise ValueError(f"--set {name}: expected comma-separated items like {example}; got {text!r}")
            return tuple(out)
        parts = [p for p in text.replace(" ", "").split(",") if p != ""]
        if not parts:
            raise ValueError(f"--set {name}: expected a comma-separated list; got {text!r}")
        return tuple(_parse(p, elem, name) for p in parts)
    if typ is bool:
        if text.lower() in BOOL_WORDS:
            return BOOL_WORDS[text.lower()]
        raise ValueError(f"--set {name}: expected true/false; got {text!r}")
    if typ is int:
        return parse_number(text, f"--set {name}", integer=True)
    if typ is float:
        return parse_number(text, f"--set {name}")
    if not text.isprintable() or not text.isascii():
        raise ValueError(f"--set {name}: expected printable ASCII text; got {text!r}")
    return text


def replace_from_strings(cfg, overrides: dict[str, str]):
    """Apply ``{"field": "text"}`` overrides (from ``--set key=value``), parsing by field type.

    Unknown fields and unparsable values raise ``ValueError`` naming the key; the new config is
    validated by its ``__post_init__``.
    """
    hints = typing.get_type_hints(type(cfg))
    fields = {f.name for f in dataclasses.fields(cfg)}
    kwargs: dict[str, Any] = {}
    for key, text in overrides.items():
        if key not in fields:
            raise ValueError(f"unknown setting {key!r}; valid settings: {', '.join(sorted(fields))}")
        kwargs[key] = _parse(text, hints[key], key)
    return dataclasses.replace(cfg, **kwargs)
