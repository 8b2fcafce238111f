"""Why did discord.py let a voice connection go? Learnt from its own voice log.

discord.py 2.7.1 resumes or reconnects a voice connection by itself after most
close codes, and lets it go after 1000, 4014, 4021 and 4022, and after a 4015
whose resume failed. The station must rejoin in the last case and must not in
the others, but discord.py keeps the close code to itself (and aiohttp's
``close_code`` is overwritten with 1006 by the time anyone can look). It does
log each decision, though, from the task that polls that connection, followed
by "The voice handshake is being terminated for Channel ID … (Guild ID …)",
usually from the same task. :class:`VoiceCloseLog` is a logging handler that
pairs the two by task and remembers the close code per guild. When another
task terminates the connection (a kick: the gateway's task handles the voice
state first), the pairing falls back to the only unpaired code, if there is
exactly one; with several guilds failing at the same instant it gives up
(unknown) rather than guess.

The message templates are discord.py 2.7.1's; the bot's end-to-end tests on the
local Discord pin them (4014, 4015, 4021). An unrecognised ending reads as
unknown, and the keeper rejoins with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Final

VOICE_LOGGER: Final = "discord.voice_state"

# discord.py's message template → the close code it stands for (None: in the args).
_ENDINGS: Final[dict[str, int | None]] = {
    "Disconnecting from voice normally, close code %d.": None,
    "Disconnected from voice by discord, close code %d.": None,
    "Disconnected from voice by force... potentially reconnecting.": 4014,  # or 4022
    "We are being ratelimited while trying to connect to voice. Disconnecting...": 4021,
    "Could not resume the voice connection... Disconnecting...": 4015,
}
_TERMINATED: Final = "The voice handshake is being terminated for Channel ID %s (Guild ID %s)"


class VoiceCloseLog(logging.Handler):
    """Remembers, per guild, the close code after which discord.py let voice go."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._by_task: dict[asyncio.Task[object], int] = {}
        self._by_guild: dict[int, int] = {}
        self._guard = threading.Lock()

    def install(self) -> None:
        """Listen to discord.py's voice logger (and make sure it logs INFO). Idempotent."""
        voice = logging.getLogger(VOICE_LOGGER)
        if self not in voice.handlers:
            voice.addHandler(self)
        if not voice.isEnabledFor(logging.INFO):
            voice.setLevel(logging.INFO)

    def uninstall(self) -> None:
        """Stop listening."""
        logging.getLogger(VOICE_LOGGER).removeHandler(self)

    def take(self, guild_id: int) -> int | None:
        """The close code that ended ``guild_id``'s last connection, once; None if unknown."""
        with self._guard:
            return self._by_guild.pop(guild_id, None)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # logged from a thread without a loop: not a poll task
            return
        if task is None:
            return
        key = task
        template = str(record.msg)
        with self._guard:
            # A finished task's unpaired code can no longer be claimed by anyone.
            for done in [t for t in self._by_task if t.done()]:
                del self._by_task[done]
            if template in _ENDINGS:
                code = _ENDINGS[template]
                if code is None and isinstance(record.args, tuple) and record.args:
                    code = _integer(record.args[0])
                if code is not None:
                    self._by_task[key] = code
            elif template == _TERMINATED and isinstance(record.args, tuple):
                code = self._by_task.pop(key, None)
                if code is None and len(self._by_task) == 1:
                    # Another task is ending the connection (a kick is handled by
                    # the gateway's task while the polling task logged the code);
                    # with a single unpaired code there is no doubt whose it is.
                    code = self._by_task.popitem()[1]
                guild_id = _integer(record.args[1]) if len(record.args) > 1 else None
                if code is not None and guild_id is not None:
                    self._by_guild[guild_id] = code


def _integer(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
