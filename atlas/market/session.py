"""One run of a market's task graph on real units, whatever carries the
tasks there: processes pinned to this machine's cores (daemons.py) or Ray
actors on many machines (cluster.py).

The front (`Front`) is what a user holds: registered functions, data,
submitted calls.  A run (`Session`) keeps the graph, the policy, the
history model and the dispatcher; its crew (`Crew`) carries each task to
its unit and says what became of it, and that is all a crew does:

- a task ends once: a word about an attempt already given up on is
  ignored;
- a unit that dies mid-task, or runs one past the timeout, is replaced
  where it can be and retired where it cannot (its machine left); its
  running task is run again from its data as it was before (or reported
  failed, with every task that reads what it would have written), and
  the tasks it held and had not begun are offered again as they were."""

from __future__ import annotations

import abc
import os
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from ..machine.manifest import FunctionEntry
from ..meaning import ir
from ..meaning.interp import dtype
from .dispatch import Dispatcher
from .models import PerfModel
from .records import DONE, FAILED, REQUEUED, Ledger
from .sim import HOST, Cost, Platform, Run, State, TaskTimes, UnitSpec, UnitState, settle
from .tasks import Access, Handle, Task, TaskGraph, Use


JOIN_ROOM = 1024  # ledger records kept for the settlements of units that join during a run
# The adaptive window (a Front made with prefetch=None): a unit holds one
# task beyond the one it runs, and more while the history says they are
# short: at most AHEAD, and at most HORIZON seconds of predicted work, so
# a stream of tiny tasks goes in rounds (one message, one wake-up, for
# many) while long ones are still bound to a unit late, one at a time.
AHEAD = 32
HORIZON = 1e-3


class MarketError(RuntimeError):
    pass


@dataclass
class Data(abc.ABC):
    """An array that tasks read and write: its handle (for the
    dependencies), its place among the market's data, and the market's
    view of its current value (`array`, given by each kind of market)."""

    handle: Handle
    dtype: str
    length: int
    index: int

    @property
    @abc.abstractmethod
    def array(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Call:
    function: str
    library: int  # index into the registered libraries
    args: tuple  # ("data", index into the market's data, written) or ("value", python scalar)


class Send(NamedTuple):
    """A task on its way to a unit, as the crew needs it (a tuple: one is
    made per task, on the market's path)."""

    ident: int
    attempt: int
    call: Call
    kind: int  # the task kind's index (for the unit's ledger)
    reward: float
    nbytes: int
    fault: str | None  # tests only: "crash", "hang" or "kill"
    keep: bool  # a retry may follow: keep what it writes as it was


class Said(NamedTuple):
    """A unit ran a task (times on the market's clock, time.perf_counter)."""

    unit: int
    ident: int
    attempt: int
    start: float
    end: float
    error: str | None


@dataclass(frozen=True)
class Gone:
    """A unit died (what it said before it died has been told first)."""

    unit: int
    why: str


def call(
    libraries: list, library: int, function: str, fault: str | None, values: list
) -> tuple[float, float, str | None]:
    """A daemon's run of one task, `libraries[library][function]` on its
    arguments (`values`): the injected fault of a test first, then the
    native call, timed; its start, end and error (a call the contract
    refuses is reported, the daemon lives on)."""
    if fault == "crash":
        os._exit(3)
    if fault == "hang":
        while True:
            time.sleep(3600)
    start = time.perf_counter()
    error = None
    try:
        libraries[library][function](*values)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    return start, time.perf_counter(), error


class Crew(abc.ABC):
    """The executing side of a market: one unit per `specs` entry."""

    specs: tuple[UnitSpec, ...]
    bandwidth: float = float("inf")  # bytes/s between the units' memory nodes
    latency: float = 0.0

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def send(self, unit: int, task: Send) -> None:
        """Queue `task` behind what the unit holds (it may go at `flush`)."""

    def flush(self) -> None:
        """Everything sent so far is on its way."""

    @abc.abstractmethod
    def wait(self, timeout: float) -> list[Said | Gone]:
        """What units said or became within `timeout` seconds (maybe nothing)."""

    @abc.abstractmethod
    def replace(self, unit: int) -> bool:
        """Kill what is left of the unit and start it again; False where it
        cannot be (its machine is gone)."""

    def undo(self, ident: int) -> None:
        """Put back the data a task was writing when its unit was lost."""

    def started(self, unit: int, ident: int, attempt: int) -> None:
        """The unit now runs this task (tests kill units here)."""

    def joined(self) -> list[UnitSpec]:
        """Units that came up since the last look (a machine joined), ready
        to take tasks; they follow the others in unit order."""
        return []

    @abc.abstractmethod
    def stop(self) -> list[np.ndarray]:
        """Stop every unit; the records their ledgers hold (records.DTYPE)."""


@dataclass
class Outcome:
    run: Run
    failed: dict[int, str] = field(default_factory=dict)  # task -> why (its dependents: "a task it needs failed")
    restarts: int = 0  # units started again
    retried: int = 0  # task runs repeated after a failure
    executed: np.ndarray | None = None  # the records the units wrote (records.DTYPE), their clock
    retired: tuple[str, ...] = ()  # units lost for good (their machine left)
    joined: tuple[str, ...] = ()  # units that came during the run (their machine joined)


class Front(abc.ABC):
    """What a user holds: register functions, put data, submit calls,
    `run` them all."""

    def __init__(self, *, timeout: float, retries: int, prefetch: int | None, refill: int | None = None):
        self.timeout, self.retries = timeout, retries
        # None: the adaptive window (AHEAD, HORIZON); its rounds refill at half
        self.adaptive = prefetch is None
        self.prefetch = AHEAD if prefetch is None else prefetch
        # a unit is given more work once it holds no more than `refill` tasks
        # (and then up to prefetch + 1): below prefetch, what it is sent goes
        # in fewer, larger batches
        if refill is None:
            refill = self.prefetch // 2 if self.adaptive else self.prefetch
        self.refill = min(refill, self.prefetch)
        self.graph = TaskGraph()
        self.functions: dict[str, tuple[int, ir.Function]] = {}
        self.measured: dict[str, tuple[tuple[int, float], ...]] = {}  # function -> the search's (size, seconds)
        self.calls: dict[int, Call] = {}
        self.data: list[Data] = []

    def _functions(self, where, library: int, functions: dict[str, ir.Function], measured=None) -> list[str]:
        """Register `functions` of library number `library`; `measured`:
        name -> the search's timings of its variant (see `measured`)."""
        for name, fn in functions.items():
            if name in self.functions:
                raise MarketError(f"{where}: function {name} is registered twice")
            self.functions[name] = (library, fn)
            if measured and measured.get(name):
                self.measured[name] = measured[name]
        return list(functions)

    def submit(self, function: str, *args, reward: float = 1.0, deadline: float | None = None) -> Task:
        """A call of a registered function: Data for its arrays (read, or
        read and written where the parameter is `mut`), plain values for
        its scalars.  It waits for the earlier tasks whose data it needs."""
        if function not in self.functions:
            raise MarketError(f"no registered function {function!r} (have: {', '.join(self.functions) or 'none'})")
        lib, fn = self.functions[function]
        if len(args) != len(fn.params):
            raise MarketError(f"{function} takes {len(fn.params)} argument(s), got {len(args)}")
        uses: list[Use] = []
        wire: list[tuple] = []
        size = 1
        for p, a in zip(fn.params, args):
            if isinstance(p.ty, ir.Array):
                if not isinstance(a, Data) or a.index >= len(self.data) or self.data[a.index] is not a:
                    raise MarketError(f"{function}: '{p.name}' is an array: pass the Data that this market's put made")
                if np.dtype(a.dtype) != dtype(p.ty.elem):
                    raise MarketError(f"{function}: '{p.name}' holds {p.ty.elem}, the data is {np.dtype(a.dtype)}")
                uses.append(Use(a.handle, Access.RW if p.ty.mutable else Access.R))
                wire.append(("data", a.index, p.ty.mutable))
                size = max(size, a.length)
            else:
                wire.append(("value", a))
        task = self.graph.submit(Task(function, size, tuple(uses), reward=reward, deadline=deadline))
        self.calls[task.ident] = Call(function, lib, tuple(wire))
        return task

    @abc.abstractmethod
    def put(self, array: np.ndarray, name: str | None = None) -> Data:
        """A copy of `array` where this market's units can reach it."""

    @abc.abstractmethod
    def units(self) -> tuple[UnitSpec, ...]:
        """The units a run gets, one daemon each."""

    @abc.abstractmethod
    def crew(self, inject: dict[int, str]) -> Crew: ...

    def run(
        self,
        policy,
        *,
        model: PerfModel | None = None,
        inject: dict[int, str] | None = None,
        seed: int = 0,
        progress=None,
        learner=None,
    ) -> Outcome:
        """Run every submitted task; an Outcome (the Run, what failed).
        `progress(done, failed, total)` is called as tasks end.  `learner`:
        a learn.Learner that evolves a policies.Market's selectors while it
        runs (in a process of its own, unless it is inline).  `inject` is for tests: task ident
        -> a fault its unit meets (the crew says which it knows)."""
        if learner is not None and not hasattr(policy, "swap"):
            raise ValueError(f"only the market's selectors learn, not {policy.name}'s")
        model = model or PerfModel()
        # what the search measured of each variant stands in where the history has nothing yet
        for klass in {u.klass for u in self.units()}:
            for name, points in self.measured.items():
                model.prior(name, klass, points)
        session = Session(self, self.crew(inject or {}), policy, model, inject or {}, seed)
        session.progress, session.learner = progress, learner
        return session.go()

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def measured(entry: FunctionEntry) -> tuple[tuple[int, float], ...]:
    """The search's timings of a compiled function's variant, from its
    manifest: (size in elements, seconds) per input it was timed on; none
    where it was not searched (or the summary predates sizes)."""
    found = entry.search
    if found is None or not found.emitted:
        return ()
    return tuple((n, ns * 1e-9) for n, ns in zip(found.sizes, found.median_ns))


def platform_for(crew: Crew, graph: TaskGraph, model: PerfModel) -> Platform:
    """The crew's units as a platform, each kind's cost from the history
    where there is one (its mean per element), else the search's timings
    of the variant (the model's prior), else a guess of a nanosecond per
    element: the dispatcher's weights and the market's critical paths
    start from it and the history corrects it.  The platform names the
    pairs the history did not give, which the dispatcher judges again by
    the times the run sees."""
    costs = {}
    unseen = set()
    classes = {u.klass for u in crew.specs}
    for t in graph.tasks:
        for klass in classes:
            seen = model.predict(t.kind, t.size, klass)
            costs[(t.kind, klass)] = Cost(0.0, seen / max(1, t.size) if seen else 1e-9)
            if model.samples(t.kind, t.size, klass) == 0:
                unseen.add((t.kind, klass))
    return Platform(
        crew.specs, costs, bandwidth=crew.bandwidth, latency=crew.latency, noise=0.0, unseen=frozenset(unseen)
    )


@dataclass
class _Slot:
    """What the session knows of one unit's queue."""

    inflight: deque = field(default_factory=deque)  # (task, attempt) sent, in the order it runs them
    since: float = 0.0  # when the first of them started, at the latest
    held: float = 0.0  # predicted seconds of the tasks it holds beyond the running one (adaptive window)

    @property
    def task(self) -> int | None:
        """The task it runs now (the first one sent and not answered)."""
        return self.inflight[0][0] if self.inflight else None


class Session:
    """One `Front.run`: the crew, the clock, the books."""

    def __init__(self, front: Front, crew: Crew, policy, model: PerfModel, inject: dict[int, str], seed: int):
        self.m, self.crew, self.policy, self.model, self.inject = front, crew, policy, model, inject
        self.graph = front.graph
        self.platform = platform_for(crew, self.graph, model)
        self.dispatcher = Dispatcher()
        self.state = State(self.graph, self.platform, model, self.dispatcher)
        self.kind_index = {k: i for i, k in enumerate(self.state.kinds)}
        self.times = [TaskTimes() for _ in self.graph.tasks]
        self.waiting = [len(t.deps) for t in self.graph.tasks]
        self.succ = self.graph.successors()
        self.done: set[int] = set()
        self.failed: dict[int, str] = {}
        self.tries = [0] * len(self.graph)
        self.slots = [_Slot() for _ in crew.specs]
        self.counted: dict[int, float] = {}  # a held task -> what it counts for in its unit's window
        self.restarts = self.retried = 0
        self.retired: list[str] = []
        self.joined: list[str] = []
        self.progress = None
        self.learner = None
        self.seed = seed
        self.t0 = 0.0
        # a record per attempt, a settlement per unit (room for units that join)
        self.ledger = Ledger(len(self.graph) * (front.retries + 1) + len(self.slots) + JOIN_ROOM)
        self.executed: list[np.ndarray] = []

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def go(self) -> Outcome:
        try:
            if self.learner is not None:
                self.learner.start()
            self.crew.start()
            self.t0 = time.perf_counter()
            self.dispatcher.start(self.state)
            self.policy.start(self.state, self.seed)
            for t in self.graph.tasks:
                if not t.deps:
                    self._ready(t)
            while len(self.done) + len(self.failed) < len(self.graph):
                self.state.now = self.now()
                for spec in self.crew.joined():
                    self._join(spec)
                self._offer()
                self.crew.flush()
                if all(not s.inflight for s in self.slots):
                    raise MarketError(f"{self.policy.name}: tasks are left that no unit was given")
                self._wait()
                if self.learner is not None:
                    self.learner.tick(self.policy, len(self.done), self.now(), self._so_far)
        finally:
            if self.learner is not None:
                self.learner.close()
            self.executed = self.crew.stop()
        units = self.state.units
        if self.platform.unseen:  # the plan the graph is paid against was made without history: made again on what ran
            self.dispatcher.replan(State(self.graph, platform_for(self.crew, self.graph, self.model), self.model, None))
        settle(self.dispatcher, self.times, units, self.ledger, self.now(), sorted(self.done))
        run = Run(self.policy.name, self.platform, self.graph, self.times, units, self.ledger, self.model)
        executed = np.concatenate(self.executed) if self.executed else None
        failed = dict(sorted(self.failed.items()))
        return Outcome(run, failed, self.restarts, self.retried, executed, tuple(self.retired), tuple(self.joined))

    def _so_far(self):
        """The run so far, for a lesson."""
        return self.graph, self.platform, self.times, self.ledger.array()

    def _join(self, spec: UnitSpec) -> None:
        """A unit that came during the run: from now on it is offered work."""
        unit = UnitState(spec, len(self.slots))
        self.slots.append(_Slot())
        self.platform = replace(self.platform, units=self.platform.units + (spec,))
        self.state.platform = self.platform
        self.state.join(unit)
        self.joined.append(spec.name)
        self.policy.join(unit, self.state)

    # -- tasks
    def _ready(self, task: Task) -> None:
        self.state.ready_at[task.ident] = self.now()
        self.times[task.ident].ready = self.now()
        self.dispatcher.became_ready(task)
        self.policy.ready(task, self.state)

    def _offer(self) -> None:
        # one task a unit a pass, so that the ready tasks are shared out
        # before any unit fills the queue it may hold
        hungry = [u for u in self.policy.order(self.state) if not u.gone]
        hungry = [u for u in hungry if self._room(self.slots[u.index], self.m.refill, HORIZON / 2)]
        while hungry:
            took = []
            for u in hungry:
                if not self._room(self.slots[u.index], self.m.prefetch, HORIZON):
                    continue
                task = self.policy.pick(u, self.state)
                if task is not None:
                    self._send(u.index, task)
                    took.append(u)
            hungry = took
        if all(not s.inflight for s in self.slots) and self.policy.waiting(self.state):
            unit, task = self.policy.clear(self.state)
            self._send(unit.index, task)

    def _room(self, slot: _Slot, most: int, horizon: float) -> bool:
        """Whether a unit holding `slot` may be sent one more task: it holds
        no more than `most` (the adaptive window: one, or more while they
        are predicted to take less than `horizon` together)."""
        n = len(slot.inflight)
        if not self.m.adaptive or n <= 1:
            return n <= most
        return n <= most and slot.held < horizon

    def _send(self, unit: int, task: Task) -> None:
        u = self.state.units[unit]
        slot = self.slots[unit]
        tt = self.times[task.ident]
        tt.unit, tt.start = unit, self.now()
        tt.reward = self.dispatcher.reward(task, self.state)
        self.dispatcher.taken(task)
        seen = self.model.predict(task.kind, task.size, u.spec.klass)
        self.state.occupy(u, max(tt.start, u.busy_until) + (seen or 0.0))  # none yet: 0, as State.predicted
        attempt = self.tries[task.ident]
        if not slot.inflight:
            slot.since = time.perf_counter()
        else:  # held: it counts in the adaptive window for its predicted time, the whole horizon if unknown
            self.counted[task.ident] = HORIZON if seen is None else seen
            slot.held += self.counted[task.ident]
        slot.inflight.append((task.ident, attempt))
        u.running = slot.task
        fault = self.inject.get(task.ident) if attempt == 0 else None
        keep = self.m.retries > attempt
        kind = self.kind_index[task.kind]
        call = self.m.calls[task.ident]
        self.crew.send(unit, Send(task.ident, attempt, call, kind, tt.reward, task.nbytes, fault, keep))
        if len(slot.inflight) == 1:
            self.crew.started(unit, task.ident, attempt)

    def _wait(self) -> None:
        busy = [i for i, s in enumerate(self.slots) if s.inflight]
        if not busy:
            return
        limit = min(self.slots[i].since + self.m.timeout for i in busy) - time.perf_counter()
        for ev in self.crew.wait(max(0.0, limit)):
            if isinstance(ev, Said):
                self._finished(ev)
            elif self.slots[ev.unit].inflight:
                self._lost(ev.unit, ev.why)
        for i in busy:
            if self.slots[i].inflight and time.perf_counter() - self.slots[i].since > self.m.timeout:
                self._lost(i, f"it ran past the timeout of {self.m.timeout} s")

    def _finished(self, ev: Said) -> None:
        slot = self.slots[ev.unit]
        if not slot.inflight or (ev.ident, ev.attempt) != slot.inflight[0] or ev.ident in self.done:
            return  # a word from an attempt already given up on
        slot.inflight.popleft()
        slot.since = ev.end  # the next one starts when this one ended
        task = self.graph.tasks[ev.ident]
        u = self.state.units[ev.unit]
        if slot.inflight:  # the next one runs now: it no longer counts as held
            slot.held -= self.counted.pop(slot.inflight[0][0], 0.0)
        if len(slot.inflight) <= 1:
            slot.held = 0.0  # nothing held: no rounding left over
        tt = self.times[ev.ident]
        u.running = slot.task
        if slot.inflight:
            self.crew.started(ev.unit, *slot.inflight[0])
        if ev.error is not None:
            self._fail(task, ev.error)
            return
        tt.start, tt.end = ev.start - self.t0, ev.end - self.t0
        u.busy += ev.end - ev.start
        self.model.observe(task.kind, task.size, u.spec.klass, ev.end - ev.start)
        tt.earnings = self.dispatcher.pay(task, tt.reward, tt.end)
        u.earnings += tt.earnings
        kind = self.kind_index[task.kind]
        self.ledger.append(kind, ev.unit, DONE, ev.ident, tt.start, tt.end, tt.earnings, tt.reward, task.nbytes)
        for use in task.uses:  # where its data is now: the unit's node, and the market's copy of what it wrote
            have = self.state.copies.setdefault(use.handle.name, {HOST})
            if use.access.writes:
                have.clear()
                have.add(HOST)
            have.add(u.spec.node)
        self.done.add(ev.ident)
        self._tell()
        self.policy.finished(task, u, self.state)
        for s in self.succ[ev.ident]:
            self._release(s)

    def _lost(self, unit: int, why: str) -> None:
        """The running task's unit is gone: start it again (or retire it
        where it cannot start again), and run the task again from its
        data as it was or report it failed; the tasks it held and had not
        begun are offered again as they were."""
        slot = self.slots[unit]
        ident = slot.task
        assert ident is not None
        task = self.graph.tasks[ident]
        u = self.state.units[unit]
        waiting = [self.graph.tasks[i] for i, _ in list(slot.inflight)[1:]]
        for t in waiting:  # offered again: each counts afresh wherever it goes next
            self.counted.pop(t.ident, None)
        slot.inflight.clear()
        slot.held = 0.0
        u.running = None
        self.state.occupy(u, self.now())
        self.restarts += 1
        if not self.crew.replace(unit):
            self.state.lose(u)
            self.retired.append(u.spec.name)
            waiting += self.policy.retire(u, self.state)
            if all(v.gone for v in self.state.units):
                raise MarketError("every unit of the market is gone")
        for t in waiting:
            self._ready(t)
        self.tries[ident] += 1
        kind = self.kind_index[task.kind]
        if self.tries[ident] <= self.m.retries:
            self.crew.undo(ident)
            self.retried += 1
            self.ledger.append(kind, unit, REQUEUED, ident, 0.0, self.now(), 0.0, 0.0, 0)
            self._ready(task)
        else:
            self._fail(task, why)

    def _fail(self, task: Task, why: str) -> None:
        """The task has failed, and so has every task that reads what it
        would have written, and theirs; a task that only had to wait for it
        (to overwrite what it read or wrote) is released as if it were done."""
        stack = [(task.ident, why)]
        while stack:
            i, reason = stack.pop()
            if i in self.failed or i in self.done:
                continue
            self.failed[i] = reason
            self._tell()
            kind = self.kind_index[self.graph.tasks[i].kind]
            self.ledger.append(kind, -1, FAILED, i, 0.0, self.now(), 0.0, 0.0, 0)
            for s in self.succ[i]:
                if i in self.graph.tasks[s].needs:
                    stack.append((s, f"task {i}, whose data it reads, failed"))
                else:
                    self._release(s)

    def _tell(self) -> None:
        if self.progress is not None:
            self.progress(len(self.done), len(self.failed), len(self.graph))

    def _release(self, s: int) -> None:
        self.waiting[s] -= 1
        if self.waiting[s] == 0 and s not in self.failed:
            self._ready(self.graph.tasks[s])
