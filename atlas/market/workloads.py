"""Workloads: the task graphs the market is measured on, and the files
that describe them.

- `cholesky(tiles, tile)`: the tiled right-looking Cholesky factorisation
  (potrf, trsm, syrk, gemm on tile x tile blocks of f64), submitted in the
  sequential loop's order so that the data handles give its DAG.
- `stream(...)`: independent tasks of a mix of kinds and sizes, released
  at random times, and a second mix from some point on (a phase change).

A workload file (YAML) names a platform to simulate and one of these:

    platform:
      units: [{class: cpu, count: 8}, {class: gpu, count: 1}]
      costs:                      # seconds: per call + per element
        gemm: {cpu: [1.0e-6, 2.0e-9], gpu: [1.0e-5, 1.0e-10]}
    cholesky: {tiles: 8, tile: 256}
    # or: stream: {count: 2000, interval: 1.0e-5, mix: [{kind: gemm, size: 1000}], ...}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from ..front.diagnostics import AtlasError
from .sim import HOST, Cost, Platform, UnitSpec
from .tasks import Access, Handle, Task, TaskGraph, Use

CHOLESKY_KINDS = ("potrf", "trsm", "syrk", "gemm")


def cholesky(tiles: int, tile: int, elem_bytes: int = 8) -> TaskGraph:
    """The tiled Cholesky of a (tiles*tile)² matrix, lower triangle; a
    task's size is the tile's element count."""
    g = TaskGraph()
    h = {(i, j): Handle(f"A[{i}][{j}]", tile * tile * elem_bytes) for i in range(tiles) for j in range(i + 1)}
    n = tile * tile
    for k in range(tiles):
        g.submit(Task("potrf", n, (Use(h[k, k], Access.RW),), args=(k, k)))
        for i in range(k + 1, tiles):
            g.submit(Task("trsm", n, (Use(h[k, k], Access.R), Use(h[i, k], Access.RW)), args=(i, k)))
        for i in range(k + 1, tiles):
            g.submit(Task("syrk", n, (Use(h[i, k], Access.R), Use(h[i, i], Access.RW)), args=(i, k)))
            for j in range(k + 1, i):
                g.submit(
                    Task(
                        "gemm",
                        n,
                        (Use(h[i, k], Access.R), Use(h[j, k], Access.R), Use(h[i, j], Access.RW)),
                        args=(i, j, k),
                    )
                )
    return g


@dataclass(frozen=True)
class Mix:
    kind: str
    size: int
    weight: float = 1.0
    elem_bytes: int = 4


def stream(count: int, interval: float, mix: list[Mix], *, after=None, switch: float = 0.5, seed: int = 0) -> TaskGraph:
    """`count` independent tasks drawn from `mix` (from `after` past
    `switch` of them), released with exponential gaps of mean `interval`."""
    rng = np.random.default_rng(seed)
    g = TaskGraph()
    now = 0.0
    first = switched(count, switch)
    for i in range(count):
        pool = after if after is not None and i >= first else mix
        w = np.array([m.weight for m in pool], dtype=float)
        m = pool[int(rng.choice(len(pool), p=w / w.sum()))]
        now += float(rng.exponential(interval))
        data = Handle(f"t{i}", m.size * m.elem_bytes)
        g.submit(Task(m.kind, m.size, (Use(data, Access.RW),), release=now))
    return g


def switched(count: int, switch: float) -> int:
    """The first of `count` tasks that a stream switching at `switch` of
    them draws from its second mix (`count` or more: none does)."""
    return max(0, math.ceil(switch * count))


@dataclass(frozen=True)
class Workload:
    name: str
    platform: Platform
    graph: TaskGraph
    change: int | None = None  # a stream's first task of its second mix (its phase change)


def read_yaml(path: Path):
    """A workload file's YAML, or an AtlasError naming the file (and the
    line and column where the YAML breaks)."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AtlasError(None, f"{path}: cannot read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise AtlasError(None, f"{where}: not a YAML workload: {getattr(exc, 'problem', None) or exc}") from None


def load(path) -> Workload:
    """A workload file, or an AtlasError naming the file and what is wrong."""
    path = Path(path)
    data = read_yaml(path)
    try:
        return _read(path, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise AtlasError(None, f"{path}: {_why(exc)}") from None


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}"
    return str(exc)


def _read(path: Path, data) -> Workload:
    if not isinstance(data, dict):
        raise ValueError("a workload is a mapping with 'platform' and one of 'cholesky' or 'stream'")
    platform = read_platform(data["platform"])
    change = None
    if "cholesky" in data:
        c = data["cholesky"]
        graph = cholesky(int(c["tiles"]), int(c["tile"]))
    elif "stream" in data:
        s = data["stream"]
        count, switch = int(s["count"]), float(s.get("switch", 0.5))
        first = switched(count, switch)
        change = first if "after" in s and first < count else None
        graph = stream(
            count,
            float(s["interval"]),
            [_mix(m) for m in s["mix"]],
            after=[_mix(m) for m in s["after"]] if "after" in s else None,
            switch=switch,
            seed=int(s.get("seed", 0)),
        )
    else:
        raise ValueError("a workload needs 'cholesky' or 'stream'")
    missing = sorted({t.kind for t in graph.tasks} - {k for k, _ in platform.costs})
    if missing:
        raise ValueError(f"the platform gives no cost for {', '.join(missing)}")
    return Workload(str(data.get("name", path.stem)), platform, graph, change)


def _mix(m) -> Mix:
    return Mix(str(m["kind"]), int(m["size"]), float(m.get("weight", 1.0)), int(m.get("elem_bytes", 4)))


def read_platform(p) -> Platform:
    units: list[UnitSpec] = []
    for group in p["units"]:
        klass, count = str(group["class"]), int(group.get("count", 1))
        for i in range(count):
            # CPU cores share the host's memory; any other unit has its own
            node = HOST if klass == "cpu" else max([u.node for u in units], default=HOST) + 1
            units.append(UnitSpec(f"{klass}{sum(1 for u in units if u.klass == klass)}", klass, node))
    costs = {}
    for kind, per_class in p["costs"].items():
        for klass, (per_call, per_element) in per_class.items():
            costs[(str(kind), str(klass))] = Cost(float(per_call), float(per_element))
    return Platform(
        tuple(units),
        costs,
        bandwidth=float(p.get("bandwidth", 12e9)),
        latency=float(p.get("latency", 10e-6)),
        noise=float(p.get("noise", 0.1)),
    )
