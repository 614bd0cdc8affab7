"""Chat, gifts and joins as subtitles: stored event rows in, ASS or SRT text out (pure, no I/O).

:func:`collect` turns ``(seq, row)`` pairs into :class:`Cue` objects timed by the row's
``stream_offset_s`` relative to an origin (``0`` for the whole session, which plays its segments
in order as the remuxed MP4 does; a segment's ``start_offset_s`` for ``--segment N``, whose
window is ``[start, start + duration)``). Rows without an offset are skipped and counted.
:func:`layout` places scrolling lines as DanmakuFactory draws them: every line moves from the
right edge (``x = PlayResX``) to fully off the left edge in the same ``scroll_s``, so a longer
line moves faster; lanes are rows from the top; a line takes the first lane whose last line has
moved far enough that the two cannot touch (checked at the new line's start and when the older
line leaves, which suffices for straight lines), and is dropped (counted) when no lane is free.
Widths come from character counts, CJK and emoji full width (``font_size``), others half.
:func:`render_ass` and :func:`render_srt` write the files. User text never reaches a renderer
raw: ``\\``, ``{`` and ``}`` become their full-width forms, line breaks, tabs and control
characters become spaces, lone surrogates U+FFFD, and a very long line is cut with an ellipsis.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dylived.control.render import display_width, event_text, truncate


KINDS: tuple[str, ...] = ("chat", "gift", "join")
DEFAULT_INCLUDE: frozenset[str] = frozenset({"chat", "gift"})
TYPE_KIND: Mapping[str, str] = {
    "chat": "chat",
    "emoji_chat": "chat",
    "gift": "gift",
    "member": "join",
}
DEFAULT_FONT = "Noto Sans CJK SC"  # covers CJK; libass falls back through fontconfig
DEFAULT_SIZE = (1920, 1080)
MAX_COLUMNS = 60  # a longer line is cut: it would cross the whole screen at once
STYLE = {"chat": "Chat", "gift": "Gift", "join": "Join"}
COLOUR = {"chat": "&H00FFFFFF", "gift": "&H0000D7FF", "join": "&H00C0C0C0"}  # AABBGGRR

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_FULL_WIDTH = str.maketrans({"\\": "\uff3c", "{": "\uff5b", "}": "\uff5d"})


@dataclass(frozen=True, slots=True)
class SubtitleOptions:
    """What to include and how to draw it."""

    include: frozenset[str] = DEFAULT_INCLUDE
    segment: int | None = None  # a segment's seq: segment-relative times, only its events
    font: str = DEFAULT_FONT
    font_size: int | None = None  # default: from the video height (see :func:`font_size_for`)
    scroll_s: float = 8.0  # how long a line takes to cross the screen
    area: float = 0.8  # fraction of the height, from the top, that lanes fill
    cue_s: float = 4.0  # SRT: how long each cue shows


@dataclass(frozen=True, slots=True)
class Cue:
    """One event to show, ``start_cs`` centiseconds after the origin."""

    seq: int
    start_cs: int
    kind: str
    text: str  # already made safe (see :func:`clean`)
    line: str  # the SRT line: who and what


@dataclass(frozen=True, slots=True)
class Collected:
    cues: list[Cue]
    no_offset: int  # skipped: the event has no stream offset (nothing was recording)


@dataclass(frozen=True, slots=True)
class SubtitleFile:
    """A rendered file and its counts (the control API sends them as headers)."""

    text: str
    lines: int
    dropped: int  # every lane was full (ASS)
    no_offset: int  # skipped: the event has no stream offset


@dataclass(frozen=True, slots=True)
class Placed:
    """A cue drawn scrolling: in ``lane``, from ``x1`` to ``x2`` (its left edge), ``width`` px."""

    cue: Cue
    lane: int
    end_cs: int
    width: int
    x1: int
    x2: int
    y: int


@dataclass(frozen=True, slots=True)
class Layout:
    width: int
    height: int
    font_size: int
    lane_height: int
    lanes: int
    placed: list[Placed] = field(default_factory=list)
    dropped: int = 0  # every lane was full


def clean(text: str) -> str:
    """User text made safe for one subtitle line (see the module docstring)."""
    text = _SURROGATE.sub("\ufffd", text)
    text = _UNSAFE.sub(" ", text).translate(_FULL_WIDTH)
    text = " ".join(text.split())
    return truncate(text, MAX_COLUMNS)


def _count(row: Mapping[str, Any]) -> int:
    for key in ("repeat_count", "combo_count"):
        value = row.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 1


def scroll_text(row: Mapping[str, Any], kind: str) -> str:
    """What scrolls: a chat line's text alone (danmaku style), else who did what."""
    if kind == "chat":
        return str(row.get("content") or row.get("default_content") or "")
    user = row.get("user")
    nick = str(user.get("nickname") or "?") if isinstance(user, Mapping) else "?"
    if kind == "gift":
        name = row.get("gift_name") or f"gift {row.get('gift_id', '?')}"
        return f"{nick} sent {name} ×{_count(row)}"
    return f"{nick} joined"


def collect(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    include: frozenset[str] = DEFAULT_INCLUDE,
    *,
    origin_s: float = 0.0,
    until_s: float | None = None,
) -> Collected:
    """The cues of ``rows`` whose offset lies in ``[origin_s, until_s)``, in time order."""
    cues: list[Cue] = []
    no_offset = 0
    for seq, row in rows:
        kind = TYPE_KIND.get(str(row.get("type")))
        if kind is None or kind not in include:
            continue
        offset = row.get("stream_offset_s")
        if not isinstance(offset, int | float) or isinstance(offset, bool) or offset != offset:
            no_offset += 1
            continue
        if offset < origin_s or (until_s is not None and offset >= until_s):
            continue
        text = clean(scroll_text(row, kind))
        if not text:
            continue
        start_cs = round((offset - origin_s) * 100)
        cues.append(Cue(seq, start_cs, kind, text, clean(event_text(row))))
    cues.sort(key=lambda c: (c.start_cs, c.seq))
    return Collected(cues, no_offset)


def font_size_for(height: int) -> int:
    """A readable size for a video ``height`` pixels high: 43 at 1080, 29 at 720."""
    return max(12, round(height * 0.04))


def text_width(text: str, font_size: int) -> int:
    """Pixels of ``text``: full-width characters ``font_size``, others half."""
    return math.ceil(display_width(text) * font_size / 2)


def fits(prev: Placed, start_cs: int, speed: float, width: int, gap: int) -> bool:
    """Whether a line starting at ``start_cs`` with ``speed`` px/cs stays ``gap`` px behind
    ``prev`` while ``prev`` is on screen (both move left; the gap changes linearly, so
    checking at the new line's start and at ``prev``'s end is enough)."""
    if start_cs >= prev.end_cs:
        return True
    prev_speed = (prev.x1 - prev.x2) / (prev.end_cs - prev.cue.start_cs)
    prev_right_now = prev.x1 - prev_speed * (start_cs - prev.cue.start_cs) + prev.width
    if prev_right_now + gap > width:
        return False  # its tail has not cleared the right edge yet
    new_left_at_prev_end = width - speed * (prev.end_cs - start_cs)
    return new_left_at_prev_end >= gap  # prev's right edge is at 0 when it ends


def layout(
    cues: Sequence[Cue],
    width: int,
    height: int,
    *,
    font_size: int | None = None,
    scroll_s: float = 8.0,
    area: float = 0.8,
) -> Layout:
    """Scrolling lines in lanes that never overlap (see the module docstring)."""
    size = font_size or font_size_for(height)
    lane_height = math.ceil(size * 1.25)
    lanes = max(1, int(height * area) // lane_height)
    duration_cs = max(1, round(scroll_s * 100))
    gap = max(4, size // 2)
    last: list[Placed | None] = [None] * lanes
    placed: list[Placed] = []
    dropped = 0
    for cue in sorted(cues, key=lambda c: (c.start_cs, c.seq)):
        w = text_width(cue.text, size)
        speed = (width + w) / duration_cs
        lane = next(
            (
                i
                for i, prev in enumerate(last)
                if prev is None or fits(prev, cue.start_cs, speed, width, gap)
            ),
            None,
        )
        if lane is None:
            dropped += 1
            continue
        p = Placed(cue, lane, cue.start_cs + duration_cs, w, width, -w, lane * lane_height)
        last[lane] = p
        placed.append(p)
    return Layout(width, height, size, lane_height, lanes, placed, dropped)


def ass_time(cs: int) -> str:
    """``H:MM:SS.cc``."""
    h, rest = divmod(cs, 360000)
    m, rest = divmod(rest, 6000)
    s, c = divmod(rest, 100)
    return f"{h}:{m:02d}:{s:02d}.{c:02d}"


def srt_time(ms: int) -> str:
    """``HH:MM:SS,mmm``."""
    h, rest = divmod(ms, 3600000)
    m, rest = divmod(rest, 60000)
    s, milli = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{milli:03d}"


def render_ass(
    lay: Layout, *, font: str = DEFAULT_FONT, no_offset: int = 0, title: str = "dylived"
) -> str:
    """The ASS file of a layout; the counts of skipped and dropped lines as comments."""
    font = clean(font).replace(",", " ") or DEFAULT_FONT
    styles = [
        f"Style: {STYLE[kind]},{font},{lay.font_size},{COLOUR[kind]},&H00FFFFFF,&H00000000,"
        "&H80000000,0,0,0,0,100,100,0,0,1,2,0,7,0,0,0,1"
        for kind in KINDS
    ]
    lines = [
        "[Script Info]",
        f"Title: {clean(title).replace(',', ' ')}",
        f"; dylived: {len(lay.placed)} lines, {lay.dropped} dropped (every lane full), "
        f"{no_offset} skipped (no stream offset)",
        "ScriptType: v4.00+",
        f"PlayResX: {lay.width}",
        f"PlayResY: {lay.height}",
        "WrapStyle: 2",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        *styles,
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    for p in lay.placed:  # Name holds the event's seq: a line leads back to its stored row
        lines.append(
            f"Dialogue: 0,{ass_time(p.cue.start_cs)},{ass_time(p.end_cs)},{STYLE[p.cue.kind]},"
            f"{p.cue.seq},0,0,0,,{{\\move({p.x1},{p.y},{p.x2},{p.y})}}{p.cue.text}"
        )
    return "\n".join(lines) + "\n"


def render_srt(cues: Sequence[Cue], *, cue_s: float = 4.0) -> str:
    """Plain SRT: one cue per event, ``cue_s`` long, in time order."""
    blocks = []
    duration_ms = max(1, round(cue_s * 1000))
    ordered = sorted(cues, key=lambda c: (c.start_cs, c.seq))
    for n, cue in enumerate(ordered, start=1):
        start = cue.start_cs * 10
        line = cue.line.replace("<", "\uff1c").replace(">", "\uff1e")  # no HTML-like tags
        blocks.append(f"{n}\n{srt_time(start)} --> {srt_time(start + duration_ms)}\n{line}\n")
    return "\n".join(blocks)
