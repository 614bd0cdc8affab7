"""The value converters a config section's keys share, wherever the section is defined.

``config.schema`` builds the global sections' specs from these, and a platform's package its own
section's spec (``PlatformSpec.options``): each converter takes the TOML value and returns the
converted one or raises ``ValueError`` with one message (the config adds the dotted path).
``Secret`` is a string that is never printed; ``is_loopback_host`` says whether a listener's host
is loopback (``[control]``, ``[web]``). Pure; imports nothing of dylived, so a platform
package may import it without importing the registry back.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable
from typing import Any


Converter = Callable[[Any], Any]


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (IPv6 with or without brackets)."""
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True, slots=True)
class Secret:
    """A secret string (cookies): masked in str/repr, print-config and logs; ``reveal()`` it."""

    value: str = ""

    def reveal(self) -> str:
        return self.value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __str__(self) -> str:
        return "********" if self.value else ""

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"


def got(value: Any) -> str:
    """How a wrong value is shown in a message: the value and its TOML kind."""
    kinds = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array"}
    kind = kinds.get(type(value), "table" if isinstance(value, dict) else type(value).__name__)
    return kind if isinstance(value, dict | list) else f"{value!r} ({kind})"


def text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {got(value)}")


def nonempty_text(value: Any) -> str:
    if not text(value).strip():
        raise ValueError("must not be empty")
    return str(value)


_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def cookie_header(value: Any) -> str:
    """A browser's ``Cookie`` header, sent as it is: printable ASCII only.

    CR, LF, NUL or any other control character would split or break the request header, and
    the value is a secret: no message here (or anywhere) quotes it, only the position.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got: {_got_kind(value)} (the value is not shown)")
    bad = _HEADER_UNSAFE.search(value)
    if bad is not None:
        name = {"\r": "CR", "\n": "LF", "\x00": "NUL"}.get(bad.group(), "a control character")
        raise ValueError(
            f"contains {name} at character {bad.start() + 1}; a Cookie header is one line of "
            "printable ASCII (the value is not shown)"
        )
    if not value.isascii():
        where = next(i for i, ch in enumerate(value) if not ch.isascii()) + 1
        raise ValueError(
            f"contains a non-ASCII character at character {where}; a Cookie header is one line "
            "of printable ASCII (the value is not shown)"
        )
    return value


def secret_cookies(value: Any) -> Secret:
    """``cookie_header``, kept as a ``Secret`` (masked when printed)."""
    return Secret(cookie_header(value))


def _got_kind(value: Any) -> str:
    kinds = {bool: "boolean", int: "integer", float: "float", list: "array", dict: "table"}
    return kinds.get(type(value), type(value).__name__)


def url(*schemes: str) -> Converter:
    def convert(value: Any) -> str:
        parts = re.match(r"([a-z]+)://([^/?#]+)", text(value))
        if parts is None or parts.group(1) not in schemes:
            raise ValueError(f"expected a {' or '.join(schemes)} URL, got {value!r}")
        return str(value).rstrip("/")

    return convert


def url_list(*schemes: str) -> Converter:
    one = url(*schemes)

    def convert(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise ValueError(f"expected a non-empty array of URLs, got {got(value)}")
        return tuple(one(v) for v in value)

    return convert
