"""Notifications (issue 14): what happened (``events``), where it goes (``targets``), and the
queue that delivers it without ever blocking recording (``delivery``); ``sources`` turns the
daemon's own happenings (sessions, disk, breaker, capture) into events.
"""
