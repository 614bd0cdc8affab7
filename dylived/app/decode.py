"""`dylived decode [FILE|-] [--acks] [--platform NAME]`: decode captured webcast frames, one JSON
row per event.

The debugging tool for protocol changes. Input is either one binary PushFrame (the raw bytes of
one WebSocket message) or text with one hex-encoded frame per line (detected when the input is
nothing but hex digits and whitespace; blank lines are skipped, frames are numbered by
non-blank line from 1). Frames go through the platform's ``wire.session.WebcastSession``
exactly as the daemon feeds them (the ``EventCodec`` of the registered platform ``--platform``
names, the registry's default when none; an unknown name exits 2 listing the known ones), and
each event is printed as its dataset.md row on its own line (UTF-8, not ASCII-escaped); at the
end of input what the session still holds (``finish()``: TikTok's open gift streaks, marked
``streak_interrupted``) is printed too.
Unknown methods print as ``{"type": "unknown", "method": …, "payload_base64": …}`` so that
new message types can be studied.

With ``--acks`` every frame the session would send back is printed after the frame's events
as ``{"ack": "<hex of the whole ack PushFrame>", "log_id": "<decimal log_id>"}``.

A frame that is not valid gives one line on stderr, ``frame N: <reason>``; decoding goes on
and the exit status is 1. Otherwise the exit status is 0.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from collections.abc import Iterator
from typing import TextIO

from dylived.errors import RemoteProtocolError
from dylived.model import LiveStatus
from dylived.platforms import registry
from dylived.platforms.base import EventCodec
from dylived.wire.frames import parse_frame


_HEX_TEXT = frozenset((string.hexdigits + string.whitespace).encode())


def is_hex_text(data: bytes) -> bool:
    """True when ``data`` is hex frames as text: only hex digits and whitespace, not blank."""
    return bool(data.strip()) and _HEX_TEXT.issuperset(data)


def split_frames(data: bytes) -> Iterator[tuple[int, bytes | str]]:
    """``(frame number, frame bytes)``, or ``(n, error text)`` for a line that is not hex."""
    if not is_hex_text(data):
        yield 1, data
        return
    lines = (line for line in data.decode("ascii").splitlines() if line.strip())
    for number, line in enumerate(lines, start=1):
        try:
            yield number, bytes.fromhex("".join(line.split()))
        except ValueError:
            yield number, "odd number of hex digits"


_NO_STATUS = LiveStatus(live=False)


def decode_stream(
    data: bytes,
    out: TextIO,
    err: TextIO,
    *,
    show_acks: bool = False,
    codec: EventCodec | None = None,
) -> int:
    """Decode every frame of ``data``, rows to ``out``, errors to ``err``; the exit status."""
    codec = codec or registry.get(registry.DEFAULT).codec
    session = codec.new_session()
    failed = False

    def print_rows(events: list[object]) -> None:
        for event in events:
            row = codec.event_row(event, _NO_STATUS, received_at_ms=None, stream_offset_s=None)
            print(json.dumps(row, ensure_ascii=False), file=out)

    for number, frame in split_frames(data):
        if isinstance(frame, str):
            print(f"frame {number}: {frame}", file=err)
            failed = True
            continue
        try:
            session.receive_data(frame)
        except RemoteProtocolError as exc:
            print(f"frame {number}: {exc}", file=err)
            failed = True
            continue
        print_rows(session.events_received())
        for outgoing in session.data_to_send():
            if show_acks:
                ack = {
                    "ack": outgoing.hex(),
                    "log_id": str(parse_frame(outgoing, session.schema).log_id),
                }
                print(json.dumps(ack), file=out)
    print_rows(session.finish())  # what the session held at the end (open gift streaks)
    return 1 if failed else 0


def decode_command(args: argparse.Namespace) -> int:
    """The ``dylived decode`` entry point (``args.file``: a path or ``-``; ``args.acks``;
    ``args.platform``: a registered platform's name or None)."""
    try:
        codec = registry.get(getattr(args, "platform", None) or registry.DEFAULT).codec
    except ValueError as exc:
        print(f"dylived decode: {exc}", file=sys.stderr)
        return 2
    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(args.file, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            print(f"dylived decode: {exc}", file=sys.stderr)
            return 1
    return decode_stream(data, sys.stdout, sys.stderr, show_acks=args.acks, codec=codec)
