"""Ingest benchmark: `python -m benchmarks.ingest [--quick] [--json FILE]`.

`_bulk` requests of N documents through an `inference` pipeline (a NER model with 4
allocations on one 16-processor node), served in process through the real app and the
virtual clock: wall-clock documents per second, and the simulated `took` / `ingest_took`
the answer reports. Each request writes a fresh index, so sizes do not share a queue.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from cluster.cluster import Cluster
from nodes.resources import MiB

from benchmarks.output import write_json

SIZES = (100, 1_000, 5_000)
QUICK_SIZES = (100, 1_000)


def ndjson(index: str, n: int) -> str:
    action = json.dumps({"index": {"_index": index}})
    return "".join(f'{action}\n{{"text_field": "Ann met Bob in Paris, note {i}"}}\n' for i in range(n))


async def measure(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    cluster = Cluster(clock="virtual")
    cluster.add_node("ml-1", memory_gb=32, processors=16)
    cluster.add_pytorch_model("ner", 200 * MiB, task_type="ner")
    cluster.start_deployment("ner", number_of_allocations=4)
    client = TestClient(TestServer(create_app(cluster)))
    await client.start_server()
    rows = []
    try:
        await client.put("/_ingest/pipeline/people", json={"processors": [{"inference": {"model_id": "ner"}}]})
        for n in sizes:
            body = ndjson(f"docs-{n}", n)
            started = time.perf_counter()
            response = await client.post("/_bulk?pipeline=people", data=body,
                                         headers={"Content-Type": "application/x-ndjson"})
            answer = await response.json()
            wall = time.perf_counter() - started
            failed = sum("error" in next(iter(item.values())) for item in answer["items"])
            rows.append({"docs": n, "wall_s": round(wall, 3), "docs_per_wall_s": round(n / wall),
                         "took_ms": answer["took"], "ingest_took_ms": answer.get("ingest_took"), "failed": failed})
    finally:
        await client.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1000 documents only")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args()
    rows = asyncio.run(measure(QUICK_SIZES if args.quick else SIZES))
    print("| docs | wall s | docs / wall s | took ms (simulated) | ingest_took ms | failed items |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['docs']} | {r['wall_s']} | {r['docs_per_wall_s']} | {r['took_ms']} | {r['ingest_took_ms']} "
              f"| {r['failed']} |")
    write_json(args.json, rows)


if __name__ == "__main__":
    main()
