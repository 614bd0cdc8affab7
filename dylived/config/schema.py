"""The config schema key by key: value converters, per-section specs, and TOML rendering.

Owns *how* each key is checked and converted (one message per problem) and how the effective
config is printed; ``config.load`` owns the frozen dataclasses and builds them from what this
module returns; the generic converters are ``config.values``', each platform's section spec its
own (``registry.specs()``). Pure: no file or network access; imports only ``config.values``,
``model``, ``record.naming``, ``watch.filters`` (the filter keys), ``net.proxy`` (the ``proxy``
keys) and the platform registry of dylived.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dylived.config.values import (
    Converter,
    Secret,
    got,
    is_loopback_host,
    nonempty_text,
    text,
)
from dylived.model import EVENT_TYPES
from dylived.net.proxy import ProxyUrl, parse_proxy
from dylived.platforms import registry
from dylived.platforms.base import Target
from dylived.record.naming import TEMPLATE_FIELDS
from dylived.watch.filters import ItemProblems, parse_keywords, parse_windows


VIDEO_QUALITIES = ("origin", "uhd", "hd", "sd", "ld", "md", "FULL_HD1", "HD1", "SD1", "SD2")
CONTAINERS = ("ts", "mkv", "mp4")
LOG_LEVELS = ("debug", "info", "warning", "error")

# The platforms a broadcaster's ``platform`` may name: the registered ones and the planned ones
# (``registry.PLANNED``, told "not supported yet"). Which are implemented is the registry's
# (``config.load.PLATFORM_SECTIONS``).
KNOWN_PLATFORMS = registry.known()
DEFAULT_PLATFORM = registry.DEFAULT
_BARE_WORD = re.compile(r"[0-9A-Za-z_.]{1,64}")


def infer_platform(text: str) -> str | None:
    """The platform a target's form names (pure), or None for a bare id or name (letters,
    digits, ``_`` and ``.``: it could be anyone's) and for a form no platform knows.

    A registered platform's forms first (``registry.platform_of``); then the address forms of a
    planned platform (``registry.planned_of``: a ``tiktok.com`` address or ``@user`` →
    "tiktok"). None becomes ``DEFAULT_PLATFORM`` unless the broadcaster says ``platform``; the
    default platform's parser then rejects a form it does not know with the list of its forms.
    """
    raw = text.strip()
    if _BARE_WORD.fullmatch(raw):
        return None  # a bare id or name could be anyone's
    return registry.platform_of(raw) or registry.planned_of(raw)


def parse_target(text: str) -> Target:
    """Classify a ``target`` by the forms of the platform that claims it (the registry's
    default platform when none does, so its error lists the accepted forms).

    Raises:
        ValueError: not one of the accepted forms; the message lists them.
    """
    spec = registry.get(registry.platform_of(text) or registry.DEFAULT)
    target: Target = spec.parse_target(text)
    return target


# ----------------------------------------------------------------------------- converters


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected true or false, got {got(value)}")


def table(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise ValueError(f"expected a table, got {got(value)}")


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, None: 1.0}


def number(
    minimum: float = 0.0,
    *,
    strict: bool = False,
    maximum: float | None = None,
    unit: str = "seconds",
    durations: bool = True,
) -> Converter:
    """A float ≥ minimum (> minimum when strict); seconds may be written "90s", "2m", "1h"."""

    def convert(value: Any) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            result = float(value)
        elif durations and isinstance(value, str) and (m := _DURATION.fullmatch(value)):
            result = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        else:
            raise ValueError(f"expected a number of {unit}, got {got(value)}")
        if result < minimum or (strict and result == minimum):
            raise ValueError(f"must be {'>' if strict else '≥'} {minimum:g}, got {result:g}")
        if maximum is not None and result > maximum:
            raise ValueError(f"must be ≤ {maximum:g}, got {result:g}")
        return result

    return convert


def integer(minimum: int, maximum: int) -> Converter:
    def convert(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {got(value)}")
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}, got {value}")
        return value

    return convert


def choice(options: tuple[str, ...]) -> Converter:
    def convert(value: Any) -> str:
        if text(value) in options:
            return str(value)
        close = [o for o in options if o.lower() == str(value).lower()]
        close = close or difflib.get_close_matches(str(value), options, 1, 0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{value!r} is not one of {', '.join(options)}{hint}")

    return convert


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kKMGT]?)(i?)(B?)\s*")


def size(*, off_allowed: bool = False) -> Converter:
    """Bytes: an integer, or "500MB" (SI), "2GiB"/"2G" (binary); "" = off when allowed."""

    def convert(value: Any) -> int | None:
        if off_allowed and value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        m = _SIZE.fullmatch(value) if isinstance(value, str) else None
        if m is None or (m.group(3) and not m.group(2)):
            off = ', or "" for off' if off_allowed else ""
            raise ValueError(
                f'expected bytes or a size such as "2GiB" or "500MB"{off}, got {got(value)}'
            )
        power = " KMGT".index(m.group(2).upper() or " ")
        base = 1000 if (m.group(4) and not m.group(3)) else 1024
        return int(float(m.group(1)) * base**power)

    return convert


def event_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"expected an array of event types, got {got(value)}")
    wrong = [v for v in value if v not in EVENT_TYPES]
    if wrong:
        raise ValueError(f"{', '.join(map(repr, wrong))}: not among {', '.join(EVENT_TYPES)}")
    return tuple(dict.fromkeys(value))


def mode(value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"0?[0-7]{3}", value):
        return int(value, 8)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o777:
        return value  # written as 0o660 in TOML
    raise ValueError(f'expected an octal file mode such as "0660", got {got(value)}')


def listen(value: Any) -> str:
    m = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^:\[\]]+):(\d{1,5})", text(value))
    if value == "" or (m is not None and int(m.group(2)) <= 65535):
        return str(value)
    raise ValueError(f'expected "host:port" (e.g. "127.0.0.1:9464") or "" for off, got {value!r}')


def web_token(value: Any) -> Secret:
    """``web.token``: "" (none) or at least 16 printable ASCII characters, kept as a Secret."""
    raw = text(value)
    if raw and (len(raw) < 16 or not all(33 <= ord(c) < 127 for c in raw)):
        raise ValueError("must be at least 16 printable ASCII characters without spaces")
    return Secret(raw)


def is_loopback_listen(listen_value: str) -> bool:
    """True when a ``host:port`` (checked by ``listen``) names a loopback host."""
    return is_loopback_host(listen_value.rpartition(":")[0])


def timezone(value: Any) -> str:
    try:
        ZoneInfo(text(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai"
        ) from None
    return str(value)


def lower_choice(options: tuple[str, ...]) -> Converter:
    inner = choice(options)
    return lambda value: inner(text(value).lower())


def template(value: Any) -> str:
    """A relative path template of TEMPLATE_FIELDS; it is test-formatted here."""
    try:
        names = [
            name for _, name, _, _ in string.Formatter().parse(text(value)) if name is not None
        ]
        unknown = [n for n in names if n not in TEMPLATE_FIELDS]
        if unknown:
            raise ValueError(
                f"unknown field {{{unknown[0]}}}; fields: {', '.join(TEMPLATE_FIELDS)}"
            )
        sample = str(value).format(
            broadcaster="b",
            nickname="n",
            title="t",
            date="2026-01-02",
            seq=1,
            room_id="1",
            start=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            quality="origin",
            ext="ts",
        )
    except (IndexError, KeyError, ValueError) as exc:
        raise ValueError(f"{value!r} is not a usable template: {exc}") from None
    if "seq" not in names:
        raise ValueError("must contain {seq} so that segments get distinct names")
    if sample.startswith("/") or ".." in Path(sample).parts:
        raise ValueError("must be a relative path that stays inside recordings_dir")
    return str(value)


def template_extension_problem(tmpl: str, container: str) -> str | None:
    if "{ext}" in tmpl or tmpl.endswith("." + container):
        return None
    suffix = Path(tmpl).suffix or "no extension"
    return f"ends in {suffix!r} but container is {container!r}; end it in .{container} or {{ext}}"


# ----------------------------------------------------------------------------- specs

_POSITIVE = number(strict=True)
_NONNEGATIVE = number()

SPECS: dict[str, dict[str, Converter]] = {
    "daemon": {
        "state_dir": nonempty_text,
        "database": nonempty_text,
        "recordings_dir": nonempty_text,
        "timezone": timezone,
        "ffmpeg": text,
        "log_level": lower_choice(LOG_LEVELS),
        "state_file": nonempty_text,
        "store_max_pending_rows": integer(1, 10_000_000),
    },
    "control": {"socket": nonempty_text, "mode": mode, "group": text, "metrics_listen": listen},
    "poll": {
        "interval": _POSITIVE,
        "jitter": _NONNEGATIVE,
        "live_interval": _POSITIVE,
        "grace": _NONNEGATIVE,
        "max_concurrent": integer(1, 1000),
        "min_spacing": _NONNEGATIVE,
        "error_backoff_max": _POSITIVE,
        "breaker_pause": _POSITIVE,
        "breaker_pause_max": _POSITIVE,
        "request_timeout": _POSITIVE,
    },
    "recording": {
        "record_video": boolean,
        "video_quality": choice(VIDEO_QUALITIES),
        "segment_minutes": number(strict=True, maximum=60, unit="minutes", durations=False),
        "container": choice(CONTAINERS),
        "filename_template": template,
        "min_free": size(),
        "stall_timeout": _POSITIVE,
        "rw_timeout": _POSITIVE,
        "max_session_minutes": number(unit="minutes", durations=False),
        "retention_max_bytes": size(off_allowed=True),
        "retention_max_days": number(unit="days", durations=False),
        "remux_mp4": boolean,
        "keep_originals": boolean,
        "remux_subtitles": boolean,
        "record_windows": parse_windows,  # filters (watch/filters.py)
        "capture_outside_windows": boolean,
        "title_include": parse_keywords,
        "title_exclude": parse_keywords,
    },
    "capture": {"capture_events": boolean, "exclude_events": event_list},
    "web": {"listen": listen, "token": web_token},
}
# Each platform's section, with the keys and converters its package defines.
SPECS.update((name, dict(spec.options)) for name, spec in registry.specs().items())
FILTER_KEYS = ("record_windows", "capture_outside_windows", "title_include", "title_exclude")
BROADCASTER_OVERRIDES = (
    "enabled",
    "interval",
    "record_video",
    "video_quality",
    "segment_minutes",
    "capture_events",
    "exclude_events",
    "max_session_minutes",
    "proxy",
    *FILTER_KEYS,
)
BROADCASTER_SPEC: dict[str, Converter] = {
    "target": nonempty_text,
    "name": nonempty_text,
    "platform": choice(KNOWN_PLATFORMS),
    "enabled": boolean,
    "interval": _POSITIVE,
    **{k: SPECS["recording"][k] for k in ("record_video", "video_quality", "segment_minutes")},
    **SPECS["capture"],
    "max_session_minutes": SPECS["recording"]["max_session_minutes"],
    "proxy": parse_proxy,  # "" = direct even when its platform's section has a proxy
    **{k: SPECS["recording"][k] for k in FILTER_KEYS},
    "hooks": table,  # its own hook lists: checked by config/hooks.py
}
TOP_LEVEL = (*SPECS, "broadcaster", "notify", "hooks")
_HOME = {key: f"[{section}]" for section, spec in SPECS.items() for key in spec}
_KEY_FORBIDDEN = re.compile(r"[/\\%?#\x00-\x1f\x7f]")


def unknown_key(path: str, key: str, allowed: tuple[str, ...] | list[str]) -> str:
    where = f"{path}.{key}" if path else key
    close = difflib.get_close_matches(key, list(allowed), 1, 0.6)
    if close:
        return f"{where}: unknown key; did you mean {close[0]!r}?"
    if key in _HOME:
        return f"{where}: unknown key here; {key!r} belongs in {_HOME[key]}"
    return f"{where}: unknown key; expected one of {', '.join(allowed)}"


def read_table(
    raw: Any, path: str, spec: Mapping[str, Converter], problems: list[str]
) -> dict[str, Any]:
    """Convert the known keys of one table; every problem is appended with its dotted path."""
    if not isinstance(raw, dict):
        problems.append(f"{path}: expected a table, got {got(raw)}")
        return {}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in spec:
            problems.append(unknown_key(path, key, tuple(spec)))
            continue
        try:
            values[key] = spec[key](value)
        except ItemProblems as exc:  # one problem per bad item of a list
            problems.extend(f"{path}.{key}[{i}]: {message}" for i, message in exc.items)
        except ValueError as exc:
            problems.append(f"{path}.{key}: {exc}")
    return values


def key_problem(key: str) -> str | None:
    """Why a broadcaster key cannot be used (file names, URL paths of the control API)."""
    if _KEY_FORBIDDEN.search(key) or key.startswith(".") or key != key.strip() or len(key) > 64:
        return (
            f"{key!r} cannot be a broadcaster key: at most 64 characters, no / \\ % ? # or "
            "control characters, no leading dot or surrounding spaces"
        )
    return None


# ----------------------------------------------------------------------------- rendering


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Secret):
        return '"********"  # secret: masked' if value else '""'
    if isinstance(value, ProxyUrl):  # str() masks the password
        return json.dumps(str(value)) + ("  # password masked" if value.password else "")
    if value is None:
        return '""'
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def render_table(header: str, values: Mapping[str, Any]) -> list[str]:
    return [header, *(f"{key} = {toml_value(value)}" for key, value in values.items()), ""]


def section_values(section: Any) -> dict[str, Any]:
    values = {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}
    if "mode" in values:
        values["mode"] = f"{values['mode']:04o}"
    return values
