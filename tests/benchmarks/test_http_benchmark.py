"""The HTTP benchmark end to end, short: both servers, the aiohttp-client load generator (the
fallback when wrk is missing), every row with numbers for mlsim and for the bare app."""

from __future__ import annotations

import json

from benchmarks import http


def test_every_case_compares_mlsim_with_the_bare_app(tmp_path) -> None:
    out = tmp_path / "http.json"
    argv = ["--quick", "--seconds", "0.5", "--modes", "optimal", "--update-nodes", "10", "--generator", "aiohttp",
            "--json", str(out)]
    assert http.main(argv) == 0
    result = json.loads(out.read_text())
    rows = {row["case"]: row for row in result["rows"]}
    assert result["generator"] == "aiohttp"
    assert sorted(rows) == sorted([c.name for c in http.demo_cases()] + ["_update +1 [optimal]", "_update -1 [optimal]"])
    for row in rows.values():
        assert row["mlsim_errors"] == 0
        assert row["mlsim_rps"] > 0 and row["bare_rps"] > 0 and row["ratio"] > 0
        assert 0 < row["mlsim_p50_ms"] <= row["mlsim_p99_ms"]
    assert rows["_update +1 [optimal]"]["planner_ms_p50"] > 0
