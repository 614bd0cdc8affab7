"""TikTok LIVE: the webcast schema (proto/tiktok.proto, generated into ``_pb/``), the push
envelope (``envelope``), the event decoder (``decode``: method → typed message → dataset row,
with ``audience``, ``room`` and ``cohost`` holding the converters and ``common`` the row
conventions), the gift-streak collapser (``streaks``) and the push session state machine
(``session``), all sans-I/O; the target forms (``targets``), the ``[tiktok]`` section
(``options``), the status bodies → ``LiveStatus`` with stream URLs (``status``, pure; the
typed shape of the fields it reads in ``status_shape``), the HTTP
client (``client``: one request per check, the live page as fallback), the event source
(``push``: a signing-server call per connection, then TikTok's push rules), the signing-server
client (``signer``), the gift catalogue (``gifts``: gift id → name and diamonds, put on gift
rows that lack them) and the registry entry (``spec``)."""
