"""The market on this machine: a daemon per CPU core, running Atlas's
compiled functions on arrays in shared memory, chosen by the same
policies and selectors as the simulator.

Each daemon is a process pinned to its core.  It loads the registered
artefacts once, then takes the tasks of one round (one message on its
pipe) and runs them one at a time: it calls the
native function on the shared arrays, appends one record to its ledger
(shared memory, records.Ledger) and says it is done; it does nothing else.
A daemon holds up to `prefetch` tasks beyond the one it runs, in its pipe
(as StarPU's workers hold theirs in a queue), so that it never waits for
the market's round trip between two tasks.  The market (this process)
runs the graph (session.py); a daemon that dies or hangs is started again
on its core, and the task it ran is run again from its written arrays as
they were before it started (copied when it was sent).

`inject` is for tests: task ident -> "crash" (the daemon scribbles on the
task's written arrays and exits), "hang" (it never answers), or "kill"
(the market sends it SIGKILL once the task has started)."""

from __future__ import annotations

import multiprocessing as mp
import os
import selectors
import signal
from dataclasses import dataclass
from typing import Any
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

from ..machine import runtime
from .records import DONE, FAILED, RECORD_BYTES, Ledger
from .session import Crew, Data, Front, Gone, MarketError, Outcome, Said, Send, call
from .sim import HOST, UnitSpec
from .tasks import Handle

__all__ = ["Market", "MarketError", "Outcome", "Shared"]

LEDGER_RECORDS = 1 << 14  # per daemon: a ring, read after the run


@dataclass
class Shared(Data):
    """An array in shared memory: every daemon maps it and writes in place."""

    shm: shared_memory.SharedMemory | None = None

    @property
    def array(self) -> np.ndarray:
        assert self.shm is not None
        return np.ndarray((self.length,), dtype=self.dtype, buffer=self.shm.buf)


def _serve(core: int, conn, ledger_name: str, capacity: int, artefacts: list[str], unit: int) -> None:
    """A daemon's life: pinned to `core`, one task at a time.  A task's
    arrays come as (shared memory name, dtype, length, written) beside
    it (session.Send)."""
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
        batch = conn.recv()
        if batch is None:
            break
        for task, args in batch:  # what the market sent in one round, answered task by task
            values = []
            for a in args:
                if isinstance(a, tuple):
                    shm = mapped.get(a[0])
                    if shm is None:
                        shm = mapped[a[0]] = shared_memory.SharedMemory(name=a[0])
                    values.append(np.ndarray((a[2],), dtype=a[1], buffer=shm.buf))
                else:
                    values.append(a)
            if task.fault == "crash":
                for a, x in zip(args, values):
                    if isinstance(a, tuple) and a[3]:
                        x[:] = 0  # half-done work the market must undo
            start, end, error = call(libs, task, values)
            outcome = DONE if error is None else FAILED
            ledger.append(task.kind, unit, outcome, task.ident, start, end, 0.0, task.reward, task.nbytes)
            conn.send(("done", task.ident, task.attempt, start, end, error))
    conn.send(("bye", ledger.written))  # how many records the market may read back
    del ledger
    for shm in mapped.values():
        shm.close()
    ledger_shm.close()


class Market(Front):
    """Tasks on this machine's cores.  Register artefacts, put arrays in
    shared memory (`put`), submit calls, `run` them all."""

    def __init__(
        self,
        cores: list[int] | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 1,
        prefetch: int = 1,
        refill: int | None = None,
    ):
        super().__init__(timeout=timeout, retries=retries, prefetch=prefetch, refill=refill)
        self.cores = sorted(cores if cores is not None else os.sched_getaffinity(0))
        self.artefacts: list[str] = []
        self.libraries: list[runtime.Library] = []
        self._ctx = mp.get_context("forkserver")

    def register(self, path) -> list[str]:
        """An artefact folder (atlas compile's output); its functions become task kinds."""
        lib = runtime.load(path)
        signatures = {n: lib.manifest.functions[n].function for n in lib.functions}
        named = self._functions(path, len(self.libraries), signatures)
        self.artefacts.append(str(Path(path).resolve()))
        self.libraries.append(lib)
        return named

    def put(self, array: np.ndarray, name: str | None = None) -> Shared:
        """A copy of `array` in shared memory, for tasks to use."""
        a = np.ascontiguousarray(array).reshape(-1)
        shm = shared_memory.SharedMemory(create=True, size=max(1, a.nbytes))
        d = Shared(Handle(name or f"data{len(self.data)}", a.nbytes), a.dtype.str, a.size, len(self.data), shm)
        d.array[:] = a
        self.data.append(d)
        return d

    def units(self) -> tuple[UnitSpec, ...]:
        return tuple(UnitSpec(f"cpu{c}", "cpu", HOST) for c in self.cores)

    def crew(self, inject: dict[int, str]) -> Crew:
        return _Processes(self, {i for i, f in inject.items() if f == "kill"})

    def close(self) -> None:
        for d in self.data:
            assert isinstance(d, Shared) and d.shm is not None
            d.shm.close()
            d.shm.unlink()
        self.data = []


@dataclass
class _Daemon:
    core: int
    index: int
    process: mp.process.BaseProcess | None = None
    conn: Any = None  # the market's end of its pipe
    ledger_shm: shared_memory.SharedMemory | None = None


class _Processes(Crew):
    """A daemon process per core, its pipe and its sentinel watched in one
    selector."""

    def __init__(self, market: Market, kill: set[int]):
        self.m = market
        self.kill = kill  # tasks whose daemon is sent SIGKILL once they start (tests)
        self.specs = market.units()
        self.daemons = [_Daemon(c, i) for i, c in enumerate(market.cores)]
        self.saved: dict[int, list[tuple[Data, np.ndarray]]] = {}
        self.outbox: list[list] = [[] for _ in self.daemons]  # this round's tasks, sent at flush
        self.kill_at_flush: set[int] = set()
        self.watch = selectors.DefaultSelector()  # every daemon's pipe and process, registered once
        self.executed: list[np.ndarray] = []

    def start(self) -> None:
        for d in self.daemons:
            self._start(d)

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
        d.conn = parent
        if not parent.poll(120) or parent.recv() != ("up",):
            raise MarketError(f"the daemon for core {d.core} did not start")
        self.watch.register(d.conn, selectors.EVENT_READ, d)
        self.watch.register(d.process.sentinel, selectors.EVENT_READ, d)

    def send(self, unit: int, task: Send) -> None:
        data = self.m.data
        if task.keep:
            written = [data[a[1]] for a in task.call.args if a[0] == "data" and a[2]]
            self.saved[task.ident] = [(d, d.array.copy()) for d in written]
        args = []
        for a in task.call.args:
            if a[0] == "data":
                d = data[a[1]]
                assert isinstance(d, Shared) and d.shm is not None
                args.append((d.shm.name, d.dtype, d.length, a[2]))
            else:
                args.append(a[1])
        self.outbox[unit].append((task, args))

    def flush(self) -> None:
        """Each daemon's tasks of this round in one message."""
        for d in self.daemons:
            if self.outbox[d.index]:
                try:
                    d.conn.send(self.outbox[d.index])
                except OSError:
                    pass  # it died since it last answered: its sentinel tells, and what it held is offered again
                self.outbox[d.index] = []
            if d.index in self.kill_at_flush:
                self.kill_at_flush.discard(d.index)
                self._kill(d)

    def started(self, unit: int, ident: int, attempt: int) -> None:
        if attempt == 0 and ident in self.kill:
            if any(t.ident == ident for t, _ in self.outbox[unit]):
                self.kill_at_flush.add(unit)  # once it has the task
            else:
                self._kill(self.daemons[unit])

    @staticmethod
    def _kill(d: _Daemon) -> None:
        assert d.process is not None and d.process.pid is not None
        os.kill(d.process.pid, signal.SIGKILL)

    def wait(self, timeout: float) -> list[Said | Gone]:
        said: set[int] = set()
        died: set[int] = set()
        for key, _ in self.watch.select(timeout):
            (said if key.fileobj is key.data.conn else died).add(key.data.index)
        out: list[Said | Gone] = []
        for i in sorted(said | died):
            d = self.daemons[i]
            if i in died:
                # what it said before it died stands: those tasks did finish
                while d.conn.poll():
                    try:
                        out.append(self._said(d, d.conn.recv()))
                    except (EOFError, OSError):
                        break
                out.append(Gone(i, "its daemon died"))
            else:
                try:
                    out.append(self._said(d, d.conn.recv()))  # one answer; the next select sees any other
                except (EOFError, OSError):
                    out.append(Gone(i, "its daemon died"))
        return out

    @staticmethod
    def _said(d: _Daemon, msg) -> Said:
        _, ident, attempt, start, end, error = msg
        return Said(d.index, ident, attempt, start, end, error)

    def replace(self, unit: int) -> bool:
        """The daemon died or hung: kill what is left, start it again (its
        ledger goes with it; the market's own keeps the failure)."""
        d = self.daemons[unit]
        self.outbox[unit] = []  # not sent: the session offers them again
        self.kill_at_flush.discard(unit)
        self.watch.unregister(d.conn)
        if d.process is not None:
            self.watch.unregister(d.process.sentinel)
            if d.process.is_alive():
                d.process.kill()
            d.process.join()
        if d.ledger_shm is not None:
            d.ledger_shm.close()
            d.ledger_shm.unlink()
            d.ledger_shm = None
        self._start(d)
        return True

    def undo(self, ident: int) -> None:
        for data, before in self.saved.pop(ident, []):
            data.array[:] = before

    def stop(self) -> list[np.ndarray]:
        for d in self.daemons:
            self._stop(d)
        self.watch.close()
        return self.executed

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
