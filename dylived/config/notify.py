"""The ``[[notify]]`` tables: where notifications go (``url``), which ``events`` (default all)
and for which ``broadcasters`` (default all). Pure apart from asking whether Apprise is
installed (and, when it is, whether it understands a URL).

``http://``/``https://`` URLs are JSON webhooks (``dylived/alerts/targets.py``); any other
scheme (``ntfy://``, ``tgram://``, ``discord://``, ``mailto://``, ``bark://``…) is an Apprise URL
and needs the ``notify`` extra (``pip install 'dylived[notify]'``). Every problem is appended as
``notify[N].key: what is wrong`` (N counts from 1).
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import warnings
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dylived.alerts.events import USER_EVENTS
from dylived.config.schema import unknown_key


NOTIFY_KEYS = ("url", "events", "broadcasters", "timeout", "retries")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """One ``[[notify]]`` table; empty ``broadcasters`` means every broadcaster."""

    url: str
    events: tuple[str, ...] = USER_EVENTS
    broadcasters: tuple[str, ...] = ()
    timeout: float = 10.0  # seconds one delivery attempt may take
    retries: int = 4  # further attempts after a failed one (backoff 1, 2, 4 … 60 s)

    @property
    def is_webhook(self) -> bool:
        return self.url.lower().startswith(("http://", "https://"))

    def wants(self, event: str, broadcaster: str | None) -> bool:
        if event == "test":
            return True
        if event not in self.events:
            return False
        return not self.broadcasters or broadcaster is None or broadcaster in self.broadcasters


def apprise_installed() -> bool:
    try:
        return importlib.util.find_spec("apprise") is not None
    except (ImportError, ValueError):  # a broken install, or sys.modules["apprise"] = None
        return False


@contextlib.contextmanager
def quiet_apprise() -> Iterator[Any]:
    """The apprise module (ImportError when the extra is missing), with the deprecation
    warnings of its plugins' imports (``imghdr`` on Python 3.11+) silenced: not ours to show."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        yield apprise


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a notification target (None: it can)."""
    m = _SCHEME.match(url)
    if m is None:
        return f"{url!r} is not a URL (expected https://…, ntfy://…, tgram://… and the like)"
    scheme = m.group(1).lower()
    if scheme in ("http", "https"):
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018  # raises for a malformed port
        except ValueError as exc:
            return f"{url!r}: {exc}"
        return None if parts.hostname else f"{url!r}: no host"
    if not apprise_installed():
        return (
            f"a {scheme}:// URL is sent through Apprise, which is not installed: "
            "pip install 'dylived[notify]' (or use an http(s) JSON webhook)"
        )
    with quiet_apprise() as apprise:
        understood = apprise.Apprise.instantiate(url) is not None
    if not understood:
        return f"Apprise does not understand this {scheme}:// URL (see its wiki for the format)"
    return None


def _names(value: Any, path: str, problems: list[str]) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{path}: expected an array of strings, got {value!r}")
        return None
    return tuple(dict.fromkeys(value))


def parse_notify(
    raw: Any, problems: list[str], broadcasters: Collection[str]
) -> tuple[NotifyTarget, ...]:
    """Every valid ``[[notify]]`` table; problems (with their location) appended."""
    if raw is None:
        return ()
    if isinstance(raw, dict):
        problems.append("notify: write each target as [[notify]] (two brackets)")
        return ()
    if not isinstance(raw, list):
        problems.append(f"notify: expected [[notify]] tables, got {raw!r}")
        return ()
    targets: list[NotifyTarget] = []
    for i, entry in enumerate(raw, start=1):
        path = f"notify[{i}]"
        before = len(problems)
        if not isinstance(entry, dict):
            problems.append(f"{path}: expected a table, got {entry!r}")
            continue
        for key in entry:
            if key not in NOTIFY_KEYS:
                problems.append(unknown_key(path, key, NOTIFY_KEYS))
        url = entry.get("url")
        if not isinstance(url, str) or not url.strip():
            problems.append(f"{path}.url: missing; every [[notify]] needs a url")
        elif (why := url_problem(url.strip())) is not None:
            problems.append(f"{path}.url: {why}")
        events: tuple[str, ...] = USER_EVENTS
        names = _names(entry["events"], f"{path}.events", problems) if "events" in entry else None
        if names == ():
            problems.append(f"{path}.events: empty; leave it out to get every event")
        elif names:
            wrong = [n for n in names if n not in USER_EVENTS]
            if wrong:
                problems.append(
                    f"{path}.events: unknown event {', '.join(map(repr, wrong))}; "
                    f"expected some of {', '.join(USER_EVENTS)}"
                )
            events = names
        who: tuple[str, ...] = ()
        if "broadcasters" in entry:
            names = _names(entry["broadcasters"], f"{path}.broadcasters", problems)
            for name in names or ():
                if name not in broadcasters:
                    problems.append(f"{path}.broadcasters: no broadcaster named {name!r}")
            who = names or ()
        timeout, retries = entry.get("timeout", 10.0), entry.get("retries", 4)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            problems.append(f"{path}.timeout: expected seconds > 0, got {timeout!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 20:
            problems.append(f"{path}.retries: expected an integer from 0 to 20, got {retries!r}")
        if len(problems) == before and isinstance(url, str):
            targets.append(NotifyTarget(url.strip(), events, who, float(timeout), retries))
    return tuple(targets)


__all__ = ["NotifyTarget", "apprise_installed", "parse_notify", "quiet_apprise", "url_problem"]
