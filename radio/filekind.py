"""What kind of file a path is, in words: for the messages that refuse anything but a
regular file (a station's YAML, a media file). A leaf: it imports nothing of radio."""

from __future__ import annotations

import stat


def special_kind(mode: int) -> str:
    """What a file whose ``st_mode`` is ``mode`` is, in words ("a directory", "a FIFO",
    ...); "not a plain file" for any other kind that is not a regular file."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a plain file"
