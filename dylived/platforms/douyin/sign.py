"""The Douyin WebSocket ``signature`` (native algorithm, no JavaScript) and the push URL.

protocol.md §2.1–2.2. The signature is computed from the ``X-MS-STUB``: the MD5 of 13 fixed
query keys. :func:`sign_stub` is the native re-implementation of webmssdk's ``frontierSign``
as restated from jwwsjlm/douyinLive ``internal/webcastsign/native.go``; its randomness
(``counter``, ``flag``, ``r``, ``k``) is injected so that the published vectors reproduce.
:func:`build_push_url` assembles the whole query with ``urllib.parse.urlencode``.

Pure: no sockets, files, clocks, anyio or asyncio. Randomness comes from an injected
``random.Random`` and time from a ``now_ms`` argument.
"""

from __future__ import annotations

import hashlib
import random
import urllib.parse
from dataclasses import dataclass


DEFAULT_SDK_VERSION = "1.0.14-beta.0"
VERSION_CODE = "180800"
AID = "6383"
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)

# webmssdk's base64 alphabet (protocol.md §2.2).
_ALPHABET = "Dkdpgh4ZKsQB80/Mfvw36XI1R25+WUAlEi7NLboqYTOPuzmFjJnryx9HVGcaStCe"
# MD5(MD5(b"")) — bytes 14 and 15 (0x45, 0x3f) go into every signature.
_EMPTY_DOUBLE_MD5 = hashlib.md5(hashlib.md5(b"").digest()).digest()

# The fake cursor/internal_ext browsers and peers use when im/fetch was not called
# (protocol.md §2.1; the fh-/wrds_v constants are the ones every peer sends).
_FAKE_CURSOR_FH = "7392091211001140287"
_FAKE_WRDS_V = "7392094459690748497"


@dataclass(frozen=True, slots=True)
class SignatureRandomness:
    """The random inputs of one signature: a per-session counter, a flag bit, ``r`` and ``k``."""

    counter: int
    flag: bool
    r: int
    k: int

    @classmethod
    def draw(cls, rng: random.Random, counter: int = 1) -> SignatureRandomness:
        """Fresh randomness as webmssdk draws it: r and k in 0..254, a coin for the flag."""
        return cls(
            counter=counter, flag=rng.random() < 0.5, r=rng.randrange(255), k=rng.randrange(255)
        )


def signature_stub_input(
    room_id: str, user_unique_id: str, sdk_version: str = DEFAULT_SDK_VERSION
) -> str:
    """The 13 ``k=v`` pairs, in order, whose MD5 is the X-MS-STUB (protocol.md §2.2 step 1)."""
    pairs = (
        ("live_id", "1"),
        ("aid", AID),
        ("version_code", VERSION_CODE),
        ("webcast_sdk_version", sdk_version),
        ("room_id", room_id),
        ("sub_room_id", ""),
        ("sub_channel_id", ""),
        ("did_rule", "3"),
        ("user_unique_id", user_unique_id),
        ("device_platform", "web"),
        ("device_type", ""),
        ("ac", ""),
        ("identity", "audience"),
    )
    return ",".join(f"{key}={value}" for key, value in pairs)


def x_ms_stub(room_id: str, user_unique_id: str, sdk_version: str = DEFAULT_SDK_VERSION) -> str:
    """The X-MS-STUB: lowercase hex MD5 of :func:`signature_stub_input`."""
    stub_input = signature_stub_input(room_id, user_unique_id, sdk_version)
    return hashlib.md5(stub_input.encode()).hexdigest()


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) & 0xFF
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) & 0xFF
        j = (j + state[i]) & 0xFF
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) & 0xFF])
    return bytes(out)


def _b64(data: bytes) -> str:
    """Base64 with webmssdk's alphabet (the input is always a multiple of 3 bytes)."""
    chars: list[str] = []
    for offset in range(0, len(data), 3):
        n = int.from_bytes(data[offset : offset + 3], "big")
        chars.extend(_ALPHABET[(n >> shift) & 0x3F] for shift in (18, 12, 6, 0))
    return "".join(chars)


def sign_stub(stub_hex: str, randomness: SignatureRandomness) -> str:
    """The 16-character ``signature`` for an X-MS-STUB (protocol.md §2.2 step 3, native).

    Raises:
        ValueError: ``stub_hex`` is not hex, or ``r``/``k`` are not in 0..255.
    """
    stub_md5 = hashlib.md5(bytes.fromhex(stub_hex)).digest()
    body = bytes(
        [
            randomness.counter & 0x3F,
            0,
            1,
            14,
            _EMPTY_DOUBLE_MD5[14],
            _EMPTY_DOUBLE_MD5[15],
            stub_md5[14],
            stub_md5[15],
            randomness.r,
        ]
    )
    checksum = 0
    for byte in body:
        checksum ^= byte
    flag = 0x40 | (0x10 if randomness.flag else 0)
    encrypted = _rc4(bytes([randomness.k]), body + bytes([checksum]))
    return _b64(bytes([flag, randomness.k]) + encrypted)


def fake_cursor(now_ms: int) -> str:
    """The cursor a browser sends before it has one from im/fetch."""
    return f"d-1_u-1_fh-{_FAKE_CURSOR_FH}_t-{now_ms}_r-1"


def fake_internal_ext(room_id: str, user_unique_id: str, now_ms: int) -> str:
    """The internal_ext a browser sends before it has one from im/fetch."""
    return "|".join(
        (
            "internal_src:dim",
            f"wss_push_room_id:{room_id}",
            f"wss_push_did:{user_unique_id}",
            f"first_req_ms:{now_ms - 100}",
            f"fetch_time:{now_ms}",
            "seq:1",
            f"wss_info:0-{now_ms}-0-0",
            f"wrds_v:{_FAKE_WRDS_V}",
        )
    )


def build_push_url(
    base: str,
    *,
    room_id: str,
    user_unique_id: str,
    now_ms: int,
    randomness: SignatureRandomness,
    user_agent: str = DEFAULT_USER_AGENT,
    cursor: str | None = None,
    internal_ext: str | None = None,
    sdk_version: str = DEFAULT_SDK_VERSION,
    screen: tuple[int, int] = (1920, 1080),
) -> str:
    """The signed WebSocket URL of a room's push endpoint, query in protocol.md §2.1 order.

    Args:
        base: the endpoint, e.g. ``wss://webcast100-ws-web-lf.douyin.com/webcast/im/push/v2/``
            or a loopback ``ws://127.0.0.1:PORT/webcast/im/push/v2/``; a query already on it
            is kept, ahead of ours.
        room_id / user_unique_id: as in the signature stub.
        now_ms: the caller's clock, for the fake cursor/internal_ext when none is given.
        randomness: the signature's random inputs (:meth:`SignatureRandomness.draw`).
        user_agent: the UA the connection uses; ``browser_version`` is the text after
            ``Mozilla/``.
        cursor / internal_ext: from im/fetch or the last Response; faked when ``None``.
    """
    browser_version = user_agent.split("/", 1)[1] if "/" in user_agent else user_agent
    query = [
        ("app_name", "douyin_web"),
        ("version_code", VERSION_CODE),
        ("webcast_sdk_version", sdk_version),
        ("update_version_code", sdk_version),
        ("compress", "gzip"),
        ("device_platform", "web"),
        ("cookie_enabled", "true"),
        ("screen_width", str(screen[0])),
        ("screen_height", str(screen[1])),
        ("browser_language", "zh-CN"),
        ("browser_platform", "Win32"),
        ("browser_name", "Mozilla"),
        ("browser_version", browser_version),
        ("browser_online", "true"),
        ("tz_name", "Asia/Shanghai"),
        ("cursor", cursor if cursor is not None else fake_cursor(now_ms)),
        (
            "internal_ext",
            internal_ext
            if internal_ext is not None
            else fake_internal_ext(room_id, user_unique_id, now_ms),
        ),
        ("host", "https://live.douyin.com"),
        ("aid", AID),
        ("live_id", "1"),
        ("did_rule", "3"),
        ("endpoint", "live_pc"),
        ("support_wrds", "1"),
        ("user_unique_id", user_unique_id),
        ("im_path", "/webcast/im/fetch/"),
        ("identity", "audience"),
        ("need_persist_msg_count", "15"),
        ("insert_task_id", ""),
        ("live_reason", ""),
        ("room_id", room_id),
        ("heartbeatDuration", "0"),
        ("signature", sign_stub(x_ms_stub(room_id, user_unique_id, sdk_version), randomness)),
    ]
    parts = urllib.parse.urlsplit(base)
    existing = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    encoded = urllib.parse.urlencode(existing + query, quote_via=urllib.parse.quote)
    return urllib.parse.urlunsplit(parts._replace(query=encoded))
