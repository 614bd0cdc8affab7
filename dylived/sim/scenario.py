"""Simulator scenarios: rooms, schedules, event rates and timed faults, as frozen values.

A scenario is plain data, loaded from TOML (``load_scenario``) or built in Python. Times in a
scenario (schedule durations, fault ``at``/``duration``) are *scenario seconds*; the simulator
divides them by ``time_scale`` to get wall seconds, so a long schedule can run quickly. Event
rates are events per wall second and media always runs in real time (neither is scaled).

TOML shape (every key optional except ``web_rid``)::

    time_scale = 1.0          # scenario seconds per wall second
    seed = 1                  # makes users, gifts and texts reproducible
    heartbeat_timeout = 30.0  # drop a push client that sent no heartbeat for this long (wall s)
    ping_interval = 10.0      # WebSocket pings from the server (wall s; 0 = never)
    ping_timeout = 20.0       # drop a client whose pong is this late (wall s)
    check_signature = false   # verify the push URL's `signature` against its stub
    url_lifetime = 604800     # stream URLs' `expire` = issue time + this (wall s)
    strict_ttwid = true       # web/enter wants a ttwid this simulator issued
    status_body = "real"      # status bodies of the real size and shape; "small": only the
                              # fields a client reads (a few KB)
    pump = "script"           # rates pump scripted events, each encoded and recorded;
                              # "templates": pre-encoded messages with msg_id and time
                              # patched, counted not recorded (sim/templates.py; load tests)

    [[room]]
    web_rid = "200000000001"
    platform = "douyin"                  # its personality, e.g. the Douyin personality (default)
    nickname = "测试主播"
    sec_uid = "MS4wLjABAAAA…"          # generated from web_rid when absent
    uid = 71000000000001                  # numeric user id; generated when absent
    title = "…"
    share_code = "iRNBho6u"              # /iRNBho6u/ redirects to the live reflow URL
    profile_code = "Xk3pQ2aa"            # /Xk3pQ2aa/ redirects to the profile share URL
    ended_style = "status"               # or "prompts": ended → data.prompts, no data.user
    schedule = [{state = "offline", for = 5}, {state = "live", for = 60}, {state = "offline"}]
    rates = {chat = 2.0, gift = 0.5, like = 1.0, member = 1.0, viewer_count = 0.2}
    faults = [{kind = "ws_drop", at = 20}, {kind = "http_429", at = 30, count = 2, retry_after = 5}]
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dylived.errors import ConfigError
from dylived.model import EVENT_TYPES
from dylived.sim.personality import UnknownPlatform, registered


FAULT_KINDS: tuple[str, ...] = (
    "ws_drop",  # close every push connection of the room abruptly (no close frame)
    "ws_reject",  # push upgrades answer HTTP 200 with a Handshake-Msg header (window or count)
    "http_5xx",  # status endpoints answer `status` (default 503) (window or count)
    "http_429",  # status endpoints answer 429 with Retry-After: `retry_after` (window or count)
    "risk_control",  # status endpoints answer 200 with an empty body (window or count)
    "waf_page",  # status endpoints answer 200 with a WAF/captcha HTML page (window or count)
    "stream_stall",  # media connections stay open but send no bytes (window)
    "stream_cut",  # media connections are closed abruptly
    "url_expire",  # every stream URL issued so far answers 403; open media connections are cut
    "resolution_change",  # the media switches to the other frame size (landscape <-> portrait)
    "stream_end_without_control",  # the room goes offline; push connections close, no control
)

SCHEDULE_STATES = ("live", "offline")


@dataclass(frozen=True, slots=True)
class ScheduleStep:
    """One step of a room's schedule; ``duration`` None means "from now on"."""

    state: str
    duration: float | None = None


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault: ``at`` scenario seconds after start (None = now, when injected at runtime).

    A windowed fault lasts ``duration`` scenario seconds; a counted one affects the next
    ``count`` requests. With neither, request faults affect the next request only and stream
    faults act once (stall defaults to 5 s).
    """

    kind: str
    at: float | None = None
    duration: float | None = None
    count: int | None = None
    status: int = 503  # http_5xx
    retry_after: int = 5  # http_429


@dataclass(frozen=True, slots=True)
class RoomSpec:
    """One broadcaster: identity, schedule, event rates and faults."""

    web_rid: str  # the room's key: the handle its platform's status API is asked by
    nickname: str = ""
    sec_uid: str = ""
    uid: int = 0
    title: str = ""
    share_code: str = ""
    profile_code: str = ""
    ended_style: str = "status"
    schedule: tuple[ScheduleStep, ...] = (ScheduleStep("offline"),)
    rates: Mapping[str, float] = field(default_factory=dict)
    faults: tuple[FaultSpec, ...] = ()
    platform: str = ""  # whose personality serves it; "" = the default platform

    def with_identity(self) -> RoomSpec:
        """This spec with every missing identity field derived deterministically from web_rid."""
        digest = hashlib.sha256(self.web_rid.encode()).hexdigest()
        uid = self.uid or 70_000_000_000_000 + int(digest[:12], 16) % 10**13
        sec_uid = self.sec_uid or "MS4wLjABAAAA" + _b64ish(digest, 43)
        return RoomSpec(
            web_rid=self.web_rid,
            nickname=self.nickname or f"主播{self.web_rid[-4:]}",
            sec_uid=sec_uid,
            uid=uid,
            title=self.title or f"{self.nickname or '主播'}的直播间",
            share_code=self.share_code,
            profile_code=self.profile_code,
            ended_style=self.ended_style,
            schedule=self.schedule,
            rates=dict(self.rates),
            faults=self.faults,
            platform=self.platform,
        )


STATUS_BODIES = ("real", "small")  # Scenario.status_body
PUMPS = ("script", "templates")  # Scenario.pump


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything the simulator serves; see the module docstring for the TOML form."""

    rooms: tuple[RoomSpec, ...] = ()
    time_scale: float = 1.0
    seed: int = 1
    heartbeat_timeout: float = 30.0
    ping_interval: float = 10.0
    ping_timeout: float = 20.0
    check_signature: bool = False
    url_lifetime: float = 7 * 24 * 3600.0
    strict_ttwid: bool = True
    status_body: str = "real"
    pump: str = "script"

    def wall(self, scenario_seconds: float) -> float:
        """Scenario seconds → wall seconds."""
        return scenario_seconds / self.time_scale


def _b64ish(hex_digest: str, length: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    number = int(hex_digest, 16)
    out = []
    for _ in range(length):
        number, index = divmod(number, 64)
        out.append(alphabet[index])
    return "".join(out)


# ---------------------------------------------------------------- TOML


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")


def _number(value: Any, path: str, problems: _Problems, *, positive: bool = False) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add(path, f"expected a number, got {value!r}")
        return None
    if positive and value <= 0:
        problems.add(path, "must be > 0")
        return None
    if value < 0:
        problems.add(path, "must be >= 0")
        return None
    return float(value)


_SCENARIO_KEYS = {
    "time_scale",
    "seed",
    "heartbeat_timeout",
    "ping_interval",
    "ping_timeout",
    "check_signature",
    "url_lifetime",
    "strict_ttwid",
    "status_body",
    "pump",
    "room",
}
_ROOM_KEYS = {
    "web_rid",
    "nickname",
    "sec_uid",
    "uid",
    "title",
    "share_code",
    "profile_code",
    "ended_style",
    "schedule",
    "rates",
    "faults",
    "live",
    "platform",
}
_FAULT_KEYS = {"kind", "at", "duration", "count", "status", "retry_after"}


def _parse_fault(raw: Any, path: str, problems: _Problems) -> FaultSpec | None:
    if not isinstance(raw, dict):
        problems.add(path, "expected a table")
        return None
    for key in raw.keys() - _FAULT_KEYS:
        problems.add(f"{path}.{key}", "unknown key")
    kind = raw.get("kind")
    if kind not in FAULT_KINDS:
        problems.add(f"{path}.kind", f"expected one of {', '.join(FAULT_KINDS)}, got {kind!r}")
        return None
    at = _number(raw["at"], f"{path}.at", problems) if "at" in raw else None
    duration = (
        _number(raw["duration"], f"{path}.duration", problems, positive=True)
        if "duration" in raw
        else None
    )
    count = raw.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        problems.add(f"{path}.count", "expected an integer >= 1")
        count = None
    status = raw.get("status", 503)
    if not isinstance(status, int) or not 500 <= status <= 599:
        problems.add(f"{path}.status", "expected a 5xx status")
        status = 503
    retry_after = raw.get("retry_after", 5)
    if not isinstance(retry_after, int) or retry_after < 0:
        problems.add(f"{path}.retry_after", "expected whole seconds >= 0")
        retry_after = 5
    return FaultSpec(str(kind), at, duration, count, status, retry_after)


def _parse_room(raw: Any, path: str, problems: _Problems) -> RoomSpec | None:
    if not isinstance(raw, dict):
        problems.add(path, "expected a table")
        return None
    for key in raw.keys() - _ROOM_KEYS:
        problems.add(f"{path}.{key}", "unknown key")
    web_rid = raw.get("web_rid")
    if not isinstance(web_rid, str) or not web_rid:
        problems.add(f"{path}.web_rid", "required: a non-empty string")
        return None
    strings = {}
    for key in (
        "nickname",
        "sec_uid",
        "title",
        "share_code",
        "profile_code",
        "ended_style",
        "platform",
    ):
        value = raw.get(key, "")
        if not isinstance(value, str):
            problems.add(f"{path}.{key}", "expected a string")
            value = ""
        strings[key] = value
    platform = strings["platform"]
    if platform and platform not in registered():
        problems.add(f"{path}.platform", str(UnknownPlatform(platform, registered())))
    if strings["ended_style"] not in ("", "status", "prompts"):
        problems.add(f"{path}.ended_style", "expected 'status' or 'prompts'")
    uid = raw.get("uid", 0)
    if not isinstance(uid, int) or isinstance(uid, bool) or uid < 0:
        problems.add(f"{path}.uid", "expected a non-negative integer")
        uid = 0
    steps: list[ScheduleStep] = []
    if "schedule" in raw and "live" in raw:
        problems.add(path, "give either 'schedule' or 'live', not both")
    if "live" in raw:
        steps.append(ScheduleStep("live" if raw["live"] else "offline"))
    for index, step in enumerate(raw.get("schedule", [])):
        step_path = f"{path}.schedule[{index}]"
        if not isinstance(step, dict) or step.get("state") not in SCHEDULE_STATES:
            problems.add(step_path, "expected {state = 'live'|'offline', for = seconds}")
            continue
        duration = (
            _number(step["for"], f"{step_path}.for", problems, positive=True)
            if "for" in step
            else None
        )
        steps.append(ScheduleStep(step["state"], duration))
    rates: dict[str, float] = {}
    raw_rates = raw.get("rates", {})
    if not isinstance(raw_rates, dict):
        problems.add(f"{path}.rates", "expected a table of event type → events per second")
        raw_rates = {}
    for event_type, rate in raw_rates.items():
        if event_type not in EVENT_TYPES:
            problems.add(f"{path}.rates.{event_type}", "unknown event type")
            continue
        number = _number(rate, f"{path}.rates.{event_type}", problems)
        if number is not None:
            rates[event_type] = number
    faults = []
    for index, raw_fault in enumerate(raw.get("faults", [])):
        fault = _parse_fault(raw_fault, f"{path}.faults[{index}]", problems)
        if fault is not None:
            faults.append(fault)
    return RoomSpec(
        web_rid=web_rid,
        nickname=strings["nickname"],
        sec_uid=strings["sec_uid"],
        uid=uid,
        title=strings["title"],
        share_code=strings["share_code"],
        profile_code=strings["profile_code"],
        ended_style=strings["ended_style"] or "status",
        schedule=tuple(steps) or (ScheduleStep("offline"),),
        rates=rates,
        faults=tuple(faults),
        platform=platform,
    )


def parse_scenario(data: Mapping[str, Any], source: str = "") -> Scenario:
    """A Scenario from parsed TOML; raises ConfigError listing every problem."""
    problems = _Problems()
    for key in data.keys() - _SCENARIO_KEYS:
        problems.add(key, "unknown key")
    floats: dict[str, float] = {}
    defaults = Scenario()
    for key in ("time_scale", "heartbeat_timeout", "ping_interval", "ping_timeout", "url_lifetime"):
        if key in data:
            number = _number(data[key], key, problems, positive=key == "time_scale")
            floats[key] = number if number is not None else getattr(defaults, key)
        else:
            floats[key] = getattr(defaults, key)
    flags: dict[str, bool] = {}
    for key in ("check_signature", "strict_ttwid"):
        value = data.get(key, getattr(defaults, key))
        if not isinstance(value, bool):
            problems.add(key, "expected true or false")
            value = getattr(defaults, key)
        flags[key] = value
    status_body = data.get("status_body", defaults.status_body)
    if status_body not in STATUS_BODIES:
        problems.add("status_body", f"expected one of {', '.join(STATUS_BODIES)}")
        status_body = defaults.status_body
    pump = data.get("pump", defaults.pump)
    if pump not in PUMPS:
        problems.add("pump", f"expected one of {', '.join(PUMPS)}")
        pump = defaults.pump
    seed = data.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        problems.add("seed", "expected an integer")
        seed = 1
    rooms: list[RoomSpec] = []
    raw_rooms = data.get("room", [])
    if not isinstance(raw_rooms, list):
        problems.add("room", "expected [[room]] tables")
        raw_rooms = []
    seen: set[str] = set()
    for index, raw_room in enumerate(raw_rooms):
        room = _parse_room(raw_room, f"room[{index}]", problems)
        if room is None:
            continue
        if room.web_rid in seen:
            problems.add(f"room[{index}].web_rid", f"duplicate {room.web_rid!r}")
        seen.add(room.web_rid)
        rooms.append(room)
    if problems.items:
        raise ConfigError(problems.items, source)
    return Scenario(
        rooms=tuple(rooms),
        time_scale=floats["time_scale"],
        seed=seed,
        heartbeat_timeout=floats["heartbeat_timeout"],
        ping_interval=floats["ping_interval"],
        ping_timeout=floats["ping_timeout"],
        check_signature=flags["check_signature"],
        url_lifetime=floats["url_lifetime"],
        strict_ttwid=flags["strict_ttwid"],
        status_body=status_body,
        pump=pump,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file; raises ConfigError listing every problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path}: {exc}"], str(path)) from exc
    return parse_scenario(data, str(path))


def rooms_from(specs: Sequence[RoomSpec]) -> tuple[RoomSpec, ...]:
    """Specs with their identity completed (see RoomSpec.with_identity)."""
    return tuple(spec.with_identity() for spec in specs)
