"""Response bodies: gzip/deflate decoding with a cap on the decoded size.

Owns :class:`BodyReader` (``add(chunk)`` as the bytes arrive, ``finish() -> bytes``). httpcore
hands over the body as sent; this decodes it as it comes, at most one byte past ``limit``
(so a compressed bomb is refused, never inflated), and raises ``UpstreamError`` for a body
too large, an unsupported ``Content-Encoding`` or undecodable compressed bytes. ``deflate``
is accepted with and without the zlib header (some servers send it raw).
"""

from __future__ import annotations

import zlib

from dylived.errors import UpstreamError


__all__ = ["BodyReader"]


class BodyReader:
    """Collects one body; ``where`` (``METHOD scheme://host/path``) goes into error messages."""

    def __init__(self, encoding: bytes, limit: int, where: str) -> None:
        self._limit = limit
        self._where = where
        self._chunks: list[bytes] = []
        self._size = 0
        self._decoder: zlib._Decompress | None = None
        self._raw_deflate_tried = False
        encoding = encoding.strip().lower()
        if encoding == b"gzip":
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == b"deflate":
            self._decoder = zlib.decompressobj()
        elif encoding not in (b"", b"identity"):
            raise UpstreamError(
                f"{where}: unsupported content-encoding {encoding.decode('latin-1')!r}"
            )

    def add(self, data: bytes) -> None:
        if self._decoder is not None:
            data = self._decode(data, self._decoder)
        self._keep(data)

    def finish(self) -> bytes:
        if self._decoder is not None:
            self._keep(self._decoder.flush())
        return b"".join(self._chunks)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise UpstreamError(f"{self._where}: body larger than {self._limit} bytes")
        self._chunks.append(data)

    def _decode(self, data: bytes, decoder: zlib._Decompress) -> bytes:
        try:
            return decoder.decompress(data, self._limit + 1 - self._size)
        except zlib.error:
            if self._raw_deflate_tried or self._chunks:
                raise UpstreamError(f"{self._where}: undecodable compressed body") from None
            self._raw_deflate_tried = True
            self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._decode(data, self._decoder)
