"""What every benchmark does with `--json FILE`: the measured rows, as indented JSON."""

from __future__ import annotations

import json
from typing import Any


def write_json(path: str | None, data: Any) -> None:
    """Write `data` to `path` (nothing when no file was asked for)."""
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
