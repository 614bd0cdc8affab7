"""Platform name → implementation: the one place that lists the platforms.

``get(name)`` gives a :class:`~dylived.platforms.base.PlatformSpec`; ``platform_of(target)``
the name of the platform whose target forms a string has (the first that claims it, in
registration order), or ``None``. ``DEFAULT`` is the platform of a broadcaster that names none
and whose target no platform claims. A new platform adds its spec to ``_SPECS``.
"""

from __future__ import annotations

from collections.abc import Mapping

from dylived.platforms.base import PlatformSpec
from dylived.platforms.douyin.spec import SPEC as _DOUYIN


_SPECS: dict[str, PlatformSpec] = {_DOUYIN.name: _DOUYIN}
DEFAULT = _DOUYIN.name


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
