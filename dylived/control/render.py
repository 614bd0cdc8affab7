"""How ``dylivectl`` shows things to a person: human units, relative times, tables, event lines.

Pure: values in, strings out; ``now`` is always a parameter. Knows the JSON shapes documented
in ``control/api.py`` and the event rows of dataset.md; imports nothing that does I/O.

Daemon data (nicknames, titles, chat, error messages) may hold terminal control sequences:
``clean`` / ``clean_tree`` show every control character (C0, DEL, C1: ESC among them) as a
visible ``\\xNN`` escape before it reaches a terminal, and ``json_text`` escapes the ones
``json.dumps`` leaves raw (DEL and C1). Only the lines a table or a listing adds are newlines.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_RAW_IN_JSON = re.compile("[\x7f-\x9f]")  # json.dumps escapes C0 itself


def clean(text: str) -> str:
    """``text`` with each control character (C0, DEL, C1) shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def clean_tree(value: Any) -> Any:
    """A decoded JSON value with ``clean`` applied to every string (keys included)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k)): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    return value


def json_text(value: Any, *, indent: int | None = None) -> str:
    """JSON for a terminal: ``json.dumps`` with DEL and C1 escaped too (still valid JSON)."""
    separators = None if indent is not None else (",", ":")
    text = json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def display_width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide/full-width characters take two."""
    if text.isascii():
        return len(text)
    return sum(
        0
        if unicodedata.combining(ch)
        else 2
        if unicodedata.east_asian_width(ch) in ("W", "F")
        else 1
        for ch in text
    )


def pad(text: str, width: int, *, right: bool = False) -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to at most ``width`` columns, ending with an ellipsis when cut."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: set[int] | None = None
) -> str:
    """An aligned plain-text table; columns in ``right`` (indexes) are right-aligned."""
    right = right or set()
    widths = [display_width(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], display_width(cell))
    lines = []
    for row in (headers, *rows):
        cells = [pad(cell, widths[i], right=i in right) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def human_bytes(n: float | None) -> str:
    """1023 B, 1.5 KiB, 12 MiB, 3.4 GiB (binary units)."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if abs(value) < 10 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def bit_rate(bytes_per_second: float | None) -> str:
    """A recording rate in bits: 850 kbit/s, 2.4 Mbit/s (decimal units, as streams are quoted)."""
    if bytes_per_second is None:
        return "-"
    bits = float(bytes_per_second) * 8
    if bits >= 1e6:
        return f"{bits / 1e6:.1f} Mbit/s"
    return f"{bits / 1e3:.0f} kbit/s"


def human_count(n: float | None) -> str:
    """950, 1.2k, 34k, 1.5M."""
    if n is None:
        return "-"
    value = float(n)
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            scaled = value / scale
            return f"{scaled:.1f}{unit}" if abs(scaled) < 10 else f"{scaled:.0f}{unit}"
    return f"{value:.0f}" if value == int(value) or abs(value) >= 10 else f"{value:.1f}"


def human_duration(seconds: float | None) -> str:
    """45s, 3m12s, 2h05m, 3d04h."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def ago(at_ms: int | None, now: float) -> str:
    """``3m ago`` / ``2h05m ago`` for an epoch-millisecond time, ``-`` when unknown."""
    if at_ms is None:
        return "-"
    delta = now - at_ms / 1000
    if delta < 1:
        return "just now"
    s = int(delta)
    if s < 60:
        short = f"{s}s"
    elif s < 3600:
        short = f"{s // 60}m"
    else:
        short = human_duration(s)
    return f"{short} ago"


def since(at_ms: int | None, now: float) -> str:
    """``for 2h05m`` since an epoch-millisecond time."""
    if at_ms is None:
        return "-"
    return "for " + human_duration(now - at_ms / 1000)


def clock(at_ms: int | None) -> str:
    """Local wall-clock time ``HH:MM:SS`` of an epoch-millisecond time."""
    if at_ms is None:
        return "--:--:--"
    return datetime.fromtimestamp(at_ms / 1000).astimezone().strftime("%H:%M:%S")


def date_time(at_ms: int | None) -> str:
    """Local ``YYYY-MM-DD HH:MM`` of an epoch-millisecond time."""
    if at_ms is None:
        return "-"
    return datetime.fromtimestamp(at_ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M")


def breaker_text(breaker: Mapping[str, Any], now: float) -> str:
    """``closed``, ``open until 12:34:56 (for 45s)`` or ``half_open`` (the probe is out)."""
    state = str(breaker.get("state", "?"))
    until = breaker.get("open_until_ms")
    if state != "open" or not isinstance(until, int):
        return state
    return f"open until {clock(until)} (for {human_duration(until / 1000 - now)})"


def platforms_table(platforms: Mapping[str, Any], now: float) -> str:
    """Each platform's gate (``daemon.platforms`` of the status): requests and breaker."""
    rows = []
    for name, gate in platforms.items():
        breaker = gate.get("breaker") or {}
        reason = str(breaker.get("last_reason") or "") if breaker.get("state") != "closed" else ""
        rows.append(
            [
                name,
                str(gate.get("broadcasters", "-")),
                f"{gate.get('in_flight', '-')}/{gate.get('max_in_flight', '-')}",
                human_count(gate.get("requests")),
                str(gate.get("risk_signals", "-")),
                breaker_text(breaker, now),
                truncate(reason, 100),
            ]
        )
    headers = ["PLATFORM", "BROADCASTERS", "IN FLIGHT", "REQUESTS", "RISK", "BREAKER", "REASON"]
    return table(headers, rows, right={1, 2, 3, 4})


def _nick(row: Mapping[str, Any]) -> str:
    user = row.get("user") or {}
    return str(user.get("nickname") or user.get("display_id") or user.get("user_id") or "?")


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def event_text(row: Mapping[str, Any]) -> str:
    """One readable line (without time or broadcaster) for a dataset.md event row."""
    kind = row.get("type")
    nick = _nick(row)
    if kind in ("chat", "emoji_chat"):
        text = row.get("content") or row.get("default_content") or ""
        return f"{nick}: {text}"
    if kind == "gift":
        count = _int(row.get("repeat_count")) or _int(row.get("combo_count")) or 1
        name = row.get("gift_name") or f"gift {row.get('gift_id', '?')}"
        diamonds = _int(row.get("gift_diamond_count")) * count
        return f"{nick} sent {name} ×{count} ({diamonds} diamonds)"
    if kind == "member":
        return f"{nick} joined"
    if kind == "like":
        return f"{nick} liked ×{_int(row.get('count'), 1)}"
    if kind == "social":
        action = row.get("action")
        verb = {"follow": "followed", "share": "shared the room"}.get(str(action), str(action))
        return f"{nick} {verb}"
    if kind == "viewer_count":
        current = row.get("current_viewers_text") or human_count(row.get("current_viewers"))
        total = row.get("total_users_text") or human_count(row.get("total_users"))
        return f"viewers: {current} (total {total})"
    if kind == "control":
        status = row.get("status")
        return "the broadcaster ended the stream" if status == 3 else f"control status {status}"
    if kind == "room_stats":
        return f"room stats: {row.get('display_long') or row.get('display_middle') or ''}"
    extra = {
        k: v
        for k, v in row.items()
        if k
        not in (
            "type",
            "seq",
            "session_id",
            "msg_id",
            "room_id",
            "web_rid",
            "server_time_ms",
            "received_at_ms",
            "stream_offset_s",
        )
    }
    return f"{kind}: {json.dumps(extra, ensure_ascii=False, separators=(',', ':'))}"


def event_line(row: Mapping[str, Any], broadcaster: str | None = None) -> str:
    """``HH:MM:SS [broadcaster] <event text>``."""
    at = row.get("received_at_ms") or row.get("server_time_ms")
    prefix = f"{clock(at)} "
    if broadcaster:
        prefix += f"[{broadcaster}] "
    return prefix + event_text(row)
