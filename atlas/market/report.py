"""What a run did, for people: the report's figures, as a table and as
JSON, and a Chrome-trace (Perfetto) timeline of every task on every unit."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from .sim import Run


@dataclass(frozen=True)
class UnitReport:
    name: str
    klass: str
    tasks: int
    busy_s: float
    idle_s: float
    earnings: float
    kinds: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    policy: str
    tasks: int
    makespan_s: float
    throughput_per_s: float
    latency_p50_s: float
    latency_p95_s: float
    earnings: float
    decisions: int
    units: list[UnitReport]

    def to_json(self) -> dict:
        return asdict(self)


def report(run: Run) -> Report:
    makespan = run.makespan
    latency = (
        np.array([t.end - task.release for t, task in zip(run.times, run.graph.tasks)]) if run.times else np.zeros(1)
    )
    units = []
    for u in run.units:
        mine = [task.kind for t, task in zip(run.times, run.graph.tasks) if t.unit == u.index]
        units.append(
            UnitReport(
                u.spec.name,
                u.spec.klass,
                len(mine),
                u.busy,
                max(0.0, makespan - u.busy),
                u.earnings,
                dict(sorted(Counter(mine).items())),
            )
        )
    return Report(
        run.policy,
        len(run.graph),
        makespan,
        len(run.graph) / makespan if makespan > 0 else 0.0,
        float(np.percentile(latency, 50)),
        float(np.percentile(latency, 95)),
        run.earnings,
        run.decisions,
        units,
    )


def _ms(s: float) -> str:
    return f"{s * 1e3:.2f} ms"


def table(reports: list[Report]) -> str:
    """The policies side by side, then each unit of the first."""
    head = f"{'policy':<10} {'makespan':>12} {'tasks/s':>10} {'p50 latency':>12} {'p95 latency':>12} {'earnings':>12}"
    lines = [head, "-" * len(head)]
    for r in reports:
        lines.append(
            f"{r.policy:<10} {_ms(r.makespan_s):>12} {r.throughput_per_s:>10.0f} {_ms(r.latency_p50_s):>12} "
            f"{_ms(r.latency_p95_s):>12} {r.earnings:>12.0f}"
        )
    for r in reports:
        lines += ["", f"units under {r.policy}:"]
        for u in r.units:
            kinds = ", ".join(f"{k} {n}" for k, n in u.kinds.items())
            lines.append(
                f"  {u.name:<7} {u.tasks:>6} tasks  busy {_ms(u.busy_s):>11}  idle {_ms(u.idle_s):>11}  "
                f"earned {u.earnings:>10.0f}  {kinds}"
            )
    return "\n".join(lines)


def trace(run: Run) -> str:
    """The run as Chrome-trace JSON: a track per unit, a slice per task
    (its transfer, then its run), times in microseconds."""
    events: list[dict] = [
        {"ph": "M", "pid": 1, "tid": u.index, "name": "thread_name", "args": {"name": u.spec.name}} for u in run.units
    ]
    events.append({"ph": "M", "pid": 1, "name": "process_name", "args": {"name": f"market ({run.policy})"}})
    for t, task in zip(run.times, run.graph.tasks):
        if t.transfer > 0:
            events.append(
                {
                    "ph": "X",
                    "pid": 1,
                    "tid": t.unit,
                    "name": "transfer",
                    "cat": "transfer",
                    "ts": t.start * 1e6,
                    "dur": t.transfer * 1e6,
                }
            )
        events.append(
            {
                "ph": "X",
                "pid": 1,
                "tid": t.unit,
                "name": task.kind,
                "cat": "task",
                "ts": (t.start + t.transfer) * 1e6,
                "dur": (t.end - t.start - t.transfer) * 1e6,
                "args": {"task": task.ident, "size": task.size, "reward": t.reward, "earned": t.earnings},
            }
        )
    return json.dumps({"traceEvents": events, "displayTimeUnit": "ms"})
