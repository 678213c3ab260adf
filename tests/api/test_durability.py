"""`mlsim serve --data DIR`: acknowledged writes survive SIGKILL; a restart is a full cluster
restart (routes reload in simulated time); snapshots load elsewhere (`--restore`)."""

from __future__ import annotations

import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from aiohttp import ClientSession

from api.durability.entries import EntryLog
from api.durability.files import DataError, Journal, read_journal
from api.durability.recorder import Recorder, install
from api.durability.replay import replay
from api.durability.startup import compact
from cluster.cluster import Cluster
from cluster.demo import NER_MODEL, build_demo
from tests.api.test_serve import REPO, STARTUP_SECONDS
from tests.conftest import served

BANNER = re.compile(r"mlsim listening on (http://127\.0\.0\.1:\d+) ")


class Server:
    """`mlsim serve` as a process; `url` once it listens."""

    def __init__(self, *args: str, clock: str = "virtual") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", "0", "--clock", clock, *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout], daemon=True).start()
        self.first_line = None
        while True:
            try:
                line = self.lines.get(timeout=STARTUP_SECONDS)
            except queue.Empty:
                raise AssertionError(f"mlsim serve did not start (exit code {self.proc.poll()})") from None
            self.first_line = self.first_line or line
            match = BANNER.match(line)
            if match:
                self.url = match.group(1)
                return

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stderr.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def start(servers: list[Server], *args: str, clock: str = "virtual") -> Server:
    server = Server(*args, clock=clock)
    servers.append(server)
    return server


def write_load(
    server: Server, acknowledged: list[tuple[str, Any]], stop: threading.Event, first: int,
    kill_after: int = 0, reached: threading.Event | None = None,
) -> None:
    """Writes of every kind, one after another; each answered 200 is `acknowledged`.
    `reached` is set once `kill_after` writes of this load are acknowledged (it goes on)."""
    i = first
    while not stop.is_set():
        kind = ("pipeline", "model", "group", "node", "clock", "setting")[i % 6]
        try:
            if kind == "pipeline":
                status, _ = server.call("PUT", f"/_ingest/pipeline/p-{i}", {"description": f"load {i}", "processors": []})
                value: Any = f"p-{i}"
            elif kind == "model":
                status, _ = server.call("PUT", f"/_ml/trained_models/m-{i}", {"model_type": "pytorch",
                                        "inference_config": {"text_embedding": {}}, "input": {"field_names": ["t"]}})
                value = f"m-{i}"
            elif kind == "group":
                status, answer = server.call("POST", "/_plugins/_ml/model_groups/_register", {"name": f"g-{i}"})
                value = answer and answer.get("model_group_id")
            elif kind == "node":
                status, answer = server.call("POST", "/_sim/nodes", {"name": f"n-{i}", "machine_memory": "4gb"})
                value = f"n-{i}"
            elif kind == "clock":
                status, answer = server.call("POST", "/_sim/clock/_advance", {"seconds": 7})
                value = answer and answer.get("now")
            else:
                status, _ = server.call("PUT", "/_cluster/settings", {"persistent": {"plugins.ml_commons.max_model_on_node": 10 + i}})
                value = 10 + i
        except (OSError, urllib.error.URLError):
            return  # the server went down mid-request: that write was never acknowledged
        if status == 200:
            acknowledged.append((kind, value))
        i += 1
        if reached is not None and i - first >= kill_after:
            reached.set()


def check_all_there(server: Server, acknowledged: list[tuple[str, Any]]) -> None:
    nodes = {n["name"] for n in server.call("GET", "/_sim/nodes")[1]["nodes"]}
    now = server.call("GET", "/_sim/clock")[1]["now"]
    settings = server.call("GET", "/_cluster/settings")[1]
    for kind, value in acknowledged:
        if kind == "pipeline":
            assert server.call("GET", f"/_ingest/pipeline/{value}")[0] == 200, value
        elif kind == "model":
            assert server.call("GET", f"/_ml/trained_models/{value}")[0] == 200, value
        elif kind == "group":
            assert server.call("GET", f"/_plugins/_ml/model_groups/{value}")[0] == 200, value
        elif kind == "node":
            assert value in nodes
        elif kind == "clock":
            assert now >= value
    last_setting = [v for k, v in acknowledged if k == "setting"][-1:]
    if last_setting:  # the last acknowledged value, or a later one whose answer the kill cut off
        assert int(settings["persistent"]["plugins"]["ml_commons"]["max_model_on_node"]) >= last_setting[0]


@pytest.mark.parametrize("clock, rounds", [("virtual", 3), ("realtime", 2)])
def test_nothing_acknowledged_is_lost_when_the_server_is_killed_at_random_points(
    tmp_path: Path, servers, clock: str, rounds: int
) -> None:
    data = str(tmp_path / "data")
    rng = random.Random(11)
    acknowledged: list[tuple[str, Any]] = []
    for round_ in range(rounds):
        server = start(servers, "--data", data, clock=clock)
        if round_:
            check_all_there(server, acknowledged)
        stop, reached = threading.Event(), threading.Event()
        # a random point of the load: after a random number of its writes, mid-request
        writer = threading.Thread(
            target=write_load, args=(server, acknowledged, stop, 1000 * round_, rng.randint(6, 60), reached)
        )
        writer.start()
        assert reached.wait(60), "the write load stalled"
        server.proc.send_signal(signal.SIGKILL)
        writer.join(30)
        stop.set()
        server.kill()
    assert len({kind for kind, _ in acknowledged}) == 6, acknowledged
    check_all_there(start(servers, "--data", data, clock=clock), acknowledged)


def test_a_restart_reloads_routes_in_simulated_time_and_keeps_deployment_settings(tmp_path: Path, servers) -> None:
    data = str(tmp_path / "data")
    server = start(servers, "--demo", "--data", data)
    assert server.call("POST", f"/_ml/trained_models/{NER_MODEL}/deployment/_update", {"number_of_allocations": 2})[0] == 200
    before = server.call("GET", "/_sim/clock")[1]["now"]
    server.kill()

    server = start(servers, "--demo", "--data", data)
    assert server.first_line.startswith("mlsim restored 1 entries, then a full cluster restart at ")
    stats = server.call("GET", f"/_ml/trained_models/{NER_MODEL}/_stats")[1]["trained_model_stats"][0]
    assert stats["deployment_stats"]["state"] == "starting"
    assert stats["deployment_stats"]["number_of_allocations"] == 2
    assert server.call("GET", "/_sim/clock")[1]["now"] == before
    events = server.call("GET", "/_sim/events")[1]["events"]
    assert any(e["event"] == "full_restart" for e in events)
    server.call("POST", "/_sim/clock/_advance", {"seconds": 60})
    stats = server.call("GET", f"/_ml/trained_models/{NER_MODEL}/_stats")[1]["trained_model_stats"][0]
    assert stats["deployment_stats"]["state"] == "started"


def test_a_snapshot_restores_on_another_server_with_the_same_ids(tmp_path: Path, servers) -> None:
    first = start(servers, "--demo")
    group = first.call("POST", "/_plugins/_ml/model_groups/_register", {"name": "kept"})[1]["model_group_id"]
    node = first.call("POST", "/_sim/nodes", {"name": "ml-3"})[1]["id"]
    first.call("POST", "/_sim/clock/_advance", {"seconds": "5m"})
    snapshot = first.call("GET", "/_sim/snapshot")[1]
    first.kill()
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snapshot))

    second = start(servers, "--restore", str(path))
    assert second.call("GET", f"/_plugins/_ml/model_groups/{group}")[1]["name"] == "kept"
    assert node in {n["id"] for n in second.call("GET", "/_sim/nodes")[1]["nodes"]}
    assert second.call("GET", "/_sim/clock")[1]["now"] == snapshot["entries"][-1]["t"] + 300
    # replay is deterministic, random draws included: another restore draws the same next id
    next_group = second.call("POST", "/_plugins/_ml/model_groups/_register", {"name": "next"})[1]["model_group_id"]
    second.kill()
    third = start(servers, "--restore", str(path))
    assert third.call("POST", "/_plugins/_ml/model_groups/_register", {"name": "next"})[1]["model_group_id"] == next_group


async def test_reads_that_serve_traffic_replay_alike_and_repeated_polls_are_not_journaled() -> None:
    """`_nodes/stats` and `_stats` serve the traffic up to now, which cuts the windows later
    draws depend on: a replay must cut them at the same instants to count the same. A poll
    at an instant already served changes nothing, so it adds no entry."""
    recorded = Cluster(clock="virtual")
    build_demo(recorded)
    recorder = Recorder(recorded, {}, [])
    async with served(recorded, [lambda app: install(app, recorder)]) as port, ClientSession(f"http://127.0.0.1:{port}") as http:
        async def call(method: str, path: str, body: Any = None) -> Any:
            async with http.request(method, path, json=body) as answer:
                assert answer.status == 200, await answer.text()
                return await answer.json()

        await call("POST", f"/_sim/traffic/{NER_MODEL}", {"kind": "poisson", "rate": 50})
        for seconds in (3, 4, 5):
            await call("POST", "/_sim/clock/_advance", {"seconds": seconds})
            await call("GET", "/_nodes/stats")
        await call("POST", "/_sim/clock/_advance", {"seconds": 2})
        stats = await call("GET", "/_ml/trained_models/_stats")
        entries = len(recorder.entries)
        for _ in range(3):
            assert await call("GET", "/_ml/trained_models/_stats") == stats
            await call("GET", "/_nodes/stats")
        assert len(recorder.entries) == entries

    replayed = Cluster(clock="virtual")
    build_demo(replayed)
    await replay(replayed, recorder.entries)
    assert replayed.now == recorded.now
    async with served(replayed) as port, ClientSession(f"http://127.0.0.1:{port}") as http:
        async with http.get("/_ml/trained_models/_stats") as answer:
            assert await answer.json() == stats
    ner = next(s for s in stats["trained_model_stats"] if s["model_id"] == NER_MODEL)
    assert ner["deployment_stats"]["nodes"][0]["inference_count"] > 100


def test_bad_data_and_snapshot_files_exit_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    for args, message in (
        (["--restore", str(bad)], "not an mlsim snapshot"),
        (["--restore", str(tmp_path / "missing.json")], "cannot read"),
    ):
        run = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", "0", *args],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
        assert run.returncode == 2
        assert run.stderr.count("\n") == 1 and message in run.stderr, run.stderr


def test_a_data_directory_refuses_other_world_options(tmp_path: Path, servers) -> None:
    data = str(tmp_path / "data")
    start(servers, "--demo", "--data", data).kill()
    run = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", "0", "--nodes", "3", "--data", data],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "made with other world options (demo=True)" in run.stderr, run.stderr


def test_the_journal_cuts_a_torn_last_line_and_refuses_a_damaged_one(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.append({"seq": 1, "t": 0.0, "kind": "clock"})
    journal.sync()
    journal.close()
    with open(path, "ab") as out:
        out.write(b'{"seq": 2, "t": 1.0, "ki')  # the process died mid-write
    assert read_journal(path) == [{"seq": 1, "t": 0.0, "kind": "clock"}]
    assert path.read_bytes().endswith(b"}\n")
    path.write_bytes(b'{"seq": 1\n{"seq": 2, "t": 1.0, "kind": "clock"}\n')
    with pytest.raises(DataError, match="damaged journal entry"):
        read_journal(path)


def test_definition_parts_are_journaled_without_their_content(tmp_path: Path, servers) -> None:
    data = tmp_path / "data"
    server = start(servers, "--data", str(data))
    server.call("PUT", "/_ml/trained_models/big", {"model_type": "pytorch", "inference_config": {"ner": {}},
                                                  "input": {"field_names": ["t"]}})
    chunk = "A" * 1_000_000
    assert server.call("PUT", "/_ml/trained_models/big/definition/0",
                       {"definition": chunk, "total_definition_length": 750_000, "total_parts": 1})[0] == 200
    assert (data / "journal.jsonl").stat().st_size < 2000
    server.kill()
    server = start(servers, "--data", str(data))
    status = server.call("GET", "/_ml/trained_models/big?include=definition_status")[1]
    assert status["trained_model_configs"][0]["fully_defined"] is True


def test_compaction_keeps_only_a_last_clock_entry() -> None:
    entries = [
        {"seq": 1, "t": 0.0, "kind": "request", "method": "POST", "path": "/_sim/nodes"},
        {"seq": 2, "t": 1.0, "kind": "clock"},
        {"seq": 3, "t": 2.0, "kind": "clock"},
        {"seq": 4, "t": 2.5, "kind": "request", "method": "POST", "path": "/_sim/nodes"},
        {"seq": 5, "t": 3.0, "kind": "clock"},
    ]
    assert [e["seq"] for e in compact(entries)] == [1, 4, 5]
    assert [e["seq"] for e in compact(entries + [{"seq": 6, "t": 3.0, "kind": "restart"}])] == [1, 4, 6]


def test_the_entry_log_gives_back_what_it_kept_in_the_journal_s_form() -> None:
    entries = [
        {"seq": 1, "t": 0.0, "kind": "request", "method": "PUT", "path": "/_ml/trained_models/é",
         "headers": {"Content-Type": "application/json"}, "body": '{"a": "\\ud800 ü"}'},
        {"seq": 2, "t": 41.5, "kind": "clock"},
        {"seq": 3, "t": 41.5, "kind": "request", "method": "POST", "path": "/x", "body": "{}"},
        {"seq": 5, "t": 1e-07, "kind": "request", "method": "POST", "path": "/x", "body": "{}"},
    ]
    log = EntryLog(entries)
    assert list(log) == entries
    assert log.lines() == [json.dumps(e, separators=(",", ":")).encode("ascii") for e in entries]
    assert (len(log), log.last_seq, log.last_time) == (4, 5, 1e-07)
    assert EntryLog().last_seq == 0 and list(EntryLog()) == []


async def test_a_load_test_s_history_adds_no_object_per_request_and_snapshots_whole() -> None:
    """Each `_infer` is an entry; kept as a dict each, a long load test's history grew
    without bound in objects every full garbage collection walks (pauses of 0.25 s after
    200,000 requests). The snapshot still holds every request, and restores."""
    import gc

    recorded = Cluster(clock="virtual")
    build_demo(recorded)
    recorder = Recorder(recorded, {}, [])
    infer = {"docs": [{"text_field": "Hello Elastic in Paris"}]}
    async with served(recorded, [lambda app: install(app, recorder)]) as port, ClientSession(f"http://127.0.0.1:{port}") as http:
        async def burst(requests: int) -> None:
            for _ in range(requests):
                async with http.post(f"/_ml/trained_models/{NER_MODEL}/_infer", json=infer) as answer:
                    assert answer.status == 200, await answer.text()

        await burst(50)  # caches and pools warmed up
        gc.collect()
        before = len(gc.get_objects())
        await burst(1000)
        gc.collect()
        assert len(gc.get_objects()) - before < 200
        async with http.get("/_sim/snapshot") as answer:
            snapshot = await answer.json()
        async with http.get("/_sim/snapshot?pretty") as answer:
            assert json.loads(await answer.text()) == snapshot
    paths = [e["path"] for e in snapshot["entries"]]
    assert paths.count(f"/_ml/trained_models/{NER_MODEL}/_infer") == 1050
    assert snapshot["entries"] == list(recorder.entries)
    replayed = Cluster(clock="virtual")
    build_demo(replayed)
    assert await replay(replayed, snapshot["entries"]) == 1050
    assert replayed.now == recorded.now
