"""Discord's length limits on a message body, checked the way Discord checks them.

A message (create, edit, interaction callback, follow-up, webhook edit) over a
limit is refused with HTTP 400 and Discord's "Invalid Form Body" answer: code
50035 and an ``errors`` tree that mirrors the body's path down to the field at
fault, each leaf an ``_errors`` list::

    {"code": 50035, "message": "Invalid Form Body",
     "errors": {"embeds": {"0": {"fields": {"3": {"value": {"_errors": [
         {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 1024 or fewer in length."}]}}}}}}}

The total of the embeds' text (titles, descriptions, field names and values,
footers, author names: 6,000 characters for the whole message) is reported on
``embeds`` itself with the code ``MAX_EMBED_SIZE_EXCEEDED``. An interaction
callback carries its message under ``data``, so its paths start there. Lengths
are counted in characters (code points). These are Discord's published numbers,
kept here on their own: the emulator is the judge of the bot, so it does not
read the bot's copy of them.
"""

from __future__ import annotations

from typing import Any

INVALID_FORM_BODY = 50035
CONTENT = 2000
EMBEDS = 10
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
EMBEDS_TOTAL = 6000

Errors = dict[str, Any]


def _too_long(limit: int) -> Errors:
    return {
        "_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
        ]
    }


def _put(tree: Errors, path: tuple[str, ...], leaf: Errors) -> None:
    node = tree
    for key in path:
        node = node.setdefault(key, {})
    node.setdefault("_errors", []).extend(leaf["_errors"])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _check_embed(embed: Any, where: tuple[str, ...], errors: Errors) -> int:
    """Check one embed's fields into ``errors``; return its text's length."""
    if not isinstance(embed, dict):
        return 0
    total = 0
    for key, limit in (("title", TITLE), ("description", DESCRIPTION)):
        text = _text(embed.get(key))
        total += len(text)
        if len(text) > limit:
            _put(errors, (*where, key), _too_long(limit))
    for key, inner, limit in (("footer", "text", FOOTER_TEXT), ("author", "name", AUTHOR_NAME)):
        part = embed.get(key)
        text = _text(part.get(inner)) if isinstance(part, dict) else ""
        total += len(text)
        if len(text) > limit:
            _put(errors, (*where, key, inner), _too_long(limit))
    fields = embed.get("fields") or []
    if isinstance(fields, list):
        if len(fields) > FIELDS:
            _put(errors, (*where, "fields"), _too_long(FIELDS))
        for index, field in enumerate(fields):
            if not isinstance(field, dict):
                continue
            for key, limit in (("name", FIELD_NAME), ("value", FIELD_VALUE)):
                text = _text(field.get(key))
                total += len(text)
                if len(text) > limit:
                    _put(errors, (*where, "fields", str(index), key), _too_long(limit))
    return total


def message_errors(body: dict[str, Any], prefix: tuple[str, ...] = ()) -> Errors:
    """The ``errors`` tree for a message ``body`` (empty when it keeps every limit).

    ``prefix`` is where the message sits in the request (``("data",)`` for an
    interaction callback). Only keys present in the body are checked, as Discord
    does for an edit.
    """
    errors: Errors = {}
    content = body.get("content")
    if content is not None and len(_text(content)) > CONTENT:
        _put(errors, (*prefix, "content"), _too_long(CONTENT))
    embeds = body.get("embeds")
    if isinstance(embeds, list):
        if len(embeds) > EMBEDS:
            _put(errors, (*prefix, "embeds"), _too_long(EMBEDS))
        total = sum(
            _check_embed(embed, (*prefix, "embeds", str(index)), errors)
            for index, embed in enumerate(embeds)
        )
        if total > EMBEDS_TOTAL:
            node = errors
            for key in (*prefix, "embeds"):
                node = node.setdefault(key, {})
            node.setdefault("_errors", []).append(
                {
                    "code": "MAX_EMBED_SIZE_EXCEEDED",
                    "message": f"Embed size exceeds maximum size of {EMBEDS_TOTAL}",
                }
            )
    return errors


def invalid_form_body(errors: Errors) -> dict[str, Any]:
    """Discord's whole 400 answer for ``errors``."""
    return {"message": "Invalid Form Body", "code": INVALID_FORM_BODY, "errors": errors}
