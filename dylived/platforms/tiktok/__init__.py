"""TikTok LIVE, sans-I/O so far: the webcast schema (proto/tiktok.proto, generated into
``_pb/``), the push envelope (``envelope``), the event decoder (``decode``: method → typed
message → dataset row, with ``audience``, ``room`` and ``cohost`` holding the converters and
``common`` the row conventions), the gift-streak collapser (``streaks``) and the push session
state machine (``session``). Status, stream URLs, the signing server and the WebSocket I/O are
not here yet (issue 13)."""
