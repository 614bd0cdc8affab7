"""Douyin (抖音直播): everything the daemon knows about this platform, and nothing else does.

``targets`` (the target forms, share links), ``client`` (ttwid, resolution, room status over
HTTP), ``status`` (the status bodies → ``LiveStatus``), ``push`` (the event connection: URL,
handshake, envelope schema, events → rows), ``sign`` (the WebSocket signature), ``messages``
(protobuf → typed events), ``rows`` (typed events → dataset rows), ``options`` (the
``[douyin]`` section's keys and defaults), ``spec`` (the registry entry), ``_pb`` (the schema,
``douyin.proto``, and its generated code).
"""
