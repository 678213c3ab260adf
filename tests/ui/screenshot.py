"""Take the README's picture of the live view: `python3 -m tests.ui.screenshot docs/ui.png`.

The demo cluster (`mlsim serve --demo --clock virtual`) with traffic on the NER deployment,
a few OpenSearch predictions and a third node in its own zone, in headless Chromium.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from cluster.demo import NER_MODEL
from cluster.opensearch.demo import EMBEDDING_MODEL
from tests.api.test_serve import REPO, STARTUP_SECONDS, read_line
from tests.ui.test_live_view import CHROMIUM, CHROMIUM_ARGS, call, expect, sync_api


def stage(url: str) -> None:
    """Traffic, an update, a new node and predictions, so every panel has something to show."""
    call(f"{url}/_ml/trained_models/{NER_MODEL}/deployment/_update", "POST", {"number_of_allocations": 3})
    call(f"{url}/_sim/traffic/{NER_MODEL}", "POST", {"kind": "poisson", "rate": 40})
    call(f"{url}/_sim/nodes", "POST", {"name": "ml-3", "machine_memory": "32gb", "allocated_processors": 16, "zone": "b"})
    for text in ("the quick brown fox", "jumps over", "the lazy dog"):
        call(f"{url}/_plugins/_ml/_predict/text_embedding/{EMBEDDING_MODEL}", "POST", {"text_docs": [text]})
    call(f"{url}/_sim/clock/_advance", "POST", {"seconds": 90})


def main(out: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", "0", "--clock", "virtual", "--demo"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = re.search(r"http://\S+", read_line(proc, time.monotonic() + STARTUP_SECONDS)).group(0)
        stage(url)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            page.goto(f"{url}/_sim/ui")
            expect(page.locator('#zones .node[data-node-name="ml-3"]')).to_have_count(1)
            page.screenshot(path=out, full_page=True)
            browser.close()
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path("docs") / "ui.png"))
