"""Plot a soak's CSV (``bench.soak``) as a PNG: RSS, open fds, tasks/threads, live rooms.

    .venv/bin/python -m bench.soak_plot /work/soak/run1/soak.csv bench/soak.png

Needs matplotlib (``pip install matplotlib``; not a dependency of the project): without it the
script says so and exits 1.
"""

from __future__ import annotations

import csv
import importlib
import sys
from pathlib import Path
from typing import Any


PANELS = (
    ("RSS (MB)", ("rss_mb",)),
    ("open fds / OS threads", ("fds", "os_threads")),
    ("event-loop tasks", ("tasks",)),
    ("broadcasters live / ffmpeg", ("live", "ffmpeg")),
)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        print("soak_plot: matplotlib is not installed", file=sys.stderr)
        return 1
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    with Path(argv[0]).open(newline="") as f:
        rows = list(csv.DictReader(f))
    minutes = [int(r["elapsed_s"]) / 60 for r in rows]
    figure, axes = plt.subplots(len(PANELS), 1, sharex=True, figsize=(9, 10))
    for axis, (title, keys) in zip(axes, PANELS, strict=True):
        for key in keys:
            points = [(m, float(r[key])) for m, r in zip(minutes, rows, strict=True) if r[key]]
            axis.plot([p[0] for p in points], [p[1] for p in points], label=key)
        axis.set_ylabel(title)
        axis.grid(True, alpha=0.3)
        if len(keys) > 1:
            axis.legend(loc="upper left")
    axes[-1].set_xlabel("minutes since the daemon started")
    figure.suptitle(f"bench.soak: {Path(argv[0]).parent.name}")
    figure.tight_layout()
    figure.savefig(argv[1], dpi=90)
    print(f"wrote {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
