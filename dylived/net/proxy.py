"""Proxy URLs: reading and checking one, masking its credentials, and what each client may use.

Owns :class:`ProxyUrl` and :func:`parse_proxy`. A proxy is ``http://``, ``https://`` (TLS to
the proxy), ``socks5://`` or ``socks5h://`` (names resolved by the proxy), with a host, an
explicit port and optional ``user:password@`` (percent-encoded as in any URL); nothing after
the port but an optional ``/``. Who applies it (README, "Proxies"):

- status requests (``net/http.py``, httpcore): every scheme; SOCKS needs ``socksio``
- the event WebSocket (``net/ws.py``, websockets' own proxy support): every scheme; SOCKS
  needs ``python-socks``
- ffmpeg (``record/argv.py``): ``http://`` only (ffmpeg's ``http_proxy`` speaks plain HTTP to
  the proxy: absolute URIs for http, CONNECT for https); with any other scheme the media goes
  direct, which ``check-config`` and the daemon's log say (:meth:`ProxyUrl.ffmpeg_problem`)

``str()`` and ``repr()`` mask the password (``http://user:********@host:3128``): the form for
logs and ``print-config``; :meth:`ProxyUrl.reveal` is the real URL, for the clients only.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit


__all__ = ["PROXY_SCHEMES", "ProxyUrl", "parse_proxy"]

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


@dataclass(frozen=True, slots=True)
class ProxyUrl:
    """One proxy. ``username``/``password`` are decoded (``""`` when there are none)."""

    scheme: str
    host: str
    port: int
    username: str = ""
    password: str = ""

    @property
    def is_socks(self) -> bool:
        return self.scheme.startswith("socks")

    def origin(self) -> str:
        """``scheme://host:port``, without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def reveal(self) -> str:
        """The full URL, credentials percent-encoded: for the clients, never for a log."""
        if not self.username and not self.password:
            return self.origin()
        userinfo = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
        return self.origin().replace("://", "://" + userinfo, 1)

    def ffmpeg_problem(self) -> str | None:
        """Why ffmpeg cannot use this proxy (None: it can; it is passed as ``http_proxy``)."""
        if self.scheme == "http":
            return None
        return (
            f"ffmpeg cannot use a {self.scheme}:// proxy (its http_proxy speaks plain HTTP to "
            "the proxy): status requests and the event WebSocket go through it, the video is "
            "fetched directly; use an http:// proxy to proxy the video too"
        )

    def __str__(self) -> str:
        if not self.username and not self.password:
            return self.origin()
        user = quote(self.username, safe="")
        return self.origin().replace("://", f"://{user}:********@", 1)

    def __repr__(self) -> str:
        return f"ProxyUrl({str(self)!r})"


def parse_proxy(value: Any) -> ProxyUrl | None:
    """A ``proxy`` setting: ``""`` → None (direct), else a checked :class:`ProxyUrl`.

    Raises:
        ValueError: what is wrong; the message never quotes a password.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a proxy URL string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in text):
        raise ValueError("a proxy URL must not contain spaces or control characters")
    scheme, sep, _ = text.partition("://")
    if not sep:
        raise ValueError(f"expected scheme://host:port with a scheme of {_schemes()}")
    if scheme.lower() not in PROXY_SCHEMES:
        raise ValueError(f"unsupported proxy scheme {scheme!r}; use {_schemes()}")
    parts = urlsplit(text)
    shown = f"{scheme.lower()}://{parts.hostname or ''}"
    if not parts.hostname:
        raise ValueError(f"{shown}: no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{shown}: the port must be a number from 1 to 65535") from None
    if port is None or port == 0:
        raise ValueError(f"{shown}: missing port (host:port)")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text:
        raise ValueError(f"{shown}: nothing may follow host:port (no path or query)")
    if parts.username is not None and parts.password is None:
        raise ValueError(f"{shown}: a user name needs a password (user:password@host:port)")
    return ProxyUrl(
        scheme=scheme.lower(),
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def _schemes() -> str:
    return ", ".join(f"{s}://" for s in PROXY_SCHEMES)
