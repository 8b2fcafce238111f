"""Rendering of events into embeds, presence, topics and alerts, and their throttling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord

from radio.audio.track import Track
from radio.bot.announcements import (
    Alert,
    Announcer,
    NowPlaying,
    Rooms,
    SetPresence,
    SetStageTopic,
    SetVoiceStatus,
    ShowInfo,
    dead_air_alert,
    fenced,
    grid_errors_alert,
    grid_fixed_alert,
    now_playing_embed,
    presence_text,
    stage_topic,
    voice_status,
)
from radio.clock import ManualClock
from radio.events import DeadAir, DeadAirEnded, ShowStarted, TrackFailed, TrackStarted

T0 = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
SONG = Track("/m/a.flac", "Blue *Train*", artist="John Coltrane", duration=640.0)
NEXT = Track("/m/b.flac", "So What", artist="Miles Davis")
REQUESTED = Track(
    "/m/c.flac",
    "Naima",
    artist="John Coltrane",
    tags={"requested_by": "ann", "requested_by_id": "4242", "show_title": "Requests Hour"},
)
EVENING = ShowInfo("Evening Jazz", "DJ Ann")
ROOMS = Rooms(announcements=(100,), stages=(200,), voices=(300,), programmers=(400,), admins=(500,))


def test_now_playing_embed_has_every_field() -> None:
    embed = now_playing_embed(SONG, EVENING, NEXT, "Radio Test")
    assert embed == {
        "type": "rich",
        "title": r"Blue \*Train\*",
        "description": "by **John Coltrane**",
        "color": 0xE8590C,
        "footer": {"text": "Radio Test · now playing"},
        "fields": [
            {"name": "Show", "value": "Evening Jazz", "inline": True},
            {"name": "Presenter", "value": "DJ Ann", "inline": True},
            {"name": "Next up", "value": "Miles Davis – So What", "inline": False},
        ],
    }
    # discord.py accepts it as it is.
    assert discord.Embed.from_dict(embed).title == r"Blue \*Train\*"


def test_embed_of_a_request_names_the_requester_and_its_own_show() -> None:
    embed = now_playing_embed(REQUESTED, EVENING, None, "Radio Test")
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("Show", "Requests Hour"),
        ("Presenter", "DJ Ann"),
        ("Requested by", "<@4242>"),
    ]


def test_embed_without_show_or_artist_leaves_them_out() -> None:
    embed = now_playing_embed(Track("/m/x.flac", "x" * 300), None, None, "R")
    assert "description" not in embed
    assert embed["fields"] == []
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")


def test_texts_for_presence_topic_and_status() -> None:
    assert presence_text(SONG) == "John Coltrane – Blue *Train*"
    assert presence_text(None) is None
    assert len(presence_text(Track("/m/x", "y" * 500)) or "") == 128
    assert stage_topic(EVENING) == "Evening Jazz with DJ Ann"
    assert stage_topic(ShowInfo("Night Mix")) == "Night Mix"
    assert len(stage_topic(ShowInfo("z" * 200))) == 120
    assert voice_status(EVENING) == "On air: Evening Jazz with DJ Ann"


def test_grid_errors_fit_one_message() -> None:
    lines = [f"schedules/week.yaml:{n}:3 E101 bad time '25:00'" for n in range(1, 200)]
    text = grid_errors_alert(lines)
    assert len(text) <= 2000
    assert text.startswith("The grid edit was not applied (the last good grid stays on air):")
    assert "schedules/week.yaml:1:3 E101 bad time '25:00'" in text
    shown = text.count("E101")
    assert f"… and {199 - shown} more" in text
    assert text.endswith("```")


def test_announcer_turns_a_show_and_tracks_into_actions() -> None:
    wakeups: list[int] = []
    announcer = Announcer(
        ROOMS, station="Radio Test", next_up=lambda: NEXT, notify=lambda: wakeups.append(1)
    )
    announcer.handle(
        ShowStarted(frame=0, show_id="evening", title="Evening Jazz", tags={"presenter": "DJ Ann"})
    )
    announcer.handle(TrackStarted(frame=0, track=SONG))
    assert len(wakeups) == 2
    assert announcer.next_due(T0) == T0
    actions = announcer.due(T0)
    assert actions == [
        NowPlaying(100, now_playing_embed(SONG, EVENING, NEXT, "Radio Test"), "post"),
        SetPresence("John Coltrane – Blue *Train*"),
        SetStageTopic(200, "Evening Jazz with DJ Ann"),
        SetVoiceStatus(300, "On air: Evening Jazz with DJ Ann"),
    ]
    assert announcer.due(T0) == []
    assert announcer.next_due(T0) is None


def test_skip_burst_posts_the_first_and_then_only_the_latest_track() -> None:
    clock = ManualClock(T0)
    announcer = Announcer(Rooms(announcements=(100,)), station="R", now_playing="edit")
    posted: list[str] = []
    presence: list[str | None] = []
    for n in range(12):  # a DJ skipping twelve tracks within 1.2 s
        announcer.handle(TrackStarted(frame=n * 5, track=Track(f"/m/{n}.flac", f"T{n}")))
        for action in announcer.due(clock.now()):
            if isinstance(action, NowPlaying):
                assert action.mode == "edit"
                posted.append(action.embed["title"])
            elif isinstance(action, SetPresence):
                presence.append(action.text)
        clock.advance(timedelta(milliseconds=100))
    # Five messages per five seconds: T0..T4 at once, the rest coalesce into T11.
    assert posted == ["T0", "T1", "T2", "T3", "T4"]
    assert presence == ["T0", "T1", "T2", "T3", "T4"]
    when = announcer.next_due(clock.now())
    assert when == T0 + timedelta(seconds=5)
    rest = announcer.due(when)
    assert [a.embed["title"] for a in rest if isinstance(a, NowPlaying)] == ["T11"]


def test_show_changes_respect_two_edits_per_ten_minutes() -> None:
    announcer = Announcer(Rooms(stages=(200,)), station="R")
    topics: list[tuple[datetime, str]] = []
    clock = ManualClock(T0)
    for title in ["A", "B", "C", "D"]:
        announcer.handle(ShowStarted(frame=0, show_id=title, title=title))
        topics += [
            (clock.now(), a.topic)
            for a in announcer.due(clock.now())
            if isinstance(a, SetStageTopic)
        ]
        clock.advance(timedelta(minutes=2))
    assert topics == [(T0, "A"), (T0 + timedelta(minutes=2), "B")]
    assert announcer.next_due(clock.now()) == T0 + timedelta(minutes=10)
    assert announcer.due(T0 + timedelta(minutes=10)) == [SetStageTopic(200, "D")]


def test_refused_action_is_retried_with_the_latest_state() -> None:
    announcer = Announcer(Rooms(voices=(300,)), station="R")
    announcer.handle(ShowStarted(frame=0, show_id="a", title="A"))
    [action] = announcer.due(T0)
    announcer.refused(action, retry_after=540.0, now=T0)
    announcer.handle(ShowStarted(frame=0, show_id="b", title="B"))
    assert announcer.next_due(T0) == T0 + timedelta(seconds=540)
    assert announcer.due(T0 + timedelta(seconds=540)) == [SetVoiceStatus(300, "On air: B")]


def test_problems_go_to_the_right_rooms() -> None:
    announcer = Announcer(ROOMS, station="R")
    announcer.handle(DeadAir(frame=10))
    announcer.handle(TrackFailed(frame=11, track=Track("/m/bad.flac", "Bad"), reason="not audio"))
    announcer.rejoin_refused(channel_id=200, code=4014)
    announcer.grid_rejected(["schedules/week.yaml:4:12 E101 bad time"])
    actions = announcer.due(T0)
    assert SetPresence(None) in actions
    alerts = [a for a in actions if isinstance(a, Alert)]
    assert [(a.channel_id, a.kind) for a in alerts] == [
        (400, "dead_air"),  # dead air: the programmers' and the admins' rooms
        (500, "dead_air"),
        (400, "track_failed"),
        (500, "voice"),
        (400, "grid"),
    ]
    assert alerts[0].content == alerts[1].content == dead_air_alert()
    assert alerts[2].content == "Skipped `/m/bad.flac`: not audio"
    assert alerts[3].content.startswith("Left <#200> (voice close code 4014: the bot was")
    assert "will not rejoin" in alerts[3].content
    assert "schedules/week.yaml:4:12 E101 bad time" in alerts[4].content
    announcer.handle(DeadAirEnded(frame=160, frames=150))
    announcer.grid_fixed()
    assert announcer.due(T0 + timedelta(seconds=1)) == []  # one alert of a kind per 5 s
    assert announcer.due(T0 + timedelta(seconds=5)) == [
        Alert(400, "dead_air", "Back on air after 3.0 s of dead air."),
        Alert(500, "dead_air", "Back on air after 3.0 s of dead air."),
        Alert(400, "grid", grid_fixed_alert()),
    ]


def test_dead_air_is_posted_once_when_programmers_and_admins_share_a_room() -> None:
    announcer = Announcer(Rooms(programmers=(400,), admins=(400,)), station="R")
    announcer.handle(DeadAir(frame=10))
    assert [a for a in announcer.due(T0) if isinstance(a, Alert)] == [
        Alert(400, "dead_air", dead_air_alert())
    ]


def test_fenced_keeps_short_lists_whole_and_escapes_fences() -> None:
    assert fenced("Head:", ["a", "b```c"]) == "Head:\n```\na\nb'''c\n```"
    text = fenced("Head:", ["x" * 30] * 10, limit=120)
    assert len(text) <= 120
    assert text.splitlines()[-2] == f"… and {10 - text.count('x' * 30)} more"


def test_now_playing_off_still_sets_presence() -> None:
    announcer = Announcer(Rooms(announcements=(100,)), station="R", now_playing="off")
    announcer.handle(TrackStarted(frame=0, track=SONG))
    assert announcer.due(T0) == [SetPresence("John Coltrane – Blue *Train*")]
    assert announcer.track == SONG


def test_a_failing_next_up_does_not_escape_handle() -> None:
    def broken() -> Track | None:
        raise RuntimeError("station gone")

    announcer = Announcer(Rooms(announcements=(100,)), station="R", next_up=broken)
    announcer.handle(TrackStarted(frame=0, track=SONG))  # logged, not raised
    [embed] = [a for a in announcer.due(T0) if isinstance(a, NowPlaying)]
    assert [f["name"] for f in embed.embed["fields"]] == []
