"""The differential campaign: each generated program compiled every way,
each compiled function called on random and edge inputs, and every result
and output array compared bit for bit with the reference interpreter.

A program runs in a worker process of its own, so a hang or a crash in
machine code costs that program only (and is reported with the flag
combination it was in).  The compile itself is the only thing that could
legitimately refuse: a pinned shape that does not apply is "not
applicable", never a failure.
"""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Callable

import numpy as np

from ...meaning import interp, ir
from ...logic import requires
from ...logic.differential import same
from ...front.diagnostics import AtlasError
from . import gen
from ...machine.probe import Probe

FUEL = 400_000  # interpreter steps per call; a slower call is skipped, not compared
SIZES = (0, 1, 3, gen.MAX_CONST_INDEX + 1, 64, 70)


# ---------------------------------------------------------------- flag combinations


@dataclass(frozen=True)
class Combo:
    name: str
    use_atlas: bool = True
    search: bool = False  # the search with a tiny budget
    shape: str | None = None  # every looped function pinned to this shape


def all_combos() -> tuple[Combo, ...]:
    from ...search.explode import SHAPES

    return (
        Combo("default"),
        Combo("no-atlas", use_atlas=False),
        Combo("search", search=True),
        *(Combo(f"pin:{s}", shape=s) for s in SHAPES),
    )


QUICK = (Combo("default"), Combo("no-atlas", use_atlas=False))


# ---------------------------------------------------------------- inputs


def edge_values(t: ir.Scalar) -> list:
    if t.is_bool:
        return [False, True]
    if t.is_float:
        tiny = 1e-45 if t.bits == 32 else 5e-324
        big = float(np.finfo(np.float32 if t.bits == 32 else np.float64).max)
        return [0.0, -0.0, 1.0, -1.0, 0.5, math.nan, math.inf, -math.inf, big, -big, tiny, 255.5, 2.0**31]
    lo, hi = gen.int_range(t.name)
    return sorted({v for v in (0, 1, 2, -1, lo, hi, lo + 1, hi - 1, t.bits - 1, t.bits, 255, 256) if lo <= v <= hi})


def random_scalar(t: ir.Scalar, rng: np.random.Generator):
    if rng.random() < 0.5:
        vals = edge_values(t)
        return vals[rng.integers(len(vals))]
    if t.is_bool:
        return bool(rng.integers(2))
    if t.is_float:
        return float(np.float32(rng.normal(0, 1000)) if t.bits == 32 else rng.normal(0, 1000))
    lo, hi = gen.int_range(t.name)
    if rng.random() < 0.5:
        return int(rng.integers(max(lo, -100), min(hi, 100) + 1))
    return lo + int.from_bytes(rng.bytes(8), "little") % (hi - lo + 1)  # numpy stops at int64


def random_array(t: ir.Scalar, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.array([random_scalar(t, rng) for _ in range(size)], dtype=interp.dtype(t))


@dataclass
class Call:
    function: str
    args: list  # numpy arrays and Python scalars, in parameter order

    def fresh(self) -> list:
        return [a.copy() if isinstance(a, np.ndarray) else a for a in self.args]

    def describe(self) -> str:
        return f"{self.function}({', '.join(_show(a) for a in self.args)})"


def _show(a) -> str:
    if isinstance(a, np.ndarray):
        return f"np.array({a.tolist()!r}, dtype=np.{a.dtype})"
    return repr(a)


def calls_for(spec: gen.FnSpec, fn: ir.Function, rng: np.random.Generator) -> list[Call]:
    """One call per size: the length parameter is the size, a bound parameter
    runs its loop the whole length (or a little past it, or not at all),
    value parameters and array elements are random and edge values, those
    that miss the function's precondition repaired (atlas/logic/requires.py)."""
    kinds = {p.name: p.kind for p in spec.params}
    out = []
    for size in SIZES:
        scalars: dict[str, object] = {}
        for p in fn.params:
            if isinstance(p.ty, ir.Array):
                continue
            if kinds.get(p.name) == "length":
                scalars[p.name] = size
            elif kinds.get(p.name) == "bound":
                scalars[p.name] = [size, size + 3, 0][rng.integers(3)]
            else:
                scalars[p.name] = random_scalar(p.ty, rng)
        if fn.requires is not None:  # only calls the function is defined for
            sizes = tuple(n for n in scalars if kinds.get(n) in ("length", "bound"))
            met = requires.satisfying(fn, scalars, rng, keep_first=sizes)
            if met is None:
                continue
            scalars = met
        bits = {p.name: interp.to_value(p.ty, scalars[p.name]) for p in fn.params if isinstance(p.ty, ir.Scalar)}
        args: list[object] = []
        for p in fn.params:
            if isinstance(p.ty, ir.Array):
                args.append(random_array(p.ty.elem, interp.evaluate(p.ty.length, bits, exact=True), rng))
            else:
                args.append(scalars[p.name])
        out.append(Call(fn.name, args))
    return out


# ---------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Outcome:
    """One call's result: the returned value and every array after the call."""

    value: object
    arrays: tuple

    def differs(self, other: "Outcome") -> str | None:
        if not same(self.value, other.value):
            return f"returned {other.value!r}, expected {self.value!r}"
        for k, (a, b) in enumerate(zip(self.arrays, other.arrays)):
            if not same(a, b):
                bad = [i for i in range(a.size) if not same(a[i : i + 1], b[i : i + 1])]
                return f"array argument #{k}: at {bad[:8]} got {b[bad[:8]].tolist()}, expected {a[bad[:8]].tolist()}"
        return None


def outcome(run: Callable, call: Call) -> Outcome:
    args = call.fresh()
    value = run(call.function, args)
    return Outcome(value, tuple(a for a in args if isinstance(a, np.ndarray)))


def interpret(module: ir.Module, call: Call) -> Outcome | None:
    """The interpreter's outcome, or None where it ran out of fuel."""
    try:
        return outcome(lambda name, args: interp.run(module, name, *args, fuel=FUEL), call)
    except interp.OutOfFuel:
        return None


# ---------------------------------------------------------------- findings and figures


@dataclass(frozen=True)
class Mismatch:
    seed: int
    combo: str
    call: Call
    detail: str
    reduced: str = ""  # the reduced intent's file, once reduced


@dataclass(frozen=True)
class Crash:
    seed: int
    combo: str
    kind: str  # "compiler" | "runtime" | "worker" | "hang"
    detail: str
    reduced: str = ""


@dataclass
class Result:
    """What one program (or, summed, a campaign) came to."""

    programs: int = 0
    rejected: int = 0  # generated candidates the checker refused
    calls: int = 0  # compiled calls compared with the interpreter
    compiles: int = 0  # successful (program, combo) compiles
    not_applicable: int = 0  # pinned shapes refused cleanly
    out_of_fuel: int = 0  # calls skipped: the interpreter could not finish
    combos: set = field(default_factory=set)
    mismatches: list = field(default_factory=list)
    crashes: list = field(default_factory=list)
    interrupted: bool = False  # stopped by Ctrl-C: the programs under way are not in it

    def add(self, other: "Result") -> None:
        for name in ("programs", "rejected", "calls", "compiles", "not_applicable", "out_of_fuel"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.combos |= other.combos
        self.mismatches += other.mismatches
        self.crashes += other.crashes

    @property
    def hangs(self) -> int:
        return sum(c.kind == "hang" for c in self.crashes)

    @property
    def failed(self) -> bool:
        return bool(self.mismatches or self.crashes)


# ---------------------------------------------------------------- compiling one way


class SampleProfile:
    """A stand-in for atlas.search.profile.Profile: the campaign's own inputs, so
    that the hot-path and tier shapes have samples to be read off."""

    def __init__(self, calls: list[Call], seed: int):
        self.calls = calls
        self.digest = f"fuzz:{seed}"

    def inputs(self, fn: ir.Function) -> list[list]:
        return [c.fresh() for c in self.calls if c.function == fn.name]


class NotApplicable(Exception):
    """The combination does not apply to this program (a pinned shape)."""


def native_compile(source: Path, combo: Combo, options, out: Path, probe: Probe) -> None:
    from ...pipeline import compile_files
    from ...front.syntax import run_deep

    # As `atlas compile` does: on a thread whose stack and recursion limit
    # hold deep terms, so that a RecursionError is a finding of the CLI too.
    run_deep(compile_files, [source], probe, out, use_atlas=combo.use_atlas, search=options, learned=[])


def native_runner(out: Path) -> Callable:
    from ...machine.runtime import load

    lib = load(out)
    return lambda name, args: lib[name](*args)


def search_options(combo: Combo, looped: list[str], calls: list[Call], seed: int, scratch: Path):
    """atlas.search.explode.Options for a combination (None: no search)."""
    from ...search.explode import Options, pinned

    archive = str(scratch / "archive.sqlite3")
    if combo.search:
        return Options(
            budget_s=1.0,
            max_evals=3,
            population=2,
            elite=1,
            plateau=1,
            repeats=1,
            timeout_s=10.0,
            generated_size=64,
            generated_scale=0,  # the campaign compares outputs itself, on every size it calls
            confirm_leaders=1,
            confirm_rounds=1,
            seed=seed,
            archive_path=archive,
            reuse=False,
        )
    if combo.shape is None:
        return None
    return Options(
        fixed={n: pinned(combo.shape) for n in looped},
        only_fixed=True,
        reuse=False,
        archive_path=archive,
        profiles={n: SampleProfile(calls, seed) for n in looped},
    )


@dataclass
class Target:
    """How to build and run one program: the real compiler and loader, or
    (in tests) a planted miscompiling one."""

    probe: Probe
    compile: Callable | None = None  # (source, combo, options, out) -> None
    runner: Callable = native_runner  # out -> run(function name, args)

    def build(
        self, source: Path, combo: Combo, specialised: ir.Module, calls: list[Call], seed: int, out: Path
    ) -> Callable:
        """Compile `source` in `combo` and load it.  A pinned shape is tried on
        every looped function, then without each one that refuses it; if it
        fits none, NotApplicable."""
        compile_fn = self.compile or (lambda s, c, o, d: native_compile(s, c, o, d, self.probe))
        looped = [f.name for f in specialised.functions if ir.has_loops(f.body)]
        while True:
            if combo.shape is not None and not looped:
                raise NotApplicable(combo.shape)
            try:
                compile_fn(source, combo, search_options(combo, looped, calls, seed, out.parent), out)
                break
            except AtlasError as exc:
                refusing = [
                    n for n in looped if str(exc).startswith(f"{n}: the shape") or f" {n}: the shape" in str(exc)
                ]
                if combo.shape is None or "does not apply" not in str(exc) or not refusing:
                    raise
                looped.remove(refusing[0])
        return self.runner(out)


def _first_line(exc: Exception) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().split("\n")[-1][:300]


# ---------------------------------------------------------------- one program


def run_program(
    prog: gen.Program, combos, target: Target, scratch: Path, note: Callable[[str], None] = lambda s: None
) -> Result:
    """Compile `prog` in each combination, call every function on the same
    inputs, compare with the interpreter."""
    from ...pipeline import front

    res = Result(programs=1, rejected=prog.rejected)
    source = scratch / f"p{prog.seed}.ax"
    source.write_text(prog.source)
    # the reference reads the loops as written (counted while loops included, front.counted)
    _, specialised, _ = front([source], target.probe, counted=False)
    rng = np.random.default_rng(prog.seed)
    calls = [c for spec in prog.functions for c in calls_for(spec, specialised.function(spec.name), rng)]
    expected = []
    for c in calls:
        e = interpret(specialised, c)
        if e is None:
            res.out_of_fuel += 1
        else:
            expected.append((c, e))
    for k, combo in enumerate(combos):
        note(combo.name)
        out = scratch / f"out{k}"
        try:
            run = target.build(source, combo, specialised, [c for c, _ in expected], prog.seed, out)
        except NotApplicable:
            res.not_applicable += 1
            continue
        except Exception as exc:  # noqa: BLE001 -- any compiler exception is a finding
            res.crashes.append(Crash(prog.seed, combo.name, "compiler", _first_line(exc)))
            continue
        res.compiles += 1
        res.combos.add(combo.name)
        for c, want in expected:
            try:
                got = outcome(run, c)
            except Exception as exc:  # noqa: BLE001
                res.crashes.append(Crash(prog.seed, combo.name, "runtime", f"{c.describe()}: {exc!r}"))
                continue
            res.calls += 1
            why = want.differs(got)
            if why:
                res.mismatches.append(Mismatch(prog.seed, combo.name, c, why))
        shutil.rmtree(out, ignore_errors=True)
    return res


# ---------------------------------------------------------------- still failing? (for the reducer)


def mismatch_predicate(call: Call, combo: Combo, target: Target, scratch: Path) -> Callable[[str], bool]:
    """Whether a variant of the program still computes something else than
    the interpreter for `call` in `combo`."""
    from ...pipeline import front

    def fails(text: str) -> bool:
        path = scratch / "candidate.ax"
        path.write_text(text)
        out = scratch / "candidate-out"
        try:
            _, specialised, _ = front([path], target.probe, counted=False)
            want = interpret(specialised, call)
            if want is None:
                return False
            run = target.build(path, combo, specialised, [call], 0, out)
            return want.differs(outcome(run, call)) is not None
        except Exception:  # noqa: BLE001 -- a variant that fails otherwise is not this failure
            return False
        finally:
            shutil.rmtree(out, ignore_errors=True)

    return fails


def crash_predicate(message: str, combo: Combo, target: Target, scratch: Path) -> Callable[[str], bool]:
    """Whether a variant still makes the compiler raise the same exception."""
    from ...pipeline import front

    def fails(text: str) -> bool:
        path = scratch / "candidate.ax"
        path.write_text(text)
        out = scratch / "candidate-out"
        try:
            _, specialised, _ = front([path], target.probe)
            target.build(path, combo, specialised, [], 0, out)
            return False
        except NotApplicable:
            return False
        except Exception as exc:  # noqa: BLE001
            return _first_line(exc).split(":")[0] == message.split(":")[0]
        finally:
            shutil.rmtree(out, ignore_errors=True)

    return fails


def reduce_findings(
    prog: gen.Program, res: Result, combos, target: Target, scratch: Path, findings: Path, budget_s: float
) -> Result:
    """Reduce the first mismatch and the first compiler crash of each
    combination and write them to `findings`; the Result names the files."""
    from .reduce import reduce, write_finding

    by_name = {c.name: c for c in combos}
    done: set = set()
    mismatches, crashes = [], []
    for m in res.mismatches:
        if (m.combo, "mismatch") in done:
            mismatches.append(m)
            continue
        done.add((m.combo, "mismatch"))
        r = reduce(prog.source, mismatch_predicate(m.call, by_name[m.combo], target, scratch), budget_s)
        report = (
            f"seed {prog.seed}, flags {m.combo}\ncall: {m.call.describe()}\n{m.detail}\n"
            f"({r.accepted} reductions in {r.tries} tries)\n"
        )
        name = f"seed{prog.seed}-{m.combo.replace(':', '-')}-mismatch"
        mismatches.append(replace(m, reduced=str(write_finding(findings, name, r.source, report))))
    for c in res.crashes:
        if c.kind != "compiler" or (c.combo, "crash") in done:
            crashes.append(c)
            continue
        done.add((c.combo, "crash"))
        r = reduce(prog.source, crash_predicate(c.detail, by_name[c.combo], target, scratch), budget_s)
        name = f"seed{prog.seed}-{c.combo.replace(':', '-')}-crash"
        report = f"seed {prog.seed}, flags {c.combo}\n{c.detail}\n"
        crashes.append(replace(c, reduced=str(write_finding(findings, name, r.source, report))))
    res.mismatches, res.crashes = mismatches, crashes
    return res


# ---------------------------------------------------------------- many programs, each in a worker


def _worker(seed: int, combos, probe: Probe, findings: Path | None, reduce_s: float, memory_gb: float, conn) -> None:
    # Ctrl-C at a terminal reaches every process of the group: the campaign
    # stops its workers itself, and they print nothing of it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A compile that eats all memory must fail here as a MemoryError (a
    # finding), not have the machine's OOM killer pick some other process.
    if memory_gb:
        import resource

        limit = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    scratch = Path(tempfile.mkdtemp(prefix=f"atlas-fuzz-{seed}-"))
    try:
        prog = gen.generate(seed)
        target = Target(probe)
        res = run_program(prog, combos, target, scratch, note=lambda name: conn.send(("combo", name)))
        if findings is not None and res.failed:
            conn.send(("unreduced", res))  # kept should the reduction itself be killed
            res = reduce_findings(prog, res, combos, target, scratch, findings, reduce_s)
        conn.send(("done", res))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the campaign stopped and closed its end: nobody is left to tell
    except Exception:  # noqa: BLE001 -- reported, the campaign goes on
        conn.send(("error", traceback.format_exc()))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        conn.close()


@dataclass
class _Running:
    seed: int
    proc: BaseProcess
    conn: Connection
    started: float
    combo: str = "front"
    unreduced: Result | None = None


def campaign(
    seeds,
    combos,
    probe: Probe,
    jobs: int = 1,
    timeout_s: float = 300.0,
    deadline: float | None = None,
    findings: Path | None = None,
    reduce_s: float = 120.0,
    memory_gb: float = 6.0,
    progress: Callable[[int, Result], None] = lambda s, r: None,
) -> Result:
    """Run programs `seeds` (an iterable, possibly endless) until it ends or
    time.monotonic() passes `deadline`; each program in a worker process
    killed after `timeout_s` (a hang; reducing its findings gets its own
    time on top).  Failures are reduced into `findings` when given."""
    # Workers come from a fork server, a fresh process with Atlas imported:
    # forking this one could copy a lock that one of its threads (a compile
    # still being stopped, an egglog run) holds, and the copy would wait on
    # it for ever.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["atlas.tools.fuzz.campaign", "atlas.pipeline"])
    total = Result()
    running: list[_Running] = []
    seeds = iter(seeds)
    try:
        exhausted = False
        while True:
            while not exhausted and len(running) < jobs and (deadline is None or time.monotonic() < deadline):
                seed = next(seeds, None)
                if seed is None:
                    exhausted = True
                    break
                here, there = ctx.Pipe(duplex=False)
                p = ctx.Process(
                    target=_worker, daemon=True, args=(seed, combos, probe, findings, reduce_s, memory_gb, there)
                )
                p.start()
                there.close()
                running.append(_Running(seed, p, here, time.monotonic()))
            if not running:
                break
            multiprocessing.connection.wait([r.conn for r in running] + [r.proc.sentinel for r in running], timeout=1.0)
            for r in list(running):
                res = _poll(r, timeout_s + (2 * reduce_s if r.combo == "reducing" else 0))
                if res is not None:
                    running.remove(r)
                    total.add(res)
                    progress(r.seed, res)
    except KeyboardInterrupt:
        for r in running:  # a stopped campaign leaves no worker behind
            r.proc.kill()
            r.proc.join()
        total.interrupted = True
    return total


def _poll(r: _Running, timeout_s: float) -> Result | None:
    """The worker's Result once it has one, a crash or hang Result if it
    died or ran too long, None while it is still working."""
    try:
        while r.conn.poll():
            kind, payload = r.conn.recv()
            if kind == "combo":
                r.combo = payload
            elif kind == "unreduced":
                r.unreduced, r.combo = payload, "reducing"
            elif kind == "done":
                r.proc.join()
                return payload
            else:
                r.proc.join()
                return Result(programs=1, crashes=[Crash(r.seed, r.combo, "worker", payload)])
    except (EOFError, OSError):
        pass
    if not r.proc.is_alive():
        r.proc.join()
        if r.unreduced is not None:
            return r.unreduced
        return Result(
            programs=1, crashes=[Crash(r.seed, r.combo, "worker", f"the worker died (exit code {r.proc.exitcode})")]
        )
    if time.monotonic() - r.started > timeout_s:
        r.proc.kill()
        r.proc.join()
        if r.unreduced is not None:
            return r.unreduced
        return Result(programs=1, crashes=[Crash(r.seed, r.combo, "hang", f"no result after {timeout_s:.0f} s")])
    return None


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
