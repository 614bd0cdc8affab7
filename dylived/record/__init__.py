"""Recording: ffmpeg discovery (probe), pure argv building (argv), the per-session supervisor."""
