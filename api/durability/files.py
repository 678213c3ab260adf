"""The data directory on disk: a snapshot written atomically and a journal appended and
fsynced.

`snapshot.json` is a snapshot document (see `snapshot.py`) replaced with write, fsync,
rename and a directory fsync, so a crash leaves the old or the new one, never half. The
journal, `journal.jsonl`, holds one entry a line written after the snapshot; an entry
whose `seq` the snapshot already holds is skipped (a crash between writing a snapshot and
emptying the journal), and a torn last line (a crash mid-write of a request nobody got an
answer for) is cut off.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .entries import encode_entry

SNAPSHOT_FILE = "snapshot.json"
JOURNAL_FILE = "journal.jsonl"


class DataError(ValueError):
    """The data directory or a snapshot file cannot be used (says which and why)."""


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """An append-only file of entries; `sync` makes everything appended so far durable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, entry: dict[str, Any]) -> None:
        self.append_line(encode_entry(entry))

    def append_line(self, line: bytes) -> None:
        """An entry already encoded (`EntryLog.append` gives its line)."""
        os.write(self._fd, line + b"\n")

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The journal's entries; a torn last line is cut off the file, a bad line elsewhere is
    a `DataError`."""
    if not path.exists():
        return []
    raw = path.read_bytes()
    entries: list[dict[str, Any]] = []
    offset = 0
    for number, line in enumerate(raw.split(b"\n"), 1):
        end = offset + len(line) + 1
        if not line:
            offset = end
            continue
        try:
            entries.append(json.loads(line))
        except ValueError:
            if end < len(raw):  # not the last line: the file was damaged, not torn
                raise DataError(f"{path}:{number}: damaged journal entry") from None
            with open(path, "r+b") as out:
                out.truncate(offset)
                os.fsync(out.fileno())
            break
        offset = end
    return entries


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise DataError(f"{path}: not a JSON document: {exc}") from None
