// The replay page (/web/sessions/{id}): the session's HLS playlist in hls.js, the chat, gifts
// and joins near the video's currentTime (fetched a minute of stream offset at a time from
// /v1/sessions/{id}/events/window, so a seek shows its minute at once), a chart of events and
// viewers per minute (/v1/sessions/{id}/chart) that seeks when clicked, and, while the session
// is live, its newest events as a live tail. Text is set with textContent only.
"use strict";

(() => {
  const WINDOW_S = 60;  // one fetch: a minute of stream offset
  const SHOW_S = 30;    // the chat panel shows the lines of the last SHOW_S seconds
  const MAX_LINES = 80;
  const id = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
  const api = "/v1/sessions/" + encodeURIComponent(id);
  const video = document.getElementById("video");
  const svg = document.getElementById("chart-svg");
  const SVGNS = "http://www.w3.org/2000/svg";
  const windows = new Map();  // minute index -> {at, events: Promise}
  let chart = null, span = 1, renderToken = 0, lastKey = "";

  const mmss = (t) => {
    const s = Math.max(0, Math.floor(t)), h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + r : m + ":" + r;
  };

  function banner(message) {
    const b = document.getElementById("banner");
    b.hidden = !message;
    b.textContent = message || "";
  }

  // A minute's events, cached; near a live session's edge they are fetched again after 5 s.
  function minute(i) {
    const cached = windows.get(i);
    const fresh = cached && (!chart || !chart.live || (i + 1) * WINDOW_S < chart.duration_s
      || Date.now() - cached.at < 5000);
    if (fresh) return cached.events;
    const url = api + "/events/window?from_s=" + i * WINDOW_S + "&to_s=" + (i + 1) * WINDOW_S;
    const events = dylived.getJSON(url).then((j) => j.events);
    events.catch(() => windows.delete(i));
    windows.set(i, { at: Date.now(), events });
    return events;
  }

  function line(e) {
    const li = document.createElement("li");
    li.className = e.kind;
    li.dataset.seq = e.seq;
    li.dataset.t = e.t;
    const time = document.createElement("time");
    time.textContent = mmss(e.t);
    li.append(time, document.createTextNode(e.text));
    return li;
  }

  async function render() {
    const token = ++renderToken;
    const t = video.currentTime || 0;
    const i = Math.floor(t / WINDOW_S);
    let lists;
    try {
      lists = await Promise.all([i - 1, i].filter((k) => k >= 0).map(minute));
    } catch (err) {
      banner("the events could not be read: " + err.message);
      return;
    }
    minute(i + 1).catch(() => {});  // the next minute, before it is needed
    if (token !== renderToken) return;  // a later seek or tick has drawn already
    const shown = lists.flat().filter((e) => e.t <= t && e.t > t - SHOW_S).slice(-MAX_LINES);
    document.getElementById("at").textContent = mmss(t);
    playhead(t);
    const key = shown.map((e) => e.seq).join(",");
    if (key === lastKey) return;
    lastKey = key;
    const list = document.getElementById("lines");
    list.replaceChildren(...shown.map(line));
    list.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  function node(name, attrs) {
    const el = document.createElementNS(SVGNS, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    return el;
  }

  function drawChart() {
    const buckets = chart.buckets;
    span = Math.max(chart.duration_s, buckets.length * chart.bucket_s, 1);
    const x = (s) => (s / span) * 1000;
    const most = Math.max(1, ...buckets.map((b) => b.events));
    const viewers = buckets.filter((b) => b.viewers !== null);
    const mostViewers = Math.max(1, ...viewers.map((b) => b.viewers));
    const parts = buckets.map((b) => {
      const h = (b.events / most) * 125;
      const bar = node("rect", { class: "bar", x: x(b.from_s) + 0.5, y: 138 - h, height: h,
        width: Math.max(1, x(chart.bucket_s) - 1) });
      const tip = node("title", {});
      tip.textContent = mmss(b.from_s) + ": " + b.events + " events, " + b.chat + " chat, "
        + b.gift + " gifts, " + b.join + " joins" + (b.viewers === null ? "" : ", " + b.viewers + " viewers");
      bar.append(tip);
      return bar;
    });
    const points = viewers.map((b) => x(b.from_s + chart.bucket_s / 2).toFixed(1) + ","
      + (138 - (b.viewers / mostViewers) * 125).toFixed(1));
    if (points.length) parts.push(node("polyline", { class: "viewers", points: points.join(" ") }));
    parts.push(node("line", { class: "playhead", id: "playhead", x1: 0, x2: 0, y1: 0, y2: 140 }));
    svg.replaceChildren(...parts);
    document.getElementById("chart-note").textContent =
      "(most " + most + " events/min" + (viewers.length ? ", " + mostViewers + " viewers" : "") + ")";
    playhead(video.currentTime || 0);
  }

  function playhead(t) {
    const ph = document.getElementById("playhead");
    if (ph) { const px = (t / span) * 1000; ph.setAttribute("x1", px); ph.setAttribute("x2", px); }
  }

  svg.addEventListener("click", (ev) => {
    const box = svg.getBoundingClientRect();
    video.currentTime = Math.max(0, ((ev.clientX - box.left) / box.width) * span);
  });

  function header(session) {
    document.getElementById("name").textContent =
      (session.nickname || session.broadcaster) + " · session " + session.id;
    document.getElementById("title").textContent = session.title || "";
    const back = document.getElementById("back");
    back.href = "/web/broadcasters/" + encodeURIComponent(session.broadcaster);
    const live = document.getElementById("live");
    live.replaceChildren(chart.live ? dylived.stateBadge("live") : "");
    document.getElementById("summary").textContent = "started " + dylived.dateTime(session.started_at_ms)
      + " · recorded " + dylived.duration(chart.duration_s) + " · " + session.total_events + " events";
  }

  async function refreshChart() {
    chart = await dylived.getJSON(api + "/chart");
    header(chart.session);
    drawChart();
  }

  // The newest events of a live session, whatever the video shows.
  let tailFrom = 0;
  const tailSeen = new Set();
  async function tail() {
    const from = Math.max(0, tailFrom);
    const url = api + "/events/window?from_s=" + from + "&to_s=" + (from + 3600);
    const got = (await dylived.getJSON(url)).events.filter((e) => !tailSeen.has(e.seq));
    const list = document.getElementById("tail");
    for (const e of got) { tailSeen.add(e.seq); list.append(line(e)); tailFrom = Math.max(tailFrom, e.t); }
    while (list.children.length > MAX_LINES) list.firstElementChild.remove();
    list.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  function play() {
    const src = api + "/playlist.m3u8";
    if (window.Hls && Hls.isSupported()) {
      const hls = new Hls({ enableWorker: true });
      hls.on(Hls.Events.ERROR, (_, data) => {
        if (data.fatal) banner("the video cannot play: " + data.type + " " + data.details);
      });
      hls.loadSource(src);
      hls.attachMedia(video);
      hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    } else {
      banner("this browser cannot play HLS (no Media Source Extensions)");
    }
  }

  for (const name of ["timeupdate", "seeking", "seeked"]) video.addEventListener(name, render);

  (async () => {
    try {
      await refreshChart();
    } catch (err) {
      banner("no session " + id + ": " + err.message);
      return;
    }
    play();
    render();
    if (chart.live) {
      document.getElementById("tail-box").hidden = false;
      tailFrom = Math.max(0, chart.duration_s - WINDOW_S);
      dylived.every(2, tail);
      dylived.every(15, refreshChart);
    }
  })();
})();
