// A broadcaster's page: its state (GET /v1/broadcasters/{key}) and its sessions
// (GET /v1/sessions?broadcaster={key}), each linked to its replay page /web/sessions/{id}.
"use strict";

const key = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());

function sessionRow(s) {
  const row = document.createElement("tr");
  row.dataset.session = String(s.id);
  dylived.cell(row, dylived.link("/web/sessions/" + s.id, "#" + s.id), "num");
  dylived.cell(row, dylived.dateTime(s.started_at_ms));
  const end = s.ended_at_ms || Date.now();
  dylived.cell(row, dylived.duration((end - s.started_at_ms) / 1000));
  dylived.cell(row, String(s.total_events), "num");
  dylived.cell(row, String(s.segments), "num");
  dylived.cell(row, dylived.bytes(s.recording_total_bytes), "num");
  dylived.cell(row, s.ended_at_ms ? (s.reason_for_exit || "ended") : dylived.stateBadge("live"));
  dylived.cell(row, s.title || "", "title").title = s.title || "";
  return row;
}

async function refresh() {
  const quoted = encodeURIComponent(key);
  const [b, list] = await Promise.all([
    dylived.getJSON("/v1/broadcasters/" + quoted),
    dylived.getJSON("/v1/sessions?limit=500&broadcaster=" + quoted),
  ]);
  document.title = "dylived · " + b.id;
  document.getElementById("name").textContent = b.id;
  document.getElementById("state").replaceChildren(dylived.stateBadge(b.state));
  const parts = [b.platform, b.target];
  if (b.viewers !== null && b.viewers !== undefined) parts.push(b.viewers + " viewers");
  if (b.title) parts.push(b.title);
  document.getElementById("summary").textContent = parts.join(" · ");
  const body = document.querySelector("#sessions tbody");
  body.replaceChildren(...list.sessions.map(sessionRow));
  if (!list.sessions.length) {
    const row = document.createElement("tr");
    dylived.cell(row, "No session yet.", "empty").colSpan = 8;
    body.append(row);
  }
}

dylived.every(5, refresh);
