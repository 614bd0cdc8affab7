"""Douyin's target forms: what a configured ``target`` names, and where a share link leads.

Owns :func:`parse_target` (pure; the config asks it through the registry), :func:`claims` (is
a target string Douyin's?), the resolved value :class:`ResolvedTarget` and the reading of a
share link's redirect :func:`parse_share_location` (protocol.md §1.6). No I/O.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from dylived.errors import RoomNotFound
from dylived.platforms.base import Target


_SEC_UID_LOCATION = re.compile(r"^MS4wLjAB[A-Za-z0-9_-]+$")
_LIVE_HOSTS = frozenset({"live.douyin.com"})
_HOSTS = frozenset(
    {"live.douyin.com", "v.douyin.com", "douyin.com", "www.douyin.com", "iesdouyin.com",
     "www.iesdouyin.com"}
)  # fmt: skip


class TargetKind(enum.StrEnum):
    """The configured forms of a Douyin ``[[broadcaster]] target``."""

    WEB_RID = "web_rid"
    SHARE_URL = "share_url"
    SEC_UID = "sec_uid"
    USER_ID = "user_id"


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """What a target resolved to: enough to ask for its status."""

    target: str  # as configured
    kind: TargetKind
    web_rid: str | None = None
    sec_uid: str | None = None
    room_id: str | None = None  # the room a share link pointed at (changes every broadcast)


@dataclass(frozen=True, slots=True)
class ShareLocation:
    """What the redirect of a share link names."""

    web_rid: str | None = None
    sec_uid: str | None = None
    room_id: str | None = None


class TargetLike(Protocol):
    """A classified target, such as ``platforms.base.Target`` (kind is a TargetKind value)."""

    @property
    def kind(self) -> str: ...
    @property
    def value(self) -> str: ...


_WEB_RID = re.compile(r"[0-9A-Za-z_][0-9A-Za-z_.]{0,63}")
_SEC_UID = re.compile(r"MS4wLjAB[0-9A-Za-z_-]{8,}")
_SHARE_CODE = re.compile(r"[0-9A-Za-z_-]{4,32}")
_TARGET_FORMS = (
    "use https://live.douyin.com/<web_rid>, a bare web_rid, a https://v.douyin.com/<code>/ share "
    "link, https://www.douyin.com/user/<sec_uid>, a bare sec_uid (MS4wLjAB…) or uid:<user id>"
)


def target_problem(target: Target) -> str | None:
    """Why a target of an accepted form cannot be watched (the config refuses it), or None."""
    if target.kind != TargetKind.USER_ID:
        return None
    return (
        f"a numeric user id ({target.value}) cannot be resolved to a live room (Douyin offers "
        "no public user id → room lookup); use the live address "
        "https://live.douyin.com/<web_rid> or the profile's sec_uid "
        "(https://www.douyin.com/user/MS4wLjAB…) instead"
    )


def parse_target(text: str) -> Target:
    """Parse a ``target`` (pure). Share text pasted from the app is fine: its URL is used.

    Raises:
        ValueError: not one of the accepted forms; the message lists them.
    """
    raw = text.strip()
    if any(ch.isspace() for ch in raw):
        found = re.search(r"https?://\S+", raw)
        if found is None:
            raise ValueError(f"{text!r} is not a Douyin target: {_TARGET_FORMS}")
        raw = found.group(0)
    prefix, sep, rest = raw.partition(":")
    if sep and prefix.lower() in ("uid", "user_id"):
        if not rest.isdigit():
            raise ValueError(f"{text!r}: a numeric user id is digits only, as in uid:123456789")
        return Target(TargetKind.USER_ID, rest)
    if "/" in raw:
        return _parse_target_url(raw if "://" in raw else "https://" + raw, text)
    if _SEC_UID.fullmatch(raw):
        return Target(TargetKind.SEC_UID, raw)
    if _WEB_RID.fullmatch(raw):
        return Target(TargetKind.WEB_RID, raw)
    raise ValueError(f"{text!r} is not a Douyin target: {_TARGET_FORMS}")


def _parse_target_url(url: str, text: str) -> Target:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{text!r}: not an http(s) address")
    if host == "live.douyin.com":
        candidates = parse_qs(parts.query).get("live_web_rid", []) + segments[:1]
        for candidate in candidates:
            web_rid = candidate.removeprefix("+")
            if _WEB_RID.fullmatch(web_rid):
                return Target(TargetKind.WEB_RID, web_rid)
        raise ValueError(f"{text!r}: no web_rid in the live.douyin.com address")
    if host == "v.douyin.com":
        if segments and _SHARE_CODE.fullmatch(segments[0]):
            return Target(TargetKind.SHARE_URL, segments[0])
        raise ValueError(f"{text!r}: no share code in the v.douyin.com link")
    if host in ("douyin.com", "www.douyin.com", "iesdouyin.com", "www.iesdouyin.com"):
        if len(segments) >= 2 and segments[-2] == "user":
            if _SEC_UID.fullmatch(segments[-1]):
                return Target(TargetKind.SEC_UID, segments[-1])
            raise ValueError(f"{text!r}: {segments[-1]!r} is not a sec_uid (MS4wLjAB…)")
        if len(segments) >= 2 and segments[-2] == "live" and _WEB_RID.fullmatch(segments[-1]):
            return Target(TargetKind.WEB_RID, segments[-1])
    raise ValueError(f"{text!r} is not a Douyin address: {_TARGET_FORMS}")


def claims(text: str) -> bool:
    """True when ``text`` is a Douyin target by its form (a Douyin address or a bare id)."""
    raw = text.strip()
    found = re.search(r"https?://\S+", raw)
    if found is not None:
        raw = found.group(0)
    if "/" in raw:
        host = (urlsplit(raw if "://" in raw else "https://" + raw).hostname or "").lower()
        return host in _HOSTS
    try:
        parse_target(raw)
    except ValueError:
        return False
    return True


def _sec_uid_from(segments: list[str], query: dict[str, list[str]]) -> str | None:
    for key in ("sec_user_id", "sec_uid"):
        for value in query.get(key, []):
            if _SEC_UID_LOCATION.match(value):
                return value
    if "user" in segments:  # /user/<sec_uid> and /share/user/<sec_uid>
        index = segments.index("user") + 1
        if index < len(segments) and _SEC_UID_LOCATION.match(segments[index]):
            return segments[index]
    return None


def parse_share_location(location: str) -> ShareLocation:
    """Read the ``Location`` a share link redirects to (protocol.md §1.6).

    Live share → ``…/douyin/webcast/reflow/<room_id>?…sec_user_id=<sec_uid>``; profile share →
    ``…/share/user/<sec_uid>?sec_uid=…``; some point straight at ``live.douyin.com/<web_rid>``.

    Raises:
        RoomNotFound: the location names none of these.
    """
    parts = urlsplit(location)
    segments = [s for s in parts.path.split("/") if s]
    query = parse_qs(parts.query)
    sec_uid = _sec_uid_from(segments, query)
    room_id = None
    if "reflow" in segments:
        index = segments.index("reflow") + 1
        if index < len(segments) and segments[index].isdigit():
            room_id = segments[index]
    web_rid = None
    if (parts.hostname or "").lower() in _LIVE_HOSTS and segments:
        web_rid = segments[0].lstrip("+")
    if sec_uid is None and room_id is None and web_rid is None:
        raise RoomNotFound(f"the share link leads to {location!r}, which names no room or user")
    return ShareLocation(web_rid=web_rid, sec_uid=sec_uid, room_id=room_id)
