"""The dispatcher: what a task pays, and how the price is steered.

A task's reward is its kind's price times its weight.  In a graph the
weight is its nominal work (microseconds on the fastest class that can
run it), doubled at most for a task on a long path to the end of the
graph.  In a stream every task weighs the same (times its own `reward`),
so that what the units earn is the stream's mean inverse stretch: with
weights by work, evolution found selectors that earned 2.2 times as much
by leaving the CPU cores idle and the small tasks waiting behind the
GPU's large ones, at 90 times the p95 latency.  Prices are steered as the
market runs: a kind whose ready tasks pile up pays more, in proportion to
its share of the queue.

What is paid follows the goal.  Independent tasks (`latency`) pay their
reward if done by their deadline (Task.deadline after the release, else
twice the nominal time) and in proportion to how much longer they took
beyond it: a task that took four times its allowed time pays a quarter
(the inverse of its stretch, the usual measure of a stream's latency).  A
graph (`makespan`) is paid when it is done: every task its reward, if the
graph ends by the dispatcher's own plan (HEFT's list schedule on the
nominal times, or the lower bounds where they are later), and half as
much for every quarter of the plan later.  Per-task payments for a graph
were tried and dropped: with rewards decaying per task, greedy schedules
that finish many tasks early out-earned ones with a shorter makespan.
So the units earn most by doing what the system wants: the graph soon,
the stream promptly."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .sim import State
from .tasks import Task


@dataclass
class Dispatcher:
    goal: str = "auto"  # "makespan", "latency", or "auto": makespan when tasks depend on each other
    steer: bool = True

    def start(self, state: State) -> None:
        tasks = state.graph.tasks
        nominal = state.platform.nominals(tasks)
        levels = state.graph.bottom_levels(nominal)
        top = max(levels, default=0.0) or 1.0
        goal = self.goal
        if goal == "auto":
            goal = "makespan" if any(t.deps for t in tasks) else "latency"
        if goal not in ("makespan", "latency"):
            raise ValueError(f"unknown goal {self.goal!r} (makespan, latency or auto)")
        self.deferred = goal == "makespan"
        # a graph's task weighs its work; a stream's each count once (see the module's note)
        if self.deferred:
            self.weight = [n * 1e6 * (1.0 + lv / top) for n, lv in zip(nominal, levels)]
        else:
            self.weight = [1.0] * len(tasks)
        # makespan: the plan's end (a stream's payments do not use it); latency:
        # each task's release plus twice its nominal time
        self._aim(state, levels, top)
        self.deadline = [t.release + 2 * n for t, n in zip(tasks, nominal)]
        for t in tasks:
            if t.deadline is not None:
                self.deadline[t.ident] = t.release + t.deadline
        # kinds whose nominal time on some class no history gave (a guess,
        # or the search's timing at other sizes): their tasks' deadlines are
        # judged by the times the run sees instead
        self.state = state
        self.unseen = {k for k, _ in state.platform.unseen}
        self.queued: dict[str, int] = {k: 0 for k in state.kinds}
        self.total_queued = 0

    def replan(self, state: State) -> None:
        """The graph's plan made again on `state`'s platform (one whose
        costs are the times seen in the run), where the first was made
        without history; what each task was paid when taken is left as it
        was."""
        if self.deferred:
            levels = state.graph.bottom_levels(state.platform.nominals(state.graph.tasks))
            self._aim(state, levels, max(levels, default=0.0) or 1.0)

    def _aim(self, state: State, levels: list[float], top: float) -> None:
        """The end a graph is paid against (its plan's, or the lower bounds
        where they are later), and the lateness that halves its pay."""
        self.target = max(max(plan(state, levels), default=0.0), area(state), top) if self.deferred else top
        self.half_life = self.target / 4

    def price(self, kind: str) -> float:
        if not self.steer or self.total_queued == 0:
            return 1.0
        return 1.0 + self.queued[kind] / self.total_queued

    def reward(self, task: Task, state: State) -> float:
        return self.base(task) * self.price(task.kind)

    def base(self, task: Task) -> float:
        """The reward before its kind's price (the part that does not change)."""
        return task.reward * self.weight[task.ident]

    def became_ready(self, task: Task) -> None:
        self.queued[task.kind] += 1
        self.total_queued += 1

    def taken(self, task: Task) -> None:
        self.queued[task.kind] -= 1
        self.total_queued -= 1

    def pay(self, task: Task, reward: float, end: float) -> float:
        """What `task`, taken at `reward`, pays when it is done at `end`:
        for a graph nothing yet (see `settle`); for a stream its reward
        scaled by its allowed time over its time in the system, at most 1
        (the inverse of its stretch, counted against its deadline)."""
        if self.deferred:
            return 0.0
        allowed = self.deadline[task.ident] - task.release
        if task.kind in self.unseen and task.deadline is None:
            allowed = 2 * self._seen(task)
        took = end - task.release
        return reward * min(1.0, allowed / took) if took > 0 else reward

    def _seen(self, task: Task) -> float:
        """The task's nominal time by the model as it stands (the history
        holds this task's own run by now), the start's guess where it
        holds nothing of the kind."""
        platform, model = self.state.platform, self.state.model
        seen = [model.predict(task.kind, task.size, c) for c in platform.classes() if platform.can_run(task.kind, c)]
        known = [p for p in seen if p is not None]
        return min(known) if known else platform.nominal(task)

    def settle(self, makespan: float) -> float:
        """For a graph, paid when it is done: the share of each task's
        reward that the graph's end earns (1 by the plan's end)."""
        return self._late(1.0, makespan - self.target) if self.deferred else 0.0

    def _late(self, reward: float, late: float) -> float:
        return reward * 0.5 ** (max(0.0, late) / max(self.half_life, 1e-12))


def area(state: State) -> float:
    """The time the graph's work takes when it is spread over the units
    fractionally, each piece on a class that can run it, ignoring the
    order between tasks: a binary search on the time, filling each kind's
    work into its classes fastest first, the kinds with the strongest
    preference first (exact for two classes, an estimate beyond)."""
    platform = state.platform
    classes = platform.classes()
    count = {k: sum(1 for u in state.units if u.spec.klass == k) for k in classes}
    work: dict[str, dict[str, float]] = {}
    for t in state.graph.tasks:
        per = work.setdefault(t.kind, {})
        for c in classes:
            if platform.can_run(t.kind, c):
                per[c] = per.get(c, 0.0) + platform.mean(t, c)

    def strength(kind: str) -> float:
        times = sorted(work[kind].values())
        return times[1] / times[0] if len(times) > 1 and times[0] > 0 else float("inf")

    order = sorted(work, key=strength, reverse=True)

    def fits(T: float) -> bool:
        room = {c: T * count[c] for c in classes}
        for kind in order:
            left = 1.0  # the fraction of this kind's work still to place
            for c in sorted(work[kind], key=lambda c: work[kind][c]):
                if left <= 0:
                    break
                take = min(left, room[c] / work[kind][c]) if work[kind][c] > 0 else left
                room[c] -= take * work[kind][c]
                left -= take
            if left > 1e-9:
                return False
        return True

    lo, hi = 0.0, sum(min(w.values()) for w in work.values()) + 1e-12
    while not fits(hi):
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi


def plan(state: State, levels: list[float]) -> list[float]:
    """Each task's finish time in the dispatcher's own plan: HEFT's list
    schedule (tasks by their path to the end, each to the unit where it
    ends first) on the nominal run times, transfers left out."""
    platform = state.platform
    tasks = state.graph.tasks
    free = [0.0] * len(state.units)
    finish = [0.0] * len(tasks)
    runnable: dict[tuple[str, int], list[tuple[int, float]]] = {}  # (kind, size) -> (unit, mean run time)
    # the longest path first, ties in submission order (a reversed sort keeps it)
    for i in sorted(range(len(tasks)), key=levels.__getitem__, reverse=True):
        t = tasks[i]
        start = max([finish[d] for d in t.deps]) if t.deps else 0.0
        start = max(start, t.release)
        where = runnable.get((t.kind, t.size))
        if where is None:
            where = runnable[(t.kind, t.size)] = [
                (u.index, platform.mean(t, u.spec.klass)) for u in state.units if platform.can_run(t.kind, u.spec.klass)
            ]
        best, unit = math.inf, -1
        for u, mean in where:  # the first unit in order where it ends soonest
            end = max(start, free[u]) + mean
            if end < best:
                best, unit = end, u
        if unit < 0:
            raise ValueError(f"no unit can run a task of kind {t.kind}")
        free[unit] = finish[i] = best
    return finish
