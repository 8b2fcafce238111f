"""A FIFO of bytes that pops exact amounts without copying the whole buffer.

Not thread-safe by itself: the decoder guards it with its own lock.
"""

from __future__ import annotations

from collections import deque


class ByteQueue:
    """Chunks appended at the back, exact byte counts popped from the front."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # bytes already consumed from the first chunk
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, chunk: bytes) -> None:
        """Add ``chunk`` at the back (empty chunks are ignored)."""
        if chunk:
            self._chunks.append(chunk)
            self._size += len(chunk)

    def pop(self, count: int) -> bytes:
        """Remove and return the first ``min(count, len(self))`` bytes."""
        count = min(count, self._size)
        parts: list[bytes] = []
        wanted = count
        while wanted:
            first = self._chunks[0]
            available = len(first) - self._offset
            if available <= wanted:
                parts.append(first[self._offset :] if self._offset else first)
                self._chunks.popleft()
                self._offset = 0
                wanted -= available
            else:
                parts.append(first[self._offset : self._offset + wanted])
                self._offset += wanted
                wanted = 0
        self._size -= count
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def clear(self) -> None:
        """Drop everything."""
        self._chunks.clear()
        self._offset = 0
        self._size = 0
