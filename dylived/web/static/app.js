// dylived web pages: what every page shares (JSON fetches, number and time formats, the
// header's "updated" stamp). Loaded before each page's own script; everything is built with
// textContent, never innerHTML, so a title or a chat line cannot inject markup.
"use strict";

const dylived = (() => {
  async function getJSON(url) {
    const reply = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (reply.status === 401) {
      location.href = "/web/login?next=" + encodeURIComponent(location.pathname);
      throw new Error("not signed in");
    }
    if (!reply.ok) throw new Error(url + ": HTTP " + reply.status);
    return reply.json();
  }

  function bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(n < 10 ? 2 : 1) : String(n)) + " " + units[i];
  }

  function rate(bytesPerSecond) {
    if (bytesPerSecond === null || bytesPerSecond === undefined) return "–";
    return (bytesPerSecond * 8 / 1e6).toFixed(2) + " Mbit/s";
  }

  function clock(ms) {
    if (!ms) return "–";
    return new Date(ms).toLocaleTimeString([], { hour12: false });
  }

  function dateTime(ms) {
    if (!ms) return "–";
    const d = new Date(ms);
    return d.toLocaleDateString() + " " + d.toLocaleTimeString([], { hour12: false });
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || seconds < 0) return "–";
    const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + " h " : "") + (h || m ? m + " min " : "") + (s % 60) + " s";
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    if (text instanceof Node) td.append(text); else td.textContent = text;
    if (className) td.className = className;
    row.append(td);
    return td;
  }

  function link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function stateBadge(state) {
    const span = document.createElement("span");
    span.className = "badge " + state;
    span.textContent = state;
    return span;
  }

  function updated(ok, message) {
    const stamp = document.getElementById("updated");
    if (stamp) stamp.textContent = ok ? "updated " + clock(Date.now()) : "";
    const banner = document.getElementById("banner");
    if (banner) { banner.hidden = ok; banner.textContent = ok ? "" : message; }
  }

  // Run ``refresh`` now and every ``seconds``; a failure shows the banner, the next try clears it.
  function every(seconds, refresh) {
    const tick = async () => {
      try { await refresh(); updated(true, ""); }
      catch (err) { updated(false, "the daemon does not answer: " + err.message); }
      setTimeout(tick, seconds * 1000);
    };
    tick();
  }

  return { getJSON, bytes, rate, clock, dateTime, duration, cell, link, stateBadge, every };
})();
