"""The configuration: the schema key by key, loading TOML into frozen values, the runtime
watchlist overlay, and the ``check-config`` / ``print-config`` commands."""
