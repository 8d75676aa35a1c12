"""The market on this machine: a daemon per CPU core, running Atlas's
compiled functions on arrays in shared memory, chosen by the same
policies and selectors as the simulator.

Each daemon is a process pinned to its core.  It loads the registered
artefacts once, then takes one task at a time from its pipe, calls the
native function on the shared arrays, appends one record to its ledger
(shared memory, records.Ledger) and says it is done; it does nothing else.
A daemon holds up to `prefetch` tasks beyond the one it runs, in its pipe
(as StarPU's workers hold theirs in a queue), so that it never waits for
the market's round trip between two tasks.
The market (this process) keeps the graph, the policy, the history model
and the dispatcher, and watches the daemons:

- a daemon that dies mid-task (a crash, `kill -9`) or runs a task past
  its timeout (it is then killed) is started again on its core; the task
  is run again (`retries` times, its written arrays first put back as they
  were before it started) or reported failed, and then so are the tasks
  that depend on it;
- each task completes once: a late word from a daemon that was replaced
  is ignored.

`inject` is for tests: task ident -> "crash" (the daemon scribbles on the
task's written arrays and exits), "hang" (it never answers), or "kill"
(the market sends it SIGKILL once the task has started)."""

from __future__ import annotations

import multiprocessing as mp
import os
import selectors
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

from ..machine import runtime
from ..meaning import ir
from ..meaning.interp import dtype
from .dispatch import Dispatcher
from .models import PerfModel
from .records import DONE, FAILED, REQUEUED, RECORD_BYTES, Ledger
from .sim import HOST, Cost, Platform, Run, State, TaskTimes, UnitSpec, settle
from .tasks import Access, Handle, Task, TaskGraph, Use

LEDGER_RECORDS = 1 << 14  # per daemon: a ring, read after the run


class MarketError(RuntimeError):
    pass


@dataclass
class Data:
    """An array in shared memory that tasks read and write: its handle
    (for the dependencies) and the market's view of it."""

    handle: Handle
    shm: shared_memory.SharedMemory
    dtype: str
    length: int

    @property
    def array(self) -> np.ndarray:
        return np.ndarray((self.length,), dtype=self.dtype, buffer=self.shm.buf)


@dataclass
class _Call:
    function: str
    library: int  # index into the registered artefacts
    args: tuple  # ("data", shm name, dtype, length, written) or ("value", python scalar)


@dataclass
class _Daemon:
    core: int
    index: int
    process: mp.process.BaseProcess | None = None
    conn: Any = None  # the market's end of its pipe
    ledger_shm: shared_memory.SharedMemory | None = None
    generation: int = 0
    inflight: deque = field(default_factory=deque)  # (task, attempt) sent, in the order it runs them
    since: float = 0.0  # when the first of them started, at the latest
    restarts: int = 0

    @property
    def task(self) -> int | None:
        """The task it runs now (the first one sent and not answered)."""
        return self.inflight[0][0] if self.inflight else None


@dataclass
class Outcome:
    run: Run
    failed: dict[int, str] = field(default_factory=dict)  # task -> why (its dependents: "a task it needs failed")
    restarts: int = 0  # daemons started again
    retried: int = 0  # task runs repeated after a failure
    executed: np.ndarray | None = None  # the records the daemons wrote (records.DTYPE), their clock


def _serve(core: int, conn, ledger_name: str, capacity: int, artefacts: list[str], unit: int) -> None:
    """A daemon's life: pinned to `core`, one task at a time."""
    try:
        os.sched_setaffinity(0, {core})
    except (AttributeError, OSError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the market's to handle
    libs = [runtime.load(p) for p in artefacts]
    ledger_shm = shared_memory.SharedMemory(name=ledger_name)
    ledger = Ledger(capacity, buffer=ledger_shm.buf)
    mapped: dict[str, shared_memory.SharedMemory] = {}
    conn.send(("up",))
    while True:
        msg = conn.recv()
        if msg is None:
            break
        ident, attempt, call, kind, reward, nbytes, fault = msg
        args = []
        for a in call.args:
            if a[0] == "data":
                shm = mapped.get(a[1])
                if shm is None:
                    shm = mapped[a[1]] = shared_memory.SharedMemory(name=a[1])
                args.append(np.ndarray((a[3],), dtype=a[2], buffer=shm.buf))
            else:
                args.append(a[1])
        if fault == "crash":
            for a, x in zip(call.args, args):
                if a[0] == "data" and a[4]:
                    x[:] = 0  # half-done work the market must undo
            os._exit(3)
        if fault == "hang":
            while True:
                time.sleep(3600)
        start = time.perf_counter()
        error = None
        try:
            libs[call.library][call.function](*args)
        except Exception as exc:  # a call the contract refuses: reported, the daemon lives on
            error = f"{type(exc).__name__}: {exc}"
        end = time.perf_counter()
        ledger.append(kind, unit, DONE if error is None else FAILED, ident, start, end, 0.0, reward, nbytes)
        conn.send(("done", ident, attempt, start, end, error))
    conn.send(("bye", ledger.written))  # how many records the market may read back
    del ledger
    for shm in mapped.values():
        shm.close()
    ledger_shm.close()


class Market:
    """Tasks on this machine's cores.  Register artefacts, put arrays in
    shared memory (`data`), submit calls, `run` them all."""

    def __init__(self, cores: list[int] | None = None, *, timeout: float = 60.0, retries: int = 1, prefetch: int = 1):
        self.cores = sorted(cores if cores is not None else os.sched_getaffinity(0))
        self.timeout, self.retries, self.prefetch = timeout, retries, prefetch
        self.graph = TaskGraph()
        self.artefacts: list[str] = []
        self.libraries: list[runtime.Library] = []
        self.functions: dict[str, tuple[int, ir.Function]] = {}
        self.calls: dict[int, _Call] = {}
        self.data: list[Data] = []
        self._ctx = mp.get_context("forkserver")

    # -- what the user gives it
    def register(self, path) -> list[str]:
        """An artefact folder (atlas compile's output); its functions become task kinds."""
        lib = runtime.load(path)
        for name in lib.functions:
            if name in self.functions:
                raise MarketError(f"{path}: function {name} is registered twice")
            self.functions[name] = (len(self.libraries), lib.manifest.functions[name].function)
        self.artefacts.append(str(Path(path).resolve()))
        self.libraries.append(lib)
        return lib.functions

    def put(self, array: np.ndarray, name: str | None = None) -> Data:
        """A copy of `array` in shared memory, for tasks to use."""
        a = np.ascontiguousarray(array).reshape(-1)
        shm = shared_memory.SharedMemory(create=True, size=max(1, a.nbytes))
        d = Data(Handle(name or f"data{len(self.data)}", a.nbytes), shm, a.dtype.str, a.size)
        d.array[:] = a
        self.data.append(d)
        return d

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
                if not isinstance(a, Data):
                    raise MarketError(f"{function}: '{p.name}' is an array: pass the Data that Market.put made")
                if np.dtype(a.dtype) != dtype(p.ty.elem):
                    raise MarketError(f"{function}: '{p.name}' holds {p.ty.elem}, the data is {np.dtype(a.dtype)}")
                uses.append(Use(a.handle, Access.RW if p.ty.mutable else Access.R))
                wire.append(("data", a.shm.name, a.dtype, a.length, p.ty.mutable))
                size = max(size, a.length)
            else:
                wire.append(("value", a))
        task = self.graph.submit(Task(function, size, tuple(uses), reward=reward, deadline=deadline))
        self.calls[task.ident] = _Call(function, lib, tuple(wire))
        return task

    # -- running
    def run(
        self,
        policy,
        *,
        model: PerfModel | None = None,
        inject: dict[int, str] | None = None,
        seed: int = 0,
        progress=None,
    ) -> Outcome:
        """Run every submitted task; an Outcome (the Run, what failed).
        `progress(done, failed, total)` is called as tasks end."""
        session = _Session(self, policy, model or PerfModel(), inject or {}, seed)
        session.progress = progress
        return session.go()

    def close(self) -> None:
        for d in self.data:
            d.shm.close()
            d.shm.unlink()
        self.data = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def platform_for(cores: list[int], graph: TaskGraph, model: PerfModel) -> Platform:
    """This machine's cores as a platform, each kind's cost from the
    history where there is one (its mean per element), else a guess of a
    nanosecond per element: the dispatcher's weights and the market's
    critical paths start from it and the history corrects it."""
    units = tuple(UnitSpec(f"cpu{c}", "cpu", HOST) for c in cores)
    costs = {}
    for t in graph.tasks:
        seen = model.predict(t.kind, t.size, "cpu")
        costs[(t.kind, "cpu")] = Cost(0.0, seen / max(1, t.size) if seen else 1e-9)
    return Platform(units, costs, bandwidth=float("inf"), latency=0.0, noise=0.0)


class _Session:
    """One `Market.run`: the daemons, the clock, the books."""

    def __init__(self, market: Market, policy, model: PerfModel, inject: dict[int, str], seed: int):
        self.m, self.policy, self.model, self.inject = market, policy, model, inject
        self.graph = market.graph
        self.platform = platform_for(market.cores, self.graph, model)
        self.dispatcher = Dispatcher()
        self.state = State(self.graph, self.platform, model, self.dispatcher)
        self.times = [TaskTimes() for _ in self.graph.tasks]
        self.waiting = [len(t.deps) for t in self.graph.tasks]
        self.succ = self.graph.successors()
        self.done: set[int] = set()
        self.failed: dict[int, str] = {}
        self.tries = [0] * len(self.graph)
        self.saved: dict[int, list[tuple[Data, np.ndarray]]] = {}
        self.daemons = [_Daemon(c, i) for i, c in enumerate(market.cores)]
        self.data_by_shm = {d.shm.name: d for d in market.data}
        self.restarts = self.retried = 0
        self.progress = None
        self.seed = seed
        self.t0 = 0.0
        self.ledger = Ledger(len(self.graph) * (market.retries + 1) + len(self.daemons) + 16)
        self.executed: list[np.ndarray] = []  # the daemons' own ledgers, read back as they stop
        self.watch = selectors.DefaultSelector()  # every daemon's pipe and process, registered once

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def go(self) -> Outcome:
        try:
            for d in self.daemons:
                self._start(d)
            self.t0 = time.perf_counter()
            self.dispatcher.start(self.state)
            self.policy.start(self.state, self.seed)
            for t in self.graph.tasks:
                if not t.deps:
                    self._ready(t)
            while len(self.done) + len(self.failed) < len(self.graph):
                self.state.now = self.now()
                self._offer()
                if all(not d.inflight for d in self.daemons):
                    raise MarketError(f"{self.policy.name}: tasks are left that no daemon was given")
                self._wait()
        finally:
            for d in self.daemons:
                self._stop(d)
            self.watch.close()
        units = self.state.units
        settle(self.dispatcher, self.times, units, self.ledger, self.now(), sorted(self.done))
        run = Run(self.policy.name, self.platform, self.graph, self.times, units, self.ledger, self.model)
        executed = np.concatenate(self.executed) if self.executed else None
        return Outcome(run, dict(sorted(self.failed.items())), self.restarts, self.retried, executed)

    # -- daemons
    def _start(self, d: _Daemon) -> None:
        parent, child = self.m._ctx.Pipe()
        if d.ledger_shm is None:
            d.ledger_shm = shared_memory.SharedMemory(create=True, size=LEDGER_RECORDS * RECORD_BYTES)
        d.process = self.m._ctx.Process(
            target=_serve,
            args=(d.core, child, d.ledger_shm.name, LEDGER_RECORDS, self.m.artefacts, d.index),
            daemon=True,
            name=f"atlas-market-cpu{d.core}",
        )
        d.process.start()
        child.close()
        d.conn, d.generation = parent, d.generation + 1
        d.inflight.clear()
        if not parent.poll(120) or parent.recv() != ("up",):
            raise MarketError(f"the daemon for core {d.core} did not start")
        self.watch.register(d.conn, selectors.EVENT_READ, d)
        self.watch.register(d.process.sentinel, selectors.EVENT_READ, d)

    def _stop(self, d: _Daemon) -> None:
        """Stop the daemon; read back its ledger, the record of every task it ran."""
        written = None
        if d.process is not None and d.process.is_alive():
            try:
                d.conn.send(None)
                if d.conn.poll(10):
                    msg = d.conn.recv()
                    written = msg[1] if msg[0] == "bye" else None
            except (OSError, EOFError):
                pass
            d.process.join(2)
            if d.process.is_alive():
                d.process.kill()
                d.process.join()
        if d.ledger_shm is not None and written is not None:
            led = Ledger(LEDGER_RECORDS, buffer=d.ledger_shm.buf)
            led.written = written
            self.executed.append(led.array())
            del led
        if d.ledger_shm is not None:
            d.ledger_shm.close()
            d.ledger_shm.unlink()
            d.ledger_shm = None

    def _replace(self, d: _Daemon) -> None:
        """The daemon died or hung: kill what is left, start it again (its
        ledger goes with it; the market's own keeps the failure)."""
        self.watch.unregister(d.conn)
        if d.process is not None:
            self.watch.unregister(d.process.sentinel)
        if d.process is not None and d.process.is_alive():
            d.process.kill()
        if d.process is not None:
            d.process.join()
        if d.ledger_shm is not None:
            d.ledger_shm.close()
            d.ledger_shm.unlink()
            d.ledger_shm = None
        self.restarts += 1
        d.restarts += 1
        self._start(d)

    # -- tasks
    def _ready(self, task: Task) -> None:
        self.state.ready_at[task.ident] = self.now()
        self.times[task.ident].ready = self.now()
        self.dispatcher.became_ready(task)
        self.policy.ready(task, self.state)

    def _offer(self) -> None:
        for u in self.policy.order(self.state):
            d = self.daemons[u.index]
            while len(d.inflight) <= self.m.prefetch:
                task = self.policy.pick(u, self.state)
                if task is None:
                    break
                self._send(d, task)
        if all(not d.inflight for d in self.daemons) and self.policy.waiting(self.state):
            unit, task = self.policy.clear(self.state)
            self._send(self.daemons[unit.index], task)

    def _send(self, d: _Daemon, task: Task) -> None:
        call = self.m.calls[task.ident]
        if self.m.retries > self.tries[task.ident]:
            self.saved[task.ident] = [
                (self.data_by_shm[a[1]], self.data_by_shm[a[1]].array.copy())
                for a in call.args
                if a[0] == "data" and a[4]
            ]
        u = self.state.units[d.index]
        tt = self.times[task.ident]
        tt.unit, tt.start = d.index, self.now()
        tt.reward = self.dispatcher.reward(task, self.state)
        self.dispatcher.taken(task)
        u.busy_until = max(tt.start, u.busy_until) + self.state.predicted(task, u)
        attempt = self.tries[task.ident]
        if not d.inflight:
            d.since = time.perf_counter()
        d.inflight.append((task.ident, attempt))
        u.running = d.task
        fault = self.inject.get(task.ident) if attempt == 0 else None
        msg = (task.ident, attempt, call, self.state.kinds.index(task.kind), tt.reward, task.nbytes, fault)
        try:
            d.conn.send(msg)
        except OSError:
            pass  # it died since it last answered: its sentinel tells, and what it held is offered again
        if len(d.inflight) == 1:
            self._kill_if_asked(d)

    def _kill_if_asked(self, d: _Daemon) -> None:
        """The test's SIGKILL, once the task it is for is the one running."""
        if d.inflight and d.inflight[0][1] == 0 and self.inject.get(d.inflight[0][0]) == "kill":
            assert d.process is not None and d.process.pid is not None
            os.kill(d.process.pid, signal.SIGKILL)

    def _wait(self) -> None:
        busy = [d for d in self.daemons if d.inflight]
        if not busy:
            return
        limit = min(d.since + self.m.timeout for d in busy) - time.perf_counter()
        said: set[int] = set()
        died: set[int] = set()
        for key, _ in self.watch.select(max(0.0, limit)):
            (said if key.fileobj is key.data.conn else died).add(id(key.data))
        for d in busy:
            if id(d) in said and id(d) not in died:
                try:
                    self._finished(d, d.conn.recv())  # one answer; the next select sees any other
                except (EOFError, OSError):
                    self._lost(d, "its daemon died")
            elif id(d) in died:
                # what it said before it died stands: those tasks did finish
                while d.inflight and d.conn.poll():
                    try:
                        self._finished(d, d.conn.recv())
                    except (EOFError, OSError):
                        break
                if d.inflight:
                    self._lost(d, "its daemon died")
            elif time.perf_counter() - d.since > self.m.timeout:
                self._lost(d, f"it ran past the timeout of {self.m.timeout} s")

    def _finished(self, d: _Daemon, msg) -> None:
        _, ident, attempt, start, end, error = msg
        if not d.inflight or (ident, attempt) != d.inflight[0] or ident in self.done:
            return  # a word from an attempt already given up on
        d.inflight.popleft()
        d.since = end  # the next one starts when this one ended
        task = self.graph.tasks[ident]
        u = self.state.units[d.index]
        tt = self.times[ident]
        u.running = d.task
        self._kill_if_asked(d)
        if error is not None:
            self._fail(task, error)
            return
        tt.start, tt.end = start - self.t0, end - self.t0
        u.busy += end - start
        self.model.observe(task.kind, task.size, "cpu", end - start)
        tt.earnings = self.dispatcher.pay(task, tt.reward, tt.end)
        u.earnings += tt.earnings
        self.ledger.append(
            self.state.kinds.index(task.kind),
            d.index,
            DONE,
            ident,
            tt.start,
            tt.end,
            tt.earnings,
            tt.reward,
            task.nbytes,
        )
        self.saved.pop(ident, None)
        self.done.add(ident)
        self._tell()
        self.policy.finished(task, u, self.state)
        for s in self.succ[ident]:
            self._release(s)

    def _lost(self, d: _Daemon, why: str) -> None:
        """The running task's daemon is gone: start it again, and run the
        task again from its saved data or report it failed; the tasks it
        held and had not begun are offered again as they were."""
        ident = d.task
        assert ident is not None
        task = self.graph.tasks[ident]
        u = self.state.units[d.index]
        waiting = [self.graph.tasks[i] for i, _ in list(d.inflight)[1:]]
        u.running = None
        u.busy_until = self.now()
        self._replace(d)
        for t in waiting:
            self._ready(t)
        self.tries[ident] += 1
        if ident in self.saved and self.tries[ident] <= self.m.retries:
            for data, before in self.saved.pop(ident):
                data.array[:] = before
            self.retried += 1
            self.ledger.append(
                self.state.kinds.index(task.kind), d.index, REQUEUED, ident, 0.0, self.now(), 0.0, 0.0, 0
            )
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
            self.ledger.append(
                self.state.kinds.index(self.graph.tasks[i].kind), -1, FAILED, i, 0.0, self.now(), 0.0, 0.0, 0
            )
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
