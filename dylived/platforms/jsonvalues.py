"""Reading values out of decoded platform JSON, whatever type the service chose to send them as.

Owns the small readers both status parsers use (``platforms/douyin/status.py`` and
``platforms/tiktok/status.py``): the services send ids and counts as numbers or as decimal
strings, leave objects out or send them as ``null``, and embed JSON documents as strings
(``stream_data``, ``sdk_params``). Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


__all__ = ["embedded_json", "integer", "mapping", "text"]


def mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is an object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def text(value: object) -> str | None:
    """A non-empty string (numbers become their decimal text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None


def integer(value: object) -> int | None:
    """An int from an int or a decimal string ("42", " -7 "); None otherwise.

    Only ASCII-or-Unicode *decimal* digits count: ``"²".isdigit()`` is true, but ``int("²")``
    raises, so ``isdecimal`` is the test.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().removeprefix("-").isdecimal():
        return int(value)
    return None


def embedded_json(value: object) -> Mapping[str, Any]:
    """A JSON object that the platform embeds as a string (or, in some shapes, inline)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return mapping(value)
