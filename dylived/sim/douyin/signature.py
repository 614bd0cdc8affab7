"""Checking a push URL's ``signature`` against its stub, the way a strict server could (pure).

protocol.md §2.2: the stub is the MD5 of 13 ``k=v`` pairs built from the URL's own parameters;
the signature is 16 characters of a custom base64 over ``[flag, key, RC4_key(10 bytes)]`` where
the plain 10 bytes are ``[counter, 0, 1, 14, E14, E15, S14, S15, r, xor]`` with E = MD5(MD5(b""))
and S = MD5(bytes.fromhex(stub)). We decode and verify instead of re-signing, so this shares
nothing with the client's signer (which must produce, not check).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping


CUSTOM_ALPHABET = "Dkdpgh4ZKsQB80/Mfvw36XI1R25+WUAlEi7NLboqYTOPuzmFjJnryx9HVGcaStCe"
STANDARD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_STANDARD = str.maketrans(CUSTOM_ALPHABET, STANDARD_ALPHABET)
_E = hashlib.md5(hashlib.md5(b"").digest()).digest()


def stub_for(query: Mapping[str, str]) -> str:
    """The X-MS-STUB of a push URL's parameters."""
    pairs = (
        ("live_id", query.get("live_id", "1")),
        ("aid", query.get("aid", "6383")),
        ("version_code", query.get("version_code", "180800")),
        ("webcast_sdk_version", query.get("webcast_sdk_version", "")),
        ("room_id", query.get("room_id", "")),
        ("sub_room_id", ""),
        ("sub_channel_id", ""),
        ("did_rule", "3"),
        ("user_unique_id", query.get("user_unique_id", "")),
        ("device_platform", "web"),
        ("device_type", ""),
        ("ac", ""),
        ("identity", "audience"),
    )
    text = ",".join(f"{k}={v}" for k, v in pairs)
    return hashlib.md5(text.encode()).hexdigest()


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) & 0xFF])
    return bytes(out)


def signature_matches_stub(signature: str, stub: str) -> bool:
    """True when ``signature`` decodes to a well-formed token for ``stub``."""
    if len(signature) != 16 or any(c not in CUSTOM_ALPHABET for c in signature):
        return False
    raw = base64.b64decode(signature.translate(_TO_STANDARD))
    if len(raw) != 12 or raw[0] & 0xE0 != 0x40:
        return False
    plain = _rc4(bytes((raw[1],)), raw[2:])
    s = hashlib.md5(bytes.fromhex(stub)).digest()
    xor = 0
    for byte in plain[:9]:
        xor ^= byte
    return (
        plain[1:4] == b"\x00\x01\x0e"
        and plain[4:6] == _E[14:16]
        and plain[6:8] == s[14:16]
        and plain[9] == xor
    )


def signature_matches(signature: str, query: Mapping[str, str]) -> bool:
    return signature_matches_stub(signature, stub_for(query))
