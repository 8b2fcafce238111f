"""libopus's decoder through ctypes: the station's packets back to PCM, for the MP3 mount.

The MP3 mount decodes the station's own Opus packets (the ones sent to
Discord) before FFmpeg encodes them to MP3. discord.py's ``opus.Decoder``
would do, but hands each frame's 1,920 samples through a Python list
(``array('h', pcm[:n]).tobytes()``), which costs twice what libopus's decode
itself costs (BENCHMARKS.md, "The MP3 mount"). This one decodes into a buffer
it keeps and copies the bytes out once; the output is the same, sample for
sample (tests/outputs/test_mp3_parts.py). libopus is found the way discord.py
finds it on Linux (``ctypes.util.find_library("opus")``), and nothing here
imports discord (DESIGN.md: only radio/bot does).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import weakref
from typing import Final

from radio.audio.frames import CHANNELS, SAMPLE_RATE
from radio.errors import OutputError

MAX_SAMPLES: Final = 5760  # per channel: 120 ms at 48 kHz, the longest Opus packet
_BYTES_PER_SAMPLE: Final = CHANNELS * 2

_loaded: ctypes.CDLL | None = None
_loading = threading.Lock()


def _libopus() -> ctypes.CDLL:
    """libopus, loaded once; raises OutputError when it is not installed."""
    global _loaded
    with _loading:
        if _loaded is None:
            name = ctypes.util.find_library("opus")
            if name is None:
                raise OutputError("libopus is not installed (apt-get install libopus0)")
            try:
                lib = ctypes.CDLL(name)
            except OSError as exc:
                raise OutputError(f"cannot load libopus ({name}): {exc}") from exc
            lib.opus_decoder_create.restype = ctypes.c_void_p
            lib.opus_decoder_create.argtypes = [
                ctypes.c_int32,
                ctypes.c_int,
                ctypes.POINTER(ctypes.c_int),
            ]
            lib.opus_decode.restype = ctypes.c_int
            lib.opus_decode.argtypes = [
                ctypes.c_void_p,
                ctypes.c_char_p,
                ctypes.c_int32,
                ctypes.c_void_p,
                ctypes.c_int,
                ctypes.c_int,
            ]
            lib.opus_decoder_destroy.restype = None
            lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
            lib.opus_strerror.restype = ctypes.c_char_p
            lib.opus_strerror.argtypes = [ctypes.c_int]
            _loaded = lib
        return _loaded


class OpusPcmDecoder:
    """One libopus decoder: 48 kHz stereo packets in, s16le PCM out (3,840 bytes per 20 ms).

    Not thread-safe (one output's worker uses it). Raises OutputError when
    libopus cannot be loaded or refuses to make a decoder.
    """

    def __init__(self) -> None:
        lib = _libopus()
        error = ctypes.c_int(0)
        state = lib.opus_decoder_create(SAMPLE_RATE, CHANNELS, ctypes.byref(error))
        if error.value != 0 or not state:
            raise OutputError(f"libopus made no decoder: {_why(lib, error.value)}")
        self._lib = lib
        self._state = ctypes.c_void_p(state)
        self._buffer = ctypes.create_string_buffer(MAX_SAMPLES * _BYTES_PER_SAMPLE)
        self._free = weakref.finalize(self, lib.opus_decoder_destroy, self._state)

    def decode(self, data: bytes, *, fec: bool = False) -> bytes:
        """The PCM of ``data``, one Opus packet. Raises OutputError for a packet libopus refuses."""
        samples = self._lib.opus_decode(
            self._state, data, len(data), self._buffer, MAX_SAMPLES, int(fec)
        )
        if samples < 0:
            raise OutputError(f"libopus could not decode a packet: {_why(self._lib, samples)}")
        return ctypes.string_at(self._buffer, samples * _BYTES_PER_SAMPLE)

    def close(self) -> None:
        """Free the decoder now (otherwise when it is collected). Idempotent."""
        self._free()


def _why(lib: ctypes.CDLL, code: int) -> str:
    text = lib.opus_strerror(code)
    return text.decode("ascii", "replace") if isinstance(text, bytes) else str(code)


__all__ = ["OpusPcmDecoder"]
