"""Durability benchmark: what journaling costs a write, and how long a restart replays.

    python -m benchmarks.durability              # 2,000 writes per mode
    python -m benchmarks.durability --quick      # 200
    python -m benchmarks.durability --json out.json

Writes are sequential `PUT /_ingest/pipeline/p-N` over one keep-alive loopback connection
to the app in process, without a recorder, with the in-memory recorder (no `--data`), and
with the journal fsynced before every answer (`--data`, in a temporary directory), then
from 8 concurrent clients sharing fsyncs. Then the journal's entries are replayed into a
fresh cluster, as a restart does.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from api.app import create_app
from api.durability.files import Journal, read_journal
from api.durability.recorder import Recorder, install
from api.durability.replay import replay
from cluster.cluster import Cluster

from benchmarks.output import write_json


async def _writes(count: int, extensions: list, clients: int = 1) -> float:
    """Seconds for `count` pipeline PUTs from `clients` concurrent sequential clients."""
    cluster = extensions[0] if extensions and isinstance(extensions[0], Cluster) else Cluster(clock="virtual")
    runner = web.AppRunner(create_app(cluster, extensions[1:] if extensions else []))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/_ingest/pipeline/"
    try:
        async def client(first: int) -> None:
            async with ClientSession() as session:
                for i in range(first, count, clients):
                    async with session.put(url + f"p-{i}", json={"processors": []}) as answer:
                        assert answer.status == 200, await answer.text()

        start = time.perf_counter()
        await asyncio.gather(*(client(first) for first in range(clients)))
        return time.perf_counter() - start
    finally:
        await runner.cleanup()


async def run(count: int) -> list[dict[str, Any]]:
    rows = []
    seconds = await _writes(count, [])
    rows.append({"case": "no recorder", "requests": count, "seconds": seconds})
    cluster = Cluster(clock="virtual")
    recorder = Recorder(cluster, {}, [])
    seconds = await _writes(count, [cluster, lambda app: install(app, recorder)])
    rows.append({"case": "in-memory history", "requests": count, "seconds": seconds})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        cluster = Cluster(clock="virtual")
        recorder = Recorder(cluster, {}, [], Journal(path))
        seconds = await _writes(count, [cluster, lambda app: install(app, recorder)])
        rows.append({"case": "journal, fsync per write", "requests": count, "seconds": seconds})
        cluster = Cluster(clock="virtual")
        recorder = Recorder(cluster, {}, [], Journal(Path(tmp) / "concurrent.jsonl"))
        seconds = await _writes(count, [cluster, lambda app: install(app, recorder)], clients=8)
        rows.append({"case": "journal, 8 concurrent clients (group commit)", "requests": count, "seconds": seconds})
        entries = read_journal(path)
        fresh = Cluster(clock="virtual")
        start = time.perf_counter()
        await replay(fresh, entries)
        rows.append({"case": "replay on restart", "requests": len(entries), "seconds": time.perf_counter() - start})
        assert len(fresh.state.pipelines) == count
    for row in rows:
        row["ms_per_request"] = 1000 * row["seconds"] / row["requests"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 writes instead of 2,000")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args()
    rows = asyncio.run(run(200 if args.quick else 2000))
    print("| case | requests | seconds | ms / request |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['case']} | {row['requests']} | {row['seconds']:.2f} | {row['ms_per_request']:.2f} |")
    write_json(args.json, rows)


if __name__ == "__main__":
    main()
