"""The sans-I/O ByteDance webcast wire core: bytes in, typed events and bytes out.

Modules: ``frames`` (PushFrame envelope, capped gunzip, heartbeat, ack), ``session`` (the
state machine), ``messages`` (method → typed event), ``rows`` (event → dataset.md row),
``sign`` (WebSocket signature and URL), ``backoff`` (retry delays), ``status`` (room status).
Nothing in this package does I/O or reads a clock: no sockets, files, anyio or asyncio.
"""
