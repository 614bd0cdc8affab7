"""The programs and the daemon's composition: the ``dylived`` and ``dylivectl`` commands, the
daemon (start, reload, stop), its control façade and status shapes, logging, sd_notify, the demo
and the frame decoder."""
