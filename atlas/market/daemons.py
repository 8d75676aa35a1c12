"""The market on this machine: a daemon per CPU core, running Atlas's
compiled functions on arrays in shared memory, chosen by the same
policies and selectors as the simulator.

Each daemon is a process pinned to its core.  It loads the registered
artefacts once, then takes the tasks of one round (one message on its
pipe) and runs them one at a time: it calls the native function on the
shared arrays and appends one record to its ledger (shared memory,
records.Ledger); it does nothing else.  The record is also its word that
the task ended: the market reads the ledgers as they are written
(records.Reader), so nothing is sent back per task.  Only where the
market has said it is going to sleep (a flag in the ledger's header)
does a daemon wake it, with an empty message on its pipe; a failed
call's error goes on the pipe before its record.
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
import pickle
import platform
import selectors
import signal
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

from ..machine import runtime
from .records import DONE, FAILED, RECORD_BYTES, Ledger, Reader
from .session import Crew, Data, Front, Gone, MarketError, Outcome, Said, Send, call, measured
from .sim import HOST, UnitSpec
from .tasks import Handle

__all__ = ["Market", "MarketError", "Outcome", "Shared"]

LEDGER_RECORDS = 1 << 14  # per daemon: a ring
HEADER = 64  # bytes before the ring: byte 0 is set while the market sleeps
RECHECK = 0.005  # seconds the market sleeps at most before it reads the ledgers again


def _buf(shm: shared_memory.SharedMemory) -> memoryview:
    assert shm.buf is not None
    return shm.buf


@dataclass
class Shared(Data):
    """An array in shared memory: every daemon maps it and writes in place."""

    shm: shared_memory.SharedMemory | None = None

    @property
    def array(self) -> np.ndarray:
        assert self.shm is not None
        return np.ndarray((self.length,), dtype=self.dtype, buffer=_buf(self.shm))


def _serve(core: int, conn, ledger_name: str, capacity: int, artefacts: list[str], unit: int) -> None:
    """A daemon's life: pinned to `core`, one task at a time.  A task
    comes as (ident, kind, library, function, reward, bytes, fault,
    arguments), an array argument as (shared memory name, dtype, length,
    written)."""
    try:
        os.sched_setaffinity(0, {core})
    except (AttributeError, OSError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the market's to handle
    libs = [runtime.load(p) for p in artefacts]
    ledger_shm = shared_memory.SharedMemory(name=ledger_name)
    header = _buf(ledger_shm)[:HEADER]
    ring = _buf(ledger_shm)[HEADER:]
    ledger = Ledger(capacity, buffer=ring)
    mapped: dict[str, shared_memory.SharedMemory] = {}
    conn.send(("up",))
    while True:
        batch = conn.recv()
        if batch is None:
            break
        for ident, kind, library, function, reward, nbytes, fault, args in batch:  # one round, task by task
            values = []
            for a in args:
                if isinstance(a, tuple):
                    shm = mapped.get(a[0])
                    if shm is None:
                        shm = mapped[a[0]] = shared_memory.SharedMemory(name=a[0])
                    values.append(np.ndarray((a[2],), dtype=a[1], buffer=shm.buf))
                else:
                    values.append(a)
            if fault == "crash":
                for a, x in zip(args, values):
                    if isinstance(a, tuple) and a[3]:
                        x[:] = 0  # half-done work the market must undo
            start, end, error = call(libs, library, function, fault, values)
            if error is not None:
                conn.send(("error", ident, error))
            ledger.append(kind, unit, DONE if error is None else FAILED, ident, start, end, 0.0, reward, nbytes)
            if header[0]:  # the market sleeps: wake it
                header[0] = 0
                conn.send_bytes(b"")
    conn.send(("bye", ledger.written))  # how many records the market may read back
    del ledger
    header.release()
    ring.release()
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
        prefetch: int | None = None,
        refill: int | None = None,
    ):
        super().__init__(timeout=timeout, retries=retries, prefetch=prefetch, refill=refill)
        if platform.machine().lower() not in ("x86_64", "amd64"):
            raise MarketError(
                f"the market on this machine's cores reads its daemons' ledgers as they are written, which"
                f" relies on x86_64's order of memory writes; this is {platform.machine()}"
            )
        if self.prefetch + 1 >= LEDGER_RECORDS:  # the market reads a daemon's ring as it is written: never a lap behind
            raise MarketError(f"prefetch must be below {LEDGER_RECORDS - 1}, the records a daemon's ledger holds")
        self.cores = sorted(cores if cores is not None else os.sched_getaffinity(0))
        self.artefacts: list[str] = []
        self.libraries: list[runtime.Library] = []
        self._ctx = mp.get_context("forkserver")

    def register(self, path) -> list[str]:
        """An artefact folder (atlas compile's output); its functions become task kinds."""
        lib = runtime.load(path)
        entries = {n: lib.manifest.functions[n] for n in lib.functions}
        signatures = {n: e.function for n, e in entries.items()}
        named = self._functions(path, len(self.libraries), signatures, {n: measured(e) for n, e in entries.items()})
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
    header: memoryview | None = None  # its ledger's header (the market's flag)
    reader: Reader | None = None  # its ledger, read as it is written
    sent: deque = field(default_factory=deque)  # (task, attempt) sent, in the order it runs them
    errors: dict = field(default_factory=dict)  # task -> the error it said before its record


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
            d.ledger_shm = shared_memory.SharedMemory(create=True, size=HEADER + LEDGER_RECORDS * RECORD_BYTES)
            d.header = _buf(d.ledger_shm)[:HEADER]
            d.reader = Reader(LEDGER_RECORDS, _buf(d.ledger_shm)[HEADER:])
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
        c = task.call
        self.outbox[unit].append(
            (task.ident, task.kind, c.library, c.function, task.reward, task.nbytes, task.fault, args)
        )
        self.daemons[unit].sent.append((task.ident, task.attempt))

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
            if any(t[0] == ident for t in self.outbox[unit]):
                self.kill_at_flush.add(unit)  # once it has the task
            else:
                self._kill(self.daemons[unit])

    @staticmethod
    def _kill(d: _Daemon) -> None:
        assert d.process is not None and d.process.pid is not None
        os.kill(d.process.pid, signal.SIGKILL)

    def wait(self, timeout: float) -> list[Said | Gone]:
        out = self._records()
        if out:
            return out
        for d in self.daemons:
            if d.header is not None:
                d.header[0] = 1  # asleep: the next record wakes us
        out = self._records()  # written before a daemon saw the flag
        died: set[int] = set()
        if not out:
            # the daemons' word and the flag cross in memory without a lock,
            # so a wake-up can be missed: the ledgers are read again soon anyway
            for key, _ in self.watch.select(min(timeout, RECHECK)):
                d = key.data
                if key.fileobj is d.conn:
                    if not self._hear(d):
                        died.add(d.index)
                else:
                    died.add(d.index)
        for d in self.daemons:
            if d.header is not None:
                d.header[0] = 0
        out += self._records()  # what a daemon wrote before it died stands: those tasks did finish
        return out + [Gone(i, "its daemon died") for i in sorted(died)]

    def _hear(self, d: _Daemon) -> bool:
        """Read what the daemon said on its pipe (wake-ups, errors); False
        where the pipe is closed (it died)."""
        try:
            while d.conn.poll():
                msg = d.conn.recv_bytes()
                if msg:
                    said = pickle.loads(msg)
                    if said[0] == "error":
                        d.errors[said[1]] = said[2]
        except (EOFError, OSError):
            return False
        return True

    def _records(self) -> list[Said | Gone]:
        """The tasks the daemons' ledgers say ended since the last look."""
        out: list[Said | Gone] = []
        for d in self.daemons:
            if d.reader is None:
                continue
            while (row := d.reader.next()) is not None:
                ident, outcome, start, end = row[3], row[2], row[4], row[5]
                expected, attempt = d.sent.popleft()
                assert expected == ident, f"daemon {d.index} ran task {ident}, sent {expected}"
                error = None
                if outcome != DONE:
                    if ident not in d.errors:
                        self._hear(d)  # said on its pipe before the record was written
                    error = d.errors.pop(ident, "the call failed")
                out.append(Said(d.index, ident, attempt, start, end, error))
        return out

    def replace(self, unit: int) -> bool:
        """The daemon died or hung: kill what is left, start it again (its
        ledger goes with it; the market's own keeps the failure)."""
        d = self.daemons[unit]
        self.outbox[unit] = []  # not sent: the session offers them again
        d.sent.clear()
        d.errors.clear()
        self.kill_at_flush.discard(unit)
        self.watch.unregister(d.conn)
        if d.process is not None:
            self.watch.unregister(d.process.sentinel)
            if d.process.is_alive():
                d.process.kill()
            d.process.join()
        self._drop_ledger(d)
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
                while d.conn.poll(10):
                    msg = d.conn.recv_bytes()
                    if msg and (said := pickle.loads(msg))[0] == "bye":
                        written = said[1]
                        break
            except (OSError, EOFError):
                pass
            d.process.join(2)
            if d.process.is_alive():
                d.process.kill()
                d.process.join()
        if d.ledger_shm is not None and written is not None:
            ring = _buf(d.ledger_shm)[HEADER:]
            led = Ledger(LEDGER_RECORDS, buffer=ring, written=written)
            self.executed.append(led.array())
            del led
            ring.release()
        self._drop_ledger(d)

    @staticmethod
    def _drop_ledger(d: _Daemon) -> None:
        if d.reader is not None and d.header is not None:
            d.reader.buffer.release()  # no view may outlive the memory it shows
            d.header.release()
            d.reader = d.header = None
        if d.ledger_shm is not None:
            d.ledger_shm.close()
            d.ledger_shm.unlink()
            d.ledger_shm = None
