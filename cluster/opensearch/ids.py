"""Document ids like OpenSearch's auto-generated ones (20 url-safe characters)."""

from __future__ import annotations

import base64

import numpy as np


def new_document_id(rng: np.random.Generator) -> str:
    """A 20-character id such as `MzcIJX8BA7mbufL6DOwl`, drawn from the cluster's generator."""
    return base64.urlsafe_b64encode(rng.bytes(15)).decode("ascii")
