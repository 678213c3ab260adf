"""`mlsim serve --data DIR` and `--restore FILE`: where a served cluster's history comes
from, and bringing the cluster back from it before the server answers.

A data directory that holds a cluster, or a snapshot file, is a history: the world is
rebuilt, the entries replay through the app, and the cluster goes through a full restart
(routes load again in simulated time). With `--data`, the history including that restart
becomes the directory's new snapshot and the journal starts empty.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from cluster.cluster import Cluster
from cluster.restart import full_restart

from .entries import EntryLog
from .files import JOURNAL_FILE, SNAPSHOT_FILE, DataError, Journal, read_journal, write_atomically
from .recorder import Recorder, install
from .replay import replay
from .snapshot import Builder, build_world, encode, load, world_of

#: The world `mlsim serve` builds with no world options.
DEFAULT_WORLD = {"seed": 0, "demo": False, "nodes": 0, "node_memory": None, "node_processors": None, "cluster": None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("durability")
    group.add_argument(
        "--data", metavar="DIR",
        help="keep the cluster in DIR: every acknowledged write is on disk before its answer, and a "
        "restart with the same DIR brings the cluster back (as after a full cluster restart)",
    )
    group.add_argument(
        "--restore", metavar="FILE",
        help="start from a snapshot (GET /_sim/snapshot) instead of an empty or demo world",
    )


@dataclass
class History:
    """A world and the entries that changed it; `existing` if the cluster ran before."""

    world: dict[str, Any] | None
    entries: list[dict[str, Any]] = field(default_factory=list)
    existing: bool = False
    data_dir: Path | None = None

    def build(self, build: Builder, args: argparse.Namespace) -> Cluster:
        """The world's cluster: from the options (their errors name the cluster file), or
        from the stored world in the virtual clock, for the entries to replay."""
        if self.existing:
            return build_world(self.world, build)
        cluster = build(args, None)
        self.world = world_of(args)
        return cluster

    async def restore(self, cluster: Cluster, clock: str, speed: float | None) -> Recorder:
        """Replay, restart and hand the cluster its serving clock; returns the recorder
        that keeps the history going (into the data directory's journal, if any)."""
        recorder = Recorder(cluster, self.world, self.entries)
        if self.existing:
            await replay(cluster, self.entries)
            full_restart(cluster)
            recorder.append("restart")
            cluster.clock.mode = clock  # type: ignore[assignment]
            cluster.clock.speed = speed or 1.0
        recorder.entries = EntryLog(compact(list(recorder.entries)))
        if self.data_dir is not None:
            write_atomically(self.data_dir / SNAPSHOT_FILE, encode(self.world, recorder.entries))
            write_atomically(self.data_dir / JOURNAL_FILE, b"")
            recorder.journal = Journal(self.data_dir / JOURNAL_FILE)
        return recorder


def compact(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries without the `clock` entries another entry follows: replay moves the clock
    to each entry's time anyway, so only a last one (the time a run ended at) matters."""
    return [e for i, e in enumerate(entries) if e["kind"] != "clock" or i == len(entries) - 1]


def load_history(args: argparse.Namespace) -> History:
    """The history the options name: the data directory's, the snapshot file's, or a new
    one for the world of the options. `DataError` if they disagree."""
    try:
        given = world_of(args)
    except (OSError, ValueError):
        given = None  # a broken cluster file: reported when the world is built
    data_dir = Path(args.data) if args.data else None
    if data_dir is not None:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot use --data {data_dir}: {exc.strerror or exc}") from None
        if (data_dir / SNAPSHOT_FILE).exists():
            if args.restore:
                raise DataError(f"--data {data_dir} already holds a cluster; --restore needs a new directory")
            world, entries = load(data_dir / SNAPSHOT_FILE)
            seen = max((e["seq"] for e in entries), default=0)
            entries += [e for e in read_journal(data_dir / JOURNAL_FILE) if e["seq"] > seen]
            _check_world(given, world, f"--data {data_dir} holds a cluster")
            return History(world, entries, True, data_dir)
    if args.restore:
        world, entries = load(Path(args.restore))
        _check_world(given, world, f"--restore {args.restore} holds a cluster")
        return History(world, entries, True, data_dir)
    return History(None, [], False, data_dir)


def _check_world(given: dict[str, Any] | None, stored: dict[str, Any], holder: str) -> None:
    if given != DEFAULT_WORLD and given != stored:
        options = ", ".join(f"{k}={v!r}" for k, v in sorted(stored.items()) if k != "cluster" and v != DEFAULT_WORLD[k])
        raise DataError(
            f"{holder} made with other world options ({options or 'none'}"
            f"{', a cluster file' if stored['cluster'] else ''}); give the same ones or none"
        )


def installer(recorder: Recorder):
    """Install `recorder` on an app (for `create_app`'s extensions)."""

    def install_on(app: web.Application) -> None:
        install(app, recorder)

    return install_on
