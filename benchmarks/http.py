"""HTTP benchmark: `python -m benchmarks.http [--quick] [--json FILE]`.

mlsim against its own web framework, side by side in one run: `mlsim serve --demo --clock
virtual` (plus a 100-node cluster in each planner mode for `_update`) and a bare aiohttp app
that answers every benchmarked request with the very bytes mlsim answered it with. Both are
driven by the same load generator: wrk when it is on PATH, else an aiohttp client in a
separate process. Each row prints requests/s, p50 and p99 for both and mlsim's share of the
bare app's requests/s.

`_update` alternates +1 and -1 allocation on the 100-node cluster's deployments over one
connection (a +1 asks the planner for a plan, a -1 is Elasticsearch's allocation reducer);
the up and down latencies are also measured apart, sequentially, with the planner's share
of an up read back from the event log (`measured.planner_ms` of its `rebalance` event).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchmarks.rebalance import SEED, SETTLE_SECONDS, Server, cluster_file, create, layout, start

REPO = Path(__file__).resolve().parent.parent
NER_MODEL = "elastic__distilbert-base-uncased-finetuned-conll03-english"
OS_EMBEDDING_MODEL = "T_S-cY0BKCJ3ot9qr0aP"
MODEL = "flight-delay-prediction-1574775339910"
UPDATE_NODES = 100
#: Deployments the `_update` rows cycle through.
UPDATE_DEPLOYMENTS = 8
MODES = ("elasticsearch", "optimal")
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class Case:
    """One benchmarked request kind: requests (cycled in order), connections, seconds."""

    name: str
    requests: tuple[tuple[str, str, bytes | None], ...]
    connections: int


@dataclass(frozen=True, slots=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


# -- the servers ----------------------------------------------------------------------


def start_demo() -> tuple[subprocess.Popen, int]:
    """`mlsim serve --demo` in the virtual clock on a free port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", "0", "--clock", "virtual", "--demo"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    banner = proc.stdout.readline() if proc.stdout else ""
    match = re.match(r"mlsim listening on http://127\.0\.0\.1:(\d+)", banner)
    if not match:
        proc.kill()
        raise RuntimeError(f"mlsim serve did not start: {banner!r}")
    return proc, int(match.group(1))


def start_bare(answers: dict[tuple[str, str], tuple[int, str, bytes]]) -> tuple[subprocess.Popen, int]:
    """The bare app in its own process, answering each (method, path) with fixed bytes."""
    spec = [[m, p, s, ct, base64.b64encode(b).decode()] for (m, p), (s, ct, b) in answers.items()]
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.http", "--bare"], cwd=REPO, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(spec))
    proc.stdin.close()
    return proc, int(proc.stdout.readline().split()[-1])


def serve_bare(spec: list[list[Any]]) -> None:
    """Run the bare aiohttp app: no middleware, one handler returning the stored bytes."""
    from aiohttp import web

    table = {(m, p): (s, ct, base64.b64decode(b)) for m, p, s, ct, b in spec}

    async def handler(request: web.Request) -> web.Response:
        status, content_type, body = table[(request.method, request.path)]
        return web.Response(body=body, status=status, headers={"Content-Type": content_type})

    async def main() -> None:
        app = web.Application()
        for method, path in table:
            app.router.add_route(method, path, handler)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"bare listening on {runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def call(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request(method, path, body, JSON_HEADERS if body is not None else {})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(30)


# -- load generators ----------------------------------------------------------------------


def run_load(port: int, case: Case, seconds: float) -> Load:
    if shutil.which("wrk"):
        return wrk(port, case, seconds)
    return aiohttp_load(port, case, seconds)


def _lua_string(data: bytes | None) -> str:
    return "nil" if data is None else "'" + data.decode().replace("\\", "\\\\").replace("'", "\\'") + "'"


def wrk(port: int, case: Case, seconds: float) -> Load:
    """wrk, one thread; a Lua script cycles through the case's requests."""
    rows = ",\n".join(f"  {{'{m}', '{p}', {_lua_string(b)}}}" for m, p, b in case.requests)
    script = (
        "local reqs = {\n" + rows + "\n}\nlocal i = 0\n"
        "request = function()\n  local r = reqs[i % #reqs + 1]\n  i = i + 1\n"
        "  local h = {}\n  if r[3] then h['Content-Type'] = 'application/json' end\n"
        "  return wrk.format(r[1], r[2], h, r[3])\nend\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{case.connections}", f"-d{seconds}s", "--latency", "-s", handle.name,
             f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Load(rps, _wrk_ms(out, "50%"), _wrk_ms(out, "99%"), int(errors.group(1)) if errors else 0)


def _wrk_ms(out: str, label: str) -> float:
    value, unit = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def aiohttp_load(port: int, case: Case, seconds: float) -> Load:
    """The fallback: an aiohttp client in its own process (so it does not share the
    server's loop), one keep-alive connection per worker."""
    spec = {"port": port, "seconds": seconds, "connections": case.connections,
            "requests": [[m, p, None if b is None else b.decode()] for m, p, b in case.requests]}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.http", "--client", json.dumps(spec)],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout
    return Load(**json.loads(out))


def client_main(spec: dict[str, Any]) -> None:
    import aiohttp

    requests = [(m, p, None if b is None else b.encode()) for m, p, b in spec["requests"]]
    latencies: list[float] = []
    errors = 0

    async def worker(session: aiohttp.ClientSession, deadline: float, offset: int) -> None:
        nonlocal errors
        i = offset
        while time.perf_counter() < deadline:
            method, path, body = requests[i % len(requests)]
            i += 1
            started = time.perf_counter()
            async with session.request(method, f"http://127.0.0.1:{spec['port']}{path}", data=body,
                                       headers=JSON_HEADERS if body is not None else None) as response:
                await response.read()
                errors += response.status >= 300
            latencies.append(time.perf_counter() - started)

    async def main() -> float:
        connector = aiohttp.TCPConnector(limit=spec["connections"])
        async with aiohttp.ClientSession(connector=connector) as session:
            began = time.perf_counter()
            deadline = began + spec["seconds"]
            await asyncio.gather(*(worker(session, deadline, k) for k in range(spec["connections"])))
            return time.perf_counter() - began

    elapsed = asyncio.run(main())
    ms = np.array(latencies) * 1000.0
    print(json.dumps({"rps": len(ms) / elapsed, "p50_ms": float(np.percentile(ms, 50)),
                      "p99_ms": float(np.percentile(ms, 99)), "errors": errors}))


# -- the cases ------------------------------------------------------------------------------


def demo_cases() -> list[Case]:
    infer = json.dumps({"docs": [{"text_field": "Hello Elastic in Paris"}]}).encode()
    predict = json.dumps({"text_docs": ["hello world"]}).encode()
    return [
        Case("GET _stats", (("GET", "/_ml/trained_models/_stats", None),), 32),
        Case("GET a model", (("GET", f"/_ml/trained_models/{MODEL}", None),), 32),
        Case("_infer (ES)", (("POST", f"/_ml/trained_models/{NER_MODEL}/_infer", infer),), 16),
        Case("_predict (OpenSearch)", (("POST", f"/_plugins/_ml/models/{OS_EMBEDDING_MODEL}/_predict", predict),), 16),
    ]


def update_server(mode: str) -> tuple[Server, list[tuple[str, int]]]:
    """A settled 100-node cluster in the rebalance benchmark's layout; the deployments the
    `_update` rows cycle through, with their allocations."""
    deployments = [d for d in layout(UPDATE_NODES, np.random.default_rng(SEED + UPDATE_NODES))
                   if not d.deployment_id.startswith("new-")]
    server = Server(cluster_file(UPDATE_NODES, mode))
    for d in deployments:
        create(server, d)
        start(server, d)
    server.advance(SETTLE_SECONDS)
    chosen = [d for d in deployments if not d.adaptive][:UPDATE_DEPLOYMENTS]
    return server, [(d.deployment_id, d.allocations) for d in chosen]


def update_requests(targets: list[tuple[str, int]]) -> tuple[tuple[str, str, bytes], ...]:
    """+1 then back, deployment after deployment."""
    out = []
    for deployment_id, allocations in targets:
        path = f"/_ml/trained_models/{deployment_id}/deployment/_update"
        for n in (allocations + 1, allocations):
            out.append(("POST", path, json.dumps({"number_of_allocations": n}).encode()))
    return tuple(out)


def update_split(server: Server, targets: list[tuple[str, int]], rounds: int) -> dict[str, float]:
    """Sequential up/down latencies and the planner's ms per up, read from the event log."""
    port = server.conn.port
    since = server.next_event()
    up, down = [], []
    for r in range(rounds):
        deployment_id, allocations = targets[r % len(targets)]
        path = f"/_ml/trained_models/{deployment_id}/deployment/_update"
        for n, into in ((allocations + 1, up), (allocations, down)):
            body = json.dumps({"number_of_allocations": n}).encode()
            started = time.perf_counter()
            status, _, raw = call(port, "POST", path, body)
            into.append((time.perf_counter() - started) * 1000.0)
            if status != 200:
                raise RuntimeError(f"_update -> {status}: {raw[:300]!r}")
    events = server.call("GET", f"/_sim/events?since={since}")["events"]
    planner = [e["measured"]["planner_ms"] for e in events if e["event"] == "rebalance" and e.get("measured")]
    return {"up_p50_ms": statistics.median(up), "down_p50_ms": statistics.median(down),
            "planner_ms_p50": statistics.median(planner) if planner else 0.0}


# -- running --------------------------------------------------------------------------------


def compare(mlsim_port: int, case: Case, seconds: float, mode: str = "") -> dict[str, Any]:
    """Record mlsim's answers, serve them from the bare app, load both in turn."""
    answers = {(m, p): call(mlsim_port, m, p, b) for m, p, b in case.requests}
    bare, bare_port = start_bare(answers)
    try:
        mlsim_load = run_load(mlsim_port, case, seconds)
        bare_load = run_load(bare_port, case, seconds)
    finally:
        stop(bare)
    return {
        "case": case.name + (f" [{mode}]" if mode else ""),
        "connections": case.connections,
        "bytes": len(next(iter(answers.values()))[2]),
        "mlsim_rps": round(mlsim_load.rps), "mlsim_p50_ms": round(mlsim_load.p50_ms, 2),
        "mlsim_p99_ms": round(mlsim_load.p99_ms, 2), "mlsim_errors": mlsim_load.errors,
        "bare_rps": round(bare_load.rps), "bare_p50_ms": round(bare_load.p50_ms, 2),
        "bare_p99_ms": round(bare_load.p99_ms, 2),
        "ratio": round(mlsim_load.rps / bare_load.rps, 2) if bare_load.rps else None,
    }


def run(quick: bool, modes: Sequence[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    seconds = 3 if quick else 10
    rows = []
    demo, port = start_demo()
    try:
        for case in demo_cases():
            rows.append(compare(port, case, seconds))
    finally:
        stop(demo)
    splits = []
    for mode in modes:
        server, targets = update_server(mode)
        try:
            case = Case("_update", update_requests(targets), 1)
            rows.append(compare(server.conn.port, case, seconds, mode))
            splits.append({"mode": mode, **update_split(server, targets, 10 if quick else 40)})
        finally:
            server.close()
    return rows, splits


COLUMNS = (
    ("case", "case"), ("connections", "conns"), ("mlsim_rps", "mlsim req/s"), ("mlsim_p50_ms", "p50 ms"),
    ("mlsim_p99_ms", "p99 ms"), ("bare_rps", "bare req/s"), ("bare_p50_ms", "bare p50 ms"),
    ("bare_p99_ms", "bare p99 ms"), ("ratio", "ratio"), ("mlsim_errors", "non-2xx"),
)


def table(rows: Sequence[dict[str, Any]], splits: Sequence[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(t for _, t in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(r[k]) for k, _ in COLUMNS) + " |" for r in rows]
    if splits:
        lines += ["", "| `_update` sequential | up p50 ms | of which planner ms | down p50 ms |", "|---|---|---|---|"]
        lines += [f"| {s['mode']} | {s['up_p50_ms']:.2f} | {s['planner_ms_p50']:.2f} | {s['down_p50_ms']:.2f} |"
                  for s in splits]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.http", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per load instead of 10 s")
    parser.add_argument("--modes", default=",".join(MODES), help="planner modes for the _update rows")
    parser.add_argument("--json", dest="json_path", help="also write the rows to this JSON file")
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        serve_bare(json.load(sys.stdin))
        return 0
    if args.client:
        client_main(json.loads(args.client))
        return 0
    load_before = os.getloadavg()
    rows, splits = run(args.quick, [m for m in args.modes.split(",") if m])
    print(table(rows, splits))
    generator = "wrk" if shutil.which("wrk") else "aiohttp client"
    print(f"\nload generator: {generator}; load average before/after: "
          f"{' '.join(f'{x:.2f}' for x in load_before)} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as handle:
            json.dump({"rows": rows, "update": splits, "generator": generator,
                       "load_before": load_before, "load_after": os.getloadavg()}, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
