"""YAML files that remember where everything was written.

ruamel.yaml's round-trip loader keeps the line and column of every key, value and
list item; :class:`YamlDoc` answers "where is ``shows[2].start``?" so that every
diagnostic can say ``path:line:col``. Values are handed out as plain Python
(dict, list, str, int, ...) for validation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from radio.config.diagnostics import Diagnostic, Mark, file_mark

logger = logging.getLogger(__name__)

Loc = Sequence[str | int]


@dataclass(frozen=True)
class YamlDoc:
    """One loaded YAML file: its plain data and the marks of its nodes."""

    path: Path
    node: Any  # the ruamel round-trip tree (CommentedMap/CommentedSeq/scalars)

    @property
    def data(self) -> Any:
        """The document as plain dicts, lists and scalars (None for an empty file)."""
        return plain(self.node)

    def mark(self, loc: Loc, *, key: bool = False) -> Mark:
        """Return where ``loc`` (a path of keys and indexes) was written.

        With ``key=True`` the position of the last mapping key itself, otherwise of
        its value. When ``loc`` leads somewhere that does not exist (a missing key),
        the deepest existing container is returned, so the message still points at
        the right show or playlist.
        """
        node = self.node
        line, col = _container_position(node)
        for index, step in enumerate(loc):
            last = index == len(loc) - 1
            if isinstance(node, CommentedMap) and isinstance(step, str) and step in node:
                if last and key:
                    line, col = node.lc.key(step)
                else:
                    line, col = node.lc.value(step)
                node = node[step]
            elif (
                isinstance(node, CommentedSeq)
                and isinstance(step, int)
                and not isinstance(step, bool)
                and 0 <= step < len(node)
            ):
                line, col = node.lc.item(step)
                node = node[step]
            else:
                break
        return Mark(str(self.path), line + 1, col + 1)

    def diagnostic(self, loc: Loc, code: str, message: str, *, key: bool = False) -> Diagnostic:
        """Shorthand: a diagnostic at ``loc``."""
        return self.mark(loc, key=key).diagnostic(code, message)


def _container_position(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return int(lc.line), int(lc.col)
    return 0, 0


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that leaves timestamps as text.

    Dates and times are checked by our own validators, which report a bad one
    (``2026-13-01``) with its code and position instead of crashing the loader.
    """


_Constructor.add_constructor(
    "tag:yaml.org,2002:timestamp",
    RoundTripConstructor.construct_yaml_str,
)


def plain(node: Any) -> Any:
    """Convert a ruamel round-trip tree to plain dicts, lists and builtin scalars."""
    if isinstance(node, dict):
        return {plain(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def load(path: Path) -> tuple[YamlDoc | None, list[Diagnostic]]:
    """Load ``path``; return the document, or None and an E001/E002 diagnostic.

    Never raises for a bad file: the problem is reported with its position.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [file_mark(path).diagnostic("E002", f"cannot read the file: {exc}")]
    return parse(path, text)


def parse(path: Path, text: str) -> tuple[YamlDoc | None, list[Diagnostic]]:
    """Parse ``text`` as the contents of ``path`` (see :func:`load`)."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "syntax error"
        return None, [Mark(str(path), line, col).diagnostic("E001", f"invalid YAML: {problem}")]
    except (YAMLError, ValueError) as exc:
        return None, [file_mark(path).diagnostic("E001", f"invalid YAML: {exc}")]
    return YamlDoc(path, node), []
