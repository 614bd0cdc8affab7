"""Platform name → implementation: the one place that lists the platforms.

``get(name)`` gives a :class:`~dylived.platforms.base.PlatformSpec`; ``platform_of(target)``
the name of the platform whose target forms a string has (the first that claims it, in
registration order), or ``None``. ``DEFAULT`` is the platform of a broadcaster that names none
and whose target no platform claims. A new platform adds its spec to ``_SPECS``.

``PLANNED`` lists the platforms known by name and address but not implemented yet: a target on
one of them, a broadcaster's ``platform`` or a section naming one is told "not supported yet"
(``planned_of(target)``) instead of "not a target"; ``known()`` is both lists' names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from dylived.platforms.base import PlatformSpec
from dylived.platforms.douyin.spec import SPEC as _DOUYIN
from dylived.platforms.tiktok.spec import SPEC as _TIKTOK


_SPECS: dict[str, PlatformSpec] = {_DOUYIN.name: _DOUYIN, _TIKTOK.name: _TIKTOK}
DEFAULT = _DOUYIN.name


@dataclass(frozen=True, slots=True)
class Planned:
    """A platform not implemented yet: its name, its addresses' domain (subdomains too) and
    the regular expression of its bare handle form ("" = none)."""

    name: str
    domain: str
    handle: str = ""


PLANNED: tuple[Planned, ...] = ()


def specs() -> Mapping[str, PlatformSpec]:
    """Every registered platform by name, in registration order."""
    return dict(_SPECS)


def names() -> tuple[str, ...]:
    return tuple(_SPECS)


def get(name: str) -> PlatformSpec:
    """The platform called ``name``.

    Raises:
        ValueError: no platform has that name (the message lists the known ones).
    """
    try:
        return _SPECS[name]
    except KeyError:
        known = ", ".join(_SPECS)
        raise ValueError(f"unknown platform {name!r} (known: {known})") from None


def platform_of(target: str) -> str | None:
    """The platform whose target forms ``target`` has, or ``None`` when none claims it."""
    for spec in _SPECS.values():
        if spec.claims(target):
            return spec.name
    return None


def known() -> tuple[str, ...]:
    """The names of the registered platforms, then of the planned ones."""
    return (*_SPECS, *(p.name for p in PLANNED if p.name not in _SPECS))


def planned_of(target: str) -> str | None:
    """The planned platform whose address (a URL on its domain) or handle ``target`` is, or None.

    Pure; a form a registered platform claims is ``platform_of``'s.
    """
    raw = target.strip()
    found = re.search(r"https?://\S+", raw)
    if found is not None or "/" in raw:
        address = found.group(0) if found is not None else raw
        split = urlsplit(address if "://" in address else "https://" + address)
        host = (split.hostname or "").lower()
        for planned in PLANNED:
            if host == planned.domain or host.endswith("." + planned.domain):
                return planned.name
        return None
    return next((p.name for p in PLANNED if p.handle and re.fullmatch(p.handle, raw)), None)
