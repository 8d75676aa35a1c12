"""The explosion: for each function, search its proven-equal variants for the
one that runs fastest on this machine, on the inputs it will really see.

A variant is named by a Genome, a small immutable record of choices:

    forms       per root whose e-class holds other forms: which member of the
                class, 0 for the source's own, then the class's cheapest
                members under the probe's cost model, each proven equal to
                the source by Z3 before it is offered
    shape       how the loops are written: as given, hot path first, a
                speculative block tier, a wide accumulator, range checks
                proven away, loops interchanged (each one a proven
                transformation: atlas/search/shapes.py, deferred.py, nests.py)
    knobs       how the backend realises the loops: vector width, interleaved
                iterations (accumulators), unrolling, preferred register width.
                They change how the code runs, never what it computes.

Every gene value on offer is proven before the search starts, so whatever
wins is proven.  Fitness is measured, never guessed: each candidate is
compiled, run in a separate worker process on the profile's inputs (or
generated ones), and scored by the median of repeated runs against the
default variant measured in the same search.  Everything measured goes into
the archive (atlas/search/archive.py); an unchanged recompile takes the champion
from there without measuring anything.

On a machine with two cores or more, the next candidate is compiled on one
thread while the current one is timed in its worker, pinned to a core the
compiling thread keeps off (`_Builder`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import statistics
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import __version__
from ..meaning import ir
from ..meaning.terms import Term, pretty
from ..logic import lower, requires
from ..machine.probe import Probe
from ..machine.backend import Backend
from ..machine.manifest import Origin, SearchSummary
from .worker import Measured
from .genome import KNOBS, Genome, Space, crossover, gene_value, mutate, with_gene  # noqa: F401 (the search's API)
from ..front.diagnostics import AtlasError
from ..logic import differential
from ..logic.differential import same

SEARCH_VERSION = "2"  # part of the archive context: a new search space invalidates old champions
LARGE_INPUT_NS = 20e6  # the large generated input is searched on where the default takes at most this per call


# ---------------------------------------------------------------- evaluation


@dataclass
class Evaluation:
    genome: Genome
    status: Measured
    variant_hash: str = ""
    times: list[float] = field(default_factory=list)  # median ns per input size
    fitness: float = math.inf  # geometric mean of time / baseline time (lower is better)
    detail: str = ""
    from_archive: bool = False
    cut_off: bool = False  # stopped at the search's deadline: says nothing of the variant


@dataclass
class Options:
    """What a search may spend and what it measures on."""

    budget_s: float = 60.0  # the whole search: every function, its confirmation included
    deadline: float | None = None  # time.monotonic() by which it ends, if set (the CLI's: its start + --budget)
    max_evals: int = 48  # per function
    population: int = 8
    elite: int = 2
    plateau: int = 3  # generations without a 2% gain end the search
    seed: int = 0
    repeats: int = 7  # timed samples per candidate and input
    timeout_s: float = 20.0  # a candidate that runs longer is killed
    profiles: dict = field(default_factory=dict)  # function name -> atlas.search.profile.Profile
    feedback: dict | None = None  # function -> {counter label: count}, from a previous run
    generated_size: int = 4096  # elements per array when a function has no profile
    # ... and a second input this many times larger, out of the caches (0: none),
    # kept where the default variant takes at most LARGE_INPUT_NS per call on it
    generated_scale: int = 256
    archive_path: str | None = None  # default: the user's cache dir
    reuse: bool = True  # take an archived champion instead of searching again
    confirm_leaders: int = 2  # leaders measured again beside the default at the end
    confirm_rounds: int = 3
    noise: float = 0.02  # a leader must beat the default by more than this
    fixed: dict[str, "Genome | Pinned"] = field(default_factory=dict)  # function -> what to emit, unsearched
    only_fixed: bool = False  # search nothing else
    search_new: bool = True  # False: champions from the archive only, the rest as they are
    progress: Callable | None = None  # progress(function, done, total, best Evaluation | None, note)
    strategy: str = "genetic"  # or "random": uniform sampling of the space, the search's yardstick
    screen: int = 4  # children bred per one measured, ranked by the learned cost model (1: no screening)
    explore: int = 2  # of each generation, measured at random from what the model ranked lower
    remote: Any = None  # where candidates are timed: None for this machine, else a remote.Remote


@dataclass
class Outcome:
    function: str
    genome: Genome
    variant: ir.Function
    evidence: dict
    summary: SearchSummary
    forms: list = field(default_factory=list)  # the roots not in their source form, each with its form

    @property
    def proven_sites(self) -> frozenset[str]:
        """Where the shape replaced a loop by a statement proven equal to it
        on its own, by induction (file:line:col)."""
        from .deferred import proven_sites

        return proven_sites(self.evidence)


@dataclass(frozen=True)
class Ran:
    """How one search went."""

    stop: str  # why it ended
    evaluations: int
    generations: int
    space: int | None = None  # genomes in the space searched
    considered: int = 0  # genomes bred (or drawn) as candidates
    screened: int = 0  # of them, ranked by the learned cost model
    trained_on: int = 0  # measurements the model last learned from, the archive's included


class _Candidates:
    """Builds the variant function a genome names; every form and shape
    proven before it is offered."""

    def __init__(self, target: "Target", fn_name: str, samples, profiled: bool, feedback: dict | None):
        self.module, self.fn_name = target.module, fn_name
        mine = [r for r in target.roots if r.function == fn_name]
        self.sources = {r.name: r.term for r in mine}
        self.chosen = target.chosen
        self.alternatives = target.alternatives
        self._unproven = {r.name: self._distinct_forms(r.name) for r in mine}  # before their proofs
        self.roots = tuple(r.name for r in mine if len(self._unproven[r.name]) > 1)
        self.samples = samples  # () -> the inputs, drawn only when a hot path is wanted
        self.profiled = profiled
        self.feedback = feedback or {}
        self._forms: dict[str, tuple[Term, ...]] = {}
        self._bases: dict = {}
        self._shaped: dict = {}
        self.notes: list[str] = []

    def forms(self, root: str) -> tuple[Term, ...]:
        """The forms of a root on offer: the source's first, then the
        verified one (the atlas's cheapest, proven when the module was),
        then the class's next cheapest members, each proven equal to the
        source by Z3 here; one that is not proven is not offered."""
        if root not in self._forms:
            from ..logic.stages import unproven_because

            source, *others = self._unproven[root]
            out = [source]
            for t in others:
                why = None if t is self.chosen.get(root) else unproven_because(source, t)  # chosen: proven already
                if why is None:
                    out.append(t)
                else:
                    self.notes.append(f"{root}: the form {pretty(t)} is not offered: {why}")
            self._forms[root] = tuple(out)
        return self._forms[root]

    def _distinct_forms(self, root: str) -> list[Term]:
        """The source's form, the verified one, then the class's others,
        one of each that differ beyond the order of commuted operands
        (which changes no code)."""
        from ..logic.rules import canonical

        out, seen = [], set()
        for t in (self.sources[root], self.chosen.get(root), *self.alternatives.get(root, ())):
            if t is not None and canonical(t) not in seen:
                seen.add(canonical(t))
                out.append(t)
        return out

    def default_forms(self) -> tuple[int, ...]:
        """What the compile without a search emits: the verified form where
        there is one (up to commuted operands: the same code)."""
        return tuple(1 if self._unproven[r][1] is self.chosen.get(r) else 0 for r in self.roots)

    def described(self, forms: tuple[int, ...]) -> list[str]:
        """The roots not in their source form, each with the form chosen."""
        out = []
        for r, k in zip(self.roots, forms):
            if k:
                offered = self.forms(r)
                out.append(f"{r}: {pretty(offered[k])} (form {k} of the {len(offered) - 1} proven equal by Z3)")
        return out

    def base(self, forms: tuple[int, ...]) -> ir.Function:
        if forms not in self._bases:
            use = {r: self.forms(r)[k] for r, k in zip(self.roots, forms) if k}
            m, _ = lower.transform(self.module, lambda r: use.get(r.name, r.term))
            self._bases[forms] = lower.tidy(m.function(self.fn_name))
        return self._bases[forms]

    def shape(self, forms: tuple[int, ...], shape: str):
        """(function, evidence) or None when the shape does not apply to this base."""
        key = (forms, shape)
        if key not in self._shaped:
            self._shaped[key] = self._make(self.base(forms), shape)
        return self._shaped[key]

    def _make(self, fn: ir.Function, shape: str):
        if shape == "plain":
            return fn, {"shape": "plain"}
        made = None
        if shape in LOOP_SHAPES:
            made = loop_shape(shape)(fn)
        elif (shape == "hot-path" or shape.startswith("tier")) and self.profiled:
            from . import shapes  # hot paths are read off a profile, never guessed

            hot = shapes.hot_path(fn, self.samples())
            if hot is not None:
                made = shapes.hoist(fn, hot) if shape == "hot-path" else shapes.tier(fn, hot, int(shape[4:]))
        if made is None or _local_arrays_moved(fn, made.function):  # as `shaped` does, hot paths too
            return None
        return made.function, made.evidence

    def offered(self) -> tuple[str, ...]:
        """The shapes that apply (and are proven) for the default forms."""
        forms = self.default_forms()
        names = ["plain", *LOOP_SHAPES]
        if self.profiled:
            names += ["hot-path", "tier16", "tier64", "tier256"]
        names = [n for n in names if not n.startswith("tier") or self._tier_allowed(int(n[4:]))]
        return tuple(n for n in names if self.shape(forms, n) is not None)

    def _tier_allowed(self, block: int) -> bool:
        """Counted fallbacks from a previous run: a block tier whose blocks
        would fall back more often than 1 in 20 is not offered again.  The
        per-element miss rate p follows from the observed block rate r at
        block size B: 1 - r = (1 - p)^B."""
        fb = self.feedback.get(self.fn_name) or {}
        for label, blocks in fb.items():
            if not label.endswith("blocks") or not blocks:
                continue
            falls = fb.get(label[: -len("blocks")] + "fallbacks", 0)
            size = int(fb.get(label[: -len("blocks")] + "block", 0)) or None
            if size is None:
                continue
            r = min(max(falls / blocks, 0.0), 1.0)
            p = 1.0 - (1.0 - r) ** (1.0 / size)
            predicted = 1.0 - (1.0 - p) ** block
            if predicted > 0.05:
                self.notes.append(
                    f"tier{block} not offered: feedback shows {falls} fallbacks in "
                    f"{blocks} blocks of {size}, so about {predicted:.0%} of blocks "
                    f"of {block} would fall back"
                )
                return False
        return True


def space_for(candidates: _Candidates, probe: Probe) -> Space:
    wide = (0, 256, 512) if probe.cpu.has("avx512f") else (0, 256)
    widths = (0, 1, 4, 8, 16, 32) if probe.cpu.has("avx512f") else (0, 1, 4, 8, 16)
    return Space(
        roots=candidates.roots,
        choices=tuple(tuple(range(len(candidates.forms(r)))) for r in candidates.roots),
        defaults=candidates.default_forms(),
        shapes=candidates.offered(),
        vector_width=widths,
        prefer_width_bits=wide,
    )


def context_key(fn: ir.Function, options: Options, backend: str) -> str:
    """What a measurement depends on besides the intent and the machine."""
    from .profile import LARGE_INT

    prof = options.profiles.get(fn.name)
    fb = (options.feedback or {}).get(fn.name)
    h = hashlib.sha256(
        json.dumps(
            {
                "search": SEARCH_VERSION,
                "atlas": __version__,
                "backend": backend,
                "profile": prof.digest
                if prof is not None
                else f"generated:{options.generated_size}x{options.generated_scale}:ints 3 and {LARGE_INT}",
                "feedback": fb,
                "repeats": options.repeats,
            },
            sort_keys=True,
        ).encode()
    )
    return h.hexdigest()[:32]


def _module_with(module: ir.Module, fn: ir.Function) -> ir.Module:
    return ir.Module(tuple(fn if f.name == fn.name else f for f in module.functions), module.sources)


class _NpyArgs:
    """Arguments stored as .npy files, loaded in the worker: large inputs are
    written once per search, not pickled through a pipe for every candidate."""

    def __init__(self, folder: Path, args: list):
        self.items = []
        for k, a in enumerate(args):
            if isinstance(a, np.ndarray):
                path = folder / f"arg{k}.npy"
                np.save(path, a)
                self.items.append(("npy", str(path)))
            else:
                self.items.append(("value", a))

    def __call__(self):
        return [np.load(v) if kind == "npy" else v for kind, v in self.items]


def _same_outputs(a: dict | None, b: dict | None, slack: float | None = None) -> bool:
    """Two variants' outputs on one input, bit for bit (any NaN equal to any
    NaN); floats within `slack` where it is given (a `reassoc fn`'s folds may
    be summed in another order: differential.regroup_slack)."""
    if a is None or b is None:
        return False

    def eq(x, y) -> bool:
        return same(x, y) or (slack is not None and differential.within(x, y, slack))

    if not eq(a.get("return"), b.get("return")):
        return False
    arrays_a, arrays_b = a.get("arrays") or {}, b.get("arrays") or {}
    return arrays_a.keys() == arrays_b.keys() and all(eq(arrays_a[k], arrays_b[k]) for k in arrays_a)


@dataclass(frozen=True)
class Target:
    """What a search works on and for which machine."""

    module: ir.Module  # the specialised source the roots belong to
    final: ir.Module  # the proven module a candidate is compiled beside
    roots: list  # lower.Root, every function's
    chosen: dict  # proven root name -> its atlas form
    probe: Probe
    backend: Backend
    intent: str  # the intent's hash: the archive's key
    machine: str  # the probe's fingerprint
    alternatives: dict = field(default_factory=dict)  # root name -> its class's cheapest members, unproven


@dataclass(frozen=True)
class _Built:
    """A candidate compiled into its folder, with the hash of its code."""

    out: Path
    vhash: str


class _Builder:
    """Compiles candidates on a thread of its own, pinned off the core the
    candidates are timed on: the next candidate is built while this one
    runs.  Every compile goes through it, so the backend is only ever used
    by one thread at a time."""

    def __init__(self, timing_cpu: int, build_cpus: set[int]):
        self.timing_cpu = timing_cpu
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="atlas-build", initializer=_pin, initargs=(build_cpus,))
        self.pending: dict[Genome, Future] = {}

    @staticmethod
    def for_this_machine() -> "_Builder | None":
        """None where there is one core to use (or no way to pin)."""
        if not hasattr(os, "sched_getaffinity") or os.environ.get("ATLAS_SEARCH_THREADS") == "1":
            return None
        cpus = os.sched_getaffinity(0)
        if len(cpus) < 2:
            return None
        timing = max(cpus)
        return _Builder(timing, cpus - {timing})

    def settle(self) -> None:
        """Drop what was built ahead and not measured: nothing left running
        when another search, or anything else, compiles."""
        for f in self.pending.values():
            if not f.cancel():
                f.result()
        self.pending.clear()

    def close(self) -> None:
        self.settle()
        self.pool.shutdown(wait=True)


def _pin(cpus: set[int]) -> None:
    try:
        os.sched_setaffinity(0, cpus)  # this thread only (and what it starts: the linker)
    except OSError:
        pass


class Search:
    """One function's search.  `measure(genome) -> Evaluation` can be replaced
    (tests use a deterministic fitness); by default it compiles the candidate
    and times it in the worker."""

    def __init__(self, target: Target, fn_name: str, options: Options):
        self.module, self.fn_name, self.probe, self.backend = target.final, fn_name, target.probe, target.backend
        self.options, self.intent, self.machine = options, target.intent, target.machine
        fn = target.module.function(fn_name)
        self._fn = fn
        self._inputs: list | None = None
        self._large = False  # the inputs end with a large generated one, not yet timed
        prof = options.profiles.get(fn_name)
        self.candidates = _Candidates(target, fn_name, lambda: self.inputs, prof is not None, options.feedback)
        self.context = context_key(fn, options, target.backend.name)
        self.evaluated: dict[Genome, Evaluation] = {}
        self.by_hash: dict[str, Evaluation] = {}
        self.baseline: Evaluation | None = None
        self.reference: list | None = None  # the default variant's outputs, per input
        self._slack_cache: list | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix=f"atlas-search-{fn_name}-"))
        self._space: Space | None = None
        self._saved: list | None = None
        self.measure: Callable[[Genome], Evaluation] = self._measure
        self.until = math.inf  # the deadline of what runs now (time.monotonic())
        self.spent = 0.0  # seconds measuring before run()
        self._ga: Genetic | None = None
        self._builder = _Builder.for_this_machine()

    @property
    def inputs(self) -> list:
        """The profile's inputs (or generated ones), drawn on first use: a
        champion taken from the archive needs none."""
        if self._inputs is None:
            from .profile import generated

            o = self.options
            prof = o.profiles.get(self.fn_name)
            if prof is not None:
                self._inputs = prof.inputs(self._fn)
            else:
                self._inputs = generated(self._fn, o.generated_size, o.seed)
                if o.generated_scale > 1:
                    large = generated(self._fn, o.generated_size * o.generated_scale, o.seed, both=False)
                    if _elements(large) > _elements(self._inputs):
                        self._inputs = self._inputs + large
                        self._large = True
        return self._inputs

    @property
    def space(self) -> Space:
        """Built on first use: offering a shape means proving it, which an
        archived champion does not need for the shapes it did not pick."""
        if self._space is None:
            self._space = space_for(self.candidates, self.probe)
        return self._space

    @property
    def _args(self) -> list:
        if self._saved is None:
            self._saved = [_NpyArgs(self._mkdir(f"inputs{k}"), a) for k, a in enumerate(self.inputs)]
        return self._saved

    def _mkdir(self, name: str) -> Path:
        p = self.workdir / name
        p.mkdir()
        return p

    def close(self) -> None:
        if self._builder is not None:
            self._builder.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- one candidate
    def prefetch(self, g: Genome) -> None:
        """Start compiling g, to be timed next (where a second core allows)."""
        b = self._builder
        if b is None or self.measure != self._measure or g in b.pending or g in self.evaluated:
            return
        made = self.candidates.shape(g.forms, g.shape)  # proofs stay on this thread
        if made is not None:
            b.pending[g] = b.pool.submit(self._compile, made[0], g)

    def _build(self, g: Genome, fn: ir.Function) -> "_Built | Evaluation":
        b = self._builder
        if b is None:
            return self._compile(fn, g)
        f = b.pending.pop(g, None) or b.pool.submit(self._compile, fn, g)
        return f.result()

    def _compile(self, fn: ir.Function, g: Genome) -> "_Built | Evaluation":
        out = Path(tempfile.mkdtemp(dir=self.workdir, prefix="cand-"))
        try:
            emitted = self.backend.emit(_module_with(self.module, fn), self.probe, out, {self.fn_name: g.realisation()})
        except Exception as exc:  # a backend that cannot realise it: not a winner
            return Evaluation(g, Measured.ERROR, detail=f"emit failed: {exc}")
        (out / "manifest.json").write_text(json.dumps({"format": "atlas-artefact/1", **emitted.manifest}))
        vhash = hashlib.sha256(
            (emitted.dumps.get("llvm-opt") or "".join((out / f).read_bytes().hex() for f in emitted.files)).encode()
        ).hexdigest()[:24]
        return _Built(out, vhash)

    def _slacks(self) -> list:
        """Per input, how far a `reassoc fn`'s float outputs may move between
        variants (None: bit for bit), worked out once."""
        if self._slack_cache is None:
            reassoc = self.module.function(self.fn_name).reassoc
            self._slack_cache = [differential.regroup_slack(a()) if reassoc else None for a in self._args]
        return self._slack_cache

    def _timer(self, *args, **options):
        """worker.measure here, or on the target's machines of a cluster."""
        from . import worker

        remote = self.options.remote
        return worker.measure(*args, **options) if remote is None else remote.measure(*args, **options)

    def _measure(self, g: Genome, again: bool = False) -> Evaluation:
        made = self.candidates.shape(g.forms, g.shape)
        if made is None:
            return Evaluation(g, Measured.INAPPLICABLE, detail=f"shape {g.shape} does not apply to these forms")
        built = self._build(g, made[0])
        if isinstance(built, Evaluation):
            return built
        out, vhash = built.out, built.vhash
        if vhash in self.by_hash and not again:  # the same code under another name
            prior = self.by_hash[vhash]
            shutil.rmtree(out, ignore_errors=True)
            return replace(prior, genome=g)
        times, results = [], []
        for args in self._args:
            left = self.until - time.monotonic()
            if left <= 0:
                shutil.rmtree(out, ignore_errors=True)
                return Evaluation(g, Measured.TIMEOUT, vhash, detail="the search's time ran out", cut_off=True)
            m = self._timer(
                out,
                self.fn_name,
                args,
                repeats=self.options.repeats,
                timeout_s=min(self.options.timeout_s, left),
                cpu=None if self._builder is None else self._builder.timing_cpu,
            )
            if m.status is Measured.TIMEOUT and left < self.options.timeout_s:
                shutil.rmtree(out, ignore_errors=True)  # cut off in flight, not too slow
                return Evaluation(g, Measured.TIMEOUT, vhash, detail="cut off: the search's time ran out", cut_off=True)
            if not m.ok or m.median_ns is None:
                shutil.rmtree(out, ignore_errors=True)
                return Evaluation(
                    g, m.status if not m.ok else Measured.ERROR, vhash, detail=m.detail or "no timing came back"
                )
            times.append(m.median_ns)
            results.append(m.result)
        shutil.rmtree(out, ignore_errors=True)
        if self.reference is not None and not all(map(_same_outputs, results, self.reference, self._slacks())):
            return Evaluation(g, Measured.WRONG, vhash, times, detail="outputs differ from the default variant's")
        if self.reference is None:
            self.reference = results
        return Evaluation(g, Measured.OK, vhash, times)

    @property
    def ga(self) -> Genetic:
        if self._ga is None:
            prior = self._archived_measurements() if self.measure == self._measure else []
            self._ga = Genetic(self.space, self.measure, self.options, self.fn_name, self._record, prior)
            self._ga.prefetch = self.prefetch
        return self._ga

    def _archived_measurements(self) -> list:
        """What earlier searches of this function measured on this machine
        and these inputs, for the cost model: (genome, its target)."""
        from .archive import Archive
        from .screen import target

        with Archive(self.options.archive_path) as a:
            rows = a.variants(self.intent, self.machine, self.fn_name, self.context)
        out = []
        for row in rows:
            y = target(row["times_ns"]) if row["status"] == Measured.OK.value else None
            if y is not None:
                out.append((Genome.from_dict(row["genome"]), y))
        return out

    def default_ns(self, until: float = math.inf) -> float | None:
        """The default variant measured (once): its time summed over the
        inputs, what the search's share of the budget is weighed by; None
        where it did not run."""
        self.until = until
        t0 = time.monotonic()
        if self.measure == self._measure and self.inputs and self._large:
            self._check_large()
        e = self.ga.evaluate(self.space.default())
        self.spent += time.monotonic() - t0
        return sum(e.times) if e.status is Measured.OK else None

    def _check_large(self) -> None:
        """Keep the large generated input only where the default variant
        runs it within LARGE_INPUT_NS per call: a search measures many
        candidates, each several times."""
        self._large = False
        made = self.candidates.shape(self.space.default().forms, "plain")
        built = self._compile(made[0], self.space.default()) if made is not None else None
        if not isinstance(built, _Built):
            self._drop_large("the default variant could not be built to time it")
            return
        try:
            m = self._timer(
                built.out,
                self.fn_name,
                self._args[-1],
                repeats=1,
                timeout_s=min(self.options.timeout_s, 10.0),  # the worker's start counts too
                min_sample_ns=0,
                cpu=None if self._builder is None else self._builder.timing_cpu,
            )
        finally:
            shutil.rmtree(built.out, ignore_errors=True)
        if not m.ok or m.median_ns is None or m.median_ns > LARGE_INPUT_NS:
            took = "did not finish" if not m.ok or m.median_ns is None else f"takes {m.median_ns / 1e6:.1f} ms"
            self._drop_large(f"the default variant {took} per call on it")

    def _drop_large(self, why: str) -> None:
        inputs = self.inputs
        self.candidates.notes.append(
            f"the large generated input ({_elements(inputs[-1:])} elements) is left out of the search: {why}"
        )
        self._inputs = inputs[:-1]
        if self._saved is not None:
            self._saved = self._saved[:-1]

    def run(self, until: float | None = None) -> tuple[Evaluation, Ran]:
        """The search, ended by `until` (default: the options' budget from
        now), with time kept to confirm the leaders: what their rounds take
        at the pace the default variant was measured, a quarter to a half
        of what is left."""
        start = time.monotonic()
        self.until = until if until is not None else start + self.options.budget_s
        span = max(0.0, self.until - start)
        o = self.options
        need = 2 * o.confirm_leaders * o.confirm_rounds * self.spent
        best, how = self.ga.run(until=self.until - min(0.5 * span, max(0.25 * span, need)))
        if self._builder is not None:
            self._builder.settle()
        self.baseline = self.ga.baseline
        self.evaluated = self.ga.evaluated
        if self.measure == self._measure:
            best = self._confirm(best)
        return best, how

    def outcome(self, g: Genome, made: tuple, summary: SearchSummary) -> Outcome:
        """The champion `g`, built as `made` = (function, shape evidence)."""
        return Outcome(self.fn_name, g, made[0], made[1], summary, self.candidates.described(g.forms))

    def _record(self, e: Evaluation) -> None:
        if e.cut_off:  # says nothing of the variant: neither reused nor archived
            return
        if e.variant_hash:
            self.by_hash.setdefault(e.variant_hash, e)
        if e.from_archive or self.measure != self._measure or e.status is Measured.INAPPLICABLE:
            return
        from .archive import Archive

        with Archive(self.options.archive_path) as a:
            a.record(
                self.intent,
                self.machine,
                self.fn_name,
                e.genome.as_dict(),
                e.variant_hash,
                e.status.value,
                e.times[0] if e.times else None,
                [int(t) for t in e.times],
                {"times_per_input": e.times, "detail": e.detail},
                context=self.context,
            )

    def _confirm(self, best: Evaluation) -> Evaluation:
        """The leaders measured again, each in rounds side by side with the
        default (default, leader, default, leader, ...): the machine's drift
        during a search can crown a variant that is not really faster, and
        can hide one that is.  Each input size's ratio is the median of its
        rounds; the variant whose geometric mean of those is lowest wins, if
        it beats the default by more than the noise allowance."""
        default = self.space.default()
        if self.baseline is None:
            return best
        leaders, seen = [], set()
        for e in sorted(
            (e for e in self.evaluated.values() if e.status is Measured.OK and e.genome != default),
            key=lambda e: e.fitness,
        ):
            if e.variant_hash not in seen and e.fitness < 1.0:
                seen.add(e.variant_hash)
                leaders.append(e)
            if len(leaders) == self.options.confirm_leaders:
                break
        self.confirmed = []
        winner, winner_ratio = self.baseline, 1.0 / (1.0 + self.options.noise)
        for e in leaders:
            ratios: list[list[float]] = [[] for _ in self._args]
            rounds, failed = 0, False
            for _ in range(self.options.confirm_rounds):
                if time.monotonic() >= self.until:
                    break
                base = self._measure(default, again=True)
                lead = self._measure(e.genome, again=True)
                if base.status is not Measured.OK or lead.status is not Measured.OK:
                    failed = not (base.cut_off or lead.cut_off)  # cut off: the rounds done still count
                    break
                for k, (t, b) in enumerate(zip(lead.times, base.times)):
                    ratios[k].append(t / b)
                rounds += 1
            if failed or not rounds:
                if not failed:  # unconfirmed: not crowned
                    self.candidates.notes.append(
                        f"{e.genome.describe()} ({1 / e.fitness:.2f}x while searching) was not confirmed: "
                        "the budget ran out (a larger --budget leaves time to confirm it)"
                    )
                continue
            ratio = math.exp(sum(math.log(statistics.median(r)) for r in ratios) / len(ratios))
            self.confirmed.append({"genome": e.genome.describe(), "ratio": round(ratio, 4), "rounds": rounds})
            if ratio < winner_ratio:
                winner, winner_ratio = e, ratio
        if winner is not self.baseline:
            winner = replace(winner, fitness=winner_ratio)
        return winner


def _geomean_ratio(times, base) -> float:
    if not times or not all(times) or not all(base):
        return math.inf
    return math.exp(sum(math.log(t / b) for t, b in zip(times, base)) / len(times))


class Genetic:
    """Mutation, crossover and selection with elitism over one Space, each
    generation's children screened by a learned cost model (screen.py)
    before any is measured.  Deterministic for a seed: the random choices
    depend on nothing else (measurements only rank the genomes).  With
    strategy "random", genomes drawn uniformly instead: the yardstick the
    search is measured against."""

    def __init__(
        self,
        space: Space,
        measure: Callable[[Genome], Evaluation],
        options: Options,
        name: str = "",
        on_result: Callable[[Evaluation], None] | None = None,
        prior: list | None = None,
    ):
        from .screen import CostModel, Screening

        if options.strategy not in STRATEGIES:
            known = ", ".join(STRATEGIES)
            raise AtlasError(None, f"unknown search strategy {options.strategy!r} (strategies: {known})")
        self.space, self.measure, self.options, self.name = space, measure, options, name
        self.on_result = on_result or (lambda e: None)
        self.evaluated: dict[Genome, Evaluation] = {}
        self.order: list[Genome] = []  # in the order they were measured
        self.baseline: Evaluation | None = None
        self.prefetch: Callable[[Genome], None] = lambda g: None  # told what is measured next
        self.prior = list(prior or [])  # (genome, screen.target) from earlier searches
        self.model = CostModel(space)
        self.screening = Screening()

    def evaluate(self, g: Genome) -> Evaluation:
        if g in self.evaluated:
            return self.evaluated[g]
        e = self.measure(g)
        if e.cut_off:  # measured again if there is time for it
            return e
        if e.status is Measured.OK:
            if self.baseline is None:
                self.baseline = e
            e.fitness = _geomean_ratio(e.times, self.baseline.times)
        self.evaluated[g] = e
        self.order.append(g)
        self.on_result(e)
        return e

    def run(self, until: float | None = None) -> tuple[Evaluation, Ran]:
        """Until `until` (time.monotonic(); default: the options' budget from now)."""
        o = self.options
        rng = random.Random(f"{o.seed}:{self.name}")
        deadline = until if until is not None else time.monotonic() + o.budget_s
        default = self.space.default()
        best = self.evaluate(default)

        def report(note):
            if o.progress:
                o.progress(self.name, self.measured, o.max_evals, best, note)

        report("default variant")
        if best.status is not Measured.OK:
            return best, self._ran(f"the default variant did not run: {best.status.value} {best.detail}", 0)
        population = self._fresh(rng, o.population - 1, default)
        leader, stale, generation, stop = math.inf, 0, 0, "evaluation limit"
        while True:
            for k, g in enumerate(population):
                if self.spent_all():
                    break
                if time.monotonic() >= deadline:
                    stop = "time limit"
                    break
                if k + 1 < len(population) and self.measured + 1 < o.max_evals:
                    self.prefetch(population[k + 1])
                e = self.evaluate(g)
                if e.cut_off:
                    stop = "time limit"
                    break
                if e.status is Measured.OK and e.fitness < best.fitness:
                    best = e
                report(g.describe())
            if self.spent_all() or stop == "time limit":
                break
            generation += 1
            stale = stale + 1 if best.fitness > leader / 1.02 else 0
            leader = min(leader, best.fitness)
            if stale >= o.plateau and o.strategy == "genetic":
                stop = f"plateau: no gain over 2% in {o.plateau} generations"
                break
            ranked = sorted((e for e in self.evaluated.values() if e.status is Measured.OK), key=lambda e: e.fitness)
            population = self._drawn(rng, o.population) if o.strategy == "random" else self._next(ranked, rng)
            if not population:
                stop = "search space exhausted"
                break
        return best, self._ran(stop, generation)

    @property
    def measured(self) -> int:
        """Genomes measured: a shape that does not apply to a genome's forms
        is found out without compiling or running anything."""
        return sum(e.status is not Measured.INAPPLICABLE for e in self.evaluated.values())

    def spent_all(self) -> bool:
        # inapplicable genomes cost little, but not nothing: at most as many again thrice
        return self.measured >= self.options.max_evals or len(self.evaluated) >= 4 * self.options.max_evals

    def _ran(self, stop: str, generations: int) -> Ran:
        return Ran(
            stop,
            self.measured,
            generations,
            self.space.size(),
            self.screening.considered,
            self.screening.screened,
            self.model.trained_on,
        )

    def _fresh(self, rng, k: int, around: Genome) -> list[Genome]:
        """The first generation: drawn across the whole space (the default,
        `around`, is measured already), screened where the archive taught
        the model something."""
        if self.options.strategy == "random":
            return self._drawn(rng, k)
        # Every shape on offer once, with the default's forms and knobs (the
        # forms its proof was made for): a family's win is often one shape,
        # which a uniform draw over forms and knobs can miss in a whole
        # search where it applies to few forms (Fletcher-32's deferred
        # reduction applies only where the subtraction of m keeps its form).
        shapes = dict(self.space.genes()).get("shape", ())
        first = [with_gene(around, "shape", v) for v in shapes if v != gene_value(around, "shape")][:k]
        self.screening.considered += len(first)
        drawn = self._drawn(rng, (k - len(first)) * max(1, self.options.screen), count=False, besides=first)
        return first + self._screened(drawn, k - len(first), rng)

    def _drawn(self, rng, k: int, count: bool = True, besides: list[Genome] | None = None) -> list[Genome]:
        """k genomes not measured yet (nor in `besides`), each gene drawn uniformly."""
        out: list[Genome] = []
        taken = set(besides or ())
        tries = 0
        while len(out) < k and tries < 50 * k:
            tries += 1
            g = self.space.draw(rng)
            if g not in self.evaluated and g not in out and g not in taken:
                out.append(g)
        if count:
            self.screening.considered += len(out)
        return out

    def _next(self, ranked: list[Evaluation], rng) -> list[Genome]:
        """Children of tournament winners (the elite stay in the pool of
        parents: already measured, they are not run again) and as many
        genomes drawn afresh, `screen` times a generation in all, screened
        down to one generation (without screening, children only)."""
        o = self.options
        pool = ranked[: max(o.elite, len(ranked) // 2)]

        def pick() -> Genome:
            group = rng.sample(pool, min(3, len(pool)))
            return min(group, key=lambda e: e.fitness).genome

        children: list[Genome] = []
        tries, want = 0, o.population * max(1, o.screen)
        bred = want // 2 if o.screen > 1 else want  # screened: half the pool bred, half drawn afresh
        while len(children) < bred and tries < 50 * want:
            tries += 1
            a = pick()
            child = mutate(crossover(a, pick(), self.space, rng), self.space, rng, rate=0.2)
            if child not in self.evaluated and child not in children and self.space.contains(child):
                children.append(child)
        if o.screen > 1:
            children += self._drawn(rng, want - len(children), count=False, besides=children)
        return self._screened(children, o.population, rng)

    def _screened(self, bred: list[Genome], k: int, rng) -> list[Genome]:
        """k of the bred genomes to measure: the model's best, and
        `explore` of the rest at random; the first k while the model has
        too little to learn from."""
        from .screen import target

        self.screening.considered += len(bred)
        if len(bred) <= k:
            return bred
        mine = [(g, target(e.times)) for g, e in self.evaluated.items() if e.status is Measured.OK]
        samples = [(g, y) for g, y in self.prior + mine if y is not None]
        if not self.model.fit(samples):
            return bred[:k]
        # the model's own descent from its favourites: genomes no parent bred
        for g in self.model.rank(bred)[:2]:
            better = self.model.improve(g)
            if better not in self.evaluated and better not in bred:
                bred.append(better)
                self.screening.considered += 1
        self.screening.screened += len(bred)
        ranked = self.model.rank(bred, optimistic=True)
        explore = min(self.options.explore, k - 1) if k > 1 else 0
        chosen = ranked[: k - explore]
        rest = ranked[k - explore :]
        return chosen + rng.sample(rest, min(explore, len(rest)))


STRATEGIES = ("genetic", "random")


def explode(target: Target, options: Options, functions=None) -> dict[str, Outcome]:
    """Search every function that has a loop (the knobs and shapes are about
    loops), or the ones named; returns each one's champion.  A function
    pinned or crowned in the archive costs no time; the others share
    options.budget_s."""
    module, roots, chosen = target.module, target.roots, target.chosen
    # a function whose whole body became one proven term has no loop left
    flat = {r.function for r in roots if r.role == lower.FUNCTION and r.name in chosen}
    names = functions or [
        f.name
        for f in module.functions
        if ir.has_loops(f.body)
        and f.name not in flat
        and (f.name in options.fixed or not options.only_fixed)
        and not requires.never_met(f)  # never called: nothing to measure it on
    ]
    unknown = sorted(set(options.fixed) - {f.name for f in module.functions})
    if unknown:
        raise AtlasError(None, f"--pin names no function of these files: {', '.join(unknown)}")
    outcomes: dict[str, Outcome] = {}
    searches = [Search(target, name, options) for name in names]
    try:
        pending = []
        for s in searches:
            found = _pinned(s) or _archived(s)
            if found is not None:
                outcomes[s.fn_name] = found
            elif options.search_new:
                pending.append(s)
        end = options.deadline if options.deadline is not None else time.monotonic() + options.budget_s
        for s, until in _shares(pending, end):
            outcomes[s.fn_name] = _searched(s, until)
    finally:
        for s in searches:
            s.close()
    return {name: outcomes[name] for name in names if name in outcomes}


def _pinned(s: Search) -> Outcome | None:
    pin = s.options.fixed.get(s.fn_name)
    if pin is None:
        return None
    if isinstance(pin, Genome):  # a genome that names no forms takes the default ones
        g = pin if pin.forms or not s.candidates.roots else replace(pin, forms=s.candidates.default_forms())
    else:
        g = Genome(s.candidates.default_forms(), pin.shape)
    made = s.candidates.shape(g.forms, g.shape) if len(g.forms) == len(s.candidates.roots) else None
    if made is None:
        raise AtlasError(None, f"{s.fn_name}: the shape {g.shape} does not apply to it ({_why_not(s, g)})")
    return s.outcome(g, made, SearchSummary(g.describe(), Origin.PINNED))


def _why_not(s: Search, g: Genome) -> str:
    if g.shape in ("scan-lanes", "arg-lanes", "affine-lanes") and len(g.forms) == len(s.candidates.roots):
        from .lanes import refusals

        said = refusals(s.candidates.base(g.forms), g.shape)
        if said:
            return "; ".join(said)
    return "or could not be proven; without a profile there is no hot path"


def _archived(s: Search) -> Outcome | None:
    """The archive's champion for this intent, machine and context, if any."""
    from .archive import Archive

    if not s.options.reuse:
        return None
    with Archive(s.options.archive_path) as a:
        crowned = a.champion(s.intent, s.machine, s.fn_name, s.context)
    if crowned is None:
        return None
    g = Genome.from_dict(crowned["genome"])
    made = s.candidates.shape(g.forms, g.shape) if len(g.forms) == len(s.candidates.roots) else None
    if made is None:
        return None
    summary = SearchSummary.from_json(crowned["summary"], "the archive's champion")
    if s.options.progress:
        s.options.progress(s.fn_name, 0, 0, None, "champion from the archive")
    return s.outcome(g, made, replace(summary, origin=Origin.ARCHIVE))


def _shares(pending: list[Search], deadline: float):
    """(search, its deadline) for each search, the budget shared by what
    each has to gain: first every default variant is timed (within an equal
    share), then each search gets the time left in proportion to its
    default's time (at least a tenth of the largest's), the least first, so
    that what a search leaves unused goes to the larger ones after it."""
    weight: dict[str, float] = {}
    for i, s in enumerate(pending):
        now = time.monotonic()
        ns = s.default_ns(until=now + max(0.0, deadline - now) / (len(pending) - i))
        weight[s.fn_name] = ns or 0.0
    floor = 0.1 * max(weight.values(), default=0.0)
    order = sorted(pending, key=lambda s: max(weight[s.fn_name], floor))
    for i, s in enumerate(order):
        now = time.monotonic()
        rest = sum(max(weight[t.fn_name], floor) for t in order[i:])
        share = max(weight[s.fn_name], floor) / rest if rest > 0 else 1.0 / (len(order) - i)
        yield s, now + max(0.0, deadline - now) * share


def _searched(s: Search, until: float) -> Outcome:
    """The search of one function until `until`, its champion crowned in the archive."""
    from .archive import Archive

    started = time.monotonic()
    best, how = s.run(until=until)
    g = best.genome if best.status is Measured.OK else s.space.default()
    fn, ev = s.candidates.shape(g.forms, g.shape)
    base = s.baseline.times if s.baseline else []
    summary = SearchSummary(
        g.describe(),
        Origin.SEARCHED,
        stop=how.stop,
        evaluations=how.evaluations,
        generations=how.generations,
        seconds=round(s.spent + time.monotonic() - started, 2),  # all of it
        space=how.space,
        considered=how.considered,
        screened=how.screened,
        median_ns=tuple(best.times),
        default_ns=tuple(base),
        confirmed=tuple(getattr(s, "confirmed", [])),
        speedup=round(1 / best.fitness, 3) if best.status is Measured.OK and best.fitness else None,
        inputs=tuple(_describe_inputs(s.inputs)),
        notes=tuple(s.candidates.notes),
        sizes=tuple(_elements([args]) for args in s.inputs),
    )
    if best.cut_off:  # no time was left to run even the default: nothing learned, nothing crowned
        return s.outcome(g, (fn, ev), replace(summary, stop="no time left: the budget was spent before the search"))
    with Archive(s.options.archive_path) as a:
        a.crown(s.intent, s.machine, s.fn_name, s.context, g.as_dict(), summary.to_json())
    return s.outcome(g, (fn, ev), summary)


# The shapes that need no profile: each a proven rewrite of a function's
# loops, None where it does not apply.  `atlas explain` lists them too, so a
# new one is added here (and its module) and nowhere else.
LOOP_SHAPES = (
    "deferred-reduction",
    "inbounds",
    "interchange",
    "unroll-jam",
    "fusion",
    "fission",
    "tiling",
    "scan-lanes",
    "arg-lanes",
    "affine-lanes",
)


def shaped(name: str, fn: ir.Function, differential: bool = True):
    """Loop shape `name` made of `fn` (its Shaped), or None where it does
    not apply or would touch what names a local array."""
    made = loop_shape(name)(fn, differential=differential)
    return None if made is None or _local_arrays_moved(fn, made.function) else made


def _local_arrays_moved(fn: ir.Function, shaped: ir.Function) -> bool:
    """Whether a shape touched what names a local array.  The shapes reason
    about parameters' arrays; a local one, refilled where it is declared,
    is a case none of them was written for.  So a shape is taken only where
    every top-level statement that names one comes out as it went in, in
    the same order: the loops it rewrote name none."""
    local = set(fn.local_arrays)
    if not local:
        return False
    return _naming(fn.body, local) != _naming(shaped.body, local)


def _naming(body: tuple, arrays: set[str]) -> list:
    """The top-level statements of `body` that name one of `arrays`."""
    return [s for s in body if _arrays_named(s) & arrays]


def _arrays_named(s: ir.Stmt) -> set[str]:
    """Every array a statement (and what it holds) declares, stores, loads or passes."""
    inner = list(ir.walk_stmts([s]))
    out = ir.stored(inner)
    for e in (x for t in inner for y in ir.own_exprs(t) for x in ir.walk(y)):
        if isinstance(e, ir.Load):
            out.add(e.array)
        elif isinstance(e, ir.Call):
            out |= {a.name for a in e.args if isinstance(a, ir.ArrayRef)}
    return out


def loop_shape(name: str) -> Callable[..., Any]:
    """The function that makes loop shape `name` (f(fn, module=None, *, differential=True))."""
    from . import deferred, fission, fusion, lanes, nests, tiling, unrolljam

    return {
        "deferred-reduction": deferred.deferred_reduction,
        "inbounds": nests.guarded_inbounds,
        "interchange": nests.interchange,
        "unroll-jam": unrolljam.unroll_jam,
        "fusion": fusion.fusion,
        "fission": fission.fission,
        "tiling": tiling.tiling,
        "scan-lanes": lanes.scan_lanes,
        "arg-lanes": lanes.arg_lanes,
        "affine-lanes": lanes.affine_lanes,
    }[name]


SHAPES = ("plain", *LOOP_SHAPES, "hot-path", "tier16", "tier64", "tier256")


@dataclass(frozen=True)
class Pinned:
    """A shape alone, to emit without searching: with every proven form and
    the backend's own knobs."""

    shape: str


def pinned(shape: str) -> Pinned:
    if shape not in SHAPES:
        raise AtlasError(None, f"unknown shape {shape!r} (shapes: {', '.join(SHAPES)})")
    return Pinned(shape)


def _elements(inputs: list) -> int:
    """The elements of the largest array of any argument list."""
    return max((a.size for args in inputs for a in args if isinstance(a, np.ndarray)), default=0)


def _describe_inputs(inputs: list) -> list[str]:
    out = []
    for args in inputs:
        sizes = [a.size for a in args if isinstance(a, np.ndarray)]
        out.append(f"{len(args)} arguments, arrays of {max(sizes) if sizes else 0} elements")
    return out
