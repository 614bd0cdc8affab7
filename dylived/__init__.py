"""dylived: an unattended archiver for Douyin (and TikTok) live broadcasts."""

__version__ = "0.1.0"
