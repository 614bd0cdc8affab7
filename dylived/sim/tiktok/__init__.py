"""The TikTok personality of the simulator (being built; ``gifts`` serves the gift list)."""
