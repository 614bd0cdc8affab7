"""The control interface: the HTTP/1.1 API on a Unix socket (server), its client, its contract.

``api`` holds the ``DaemonFacade`` the daemon implements; ``routes`` maps requests to it;
``metrics`` renders the Prometheus text; ``server`` serves it with h11 on an anyio listener;
``client`` is the httpx client ``dylivectl`` uses; ``render`` and ``tail`` are ``dylivectl``'s
formatting and live-follow loop.
"""
