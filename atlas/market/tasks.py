"""Tasks, the data they touch, and the order between them.

A task is one call of a compiled function: a kind (the function, for the
performance models and the selectors), a size, the data handles it reads
and writes, a reward and an optional deadline.  Dependencies are not
written by hand: as in StarPU's sequential consistency, a task waits for
the last earlier writer of every handle it reads (read after write) and,
when it writes a handle, for every earlier reader and writer of it since
that writer (write after read, write after write).  So a program that
submits tasks in the order a sequential loop would run them gets the
sequential loop's results, whatever the units do in parallel."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Access(enum.Enum):
    R = "r"
    W = "w"
    RW = "rw"

    @property
    def reads(self) -> bool:
        return self is not Access.W

    @property
    def writes(self) -> bool:
        return self is not Access.R


@dataclass(frozen=True)
class Handle:
    """A piece of data tasks share (an array, a tile): its name and size.
    Where it currently lives is the market's business, not the handle's."""

    name: str
    nbytes: int


@dataclass(frozen=True)
class Use:
    handle: Handle
    access: Access


@dataclass
class Task:
    """One call to run.  `ident` is its place in submission order (set by
    the graph); `deps` the tasks it waits for (set by the graph from `uses`)."""

    kind: str
    size: int
    uses: tuple[Use, ...] = ()
    reward: float = 1.0
    deadline: float | None = None  # seconds after release; None: none
    release: float = 0.0  # when it is submitted (seconds, the workload's clock)
    args: tuple = ()  # what a real run passes to the function; the simulator ignores it
    ident: int = -1
    deps: tuple[int, ...] = ()
    needs: tuple[int, ...] = ()  # the deps whose written data it reads (the others only order it)

    @property
    def nbytes(self) -> int:
        return sum(u.handle.nbytes for u in self.uses)


@dataclass
class _Last:
    """Per handle: its last writer and the readers since."""

    writer: int | None = None
    readers: list[int] = field(default_factory=list)


class TaskGraph:
    """Tasks in submission order, each with the dependencies its data
    accesses imply."""

    def __init__(self) -> None:
        self.tasks: list[Task] = []
        self._last: dict[str, _Last] = {}

    def submit(self, task: Task) -> Task:
        deps: set[int] = set()
        needs: set[int] = set()
        for use in task.uses:
            last = self._last.setdefault(use.handle.name, _Last())
            if use.access.reads and last.writer is not None:
                deps.add(last.writer)
                needs.add(last.writer)
            if use.access.writes:
                deps.update(last.readers)
                if last.writer is not None:
                    deps.add(last.writer)
        task.ident = len(self.tasks)
        deps.discard(task.ident)
        task.deps = tuple(sorted(deps))
        task.needs = tuple(sorted(needs))
        for use in task.uses:
            last = self._last[use.handle.name]
            if use.access.writes:
                last.writer, last.readers = task.ident, []
            elif use.access.reads:
                last.readers.append(task.ident)
        self.tasks.append(task)
        return task

    def __len__(self) -> int:
        return len(self.tasks)

    def successors(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.tasks]
        for t in self.tasks:
            for d in t.deps:
                out[d].append(t.ident)
        return out

    def bottom_levels(self, costs: list[float]) -> list[float]:
        """Each task's longest path to the end, its own cost included, with
        `costs[ident]` per task (the critical path that HEFT ranks by)."""
        succ = self.successors()
        level = [0.0] * len(self.tasks)
        for i in range(len(self.tasks) - 1, -1, -1):  # successors come later in submission order
            after = succ[i]
            level[i] = costs[i] + (max([level[s] for s in after]) if after else 0.0)
        return level
