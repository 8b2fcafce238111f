"""YAML files that remember where everything was written.

ruamel.yaml's round-trip loader keeps the line and column of every key, value and
list item; :class:`YamlDoc` answers "where is ``shows[2].start``?" so that every
diagnostic can say ``path:line:col``. Values are handed out as plain Python
(dict, list, str, int, ...) for validation.

Loading is bounded whatever the file holds: only regular files are opened (a
FIFO would block the reader: it is refused from ``os.stat`` and opened with
``O_NONBLOCK`` in case it is swapped in between), at most :data:`MAX_BYTES` are
read (E004), and the event stream is screened before anything is built: nesting
deeper than :data:`MAX_DEPTH` (E005), aliases that expand to more than
:data:`MAX_NODES` nodes or refer to themselves (E006) and plain numbers of more
than :data:`MAX_DIGITS` digits (E110) are reported at their position, without
building the document. Invalid UTF-8 and characters YAML forbids (NUL...) are
reported where they are.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    MappingEndEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
)
from ruamel.yaml.reader import ReaderError

from radio.config.diagnostics import Diagnostic, Mark, file_mark
from radio.filekind import special_kind

logger = logging.getLogger(__name__)

Loc = Sequence[str | int]

#: The largest configuration file read (a grid of hundreds of shows is tens of kB;
#: ruamel parses about 200 kB a second).
MAX_BYTES: Final = 256 * 1024
#: The deepest nesting of mappings and sequences (a grid file needs about 6).
MAX_DEPTH: Final = 20
#: The most nodes a document may hold once its aliases are expanded.
MAX_NODES: Final = 100_000
#: The longest plain integer (Python refuses to convert more than 4300 digits).
MAX_DIGITS: Final = 100
_INTEGER = re.compile(r"^[-+]?(?:0[xob])?[0-9a-fA-F_]+$")


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
    """Load ``path``; return the document, or None and one diagnostic.

    E002 when it cannot be read or is not UTF-8 (at the first invalid byte), E003
    when it is not a regular file, E004 when it is larger than :data:`MAX_BYTES`,
    and what :func:`parse` reports. Never raises for a bad file and never blocks
    on one.
    """
    data, problem = read_bounded(path, MAX_BYTES)
    if problem is not None:
        return None, [problem]
    assert data is not None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _byte_position(data, exc.start)
        return None, [
            Mark(str(path), line, col).diagnostic(
                "E002", f"cannot read the file: not UTF-8 (byte 0x{data[exc.start]:02x})"
            )
        ]
    return parse(path, text)


def read_bounded(path: Path, limit: int) -> tuple[bytes | None, Diagnostic | None]:
    """The bytes of the regular file ``path`` (at most ``limit``), or the diagnostic why not.

    The file is checked with ``os.stat`` before it is opened and opened
    non-blocking, so a FIFO, a device or a socket is refused (E003) without
    waiting for a writer; E004 when it holds more than ``limit`` bytes, E002
    when it cannot be read.
    """
    mark = file_mark(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None, _not_regular(mark, info.st_mode)
        if info.st_size > limit:
            return None, _too_large(mark, limit)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return None, mark.diagnostic("E002", f"cannot read the file: {exc.strerror or exc}")
    try:
        opened = os.fstat(fd)  # it may have been replaced between stat and open
        if not stat.S_ISREG(opened.st_mode):
            return None, _not_regular(mark, opened.st_mode)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        return None, mark.diagnostic("E002", f"cannot read the file: {exc.strerror or exc}")
    finally:
        os.close(fd)
    if size > limit:
        return None, _too_large(mark, limit)
    return b"".join(chunks), None


def _not_regular(mark: Mark, mode: int) -> Diagnostic:
    return mark.diagnostic("E003", f"not a regular file ({special_kind(mode)})")


def _too_large(mark: Mark, limit: int) -> Diagnostic:
    return mark.diagnostic("E004", f"the file is larger than {limit // 1024} kB: split it")


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``offset``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    prefix = data[line_start:offset].decode("utf-8", errors="replace")
    return data.count(b"\n", 0, offset) + 1, len(prefix) + 1


def _text_position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index`` of ``text``."""
    index = max(0, min(index, len(text)))
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def parse(path: Path, text: str) -> tuple[YamlDoc | None, list[Diagnostic]]:
    """Parse ``text`` as the contents of ``path`` (see :func:`load`).

    E001 for a syntax error or a forbidden character (at its position); E005,
    E006 and E110 when the screen refuses the document (see the module docstring).
    """
    try:
        refused = _screen(path, text)
        if refused is not None:
            return None, [refused]
        yaml = YAML(typ="rt")
        yaml.Constructor = _Constructor
        yaml.allow_duplicate_keys = False
        node = yaml.load(text)
    except ReaderError as exc:
        line, col = _text_position(text, int(exc.position))
        char = exc.character
        code = ord(char) if isinstance(char, str) and len(char) == 1 else char
        what = f"character #x{code:04x}" if isinstance(code, int) else "character"
        return None, [
            Mark(str(path), line, col).diagnostic(
                "E001", f"invalid YAML: unacceptable {what} ({exc.reason})"
            )
        ]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "syntax error"
        return None, [Mark(str(path), line, col).diagnostic("E001", f"invalid YAML: {problem}")]
    except (YAMLError, ValueError, RecursionError) as exc:
        return None, [file_mark(path).diagnostic("E001", f"invalid YAML: {exc}")]
    return YamlDoc(path, node), []


def _screen(path: Path, text: str) -> Diagnostic | None:
    """Walk the event stream once, in bounded memory, before anything is built.

    Returns the first reason to refuse the document (E005, E006, E110), or None.
    Each node counts 1 plus its children; an alias counts as much as the node it
    names, so the total is the size of the document once its aliases are expanded.
    """
    yaml = YAML(typ="rt")
    # sizes of the collections being read (innermost last), and of finished anchors
    open_sizes: list[int] = [0]
    open_anchors: list[str | None] = []
    anchored: dict[str, int] = {}
    for event in yaml.parse(text):
        mark = event.start_mark
        where = Mark(str(path), mark.line + 1, mark.column + 1)
        if isinstance(event, AliasEvent):
            alias = str(event.anchor)
            if alias in open_anchors:
                return where.diagnostic("E006", f"the alias *{alias} refers to itself")
            open_sizes[-1] += anchored.get(alias, 1)
        elif isinstance(event, CollectionStartEvent):
            if len(open_anchors) >= MAX_DEPTH:
                return where.diagnostic("E005", f"nested more than {MAX_DEPTH} levels deep")
            open_sizes.append(1)
            open_anchors.append(_anchor(event))
        elif isinstance(event, MappingEndEvent | SequenceEndEvent):
            size = open_sizes.pop()
            name = open_anchors.pop()
            if name is not None:
                anchored[name] = size
            open_sizes[-1] += size
        elif isinstance(event, ScalarEvent):
            name = _anchor(event)
            if name is not None:
                anchored[name] = 1
            open_sizes[-1] += 1
            value = event.value
            if event.style is None and len(value) > MAX_DIGITS and _INTEGER.match(value):
                return where.diagnostic(
                    "E110", f"bad value: a number of {len(value)} digits is too large"
                )
        if sum(open_sizes) > MAX_NODES:
            return where.diagnostic(
                "E006", f"the document expands to more than {MAX_NODES} nodes (aliases?)"
            )
    return None


def _anchor(event: NodeEvent) -> str | None:
    anchor = event.anchor
    return None if anchor is None else str(anchor)
