"""`GET /_sim/ui` in a real browser: headless Chromium (Debian's package, driven by Playwright)
against `mlsim serve --demo --clock virtual`, changed through the API and through the page."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from cluster.demo import FIRST_NODE_ID, NER_MODEL
from cluster.opensearch.demo import EMBEDDING_MODEL
from tests.api.test_serve import server  # noqa: F401  (the demo server fixture, reused)

CHROMIUM = Path("/usr/bin/chromium")
#: Headless and offline: no sandbox (containers), no GPU, no background calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[test]')")
expect = sync_api.expect
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")


def call(url: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def ui(browser, server) -> Iterator[tuple[Any, str, list[str]]]:  # noqa: F811
    """The live view of a fresh demo server: (page, base url, every url the page requested)."""
    _, url = server
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    requested: list[str] = []
    errors: list[str] = []  # script exceptions (a refused request is not one)
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{url}/_sim/ui")
    expect(page.locator("#status")).to_have_text("live")
    try:
        yield page, url, requested
        assert errors == []
    finally:
        page.close()


def route_on(page, node_name: str, deployment_id: str = NER_MODEL):
    return page.locator(f'#zones .node[data-node-name="{node_name}"] .route[data-deployment="{deployment_id}"]')


def test_a_crash_shows_the_node_gone_and_its_routes_restarting_elsewhere(ui):
    page, url, requested = ui
    expect(route_on(page, "ml-1")).to_have_attribute("data-state", "started")
    expect(page.locator('#zones .node[data-node-name="ml-2"] .route')).to_have_count(0)
    expect(page.locator('#zones .node[data-node-name="ml-2"] .chip.os')).to_have_count(5)

    call(f"{url}/_sim/nodes/{FIRST_NODE_ID}/_crash", "POST")

    expect(page.locator('#zones .node[data-node-name="ml-1"]')).to_have_count(0)
    expect(route_on(page, "ml-2")).to_have_attribute("data-state", "starting")
    row = page.locator(f'#deployments tr[data-deployment="{NER_MODEL}"]')
    expect(row).to_have_attribute("data-state", "starting")
    expect(page.locator('#timeline [data-event="node_crashed"]')).to_contain_text("ml-1")
    expect(page.locator('#timeline [data-event="route_added"]').first).to_contain_text("ml-2")
    expect(page.locator('#zones .node[data-node-name="ml-2"] .chip.os')).to_have_count(5)

    # The virtual clock moves only when asked: the page's button lets the model finish loading.
    page.click('#advance button[data-seconds="10"]')
    expect(route_on(page, "ml-2")).to_have_attribute("data-state", "started")
    expect(row).to_have_attribute("data-state", "started")
    expect(row).to_contain_text("fully_allocated")
    assert call(f"{url}/_sim/clock")["now"] > 10
    # Everything the page loaded came from the server that serves it.
    assert requested and all(u.startswith(f"{url}/") for u in requested), requested


def test_the_page_adds_removes_and_crashes_nodes_and_shows_refusals(ui):
    page, url, _ = ui
    form = page.locator("#add-node")
    form.locator('[name="zone"]').fill("b")
    form.locator('[name="machine_memory"]').fill("32gb")
    form.locator("button").click()
    added = page.locator('#zones .zone[data-zone="b"] .node[data-node-name="ml-3"]')
    expect(added).to_contain_text("0 / 8")  # cores used / available
    assert {n["name"]: n["zone"] for n in call(f"{url}/_sim/nodes")["nodes"]} == {"ml-1": "", "ml-2": "", "ml-3": "b"}

    added.locator("button.remove").click()
    expect(added).to_have_count(0)
    page.locator('#zones .node[data-node-name="ml-2"] button.crash').click()
    expect(page.locator('#zones .node[data-node-name="ml-2"]')).to_have_count(0)
    assert [n["name"] for n in call(f"{url}/_sim/nodes")["nodes"]] == ["ml-1"]

    form.locator('[name="machine_memory"]').fill("16xb")
    form.locator("button").click()
    expect(page.locator("#message")).to_contain_text("failed to parse setting [machine_memory]")
    assert [n["name"] for n in call(f"{url}/_sim/nodes")["nodes"]] == ["ml-1"]


def test_the_clock_shows_mode_and_time_and_advances_by_the_buttons(ui):
    page, url, _ = ui
    expect(page.locator("#clock-mode")).to_have_text("virtual")
    before = call(f"{url}/_sim/clock")
    expect(page.locator("#clock-time")).to_have_text(before["timestamp"])
    page.click('#advance button[data-seconds="60"]')
    after = call(f"{url}/_sim/clock")
    assert after["now"] == pytest.approx(before["now"] + 60)
    expect(page.locator("#clock-time")).to_have_text(after["timestamp"])


def test_a_run_s_event_log_and_summary_open_from_files(ui, tmp_path):
    page, url, _ = ui
    call(f"{url}/_sim/nodes/{FIRST_NODE_ID}/_crash", "POST")
    with urllib.request.urlopen(f"{url}/_sim/events?format=jsonl") as response:
        log = response.read().decode()
    events = [json.loads(line) for line in log.splitlines()]
    crash = next(i for i, e in enumerate(events) if e["event"] == "node_crashed")
    (tmp_path / "events.jsonl").write_text(log)
    (tmp_path / "summary.json").write_text(json.dumps({"deployments": {"ner": {"p99_ms": 12.5, "rejected": 3}}}))

    page.set_input_files("#run-file", [str(tmp_path / "events.jsonl"), str(tmp_path / "summary.json")])
    replayed = page.locator('.run-file[data-file="events.jsonl"]')
    expect(replayed.locator('.node[data-node-name="ml-1"]')).to_have_count(0)
    expect(replayed.locator(f'.node[data-node-name="ml-2"] .route[data-deployment="{NER_MODEL}"]')).to_have_attribute(
        "data-state", "starting")
    replayed.locator(".replay-slider").fill(str(crash))  # just before the crash
    expect(replayed.locator(f'.node[data-node-name="ml-1"] .route[data-deployment="{NER_MODEL}"]')).to_have_attribute(
        "data-state", "started")
    expect(replayed.locator('.node[data-node-name="ml-2"] .route')).to_have_count(0)
    summary = page.locator('.run-file[data-file="summary.json"] table')
    expect(summary).to_contain_text("deployments.ner.p99_ms")
    expect(summary).to_contain_text("12.5")


def test_the_tables_show_request_rates_latencies_and_rejections(ui):
    page, url, _ = ui
    call(f"{url}/_sim/traffic/{NER_MODEL}", "POST", {"kind": "constant", "rate": 30})
    for text in ("one", "two"):
        call(f"{url}/_plugins/_ml/_predict/text_embedding/{EMBEDDING_MODEL}", "POST", {"text_docs": [text]})
    page.click('#advance button[data-seconds="60"]')
    page.click('#advance button[data-seconds="60"]')  # a whole minute of traffic behind the clock
    row = page.locator(f'#deployments tr[data-deployment="{NER_MODEL}"]')
    (stats,) = call(f"{url}/_ml/trained_models/{NER_MODEL}/_stats")["trained_model_stats"]
    per_minute = sum(n["throughput_last_minute"] for n in stats["deployment_stats"]["nodes"])
    assert per_minute / 60 == pytest.approx(30, rel=0.01)
    expect(row.locator(".rate")).to_have_text(f"{per_minute / 60:.2f}".rstrip("0").rstrip("."))
    expect(row.locator(".allocations")).to_have_text("1 / 1")
    expect(row.locator(".allocation-status")).to_have_text("fully_allocated")
    expect(row.locator(".rejected")).to_have_text("0")
    assert float(row.locator(".latency").inner_text()) > 0
    # p99 from mlsim's latency bins (the page opened before the traffic, so the watch saw it all).
    watched = call(f"{url}/_sim/latency")["deployments"][NER_MODEL]["last_minute"]["latency_ms"]["p99"]
    expect(row.locator(".p99")).to_have_text(f"{watched:.1f}".rstrip("0").rstrip("."))
    assert float(row.locator(".p99").inner_text()) >= float(row.locator(".latency").inner_text())
    model = page.locator(f'#os-models tr[data-os-model="{EMBEDDING_MODEL}"]')
    expect(model.locator(".count")).to_have_text("2")
    expect(model.locator(".workers")).to_have_text("ml-1, ml-2")
    assert float(model.locator(".p99").inner_text()) > 0
