"""HTTP benchmark: `python -m benchmarks.http [--quick] [--json FILE]`.

mlsim against its own web framework, side by side in one run: `mlsim serve --demo --clock
virtual` (plus a 100-node cluster in each planner mode for `_update`) and a bare aiohttp app
that answers every benchmarked request with the very bytes mlsim answered it with. Both are
driven by the same load generator: wrk when it is on PATH, else an aiohttp client in a
separate process. Each row prints requests/s, p50 and p99 for both and mlsim's share of the
bare app's requests/s.

`_update` runs on a 100-node cluster (the rebalance benchmark's layout, 96 deployments, in
each planner mode): +1 allocation, then back, deployment after deployment, one request at a
time with an untimed clock advance after each so every update meets a started deployment.
A +1 asks the planner for a plan, a -1 is Elasticsearch's allocation reducer, so they are
reported apart, with the planner's share of a +1 read back from the event log (the
`measured.planner_ms` of its `rebalance` event). wrk has no way to leave the advances out of
its numbers, so both servers get this sequence from the same plain HTTP client.
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
from benchmarks.output import write_json

REPO = Path(__file__).resolve().parent.parent
NER_MODEL = "elastic__distilbert-base-uncased-finetuned-conll03-english"
OS_EMBEDDING_MODEL = "T_S-cY0BKCJ3ot9qr0aP"
MODEL = "flight-delay-prediction-1574775339910"
UPDATE_NODES = 100
#: Deployments the `_update` rows cycle through.
UPDATE_DEPLOYMENTS = 8
#: Untimed load each server gets before a row's timed load (first connections, warm caches);
#: at most the row's own duration.
WARM_UP_SECONDS = 1.0
#: Simulated seconds between two updates (new routes load well within it).
UPDATE_SETTLE_SECONDS = 120
MODES = ("elasticsearch", "optimal")
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class Case:
    """One benchmarked request kind: its requests (cycled in order) and connections."""

    name: str
    requests: tuple[tuple[str, str, bytes | None], ...]
    connections: int


@dataclass(frozen=True, slots=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux `/proc`; None elsewhere). On a
    shared machine wall-clock latencies stretch with the load; CPU per request does not."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_ms_per_request(before: float | None, after: float | None, requests: int) -> float | None:
    if before is None or after is None or not requests:
        return None
    return round((after - before) * 1000.0 / requests, 3)


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


def generator_name(choice: str) -> str:
    """wrk when asked for, or when `auto` and it is on PATH; else the aiohttp client."""
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "aiohttp"
    return choice


def run_load(port: int, case: Case, seconds: float, generator: str) -> Load:
    return wrk(port, case, seconds) if generator == "wrk" else aiohttp_load(port, case, seconds)


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
            # wrk reads whole seconds only ("1.5s" is a usage error)
            ["wrk", "-t1", f"-c{case.connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", handle.name,
             f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return Load(rps, _wrk_ms(out, "50%"), _wrk_ms(out, "99%"), int(errors.group(1)) if errors else 0, total)


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
                      "p99_ms": float(np.percentile(ms, 99)), "errors": errors, "requests": len(ms)}))


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


def update_server(mode: str, nodes: int) -> tuple[Server, list[tuple[str, int]]]:
    """A settled cluster in the rebalance benchmark's layout; the deployments the
    `_update` rows cycle through, with their allocations."""
    deployments = [d for d in layout(nodes, np.random.default_rng(SEED + nodes))
                   if not d.deployment_id.startswith("new-")]
    server = Server(cluster_file(nodes, mode))
    for d in deployments:
        create(server, d)
        start(server, d)
    server.advance(SETTLE_SECONDS)
    chosen = [d for d in deployments if not d.adaptive][:UPDATE_DEPLOYMENTS]
    return server, [(d.deployment_id, d.allocations) for d in chosen]


Answers = dict[tuple[str, str], tuple[int, str, bytes]]


Step = tuple[str, str, bytes | None, str | None]


def sequential(
    port: int, pid: int, sequence: list[Step]
) -> tuple[dict[str, list[float]], dict[str, float | None], Answers]:
    """Send `sequence` in order on one keep-alive connection. By label, the latencies (ms)
    of the requests with one (unlabelled ones, the clock advances, are not timed) and the
    server's CPU ms per such request (`pid`'s CPU clock ticks coarsely; summed over many
    requests it evens out); and the last answer to each method and path."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    timed: dict[str, list[float]] = {}
    cpu: dict[str, float] = {}
    answers: Answers = {}
    try:
        for method, path, body, label in sequence:
            cpu_before = cpu_seconds(pid)
            started = time.perf_counter()
            conn.request(method, path, body, JSON_HEADERS if body is not None else {})
            response = conn.getresponse()
            raw = response.read()
            elapsed = (time.perf_counter() - started) * 1000.0
            if response.status != 200:
                raise RuntimeError(f"{method} {path} -> {response.status}: {raw[:300]!r}")
            if label:
                timed.setdefault(label, []).append(elapsed)
                cpu_after = cpu_seconds(pid)
                if cpu_before is not None and cpu_after is not None:
                    cpu[label] = cpu.get(label, 0.0) + (cpu_after - cpu_before) * 1000.0
            answers[(method, path)] = (response.status, response.getheader("Content-Type", ""), raw)
    finally:
        conn.close()
    return timed, {k: round(cpu[k] / len(v), 3) if k in cpu else None for k, v in timed.items()}, answers


def update_sequence(targets: list[tuple[str, int]], rounds: int) -> list[Step]:
    """+1 allocation, settle, back to where it was, settle; deployment after deployment.
    Settling (a clock advance, not timed) lets new routes start, so every update meets a
    started deployment, as for a client that waits for its update to take effect."""
    advance = ("POST", "/_sim/clock/_advance", json.dumps({"seconds": UPDATE_SETTLE_SECONDS}).encode(), None)
    out: list[Step] = []
    for r in range(rounds):
        deployment_id, allocations = targets[r % len(targets)]
        path = f"/_ml/trained_models/{deployment_id}/deployment/_update"
        for n, label in ((allocations + 1, "up"), (allocations, "down")):
            out += [("POST", path, json.dumps({"number_of_allocations": n}).encode(), label), advance]
    return out


def update_rows(server: Server, mode: str, targets: list[tuple[str, int]], rounds: int) -> list[dict[str, Any]]:
    """Up and down latencies on mlsim and on the bare app (same client, same sequence), and
    the planner's ms per up read back from the event log."""
    sequence = update_sequence(targets, rounds)
    port = server.conn.port
    since = server.next_event()
    mlsim_ms, mlsim_cpu, answers = sequential(port, server.proc.pid, sequence)
    events = server.call("GET", f"/_sim/events?since={since}")["events"]
    planner = [e["measured"]["planner_ms"] for e in events
               if e["event"] == "rebalance" and e["cause"] == "update deployment" and e.get("measured")]
    bare, bare_port = start_bare(answers)
    try:
        bare_ms, bare_cpu, _ = sequential(bare_port, bare.pid, sequence)
    finally:
        stop(bare)
    rows = []
    for label, sign in (("up", "+1"), ("down", "-1")):
        ours, theirs = np.array(mlsim_ms[label]), np.array(bare_ms[label])
        rows.append({
            "case": f"_update {sign} [{mode}]", "connections": 1,
            "mlsim_rps": round(1000.0 / ours.mean()), "mlsim_p50_ms": round(float(np.percentile(ours, 50)), 2),
            "mlsim_p99_ms": round(float(np.percentile(ours, 99)), 2), "mlsim_errors": 0,
            "bare_rps": round(1000.0 / theirs.mean()), "bare_p50_ms": round(float(np.percentile(theirs, 50)), 2),
            "bare_p99_ms": round(float(np.percentile(theirs, 99)), 2),
            "ratio": round(float(theirs.mean() / ours.mean()), 2),
            "mlsim_cpu_ms": mlsim_cpu[label], "bare_cpu_ms": bare_cpu[label],
            "planner_ms_p50": round(statistics.median(planner), 2) if label == "up" and planner else None,
        })
    return rows


# -- running --------------------------------------------------------------------------------


def compare(mlsim: subprocess.Popen, mlsim_port: int, case: Case, seconds: float, generator: str) -> dict[str, Any]:
    """Record mlsim's answers, serve them from the bare app, load both in turn."""
    answers = {(m, p): call(mlsim_port, m, p, b) for m, p, b in case.requests}
    bare, bare_port = start_bare(answers)
    try:
        for port in (mlsim_port, bare_port):  # neither server is timed cold
            run_load(port, case, min(WARM_UP_SECONDS, seconds), generator)
        before = cpu_seconds(mlsim.pid)
        mlsim_load = run_load(mlsim_port, case, seconds, generator)
        mlsim_cpu = cpu_ms_per_request(before, cpu_seconds(mlsim.pid), mlsim_load.requests)
        before = cpu_seconds(bare.pid)
        bare_load = run_load(bare_port, case, seconds, generator)
        bare_cpu = cpu_ms_per_request(before, cpu_seconds(bare.pid), bare_load.requests)
    finally:
        stop(bare)
    return {
        "case": case.name,
        "connections": case.connections,
        "bytes": len(next(iter(answers.values()))[2]),
        "mlsim_rps": round(mlsim_load.rps), "mlsim_p50_ms": round(mlsim_load.p50_ms, 2),
        "mlsim_p99_ms": round(mlsim_load.p99_ms, 2), "mlsim_errors": mlsim_load.errors,
        "bare_rps": round(bare_load.rps), "bare_p50_ms": round(bare_load.p50_ms, 2),
        "bare_p99_ms": round(bare_load.p99_ms, 2),
        "ratio": round(mlsim_load.rps / bare_load.rps, 2) if bare_load.rps else None,
        "mlsim_cpu_ms": mlsim_cpu, "bare_cpu_ms": bare_cpu,
    }


def run(seconds: float, rounds: int, modes: Sequence[str], nodes: int, generator: str) -> list[dict[str, Any]]:
    rows = []
    demo, port = start_demo()
    try:
        for case in demo_cases():
            rows.append(compare(demo, port, case, seconds, generator))
    finally:
        stop(demo)
    for mode in modes:
        server, targets = update_server(mode, nodes)
        try:
            rows += update_rows(server, mode, targets, rounds)
        finally:
            server.close()
    return rows


COLUMNS = (
    ("case", "case"), ("connections", "conns"), ("mlsim_rps", "mlsim req/s"), ("mlsim_p50_ms", "p50 ms"),
    ("mlsim_p99_ms", "p99 ms"), ("bare_rps", "bare req/s"), ("bare_p50_ms", "bare p50 ms"),
    ("bare_p99_ms", "bare p99 ms"), ("ratio", "ratio"), ("mlsim_errors", "non-2xx"),
    ("mlsim_cpu_ms", "mlsim CPU ms/req"), ("bare_cpu_ms", "bare CPU ms/req"),
    ("planner_ms_p50", "of which planner ms (p50)"),
)


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(t for _, t in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join("—" if r.get(k) is None else str(r[k]) for k, _ in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.http", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per load instead of 10 s, 10 _update rounds")
    parser.add_argument("--seconds", type=float, help="seconds per load (default: 10, --quick: 3)")
    parser.add_argument("--modes", default=",".join(MODES), help="planner modes for the _update rows")
    parser.add_argument("--update-nodes", type=int, default=UPDATE_NODES, help="nodes of the _update cluster")
    parser.add_argument("--generator", choices=("auto", "wrk", "aiohttp"), default="auto",
                        help="load generator (auto: wrk when on PATH)")
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
    generator = generator_name(args.generator)
    seconds = args.seconds or (3 if args.quick else 10)
    rows = run(seconds, 10 if args.quick else 40, [m for m in args.modes.split(",") if m], args.update_nodes, generator)
    print(table(rows))
    print(f"\nload generator: {generator}; load average before/after: "
          f"{' '.join(f'{x:.2f}' for x in load_before)} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    write_json(args.json_path, {"rows": rows, "generator": generator,
                       "load_before": load_before, "load_after": os.getloadavg()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
