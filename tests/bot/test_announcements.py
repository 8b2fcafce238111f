"""Rendering of events into embeds, presence, topics and alerts, and their throttling."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import discord

from radio.audio.track import Track
from radio.bot.announcements import (
    Alert,
    Announcer,
    LiveInfo,
    NowPlaying,
    Rooms,
    SetPresence,
    SetStageTopic,
    SetVoiceStatus,
    ShowInfo,
    back_to_programme_line,
    dead_air_alert,
    escaped,
    fenced,
    grid_errors_alert,
    grid_fixed_alert,
    live_embed,
    live_presence_text,
    live_stage_topic,
    live_voice_status,
    now_playing_embed,
    one_line,
    presence_text,
    stage_topic,
    voice_status,
)
from radio.clock import ManualClock
from radio.events import (
    DeadAir,
    DeadAirEnded,
    LiveEnded,
    LiveProblem,
    LiveStarted,
    LiveTitle,
    ShowStarted,
    TrackFailed,
    TrackStarted,
)

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


# Live: a presenter's encoder or a relayed stream holds the air.

LIVE = LiveInfo("DJ Ann", "encoder", EVENING, "Song *One*")


def evening_show() -> ShowStarted:
    return ShowStarted(
        frame=0, show_id="evening", title="Evening Jazz", tags={"presenter": "DJ Ann"}
    )


def test_live_embed_names_the_presenter_the_show_the_title_and_the_way_in() -> None:
    embed = live_embed(LIVE, "Radio Test")
    assert embed == {
        "type": "rich",
        "title": "🔴 LIVE: DJ Ann",
        "description": r"Now: Song \*One\*",
        "color": 0xE03131,
        "footer": {"text": "Radio Test · live via encoder"},
        "fields": [
            {"name": "Show", "value": "Evening Jazz", "inline": True},
            {"name": "Presenter", "value": "DJ Ann", "inline": True},
        ],
    }
    assert discord.Embed.from_dict(embed).title == "🔴 LIVE: DJ Ann"
    bare = live_embed(LiveInfo("ann", "relay"), "R")
    assert "description" not in bare
    assert bare["fields"] == [{"name": "Presenter", "value": "ann", "inline": True}]
    assert bare["footer"] == {"text": "R · live via relay"}


def test_live_texts_for_presence_topic_and_status() -> None:
    assert live_presence_text(LIVE) == "🔴 Live: DJ Ann – Song *One*"
    assert live_presence_text(LiveInfo("DJ Ann", "relay")) == "🔴 Live: DJ Ann"
    assert len(live_presence_text(replace(LIVE, title="t" * 500))) == 128
    assert live_stage_topic(LIVE) == "🔴 Live: Evening Jazz with DJ Ann"
    assert live_stage_topic(LiveInfo("DJ Ann", "relay")) == "🔴 Live: DJ Ann"
    assert len(live_stage_topic(replace(LIVE, presenter="p" * 300))) == 120
    assert live_voice_status(replace(LIVE, presenter="DJ_Ann")) == (
        r"🔴 Live: Evening Jazz with DJ\_Ann"
    )


def test_untrusted_text_is_one_line_without_mentions_or_markdown() -> None:
    hostile = "@everyone **free**\n<@123456789012345678> [x](http://evil) <#123456789012345678>"
    flat = one_line(hostile)
    assert "\n" not in flat
    assert "@everyone" not in flat and "<@1" not in flat and "<#1" not in flat
    assert escaped(hostile) == (
        "@\u200beveryone \\*\\*free\\*\\* <\u200b@\u200b123456789012345678>"
        " \\[x](http://evil) <\u200b#123456789012345678>"
    )
    assert len(one_line("x" * 5000)) == 200
    embed = live_embed(LiveInfo(hostile, "encoder", title=hostile), "R")
    assert "@everyone" not in str(embed) and "**free**" not in str(embed)
    assert "@everyone" not in live_presence_text(LiveInfo(hostile, "encoder"))
    assert "<@1" not in live_stage_topic(LiveInfo(hostile, "encoder"))


def test_back_to_the_programme_says_why_in_words() -> None:
    assert back_to_programme_line("ended") == "⏹ Back to the programme: the presenter stopped."
    assert back_to_programme_line("blank") == (
        "⏹ Back to the programme: the live source went silent."
    )
    assert back_to_programme_line("stalled") == "⏹ Back to the programme: the stream stalled."
    assert back_to_programme_line("stopped") == "⏹ Back to the programme: live was stopped."
    assert back_to_programme_line("something new") == "⏹ Back to the programme: live ended."


def test_going_live_and_coming_back_everywhere() -> None:
    announcer = Announcer(ROOMS, station="Radio Test", next_up=lambda: NEXT)
    announcer.handle(evening_show())
    announcer.handle(TrackStarted(frame=0, track=SONG))
    announcer.due(T0)
    announcer.handle(LiveStarted(frame=100, presenter="DJ Ann", via="encoder", show="evening"))
    assert announcer.live == LiveInfo("DJ Ann", "encoder", EVENING)
    assert announcer.track is None
    live = LiveInfo("DJ Ann", "encoder", EVENING)
    assert announcer.due(T0 + timedelta(seconds=5)) == [
        NowPlaying(100, live_embed(live, "Radio Test"), "post"),
        SetPresence("🔴 Live: DJ Ann"),
        SetStageTopic(200, "🔴 Live: Evening Jazz with DJ Ann"),
        SetVoiceStatus(300, "🔴 Live: Evening Jazz with DJ Ann"),
    ]
    # The hidden programme is not announced while live.
    announcer.handle(TrackStarted(frame=150, track=NEXT))
    assert announcer.due(T0 + timedelta(seconds=10)) == []
    assert announcer.track is None

    announcer.handle(LiveEnded(frame=200, presenter="DJ Ann", reason="blank"))
    assert announcer.live is None
    back = announcer.due(T0 + timedelta(seconds=10))
    [card] = [a for a in back if isinstance(a, NowPlaying)]
    assert card.mode == "post"
    assert card.embed["description"] == "⏹ Back to the programme: the live source went silent."
    assert SetPresence(None) in back
    # The stage topic and voice status go back to the show (their second edit of ten minutes).
    assert announcer.next_due(T0 + timedelta(seconds=10)) == T0 + timedelta(minutes=10)
    assert announcer.due(T0 + timedelta(minutes=10)) == [
        SetStageTopic(200, "Evening Jazz with DJ Ann"),
        SetVoiceStatus(300, "On air: Evening Jazz with DJ Ann"),
    ]
    # The programme's next track is announced as usual.
    announcer.handle(TrackStarted(frame=250, track=SONG))
    assert announcer.due(T0 + timedelta(minutes=11)) == [
        NowPlaying(100, now_playing_embed(SONG, EVENING, NEXT, "Radio Test"), "post"),
        SetPresence("John Coltrane – Blue *Train*"),
    ]
    assert announcer.track == SONG


def test_the_back_line_rides_on_the_next_track_when_both_wait() -> None:
    announcer = Announcer(Rooms(announcements=(100,)), station="R")
    announcer.handle(LiveStarted(frame=0, presenter="ann", via="relay"))
    announcer.due(T0)
    announcer.handle(LiveEnded(frame=10, presenter="ann", reason="ended"))
    announcer.handle(TrackStarted(frame=10, track=SONG))
    [card] = [a for a in announcer.due(T0 + timedelta(seconds=1)) if isinstance(a, NowPlaying)]
    assert card.mode == "post"
    assert card.embed["title"] == r"Blue \*Train\*"
    assert card.embed["author"] == {"name": "⏹ Back to the programme: the presenter stopped."}
    # Only that one track carries it.
    announcer.handle(TrackStarted(frame=20, track=NEXT))
    [card] = [a for a in announcer.due(T0 + timedelta(seconds=2)) if isinstance(a, NowPlaying)]
    assert "author" not in card.embed


def test_live_titles_edit_the_live_embed_within_the_message_budget() -> None:
    clock = ManualClock(T0)
    announcer = Announcer(ROOMS, station="R")
    announcer.handle(evening_show())
    announcer.due(clock.now())
    announcer.handle(LiveStarted(frame=0, presenter="DJ Ann", via="encoder", show="evening"))
    sent: list[tuple[datetime, NowPlaying]] = []
    presences: list[str | None] = []
    topics: list[SetStageTopic | SetVoiceStatus] = []
    for n in range(60):  # an encoder sending metadata every 200 ms for 12 s
        announcer.handle(LiveTitle(frame=n * 10, presenter="DJ Ann", title=f"Song {n}"))
        announcer.handle(LiveTitle(frame=n * 10, presenter="DJ Ann", title=f"Song {n}"))
        for action in announcer.due(clock.now()):
            if isinstance(action, NowPlaying):
                sent.append((clock.now(), action))
            elif isinstance(action, SetPresence):
                presences.append(action.text)
            elif isinstance(action, SetStageTopic | SetVoiceStatus):
                topics.append(action)
        clock.advance(timedelta(milliseconds=200))
    # The first goes out as the live post (the first title came before it was sent);
    # the later ones edit it, never more than five per five seconds.
    assert sent[0][1].mode == "post"
    assert sent[0][1].embed["description"] == "Now: Song 0"
    assert {a.mode for _, a in sent[1:]} == {"edit"}
    for start, _ in sent:
        assert sum(1 for other, _ in sent if start <= other < start + timedelta(seconds=5)) <= 5
    # Five presence updates per minute: the rest wait, and only the latest will go.
    assert presences == [f"🔴 Live: DJ Ann – Song {n}" for n in range(5)]
    # Titles never touch the stage topic or the voice status.
    assert topics == [
        SetStageTopic(200, "🔴 Live: Evening Jazz with DJ Ann"),
        SetVoiceStatus(300, "🔴 Live: Evening Jazz with DJ Ann"),
    ]
    # The latest title is what is shown in the end.
    when = announcer.next_due(clock.now())
    assert when is not None
    assert [
        (a.mode, a.embed["description"]) for a in announcer.due(when) if isinstance(a, NowPlaying)
    ] == [("edit", "Now: Song 59")]
    assert announcer.due(T0 + timedelta(minutes=1)) == [SetPresence("🔴 Live: DJ Ann – Song 59")]


def test_live_title_in_edit_mode_and_before_the_source_holds_the_air() -> None:
    announcer = Announcer(Rooms(announcements=(100,)), station="R", now_playing="edit")
    announcer.handle(LiveTitle(frame=0, presenter="bob", title="Intro"))  # not live yet
    assert announcer.due(T0) == []
    announcer.handle(LiveStarted(frame=5, presenter="bob", via="encoder"))
    [card, presence] = announcer.due(T0)
    assert card == NowPlaying(
        100, live_embed(LiveInfo("bob", "encoder", None, "Intro"), "R"), "edit"
    )
    assert presence == SetPresence("🔴 Live: bob – Intro")
    # Someone else's metadata does not change what is shown.
    announcer.handle(LiveTitle(frame=6, presenter="carol", title="Hers"))
    assert announcer.due(T0 + timedelta(seconds=5)) == []


def test_a_reconnect_is_not_announced_again_but_the_next_presenter_is() -> None:
    announcer = Announcer(ROOMS, station="R")
    announcer.handle(LiveStarted(frame=0, presenter="ann", via="encoder"))
    announcer.due(T0)
    announcer.handle(LiveStarted(frame=50, presenter="ann", via="encoder"))  # within the grace
    assert announcer.next_due(T0) is None
    announcer.handle(LiveStarted(frame=90, presenter="bob", via="relay"))
    actions = announcer.due(T0 + timedelta(seconds=5))
    assert NowPlaying(100, live_embed(LiveInfo("bob", "relay"), "R"), "post") in actions
    assert SetPresence("🔴 Live: bob") in actions
    assert SetStageTopic(200, "🔴 Live: bob") in actions


def test_a_show_starting_while_live_waits_for_the_end_of_live() -> None:
    announcer = Announcer(Rooms(stages=(200,)), station="R")
    announcer.handle(LiveStarted(frame=0, presenter="ann", via="encoder"))
    assert announcer.due(T0) == [SetPresence("🔴 Live: ann"), SetStageTopic(200, "🔴 Live: ann")]
    announcer.handle(ShowStarted(frame=10, show_id="late", title="Late Show"))
    assert announcer.next_due(T0) is None
    announcer.handle(LiveEnded(frame=20, presenter="ann", reason="stopped"))
    assert announcer.due(T0) == [SetPresence(None), SetStageTopic(200, "Late Show")]


def test_now_playing_off_announces_live_without_embeds() -> None:
    announcer = Announcer(Rooms(announcements=(100,)), station="R", now_playing="off")
    announcer.handle(LiveStarted(frame=0, presenter="ann", via="encoder"))
    announcer.handle(LiveEnded(frame=9, presenter="ann", reason="ended"))
    assert announcer.due(T0) == [SetPresence(None)]


def test_live_problems_are_told_at_once_then_once_a_minute_with_counts() -> None:
    clock = ManualClock(T0)
    announcer = Announcer(ROOMS, station="R")
    told: list[tuple[datetime, Alert]] = []
    for second in range(150):  # an encoder with a wrong password, retrying every second
        announcer.handle(LiveProblem(frame=second * 50, who="ann", detail="wrong password"))
        if second == 30:
            announcer.handle(LiveProblem(frame=1500, who="relay", detail="HTTP 404"))
        told += [(clock.now(), a) for a in announcer.due(clock.now()) if isinstance(a, Alert)]
        clock.advance(timedelta(seconds=1))
    assert [(when - T0, a.channel_id, a.kind) for when, a in told] == [
        (timedelta(0), 400, "live"),
        (timedelta(seconds=60), 400, "live"),
        (timedelta(seconds=120), 400, "live"),
    ]
    assert (
        told[0][1].content == "Live connections refused or failed:\n```\nann: wrong password\n```"
    )
    assert told[1][1].content.splitlines()[2:4] == [
        "ann: wrong password (60 times)",
        "relay: HTTP 404",
    ]
    assert told[2][1].content.splitlines()[2] == "ann: wrong password (60 times)"
    assert announcer.next_due(clock.now()) == T0 + timedelta(seconds=180)


def test_live_problems_from_many_names_stay_one_message() -> None:
    announcer = Announcer(Rooms(programmers=(400,)), station="R")
    announcer.handle(LiveProblem(frame=0, who="user0", detail="unknown user"))
    [first] = announcer.due(T0)
    assert isinstance(first, Alert) and "user0" in first.content
    for n in range(1, 500):  # someone trying a new user name every frame
        announcer.handle(LiveProblem(frame=n, who=f"user{n}\n@everyone", detail="unknown user"))
    assert announcer.due(T0 + timedelta(seconds=59)) == []
    [digest] = announcer.due(T0 + timedelta(minutes=1))
    assert isinstance(digest, Alert)
    assert len(digest.content) <= 2000
    assert "@everyone" not in digest.content
    assert digest.content.count("unknown user") == 20
    assert digest.content.endswith("and 479 other problems\n```")


def test_a_refused_live_digest_is_told_again_with_what_came_since() -> None:
    announcer = Announcer(Rooms(programmers=(400,)), station="R")
    announcer.handle(LiveProblem(frame=0, who="ann", detail="wrong password"))
    [alert] = announcer.due(T0)
    announcer.refused(alert, retry_after=90.0, now=T0)
    announcer.handle(LiveProblem(frame=0, who="bob", detail="not in this show"))
    assert announcer.next_due(T0) == T0 + timedelta(seconds=90)
    [again] = announcer.due(T0 + timedelta(seconds=90))
    assert isinstance(again, Alert)
    assert again.content.splitlines()[2:4] == ["ann: wrong password", "bob: not in this show"]


def test_a_presenter_on_mic_is_announced_on_the_track_and_presence() -> None:
    announcer = Announcer(Rooms(announcements=(100,)), station="R", next_up=lambda: NEXT)
    announcer.handle(TrackStarted(frame=0, track=SONG))
    announcer.due(T0)
    announcer.on_mic(("ann *the* host",))
    later = T0 + timedelta(minutes=1)
    actions = announcer.due(later)
    [card] = [a for a in actions if isinstance(a, NowPlaying)]
    assert card.mode == "edit"  # the track's card says it, no new post
    assert {"name": "On the stage", "value": r"🎙 ann \*the\* host is on air", "inline": False} in (
        card.embed["fields"]
    )
    assert SetPresence("🎙 ann *the* host on air") in actions
    announcer.on_mic(("ann *the* host",))  # no change: nothing to do
    assert announcer.due(later + timedelta(minutes=1)) == []
    announcer.on_mic(())  # off mic: the track again
    actions = announcer.due(later + timedelta(minutes=2))
    assert SetPresence("John Coltrane – Blue *Train*") in actions
    [card] = [a for a in actions if isinstance(a, NowPlaying)]
    assert all(field["name"] != "On the stage" for field in card.embed["fields"])
    # the next track while someone is on mic carries the line from its first post
    announcer.on_mic(("bob", "ann"))
    announcer.handle(TrackStarted(frame=500, track=NEXT))
    actions = announcer.due(later + timedelta(minutes=3))
    posted = [a for a in actions if isinstance(a, NowPlaying) and a.embed["title"] == "So What"]
    assert (
        posted
        and {"name": "On the stage", "value": "🎙 bob, ann are on air", "inline": False}
        in (posted[-1].embed["fields"])
    )
