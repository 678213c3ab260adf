"""Service-level checks of a scenario: `{deployment_id, <check>: target}` entries, each
measured from the run's summary. A new check is one entry in `CHECKS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from cluster.config import ConfigError, FieldReader, check_known, require_object

from .schema import SloSpec, deployment_reference


@dataclass(frozen=True, slots=True)
class Check:
    """How to read the target (`seconds` takes time values) and measure it in a
    deployment's summary; the check holds when measured <= target."""

    target: str
    measure: Callable[[Mapping[str, Any]], float | None]


def _worst_recovery(deployment: Mapping[str, Any]) -> float | None:
    times = [r["fully_allocated_after_s"] for r in deployment["recoveries"]]
    return None if None in times else max(times, default=0.0)


def _share(*names: str) -> Callable[[Mapping[str, Any]], float | None]:
    def measure(deployment: Mapping[str, Any]) -> float | None:
        requests = deployment["requests"]
        return sum(requests[n] for n in names) / requests["offered"] if requests["offered"] else 0.0

    return measure


CHECKS: dict[str, Check] = {
    # after every timeline event, fully allocated again within the target
    "fully_allocated_within": Check("seconds", _worst_recovery),
    "p50_latency_ms": Check("number", lambda d: d["latency_ms"]["p50"]),
    "p95_latency_ms": Check("number", lambda d: d["latency_ms"]["p95"]),
    "p99_latency_ms": Check("number", lambda d: d["latency_ms"]["p99"]),
    # refused requests (429 queue full, or no allocation to take them) over offered
    "max_rejected_share": Check("number", _share("rejected", "unrouted")),
    "max_timed_out_share": Check("number", _share("timed_out")),
    "max_zero_allocation_s": Check("seconds", lambda d: d["zero_allocation_s"]),
}


def parse_slo(data: Any, where: str, deployment_ids: set[str]) -> list[SloSpec]:
    """One entry: a deployment and one or more checks with their targets."""
    fields = require_object(data, where)
    check_known(fields, ("deployment_id", *CHECKS), where)
    deployment_id = deployment_reference(fields, where, deployment_ids)
    read = FieldReader(fields, where)
    names = [name for name in CHECKS if name in fields]
    if not names:
        raise ConfigError(f"{where}: needs at least one check of {list(CHECKS)}")
    specs = []
    for name in names:
        target = read.seconds(name) if CHECKS[name].target == "seconds" else read.number(name)
        if target < 0:
            raise ConfigError(f"{where}.{name}: must not be negative")
        specs.append(SloSpec(deployment_id, name, float(target)))
    return specs


def evaluate(specs: tuple[SloSpec, ...], deployments: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per check; a check with nothing measured (no request completed, never
    recovered, deployment never started) fails."""
    rows = []
    for spec in specs:
        summary = deployments.get(spec.deployment_id)
        measured = CHECKS[spec.check].measure(summary) if summary is not None else None
        if measured is not None:
            measured = round(float(measured), 6)
        rows.append({
            "deployment_id": spec.deployment_id, "check": spec.check, "target": spec.target, "measured": measured,
            "ok": measured is not None and measured <= spec.target,
        })
    return rows
