# radio: the station as a container (`radio run`). README.md, "In a container".
#
#   docker build -t radio .
#   docker run -d --name radio \
#     -e DISCORD_TOKEN=... \
#     -v "$PWD/my-station:/station:ro" \
#     -v radio-data:/data \
#     --ulimit rtprio=10 \
#     radio
#
# The station folder (station.yaml with its discord: rooms, schedules/, playlists/,
# media/) is mounted read-only at /station; the station's state (SQLite: requests,
# history, loudness cache; live recordings) lives in the /data volume. Secrets come
# from the environment only (radio/settings.py): DISCORD_TOKEN, and the variables
# station.yaml names for Icecast passwords or extra voices.

# Debian 12 "bookworm": its FFmpeg (5.1) is the one the test suite runs against;
# another release brings another FFmpeg, whose decoders and log lines may differ.
FROM python:3.11-slim-bookworm

# Exactly what `radio run` needs besides Python packages: FFmpeg (ffmpeg, ffprobe)
# for decoding and loudness, libopus for discord.py's encoder. (espeak-ng, Chromium
# and icecast2 serve the demo and the tests, not the station.)
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg libopus0 \
    && rm -rf /var/lib/apt/lists/*

# The package in a virtual environment of its own.
COPY pyproject.toml README.md /src/
COPY radio /src/radio
RUN python -m venv /opt/radio \
    && /opt/radio/bin/pip install --no-cache-dir /src \
    && rm -rf /src

# Not root: a system user owning nothing but the data folder.
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin radio \
    && mkdir -p /data /station \
    && chown radio:radio /data

ENV PATH=/opt/radio/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    RADIO_STATION_FILE=/station/station.yaml \
    RADIO_DATA_DIR=/data

# /station: the station folder, mounted read-only (bind mount).
# /data: SQLite database, caches, live recordings; a named volume (created owned by
# the radio user), or a host folder writable by uid 10001.
VOLUME ["/data"]
WORKDIR /data
USER radio

# The web face (docs/web.md) on station.yaml's web.port, 8080 by default. /healthz
# answers 200 while the station sends frames, 503 when it does not. The check runs
# inside the container, so web.listen may stay 127.0.0.1; publish the port (-p
# 8080:8080, with web.listen 0.0.0.0) only to serve the page or /metrics outside.
# A station whose web.port is not 8080 overrides the check (--health-cmd).
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u\ntry:\n    sys.exit(u.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)\nexcept Exception as e:\n    sys.exit(f'unhealthy: {e}')"]

# The sender thread asks for real-time priority (SCHED_FIFO 10): under load a
# sender at normal priority is late and listeners hear dropouts (docs/engine.md).
# As a non-root user it needs an rtprio limit: docker run --ulimit rtprio=10
# (compose: ulimits: {rtprio: 10}). Without it the station plays and logs how to
# allow it; RADIO_REALTIME_SENDER=false stops asking.
ENTRYPOINT ["radio"]
CMD ["run"]
