"""The simulator: a market's units, their run times and the transfers
between their memories, driven by the same policies and selectors as a
real run.  Deterministic per seed: each task's deviation from its mean run
time is drawn once, before the run, so every policy meets the same
machine.  It is the evolution's fitness and the way to test scheduling at
scales this machine lacks.

Simplifications, stated: a transfer costs its latency plus bytes over the
link's bandwidth and does not contend with other transfers; a unit runs
one task at a time; a written handle's other copies become invalid (one
valid copy after a write, as StarPU's MSI protocol keeps it)."""

from __future__ import annotations

import functools
import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from .models import PerfModel
from .records import DONE, SETTLED, Ledger
from .tasks import Task, TaskGraph

HOST = 0  # the memory node of the CPU cores


@dataclass(frozen=True)
class UnitSpec:
    name: str  # "cpu0", "gpu0"
    klass: str  # units of one class share a selector and run-time model
    node: int = HOST  # its memory node


@dataclass(frozen=True)
class Cost:
    """A task kind's mean run time on a unit class: per call plus per element."""

    per_call: float
    per_element: float

    def mean(self, size: int) -> float:
        return self.per_call + self.per_element * size


@dataclass(frozen=True)
class Platform:
    units: tuple[UnitSpec, ...]
    costs: dict[tuple[str, str], Cost]  # (kind, class) -> cost; a missing pair cannot run there
    bandwidth: float = 12e9  # bytes/s between the host and a device node
    latency: float = 10e-6  # seconds per transfer
    noise: float = 0.1  # the spread of run times around their mean (log-normal sigma)
    unseen: frozenset[tuple[str, str]] = frozenset()  # (kind, class) pairs whose cost no history gave (a real run's)

    def can_run(self, kind: str, klass: str) -> bool:
        return (kind, klass) in self.costs

    def mean(self, task: Task, klass: str) -> float:
        return self.costs[(task.kind, klass)].mean(task.size)

    def classes(self) -> list[str]:
        return list(self._classes)

    @functools.cached_property
    def _classes(self) -> tuple[str, ...]:
        return tuple(sorted({u.klass for u in self.units}))

    def nominal(self, task: Task) -> float:
        """The task's mean run time on the fastest class that can run it."""
        return min(self.mean(task, k) for k in self._classes if self.can_run(task.kind, k))

    def nominals(self, tasks: list[Task]) -> list[float]:
        """`nominal` of each task, worked out once per kind and size (a
        stream has many tasks of few shapes)."""
        seen: dict[tuple[str, int], float] = {}
        out = []
        for t in tasks:
            key = (t.kind, t.size)
            v = seen.get(key)
            if v is None:
                v = seen[key] = self.nominal(t)
            out.append(v)
        return out


@dataclass
class UnitState:
    spec: UnitSpec
    index: int
    busy_until: float = 0.0  # written through State.occupy only (State.busy mirrors it)
    running: int | None = None
    busy: float = 0.0  # seconds spent running tasks
    earnings: float = 0.0
    gone: bool = False  # lost for good (its machine left): it takes nothing more


class State:
    """What a policy sees: the clock, the units, the history model, where
    the data is, and what the dispatcher pays."""

    def __init__(self, graph: TaskGraph, platform: Platform, model: PerfModel, dispatcher):
        self.now = 0.0
        self.graph, self.platform, self.model, self.dispatcher = graph, platform, model, dispatcher
        self.units = [UnitState(u, i) for i, u in enumerate(platform.units)]
        self.copies: dict[str, set[int]] = {}
        self.ready_at: dict[int, float] = {}
        self.kinds = sorted({t.kind for t in graph.tasks})
        # bumped whenever a unit's busy_until or gone changes or a unit joins:
        # what the policies work out from the units is kept until it moves
        self.moved = 0
        # every unit's busy_until and whether it is there, by index: the
        # policies read them whole (a thousand units' attributes one by one
        # cost more than the rest of a decision)
        self.busy = np.zeros(len(self.units))
        self.alive = np.ones(len(self.units), dtype=bool)

    def occupy(self, unit: UnitState, until: float) -> None:
        """The unit is busy until `until` (or, with the time past, free)."""
        unit.busy_until = until
        self.busy[unit.index] = until
        self.moved += 1

    def lose(self, unit: UnitState) -> None:
        """The unit is gone for good."""
        unit.gone = True
        self.alive[unit.index] = False
        self.moved += 1

    def join(self, unit: UnitState) -> None:
        self.units.append(unit)
        self.busy = np.append(self.busy, unit.busy_until)
        self.alive = np.append(self.alive, not unit.gone)
        self.moved += 1

    def predicted(self, task: Task, unit: UnitState) -> float:
        """The history model's run time, or 0 where it has none (so the
        policies try the pair: StarPU's calibration)."""
        p = self.model.predict(task.kind, task.size, unit.spec.klass)
        return 0.0 if p is None else p

    def holders(self, task: Task) -> set[int]:
        """The memory nodes that hold some of what `task` reads."""
        out: set[int] = set()
        for use in task.uses:
            if use.access.reads:
                out |= self.copies.get(use.handle.name, {HOST})
        return out

    def transfer(self, task: Task, unit: UnitState) -> float:
        seconds = 0.0
        for use in task.uses:
            if use.access.reads and unit.spec.node not in self.copies.get(use.handle.name, {HOST}):
                seconds += self.platform.latency + use.handle.nbytes / self.platform.bandwidth
        return seconds

    def can_run(self, task: Task, unit: UnitState) -> bool:
        return not unit.gone and self.platform.can_run(task.kind, unit.spec.klass)

    def finish_estimate(self, task: Task, unit: UnitState, predicted: float | None = None) -> float:
        """dmda's expected completion time of `task` on `unit`; `predicted`:
        its run time there where the caller has looked it up already."""
        p = self.predicted(task, unit) if predicted is None else predicted
        return max(self.now, unit.busy_until) + self.transfer(task, unit) + p


@dataclass
class TaskTimes:
    unit: int = -1
    ready: float = math.nan
    start: float = math.nan  # when its transfers begin
    end: float = math.nan
    transfer: float = 0.0
    reward: float = 0.0  # what the task paid when it was taken
    earnings: float = 0.0


@dataclass
class Run:
    """What a simulated (or real) run did."""

    policy: str
    platform: Platform
    graph: TaskGraph
    times: list[TaskTimes]
    units: list[UnitState]
    ledger: Ledger
    model: PerfModel
    decisions: int = 0

    @property
    def makespan(self) -> float:
        return max((t.end for t in self.times), default=0.0)

    @property
    def earnings(self) -> float:
        return sum(t.earnings for t in self.times)


@dataclass(order=True)
class _Event:
    time: float
    seq: int
    what: str = field(compare=False)
    task: int = field(compare=False, default=-1)
    unit: int = field(compare=False, default=-1)


def simulate(
    graph: TaskGraph, platform: Platform, policy, dispatcher, *, seed: int = 0, model=None, learner=None
) -> Run:
    """Run every task of `graph` on `platform` under `policy` (policies.py),
    paid by `dispatcher` (dispatch.py).  `model`: the history to start
    from (a fresh one by default); the run adds to it.  `learner`: a
    learn.Learner (inline) that evolves the market's selectors while it
    runs."""
    for t in graph.tasks:
        if not any(platform.can_run(t.kind, k) for k in platform.classes()):
            raise ValueError(f"task {t.ident} ({t.kind}) can run on no unit of the platform")
    rng = np.random.default_rng(seed)
    factor = np.exp(rng.normal(0.0, platform.noise, len(graph))) if platform.noise > 0 else np.ones(len(graph))
    model = PerfModel() if model is None else model
    state = State(graph, platform, model, dispatcher)
    dispatcher.start(state)
    policy.start(state, seed)
    times = [TaskTimes() for _ in graph.tasks]
    waiting = [len(t.deps) for t in graph.tasks]
    succ = graph.successors()
    ledger = Ledger(len(graph) + len(platform.units))  # a record per task, a settlement per unit
    events: list[_Event] = []
    seq = 0

    def push(time: float, what: str, task: int = -1, unit: int = -1) -> None:
        nonlocal seq
        heapq.heappush(events, _Event(time, seq, what, task, unit))
        seq += 1

    for t in graph.tasks:
        if not t.deps:
            push(t.release, "ready", t.ident)
    done = 0
    decisions = 0
    running = 0  # units running a task (all idle, with tasks waiting and none to come: the market clears)

    def start(u: UnitState, task: Task) -> None:
        nonlocal running
        running += 1
        moved = state.transfer(task, u)
        run = platform.mean(task, u.spec.klass) * float(factor[task.ident])
        tt = times[task.ident]
        tt.unit, tt.start, tt.transfer = u.index, state.now, moved
        tt.reward = dispatcher.reward(task, state)
        dispatcher.taken(task)
        tt.end = state.now + moved + run
        u.running = task.ident
        state.occupy(u, tt.end)
        u.busy += run
        push(tt.end, "end", task.ident, u.index)

    def offer() -> None:
        # Idle units are asked only while a task waits: with none, no
        # policy's pick takes one (on a large platform most events find
        # the pool empty, and asking a thousand units each time cost a third
        # of the run).
        nonlocal decisions
        if policy.waiting(state):
            for u in policy.order(state):
                if u.running is None:
                    task = policy.pick(u, state)
                    decisions += 1
                    if task is not None:
                        start(u, task)
                        if not policy.waiting(state):
                            break
        if not running and policy.waiting(state) and not _pending(events):
            unit, task = policy.clear(state)
            start(unit, task)

    while events:
        ev = heapq.heappop(events)
        state.now = ev.time
        task = graph.tasks[ev.task]
        if ev.what == "ready":
            state.ready_at[task.ident] = ev.time
            times[task.ident].ready = ev.time
            dispatcher.became_ready(task)
            policy.ready(task, state)
        else:
            u = state.units[ev.unit]
            tt = times[task.ident]
            run_time = tt.end - tt.start - tt.transfer
            model.observe(task.kind, task.size, u.spec.klass, run_time)
            for use in task.uses:
                have = state.copies.setdefault(use.handle.name, {HOST})
                if use.access.writes:
                    have.clear()
                have.add(u.spec.node)
            tt.earnings = dispatcher.pay(task, tt.reward, tt.end)
            u.earnings += tt.earnings
            u.running = None
            running -= 1
            ledger.append(
                state.kinds.index(task.kind),
                u.index,
                DONE,
                task.ident,
                tt.start,
                tt.end,
                tt.earnings,
                tt.reward,
                task.nbytes,
            )
            done += 1
            policy.finished(task, u, state)
            for s in succ[task.ident]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    push(max(ev.time, graph.tasks[s].release), "ready", s)
        # events at the same instant first, then one round of offers
        if events and events[0].time == ev.time:
            continue
        if learner is not None:
            learner.tick(policy, done, state.now, lambda: (graph, platform, times, ledger.array()))
        offer()
    if done != len(graph):
        raise RuntimeError(f"the simulation ended with {len(graph) - done} tasks not run (policy {policy.name})")
    settle(dispatcher, times, state.units, ledger, state.now, range(len(times)))
    return Run(policy.name, platform, graph, times, state.units, ledger, model, decisions)


def _pending(events: list[_Event]) -> bool:
    """A release still to come (nothing is running, so no end is)."""
    return any(e.what == "ready" for e in events)


def settle(dispatcher, times: list[TaskTimes], units: list[UnitState], ledger: Ledger, now: float, done) -> None:
    """Pay a graph's tasks (those in `done`) when it ends, if the dispatcher
    pays that way (dispatch.Dispatcher.settle), and record each unit's pay."""
    share = dispatcher.settle(max((times[i].end for i in done), default=0.0))
    if share:
        for i in done:
            tt = times[i]
            tt.earnings = tt.reward * share
            units[tt.unit].earnings += tt.earnings
        for u in units:
            ledger.append(-1, u.index, SETTLED, -1, now, now, u.earnings, 0.0, 0)
