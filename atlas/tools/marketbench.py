"""`atlas market bench`: the market's figures, each beside its yardstick
measured in the same run.

- bookkeeping: the cost of one record at the record site (Ledger.append),
  over a million records;
- overhead: empty tasks through the daemons of this machine, per task,
  beside StarPU's `async_tasks_overhead` on as many workers, where StarPU
  is installed (`apt-get install starpu-examples`);
- scheduling in the simulator: the shipped simulated workloads under every
  policy, the market with the hand-written selector and with selectors
  evolved on a recorded run (seed 0) and judged on other seeds; the
  64-unit platform's evolution is smaller (half the generations and the
  population, two replay seeds: a run there takes seconds), and it is
  judged also with the selectors evolved for the 9-unit one, which never
  saw it; beside each, the length no schedule of the mean run times beats;
- the tiled Cholesky run for real on this machine's cores, checked against
  numpy, under eager, dmda and the market; beside it StarPU's
  `cholesky_implicit` (its BLAS tile kernels, so only its scheduling is
  comparable) under eager and dmda."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..market import daemons, dispatch, evolve, execute, models, policies, sim, workloads
from ..market.records import DONE, Ledger
from ..market.selector import HAND_WRITTEN, Selector
from ..pipeline import compile_files

STARPU = Path("/usr/lib/x86_64-linux-gnu/starpu/examples")
POLICY_ORDER = ("eager", "random", "ws", "dmda", "market", "evolved")
ELSEWHERE = "evolved elsewhere"  # a row of a workload judged also with another's selectors


@dataclass
class Figures:
    record_ns: float = 0.0
    empty_task_us: float = 0.0  # the adaptive window (the default: session.AHEAD, session.HORIZON)
    empty_task_us_one_ahead: float = 0.0  # daemons holding one task ahead (prefetch 1, the default before)
    empty_task_us_waiting: float = 0.0  # daemons that wait for the market between tasks (prefetch 0)
    empty_task_us_batched: float = 0.0  # daemons holding up to BATCHED tasks ahead, refilled in rounds
    starpu_task_us: float | None = None
    workers: int = 0
    simulated: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # workload -> policy -> figures
    evolved_text: dict[str, dict[str, str]] = field(default_factory=dict)  # workload -> class -> selector
    evolution: dict[str, dict[str, float]] = field(default_factory=dict)  # workload -> replay earnings
    judged_with: dict[str, str] = field(default_factory=dict)  # workload -> the other workload also judged with
    bound_ms: dict[str, float] = field(default_factory=dict)  # workload -> no schedule of the mean times is shorter
    real: dict[str, dict[str, float]] = field(default_factory=dict)  # policy -> makespan, error
    # a stream with a phase change: workload -> policy -> the rate each window of WINDOW tasks from
    # the change was served at (tasks/s, mean of the seeds), and from how many tasks after the change
    # every window is within 10% of the best policy's (None: not before the stream ends)
    phase: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    recovered: dict[str, dict[str, int | None]] = field(default_factory=dict)
    starpu_cholesky_ms: dict[str, float] = field(default_factory=dict)
    real_size: tuple[int, int] = (0, 0)


def record_cost(n: int = 1_000_000) -> float:
    """Nanoseconds per Ledger.append, the loop's own cost taken off."""
    led = Ledger(1 << 16)
    ap = led.append
    t0 = time.perf_counter_ns()
    for i in range(n):
        ap(1, 0, DONE, i, 1.0, 2.0, 3.0, 4.0, 64)
    t1 = time.perf_counter_ns()
    for i in range(n):
        pass
    t2 = time.perf_counter_ns()
    return ((t1 - t0) - (t2 - t1)) / n


BATCHED = (32, 16)  # prefetch, refill: what a stream of tiny tasks is run with


def empty_tasks(
    probe, cores: list[int], n: int, where: Path, prefetch: int | None = None, refill: int | None = None
) -> float:
    """Microseconds per empty task through the market (eager), daemons up."""
    src = where / "nop.ax"
    if not (where / "nop").exists():
        src.write_text("// an empty task: the market's own cost per task\nfn nop(n: u64) {\n}\n")
        compile_files([str(src)], probe, where / "nop", search=None)
    with daemons.Market(cores, prefetch=prefetch, refill=refill) as m:
        m.register(where / "nop")
        for i in range(n):
            m.submit("nop", i)
        out = m.run(policies.Eager())
    return out.run.makespan / n * 1e6


def starpu_overhead(workers: int, n: int) -> float | None:
    exe = STARPU / "async_tasks_overhead"
    if not exe.exists():
        return None
    env = dict(os.environ, STARPU_NCPU=str(workers), STARPU_NCUDA="0", STARPU_NOPENCL="0")
    done = subprocess.run([str(exe), "-i", str(n)], capture_output=True, text=True, env=env, timeout=600)
    m = re.search(r"Per task: ([0-9.]+) usecs", done.stdout + done.stderr)
    return float(m.group(1)) if m else None


def starpu_cholesky(workers: int, size: int, blocks: int, sched: str) -> float | None:
    exe = STARPU / "cholesky_implicit"
    if not exe.exists():
        return None
    env = dict(os.environ, STARPU_NCPU=str(workers), STARPU_SCHED=sched, STARPU_NCUDA="0", STARPU_NOPENCL="0")
    times = []
    for _ in range(3):  # the first runs calibrate dmda's models
        out = subprocess.run(
            [str(exe), "-size", str(size), "-nblocks", str(blocks)],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        ).stdout
        rows = [line.split() for line in out.splitlines() if line and line[0].isdigit()]
        if rows:
            times.append(float(rows[-1][1]))
    return times[-1] if times else None


def simulated(
    path: Path,
    seeds: list[int],
    figures: Figures,
    evolution: Evolution,
    log,
    also: str | None = None,
) -> None:
    """Every policy on the workload at `path`, over the judging `seeds`, the
    evolved selectors evolved on the replay of its seed-0 run; with
    `also`, a row more for the selectors evolved for that other workload
    (judged on a platform they never saw)."""
    w = workloads.load(path)
    hand = Selector.parse(HAND_WRITTEN)
    classes = w.platform.classes()
    figures.bound_ms[w.name] = lower_bound(w) * 1e3
    recorded = sim.simulate(
        w.graph, w.platform, policies.Market({k: hand for k in classes}), dispatch.Dispatcher(), seed=0
    )
    log(f"{w.name}: evolving selectors on the seed-0 run's replay")
    ev = evolve.evolve(
        recorded,
        generations=evolution.generations,
        population=evolution.population,
        seeds=evolution.seeds,
        start={k: hand for k in classes},
    )
    figures.evolved_text[w.name] = {k: s.text for k, s in ev.selectors.items()}
    figures.evolution[w.name] = {
        "replay_initial": ev.initial,
        "replay_first_generation": ev.history[0],
        "replay_evolved": ev.earnings,
        "generations": evolution.generations,
        "population": evolution.population,
        "replay_seeds": len(evolution.seeds),
    }
    judged: dict[str, dict[str, Selector] | None] = {name: None for name in POLICY_ORDER}
    if also is not None:
        texts = figures.evolved_text[also]
        judged[ELSEWHERE] = {k: Selector.parse(texts[k], f"<selector evolved on {also}>") for k in classes}
        figures.judged_with[w.name] = also
    rows: dict[str, dict[str, list[float]]] = {}
    rates: dict[str, list[list[float]]] = {}
    for s in seeds:
        for name, other in judged.items():
            if other is not None:
                pol: policies.Policy = policies.Market(other, name=name)
            elif name == "evolved":
                pol = policies.Market(ev.selectors, name="evolved")
            else:
                pol = policies.by_name(name, {k: hand for k in classes})
            r = sim.simulate(w.graph, w.platform, pol, dispatch.Dispatcher(), seed=s)
            lat = [t.end - task.release for t, task in zip(r.times, w.graph.tasks)]
            late = sorted(lat[len(lat) // 2 :])  # a stream's second half: after its phase change
            lat.sort()
            got = rows.setdefault(name, {"makespan_ms": [], "earnings": [], "p95_ms": [], "p95_second_half_ms": []})
            got["makespan_ms"].append(r.makespan * 1e3)
            got["earnings"].append(r.earnings)
            got["p95_ms"].append(lat[int(0.95 * (len(lat) - 1))] * 1e3)
            got["p95_second_half_ms"].append(late[int(0.95 * (len(late) - 1))] * 1e3)
            if w.change is not None:
                rates.setdefault(name, []).append(served(r, w.change))
    figures.simulated[w.name] = {p: {k: statistics.mean(v) for k, v in fig.items()} for p, fig in rows.items()}
    if rates:
        mean = {p: [statistics.mean(col) for col in zip(*per_seed)] for p, per_seed in rates.items()}
        figures.phase[w.name] = mean
        figures.recovered[w.name] = {p: recovery(mean, p) for p in mean}


WINDOW = 250  # tasks, in release order, of the phase change's windows


def served(run: sim.Run, start: int) -> list[float]:
    """The rate (tasks/s) at which each window of WINDOW tasks from `start`
    on, in release order, was served: its tasks over the time from the
    first one's release to the last end among them."""
    tasks = run.graph.tasks
    out = []
    for a in range(start, len(tasks) - WINDOW + 1, WINDOW):
        span = max(run.times[i].end for i in range(a, a + WINDOW)) - tasks[a].release
        out.append(WINDOW / span)
    return out


def recovery(rates: dict[str, list[float]], policy: str) -> int | None:
    """How many tasks after the change `policy` serves every window from
    within 10% of the best policy's rate in that window; None if the
    stream ends first."""
    mine = rates[policy]
    ok = [mine[i] >= 0.9 * max(r[i] for r in rates.values()) for i in range(len(mine))]
    return next((i * WINDOW for i in range(len(ok)) if all(ok[i:])), None)


@dataclass(frozen=True)
class Evolution:
    """How much evolution a workload gets: generations, population, and
    the seeds of the replays each candidate is scored on."""

    generations: int
    population: int
    seeds: tuple[int, ...] = evolve.REPLAY_SEEDS

    def smaller(self) -> "Evolution":
        return Evolution(max(1, self.generations // 2), max(4, self.population // 2), self.seeds[:2])


def lower_bound(w: workloads.Workload) -> float:
    """Seconds no schedule of the workload's mean run times beats: the
    longest path from a task's release to the end (each task on its
    fastest class), or its work spread over the units, whichever is
    longer; transfers left out (dispatch.area)."""
    state = sim.State(w.graph, w.platform, models.PerfModel(), dispatch.Dispatcher())
    levels = w.graph.bottom_levels(w.platform.nominals(w.graph.tasks))
    path = max((t.release + lv for t, lv in zip(w.graph.tasks, levels)), default=0.0)
    return max(path, dispatch.area(state))


def real_cholesky(probe, cores: list[int], n: int, tile: int, where: Path, figures: Figures) -> None:
    src = Path(__file__).resolve().parents[2] / "intents" / "market" / "cholesky.ax"
    compile_files([str(src)], probe, where / "chol", search=None)
    matrix = execute.spd(n, 0)
    hand = Selector.parse(HAND_WRITTEN)
    figures.real_size = (n, tile)
    for name in ("eager", "dmda", "market"):
        pol = policies.by_name(name, {"cpu": hand})
        with daemons.Market(cores) as m:
            m.register(where / "chol")
            job = execute.Cholesky.submit(m, matrix, tile)
            out = m.run(pol)
            figures.real[name] = {
                "makespan_ms": out.run.makespan * 1e3,
                "error": job.error() if not out.failed else float("nan"),
                "failed": float(len(out.failed)),
            }


def run(probe, *, seeds: int, generations: int, population: int, n: int, tile: int, tasks: int, log) -> Figures:
    cores = sorted(os.sched_getaffinity(0))
    f = Figures(workers=len(cores))
    log("the record site")
    f.record_ns = record_cost()
    with tempfile.TemporaryDirectory(prefix="atlas-market-bench-") as tmp:
        log(f"{tasks} empty tasks through the daemons and through StarPU, three times each, alternating")
        runs: dict[str, list[float]] = {"waiting": [], "one": [], "default": [], "batched": [], "starpu": []}
        for _ in range(3):
            runs["waiting"].append(empty_tasks(probe, cores, tasks, Path(tmp), prefetch=0))
            runs["one"].append(empty_tasks(probe, cores, tasks, Path(tmp), prefetch=1))
            runs["default"].append(empty_tasks(probe, cores, tasks, Path(tmp)))
            runs["batched"].append(empty_tasks(probe, cores, tasks, Path(tmp), *BATCHED))
            if (us := starpu_overhead(len(cores), tasks)) is not None:
                runs["starpu"].append(us)
        f.empty_task_us_waiting = statistics.median(runs["waiting"])
        f.empty_task_us = statistics.median(runs["default"])
        f.empty_task_us_one_ahead = statistics.median(runs["one"])
        f.empty_task_us_batched = statistics.median(runs["batched"])
        f.starpu_task_us = statistics.median(runs["starpu"]) if runs["starpu"] else None
        root = Path(__file__).resolve().parents[2] / "workloads"
        judging = list(range(11, 11 + seeds))
        evolution = Evolution(generations, population)
        for name in ("cholesky-hetero.yaml", "stream-phase.yaml"):
            simulated(root / name, judging, f, evolution, log)
        log("cholesky-64: 64 units, judged also with the selectors evolved on cholesky-hetero")
        simulated(root / "cholesky-64.yaml", judging, f, evolution.smaller(), log, also="cholesky-hetero")
        log(f"the tiled Cholesky, {n}x{n} in {tile}x{tile} tiles, on {len(cores)} core daemon(s)")
        real_cholesky(probe, cores, n, tile, Path(tmp), f)
        for sched in ("eager", "dmda"):
            ms = starpu_cholesky(len(cores), n, n // tile, sched)
            if ms is not None:
                f.starpu_cholesky_ms[sched] = ms
    return f


def render(f: Figures) -> str:
    out = [
        f"bookkeeping: {f.record_ns:.0f} ns per record at the record site (1,000,000 records)",
        f"overhead per empty task, {f.workers} worker(s), the median of three runs each:"
        f" Atlas's market {f.empty_task_us:.1f} us with the adaptive window (the default),"
        f" {f.empty_task_us_one_ahead:.1f} us holding one task ahead,"
        f" {f.empty_task_us_waiting:.1f} us with daemons that wait for the market between tasks,"
        f" {f.empty_task_us_batched:.1f} us holding up to {BATCHED[0]} ahead, refilled at {BATCHED[1]}"
        + (
            f"; StarPU {f.starpu_task_us:.1f} us (Atlas {f.empty_task_us / f.starpu_task_us:.1f}x StarPU's,"
            f" {f.empty_task_us_batched / f.starpu_task_us:.1f}x batched)"
            if f.starpu_task_us
            else "; StarPU not installed"
        ),
    ]
    for w, rows in f.simulated.items():
        out += ["", f"simulated {w} (mean of the judging seeds; no schedule of the mean run times is shorter than"]
        out.append(f"  {f.bound_ms[w]:.2f} ms):")
        out.append(f"  {'policy':<9} {'makespan':>12} {'p95 latency':>12} {'p95, 2nd half':>14} {'earnings':>12}")
        for p in (*POLICY_ORDER, ELSEWHERE):
            if p not in rows:
                continue
            r = rows[p]
            out.append(
                f"  {p:<9} {r['makespan_ms']:>9.2f} ms {r['p95_ms']:>9.2f} ms {r['p95_second_half_ms']:>11.2f} ms "
                f"{r['earnings']:>12.0f}"
            )
        if w in f.judged_with:
            out.append(f"  {ELSEWHERE}: the selectors evolved on {f.judged_with[w]}")
        if w in f.recovered:
            said = ", ".join(f"{p} {'never' if n is None else f'+{n}'}" for p, n in f.recovered[w].items())
            out.append(
                f"  after the phase change, every window of {WINDOW} tasks served within 10% of the best"
                f" policy's rate from task: {said}"
            )
        ev = f.evolution[w]
        out.append(
            f"  evolution on the replay ({ev['generations']:.0f} generations of {ev['population']:.0f},"
            f" {ev['replay_seeds']:.0f} replay seeds): earnings {ev['replay_initial']:.0f} (hand-written)"
            f" -> {ev['replay_first_generation']:.0f} (best of the first generation, the yardsticks' rules"
            f" among it) -> {ev['replay_evolved']:.0f}"
            f" ({ev['replay_evolved'] / max(ev['replay_initial'], 1e-9):.2f}x the hand-written)"
        )
        for k, text in f.evolved_text[w].items():
            out.append(f"  evolved {k}: {text.splitlines()[-2].strip()}")
    n, tile = f.real_size
    out += ["", f"the tiled Cholesky {n}x{n}, {tile}x{tile} tiles, on {f.workers} core daemon(s), Atlas's kernels:"]
    for p, r in f.real.items():
        out.append(f"  {p:<7} {r['makespan_ms']:>9.1f} ms, factor within {r['error']:.1e} of numpy's")
    for s, ms in f.starpu_cholesky_ms.items():
        out.append(f"  StarPU cholesky_implicit ({s}, its BLAS kernels): {ms:.0f} ms")
    return "\n".join(out)


def have_starpu() -> bool:
    return (STARPU / "async_tasks_overhead").exists() or shutil.which("starpu_machine_display") is not None


def as_json(f: Figures) -> dict:
    from dataclasses import asdict

    d = asdict(f)
    d["numpy"] = np.__version__
    return d
