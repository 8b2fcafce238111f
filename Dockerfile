# radio: the station as a container. Secrets come from the environment (DISCORD_TOKEN, ...).
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg libopus0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY radio ./radio
RUN pip install --no-cache-dir .

# The station's grid and playlists live in the working directory; mount your own over them.
COPY schedules ./schedules
COPY playlists ./playlists
COPY station.yaml ./station.yaml

ENV RADIO_DATA_DIR=/data
VOLUME ["/data"]
# The audio sender asks for real-time priority; allow it: docker run --cap-add SYS_NICE ...
ENTRYPOINT ["radio"]
CMD ["run"]
