"""Recording file names: render ``filename_template`` safely under ``recordings_dir``.

Owns the sanitiser every path component goes through (nothing a platform sends, such as a
nickname of ``../../etc``, slashes, control characters or 300 bytes of emoji, can escape
``recordings_dir`` or break a file system) and the rendering of the template fields
``{broadcaster}`` (its key), ``{nickname}`` and ``{title}`` (as the platform sends them),
``{date}`` (YYYY-MM-DD in the configured time zone), ``{start:%fmt}`` (an aware datetime in that
zone), ``{seq:04d}``, ``{room_id}``, ``{quality}`` and ``{ext}`` (the container).
Pure except :func:`contain`, which resolves symlinks to prove the final path stays inside
``recordings_dir``. Imports nothing that does I/O beyond ``os.path``.
"""

from __future__ import annotations

import os.path
import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from dylived.errors import RecorderError


MAX_COMPONENT_BYTES = 200  # NAME_MAX is 255 on ext4/xfs/btrfs; leaves room for ".part"
MAX_EXTENSION_BYTES = 16
# The fields a filename_template may use (config validation checks templates against these).
TEMPLATE_FIELDS: tuple[str, ...] = (
    "broadcaster",
    "nickname",
    "title",
    "date",
    "start",
    "seq",
    "room_id",
    "quality",
    "ext",
)
DEFAULT_TEMPLATE = "{broadcaster}/{date}/{broadcaster}_{start:%Y%m%d-%H%M%S}_{seq:04d}.ts"

# Characters replaced by "_": path separators, NUL, and what Windows/SMB shares refuse
# (recordings often live on a NAS exported over SMB).
_FORBIDDEN = frozenset('/\\\0<>:"|?*')
# Bidirectional overrides and isolates can make a name display as something else.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.I)
_LEADING = " .-\t"
_TRAILING = " ."


def _clean_char(char: str) -> str:
    if char in _FORBIDDEN or char in _BIDI_CONTROLS:
        return "_"
    category = unicodedata.category(char)
    if category == "Cc" or category in ("Zl", "Zp", "Cs", "Co", "Cn"):
        return "_"
    if category == "Zs":
        return " "
    return char


def _truncate_utf8(text: str, max_bytes: int) -> str:
    """At most ``max_bytes`` of UTF-8, never splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def sanitize_component(text: str, max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """One safe path component (a directory or file name) made from arbitrary text.

    The result is never empty, ``.`` or ``..``; has no separator, NUL, control or bidi
    character; does not start with a dot, dash or space (no hidden files, no option-like
    names) nor end with a dot or space; is not a Windows reserved device name; and is at most
    ``max_bytes`` of UTF-8, cut on a character boundary while keeping a short extension.
    Sanitising a sanitised name changes nothing.
    """
    if max_bytes < 8:
        raise ValueError("max_bytes must leave room for a name")
    cleaned = "".join(_clean_char(c) for c in unicodedata.normalize("NFC", text))
    cleaned = cleaned.lstrip(_LEADING).rstrip(_TRAILING)
    if not cleaned:
        return "_"
    if _WINDOWS_RESERVED.match(cleaned):
        cleaned = "_" + cleaned
    if len(cleaned.encode("utf-8")) > max_bytes:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and stem and 0 < len(extension.encode("utf-8")) <= MAX_EXTENSION_BYTES:
            room = max_bytes - len(extension.encode("utf-8")) - 1
            cleaned = _truncate_utf8(stem, room).rstrip(_TRAILING) + "." + extension
        else:
            cleaned = _truncate_utf8(cleaned, max_bytes)
        cleaned = cleaned.rstrip(_TRAILING)
        if cleaned.startswith(".") or not cleaned:
            cleaned = "_" + cleaned.lstrip(_LEADING)
    # NFC can recompose after the cuts above; normalising again keeps it idempotent.
    cleaned = unicodedata.normalize("NFC", cleaned)
    if len(cleaned.encode("utf-8")) > max_bytes:  # pragma: no cover - NFC never grows here
        cleaned = _truncate_utf8(cleaned, max_bytes)
    return cleaned


def template_problems(template: str) -> list[str]:
    """What is wrong with a filename_template (empty list = usable); for config validation."""
    problems: list[str] = []
    if not template.strip():
        return ["the template is empty"]
    if template.startswith("/"):
        problems.append("the template must be relative to recordings_dir")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"cannot parse the template: {exc}"]
    names = {name for _, name, _, _ in parsed if name is not None}
    for name in sorted(names - set(TEMPLATE_FIELDS)):
        problems.append(
            f"unknown field {{{name}}}; known: {', '.join(sorted(TEMPLATE_FIELDS))}"
            if name
            else "positional fields {} are not allowed; name them"
        )
    if "seq" not in names:
        problems.append("the template needs {seq} so segments get distinct names")
    if any(part in ("..", ".") for part in template.split("/")):
        problems.append("the template must not contain '.' or '..' components")
    if not problems:
        try:
            render_relative(
                template,
                NamingFields("b", datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC")), 0),
                ZoneInfo("UTC"),
            )
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            problems.append(f"the template does not render: {exc}")
    return problems


@dataclass(frozen=True, slots=True)
class NamingFields:
    """The values a template can use; ``start`` must be timezone-aware."""

    broadcaster: str  # the broadcaster's key (its configured name, or its target's id)
    start: datetime
    seq: int
    room_id: str = ""
    title: str = ""
    quality: str = ""
    nickname: str = ""
    ext: str = "ts"


def render_relative(template: str, fields: NamingFields, timezone: ZoneInfo) -> PurePosixPath:
    """The template rendered into a relative path, every component sanitised.

    Platform text is sanitised before it is inserted (so a nickname can never add a
    component), and each rendered component again (so the result is always safe).
    """
    if fields.start.tzinfo is None:
        raise ValueError("start must be a timezone-aware datetime")
    start = fields.start.astimezone(timezone)
    values = {
        "broadcaster": sanitize_component(fields.broadcaster, 100),
        "nickname": sanitize_component(fields.nickname or fields.broadcaster, 100),
        "ext": sanitize_component(fields.ext, MAX_EXTENSION_BYTES),
        "title": sanitize_component(fields.title, 100) if fields.title else "",
        "room_id": sanitize_component(fields.room_id, 64) if fields.room_id else "",
        "quality": sanitize_component(fields.quality, 32) if fields.quality else "",
        "date": start.strftime("%Y-%m-%d"),
        "start": start,
        "seq": fields.seq,
    }
    parts = [
        sanitize_component(part.format_map(values))
        for part in template.strip("/").split("/")
        if part.strip()
    ]
    if not parts:
        raise ValueError("the template rendered to an empty path")
    return PurePosixPath(*parts)


def contain(recordings_dir: Path, relative: PurePosixPath) -> Path:
    """``recordings_dir / relative``, proven (symlinks resolved) to stay inside it.

    Raises:
        RecorderError: the path would leave recordings_dir (e.g. through a symlink).
    """
    root = Path(os.path.realpath(recordings_dir))
    candidate = Path(os.path.realpath(root.joinpath(*relative.parts)))
    if candidate == root or not candidate.is_relative_to(root):
        raise RecorderError(f"refusing a recording path outside {root}: {candidate}")
    return candidate


def segment_path(
    recordings_dir: Path, template: str, fields: NamingFields, timezone: ZoneInfo
) -> Path:
    """The final path of one segment file under recordings_dir."""
    return contain(recordings_dir, render_relative(template, fields, timezone))
