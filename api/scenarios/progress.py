"""A progress bar of simulated time on stderr, only when stderr is a terminal (a log file
or a pipe gets nothing), redrawn at most ten times a wall second."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from cluster.timevalue import format_time_value

WIDTH = 30
REDRAW_SECONDS = 0.1


class Progress:
    def __init__(self, duration: float, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.duration = duration
        self.enabled = enabled and self.stream.isatty()
        self._drawn_at = 0.0
        self._shown = False

    def update(self, t: float) -> None:
        if not self.enabled:
            return
        wall = time.monotonic()
        if wall - self._drawn_at < REDRAW_SECONDS and t < self.duration:
            return
        self._drawn_at = wall
        share = min(t / self.duration, 1.0) if self.duration else 1.0
        filled = int(share * WIDTH)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {share:4.0%} "
            f"{format_time_value(round(t))} of {format_time_value(self.duration)} simulated"
        )
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
