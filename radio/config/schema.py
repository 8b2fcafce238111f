"""Validating a YAML document against a pydantic model, errors mapped to ``path:line:col``."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from radio.config.diagnostics import CODES, Diagnostic
from radio.config.yamlfile import YamlDoc

M = TypeVar("M", bound=BaseModel)

_VALUE_ERRORS = ("literal_error", "enum", "greater_than", "less_than", "too_short", "too_long")


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
            diagnostic = _diagnostic(doc, error)
            key = (diagnostic.line, diagnostic.col, diagnostic.code)
            if key not in seen:  # unions report one error per member: keep the first
                seen.add(key)
                diagnostics.append(diagnostic)
        return None, diagnostics


def _diagnostic(doc: YamlDoc, error: Any) -> Diagnostic:
    loc = tuple(error["loc"])
    kind = str(error["type"])
    where = ".".join(str(step) for step in loc) or "file"
    if kind in CODES:
        return doc.diagnostic(loc, kind, str(error["msg"]))
    if kind == "extra_forbidden":
        return doc.diagnostic(loc, "E100", f"unknown key '{loc[-1]}'", key=True)
    if kind == "missing":
        return doc.diagnostic(loc, "E106", f"missing key '{loc[-1]}'")
    if kind in _VALUE_ERRORS:
        return doc.diagnostic(loc, "E110", f"bad value for {where}: {error['msg']}")
    return doc.diagnostic(loc, "E106", f"wrong type for {where}: {error['msg']}")
