"""CPU of the Icecast output (Ogg/Opus mount) per second of audio, against a real icecast2.

The station's packets (128 kb/s CELT from discord.py's encoder, pink noise so
that packets are music-sized) are encoded beforehand; what is measured is what
the output adds to the station's process:

* the tap on the sender thread (``IcecastOutput.packet``: a queue put), with
  ``time.thread_time()`` around each call;
* the output's worker thread (Ogg pages, CRCs, the socket writes), with the
  thread's own CPU clock (``pthread_getcpuclockid``).

Two runs: paced like the sender (one packet every 20 ms, a title change, so a
new chain, every 10 s), and as fast as the worker takes them (warm caches).
Icecast runs as a child process and is not counted.

    .venv/bin/python -m bench.icecast_output [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from radio.bot.audio import music_encoder
from radio.outputs.icecast import IcecastOutput, StreamTitle
from radio.outputs.icecast_client import IcecastMount, SourceInfo

PASSWORD = "bench-secret"
FRAME = 960
RATE = 48_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_icecast(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """icecast2 in the foreground on 127.0.0.1:port (as nobody when run as root)."""
    binary = shutil.which("icecast2")
    if binary is None:
        sys.exit("icecast2 is not installed (apt-get install icecast2)")
    owner = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
    config = folder / "icecast.xml"
    config.write_text(
        f"""<icecast><hostname>127.0.0.1</hostname><location>bench</location>
<admin>bench@localhost</admin><limits><sources>2</sources></limits>
<authentication><source-password>{PASSWORD}</source-password>
<admin-user>admin</admin-user><admin-password>{PASSWORD}</admin-password></authentication>
<listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
<paths><basedir>{folder}</basedir><logdir>{folder}</logdir>
<webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
<logging><accesslog>-</accesslog><errorlog>-</errorlog><loglevel>2</loglevel></logging>
<security><chroot>0</chroot>{owner if os.geteuid() == 0 else ""}</security></icecast>
"""
    )
    log = open(folder / "icecast.log", "wb")  # noqa: SIM115 - the child keeps it
    process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/status-json.xsl", timeout=2).read()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("icecast2 did not start")


def music_packets(seconds: float) -> list[bytes]:
    """Pink noise at -14 dBFS RMS through the station's encoder: music-sized packets."""
    rng = np.random.default_rng(7)
    n = int(seconds * RATE)
    white = np.fft.rfft(rng.standard_normal(n))
    white[1:] /= np.sqrt(np.arange(1, len(white)))
    pink = np.fft.irfft(white, n)
    pink *= 10 ** (-14 / 20) * 32767 / np.sqrt(np.mean(pink**2))
    samples = np.clip(pink, -32767, 32767).astype("<i2")
    pcm = np.repeat(samples[:, None], 2, axis=1).tobytes()
    encoder = music_encoder()
    step = FRAME * 4
    return [encoder.encode(pcm[i : i + step], FRAME) for i in range(0, len(pcm) - step + 1, step)]


def worker_clock(output: IcecastOutput) -> int:
    """The CPU clock id of the output's worker thread."""
    for thread in threading.enumerate():
        if thread.name == f"icecast{output.mount.mount}" and thread.ident is not None:
            return time.pthread_getcpuclockid(thread.ident)
    raise RuntimeError("the output's thread is not running")


def run(port: int, packets: list[bytes], *, paced: bool) -> tuple[float, float, int]:
    """Feed ``packets``; return (worker CPU s, tap CPU s, packets sent)."""
    output = IcecastOutput(
        IcecastMount("127.0.0.1", port, "/bench.opus"),
        PASSWORD,
        monotonic=time.monotonic,
        info=SourceInfo(name="bench"),
        capacity=len(packets) + 100,  # the fast run must not drop (titles count too)
    )
    output.title(StreamTitle("Track 0", "Bench"))
    output.start()
    deadline = time.monotonic() + 30
    while not output.stats().up:
        if time.monotonic() > deadline:
            sys.exit("the output did not connect")
        time.sleep(0.01)
    clock = worker_clock(output)
    worker_start = time.clock_gettime(clock)
    tap = 0.0
    due = time.monotonic()
    for index, packet in enumerate(packets):
        if index and index % 500 == 0:
            output.title(StreamTitle(f"Track {index // 500}", "Bench"))
        started = time.thread_time()
        output.packet(packet)
        tap += time.thread_time() - started
        if paced:
            due += 0.02
            time.sleep(max(0.0, due - time.monotonic()))
    while output.stats().sent < len(packets) - 10:  # the last page waits for its successor
        time.sleep(0.01)
    worker = time.clock_gettime(clock) - worker_start
    sent = output.stats().sent
    output.close()
    return worker, tap, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    packets = music_packets(args.seconds)
    audio = len(packets) * FRAME / RATE
    mean = sum(map(len, packets)) / len(packets)
    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()},")
    print(f"Python {platform.python_version()}, load {os.getloadavg()}")
    print(f"{len(packets)} packets ({audio:.0f} s of audio), mean {mean:.0f} B")
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        icecast = start_icecast(Path(folder), port)
        try:
            for paced in (True, False):
                worker, tap, sent = run(port, packets, paced=paced)
                label = "paced (20 ms)" if paced else "as fast as taken"
                print(
                    f"{label}: worker {worker / audio * 100:.3f} % of a core,"
                    f" tap {tap / audio * 100:.3f} %,"
                    f" total {(worker + tap) / audio * 100:.3f} % ({sent} packets sent)"
                )
        finally:
            icecast.terminate()
            icecast.wait(10)
    print(f"load at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
