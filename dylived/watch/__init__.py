"""Watching broadcasters: the pure OFFLINE → LIVE → GRACE machine, the Watch loop of one
broadcaster, the LiveSession and its component seam, the watchlist and its request gates."""
