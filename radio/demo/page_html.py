"""The control room page itself: one HTML document with its CSS and JavaScript.

Served as it is by :mod:`radio.demo.page`. It polls ``now.json`` every second,
posts the member's actions to ``act`` and the demo DJ's talk to ``talk``. Every
value from the station is set with ``textContent``; only the studio messages are
inserted as HTML, and those were rendered (escaped first) by :func:`radio.demo.markdown.to_html`.
"""

from __future__ import annotations

from typing import Final

PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>radio demo · control room</title>
<link rel="icon" href="data:,">
<style>
 :root { --bg: #f6f6f8; --card: #fff; --muted: #6a6a75; --accent: #5865f2; --line: #e2e2e8; }
 * { box-sizing: border-box; }
 body { font: 15px/1.45 system-ui, sans-serif; margin: 0; background: var(--bg); color: #1e1f22; }
 header { background: #1e1f22; color: #fff; padding: .8rem 1.2rem; display: flex;
          align-items: center; gap: 1rem; flex-wrap: wrap; }
 header h1 { font-size: 1.2rem; margin: 0; }
 header audio { height: 2rem; }
 .onair { background: #da373c; color: #fff; border-radius: 4px; padding: .1rem .5rem;
          font-size: .8rem; font-weight: 700; }
 main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.2fr); gap: 1rem;
        padding: 1rem; max-width: 72rem; margin: auto; }
 @media (max-width: 50rem) { main { grid-template-columns: 1fr; } }
 section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
           padding: .8rem 1rem; margin-bottom: 1rem; }
 h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
      margin: 0 0 .5rem; }
 .muted { color: var(--muted); } #track { font-size: 1.25rem; font-weight: 650; }
 ol, ul { margin: .2rem 0; padding-left: 1.4rem; } li { margin: .15rem 0; }
 table { border-collapse: collapse; width: 100%; } td { padding: .15rem .4rem; }
 tr.now td { background: #eef0ff; font-weight: 600; }
 code, pre { font: .85rem ui-monospace, monospace; background: #f0f1f3; border-radius: 3px; }
 code { padding: .05rem .25rem; }
 pre { padding: .5rem; white-space: pre-wrap; word-break: break-all; }
 .controls { display: flex; gap: .4rem; flex-wrap: wrap; align-items: center; margin: .4rem 0; }
 input[type=text] { flex: 1; min-width: 10rem; padding: .4rem .5rem; border: 1px solid var(--line);
                    border-radius: 4px; font: inherit; }
 button, select { font: inherit; padding: .35rem .7rem; border-radius: 4px;
                  border: 1px solid var(--line); background: #fff; cursor: pointer; }
 button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
 #status { min-height: 1.4em; } #status.error { color: #b3261e; }
 #studio { background: #313338; color: #dbdee1; border-radius: 8px; padding: .6rem .8rem;
           max-height: 34rem; overflow-y: auto; }
 .msg { padding: .35rem 0; border-top: 1px solid #3b3d44; } .msg:first-child { border-top: 0; }
 .who { font-weight: 600; color: #f2f3f5; } .who.bot::after { content: "BOT"; font-size: .6rem;
        background: var(--accent); color: #fff; border-radius: 3px; padding: 0 .25rem;
        margin-left: .3rem; }
 .time, .used { color: #949ba4; font-size: .75rem; } .used { display: block; }
 .msg.private { background: #2b2d4a; border-radius: 4px; padding: .35rem .5rem; }
 .private-note { color: #949ba4; font-size: .75rem; display: block; }
 .mention { background: #3c4270; color: #c9cdfb; border-radius: 3px; padding: 0 .15rem; }
 #studio code, #studio pre { background: #1e1f22; color: #dbdee1; }
 blockquote { border-left: 3px solid #4e5058; margin: .2rem 0; padding-left: .5rem; }
 .embed { border-left: 4px solid var(--accent); background: #2b2d31; border-radius: 4px;
          padding: .4rem .6rem; margin: .3rem 0; max-width: 30rem; }
 .embed-title { font-weight: 700; color: #fff; }
 .embed-author, .embed-footer { font-size: .75rem; color: #b5bac1; }
 .embed-fields { display: flex; flex-wrap: wrap; gap: .2rem 1rem; margin-top: .3rem; }
 .embed-field { min-width: 8rem; } .embed-field.wide { flex-basis: 100%; }
 .embed-field-name { font-weight: 700; font-size: .8rem; color: #f2f3f5; }
</style></head>
<body>
<header>
 <h1 id="station">radio demo</h1>
 <audio id="player" controls preload="none" src="live.wav"></audio>
 <span class="muted">press play to hear the listener in the voice room</span>
 <span id="live-badge" class="onair" hidden>LIVE</span>
</header>
<main>
<div>
 <section>
  <h2>Now playing</h2>
  <p id="track">…</p>
  <p><span class="muted">Show:</span> <span id="show">…</span> ·
     <span class="muted">requested by</span> <span id="requester">nobody</span></p>
  <p><span class="muted">Next up:</span> <span id="next">…</span></p>
 </section>
 <section>
  <h2>Request queue</h2>
  <ol id="queue"></ol><p id="queue-empty" class="muted">empty</p>
 </section>
 <section>
  <h2>Today's schedule <span id="tz" class="muted"></span></h2>
  <table><tbody id="schedule"></tbody></table>
 </section>
 <section>
  <h2>Live</h2>
  <p id="live">No presenter is live.</p>
  <div id="encoder" hidden>
   <p class="muted">Go live as the demo DJ (bob) from an encoder (BUTT, Mixxx) at:</p>
   <pre id="mount"></pre>
   <p class="muted">or with one line of ffmpeg:</p>
   <pre id="ffmpeg"></pre>
  </div>
 </section>
 <section>
  <h2>On the stage</h2>
  <p class="muted">The demo DJ (bob) steps onto the <span id="stage-room">voice room</span>,
     unmutes and talks for about four seconds; the station lowers the music under him
     (press play above to hear it), then he mutes.</p>
  <div class="controls">
   <button id="talk" type="button">Talk on the stage</button>
   <span id="mic-badge" class="onair" hidden>ON MIC</span>
  </div>
  <p id="stage" class="muted">Nobody is on mic.</p>
 </section>
</div>
<div>
 <section>
  <h2>Act as a member</h2>
  <div class="controls">
   <label for="member">Member</label>
   <select id="member">
    <option value="alice">alice (listener)</option>
    <option value="bob">bob (DJ)</option>
    <option value="carol">carol (admin)</option>
   </select>
  </div>
  <form id="request-form" class="controls">
   <input id="query" type="text" autocomplete="off"
          placeholder="a title or an artist, e.g. sunrise">
   <button id="request" class="primary" type="submit">Request</button>
  </form>
  <div class="controls">
   <button id="np" type="button">Now playing</button>
   <button id="show-queue" type="button">Queue</button>
   <button id="skip" type="button">Skip</button>
   <button id="help" type="button">Help</button>
  </div>
  <form id="say-form" class="controls">
   <input id="text" type="text" autocomplete="off"
          placeholder="!request sunrise · /schedule tomorrow · hello">
   <button id="send" type="submit">Send</button>
  </form>
  <p id="status" class="muted" role="status"></p>
 </section>
 <section>
  <h2>#studio <span class="muted">as <span id="viewer">alice</span> sees it</span></h2>
  <div id="studio"></div>
 </section>
</div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const member = () => $("member").value;
let lastStudio = "";

function text(id, value) { $(id).textContent = value; }

async function refresh() {
  let now;
  try {
    const url = "now.json?member=" + encodeURIComponent(member());
    const answer = await fetch(url, {cache: "no-store"});
    if (!answer.ok) { return; }
    now = await answer.json();
  } catch (e) { text("status", "The demo is not answering (stopped?)."); return; }
  text("station", now.station);
  document.title = now.station + " · control room";
  text("show", now.show || "non-stop music");
  const t = now.track;
  text("track", t ? (t.artist ? t.artist + " – " : "") + t.title : "nothing (dead air)");
  text("requester", (t && t.requested_by) || "nobody");
  text("next", now.next_up || "not known yet");
  $("queue").replaceChildren(...now.queue.map((r) => {
    const li = document.createElement("li");
    li.textContent = r.title + " · " + r.requested_by + " (#" + r.id + ")";
    return li;
  }));
  $("queue-empty").hidden = now.queue.length > 0;
  text("tz", now.timezone ? "(" + now.timezone + ")" : "");
  $("schedule").replaceChildren(...now.schedule.map((a) => {
    const tr = document.createElement("tr");
    if (a.now) { tr.className = "now"; }
    for (const cell of [(a.now ? "▶ " : "") + a.start + "–" + a.end, a.title]) {
      const td = document.createElement("td");
      td.textContent = cell;
      tr.append(td);
    }
    return tr;
  }));
  const live = now.live;
  $("live-badge").hidden = !(live && live.on_air);
  text("live", live ? (live.on_air ? "🔴 " + live.presenter + " is live" : live.presenter +
       " went quiet (the programme comes back after the grace)") +
       (live.show ? " in " + live.show : "") + (live.title ? " · " + live.title : "")
       : "No presenter is live.");
  $("encoder").hidden = !now.encoder;
  if (now.encoder) { text("mount", now.encoder.mount); text("ffmpeg", now.encoder.ffmpeg); }
  const stage = now.stage;
  text("stage-room", stage.room);
  $("talk").disabled = stage.talking;
  $("mic-badge").hidden = stage.on_mic.length === 0;
  text("stage", stage.on_mic.length ? "🎙 " + stage.on_mic.join(", ") +
       " is talking: the music is ducked" : stage.talking ? "bob is on the " + stage.room +
       ", about to talk…" : "Nobody is on mic.");
  text("viewer", member());
  renderStudio(now.studio);
}

function renderStudio(messages) {
  const key = JSON.stringify(messages);
  if (key === lastStudio) { return; }
  lastStudio = key;
  const box = $("studio");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren(...messages.map((m) => {
    const div = document.createElement("div");
    div.className = "msg" + (m.private ? " private" : "");
    div.dataset.id = m.id;
    if (m.used) {
      const used = document.createElement("span");
      used.className = "used";
      used.textContent = m.used;
      div.append(used);
    }
    const who = document.createElement("span");
    who.className = "who" + (m.bot ? " bot" : "");
    who.textContent = m.author;
    const time = document.createElement("span");
    time.className = "time";
    time.textContent = " " + m.time;
    const body = document.createElement("div");
    body.className = "body";
    body.innerHTML = m.html;  // rendered and escaped by the demo (radio.demo.markdown)
    div.append(who, time, body);
    if (m.private) {
      const note = document.createElement("span");
      note.className = "private-note";
      note.textContent = "👁 Only you can see this";
      div.append(note);
    }
    return div;
  }));
  if (atBottom) { box.scrollTop = box.scrollHeight; }
}

async function act(line) {
  const status = $("status");
  status.className = "muted";
  status.textContent = member() + ": " + line + " …";
  try {
    const answer = await fetch("act", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({member: member(), text: line}),
    });
    const body = await answer.json();
    status.className = body.ok ? "muted" : "error";
    status.textContent = body.ok ? member() + " sent " + line : body.error;
  } catch (e) {
    status.className = "error";
    status.textContent = "The demo is not answering (stopped?).";
  }
  refresh();
}

$("request-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = $("query").value.trim();
  if (!query) {
    $("status").className = "error";
    text("status", "Type a title or an artist first.");
    return;
  }
  $("query").value = "";
  act("/request " + query);
});
$("say-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const line = $("text").value;
  $("text").value = "";
  act(line);
});
$("talk").addEventListener("click", async () => {
  const status = $("status");
  $("talk").disabled = true;
  try {
    const answer = await fetch("talk", {method: "POST"});
    const body = await answer.json();
    status.className = body.ok ? "muted" : "error";
    status.textContent = body.ok ? "bob talks on the stage for " + body.seconds + " s"
                                 : body.error;
  } catch (e) {
    status.className = "error";
    status.textContent = "The demo is not answering (stopped?).";
  }
  refresh();
});
$("np").addEventListener("click", () => act("/np"));
$("show-queue").addEventListener("click", () => act("/queue"));
$("skip").addEventListener("click", () => act("/skip"));
$("help").addEventListener("click", () => act("/help"));
$("member").addEventListener("change", () => { lastStudio = ""; refresh(); });
refresh();
setInterval(refresh, 1000);
</script>
</body></html>
"""
