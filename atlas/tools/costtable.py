"""`atlas costs`: the cost table the compile weighs terms by, as a reader
wants to see it (atlas/logic/costs.py holds the table, and
atlas/superopt/costmodel.py measures it)."""

from __future__ import annotations

from ..logic.costs import OPS, TYPES, VECTOR_TYPES, CostTable, has_vector, is_measured


def _figure(v: float | None, places: int = 2) -> str:
    return "-" if v is None else f"{v:.{places}f}"


def render(table: CostTable, cache: str | None = None) -> str:
    """The table in three parts: where it comes from, each operation's
    latency and reciprocal throughput at each scalar type, and, where it
    was measured, each operation's time per element in a vectorised loop
    at each integer width."""
    out = [f"cost table: {table.source}"]
    if table.ns_per_unit is not None:
        out.append(f"unit: this machine's 64-bit add latency, {table.ns_per_unit:.3g} ns")
    if cache:
        out.append(f"cached in {cache}")
    out += ["", "latency / reciprocal throughput, run once or side by side:", ""]
    out.append("| op | " + " | ".join(t.name for t in TYPES) + " |")
    out.append("|---|" + "--:|" * len(TYPES))
    for op in OPS:
        cells = [table.cost(op, t) for t in TYPES]
        out.append(f"| {op} | " + " | ".join(f"{_figure(c.latency)} / {_figure(c.throughput)}" for c in cells) + " |")
    if not table.vector:
        why = "the static hints have none" if not is_measured(table) else "this table has none"
        out += ["", f"time per element in a vectorised loop: {why}"]
        return "\n".join(out) + "\n"
    out += [
        "",
        "time per element in a vectorised loop (a term in a map costs the lesser of these and its throughputs):",
        "",
    ]
    out.append("| op | " + " | ".join(t.name for t in VECTOR_TYPES) + " |")
    out.append("|---|" + "--:|" * len(VECTOR_TYPES))
    for op in OPS:
        lanes = [table.vector_cost(op, t) if has_vector(op, t) else None for t in VECTOR_TYPES]
        out.append(f"| {op} | " + " | ".join(_figure(v, 3) for v in lanes) + " |")
    return "\n".join(out) + "\n"
