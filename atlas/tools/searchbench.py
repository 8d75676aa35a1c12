"""`atlas bench-search`: the search against random sampling of the same
budget, on the benchmark's kernels and the unseen family kernels.

Each kernel is searched twice from an empty archive, with the same number
of measured variants and no other limit that binds (no plateau stop, a
time budget far beyond what the measurements take): once by the genetic
search with its learned cost model screening the children, once by
drawing genomes uniformly from the same space.  Each champion is then
confirmed as every search's is, in rounds side by side with the default
variant, so the two speedups are each measured against the default in the
same run as the champion.  The table says, per kernel, what each strategy
found, how many genomes it considered, how many the model ranked and how
many were measured.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from ..machine.probe import Probe
from .bench import FAMILY_SUITE, TEN, BenchError, Kernel, Suite, compile_atlas


@dataclass(frozen=True)
class Found:
    """One strategy's search of one kernel."""

    speedup: float  # the confirmed champion over the default variant (1.0: nothing faster was confirmed)
    genome: str
    measured: int
    considered: int
    screened: int
    seconds: float
    space: int | None


@dataclass
class Row:
    kernel: str
    suite: str
    found: dict[str, Found] = field(default_factory=dict)

    def ratio(self) -> float | None:
        """The genetic search's speedup over random sampling's."""
        g, r = self.found.get("genetic"), self.found.get("random")
        return None if g is None or r is None else g.speedup / r.speedup


def _kernels(only) -> list[tuple[Kernel, Suite]]:
    out = [(k, s) for s in (TEN, FAMILY_SUITE) for k in s.kernels]
    if only:
        known = {k.name for k, _ in out}
        unknown = sorted(set(only) - known)
        if unknown:
            raise BenchError(f"unknown kernel(s): {', '.join(unknown)} (kernels: {', '.join(sorted(known))})")
        out = [(k, s) for k, s in out if k.name in only]
    return out


def search_once(probe: Probe, kernel: Kernel, suite: Suite, options) -> Found:
    """Compile one kernel as `atlas bench` does (on its profile where it has
    one) with the search on `options`, in a scratch folder and a scratch
    archive; what its summary says."""
    with tempfile.TemporaryDirectory(prefix="atlas-bench-search-") as tmp:
        options = replace(options, archive_path=str(Path(tmp) / "archive.sqlite3"), reuse=False)
        _, _, s = compile_atlas(kernel, probe, Path(tmp), suite.intents, search=options)
    if s is None:
        raise RuntimeError(f"{kernel.name}: the compile made no search")
    return Found(s.speedup or 1.0, s.genome, s.evaluations, s.considered, s.screened, s.seconds or 0.0, s.space)


def run(probe: Probe, evals: int = 32, seed: int = 0, only=(), log: Callable[[str], None] = print) -> list[Row]:
    from ..search.explode import STRATEGIES, Options

    rows = []
    for kernel, suite in _kernels(only):
        row = Row(kernel.name, suite.name)
        for strategy in STRATEGIES:
            options = Options(
                budget_s=60.0 + 10.0 * evals,  # the measurements bind, not the clock
                max_evals=evals,
                plateau=10**6,
                seed=seed,
                strategy=strategy,
            )
            row.found[strategy] = f = search_once(probe, kernel, suite, options)
            log(f"{kernel.name}: {strategy}: {f.speedup:.3f}x ({f.genome}), {f.measured} measured in {f.seconds:.0f} s")
        rows.append(row)
    return rows


def geomean(values) -> float | None:
    vs = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in vs) / len(vs)) if vs else None


def render(rows: list[Row], evals: int) -> str:
    lines = [
        f"The search against random sampling, {evals} measured variants each "
        "(speedup: the confirmed champion over the default variant, same run)",
        "",
        "| kernel | space | genetic | its champion | bred | ranked by the model "
        "| random | its champion | genetic/random |",
        "|---|--:|--:|---|--:|--:|--:|---|--:|",
    ]
    for r in rows:
        g, x = r.found["genetic"], r.found["random"]
        ratio = r.ratio()
        lines.append(
            f"| {r.kernel} | {g.space or ''} | {g.speedup:.2f} | {g.genome} | {g.considered} | {g.screened} "
            f"| {x.speedup:.2f} | {x.genome} | {'' if ratio is None else f'{ratio:.2f}'} |"
        )
    gg = geomean(r.found["genetic"].speedup for r in rows)
    gr = geomean(r.found["random"].speedup for r in rows)
    if gg and gr:
        lines.append(f"| geometric mean | | {gg:.3f} | | | | {gr:.3f} | | {gg / gr:.3f} |")
    return "\n".join(lines)


def to_json(rows: list[Row]) -> list[dict]:
    return [{"kernel": r.kernel, "suite": r.suite, **{s: asdict(f) for s, f in r.found.items()}} for r in rows]
