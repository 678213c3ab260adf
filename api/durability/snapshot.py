"""A snapshot document: how the cluster was made (the world) and the entries that changed it.

    {"format": "mlsim-snapshot", "version": 1,
     "world": {"seed": 0, "demo": true, "cluster": {...} | null, "nodes": 0, "node_memory": null,
               "node_processors": null},
     "entries": [{"seq": 1, "t": 0.0, "kind": "request", "method": "PUT", "path": "/_ml/...",
                  "headers": {"Content-Type": "application/json"}, "body": "..."},
                 {"seq": 2, "t": 41.5, "kind": "clock"},
                 {"seq": 3, "t": 41.5, "kind": "restart"}, ...]}

Rebuilding the world with its seed and replaying the entries at their simulated times gives
the same cluster (see `replay.py`); the same document is `GET /_sim/snapshot`, the data
directory's `snapshot.json` and what `mlsim serve --restore FILE` loads.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable

from cluster.cluster import Cluster
from cluster.config import ClusterConfig, ConfigError, parse_cluster

from .entries import EntryLog
from .files import DataError, read_json

FORMAT = "mlsim-snapshot"
VERSION = 1
ENTRY_KINDS = ("request", "clock", "restart")
#: The `mlsim serve` options that build the world (the clock is how it is served: entries
#: replay at their recorded simulated times whatever clock recorded them).
WORLD_OPTIONS = ("seed", "demo", "nodes", "node_memory", "node_processors")

#: `serve_command.build_cluster`: options and a parsed cluster file to a cluster.
Builder = Callable[[argparse.Namespace, "ClusterConfig | None"], Cluster]


def world_of(args: argparse.Namespace) -> dict[str, Any]:
    """The world `mlsim serve`'s options describe, with the cluster file's content (not its
    path, so the snapshot can be loaded elsewhere)."""
    world = {name: getattr(args, name) for name in WORLD_OPTIONS}
    world["cluster"] = json.loads(Path(args.cluster).read_text(encoding="utf-8")) if args.cluster else None
    return world


def build_world(world: dict[str, Any], build: Builder, clock: str = "virtual", speed: float | None = None) -> Cluster:
    """The cluster of `world` in `clock` (virtual while entries replay: requests that wait
    for a simulated condition step the simulation themselves)."""
    try:
        config = parse_cluster(world["cluster"] or {})
    except ConfigError as exc:
        raise DataError(f"snapshot world: cluster: {exc}") from None
    options = {name: world[name] for name in WORLD_OPTIONS}
    args = argparse.Namespace(cluster="snapshot", clock=clock, speed=speed, **options)
    try:
        return build(args, config)
    except ConfigError as exc:
        raise DataError(f"snapshot world: {exc}") from None


def encode(world: dict[str, Any], entries: EntryLog) -> bytes:
    """The snapshot document, compact, ASCII only: the entries' recorded lines joined."""
    head = {"format": FORMAT, "version": VERSION, "world": world}
    return json.dumps(head, separators=(",", ":")).encode("ascii")[:-1] + b',"entries":[' + b",".join(entries.lines()) + b"]}"


def load(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """World and entries of a snapshot file, checked enough to replay."""
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError(f"{path}: not an mlsim snapshot (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise DataError(f"{path}: snapshot version [{data.get('version')}] is not supported (expected {VERSION})")
    world, entries = data.get("world"), data.get("entries")
    if not isinstance(world, dict) or any(name not in world for name in (*WORLD_OPTIONS, "cluster")):
        raise DataError(f"{path}: [world] must hold {list((*WORLD_OPTIONS, 'cluster'))}")
    if not isinstance(entries, list) or not all(_is_entry(e) for e in entries):
        raise DataError(f"{path}: [entries] must be a list of entries with seq, t and kind {list(ENTRY_KINDS)}")
    return world, entries


def _is_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("seq"), int)
        and 0 <= entry["seq"] < 2**63
        and isinstance(entry.get("t"), (int, float))
        and entry.get("kind") in ENTRY_KINDS
        and (entry["kind"] != "request" or (isinstance(entry.get("method"), str) and isinstance(entry.get("path"), str)))
    )
