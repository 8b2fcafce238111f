"""A real Icecast 2 (Debian's ``icecast2``) run by the tests on 127.0.0.1, and a raw listener.

The server gets a generated icecast.xml: a free port on 127.0.0.1, its own
source and admin passwords, logs on its stderr (kept in a file). Icecast refuses
to run as root unless it is told to change owner: as root (CI) it drops to
``nobody``/``nogroup``, which is also why it logs to stderr (``-``) rather than
into a folder of ``tmp_path`` that ``nobody`` could not enter.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from radio.outputs.oggopus import ogg_crc

SOURCE_PASSWORD = "source-secret"
ADMIN_PASSWORD = "admin-secret"
WEB = Path("/usr/share/icecast2/web")
ADMIN = Path("/usr/share/icecast2/admin")
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Any, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition()`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class IcecastExited(AssertionError):
    """Icecast exited while it was starting (its log is the message)."""


class IcecastServer:
    """One ``icecast2 -c icecast.xml`` in the foreground; :meth:`kill` and :meth:`start` again."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("icecast2")
        if binary is None:
            pytest.fail("icecast2 is not installed (scripts/test installs it)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.config = folder / "icecast.xml"
        self.log = folder / "icecast.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._started_once = False  # once it answered, a restart keeps its port
        self._write_config()

    def _write_config(self) -> None:
        owner = ""
        if os.geteuid() == 0:
            owner = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
        self.config.write_text(
            f"""<icecast>
  <location>tests</location>
  <admin>tests@localhost</admin>
  <hostname>127.0.0.1</hostname>
  <limits><clients>20</clients><sources>4</sources><source-timeout>10</source-timeout></limits>
  <authentication>
    <source-password>{escape(SOURCE_PASSWORD)}</source-password>
    <admin-user>admin</admin-user>
    <admin-password>{escape(ADMIN_PASSWORD)}</admin-password>
  </authentication>
  <listen-socket><port>{self.port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths>
    <basedir>{escape(str(self.folder))}</basedir>
    <logdir>{escape(str(self.folder))}</logdir>
    <webroot>{WEB}</webroot>
    <adminroot>{ADMIN}</adminroot>
  </paths>
  <logging><accesslog>-</accesslog><errorlog>-</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>{owner}</security>
</icecast>
"""
        )

    def start(self, *, attempts: int = 3) -> None:
        """Start the server and wait until it answers its status page.

        A server that exits while starting is started again on a fresh port, at
        most ``attempts`` times in all: the port was free when it was chosen, but
        another xdist worker may take it first, and once, on a busy machine,
        Icecast 2.4.4 exited right after logging "server started" with no error
        (cause not found). A restart after :meth:`kill` keeps its port (the
        station was given it) and fails at once.
        """
        for attempt in range(1, attempts + 1):
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(
                    [self.binary, "-c", str(self.config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            try:
                wait_for(self._answers, START_TIMEOUT, f"icecast2 on port {self.port} ({self.log})")
                return
            except IcecastExited:
                if attempt == attempts or self._started_once:
                    raise
                self.port = free_port()
                self._write_config()
            finally:
                if self.process.poll() is None:
                    self._started_once = True

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise IcecastExited(f"icecast2 exited: {self.log.read_text(errors='replace')}")
        try:
            self.status()
        except (OSError, ValueError):
            return False
        return True

    def status(self) -> dict[str, Any]:
        """Icecast's /status-json.xsl, parsed."""
        url = f"http://127.0.0.1:{self.port}/status-json.xsl"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.loads(answer.read().decode("utf-8", "replace"))  # type: ignore[no-any-return]

    def mount(self, name: str) -> dict[str, Any] | None:
        """The status of the source on ``name`` (``/radio.opus``), None when there is none."""
        try:
            sources = self.status()["icestats"].get("source")
        except (OSError, ValueError, urllib.error.URLError):
            return None
        if isinstance(sources, dict):
            sources = [sources]
        for source in sources or []:
            if str(source.get("listenurl", "")).endswith(name):
                return dict(source)
        return None

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL the server and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class RawListener:
    """A listener reading the mount's bytes as they come (a plain HTTP GET), on a thread."""

    def __init__(self, port: int, mount: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(f"GET {mount} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        self.head = b""
        self.body = bytearray()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        data = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                if not self.head:
                    data += chunk
                    if b"\r\n\r\n" in data:
                        self.head, _, rest = data.partition(b"\r\n\r\n")
                        with self.lock:
                            self.body += rest
                    continue
                with self.lock:
                    self.body += chunk
        except OSError:
            return

    def received(self) -> bytes:
        with self.lock:
            return bytes(self.body)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(10)


@dataclass
class Chain:
    """One logical stream of an Ogg capture, as our own demuxer sees it."""

    serial: int
    head: bytes = b""
    tags: dict[str, str] = field(default_factory=dict)
    pre_skip: int = 0
    packets: list[bytes] = field(default_factory=list)
    granules: list[int] = field(default_factory=list)  # of each audio page
    bos: bool = False
    eos: bool = False


def demux(data: bytes) -> list[Chain]:
    """Split an Ogg capture into its chained logical streams and their packets.

    Checks every page's CRC and that a page only continues a packet of its own
    stream; a torn last page (the capture stopped mid-page) is ignored.
    """
    chains: list[Chain] = []
    by_serial: dict[int, Chain] = {}
    partial: dict[int, bytes] = {}
    offset = 0
    while offset + 27 <= len(data):
        assert data[offset : offset + 4] == b"OggS", f"no page at {offset}"
        flags, granule, serial, _seq, crc, count = struct.unpack_from("<BqIIIB", data, offset + 5)
        end_lacing = offset + 27 + count
        if end_lacing > len(data):
            break
        lacing = data[offset + 27 : end_lacing]
        end = end_lacing + sum(lacing)
        if end > len(data):
            break
        page = bytearray(data[offset:end])
        struct.pack_into("<I", page, 22, 0)
        assert ogg_crc(page) == crc, f"bad CRC on the page at {offset}"
        chain = by_serial.get(serial)
        if chain is None:
            chain = Chain(serial)
            by_serial[serial] = chain
            chains.append(chain)
        if flags & 0x02:
            chain.bos = True
        packet = partial.pop(serial, b"") if flags & 0x01 else b""
        position = end_lacing
        audio_before = len(chain.packets)
        for value in lacing:
            packet += data[position : position + value]
            position += value
            if value < 255:
                _packet_out(chain, packet)
                packet = b""
        if packet:
            partial[serial] = packet
        if len(chain.packets) > audio_before:
            chain.granules.append(granule)
        if flags & 0x04:
            chain.eos = True
        offset = end
    return chains


def _packet_out(chain: Chain, packet: bytes) -> None:
    if packet.startswith(b"OpusHead"):
        chain.head = packet
        chain.pre_skip = struct.unpack_from("<H", packet, 10)[0]
        return
    if packet.startswith(b"OpusTags"):
        vendor = struct.unpack_from("<I", packet, 8)[0]
        position = 12 + vendor
        count = struct.unpack_from("<I", packet, position)[0]
        position += 4
        for _ in range(count):
            length = struct.unpack_from("<I", packet, position)[0]
            comment = packet[position + 4 : position + 4 + length].decode()
            key, _, value = comment.partition("=")
            chain.tags[key.upper()] = value
            position += 4 + length
        return
    chain.packets.append(packet)
