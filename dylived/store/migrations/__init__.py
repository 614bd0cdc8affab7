"""Forward-only schema migrations, applied in order by ``PRAGMA user_version`` (package data)."""
