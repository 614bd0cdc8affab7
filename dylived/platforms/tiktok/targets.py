"""TikTok's target forms: what a configured ``target`` names.

Owns :func:`parse_target` (pure), :func:`claims` (is a target string TikTok's by its form?),
:func:`target_problem` and the resolved value :class:`ResolvedTarget`. The forms:

- ``@user``, ``https://www.tiktok.com/@user``, ``https://www.tiktok.com/@user/live`` (any
  ``tiktok.com`` host, with or without the scheme, query ignored) → ``handle`` (the
  ``uniqueId``, without the ``@``);
- a bare handle (``user``) or a bare numeric room id (``7300000000000000001``): a bare word
  could be anyone's (a Douyin web_rid is one too), so these are TikTok's only when the
  broadcaster says ``platform = "tiktok"``; then digits only is a ``room_id`` (a numeric
  handle is written ``@123``), anything else a ``handle``;
- ``https://vm.tiktok.com/<code>/`` short links are recognised and refused (``target_problem``:
  use the ``@user`` they lead to).

No I/O.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from dylived.platforms.base import Target


DOMAIN = "tiktok.com"
_HANDLE = re.compile(r"[0-9A-Za-z_.]{1,64}")
_ROOM_ID = re.compile(r"[0-9]{6,20}")
_SHORT_HOSTS = frozenset({"vm.tiktok.com", "vt.tiktok.com"})
_FORMS = (
    "use @<user>, https://www.tiktok.com/@<user>, https://www.tiktok.com/@<user>/live, or "
    '(with platform = "tiktok") a bare <user> or a numeric room id'
)


class TargetKind(enum.StrEnum):
    """The configured forms of a TikTok ``[[broadcaster]] target``."""

    HANDLE = "handle"
    ROOM_ID = "room_id"
    SHORT_LINK = "short_link"


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """What a target resolved to: the handle (``uniqueId``) or the room id to ask about."""

    target: str  # as configured
    kind: TargetKind
    unique_id: str | None = None
    room_id: str | None = None


def _host_of(raw: str) -> str:
    return (urlsplit(raw if "://" in raw else "https://" + raw).hostname or "").lower()


def _is_tiktok_host(host: str) -> bool:
    return host == DOMAIN or host.endswith("." + DOMAIN)


def _address(raw: str) -> str | None:
    """The URL in ``raw`` (share text may surround it), or None when it has none."""
    found = re.search(r"https?://\S+", raw)
    if found is not None:
        return found.group(0)
    return raw if "/" in raw and not any(ch.isspace() for ch in raw) else None


def claims(text: str) -> bool:
    """True when ``text`` is a TikTok target by its form: a ``tiktok.com`` address or ``@user``
    (a bare word or number is not claimed: it could be anyone's)."""
    raw = text.strip()
    address = _address(raw)
    if address is not None:
        return _is_tiktok_host(_host_of(address))
    return raw.startswith("@") and _HANDLE.fullmatch(raw[1:]) is not None


def parse_target(text: str) -> Target:
    """Parse a ``target`` (pure).

    Raises:
        ValueError: not one of the accepted forms; the message lists them.
    """
    raw = text.strip()
    address = _address(raw)
    if address is not None:
        return _parse_url(address, text)
    if raw.startswith("@"):
        if _HANDLE.fullmatch(raw[1:]):
            return Target(TargetKind.HANDLE, raw[1:])
        raise ValueError(f"{text!r}: a TikTok handle is letters, digits, '_' and '.'")
    if _ROOM_ID.fullmatch(raw):
        return Target(TargetKind.ROOM_ID, raw)
    if _HANDLE.fullmatch(raw):
        return Target(TargetKind.HANDLE, raw)
    raise ValueError(f"{text!r} is not a TikTok target: {_FORMS}")


def _parse_url(address: str, text: str) -> Target:
    parts = urlsplit(address if "://" in address else "https://" + address)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not _is_tiktok_host(host):
        raise ValueError(f"{text!r} is not a TikTok address: {_FORMS}")
    segments = [s for s in parts.path.split("/") if s]
    if host in _SHORT_HOSTS:
        if segments and re.fullmatch(r"[0-9A-Za-z_-]{4,32}", segments[0]):
            return Target(TargetKind.SHORT_LINK, segments[0])
        raise ValueError(f"{text!r}: no code in the short link")
    handle = segments[0][1:] if segments and segments[0].startswith("@") else ""
    if _HANDLE.fullmatch(handle) and (len(segments) == 1 or segments[1] == "live"):
        return Target(TargetKind.HANDLE, handle)
    raise ValueError(f"{text!r} names no TikTok user: {_FORMS}")


def target_problem(target: Target) -> str | None:
    """Why a target of an accepted form cannot be watched (the config refuses it), or None."""
    if target.kind == TargetKind.SHORT_LINK:
        return (
            f"a TikTok short link ({target.value}) is not followed; open it once and use the "
            "@<user> it leads to (https://www.tiktok.com/@<user>/live)"
        )
    return None


def resolve_target(text: str, target: Target) -> ResolvedTarget:
    """The resolved value of a parsed target (no request: a handle or a room id is asked about
    directly). Raises ValueError for a form that cannot be watched."""
    kind = TargetKind(target.kind)
    if kind is TargetKind.HANDLE:
        return ResolvedTarget(text, kind, unique_id=target.value)
    if kind is TargetKind.ROOM_ID:
        return ResolvedTarget(text, kind, room_id=target.value)
    raise ValueError(target_problem(target) or f"{text!r} cannot be watched")
