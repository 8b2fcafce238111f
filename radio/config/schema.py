"""Validating a YAML document against a pydantic model, errors mapped to ``path:line:col``."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from radio.config.diagnostics import CODES, Diagnostic
from radio.config.yamlfile import YamlDoc

M = TypeVar("M", bound=BaseModel)

_VALUE_ERRORS = (
    "literal_error",
    "enum",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_short",
    "too_long",
    "finite_number",
)


def _vocabulary(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every key ``model`` and the models nested in it accept."""
    seen = set() if seen is None else seen
    if model in seen:
        return set()
    seen.add(model)
    keys = set(model.model_fields)
    for field in model.model_fields.values():
        for arg in _types(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                keys |= _vocabulary(arg, seen)
    return keys


def _types(annotation: Any) -> list[Any]:
    found = [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _types(arg)
    return found


def _suggest(key: object, model: type[BaseModel]) -> str:
    close = difflib.get_close_matches(str(key), sorted(_vocabulary(model)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def validate(
    doc: YamlDoc, model: type[M], *, data: Any = None
) -> tuple[M | None, list[Diagnostic]]:
    """Validate ``doc`` (or ``data`` taken from it) as ``model``; collect every error.

    Each pydantic error becomes one diagnostic at the YAML position of its location:
    custom errors carry their code as their type (E101...), unknown keys are E100
    at the key, missing keys E106 at the enclosing mapping, other type errors E106
    and out-of-range values E110.
    """
    value = doc.data if data is None else data
    if value is None:
        value = {}
    try:
        return model.model_validate(value), []
    except ValidationError as exc:
        diagnostics: list[Diagnostic] = []
        seen: set[tuple[int, int, str]] = set()
        for error in exc.errors(include_url=False):
            diagnostic = _diagnostic(doc, error, model)
            key = (diagnostic.line, diagnostic.col, diagnostic.code)
            if key not in seen:  # unions report one error per member: keep the first
                seen.add(key)
                diagnostics.append(diagnostic)
        return None, diagnostics


def _diagnostic(doc: YamlDoc, error: Any, model: type[BaseModel]) -> Diagnostic:
    loc = tuple(error["loc"])
    kind = str(error["type"])
    where = ".".join(str(step) for step in loc) or "file"
    if kind in CODES:
        return doc.diagnostic(loc, kind, str(error["msg"]))
    if kind == "extra_forbidden":
        hint = _suggest(loc[-1], model)
        return doc.diagnostic(loc, "E100", f"unknown key '{loc[-1]}'{hint}", key=True)
    if kind == "missing":
        return doc.diagnostic(loc, "E106", f"missing key '{loc[-1]}'")
    if kind in _VALUE_ERRORS:
        return doc.diagnostic(loc, "E110", f"bad value for {where}: {error['msg']}")
    return doc.diagnostic(loc, "E106", f"wrong type for {where}: {error['msg']}")
