"""The station's commands as the ``help`` command tells them: by level, one line each,
and the details of one command.

This table is the one description of the commands for members; docs/discord.md
and the README's table say the same. ``help`` lists only what the asking member
may use (their levels, :func:`radio.bot.permissions.levels_of`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from radio.bot.limits import fit
from radio.bot.permissions import Level


@dataclass(frozen=True, slots=True)
class CommandHelp:
    """One command: its words after the prefix, who may use it, what it does."""

    name: str  # "live relay", "grid check"
    level: Level
    usage: str  # arguments, as written after the name: "<id> <place>"
    summary: str  # one line
    details: str = ""  # more, for ``help <command>``
    who: str = ""  # when the level alone does not say it (the live commands)


COMMANDS: tuple[CommandHelp, ...] = (
    CommandHelp("help", Level.LISTENER, "[command]", "the commands you may use, or one in detail"),
    CommandHelp(
        "np", Level.LISTENER, "", "what is playing now: title, artist, show, requester, next up"
    ),
    CommandHelp(
        "schedule",
        Level.LISTENER,
        "[day]",
        "a day's programme in station time",
        "The day is `today` (the default), `tomorrow`, a weekday (`mon`…`sun`) or"
        " `YYYY-MM-DD`. Times are the station's time zone.",
    ),
    CommandHelp(
        "history",
        Level.LISTENER,
        "",
        "what played in the last hour (station time)",
    ),
    CommandHelp(
        "request",
        Level.LISTENER,
        "<words>",
        "queue a track by title, artist or album words",
        "The best match among the requestable playlists is queued; other matches are"
        " listed. Requests play at the end of the current track, in queue order. Each"
        " member may have a few requests waiting and must wait a little between two.",
    ),
    CommandHelp(
        "queue",
        Level.LISTENER,
        "",
        "the request queue, numbered as `cancel`, `move` and `remove` count",
        "▶ is the request playing; 1 is the next to play. The one marked *up next* is"
        " already opened by the station; it can still be cancelled, moved or removed"
        " until it starts. The `#` number is the request's id.",
    ),
    CommandHelp(
        "cancel",
        Level.LISTENER,
        "<id>",
        "cancel one of your requests (the # shown by `queue`)",
        "Works until the request starts playing, up next included.",
    ),
    CommandHelp(
        "live status",
        Level.LISTENER,
        "",
        "who is live, since when, what plays (`live` alone says the same)",
    ),
    CommandHelp(
        "live start",
        Level.PRESENTER,
        "",
        "how to connect your encoder (sent privately)",
        who="the show's presenters in their slot, DJs",
    ),
    CommandHelp(
        "live password",
        Level.PRESENTER,
        "",
        "new encoder credentials, sent only to you",
        who="presenters, DJs",
    ),
    CommandHelp(
        "live relay",
        Level.PRESENTER,
        "<url> [force]",
        "put a stream on air; `force` (DJs) ends the session on air first",
        who="the show's presenters in their slot, DJs",
    ),
    CommandHelp(
        "live mic",
        Level.PRESENTER,
        "<on|off|default>",
        "on the stage: whether your talking ducks the music, for this session",
        who="the show's presenters in their slot, DJs",
    ),
    CommandHelp(
        "live stop",
        Level.PRESENTER,
        "",
        "end the live session; the programme resumes",
        who="the presenter on air, DJs",
    ),
    CommandHelp("skip", Level.DJ, "", "cut the current track"),
    CommandHelp(
        "remove",
        Level.DJ,
        "<id>",
        "remove a request from the queue (up next included)",
    ),
    CommandHelp(
        "move",
        Level.DJ,
        "<id> <place>",
        "move a request to a place in the queue as `queue` numbers it",
        "Place 1 plays next: a request already up next goes back to the queue and the"
        " station opens the moved one instead. A place past the end means the end; the"
        " answer says where the request ended up.",
    ),
    CommandHelp("clear", Level.DJ, "", "empty the request queue (the request playing plays on)"),
    CommandHelp(
        "at",
        Level.PROGRAMMER,
        "<time>",
        "what plays at `HH:MM` or `YYYY-MM-DD HH:MM` (station time)",
    ),
    CommandHelp(
        "grid check",
        Level.PROGRAMMER,
        "",
        "check the grid files on disk; nothing changes on air",
    ),
    CommandHelp(
        "grid reload",
        Level.PROGRAMMER,
        "",
        "put the grid files on air now (an invalid grid is refused)",
    ),
    CommandHelp("settings", Level.ADMIN, "", "the station's effective configuration"),
    CommandHelp("join", Level.ADMIN, "", "join the broadcast room"),
    CommandHelp("leave", Level.ADMIN, "", "leave the broadcast room"),
    CommandHelp("diag", Level.OWNER, "", "versions and audio counters"),
)

# The order and the headings of the listing.
_HEADINGS: tuple[tuple[Level, str], ...] = (
    (Level.LISTENER, "Everyone"),
    (Level.PRESENTER, "Presenters"),
    (Level.DJ, "DJs"),
    (Level.PROGRAMMER, "Programmers"),
    (Level.ADMIN, "Admins"),
    (Level.OWNER, "Owner"),
)


def find(words: str) -> CommandHelp | None:
    """The command named by ``words`` (``live relay``, ``/move``, ``!np``), or None.
    A group's name alone (``grid``, ``live``) names its first subcommand."""
    name = " ".join(words.strip().lstrip("/!").lower().split())
    for command in COMMANDS:
        if command.name == name:
            return command
    for command in COMMANDS:
        if command.name.split()[0] == name:
            return command
    return None


def usage(command: CommandHelp, prefix: str) -> str:
    """How to write ``command``: ``!move <id> <place>``."""
    return f"{prefix}{command.name} {command.usage}".rstrip()


def format_help(levels: Iterable[Level], prefix: str) -> str:
    """The commands a member holding ``levels`` may use, by level, one line each."""
    held = set(levels)
    lines = [
        f"**Commands** (slash `/name`, or `{prefix}name`); `{prefix}help <command>` tells more."
    ]
    for level, heading in _HEADINGS:
        if level not in held:
            continue
        mine = [c for c in COMMANDS if c.level is level]
        if not mine:
            continue
        lines.append(f"**{heading}**")
        lines += [f"`{usage(c, prefix)}` {c.summary}" for c in mine]
    return fit("\n".join(lines))


def format_details(command: CommandHelp, prefix: str) -> str:
    """``help <command>``: usage, who may use it, what it does."""
    who = command.who or dict(_HEADINGS)[command.level].lower()
    lines = [f"`{usage(command, prefix)}`: {command.summary}.", f"Who: {who}."]
    if command.details:
        lines.append(command.details)
    return fit("\n".join(lines))
