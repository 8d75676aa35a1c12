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
import bisect
import collections
import random
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .models import bucket
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

    def join(self, unit: UnitState, state: State) -> None:
        """A unit came during the run (the last of `state.units`)."""


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
        self.queued = 0  # tasks in all the queues (asked at every event: a thousand queues are slow to look at)

    def ready(self, task, state):
        self.queues[self.place(task, state).index].append(task)
        self.queued += 1

    @abc.abstractmethod
    def place(self, task: Task, state: State) -> UnitState: ...

    def pick(self, unit, state):
        q = self.queues[unit.index]
        if not q:
            return None
        self.queued -= 1
        return q.popleft()

    def waiting(self, state):
        return self.queued > 0

    def join(self, unit, state):
        self.queues.append(collections.deque())

    def retire(self, unit, state):
        left = list(self.queues[unit.index])
        self.queues[unit.index].clear()
        self.queued -= len(left)
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
                    self.queued -= 1
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
        self.queued_until = np.zeros(len(state.units))
        self.classes = state.platform.classes()
        self.klass = np.array([self.classes.index(u.spec.klass) for u in state.units], dtype=np.int64)
        self.node = np.array([u.spec.node for u in state.units], dtype=np.int64)
        # calibration runs placed and not yet finished, per (kind, size bucket, class):
        # a class is sent no more than it takes to learn it, however many tasks are ready
        self.trials: collections.Counter[tuple[str, int, str]] = collections.Counter()
        self.trial_of: dict[int, tuple[str, int, str]] = {}

    def place(self, task, state):
        # what depends on a unit's class, or its memory node, once each: by
        # class, whether it can run the task, its runs seen and its
        # calibration runs out; then every unit at once, in unit order
        size = bucket(task.size)
        can = np.array([state.platform.can_run(task.kind, k) for k in self.classes])
        capable = np.flatnonzero(can[self.klass] & state.alive)
        seen = np.array([state.model.samples(task.kind, task.size, k) for k in self.classes])[self.klass[capable]]
        out = np.array([self.trials[(task.kind, size, k)] for k in self.classes])[self.klass[capable]]
        # a class with too little history for this kind and size is
        # calibrated first: the task goes to its unit that is free first
        unknown = capable[seen + out < CALIBRATION]
        if unknown.size:
            best = self._first_free([state.units[i] for i in unknown.tolist()], state)
            key = (task.kind, size, best.spec.klass)
            self.trials[key] += 1
            self.trial_of[task.ident] = key
            return best
        # a class whose calibration runs are still out has no estimate yet
        # (it would look free): the others take the task while they run,
        # and while no class has one, the tasks are spread as for calibration
        known = capable[seen >= CALIBRATION]
        if not known.size:
            return self._first_free([state.units[i] for i in capable.tolist()], state)
        ends = self._finish(task, state, known)
        i = int(np.argmin(ends))  # the first of the earliest, in unit order
        self.queued_until[known[i]] = ends[i]
        return state.units[int(known[i])]

    def _finish(self, task: Task, state: State, at: np.ndarray) -> np.ndarray:
        """When `task` would end on each unit of `at`: free (the clock, its
        run, its queue), then its data moved, then its run, added in that
        order.  A node that holds none of the task's data receives all of
        it: the same transfer as any such node."""
        free = np.maximum(np.maximum(state.now, state.busy[at]), self.queued_until[at])
        holders = state.holders(task)
        nodes = self.node[at]
        held = np.isin(nodes, sorted(holders))
        moved = np.zeros(len(at))
        for n in holders:
            on = nodes == n
            if on.any():
                moved[on] = state.transfer(task, state.units[int(at[int(np.argmax(on))])])
        if not held.all():
            moved[~held] = state.transfer(task, state.units[int(at[int(np.argmin(held))])])
        klasses = self.klass[at]
        ran = np.zeros(len(at))
        for k in np.unique(klasses).tolist():
            ran[klasses == k] = state.predicted(task, state.units[int(at[int(np.argmax(klasses == k))])])
        return free + moved + ran

    def _first_free(self, units: list[UnitState], state: State) -> UnitState:
        """The unit with the shortest queue, then the one free first."""
        best = min(
            units, key=lambda u: (len(self.queues[u.index]), max(state.now, u.busy_until, self.queued_until[u.index]))
        )
        self.queued_until[best.index] = max(state.now, best.busy_until, self.queued_until[best.index])
        return best

    def join(self, unit, state):
        super().join(unit, state)
        self.queued_until = np.append(self.queued_until, 0.0)
        if unit.spec.klass not in self.classes:
            self.classes = [*self.classes, unit.spec.klass]
        self.klass = np.append(self.klass, self.classes.index(unit.spec.klass))
        self.node = np.append(self.node, unit.spec.node)

    def finished(self, task, unit, state):
        key = self.trial_of.pop(task.ident, None)
        if key is not None:
            self.trials[key] -= 1

    def retire(self, unit, state):
        left = super().retire(unit, state)
        for t in left:
            self.finished(t, unit, state)  # placed again, counted again
        return left


class Market(Policy):
    """Ready tasks in one pool; an idle unit bids for each with its class's
    selector and takes the highest bid above zero (the oldest among equal
    bids), or waits for the next event.  When nothing runs and nothing will
    arrive, the highest bid of any unit takes its task, so the market
    always clears."""

    name = "market"

    def __init__(self, selectors: dict[str, Selector], name: str = "market"):
        self.selectors = selectors
        self.name = name

    def start(self, state, seed):
        super().start(state, seed)
        self.pool = _Pool(state, state.graph.bottom_levels(state.platform.nominals(state.graph.tasks)))
        self.memo: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self.worked = 0  # the rounds of bids worked out (the others were a unit alike's)
        self.summary: _Summary | None = None  # the units by group, as of `summary.moved`
        self.layout: _Layout | None = None

    def swap(self, selectors: dict[str, Selector]) -> None:
        """Bid with `selectors` from the next round on (the market calls it
        between rounds, so no round mixes two)."""
        self.selectors = dict(selectors)
        self.memo.clear()

    def ready(self, task, state):
        self.pool.add(task)

    def waiting(self, state):
        return bool(self.pool.pos)

    def finished(self, task, unit, state):
        self.pool.moved(task)

    def _bids(self, unit: UnitState, state: State) -> tuple[np.ndarray, np.ndarray]:
        at = self.pool.runnable(unit)
        if not at.size:
            return at, np.empty(0)
        sel = self.selectors.get(unit.spec.klass)
        if sel is None:
            raise ValueError(f"no selector for unit class {unit.spec.klass!r}")
        # Units of one class on one node that see the others alike bid
        # alike, and most idle units decline: a round of offers works the
        # bids out once per such group, not once per unit.  A unit sees the
        # other groups as they are, and its own as the earliest free of
        # its group other than itself: when that one is free is what
        # differs within a group.
        if self.summary is None or self.summary.moved != state.moved:
            if self.layout is None or len(self.layout.group) != len(state.units):
                self.layout = _Layout.of(state.units)  # units joined
            self.summary = _Summary(state, self.layout)
        group = (unit.spec.klass, unit.spec.node)
        first = self.summary.best.get(group) is unit
        mate = self.summary.after.get(group) if first else self.summary.best.get(group)
        key = (
            group,
            None if mate is None else max(state.now, mate.busy_until),
            state.now,
            state.moved,
            self.pool.version,
            state.model.seen,
            tuple(state.dispatcher.price(k) for k in state.kinds),
        )
        got = self.memo.get(key)
        if got is None:
            if len(self.memo) > 64:
                self.memo.clear()
            got = self.memo[key] = (at, sel.bids(self.pool.features(at, unit, self.summary.without(unit))))
            self.worked += 1
        return got

    def pick(self, unit, state):
        if not self.pool.pos:  # nothing to bid for (most units, most of the time, on a large platform)
            return None
        at, bids = self._bids(unit, state)
        if not at.size:
            return None
        i = int(np.argmax(np.where(np.isnan(bids), -np.inf, bids)))
        if not bids[i] > 0:
            return None
        return self.pool.take(int(at[i]))

    def clear(self, state):
        best = None
        for u in state.units:
            at, bids = self._bids(u, state)
            if at.size:
                clean = np.where(np.isnan(bids), -np.inf, bids)
                i = int(np.argmax(clean))
                if best is None or clean[i] > best[0]:
                    best = (clean[i], u, int(at[i]))
        if best is None:
            raise RuntimeError("market: tasks wait that no unit can run")
        return best[1], self.pool.take(best[2])


class _Pool:
    """The market's ready tasks as columns, in the order they became
    ready, so that a unit's bids for all of them come from numpy, not from
    a loop over the tasks.  What depends on a task's kind, size and where
    its inputs are (its predicted run, its transfer, the best other unit's
    finish) is worked out once a pick for each *group* of tasks that share
    them; a task's group is found again once a task that used its inputs
    ends (their copies moved)."""

    def __init__(self, state: State, critical: list[float]):
        self.state = state
        self.kinds = {k: i for i, k in enumerate(state.kinds)}
        self.critical = critical
        self.tasks: list[Task | None] = []  # by position; None once taken
        self.pos: dict[int, int] = {}  # task -> its position
        self.cols = {k: np.empty(64) for k in ("kind", "size", "kbytes", "base", "critical", "ready", "group")}
        self.alive = np.zeros(64, dtype=bool)  # by position: not yet taken
        self.groups: dict[tuple, int] = {}  # (kind, size, where its inputs are) -> group
        self.readers: dict[str, set[int]] = collections.defaultdict(set)  # data -> the pooled tasks reading it
        self.stale: set[int] = set()  # tasks whose inputs moved since their group was found
        self.can: dict[str, np.ndarray] = {}  # unit class -> which kinds it runs
        self.version = 0  # bumped by every change of the tasks or of where their inputs are

    def _group(self, t: Task) -> int:
        copies = self.state.copies
        where = tuple(
            (u.handle.nbytes, frozenset(copies[u.handle.name]) if u.handle.name in copies else None)
            for u in t.uses
            if u.access.reads
        )
        key = (t.kind, t.size, where)
        return self.groups.setdefault(key, len(self.groups))

    def add(self, t: Task) -> None:
        self.version += 1
        n = len(self.tasks)
        if n == len(self.cols["kind"]):
            self._compact()
            n = len(self.tasks)
            if n * 2 > len(self.cols["kind"]):
                self.cols = {k: np.resize(v, 2 * len(v)) for k, v in self.cols.items()}
                self.alive = np.resize(self.alive, 2 * len(self.alive))
        c = self.cols
        self.alive[n] = True
        c["kind"][n] = self.kinds[t.kind]
        c["size"][n] = t.size
        c["kbytes"][n] = t.nbytes / 1024.0
        c["base"][n] = self.state.dispatcher.base(t)
        c["critical"][n] = self.critical[t.ident] * 1e6
        c["ready"][n] = self.state.ready_at.get(t.ident, self.state.now)
        c["group"][n] = self._group(t)
        self.tasks.append(t)
        self.pos[t.ident] = n
        for u in t.uses:
            if u.access.reads:
                self.readers[u.handle.name].add(t.ident)

    def _compact(self) -> None:
        keep = [i for i, t in enumerate(self.tasks) if t is not None]
        for k, v in self.cols.items():
            v[: len(keep)] = v[keep]
        self.alive[:] = False
        self.alive[: len(keep)] = True
        self.tasks = [self.tasks[i] for i in keep]
        self.pos = {t.ident: i for i, t in enumerate(self.tasks) if t is not None}

    def take(self, i: int) -> Task:
        t = self.tasks[i]
        assert t is not None
        self.version += 1
        self.tasks[i] = None
        self.alive[i] = False
        del self.pos[t.ident]
        self.stale.discard(t.ident)
        for u in t.uses:
            if u.access.reads:
                self.readers[u.handle.name].discard(t.ident)
        return t

    def moved(self, task: Task) -> None:
        """`task` ended: the copies of what it used changed."""
        self.version += 1
        for u in task.uses:
            self.stale |= self.readers.get(u.handle.name, set())

    def runnable(self, unit: UnitState) -> np.ndarray:
        """The positions of the tasks `unit` can run, oldest first."""
        if unit.gone or not self.pos:
            return np.empty(0, dtype=np.int64)
        klass = unit.spec.klass
        can = self.can.get(klass)
        if can is None:
            can = self.can[klass] = np.array([self.state.platform.can_run(k, klass) for k in self.kinds])
        n = len(self.tasks)
        return np.flatnonzero(self.alive[:n] & can[self.cols["kind"][:n].astype(np.int64)])

    def features(self, at: np.ndarray, unit: UnitState, near: "_Nearest") -> dict[str, np.ndarray]:
        """FEATURES of the tasks at positions `at`, as `unit` sees them
        (times in microseconds); `near`: the other units (`_nearest`)."""
        state, c, us = self.state, self.cols, 1e6
        for ident in self.stale:
            i = self.pos[ident]
            t = self.tasks[i]
            assert t is not None
            c["group"][i] = self._group(t)
        self.stale.clear()
        kind = c["kind"][at].astype(np.int64)
        counts = np.bincount(kind, minlength=len(self.kinds))
        backlog = {k: int(counts[i]) for k, i in self.kinds.items()}
        others = _Others(near, state, backlog)
        group = c["group"][at].astype(np.int64)
        present, first = np.unique(group, return_index=True)
        table = np.zeros((int(present.max()) + 1, 3))
        for g, i in zip(present.tolist(), at[first].tolist()):
            t = self.tasks[i]  # the group's first task: its inputs are where the group's are
            assert t is not None
            table[g] = (
                state.predicted(t, unit) * us,
                state.transfer(t, unit) * us,
                (others.best(t) - state.now) * us,
            )
        predicted, transfer, other = table[group, 0], table[group, 1], table[group, 2]
        mine = predicted + transfer
        advantage = np.full(len(at), np.inf)
        np.divide(other, mine, out=advantage, where=mine > 0)
        prices = np.array([state.dispatcher.price(k) for k in self.kinds])
        cols = {
            "kind": kind.astype(np.float64),
            "size": c["size"][at],
            "kbytes": c["kbytes"][at],
            "reward": c["base"][at] * prices[kind],
            "predicted": predicted,
            "transfer": transfer,
            "others": other,
            "advantage": advantage,
            "waited": (state.now - c["ready"][at]) * us,
            "critical": c["critical"][at],
            "queued": np.full(len(at), float(len(at))),
        }
        return {k: cols[k] for k in FEATURES}


@dataclass
class _Nearest:
    """The units other than one, by group (class and memory node): within
    a group only the earliest free matters (`groups`), and how many units
    the group has, that one included (`size`)."""

    groups: dict[tuple[str, int], UnitState]
    size: collections.Counter
    # where `groups` is a summary's but for the group `own`, the summary,
    # whose rows for every other group are shared by all its views
    summary: "_Summary | None" = None
    own: tuple[str, int] | None = None


def _nearest(unit: UnitState, state: State) -> _Nearest:
    """The units other than `unit`, by group."""
    return _Summary(state, _Layout.of(state.units)).without(unit)


@dataclass
class _Layout:
    """Which group (class and memory node) each unit is in, numbered in
    the order the groups first appear among the units."""

    keys: list[tuple[str, int]]
    group: np.ndarray  # by unit index

    @staticmethod
    def of(units: list[UnitState]) -> "_Layout":
        number: dict[tuple[str, int], int] = {}
        group = [number.setdefault((o.spec.klass, o.spec.node), len(number)) for o in units]
        return _Layout(list(number), np.array(group, dtype=np.int64))


class _Summary:
    """The units by group, worked out once for as long as none of them
    moves (State.moved): each group's earliest free unit (the first in
    unit order among equals), the one after it, and the group's size."""

    def __init__(self, state: State, layout: _Layout):
        self.moved = state.moved
        self.best: dict[tuple[str, int], UnitState] = {}
        self.after: dict[tuple[str, int], UnitState] = {}
        self.size: collections.Counter = collections.Counter()
        # _Others' rows of every group and each group's row, by the time and what they depend on
        self.rows: dict[tuple, tuple[list, dict[tuple[str, int], int]]] = {}
        self._nodes: tuple[dict[int, list[tuple[str, int]]], list[str]] | None = None
        units = state.units
        busy = state.busy
        alive = np.flatnonzero(state.alive)
        group = layout.group[alive]
        # by group, then free time, then unit order: each group's first two
        order = alive[np.lexsort((alive, busy[alive], group))]
        by = layout.group[order]
        starts = np.flatnonzero(np.r_[True, by[1:] != by[:-1]]) if len(order) else np.empty(0, dtype=np.int64)
        ends = np.r_[starts[1:], len(order)]
        for a, b in zip(starts.tolist(), ends.tolist()):
            key = layout.keys[int(by[a])]
            self.best[key] = units[int(order[a])]
            if b - a > 1:
                self.after[key] = units[int(order[a + 1])]
            self.size[key] = b - a

    def without(self, unit: UnitState) -> _Nearest:
        """The units other than `unit`, the earliest free of its group."""
        key = (unit.spec.klass, unit.spec.node)
        if self.best.get(key) is not unit:
            return _Nearest(self.best, self.size, self)  # read only, so not copied
        groups = dict(self.best)
        if key in self.after:
            groups[key] = self.after[key]
        else:
            del groups[key]
        return _Nearest(groups, self.size, self, key)

    def nodes(self) -> tuple[dict[int, list[tuple[str, int]]], list[str]]:
        """The groups on each node, and the classes (`_by_node` of `best`)."""
        if self._nodes is None:
            self._nodes = _by_node(self.best)
        return self._nodes


def _by_node(groups: dict[tuple[str, int], UnitState]) -> tuple[dict[int, list[tuple[str, int]]], list[str]]:
    on_node: dict[int, list[tuple[str, int]]] = collections.defaultdict(list)
    for key in groups:
        on_node[key[1]].append(key)
    return on_node, sorted({klass for klass, _ in groups})


class _Others:
    """dmda's estimate of a task on the best group of units other than
    one (`_nearest`), after that group has shared out the ready tasks of
    the task's kind ahead of it.  Groups whose node holds none of the task's
    data differ only in when they are free and in their size, so they are
    visited in that order, those alike in both as one, and the first
    suffice: the cost per task grows with the nodes that hold its data and
    the distinct times units are free, not with the machine count."""

    def __init__(self, near: _Nearest, state: State, backlog: dict[str, int]):
        self.state, self.backlog = state, backlog
        self.groups, self.size = near.groups, near.size
        self.near = near
        # a view of a summary holds its groups, or all but its own
        self.on_node, self.classes = near.summary.nodes() if near.summary is not None else _by_node(self.groups)
        self.sorted: dict[tuple[str, int, str], list[tuple[float, tuple[tuple[str, int], ...]]]] = {}
        self.predictions: dict[tuple[str, int, str], float] = {}  # (kind, size, class) -> the model's time

    def _predicted(self, t: Task, o: UnitState) -> float:
        key = (t.kind, t.size, o.spec.klass)
        p = self.predictions.get(key)
        if p is None:
            p = self.predictions[key] = self.state.predicted(t, o)
        return p

    def exact(self, t: Task, key: tuple[str, int]) -> float:
        o = self.groups[key]
        p = self._predicted(t, o)
        return self.state.finish_estimate(t, o, p) + self.backlog[t.kind] * p / self.size[key]

    def _by_free(self, t: Task, klass: str) -> list[tuple[float, tuple[tuple[str, int], ...]]]:
        """The groups of `klass` by their estimate less the transfer, those
        free at the same time and of the same size in one row."""
        ident = (t.kind, t.size, klass)
        if ident not in self.sorted:
            shared = self.near.summary
            if shared is None:
                self.sorted[ident] = self._rows(t, klass, self.groups)
            else:  # the summary's rows, this view's own group put right
                at = (self.state.now, self.state.model.seen, t.kind, t.size, klass, self.backlog[t.kind])
                got = shared.rows.get(at)
                if got is None:
                    if len(shared.rows) > 256:
                        shared.rows.clear()
                    rows = self._rows(t, klass, shared.best)
                    got = shared.rows[at] = (rows, {k: i for i, (_, keys) in enumerate(rows) for k in keys})
                rows, row_of = got
                own = self.near.own
                if own is not None and own[0] == klass:
                    i = row_of[own]
                    rest = tuple(k for k in rows[i][1] if k != own)
                    rows = rows[:i] + ([(rows[i][0], rest)] if rest else []) + rows[i + 1 :]
                    if own in self.groups:
                        bisect.insort(rows, self._rows(t, klass, {own: self.groups[own]})[0], key=_first)
                self.sorted[ident] = rows
        return self.sorted[ident]

    def _rows(self, t: Task, klass: str, groups: dict[tuple[str, int], UnitState]) -> list:
        """The groups of `klass` among `groups` as `_by_free` has them."""
        alike: dict[tuple[float, int], list[tuple[str, int]]] = {}
        p = None  # one class, one prediction
        for key, o in groups.items():
            if key[0] == klass:
                if p is None:
                    p = self._predicted(t, o)
                alike.setdefault((max(self.state.now, o.busy_until), self.size[key]), []).append(key)
        if p is None:
            return []
        rows = [(free + p + self.backlog[t.kind] * p / size, tuple(keys)) for (free, size), keys in alike.items()]
        rows.sort(key=_first)
        return rows

    def best(self, t: Task) -> float:
        state = self.state
        holders = state.holders(t)
        full = 0.0  # the transfer to a node that holds none of its data
        for use in t.uses:
            if use.access.reads:
                full += state.platform.latency + use.handle.nbytes / state.platform.bandwidth
        best = float("inf")
        for node in holders:
            for key in self.on_node.get(node, ()):
                if key in self.groups and state.platform.can_run(t.kind, key[0]):
                    best = min(best, self.exact(t, key))
        for klass in self.classes:
            if not state.platform.can_run(t.kind, klass):
                continue
            for free, keys in self._by_free(t, klass):
                if free + full > best + 1e-12 * (abs(best) + abs(free) + full):
                    break  # the rest are later still (the margin covers rounding)
                # groups alike on nodes without its data are estimated alike: one stands for all
                alike = next((k for k in keys if k[1] not in holders), None)
                if alike is not None:
                    best = min(best, self.exact(t, alike))
        return best


def _first(row: tuple) -> float:
    return row[0]


POLICIES: dict[str, Callable[[], Policy]] = {"eager": Eager, "random": Random, "ws": WorkStealing, "dmda": Dmda}
NAMES = (*POLICIES, "market")


def by_name(name: str, selectors: dict[str, Selector]) -> Policy:
    """A fresh policy: one of POLICIES, or "market" bidding with `selectors`."""
    return Market(selectors) if name == "market" else POLICIES[name]()
