"""`atlas market bench-cluster`: the market across machines, each figure
beside its yardstick measured in the same run.

- overhead: empty tasks per second through the market on Ray (a daemon
  actor per core of a Ray instance on this machine), with batches of 1,
  8 and 64 tasks a call, beside the embedded market on the same cores and
  beside plain Ray (remote functions, and calls to one actor per core,
  with no market);
- the tiled Cholesky through both markets, checked against numpy;
- scale, in the simulator: 16, 64 and 256 machines of two cores running a
  tiled Cholesky whose tile kernels cost what they cost here (the history
  of the embedded run), each task on another machine paying Ray's
  measured call cost shared over its batch, data over an assumed 10 Gb/s
  link: eager, dmda, the market with the hand-written selector and with
  selectors evolved on the smallest platform; and the scheduler's own time
  per task (policy, dispatcher, the simulator's events) as machines grow."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..machine import nodes
from ..market import cluster, daemons, dispatch, evolve, execute, policies, sim, workloads
from ..market.models import PerfModel
from ..market.selector import HAND_WRITTEN, Selector
from ..pipeline import compile_files

CHOLESKY = Path(__file__).resolve().parents[2] / "intents" / "market" / "cholesky.ax"
NOP = "// an empty task: the market's own cost per task\nfn nop(n: u64) {\n}\n"
BATCHES = (1, 8, 64)
MACHINES = (16, 64, 256)
CORES_EACH = 2
LINK = 1.25e9  # bytes/s: 10 Gb/s Ethernet, an assumption (this machine has no link to measure)
SCALE_POLICIES = ("eager", "dmda", "market", "evolved")


@dataclass
class Figures:
    cores: int = 0
    tasks: int = 0
    ray_version: str = ""
    plain_task_per_s: float = 0.0  # ray.remote functions, all submitted, then gathered
    plain_actor_per_s: float = 0.0  # calls spread over one actor per core
    call_us: float = 0.0  # one actor call's round trip, median
    embedded_per_s: float = 0.0
    market_per_s: dict[int, float] = field(default_factory=dict)  # tasks a call -> tasks/s
    cholesky: dict[str, dict[str, float]] = field(default_factory=dict)  # market -> makespan_ms, error
    cholesky_size: tuple[int, int] = (0, 0)
    scale_tiles: dict[int, int] = field(default_factory=dict)  # machines -> tiles a side
    scale_tasks: dict[int, int] = field(default_factory=dict)  # machines -> tasks of its graph
    scale: dict[int, dict[str, float]] = field(default_factory=dict)  # machines -> policy -> makespan ms
    scheduler_us: dict[int, dict[str, float]] = field(default_factory=dict)  # machines -> policy -> us a task
    evolved_text: dict[str, str] = field(default_factory=dict)


def _nop(i):
    return None


class _Nop:
    def nop(self, i):
        return None


def plain_ray(n: int, cores: int) -> tuple[float, float, float]:
    """Tasks per second of plain remote functions and of actor calls, and
    one actor call's round trip (µs)."""
    ray = nodes.ray_module()

    nop = ray.remote(_nop)
    actor: Any = ray.remote(num_cpus=0)(_Nop)
    ray.get([nop.remote(i) for i in range(100)])  # workers up
    t0 = time.perf_counter()
    ray.get([nop.remote(i) for i in range(n)])
    tasks = n / (time.perf_counter() - t0)
    actors = [actor.remote() for _ in range(cores)]
    ray.get([a.nop.remote(0) for a in actors])
    t0 = time.perf_counter()
    ray.get([actors[i % cores].nop.remote(i) for i in range(n)])
    calls = n / (time.perf_counter() - t0)
    trips = []
    for i in range(200):
        t0 = time.perf_counter()
        ray.get(actors[0].nop.remote(i))
        trips.append(time.perf_counter() - t0)
    for a in actors:
        ray.kill(a)
    return tasks, calls, statistics.median(trips) * 1e6


def _nops(m, n: int) -> float:
    for i in range(n):
        m.submit("nop", i)
    out = m.run(policies.Eager())
    assert not out.failed
    return n / out.run.makespan


def _cholesky(m, n: int, tile: int, model: PerfModel) -> tuple[dict[str, float], PerfModel]:
    job = execute.Cholesky.submit(m, execute.spd(n, 0), tile)
    out = m.run(policies.Dmda(), model=model)
    err = job.error() if not out.failed else float("nan")
    return {"makespan_ms": out.run.makespan * 1e3, "error": err}, out.run.model


def scale_platform(machines: int, model: PerfModel, tile: int, call: float, batch: int) -> sim.Platform:
    """`machines` of CORES_EACH cores; the market's own machine is class
    cpu, the others class ray (their tasks pay a call over its batch)."""
    units = tuple(
        sim.UnitSpec(f"m{k}.cpu{c}", "cpu" if k == 0 else "ray", k) for k in range(machines) for c in range(CORES_EACH)
    )
    costs = {}
    for kind in workloads.CHOLESKY_KINDS:
        seconds = model.predict(kind, tile * tile, "cpu")
        assert seconds is not None, f"no history for {kind}"
        per = seconds / (tile * tile)
        costs[(kind, "cpu")] = sim.Cost(0.0, per)
        costs[(kind, "ray")] = sim.Cost(call / batch, per)
    return sim.Platform(units, costs, bandwidth=LINK, latency=call, noise=0.1)


def tiles_for(machines: int) -> int:
    """Tiles a side so that the graph has work for every unit: about
    T^3 / 6 tasks, some ten a unit at the smallest scale."""
    return {16: 12, 64: 20, 256: 32}.get(machines, 12)


def scale(f: Figures, model: PerfModel, tile: int, call: float, generations: int, population: int, log) -> None:
    hand = Selector.parse(HAND_WRITTEN)
    classes = {"cpu": hand, "ray": hand}
    small = scale_platform(MACHINES[0], model, tile, call, 8)
    g0 = workloads.cholesky(tiles_for(MACHINES[0]), tile)
    log(f"evolving selectors on {MACHINES[0]} simulated machines")
    recorded = sim.simulate(g0, small, policies.Market(classes), dispatch.Dispatcher(), seed=0)
    ev = evolve.evolve(recorded, generations=generations, population=population, start=classes)
    f.evolved_text = {k: s.text for k, s in ev.selectors.items()}
    for machines in MACHINES:
        plat = scale_platform(machines, model, tile, call, 8)
        tiles = tiles_for(machines)
        f.scale_tiles[machines] = tiles
        g = workloads.cholesky(tiles, tile)
        f.scale_tasks[machines] = len(g)
        log(f"{machines} simulated machines: {len(g)} tasks on {len(plat.units)} units")
        f.scale[machines], f.scheduler_us[machines] = {}, {}
        for name in SCALE_POLICIES:
            pol = policies.by_name(name, classes) if name != "evolved" else policies.Market(ev.selectors, name=name)
            t0 = time.process_time()
            r = sim.simulate(g, plat, pol, dispatch.Dispatcher(), seed=7)
            f.scheduler_us[machines][name] = (time.process_time() - t0) / len(g) * 1e6
            f.scale[machines][name] = r.makespan * 1e3


def run(probe, *, tasks: int, n: int, tile: int, generations: int, population: int, log) -> Figures:
    ray = nodes.ray_module()  # or a ClusterError saying how to install it
    cores = sorted(os.sched_getaffinity(0))
    f = Figures(cores=len(cores), tasks=tasks, ray_version=ray.__version__, cholesky_size=(n, tile))
    with tempfile.TemporaryDirectory(prefix="atlas-cluster-bench-") as tmp:
        src = Path(tmp) / "nop.ax"
        src.write_text(NOP)
        paths = [src, CHOLESKY]
        log("compiling the kernels here (the embedded market)")
        compile_files([str(p) for p in paths], probe, Path(tmp) / "kernels")
        log(f"{tasks} empty tasks through the embedded market on {len(cores)} core(s)")
        with daemons.Market(cores) as m:
            m.register(Path(tmp) / "kernels")
            f.embedded_per_s = _nops(m, tasks)
        with daemons.Market(cores) as m:
            m.register(Path(tmp) / "kernels")
            f.cholesky["embedded"], model = _cholesky(m, n, tile, PerfModel())
        log("a Ray instance on this machine")
        ray.init(num_cpus=len(cores), include_dashboard=False, log_to_driver=False)
        try:
            f.plain_task_per_s, f.plain_actor_per_s, f.call_us = plain_ray(tasks, len(cores))
            inst = cluster.install(paths, say=log)
            try:
                for batch in BATCHES:
                    log(f"{tasks} empty tasks through the market on Ray, {batch} a call")
                    with cluster.Market(inst, prefetch=batch - 1) as rm:
                        f.market_per_s[batch] = _nops(rm, tasks)
                with cluster.Market(inst) as rm:
                    f.cholesky["ray"], _ = _cholesky(rm, n, tile, PerfModel())
            finally:
                inst.close()
        finally:
            ray.shutdown()
    scale(f, model, tile, f.call_us * 1e-6, generations, population, log)
    return f


def render(f: Figures) -> str:
    out = [
        f"empty tasks, {f.tasks} through each, {f.cores} core(s), Ray {f.ray_version}:",
        f"  plain Ray remote functions   {f.plain_task_per_s:>9.0f} tasks/s",
        f"  plain Ray actor calls        {f.plain_actor_per_s:>9.0f} tasks/s  (a call's round trip {f.call_us:.0f} us)",
        f"  embedded market (processes)  {f.embedded_per_s:>9.0f} tasks/s",
    ]
    for batch, rate in f.market_per_s.items():
        ratio = rate / f.plain_actor_per_s
        out.append(f"  market on Ray, {batch:>2} a call     {rate:>9.0f} tasks/s  ({ratio:.2f}x actor calls)")
    n, tile = f.cholesky_size
    out += ["", f"the tiled Cholesky {n}x{n}, {tile}x{tile} tiles, dmda, {f.cores} core daemon(s):"]
    for where, r in f.cholesky.items():
        out.append(f"  {where:<9} {r['makespan_ms']:>9.1f} ms, factor within {r['error']:.1e} of numpy's")
    out += ["", f"simulated machines of {CORES_EACH} cores, Cholesky tiles of {tile}, 10 Gb/s links (makespan, ms):"]
    head = " ".join(f"{p:>10}" for p in SCALE_POLICIES)
    out.append(f"  {'machines':>8} {'tasks':>7} {head}   scheduling us/task")
    for machines, row in f.scale.items():
        tasks = f.scale_tasks[machines]
        cost = " ".join(f"{f.scheduler_us[machines][p]:.0f}" for p in SCALE_POLICIES)
        out.append(f"  {machines:>8} {tasks:>7} " + " ".join(f"{row[p]:>10.1f}" for p in SCALE_POLICIES) + f"   {cost}")
    return "\n".join(out)


def as_json(f: Figures) -> dict:
    d = asdict(f)
    d["numpy"] = np.__version__
    return d
