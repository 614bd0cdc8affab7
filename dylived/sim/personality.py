"""The seam between the simulator's core and a platform: the ``Personality`` protocol and registry.

The core (HTTP server, media, push framing and sessions, rooms, scenarios, ``/_sim``) knows no
platform. A personality is what one platform's servers look like from a client: the HTTP routes
it answers (``endpoint_of`` names them, ``answer`` serves them), how a room's status JSON is
rendered (``render_status``), its push WebSocket (``push_path``, ``push_url``, ``accept_push``
checks the URL's parameters and refuses the way that platform does), how events become its
protobuf messages (``framing``) and the daemon config section that points the platform at the
simulator (``daemon_config``); optionally ``event_kinds``, its own event kinds beside the shared
ones of ``sim/script.py`` (kind → ``script.KindMaker``). A scenario room names its platform
(``RoomSpec.platform``); a room is served only by its platform's personality.

Personalities register per platform: each subpackage of ``dylived.sim`` that defines
``PERSONALITY`` is one (e.g. the Douyin personality in ``dylived/sim/douyin/``; a TikTok one
goes beside it as ``dylived/sim/tiktok/``), found on first use; ``Simulator(personalities=…)``
adds more for one simulator. Exactly one registered personality is the ``default``: the
platform of a room that names none (so scenarios written before there were platforms work).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from dylived.sim.framing import Framing
from dylived.sim.http import Answer, HttpRequest, Reply
from dylived.sim.view import RoomView


if TYPE_CHECKING:
    from dylived.sim.room import SimRoom
    from dylived.sim.server import Simulator


class Personality(Protocol):
    """One platform as the simulator plays it (see the module docstring)."""

    @property
    def platform(self) -> str:
        """The platform's name, as scenarios and the daemon's config spell it."""

    @property
    def default(self) -> bool:
        """True for the one platform of rooms that name none."""

    @property
    def push_path(self) -> str:
        """The push WebSocket's path; requests under it are the ``ws_push`` endpoint."""

    @property
    def framing(self) -> Framing:
        """Its PushFrame schema and event encoder."""

    @property
    def opening_events(self) -> tuple[str, ...]:
        """The event types a push client gets first on connecting, in one frame."""

    def endpoint_of(self, path: str) -> str | None:
        """The name of its HTTP endpoint at ``path`` (a request-count key), or None.

        Personalities are asked in turn, so each claims only the paths its platform has.
        """

    async def answer(self, endpoint: str, request: HttpRequest, sim: Simulator) -> Answer:
        """Serve one request to one of its endpoints (not the push upgrade)."""

    def render_status(self, view: RoomView | None) -> dict[str, Any]:
        """A room's status JSON (None: a room it does not know)."""

    def accept_push(self, request: HttpRequest, sim: Simulator) -> SimRoom | Reply:
        """The room a push upgrade is for, or the answer that refuses it."""

    def push_url(self, ws_base: str, room_id: str, **params: str) -> str:
        """A push URL with the parameters its endpoint demands (signature not computed)."""

    def daemon_config(self, web_base: str, ws_base: str) -> str:
        """The daemon's config section (TOML) that points its platform at this simulator, whose
        HTTP base is ``web_base`` and push base ``ws_base`` (``dylived demo``, benchmarks)."""


class UnknownPlatform(ValueError):
    """A room names a platform no personality plays."""

    def __init__(self, platform: str, known: Iterable[str], where: str = "") -> None:
        self.platform = platform
        self.known = tuple(sorted(known))
        prefix = f"{where}: " if where else ""
        super().__init__(
            f"{prefix}unknown platform {platform!r}; this simulator plays {', '.join(self.known)}"
        )


_registry: dict[str, Personality] = {}
_discovered = False  # True once the subpackages were imported


def registered() -> Mapping[str, Personality]:
    """Every registered personality by platform, discovering the subpackages on first use."""
    global _discovered
    if not _discovered:
        _discovered = True
        import dylived.sim

        for info in pkgutil.iter_modules(dylived.sim.__path__):
            if info.ispkg:
                module = importlib.import_module(f"dylived.sim.{info.name}")
                found = getattr(module, "PERSONALITY", None)
                if found is not None:
                    _registry.setdefault(found.platform, found)
    return dict(_registry)


def default_platform(personalities: Mapping[str, Personality]) -> str:
    """The platform of rooms that name none: the one personality that says it is the default."""
    defaults = [name for name, p in personalities.items() if p.default]
    if len(defaults) != 1:
        raise RuntimeError(f"exactly one default personality expected, found {defaults}")
    return defaults[0]


def resolve(
    platform: str, personalities: Mapping[str, Personality], where: str = ""
) -> Personality:
    """The personality for ``platform`` ("" = the default); UnknownPlatform when none plays it."""
    name = platform or default_platform(personalities)
    found = personalities.get(name)
    if found is None:
        raise UnknownPlatform(name, personalities, where)
    return found
