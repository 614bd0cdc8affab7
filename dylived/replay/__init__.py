"""Watching a recording back: the stored events as subtitles timed to the video (``subtitles``:
ASS danmaku and SRT, pure)."""
