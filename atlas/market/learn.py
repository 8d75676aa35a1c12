"""Learning beside execution: a market evolves its selectors on the
records of the run in progress and swaps the winners in while it runs.

Every `every` tasks done, while no lesson is out, the market hands its
learner a *lesson*: the last `window` tasks released so far (none still
to come, so the replay never sees the future), re-numbered from 0, with
their records and the selectors in use.  The learner evolves selectors
on the lesson's replay (evolve.evolve, the selectors in use in its first
generation) and answers with the winner where it earns more than the
selectors in use on the same replay; the market swaps it in between two
rounds of bids (policies.Market.swap), so no round mixes two selectors.

A real market learns in a process of its own, on a core its daemons do
not use where there is one, else at the lowest priority, which also
compiles the winner with Atlas (`build`): the task path pays for taking
the snapshot, every `every` tasks, and for loading a winner's library,
and nothing else.  The
simulator learns inline, deterministic per seed, and swaps the winner in
`every` tasks after the lesson was taken, as learning takes time."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import evolve
from .models import PerfModel
from .records import DONE, Ledger
from .selector import Selector
from .sim import Platform, Run, TaskTimes
from .tasks import TaskGraph


# the run so far: its graph, platform, each task's times and the records
SoFar = tuple[TaskGraph, Platform, list[TaskTimes], np.ndarray]


@dataclass(frozen=True)
class Plan:
    """How a market learns while it runs."""

    every: int = 200  # tasks done between lessons
    window: int = 1000  # the latest tasks released that a lesson holds, at most
    generations: int = 4
    population: int = 12
    seeds: tuple[int, ...] = (1, 2)  # the replay's seeds (one where run times do not vary)
    seed: int = 0  # the evolution's


@dataclass(frozen=True)
class Lesson:
    """What a learner is given: plain data, so that it crosses to another
    process (no ledger closure, no task arguments)."""

    graph: TaskGraph
    platform: Platform
    times: list[TaskTimes]
    records: np.ndarray  # DONE records of the lesson's tasks, re-numbered
    texts: dict[str, str]  # the selectors in use, per unit class
    done: int  # tasks done in the run when it was taken
    plan: Plan

    def run(self) -> Run:
        ledger = Ledger(max(1, len(self.records)))
        for r in self.records.tolist():
            ledger.append(*r[:9])  # the record's fields, its lap's mark left out
        return Run("lesson", self.platform, self.graph, self.times, [], ledger, PerfModel())


@dataclass(frozen=True)
class Swap:
    """Selectors a lesson found, that earn more than those in use on its replay."""

    texts: dict[str, str]
    before: float  # the replay's earnings with the selectors in use
    after: float  # with these
    done: int  # tasks done in the run when the lesson was taken
    tasks: int  # tasks in the lesson
    at: float = 0.0  # the run's clock when they were swapped in (set by the market)
    folders: dict[str, str] = field(default_factory=dict)  # their rounds, compiled by the learner

    def selectors(self) -> dict[str, Selector]:
        """The selectors, bidding through their compiled rounds where the
        learner compiled them."""
        out = {}
        for k, t in self.texts.items():
            sel = Selector.parse(t, f"<learned {k} selector>")
            out[k] = sel.loaded(Path(self.folders[k])) if k in self.folders else sel
        return out


def lesson(
    graph: TaskGraph,
    platform: Platform,
    times: list[TaskTimes],
    records: np.ndarray,
    now: float,
    texts: dict[str, str],
    plan: Plan,
) -> Lesson:
    """The run so far as a lesson: its latest `plan.window` tasks released
    by `now`, dependencies between them only (one on a task left out is
    met), releases counted from the first of them."""
    released = [t for t in graph.tasks if t.release <= now][-plan.window :]
    base = released[0].release if released else 0.0
    small = TaskGraph()
    new: dict[int, int] = {}
    for t in released:
        new[t.ident] = small.submit(replace(t, args=(), ident=-1, deps=(), needs=(), release=t.release - base)).ident
    kept = records[(records["outcome"] == DONE) & np.isin(records["task"], list(new))].copy()
    kept["task"] = [new[int(i)] for i in kept["task"]]
    done = int(np.count_nonzero(records["outcome"] == DONE))
    return Lesson(small, platform, [replace(times[t.ident]) for t in released], kept, texts, done, plan)


def study(lesson: Lesson) -> Swap | None:
    """Evolve on the lesson's replay; the winner where it earns more than
    the selectors in use."""
    plan = lesson.plan
    start = {k: Selector.parse(t, f"<{k} selector in use>") for k, t in lesson.texts.items()}
    seeds = plan.seeds if lesson.platform.noise > 0 else plan.seeds[:1]
    ev = evolve.evolve(
        lesson.run(), generations=plan.generations, population=plan.population, seeds=seeds, seed=plan.seed, start=start
    )
    if not ev.earnings > ev.initial:
        return None
    texts = {k: s.text for k, s in ev.selectors.items()}
    return Swap(texts, ev.initial, ev.earnings, lesson.done, len(lesson.graph))


class Learner:
    """Gives lessons and takes back what they found.  `inline`: study each
    lesson at once and hand its answer back `plan.every` tasks later (the
    simulator); else in a process of its own (`start`, `close`), which
    `close` stops even mid-lesson."""

    def __init__(
        self,
        plan: Plan = Plan(),
        *,
        inline: bool = False,
        spare: frozenset[int] = frozenset(),
        build: tuple[Any, Path] | None = None,
    ):
        """`build`: (probe, folder) to compile each winner's round for, in
        the learner's process, so that the market loads it compiled."""
        self.plan, self.inline, self.spare, self.build = plan, inline, spare, build
        self.given = 0  # lessons given
        self.swaps: list[Swap] = []
        self._last = 0  # tasks done at the last lesson
        self._busy = False  # a lesson is out with the process
        self._gone = False  # the process died: no more lessons
        self._answer: tuple[int, Swap | None] | None = None  # inline: (due at tasks done, answer)
        self._proc: Any = None  # a forkserver Process
        self._conn: Any = None  # our end of its pipe

    def start(self) -> None:
        if self.inline or self._proc is not None:
            return
        ctx = multiprocessing.get_context("forkserver")
        self._conn, theirs = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(theirs, self.spare, self.build), name="atlas-learner", daemon=True)
        proc.start()  # started now, before the run's clock, not on the task path
        self._proc = proc
        theirs.close()

    def due(self, done: int) -> bool:
        """Whether to take a lesson now (none out, `every` tasks since the last)."""
        idle = not self._busy and not self._gone and self._answer is None
        return idle and done - self._last >= self.plan.every

    def give(self, lesson: Lesson) -> None:
        self._last = lesson.done
        self.given += 1
        if self.inline:
            self._answer = (lesson.done + self.plan.every, study(lesson))
            return
        if self._conn is None:
            raise RuntimeError("Learner.start first")
        self._conn.send(lesson)
        self._busy = True

    def take(self, done: int, now: float) -> Swap | None:
        """What a finished lesson found, when there is something to swap in."""
        got: Swap | None = None
        if self._answer is not None and done >= self._answer[0]:
            got, self._answer = self._answer[1], None
        elif self._busy and self._conn is not None and self._conn.poll():
            self._busy = False
            try:
                got = self._conn.recv()
            except EOFError:  # the learner's process is gone: the market bids on with what it has
                self._gone = True
        if got is None:
            return None
        got = replace(got, at=now)
        self.swaps.append(got)
        return got

    def tick(self, market, done: int, now: float, view: Callable[[], SoFar]) -> None:
        """Between two rounds of bids: swap in what a lesson found, and give
        the next lesson when one is due.  `market`: a policies.Market;
        `view()`: the run so far (graph, platform, times, records)."""
        got = self.take(done, now)
        if got is not None:
            market.swap(got.selectors())
        if self.due(done):
            texts = {k: s.text for k, s in market.selectors.items()}
            graph, platform, times, records = view()
            self.give(lesson(graph, platform, times, records, now, texts, self.plan))

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join()
            self._proc = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._busy = False


def _serve(conn, spare: frozenset[int], build: tuple[Any, Path] | None) -> None:
    """The learner's process: lessons in, answers out (their rounds
    compiled, where `build` says for what and where), until the pipe closes."""
    _aside(spare)
    given = 0
    while True:
        try:
            lesson = conn.recv()
        except EOFError:
            return
        given += 1
        got = study(lesson)
        if got is not None and build is not None:
            probe, root = build
            folders = {}
            for k, text in got.texts.items():
                where = Path(root) / f"lesson{given}-{k}"
                Selector.parse(text).build_round(probe, where)
                folders[k] = str(where)
            got = replace(got, folders=folders)
        conn.send(got)


def _aside(spare: frozenset[int]) -> None:
    """The learner's process keeps out of the daemons' way: on the cores
    they do not use, else below them."""
    if spare and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, spare)
    else:
        os.nice(19)
