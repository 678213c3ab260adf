"""Traffic benchmark: `python -m benchmarks.traffic [--quick] [--json FILE]`.

Simulated inference requests per wall-clock second for a 20-node, 20-deployment cluster
under Poisson traffic, through the batch engine (arrivals drawn, routed by allocations and
served per 10 s control window, as the adaptive-allocations tick cuts time, all routes of
a window together as the cluster serves them) against a
naive baseline measured in the same run: one simpy process per request and a
`simpy.Resource(capacity=allocations)` per route, on a shorter horizon. Both report the
mean queue wait so the two models can be compared as well as timed.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import simpy

from cluster.routing import split_by_allocations
from cluster.traffic import Poisson
from nodes.inference_queue import DEFAULT_QUEUE_CAPACITY, Batch, InferenceQueue, Outcome, run_together
from nodes.service_model import InferenceProfile

from benchmarks.output import write_json

SEED = 20240611
NODES = 20
DEPLOYMENTS = 20
ROUTES_PER_DEPLOYMENT = 4
UTILISATION = 0.6
WINDOW = 10.0


@dataclass(frozen=True, slots=True)
class Deployment:
    profile: InferenceProfile
    rate: float
    routes: dict[str, int]


def layout() -> list[Deployment]:
    """20 deployments of 4–16 allocations on 4 of the 20 nodes each, 5–50 ms per inference,
    offered `UTILISATION` of their allocations' capacity."""
    rng = np.random.default_rng(SEED)
    deployments = []
    for d in range(DEPLOYMENTS):
        per_route = 1 + d % 4
        nodes = [f"node-{(d + k * 5) % NODES:02d}" for k in range(ROUTES_PER_DEPLOYMENT)]
        mean_ms = float(rng.uniform(5.0, 50.0))
        allocations = per_route * ROUTES_PER_DEPLOYMENT
        rate = UTILISATION * allocations / (mean_ms / 1000.0)
        deployments.append(Deployment(InferenceProfile(mean_ms), rate, {n: per_route for n in nodes}))
    return deployments


def run_batch_engine(deployments: Sequence[Deployment], horizon: float) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    queues = [
        {node: InferenceQueue(d.profile, rng, n, timeout_seconds=np.inf) for node, n in d.routes.items()}
        for d in deployments
    ]
    served, waits = 0, 0.0
    started = time.perf_counter()
    for t0 in np.arange(0.0, horizon, WINDOW):
        t1 = t0 + WINDOW
        batches = []
        for d, routes in zip(deployments, queues):
            arrivals = Poisson(d.rate).arrivals(rng, t0, t1)
            split = split_by_allocations(arrivals.size, d.routes, rng)
            batches += [Batch(queue, arrivals[split[node]], t1) for node, queue in routes.items()]
        for result in run_together(batches):
            served += int(np.count_nonzero(result.outcome == Outcome.OK))
            waits += float(result.waits.sum())
    wall = time.perf_counter() - started
    return _row("batch engine", horizon, served, waits, wall)


def run_simpy_baseline(deployments: Sequence[Deployment], horizon: float) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    env = simpy.Environment()
    tally = {"served": 0, "waits": 0.0}

    def request(resource: simpy.Resource, service: float):
        arrived = env.now
        with resource.request() as slot:
            yield slot
            tally["waits"] += env.now - arrived
            yield env.timeout(service)
        tally["served"] += 1

    def source(resource: simpy.Resource, rate: float, profile: InferenceProfile):
        while True:
            yield env.timeout(rng.exponential(1.0 / rate))
            if len(resource.queue) < DEFAULT_QUEUE_CAPACITY:
                env.process(request(resource, float(profile.sample_seconds(rng, 1)[0])))

    for d in deployments:
        total = sum(d.routes.values())
        for n in d.routes.values():
            env.process(source(simpy.Resource(env, capacity=n), d.rate * n / total, d.profile))
    started = time.perf_counter()
    env.run(until=horizon)
    wall = time.perf_counter() - started
    return _row("simpy, process per request", horizon, tally["served"], tally["waits"], wall)


def _row(engine: str, horizon: float, served: int, waits: float, wall: float) -> dict[str, Any]:
    return {
        "engine": engine,
        "simulated_seconds": horizon,
        "requests": served,
        "wall_seconds": round(wall, 3),
        "requests_per_wall_second": round(served / wall),
        "mean_wait_ms": round(1000.0 * waits / served, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.traffic", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 simulated minutes (baseline 20 s) instead of 1 hour (60 s)")
    parser.add_argument("--json", dest="json_path", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    horizon, baseline_horizon = (600.0, 20.0) if args.quick else (3600.0, 60.0)
    deployments = layout()
    rows = [run_batch_engine(deployments, horizon), run_simpy_baseline(deployments, baseline_horizon)]
    ratio = rows[0]["requests_per_wall_second"] / rows[1]["requests_per_wall_second"]
    offered = sum(d.rate for d in deployments)
    print(f"{NODES} nodes, {DEPLOYMENTS} deployments, {len(deployments) * ROUTES_PER_DEPLOYMENT} routes, "
          f"{offered:,.0f} requests/s offered at utilisation {UTILISATION}, {WINDOW:g} s windows")
    print("| engine | simulated s | requests | wall s | requests / wall s | mean wait ms |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['engine']} | {r['simulated_seconds']:g} | {r['requests']:,} | {r['wall_seconds']} "
              f"| {r['requests_per_wall_second']:,} | {r['mean_wait_ms']} |")
    print(f"speed-up: {ratio:.1f}x")
    write_json(args.json_path, {"rows": rows, "speedup": round(ratio, 2)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
