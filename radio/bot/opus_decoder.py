"""libopus's decoder, for the outputs that need the station's audio back from its packets.

The MP3 mount (:mod:`radio.outputs.mp3`) decodes the station's own Opus
packets, the ones sent to Discord, before FFmpeg encodes them to MP3. Only
radio/bot imports discord (DESIGN.md): the application hands this factory to
the output, which knows a decoder only as something that ``decode()``-s.
"""

from __future__ import annotations

import discord.opus


def opus_decoder() -> discord.opus.Decoder:
    """A fresh 48 kHz stereo libopus decoder (discord.py's): 20 ms packets to 3,840 bytes.

    Raises ``discord.opus.OpusNotLoaded`` when libopus cannot be loaded.
    """
    return discord.opus.Decoder()  # type: ignore[no-untyped-call]


__all__ = ["opus_decoder"]
