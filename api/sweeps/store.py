"""The per-run directories of a sweep and its cache: `runs/<point>/seed-<N>/` holds a
run's files and `sweep.json` with its content key, written last, so a directory whose
key matches is a finished run of exactly that scenario, seed and mlsim version, and a
re-run skips it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .work import RunResult, RunTask

KEY_FILE = "sweep.json"


class RunStore:
    def __init__(self, out_dir: Path, mlsim: str) -> None:
        self.root = out_dir / "runs"
        self.mlsim = mlsim

    def directory(self, task: RunTask) -> Path:
        return self.root / task.label / f"seed-{task.seed}"

    def cached(self, task: RunTask) -> dict[str, Any] | None:
        """The finished run's summary, or None when it must run (again)."""
        where = self.directory(task)
        try:
            stamp = json.loads((where / KEY_FILE).read_text(encoding="utf-8"))
            if stamp.get("key") != task.key(self.mlsim) or (task.report and not (where / "report.html").is_file()):
                return None
            return json.loads((where / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def save(self, task: RunTask, result: RunResult) -> None:
        where = self.directory(task)
        if where.exists():
            shutil.rmtree(where)
        where.mkdir(parents=True)
        for name, data in result.files.items():
            (where / name).write_bytes(data)
        stamp = {"key": task.key(self.mlsim), "point": task.label, "seed": task.seed, "mlsim": self.mlsim}
        (where / KEY_FILE).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
