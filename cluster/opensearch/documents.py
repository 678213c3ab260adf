"""Indices of JSON documents with OpenSearch's write bookkeeping.

ml-commons keeps models, groups, connectors and tasks as documents in system indices
(`.plugins-ml-model`, ...) and answers writes with the index's `_version`, `_seq_no` and
`_primary_term`; users' own indices (stop words for guardrails) live here too. Every write
bumps the document's `_version` and the index's sequence number, as a one-shard index does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

MODEL_INDEX = ".plugins-ml-model"
MODEL_GROUP_INDEX = ".plugins-ml-model-group"
CONNECTOR_INDEX = ".plugins-ml-connector"
TASK_INDEX = ".plugins-ml-task"
CONTROLLER_INDEX = ".plugins-ml-controller"
SYSTEM_INDICES = (MODEL_INDEX, MODEL_GROUP_INDEX, CONNECTOR_INDEX, TASK_INDEX, CONTROLLER_INDEX)

#: The primary term every simulated index reports (no primary ever fails over).
PRIMARY_TERM = 1


@dataclass(slots=True)
class StoredDocument:
    source: dict[str, Any]
    version: int
    seq_no: int


@dataclass
class DocumentIndex:
    """One single-shard index: documents by id, in insertion order."""

    name: str
    docs: dict[str, StoredDocument] = field(default_factory=dict)
    next_seq_no: int = 0
    #: `index.default_pipeline`: the ingest pipeline writes run through unless they name one.
    default_pipeline: str | None = None

    @property
    def exists(self) -> bool:
        """Whether the index has been created: OpenSearch creates an index (ml-commons its
        system indices) at the first write, so before it reads answer "no such index"."""
        return self.next_seq_no > 0

    def get(self, doc_id: str) -> dict[str, Any] | None:
        """The document's source (a copy: callers change documents only through writes)."""
        stored = self.docs.get(doc_id)
        return None if stored is None else copy.deepcopy(stored.source)

    def source(self, doc_id: str) -> dict[str, Any] | None:
        """The stored source itself, without `get`'s copy, for reads on hot paths; never
        change it. Writes replace a document's source and never change one in place, so a
        reference taken here stays the document as it was when read."""
        stored = self.docs.get(doc_id)
        return None if stored is None else stored.source

    def index(self, doc_id: str, source: dict[str, Any]) -> dict[str, Any]:
        """Create or replace a document; returns the write response."""
        previous = self.docs.get(doc_id)
        version = 1 if previous is None else previous.version + 1
        self.docs[doc_id] = StoredDocument(copy.deepcopy(source), version, self._take_seq_no())
        return self._response(doc_id, "created" if previous is None else "updated")

    def update(self, doc_id: str, partial: dict[str, Any]) -> dict[str, Any]:
        """Merge `partial` into the document (objects merge key by key, as a partial-doc
        update does); raises KeyError when the document does not exist."""
        stored = self.docs[doc_id]
        merged = _merge(stored.source, partial)
        if merged == stored.source:
            return self._response(doc_id, "noop")
        stored.source = merged
        stored.version += 1
        stored.seq_no = self._take_seq_no()
        return self._response(doc_id, "updated")

    def delete(self, doc_id: str) -> dict[str, Any]:
        """Remove a document; returns the write response ("not_found" when absent)."""
        stored = self.docs.pop(doc_id, None)
        if stored is None:
            return {**self._response(doc_id, "not_found", version=1, seq_no=self._take_seq_no())}
        return self._response(doc_id, "deleted", version=stored.version + 1, seq_no=self._take_seq_no())

    def _take_seq_no(self) -> int:
        seq_no = self.next_seq_no
        self.next_seq_no += 1
        return seq_no

    def _response(self, doc_id: str, result: str, version: int | None = None, seq_no: int | None = None) -> dict[str, Any]:
        stored = self.docs.get(doc_id)
        return {
            "_index": self.name,
            "_id": doc_id,
            "_version": version if version is not None else stored.version,
            "result": result,
            "_shards": {"total": 1, "successful": 1, "failed": 0},
            "_seq_no": seq_no if seq_no is not None else stored.seq_no,
            "_primary_term": PRIMARY_TERM,
        }


class DocumentStore:
    """All indices by name; system indices exist from the start, others on first write."""

    def __init__(self) -> None:
        self.indices: dict[str, DocumentIndex] = {name: DocumentIndex(name) for name in SYSTEM_INDICES}

    def index_named(self, name: str, create: bool = False) -> DocumentIndex | None:
        if name not in self.indices and create:
            self.indices[name] = DocumentIndex(name)
        return self.indices.get(name)

    def __getitem__(self, name: str) -> DocumentIndex:
        return self.indices[name]


def _merge(base: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in partial.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
