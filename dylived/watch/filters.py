"""Recording filters: whether a live broadcast is recorded and its events captured, and why not.

Owns the pure decision behind the ``record_windows``, ``capture_outside_windows``,
``title_include`` and ``title_exclude`` keys (``[recording]`` defaults, per broadcaster
overrides): the window syntax (``"20:00-02:00"``, seconds allowed: ``"20:00:00-20:00:08"``;
a window whose end is before its start crosses midnight), membership of a moment in the local
wall clock of ``daemon.timezone`` (zoneinfo: a DST change moves nothing, the wall clock is what
is compared), the title keywords (plain, case-insensitive) and the reason shown by ``status``.
No I/O, no clocks: the caller passes ``now``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any


DAY_S = 24 * 3600
_TIME = r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?"
_WINDOW = re.compile(rf"\s*{_TIME}\s*-\s*{_TIME}\s*")


@dataclass(frozen=True, slots=True)
class Window:
    """A daily window, seconds into the local day; ``end < start`` crosses midnight."""

    start_s: int
    end_s: int
    text: str

    def contains(self, second_of_day: float) -> bool:
        if self.start_s < self.end_s:
            return self.start_s <= second_of_day < self.end_s
        return second_of_day >= self.start_s or second_of_day < self.end_s

    @property
    def start_text(self) -> str:
        return self.text.partition("-")[0].strip()


def parse_window(text: Any) -> Window:
    """``"HH:MM[:SS]-HH:MM[:SS]"``; ValueError for another form, 24:00 or an empty window."""
    m = _WINDOW.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(
            f'{text!r} is not a window "HH:MM-HH:MM" (00:00 to 23:59, e.g. "20:00-02:00")'
        )
    h1, m1, s1, h2, m2, s2 = m.groups()
    start = int(h1) * 3600 + int(m1) * 60 + int(s1 or 0)
    end = int(h2) * 3600 + int(m2) * 60 + int(s2 or 0)
    if start == end:
        raise ValueError(f"{text!r} is empty (start = end); a whole day is no window at all")
    return Window(start, end, text.strip())


class ItemProblems(ValueError):
    """Problems of single items of a list: ``items`` holds (index from 1, message) pairs."""

    def __init__(self, items: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(f"[{i}] {m}" for i, m in items))
        self.items = items


def parse_windows(value: Any) -> tuple[str, ...]:
    """The config converter of ``record_windows``: every bad window (``ItemProblems``)."""
    if not isinstance(value, list):
        raise ValueError(f'expected an array of windows such as ["20:00-02:00"], got {value!r}')
    problems = []
    for i, item in enumerate(value, start=1):
        try:
            parse_window(item)
        except ValueError as exc:
            problems.append((i, str(exc)))
    if problems:
        raise ItemProblems(problems)
    return tuple(str(v).strip() for v in value)


def parse_keywords(value: Any) -> tuple[str, ...]:
    """The config converter of ``title_include`` / ``title_exclude``: non-empty strings."""
    if not isinstance(value, list):
        raise ValueError(f'expected an array of keywords such as ["rerun"], got {value!r}')
    wrong = [(i, v) for i, v in enumerate(value, 1) if not isinstance(v, str) or not v.strip()]
    if wrong:
        raise ItemProblems([(i, f"expected a non-empty keyword, got {v!r}") for i, v in wrong])
    return tuple(dict.fromkeys(v.strip() for v in value))


@dataclass(frozen=True, slots=True)
class FilterOptions:
    windows: tuple[Window, ...] = ()  # empty: always inside
    capture_outside_windows: bool = False
    title_include: tuple[str, ...] = ()  # empty: any title
    title_exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, recording: Any) -> FilterOptions:
        """From a ``RecordingConfig`` (the keys validated by ``parse_windows`` already)."""
        return cls(
            tuple(parse_window(w) for w in getattr(recording, "record_windows", ())),
            bool(getattr(recording, "capture_outside_windows", False)),
            tuple(getattr(recording, "title_include", ())),
            tuple(getattr(recording, "title_exclude", ())),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    record: bool
    capture: bool
    reason: str = ""  # why not recorded ("" when recorded)


def _quoted(words: Sequence[str]) -> str:
    return ", ".join(f'"{w}"' for w in words)


def title_problem(title: str, include: Sequence[str], exclude: Sequence[str]) -> str:
    """Why ``title`` is not recorded ("" when it passes): exclude first, then include."""
    folded = title.casefold()
    hits = [w for w in exclude if w.casefold() in folded]
    if hits:
        return f"title excludes {_quoted(hits)}"
    if include and not any(w.casefold() in folded for w in include):
        return (
            f"title lacks {_quoted(include)}"
            if len(include) == 1
            else (f"title has none of {_quoted(include)}")
        )
    return ""


def next_opening(second_of_day: float, windows: Sequence[Window]) -> Window | None:
    """The window that opens next after ``second_of_day`` (wall clock, wrapping at midnight)."""
    if not windows:
        return None
    return min(windows, key=lambda w: (w.start_s - second_of_day) % DAY_S)


def decide(now: datetime, tz: tzinfo, options: FilterOptions, title: str) -> Decision:
    """Record? capture? why not? ``now`` must be aware; it is compared in ``tz``'s wall clock."""
    local = now.astimezone(tz)
    second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    inside = not options.windows or any(w.contains(second) for w in options.windows)
    capture = inside or options.capture_outside_windows
    if not inside:
        nxt = next_opening(second, options.windows)
        assert nxt is not None
        return Decision(False, capture, f"outside record_windows (next {nxt.start_text})")
    problem = title_problem(title, options.title_include, options.title_exclude)
    return Decision(not problem, capture, problem)
