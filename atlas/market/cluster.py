"""The market across machines, on Ray (the optional extra
`pip install 'atlas-compiler[cluster]'`).  The embedded market
(daemons.py) stays as it is; this one runs the same sessions, policies
and selectors with Ray actors as its units.

Every machine installs itself (`install`): an installer actor on each
Ray node probes that node, and the registered intents are compiled for
it, on it, once per probe fingerprint: nodes with the same fingerprint
get the folder the first one compiled, through Ray's object store.  Then
a run starts one daemon actor per core of each node (pinned to it), which
loads its node's artefact, so no node runs code for hardware it lacks.

Data lives in Ray's object store: each array's current version is an
object, and a task that writes an array returns the new version as an
object of its own, which stays on the node that made it (the next task
there reads it in place; dmda counts the transfer elsewhere).  The market
also fetches every version it commits, so that a node that leaves takes
no data with it: its versions are put again from the market's copies.

A daemon runs the tasks it is sent in one call per batch (what the policy
gave it in one round, up to `prefetch + 1` tasks), to amortise Ray's cost
per call, and answers task by task through a streaming generator, so a
daemon that dies mid-batch has said which of its tasks ended.  A unit
whose node left is retired: its running task runs again elsewhere from
the data as it was, the tasks it held are offered again."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import statistics
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..machine import nodes
from ..machine.manifest import Manifest
from ..machine.nodes import connect, on
from ..search.archive import default_path as default_archive
from .records import DONE, FAILED, Ledger
from .session import Crew, Data, Front, Gone, MarketError, Said, Send, call, measured
from .sim import HOST, UnitSpec
from .tasks import Handle

LEDGER_RECORDS = 1 << 14  # per daemon
START_TIMEOUT = 120.0  # seconds for an actor to come up (a node that left never answers)
PROBE_BYTES = 4 << 20  # the array timed to estimate the bandwidth between nodes


class Installer:
    """On one node: what it is, its artefact (compiled there or received)."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="atlas-cluster-"))

    def about(self) -> tuple[str, list[int], str]:
        """The node's probe fingerprint, its usable cores, its host name."""
        from ..machine import probe as hwprobe

        return hwprobe.fingerprint(hwprobe.probe()), sorted(os.sched_getaffinity(0)), socket.gethostname()

    def compile(self, sources: list[tuple[str, str]], archive: bytes | None) -> bytes:
        """Compile the intents (file name, text) for this node, taking the
        champions the market's archive holds for its fingerprint (measured
        on a node like it); the folder, packed."""
        from ..machine import probe as hwprobe
        from ..pipeline import compile_files
        from ..search.explode import Options

        src = self.home / "intents"
        src.mkdir(exist_ok=True)
        for name, text in sources:
            (src / name).write_text(text, encoding="utf-8")
        search = None
        if archive is not None:
            (self.home / "archive.sqlite3").write_bytes(archive)
            search = Options(search_new=False, archive_path=str(self.home / "archive.sqlite3"))
        compile_files([str(src / name) for name, _ in sources], hwprobe.probe(), self.home / "kernels", search=search)
        return nodes.pack(self.home / "kernels")

    def receive(self, blob: bytes) -> str:
        """Take the artefact another node of the same fingerprint compiled."""
        if not (self.home / "kernels").exists():
            nodes.unpack(blob, self.home / "kernels")
        return str(self.home / "kernels")

    def fetch(self, refs: list) -> float:
        """Seconds to bring `refs` to this node (the bandwidth estimate)."""
        ray = nodes.ray_module()
        t0 = time.perf_counter()
        ray.get(refs)
        return time.perf_counter() - t0

    def ping(self) -> None:
        pass

    def clean(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass(frozen=True)
class Node:
    ident: str  # Ray's node id
    memory: int  # its memory node for the scheduler: HOST for the market's own
    fingerprint: str
    host: str
    cores: tuple[int, ...]
    compiled: bool  # the artefact was compiled here (not received)
    artefact: str  # its folder, on that node


@dataclass
class Installation:
    """Every node's artefact for the registered intents, and what the
    market needs to schedule between them."""

    sources: list[tuple[str, str]]  # the intent files: name, text
    nodes: list[Node] = field(default_factory=list)
    signatures: dict = field(default_factory=dict)  # function name -> ir.Function
    measured: dict = field(default_factory=dict)  # function name -> the search's (size, seconds), first node's
    installers: dict[str, Any] = field(default_factory=dict)  # node id -> its Installer actor
    blobs: dict[str, Any] = field(default_factory=dict)  # fingerprint -> the packed artefact (an object)
    archive: Any = None  # the market's archive, a copy (an object), or None
    bandwidth: float = float("inf")  # bytes/s between nodes (the slowest measured)
    latency: float = 0.0  # seconds per call to another node (median)

    @property
    def compiles(self) -> int:
        return sum(n.compiled for n in self.nodes)

    def add(self, ids: list[str], say=lambda s: None) -> list[Node]:
        """Install the nodes `ids`: probe each; compile on the first of
        each fingerprint not seen yet, and hand every node its folder."""
        ray = nodes.ray_module()
        actor = ray.remote(Installer)
        for i in ids:
            self.installers[i] = actor.options(**on(i)).remote()
        about = dict(zip(ids, ray.get([self.installers[i].about.remote() for i in ids], timeout=START_TIMEOUT)))
        compiled = set()
        for i in ids:
            fp = about[i][0]
            if fp not in self.blobs:
                sharing = sum(about[j][0] == fp for j in ids)
                say(f"compiling for fingerprint {fp} on {about[i][2]} ({sharing} node(s) share it)")
                self.blobs[fp] = self.installers[i].compile.remote(self.sources, self.archive)
                compiled.add(i)
        paths = ray.get([self.installers[i].receive.remote(self.blobs[about[i][0]]) for i in ids])
        new = [
            Node(i, len(self.nodes) + k, about[i][0], about[i][2], tuple(about[i][1]), i in compiled, path)
            for k, (i, path) in enumerate(zip(ids, paths))
        ]
        self.nodes += new
        return new

    def close(self) -> None:
        ray = nodes.ray_module()
        for a in self.installers.values():
            try:
                ray.get(a.clean.remote(), timeout=30)
                ray.kill(a)
            except Exception:  # a node that left: nothing of it to clean
                pass
        self.installers = {}


def install(intents, *, archive: Path | None = None, say=lambda s: None) -> Installation:
    """Install the intent files on every node of the cluster: probe each,
    compile once per fingerprint on a node that has it (with the
    champions the search archive `archive`, default the user's, holds for
    that fingerprint), hand the folder to the others."""
    ray = nodes.ray_module()
    connect()
    sources = [(Path(p).name, Path(p).read_text(encoding="utf-8")) for p in intents]
    if len({n for n, _ in sources}) != len(sources):
        raise MarketError("two intent files of the same name: the cluster gets them side by side")
    alive = nodes.alive()
    inst = Installation(sources)
    inst.archive = _archive_copy(archive or default_archive())
    inst.add(alive, say)
    first = Path(tempfile.mkdtemp(prefix="atlas-cluster-signatures-"))
    try:
        nodes.unpack(ray.get(next(iter(inst.blobs.values()))), first)
        manifest = Manifest.read(first)
    finally:
        shutil.rmtree(first, ignore_errors=True)
    inst.signatures = {name: entry.function for name, entry in manifest.functions.items()}
    inst.measured = {name: measured(entry) for name, entry in manifest.functions.items()}
    inst.bandwidth, inst.latency = _link(inst.installers, alive[1:])
    return inst


def _archive_copy(path: Path):
    """A consistent copy of the archive (SQLite's backup, as a search may
    be writing it), in the object store; None where there is none."""
    if not path.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="atlas-archive-copy-") as tmp:
        src, dst = sqlite3.connect(path), sqlite3.connect(Path(tmp) / "archive.sqlite3")
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return nodes.ray_module().put((Path(tmp) / "archive.sqlite3").read_bytes())


def _link(installers: dict, others: list[str]) -> tuple[float, float]:
    """The slowest bandwidth and the median call latency from this node
    to the others (infinite and zero where there are none)."""
    if not others:
        return float("inf"), 0.0
    ray = nodes.ray_module()
    probe = ray.put(np.zeros(PROBE_BYTES, dtype=np.uint8))
    secs = ray.get([installers[i].fetch.remote([probe]) for i in others])
    calls = []
    for i in others:
        for _ in range(5):
            t0 = time.perf_counter()
            ray.get(installers[i].ping.remote())
            calls.append(time.perf_counter() - t0)
    return PROBE_BYTES / max(max(secs), 1e-9), statistics.median(calls)


class Daemon:
    """One compute unit on its node: runs the tasks it is sent, answers
    task by task (a streaming generator), keeps its own ledger."""

    def __init__(self, core: int, unit: int, artefacts: list[str]):
        from ..machine import runtime

        try:
            os.sched_setaffinity(0, {core})
        except (AttributeError, OSError):
            pass
        self.unit = unit
        self.libs = [runtime.load(p) for p in artefacts]
        self.ledger = Ledger(LEDGER_RECORDS)

    def clock(self) -> float:
        return time.perf_counter()

    def run(self, batch: list[tuple[Send, list]]):
        """For each task: the arrays it wrote, each its own object, then
        ("said", ident, attempt, start, end, error); or ("lost", ident,
        attempt) where its data could not be fetched."""
        ray = nodes.ray_module()
        for task, args in batch:
            refs = [a for a in args if isinstance(a, ray.ObjectRef)]
            try:
                got = iter(ray.get(refs))
            except ray.exceptions.RayError:
                yield ("lost", task.ident, task.attempt)
                continue
            values, written = [], []
            for a, w in zip(args, task.call.args):
                if isinstance(a, ray.ObjectRef):
                    v = next(got)
                    if w[2]:
                        v = np.array(v)  # a private, writeable copy: the version read stays as it was
                        written.append(v)
                    values.append(v)
                else:
                    values.append(a)
            start, end, error = call(self.libs, task.call.library, task.call.function, task.fault, values)
            outcome = DONE if error is None else FAILED
            self.ledger.append(task.kind, self.unit, outcome, task.ident, start, end, 0.0, task.reward, task.nbytes)
            for v in written:  # (Ray's generators take no `yield from`)
                yield v
            yield ("said", task.ident, task.attempt, start, end, error)

    def records(self) -> np.ndarray:
        return self.ledger.array()


@dataclass
class Remote(Data):
    """An array in Ray's object store: its current version, the memory
    node holding that version, and the market's copy of it."""

    ref: Any = None
    node: int = HOST
    value: np.ndarray | None = None

    @property
    def array(self) -> np.ndarray:
        assert self.value is not None
        return self.value


class Market(Front):
    """Tasks on the daemons of every node of an installation."""

    def __init__(
        self,
        installation: Installation,
        *,
        cores_per_node: int | None = None,
        timeout: float = 60.0,
        retries: int = 1,
        prefetch: int = 8,
        watch: float | None = 1.0,
    ):
        super().__init__(timeout=timeout, retries=retries, prefetch=prefetch, refill=prefetch // 2)
        self.installation = installation
        self.cores_per_node = cores_per_node
        self.watch = watch  # seconds between looks for nodes that joined (None: never)
        self._functions("the installation", 0, installation.signatures, installation.measured)

    def put(self, array: np.ndarray, name: str | None = None) -> Remote:
        """A copy of `array` in Ray's object store, for tasks to use."""
        a = np.ascontiguousarray(array).reshape(-1).copy()
        d = Remote(Handle(name or f"data{len(self.data)}", a.nbytes), a.dtype.str, a.size, len(self.data))
        d.ref, d.value = nodes.ray_module().put(a), a
        self.data.append(d)
        return d

    def placed(self, among: list[Node] | None = None) -> list[tuple[Node, int]]:
        """(node, core) of each daemon on the nodes `among` (default all the
        installation's), in unit order."""
        where = self.installation.nodes if among is None else among
        return [(node, core) for node in where for core in node.cores[: self.cores_per_node]]

    def units(self) -> tuple[UnitSpec, ...]:
        return tuple(_spec(node, core) for node, core in self.placed())

    def crew(self, inject: dict[int, str]) -> Crew:
        return _Actors(self)


def _spec(node: Node, core: int) -> UnitSpec:
    """A unit named by its memory node (0: the market's) and its core."""
    return UnitSpec(f"n{node.memory}.cpu{core}", "cpu", node.memory)


@dataclass
class _Unit:
    index: int
    node: Node
    core: int
    actor: Any = None
    offset: float = 0.0  # its clock minus the market's
    calls: deque = field(default_factory=deque)  # its batches' generators, oldest first
    outbox: list = field(default_factory=list)  # sends of this round, not yet on their way
    arrays: list = field(default_factory=list)  # (ref, value) the running task has written so far


class _Actors(Crew):
    """A daemon actor per core of each node."""

    def __init__(self, market: Market):
        self.m = market
        inst = market.installation
        self.units = [_Unit(i, node, core) for i, (node, core) in enumerate(market.placed())]
        self.specs = market.units()
        self.bandwidth, self.latency = inst.bandwidth, inst.latency
        self.live: dict[tuple[int, int], Send] = {}  # (task, attempt) sent and not answered
        self.left: set[str] = set()  # nodes gone
        self.looked = time.perf_counter()  # for nodes that joined
        self.executed: list[np.ndarray] = []

    def start(self) -> None:
        for u in self.units:
            self._start(u)
        for u in self.units:
            self._clock(u)

    def _start(self, u: _Unit) -> None:
        daemon = nodes.ray_module().remote(Daemon)
        u.actor = daemon.options(**on(u.node.ident)).remote(u.core, u.index, [u.node.artefact])

    def _clock(self, u: _Unit) -> None:
        ray = nodes.ray_module()
        t0 = time.perf_counter()
        theirs = ray.get(u.actor.clock.remote(), timeout=START_TIMEOUT)
        u.offset = theirs - (t0 + time.perf_counter()) / 2

    def joined(self) -> list[UnitSpec]:
        """Nodes that joined the cluster since the last look get installed
        (compiled for, where their fingerprint is new) and a daemon per core."""
        if self.m.watch is None or time.perf_counter() - self.looked < self.m.watch:
            return []
        self.looked = time.perf_counter()
        inst = self.m.installation
        known = {n.ident for n in inst.nodes}
        fresh = [i for i in nodes.alive() if i not in known]
        if not fresh:
            return []
        specs = []
        for node, core in self.m.placed(inst.add(fresh)):
            u = _Unit(len(self.units), node, core)
            self.units.append(u)
            self._start(u)
            self._clock(u)
            specs.append(_spec(node, core))
        self.specs += tuple(specs)
        return specs

    def send(self, unit: int, task: Send) -> None:
        self.live[(task.ident, task.attempt)] = task
        self.units[unit].outbox.append(task)

    def flush(self) -> None:
        for u in self.units:
            if u.outbox:
                batch = [(t, self._args(t)) for t in u.outbox]
                u.calls.append(u.actor.run.options(num_returns="streaming").remote(batch))
                u.outbox = []

    def _args(self, task: Send) -> list:
        data = self.m.data
        out = []
        for a in task.call.args:
            if a[0] == "data":
                d = data[a[1]]
                assert isinstance(d, Remote)
                out.append(d.ref)
            else:
                out.append(a[1])
        return out

    def wait(self, timeout: float) -> list[Said | Gone]:
        ray = nodes.ray_module()
        calls = [g for u in self.units for g in u.calls]
        if not calls:
            return []
        ray.wait(calls, num_returns=1, timeout=timeout, fetch_local=False)
        out: list[Said | Gone] = []
        for u in self.units:
            out += self._drain(u)
        self.flush()  # tasks whose data was lost, sent again
        return out

    def _drain(self, u: _Unit) -> list[Said | Gone]:
        """What the unit has said so far, without waiting: the items its
        batches have yielded, fetched in one go."""
        ray = nodes.ray_module()
        refs, died = [], None
        while u.calls:
            g = u.calls[0]
            if not g.next_ready():  # a look at the stream, no call to Ray
                if g.is_finished():
                    u.calls.popleft()
                    continue
                break
            try:
                refs.append(next(g))
            except StopIteration:
                u.calls.popleft()
        try:
            values = ray.get(refs)
        except ray.exceptions.RayError:  # the daemon died: what it said before stands
            values = []
            for ref in refs:
                try:
                    values.append(ray.get(ref))
                except ray.exceptions.RayError as exc:
                    died = exc
                    break
        out: list[Said | Gone] = []
        for ref, value in zip(refs, values):
            if isinstance(value, np.ndarray):
                u.arrays.append((ref, value))
            elif value[0] == "lost":  # an input went with a node that left: put it back, send the task again
                again = self.live[(value[1], value[2])]
                self._check_inputs(again)
                u.outbox.append(again)
            else:
                _, ident, attempt, start, end, error = value
                task = self.live.pop((ident, attempt)) if (ident, attempt) in self.live else None
                if task is not None and error is None:
                    self._commit(u, task)
                u.arrays = []
                out.append(Said(u.index, ident, attempt, start - u.offset, end - u.offset, error))
        if died is not None:
            out.append(Gone(u.index, f"its daemon died ({type(died).__name__})"))
            u.calls.clear()
        return out

    def _commit(self, u: _Unit, task: Send) -> None:
        """The arrays the task wrote are the current versions now."""
        written = [a for a in task.call.args if a[0] == "data" and a[2]]
        for a, (ref, value) in zip(written, u.arrays):
            d = self.m.data[a[1]]
            assert isinstance(d, Remote)
            d.ref, d.value, d.node = ref, value, u.node.memory

    def replace(self, unit: int) -> bool:
        ray = nodes.ray_module()
        u = self.units[unit]
        try:
            ray.kill(u.actor, no_restart=True)
        except Exception:
            pass
        u.calls.clear()
        u.outbox, u.arrays = [], []
        if u.node.ident not in self.left and nodes.is_alive(u.node.ident):
            try:
                self._start(u)
                self._clock(u)
                return True
            except ray.exceptions.RayError:
                pass
        self._leave(u.node)
        return False

    def _check_inputs(self, task: Send) -> None:
        """Retire the nodes that left holding the task's data."""
        for a in task.call.args:
            if a[0] == "data":
                d = self.m.data[a[1]]
                assert isinstance(d, Remote)
                node = self.m.installation.nodes[d.node]
                if d.node != HOST and not nodes.is_alive(node.ident):
                    self._leave(node)

    def _leave(self, node: Node) -> None:
        """The node left: the versions it held are put again from the market's copies."""
        if node.ident in self.left:
            return
        self.left.add(node.ident)
        ray = nodes.ray_module()
        for d in self.m.data:
            assert isinstance(d, Remote)
            if d.node == node.memory:
                d.ref, d.node = ray.put(d.value), HOST

    def stop(self) -> list[np.ndarray]:
        ray = nodes.ray_module()
        for u in self.units:
            if u.actor is None:
                continue
            if u.node.ident not in self.left:
                try:
                    self.executed.append(ray.get(u.actor.records.remote(), timeout=30))
                except Exception:  # it died with the run: the market's ledger keeps what it did
                    pass
            try:
                ray.kill(u.actor, no_restart=True)
            except Exception:
                pass
            u.actor = None
        return self.executed
