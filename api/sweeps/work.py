"""One run of a sweep as a unit of work: what goes to a worker (the scenario after its
overrides as plain data, and a seed), what comes back (the summary and the run's files as
bytes, so a worker on another machine needs no shared disk), and the content key a
finished run is cached under.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from api.scenarios.runner import ScenarioRun
from api.scenarios.schema import load_scenario

#: A Dask worker may run several tasks in threads of one process; a run is pure Python
#: (the GIL serialises it anyway) and the report draws with matplotlib, which is not
#: thread-safe, so runs in one process take turns.
_ONE_AT_A_TIME = threading.Lock()


def mlsim_version() -> str:
    """The installed mlsim's version; a checkout that is not installed says so."""
    try:
        return version("mlsim")
    except PackageNotFoundError:
        return "0+not-installed"


@dataclass(frozen=True)
class RunTask:
    """`data` is the scenario after overrides, with its name filled in, so loading it
    from data gives the same scenario as loading the file."""

    label: str
    seed: int
    data: dict[str, Any] = field(repr=False)
    #: Return the run's files (summary.json, timeseries.csv, nodes.csv, events.jsonl).
    files: bool = True
    #: With the files, also report.html (matplotlib: seconds per run).
    report: bool = False

    def key(self, mlsim: str) -> str:
        """The cache key: a hash of what decides the result and nothing else."""
        text = json.dumps({"scenario": self.data, "seed": self.seed, "mlsim": mlsim},
                          sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RunResult:
    summary: dict[str, Any]
    files: dict[str, bytes]
    #: The worker's mlsim, so a client can refuse results from another version.
    mlsim: str


def run_task(task: RunTask) -> RunResult:
    """Runs in a worker process (local pool or Dask): the scenario, then its files."""
    with _ONE_AT_A_TIME:
        scenario = load_scenario(task.data)
        if not task.files:
            return RunResult(ScenarioRun(scenario, task.seed).run().data, {}, mlsim_version())
        with tempfile.TemporaryDirectory(prefix="mlsim-sweep-") as tmp:
            out = Path(tmp)
            summary = ScenarioRun(scenario, task.seed, out, report=task.report).run()
            files = {path.name: path.read_bytes() for path in sorted(out.iterdir())}
    return RunResult(summary.data, files, mlsim_version())
