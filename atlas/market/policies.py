"""Who runs what: the market and the yardsticks it must beat.

Every policy answers the same questions of the simulator (and of a real
run): a task became ready; a unit is idle, what does it take (`pick`,
None to wait); nothing is running and tasks wait, who must take one
(`clear`).  The yardsticks are StarPU's: eager (one FIFO queue), random,
work stealing, and dmda (each task to the unit with the earliest
expected completion, from the history models and the transfer time).
The market lets each idle unit bid for the ready tasks with its class's
selector (selector.py)."""

from __future__ import annotations

import abc
import collections
import random
from typing import Callable

import numpy as np

from .selector import FEATURES, Selector
from .sim import State, UnitState
from .tasks import Task


class Policy(abc.ABC):
    name = "policy"

    def start(self, state: State, seed: int) -> None:
        self.rng = random.Random(seed)

    def order(self, state: State) -> list[UnitState]:
        """The order idle units are offered work in."""
        return state.units

    @abc.abstractmethod
    def ready(self, task: Task, state: State) -> None: ...

    @abc.abstractmethod
    def pick(self, unit: UnitState, state: State) -> Task | None: ...

    @abc.abstractmethod
    def waiting(self, state: State) -> bool: ...

    def clear(self, state: State) -> tuple[UnitState, Task]:
        """Nothing runs and nothing will arrive: some unit must take a task."""
        for u in state.units:
            t = self.pick(u, state)
            if t is not None:
                return u, t
        raise RuntimeError(f"{self.name}: tasks wait that no unit can run")

    def finished(self, task: Task, unit: UnitState, state: State) -> None:
        pass

    def retire(self, unit: UnitState, state: State) -> list[Task]:
        """The unit is gone for good: the tasks given to it and not sent,
        to be offered again."""
        return []


class Eager(Policy):
    """One FIFO queue; an idle unit takes the oldest task it can run."""

    name = "eager"

    def start(self, state, seed):
        super().start(state, seed)
        self.queue: collections.deque[Task] = collections.deque()

    def ready(self, task, state):
        self.queue.append(task)

    def pick(self, unit, state):
        for i, t in enumerate(self.queue):
            if state.can_run(t, unit):
                del self.queue[i]
                return t
        return None

    def waiting(self, state):
        return bool(self.queue)


class _PerUnit(Policy):
    """A queue per unit, filled when tasks become ready."""

    def start(self, state, seed):
        super().start(state, seed)
        self.queues: list[collections.deque[Task]] = [collections.deque() for _ in state.units]

    def ready(self, task, state):
        self.queues[self.place(task, state).index].append(task)

    @abc.abstractmethod
    def place(self, task: Task, state: State) -> UnitState: ...

    def pick(self, unit, state):
        q = self.queues[unit.index]
        return q.popleft() if q else None

    def waiting(self, state):
        return any(self.queues)

    def retire(self, unit, state):
        left = list(self.queues[unit.index])
        self.queues[unit.index].clear()
        return left

    def capable(self, task: Task, state: State) -> list[UnitState]:
        return [u for u in state.units if state.can_run(task, u)]


class Random(_PerUnit):
    name = "random"

    def place(self, task, state):
        return self.rng.choice(self.capable(task, state))


class WorkStealing(_PerUnit):
    """A task goes to the queue of the unit that finished its last
    dependency (round robin for the graph's roots); an idle unit with an
    empty queue steals the newest task of the longest queue it can run."""

    name = "ws"

    def start(self, state, seed):
        super().start(state, seed)
        self.last: UnitState | None = None
        self.turn = 0

    def finished(self, task, unit, state):
        self.last = unit

    def place(self, task, state):
        capable = self.capable(task, state)
        if self.last is not None and self.last in capable:
            return self.last
        self.turn += 1
        return capable[self.turn % len(capable)]

    def pick(self, unit, state):
        own = super().pick(unit, state)
        if own is not None:
            return own
        for q in sorted(self.queues, key=len, reverse=True):
            for i in range(len(q) - 1, -1, -1):
                if state.can_run(q[i], unit):
                    t = q[i]
                    del q[i]
                    return t
        return None


CALIBRATION = 3  # runs of a kind and size bucket on a class before its model is trusted


class Dmda(_PerUnit):
    """Each ready task to the unit where it is expected to finish first:
    the unit's queued work, the transfer of its data, its run time from
    the history model (StarPU's dmda; HEFT's rule, applied as tasks become
    ready)."""

    name = "dmda"

    def start(self, state, seed):
        super().start(state, seed)
        self.queued_until = [0.0] * len(state.units)

    def place(self, task, state):
        capable = self.capable(task, state)
        # a class with too little history for this kind and size is
        # calibrated first: the task goes to its unit that is free first
        unknown = [u for u in capable if state.model.samples(task.kind, task.size, u.spec.klass) < CALIBRATION]
        if unknown:
            best = min(
                unknown,
                key=lambda u: (len(self.queues[u.index]), max(state.now, u.busy_until, self.queued_until[u.index])),
            )
            self.queued_until[best.index] = max(state.now, best.busy_until, self.queued_until[best.index])
            return best
        best, best_t = None, float("inf")
        for u in capable:
            free = max(state.now, u.busy_until, self.queued_until[u.index])
            t = free + state.transfer(task, u) + state.predicted(task, u)
            if t < best_t:
                best, best_t = u, t
        assert best is not None
        self.queued_until[best.index] = best_t
        return best


class Market(Policy):
    """Ready tasks in one pool; an idle unit bids for each with its class's
    selector and takes the highest bid above zero, or waits for the next
    event.  When nothing runs and nothing will arrive, the highest bid of
    any unit takes its task, so the market always clears."""

    name = "market"

    def __init__(self, selectors: dict[str, Selector], name: str = "market"):
        self.selectors = selectors
        self.name = name

    def start(self, state, seed):
        super().start(state, seed)
        self.pool: dict[int, Task] = {}
        self.critical = state.graph.bottom_levels(state.platform.nominal)

    def ready(self, task, state):
        self.pool[task.ident] = task

    def waiting(self, state):
        return bool(self.pool)

    def _bids(self, unit: UnitState, state: State) -> tuple[list[Task], np.ndarray]:
        tasks = [t for t in self.pool.values() if state.can_run(t, unit)]
        if not tasks:
            return tasks, np.empty(0)
        sel = self.selectors.get(unit.spec.klass)
        if sel is None:
            raise ValueError(f"no selector for unit class {unit.spec.klass!r}")
        return tasks, sel.bids(features(tasks, unit, state, self.critical))

    def pick(self, unit, state):
        tasks, bids = self._bids(unit, state)
        if not tasks:
            return None
        i = int(np.argmax(np.where(np.isnan(bids), -np.inf, bids)))
        if not bids[i] > 0:
            return None
        return self.pool.pop(tasks[i].ident)

    def clear(self, state):
        best = None
        for u in state.units:
            tasks, bids = self._bids(u, state)
            if tasks:
                clean = np.where(np.isnan(bids), -np.inf, bids)
                i = int(np.argmax(clean))
                if best is None or clean[i] > best[0]:
                    best = (clean[i], u, tasks[i])
        if best is None:
            raise RuntimeError("market: tasks wait that no unit can run")
        return best[1], self.pool.pop(best[2].ident)


def features(tasks: list[Task], unit: UnitState, state: State, critical: list[float]) -> dict[str, np.ndarray]:
    """FEATURES for each task, as `unit` sees them (times in microseconds)."""
    us = 1e6
    # the other units by (class, memory node): within a group only the
    # earliest free one matters to dmda's estimate
    groups: dict[tuple[str, int], UnitState] = {}
    for o in state.units:
        if o is not unit and not o.gone:
            key = (o.spec.klass, o.spec.node)
            if key not in groups or o.busy_until < groups[key].busy_until:
                groups[key] = o
    size = {key: sum(1 for o in state.units if not o.gone and (o.spec.klass, o.spec.node) == key) for key in groups}
    backlog: dict[str, int] = collections.Counter(t.kind for t in tasks)
    cols: dict[str, list[float]] = {k: [] for k in FEATURES}
    for t in tasks:
        cols["kind"].append(float(state.kinds.index(t.kind)))
        cols["size"].append(float(t.size))
        cols["kbytes"].append(t.nbytes / 1024.0)
        cols["reward"].append(state.dispatcher.reward(t, state))
        cols["predicted"].append(state.predicted(t, unit) * us)
        cols["transfer"].append(state.transfer(t, unit) * us)
        # dmda's estimate on the best other group, after that group has
        # shared out the ready tasks of this kind ahead of this one
        best = min(
            (
                state.finish_estimate(t, o) + backlog[t.kind] * state.predicted(t, o) / size[key]
                for key, o in groups.items()
                if state.can_run(t, o)
            ),
            default=float("inf"),
        )
        cols["others"].append((best - state.now) * us)
        mine = cols["predicted"][-1] + cols["transfer"][-1]
        cols["advantage"].append(cols["others"][-1] / mine if mine > 0 else float("inf"))
        cols["waited"].append((state.now - state.ready_at.get(t.ident, state.now)) * us)
        cols["critical"].append(critical[t.ident] * us)
    n = float(len(tasks))
    cols["queued"] = [n] * len(tasks)
    return {k: np.array(v, dtype=np.float64) for k, v in cols.items()}


POLICIES: dict[str, Callable[[], Policy]] = {"eager": Eager, "random": Random, "ws": WorkStealing, "dmda": Dmda}
NAMES = (*POLICIES, "market")


def by_name(name: str, selectors: dict[str, Selector]) -> Policy:
    """A fresh policy: one of POLICIES, or "market" bidding with `selectors`."""
    return Market(selectors) if name == "market" else POLICIES[name]()
