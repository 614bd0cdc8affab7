"""Platform adapters, one module per platform (``douyin``): resolve a configured target, fetch
its live status, refresh stream URLs. They speak HTTP through :mod:`dylived.net.http` and parse
bodies with the pure :mod:`dylived.platforms.douyin.status`."""
