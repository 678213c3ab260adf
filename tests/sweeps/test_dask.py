"""The Must-show: a sweep of 24 points x 3 seeds on 2 local worker processes and the same
sweep through a Dask scheduler address (a `dask scheduler` and a `dask worker` started as
processes on loopback, no dashboard) write the same results.csv, byte for byte."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from api.cli import main

from .conftest import GRID, read_rows

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
#: Bound on starting the scheduler and its worker processes (they are killed after).
STARTUP_SECONDS = 60


def _start(module: str, *args: str, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    # a session of its own: the worker's processes are stopped with it, as a group
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=cwd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dask_address(tmp_path: Path) -> Iterator[str]:
    """A scheduler on a free loopback port and one `dask worker` of 2 single-thread
    processes (the project importable from this checkout); stopped after the test."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    processes = [_start("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                        "--no-dashboard", cwd=tmp_path)]
    try:
        processes.append(_start("distributed.cli.dask_worker", address, "--nworkers", "2", "--nthreads", "1",
                                "--no-dashboard", "--host", "127.0.0.1", "--local-directory", str(tmp_path / "worker"),
                                "--death-timeout", str(STARTUP_SECONDS), cwd=ROOT))
        # the client retries the connection until the scheduler listens (or the timeout)
        with distributed.Client(address, timeout=STARTUP_SECONDS) as client:
            client.wait_for_workers(2, timeout=STARTUP_SECONDS)
        yield address
    finally:
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.killpg(process.pid, signal.SIGKILL)  # nothing of theirs is kept: no clean shutdown to wait for
            process.wait()


def test_a_dask_cluster_writes_the_same_results_as_local_workers(
    tiny: Path, tmp_path: Path, dask_address: str, capsys: pytest.CaptureFixture[str],
) -> None:
    local, remote = tmp_path / "local", tmp_path / "dask"
    assert main(["sweep", str(tiny), *GRID, "--seeds", "3", "--workers", "2", "--out", str(local)]) == 0
    assert main(["sweep", str(tiny), *GRID, "--seeds", "3", "--dask", dask_address, "--out", str(remote)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in printed] == ["72 runs (0 cached)"] * 2  # both ran everything

    rows = read_rows(remote / "results.csv")
    assert len(rows) == 72 and len({(r["cluster.nodes.0.count"], r["traffic.0.rate"]) for r in rows}) == 24
    assert {r["ok"] for r in rows} == {"true", "false"}
    assert (remote / "results.csv").read_bytes() == (local / "results.csv").read_bytes()
    summaries = sorted(p.relative_to(local) for p in local.glob("runs/*/*/summary.json"))
    assert len(summaries) == 72
    assert all((remote / p).read_bytes() == (local / p).read_bytes() for p in summaries)
