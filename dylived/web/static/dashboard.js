// The dashboard: every broadcaster's state from GET /v1/status, refreshed every 2 s.
"use strict";

function broadcasterRow(b) {
  const row = document.createElement("tr");
  row.dataset.broadcaster = b.id;
  row.dataset.state = b.state;
  dylived.cell(row, dylived.link("/web/broadcasters/" + encodeURIComponent(b.id), b.id), "name");
  dylived.cell(row, dylived.stateBadge(b.state), "state");
  dylived.cell(row, dylived.clock(b.state_since_ms), "since");
  dylived.cell(row, b.viewers === null ? "–" : String(b.viewers), "num viewers");
  const epm = b.capture ? b.capture.events_per_minute : null;
  dylived.cell(row, epm === null || epm === undefined ? "–" : String(epm), "num events-per-minute");
  const rec = b.recording;
  dylived.cell(row, rec && rec.state === "running" ? dylived.rate(rec.bytes_per_second) : "–",
    "num record-rate");
  const session = b.session_id
    ? dylived.link("/web/sessions/" + b.session_id, "#" + b.session_id) : "–";
  dylived.cell(row, session, "num session");
  dylived.cell(row, b.title || "", "title").title = b.title || "";
  if (b.last_error) row.title = "last error: " + b.last_error.message;
  return row;
}

async function refresh() {
  const status = await dylived.getJSON("/v1/status");
  const d = status.daemon;
  const live = status.broadcasters;
  document.getElementById("status-line").textContent = d.status_line || "dylived";
  document.getElementById("live").textContent = d.counts.live + " / " + d.counts.broadcasters;
  document.getElementById("recording").textContent = String(d.counts.recording);
  const epm = live.reduce((n, b) => n + ((b.capture && b.capture.events_per_minute) || 0), 0);
  document.getElementById("events-per-minute").textContent = String(epm);
  const bps = live.reduce((n, b) => n + ((b.recording && b.recording.state === "running" &&
    b.recording.bytes_per_second) || 0), 0);
  document.getElementById("record-rate").textContent = dylived.rate(bps);
  document.getElementById("free-disk").textContent = dylived.bytes(d.free_disk_bytes);
  document.getElementById("events-total").textContent = String(d.counts.events);
  const body = document.querySelector("#broadcasters tbody");
  body.replaceChildren(...live.map(broadcasterRow));
  if (!live.length) {
    const row = document.createElement("tr");
    dylived.cell(row, "No broadcaster is configured.", "empty").colSpan = 8;
    body.append(row);
  }
}

dylived.every(2, refresh);
