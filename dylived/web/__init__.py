"""The web pages of ``[web]``: who may use the TCP listener (``access``), the pages and the
files they are made of (``pages``, ``static/``). The control server (control/server.py) serves
them on the same h11 connections as the control routes."""
