"""Rebalance benchmark: `python -m benchmarks.rebalance [--quick] [--json FILE]`.

From a trigger to fully allocated, end to end, against a real `mlsim serve` (virtual clock,
loopback HTTP), for clusters of 10 to 1,000 nodes in 3 zones filled to ~70 % of their cores,
in both planner modes. The triggers run one after another on one cluster per size and mode,
each once the previous one has settled: scale deployments up and back down, start new ones,
crash a node and let one join, shut one down gracefully, a traffic step under adaptive
allocations, and last the loss of the smallest zone.

Every number but the wall times is read back from the server: planner time, allocations moved
and recovery times from `GET /_sim/rebalances`, reload waves and load floors from
`GET /_sim/events`, so the benchmark measures what a user of the server can see.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

import scheduler
from cluster.settings import MAX_TRAINED_MODEL_DEPLOYMENTS
from nodes.timing import NodeTiming

from benchmarks.output import write_json

SEED = 20261202
SIZES = (10, 100, 500, 1000)
QUICK_SIZES = (10, 100)
TRIGGERS = ("update_up", "update_down", "start", "node_crash", "node_join", "node_leave", "adaptive_step", "zone_loss")
#: Triggers that are one or more REST calls whose effect shows in the routing tables at once.
REST_TRIGGERS = frozenset(TRIGGERS) - {"adaptive_step"}
#: Zone of node j: a, b, a, b, c — the last zone holds a fifth of the nodes, so losing it
#: leaves room for the ~70 % the deployments ask for.
ZONE_PATTERN = "ababc"
NODE_SHAPE = {"machine_memory": "64gb", "allocated_processors": 8}
FILL = 0.7
THREADS = (1, 2, 4)
MODEL_MIB = (100, 250, 500, 1000)
#: Reserved for the `start` trigger, under Elasticsearch's limit of 100 deployments.
NEW_DEPLOYMENTS = 3
#: Samples of request-to-applied per trigger (the first one is also the measured trigger).
SAMPLES = {"update_up": 5, "update_down": 5, "start": NEW_DEPLOYMENTS}
SETTLE_SECONDS = 900
ADAPTIVE = {"enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 8}
ADAPTIVE_RATE = 200.0
ADAPTIVE_SETTLE_SECONDS = 1800
TIMING = NodeTiming()
REPO = Path(__file__).resolve().parent.parent
#: Elasticsearch's recorded plans, beside the checkout as in CI (`../shared/es-plans`).
ES_PLANS = REPO.parent / "shared" / "es-plans" / "plans.jsonl"
STARTUP_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Deployment:
    deployment_id: str
    model_bytes: int
    allocations: int
    threads: int
    adaptive: bool = False


def layout(nodes: int, rng: np.random.Generator) -> list[Deployment]:
    """Deployments asking for ~`FILL` of the cluster's cores (lognormal shares), the first
    one under adaptive allocations, the last `NEW_DEPLOYMENTS` left for the `start` trigger."""
    count = min(nodes, MAX_TRAINED_MODEL_DEPLOYMENTS - NEW_DEPLOYMENTS)
    cores = nodes * NODE_SHAPE["allocated_processors"]
    threads = rng.choice(THREADS, count + NEW_DEPLOYMENTS)
    share = rng.lognormal(0.0, 0.6, count)
    allocations = np.maximum(1, np.floor(share / share.sum() * FILL * cores / threads[:count])).astype(int)
    sizes = rng.choice(MODEL_MIB, count + NEW_DEPLOYMENTS) * (1 << 20)
    deployments = [
        Deployment(f"dep-{i:03d}", int(sizes[i]), int(allocations[i]) if i else 1, int(threads[i]), adaptive=i == 0)
        for i in range(count)
    ]
    deployments += [
        Deployment(f"new-{i}", int(sizes[count + i]), 2, int(threads[count + i])) for i in range(NEW_DEPLOYMENTS)
    ]
    return deployments


def cluster_file(nodes: int, mode: str) -> dict[str, Any]:
    return {
        "settings": {"planner_mode": mode, "event_log_capacity": 1_000_000},
        "nodes": [{"name": f"ml-{j:04d}", "zone": ZONE_PATTERN[j % len(ZONE_PATTERN)], **NODE_SHAPE} for j in range(nodes)],
    }


# -- the server --------------------------------------------------------------------------


class Server:
    """`mlsim serve` as a subprocess on a loopback port, with one keep-alive connection."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(config, self._file)
        self._file.close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", "0", "--clock", "virtual", "--cluster", self._file.name],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        banner = self.proc.stdout.readline() if self.proc.stdout else ""
        match = re.match(r"mlsim listening on http://127\.0\.0\.1:(\d+)", banner)
        if not match:
            self.close()
            raise RuntimeError(f"mlsim serve did not start: {banner!r}")
        self.conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=STARTUP_SECONDS * 10)

    def call(self, method: str, path: str, body: Any = None, expect_ok: bool = True) -> Any:
        payload = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        self.conn.request(method, path, payload, headers)
        response = self.conn.getresponse()
        raw = response.read()
        if expect_ok and response.status >= 300:
            raise RuntimeError(f"{method} {path} -> {response.status}: {raw[:300]!r}")
        content_type = response.getheader("Content-Type", "")
        if "ndjson" in content_type:
            return [json.loads(line) for line in raw.decode().splitlines() if line]
        return json.loads(raw) if raw else None

    def advance(self, seconds: float) -> None:
        self.call("POST", "/_sim/clock/_advance", {"seconds": seconds})

    def now(self) -> float:
        return self.call("GET", "/_sim/clock")["now"]

    def next_event(self) -> int:
        return self.call("GET", "/_sim/events?since=2147483647")["next"]

    def stats(self) -> list[dict[str, Any]]:
        return self.call("GET", "/_ml/trained_models/_stats?size=10000")["trained_model_stats"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        os.unlink(self._file.name)


def deployments_of(stats: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["deployment_stats"]["deployment_id"]: s["deployment_stats"] for s in stats if "deployment_stats" in s}


def route_nodes(deployment: dict[str, Any]) -> set[str]:
    """Ids of the nodes in a deployment's routing table, as `_stats` lists them."""
    return {node_id for entry in deployment.get("nodes", []) for node_id in entry["node"]}


def create(server: Server, d: Deployment) -> None:
    model = f"/_ml/trained_models/{d.deployment_id}"
    server.call("PUT", model, {
        "model_type": "pytorch", "inference_config": {"text_embedding": {}}, "input": {"field_names": ["text_field"]},
    })
    server.call("PUT", f"{model}/definition/0", {"definition": "AA==", "total_definition_length": d.model_bytes, "total_parts": 1})
    server.call("PUT", f"{model}/vocabulary", {"vocabulary": ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]})


def start(server: Server, d: Deployment) -> None:
    query = f"wait_for=starting&threads_per_allocation={d.threads}"
    if not d.adaptive:
        query += f"&number_of_allocations={d.allocations}"
    body = {"adaptive_allocations": ADAPTIVE} if d.adaptive else None
    server.call("POST", f"/_ml/trained_models/{d.deployment_id}/deployment/_start?{query}", body)


def all_fully_allocated(server: Server) -> bool:
    return all(d["allocation_status"]["state"] == "fully_allocated" for d in deployments_of(server.stats()).values())


# -- one run: a size and a mode, every trigger in turn ------------------------------------


@dataclass(slots=True)
class Run:
    server: Server
    deployments: list[Deployment]
    nodes_added: int = 0
    bytes_of: dict[str, int] = field(default_factory=dict)

    def live(self) -> dict[str, dict[str, Any]]:
        return deployments_of(self.server.stats())

    def live_one(self, deployment_id: str) -> dict[str, Any]:
        """One deployment's stats (its model has the deployment's id here), or {} if none."""
        found = self.server.call("GET", f"/_ml/trained_models/{deployment_id}/_stats", expect_ok=False)
        return deployments_of(found.get("trained_model_stats", [])).get(deployment_id, {})

    def busiest_node(self) -> str:
        """The node carrying the most allocations (ties: the smallest id)."""
        nodes = self.server.call("GET", "/_sim/nodes")["nodes"]
        load = {n["id"]: sum(r["current_allocations"] for r in n["routes"]) for n in nodes if not n["leaving"]}
        return min(load, key=lambda n: (-load[n], n))


def applied_after(check: Callable[[], bool], limit: int = 1000) -> None:
    """Poll until the routing tables show the change (in the virtual clock: the first read)."""
    for _ in range(limit):
        if check():
            return
    raise RuntimeError("the change never showed in the routing tables")


def timed(send: Callable[[], None], check: Callable[[], bool]) -> float:
    started = time.perf_counter()
    send()
    applied_after(check)
    return (time.perf_counter() - started) * 1000.0


def trigger_samples(run: Run, trigger: str, sample: int) -> Iterator[float | None]:
    """Perform sample number `sample` of `trigger`; yields its request-to-applied ms."""
    server = run.server
    normal = [d for d in run.deployments if not d.adaptive and not d.deployment_id.startswith("new-")]
    if trigger in ("update_up", "update_down"):
        d = normal[sample % len(normal)]
        live = run.live()[d.deployment_id]
        wanted = live["number_of_allocations"] + (1 if trigger == "update_up" else -1)
        path = f"/_ml/trained_models/{d.deployment_id}/deployment/_update"
        yield timed(
            lambda: server.call("POST", path, {"number_of_allocations": wanted}),
            lambda: run.live_one(d.deployment_id)["allocation_status"]["target_allocation_count"] == wanted,
        )
    elif trigger == "start":
        d = next(x for x in run.deployments if x.deployment_id == f"new-{sample}")
        yield timed(lambda: start(server, d), lambda: bool(route_nodes(run.live_one(d.deployment_id))))
    elif trigger == "node_crash":
        victim = run.busiest_node()
        yield timed(
            lambda: server.call("POST", f"/_sim/nodes/{victim}/_crash"),
            lambda: all(victim not in route_nodes(d) for d in run.live().values()),
        )
    elif trigger == "node_join":
        run.nodes_added += 1
        spec = {"name": f"ml-join-{run.nodes_added}", "zone": "a", **NODE_SHAPE}
        added: dict[str, Any] = {}
        yield timed(lambda: added.update(server.call("POST", "/_sim/nodes", spec)), lambda: bool(run.live()))
    elif trigger == "node_leave":
        victim = run.busiest_node()
        yield timed(
            lambda: server.call("DELETE", f"/_sim/nodes/{victim}"),
            lambda: all(
                n["routing_state"]["routing_state"] == "stopping"
                for d in run.live().values() for n in d.get("nodes", []) if victim in n["node"]
            ),
        )
    elif trigger == "adaptive_step":
        adaptive = next(d for d in run.deployments if d.adaptive)
        server.call("POST", f"/_sim/traffic/{adaptive.deployment_id}", {"kind": "poisson", "rate": ADAPTIVE_RATE})
        yield None
    elif trigger == "zone_loss":
        nodes = server.call("GET", "/_sim/nodes")["nodes"]
        zone = [n["id"] for n in nodes if n["zone"] == ZONE_PATTERN[-1]]

        def crash_zone() -> None:
            for node_id in zone:
                server.call("POST", f"/_sim/nodes/{node_id}/_crash")

        yield timed(crash_zone, lambda: all(not set(zone) & route_nodes(d) for d in run.live().values()))


def measure_trigger(run: Run, trigger: str) -> dict[str, Any]:
    """The trigger once, settled and read back from the log; then more request samples."""
    server = run.server
    since, t0 = server.next_event(), server.now()
    request_ms = [ms for ms in trigger_samples(run, trigger, 0) if ms is not None]
    server.advance(ADAPTIVE_SETTLE_SECONDS if trigger == "adaptive_step" else SETTLE_SECONDS)
    plans = server.call("GET", f"/_sim/rebalances?since={since}")["rebalances"]
    events = server.call("GET", f"/_sim/events?since={since}&format=jsonl")
    fully = all_fully_allocated(server)
    for sample in range(1, SAMPLES.get(trigger, 1)):
        request_ms += [ms for ms in trigger_samples(run, trigger, sample) if ms is not None]
        server.advance(SETTLE_SECONDS)
    restore(run, trigger)
    return summarise(run, trigger, t0, plans, events, fully, request_ms)


def restore(run: Run, trigger: str) -> None:
    """Give back what a trigger took or added (unmeasured), so the next one meets a cluster
    of the same size and demand: new deployments stop, a node that left is replaced."""
    if trigger == "start":
        for d in run.deployments:
            if d.deployment_id.startswith("new-"):
                run.server.call("POST", f"/_ml/trained_models/{d.deployment_id}/deployment/_stop?force=true")
    elif trigger == "node_leave":
        run.nodes_added += 1
        run.server.call("POST", "/_sim/nodes", {"name": f"ml-join-{run.nodes_added}", "zone": "a", **NODE_SHAPE})
    else:
        return
    run.server.advance(SETTLE_SECONDS)


def load_floor(model_bytes: int, also_resized: bool) -> float:
    """The least a deployment that loads new routes can take: the load, plus one resize when
    a started route of it also grows (routes resize once none of the deployment's starts)."""
    return TIMING.load_seconds(model_bytes) + (TIMING.resize_seconds if also_resized else 0.0)


def summarise(
    run: Run, trigger: str, t0: float, plans: list[dict[str, Any]], events: list[dict[str, Any]],
    fully: bool, request_ms: list[float],
) -> dict[str, Any]:
    loads: dict[str, set[float]] = {}
    grown: set[str] = set()
    for e in events:
        if e["event"] == "route_added":
            loads.setdefault(e["deployment_id"], set()).add(e["time"])
        elif e["event"] == "route_target" and e["target"] > e["current"]:
            grown.add(e["deployment_id"])
    floor = max((load_floor(run.bytes_of[d], d in grown) for d in loads), default=None)
    done = [p["fully_allocated_at"] for p in plans]
    recovered = None
    if fully and None not in done:
        recovered = round(max(done, default=t0) - t0, 3)
    return {
        "trigger": trigger,
        "planner_ms": round(sum(p["planner_ms"] or 0.0 for p in plans), 2),
        "rebalances": len(plans),
        "request_to_applied_ms": round(statistics.median(request_ms), 2) if request_ms else None,
        "sim_seconds_to_fully_allocated": recovered,
        "load_floor_seconds": None if floor is None else round(floor, 3),
        "floor_ratio": None if recovered is None or not floor else round(recovered / floor, 3),
        "moved": sum(p["allocations_moved"] for p in plans),
        "reload_waves": max((len(times) for times in loads.values()), default=0),
    }


def run_size(nodes: int, mode: str, es_reference: dict[str, Any] | None) -> list[dict[str, Any]]:
    started = time.perf_counter()
    deployments = layout(nodes, np.random.default_rng(SEED + nodes))
    server = Server(cluster_file(nodes, mode))
    try:
        run = Run(server, deployments, bytes_of={d.deployment_id: d.model_bytes for d in deployments})
        for d in deployments:
            create(server, d)
        for d in deployments:
            if not d.deployment_id.startswith("new-"):
                start(server, d)
        server.advance(SETTLE_SECONDS)
        setup_seconds = time.perf_counter() - started
        rows = []
        for trigger in TRIGGERS:
            trigger_started = time.perf_counter()
            row = {"nodes": nodes, "deployments": len(deployments) - NEW_DEPLOYMENTS, "mode": mode}
            row.update(measure_trigger(run, trigger))
            row["wall_seconds"] = round(time.perf_counter() - trigger_started, 2)
            row["setup_seconds"] = round(setup_seconds, 2)
            row["es_compute_ms"] = es_reference["es_compute_ms"] if es_reference else None
            row["es_instance"] = es_reference["instance"] if es_reference else None
            rows.append(row)
        return rows
    finally:
        server.close()


def closest_es_plan(nodes: int, path: Path = ES_PLANS) -> dict[str, Any] | None:
    """The recorded Elasticsearch plan nearest in size (then 3 zones, demand 0.7, no low
    priority), or None where `../shared/es-plans` is not beside the checkout."""
    if not path.exists():
        return None
    best, best_key = None, None
    for line in path.read_text().splitlines():
        record = json.loads(line)
        match = re.match(r"n(\d+)x\d+_z(\d+)_t([\d.]+)_low([\d.]+)_", record["instance"])
        if not match:
            continue
        size, zones, demand, low = int(match.group(1)), int(match.group(2)), float(match.group(3)), float(match.group(4))
        key = (abs(np.log(size / nodes)), abs(zones - 3), abs(demand - FILL), low)
        if best_key is None or key < best_key:
            best, best_key = record, key
    return best


COLUMNS = (
    ("trigger", "trigger"), ("nodes", "nodes"), ("mode", "mode"), ("planner_ms", "planner ms"),
    ("request_to_applied_ms", "request→applied ms (p50)"), ("sim_seconds_to_fully_allocated", "sim s to fully allocated"),
    ("load_floor_seconds", "load floor s"), ("floor_ratio", "floor ratio"), ("moved", "moved"),
    ("reload_waves", "reload waves"), ("wall_seconds", "wall s"), ("es_compute_ms", "ES planner ms"),
)


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = ["—" if row[key] is None else str(row[key]) for key, _ in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rebalance", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only")
    parser.add_argument("--sizes", help="comma-separated node counts (default: %s)" % ",".join(map(str, SIZES)))
    parser.add_argument("--modes", default=",".join(scheduler.PLANNER_MODES), help="comma-separated planner modes")
    parser.add_argument("--es-plans", type=Path, default=ES_PLANS, help="Elasticsearch's recorded plans.jsonl")
    parser.add_argument("--json", dest="json_path", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (QUICK_SIZES if args.quick else SIZES)
    rows = []
    for nodes in sizes:
        reference = closest_es_plan(nodes, args.es_plans)
        for mode in args.modes.split(","):
            rows += run_size(nodes, mode, reference)
    rows.sort(key=lambda r: (TRIGGERS.index(r["trigger"]), r["nodes"], r["mode"]))
    print(table(rows))
    write_json(args.json_path, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
