"""Run every example scenario and save its report's pictures as PNG files for the README:
`python3 -m examples.scenarios.render_figures [DIR]` (default docs/scenarios/)."""

from __future__ import annotations

import sys
from pathlib import Path

from api.scenarios import run_scenario
from api.scenarios.report import save_figures

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("docs/scenarios")
    for path in sorted(HERE.glob("*.yaml")):
        summary = run_scenario(path)
        for written in save_figures(summary, out, path.stem):
            print(written)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
