"""The Douyin personality of the simulator: a faithful Douyin web API and push on 127.0.0.1.

``routes.py`` (``DouyinPersonality``: home/ttwid, web/enter, reflow, share links, profile page,
the push URL's parameters and refusals), ``status.py`` (the web/enter and reflow JSON),
``signature.py`` (checking a push URL's ``signature`` against its stub) and ``messages.py``
(events → Douyin's protobuf messages, and its PushFrame schema). The core finds it through
``PERSONALITY`` (see ``dylived/sim/personality.py``).
"""

from __future__ import annotations

from dylived.sim.douyin.routes import DouyinPersonality


PERSONALITY = DouyinPersonality()

__all__ = ["PERSONALITY", "DouyinPersonality"]
