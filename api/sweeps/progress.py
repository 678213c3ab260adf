"""A sweep's progress on stderr (finished runs of all, cached ones counted at once), only
when stderr is a terminal: a log file or a pipe gets nothing."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 30


class RunProgress:
    def __init__(self, total: int, cached: int = 0, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0 and self.stream.isatty()
        self.total, self.cached, self.done = total, cached, cached
        self._draw()

    def advance(self) -> None:
        self.done += 1
        self._draw()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.enabled:
            return
        filled = int(WIDTH * self.done / self.total)
        cached = f" ({self.cached} cached)" if self.cached else ""
        self.stream.write(f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total} runs{cached}")
        self.stream.flush()
