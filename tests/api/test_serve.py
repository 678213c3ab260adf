"""`mlsim serve` as users run it: a real process on a free port, the official client, signals."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from elasticsearch import Elasticsearch

from api.cli import build_parser, main
from api.serve_command import build_cluster
from cluster.demo import FIRST_NODE_ID, NER_MODEL
from nodes.resources import GiB

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 20
EXIT_SECONDS = 10


def read_line(proc: subprocess.Popen, deadline: float) -> str:
    """One line of the server's stdout, polling until `deadline` (wall clock)."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            return proc.stdout.readline()
        if proc.poll() is not None:
            break
    raise AssertionError(f"no output from mlsim serve (exit code {proc.poll()}): {proc.stderr.read()}")


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", "0", "--clock", "virtual", "--demo"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        banner = read_line(proc, time.monotonic() + STARTUP_SECONDS)
        match = re.fullmatch(r"mlsim listening on (http://127\.0\.0\.1:(\d+)) \(clock: virtual, 2 ML nodes\)\n", banner)
        assert match and int(match.group(2)) > 0, banner
        yield proc, match.group(1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(EXIT_SECONDS)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_demo_answers_the_official_client_and_exits_cleanly(server, signum):
    proc, url = server
    with Elasticsearch(url) as es:
        assert es.info()["cluster_name"] == "mlsim"
        stats = es.ml.get_trained_models_stats(model_id=NER_MODEL)
        assert stats["trained_model_stats"][0]["deployment_stats"]["state"] == "started"
        assert es.ml.put_trained_model_alias(
            model_id="flight-delay-prediction-1574775339910", model_alias="flight_delay_model"
        ) == {"acknowledged": True}
        reassigned = es.ml.put_trained_model_alias(
            model_id="flight-delay-prediction-1580004349800", model_alias="flight_delay_model", reassign=True
        )
        assert reassigned == {"acknowledged": True} and "warning" not in reassigned.meta.headers
        updated = es.ml.update_trained_model_deployment(model_id=NER_MODEL, number_of_allocations=4)
        assert updated["assignment"]["routing_table"] == {
            FIRST_NODE_ID: {"current_allocations": 1, "target_allocations": 4, "routing_state": "started", "reason": ""}
        }
        clock = es.perform_request("GET", "/_sim/clock", headers={"accept": "application/json"})
        assert clock["mode"] == "virtual"
    proc.send_signal(signum)
    assert proc.wait(EXIT_SECONDS) == 0
    assert proc.stdout.read() == "mlsim stopped\n"


def test_bad_flags_exit_2_before_serving(capsys):
    for argv in (["--clock", "virtual", "--speed", "2"], ["--node-memory", "8gb"], ["--nodes", "-1"], ["--speed", "0"]):
        with pytest.raises(SystemExit) as exited:
            main(["serve", *argv])
        assert exited.value.code == 2
    assert "--speed only applies to --clock realtime" in capsys.readouterr().err


def test_bad_cluster_file_exits_2_with_the_reason(tmp_path, capsys):
    path = tmp_path / "lab.json"
    path.write_text('{"nodes": [{"machine_memory": "lots"}]}')
    assert main(["serve", "--cluster", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mlsim serve: invalid cluster file: {path}: nodes[0].machine_memory: failed to parse")


def test_cluster_file_demo_and_quick_nodes_combine(tmp_path):
    path = tmp_path / "lab.json"
    path.write_text(json.dumps({
        "settings": {"cluster_name": "lab", "max_machine_memory_percent": 50},
        "nodes": [{"name": "gpu", "machine_memory": "64gb", "allocated_processors": 32, "zone": "b"}],
    }))
    args = build_parser().parse_args(
        ["serve", "--cluster", str(path), "--demo", "--nodes", "2", "--node-memory", "8gb",
         "--node-processors", "2", "--clock", "virtual", "--seed", "3"]
    )
    cluster = build_cluster(args)
    assert cluster.settings.cluster_name == "lab" and cluster.settings.max_machine_memory_percent == 50
    shapes = sorted((n.name, n.spec.machine_memory, n.spec.allocated_processors) for n in cluster.state.nodes.values())
    assert shapes == [("gpu", 64 * GiB, 32), ("ml-1", 16 * GiB, 8), ("ml-2", 8 * GiB, 4),
                      ("ml-3", 8 * GiB, 2), ("ml-4", 8 * GiB, 2)]
    assert cluster.assignment(NER_MODEL).state == "started"


def test_port_in_use_is_a_clear_error(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--clock", "virtual"]) == 2
    assert f"mlsim serve: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
