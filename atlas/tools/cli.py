"""The `atlas` command."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Callable, NoReturn, TypeVar

import click
import numpy as np

from ..machine import backend as backends
from ..machine.manifest import Evidence, Form, FunctionEntry, Origin, Status
from ..meaning import ir
from ..logic import requires
from ..machine import probe as hwprobe
from ..machine.nodes import ClusterError
from ..search.archive import ArchiveError
from ..front.diagnostics import AtlasError
from ..meaning.interp import dtype, evaluate, to_value

USER_ERRORS = (AtlasError, hwprobe.ProbeError, backends.BackendError, ArchiveError, ClusterError)
BUDGET_S = 60.0  # a search's default time, for the whole compile


def _fail(exc) -> NoReturn:
    click.echo(str(exc), err=True)
    sys.exit(1)


def _os_text(exc: OSError) -> str:
    """An OSError in one line that names its file."""
    if exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def _writable_folder(out: str) -> None:
    """Refuse an output folder that cannot be written before any work
    starts: the compile and the search may take minutes, and
    pipeline.compile_files writes only at the end.  The nearest folder that
    exists must take a new entry (tried for real: as root, os.access says
    yes to nearly anything)."""
    import tempfile

    path = Path(out)
    if path.exists() and not path.is_dir():
        raise AtlasError(None, f"{out} exists and is not a folder; refusing to overwrite it")
    # pipeline's _replacing refuses this too, but only once the work is done
    if path.is_dir() and any(path.iterdir()) and not (path / "manifest.json").exists():
        raise AtlasError(None, f"{out} exists and is not an Atlas artefact folder; refusing to overwrite it")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise AtlasError(None, f"{out}: cannot create it: {parent} is not a folder")
    try:
        Path(tempfile.mkdtemp(prefix=".atlas-write-check.", dir=parent)).rmdir()
    except OSError as exc:
        raise AtlasError(None, f"{out}: cannot write there: {parent}: {exc.strerror or exc}") from None


def _readable(files) -> list[str]:
    """Read and parse every intent file once before any stage runs, so that
    a file that cannot be read, or bytes that are not UTF-8, are a located
    error (the stages' own reader, pipeline.read_sources, decodes without
    one).  The names of the functions the files define."""
    from ..front.syntax import parse, read_source

    return [fn.name for f in files for fn in parse(read_source(f), f).funcs]


def _probe_for(hw: str | None) -> hwprobe.Probe:
    """The probe named by --hw, or this machine's."""
    return hwprobe.load_probe(hw) if hw else hwprobe.probe()


def _one_line_warnings(shown):
    """A warnings.showwarning that prints Atlas's own warnings (an archive
    moved aside, ...) as one line for the user, and hands any other to
    `shown`, which keeps Python's form that locates it."""

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning) and category.__module__.startswith("atlas"):
            click.echo(f"warning: {message}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    return show


class _DeepGroup(click.Group):
    """Runs each command on a thread with a deep stack: the stages walk the
    program recursively, and a valid program may nest syntax.MAX_DEPTH deep."""

    def invoke(self, ctx):
        from ..front.syntax import run_deep

        def body():
            with ctx:  # click's current context is per thread
                return click.Group.invoke(self, ctx)

        shown = warnings.showwarning
        warnings.showwarning = _one_line_warnings(shown)
        try:
            return run_deep(body)
        finally:
            warnings.showwarning = shown


@click.group(cls=_DeepGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="atlas-compiler")
def main():
    """Atlas fits code to one machine: intent (.ax) -> logic -> native code.

    \b
    Typical use:
      atlas probe -o probe.json
      atlas compile intents/saxpy.ax --hw probe.json -o out/saxpy
      atlas run out/saxpy saxpy 4 2.0 [1,2,3,4] zeros
    """
    from ..logic import rules

    rules.progress_hook = _Proving()


class _Proving:
    """What the one-off rule proofs are doing, on stderr: a bar on a
    terminal, a line per tenth in a log."""

    def __init__(self):
        self.started: float | None = None
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        from ..files import cache_dir

        if self.started is None:
            self.started = time.monotonic()
            click.echo(
                f"  proving {total} rule instance(s) with Z3, once: the proofs are kept in {cache_dir()}",
                err=True,
            )
        tenth = done * 10 // max(total, 1)
        if sys.stderr.isatty():
            click.echo(f"\r  proven {done}/{total}", err=True, nl=done == total)
        elif tenth != self.shown:
            click.echo(f"  proven {done}/{total}", err=True)
        self.shown = tenth
        if done == total:
            click.echo(f"  rules proven in {time.monotonic() - self.started:.1f} s", err=True)
            self.started, self.shown = None, -1


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the probe here (default: print it).")
@click.option(
    "--from-serial",
    "serial",
    type=click.Path(dir_okay=False),
    help="Read the machine from the serial log of Atlas's discovery kernel (`atlas boot discover --log`).",
)
def probe(output, serial):
    """Discover this machine: CPU, caches, memory, GPUs, PCI devices.

    The result (format atlas-probe/1, see docs/probe.md) is what `compile
    --hw` reads to decide every `when hw.*` branch and to pick the target.
    """
    if serial:
        from ..boot import discover

        try:
            text = Path(serial).read_text(errors="replace")
            p = discover.probe_from_serial(text, serial)
        except OSError as exc:
            _fail(f"{serial}: cannot read: {exc.strerror or exc}")
        except discover.BootError as exc:
            _fail(str(exc))
    else:
        p = hwprobe.probe()
    if output:
        try:
            hwprobe.write_probe(p, output)
        except OSError as exc:
            _fail(f"{output}: cannot write: {exc.strerror or exc}")
        cpu = p.cpu
        click.echo(
            f"wrote {output}: {cpu.model_name or cpu.arch} ({cpu.uarch}, "
            f"{len(cpu.features)} features), {len(p.gpus)} GPU(s), "
            f"{len(p.pci)} PCI device(s); fingerprint {hwprobe.fingerprint(p)}"
        )
    else:
        click.echo(json.dumps(p.to_json(), indent=2, sort_keys=True))


_T = TypeVar("_T")


def _gathered(name: str, cls: type[_T]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A command's options named as cls's fields, passed as one cls value
    under `name` (place it under the options it gathers)."""

    def wrap(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def gathered(*args, **kwargs) -> None:
            kwargs[name] = cls(**{f.name: kwargs.pop(f.name) for f in fields(cls)})  # type: ignore[arg-type]
            command(*args, **kwargs)

        return gathered

    return wrap


@dataclass(frozen=True)
class _Wanted:
    """What `atlas compile` was asked to do, beside the search."""

    hw: str | None
    output: str | None
    backend: str | None
    dumps: tuple[str, ...]
    no_atlas: bool
    max_nodes: int
    max_iterations: int
    max_seconds: float
    learned_file: str | None
    no_learned: bool
    variants: bool
    archive_file: str | None


@dataclass(frozen=True)
class _SearchWanted:
    """The search's options as given."""

    search: bool | None
    profiles: tuple[str, ...]
    budget: float | None
    evals: int
    seed: int
    feedback: str | None
    fresh: bool
    pins: tuple[str, ...]
    ray: str | None

    @property
    def budget_s(self) -> float:
        return BUDGET_S if self.budget is None else self.budget


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--hw", type=click.Path(dir_okay=False), help="probe.json of the target machine (default: probe this one)."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False),
    required=False,
    help="Output folder (default: out/<first file's name>).",
)
@click.option(
    "--backend",
    default=None,
    help="Which backend emits the code (default: x86_64; stubs for files with only device descriptions).",
)
@click.option(
    "--dump",
    "dumps",
    multiple=True,
    metavar="STAGE",
    help="Print a stage: ast, ir, specialised, atlas, verified, explode, and the backend's own "
    "(x86_64: llvm, llvm-opt, asm; nvptx: llvm, llvm-opt, ptx); repeatable.",
)
@click.option("--no-atlas", is_flag=True, help="Skip the logic atlas: translate the source form directly.")
@click.option("--max-nodes", type=click.IntRange(1), default=20_000, show_default=True, help="E-graph node limit.")
@click.option(
    "--max-iterations", type=click.IntRange(1), default=12, show_default=True, help="Saturation iteration limit."
)
@click.option(
    "--max-seconds", type=click.FloatRange(0.1), default=10.0, show_default=True, help="Saturation time limit."
)
@click.option(
    "--search/--no-search",
    default=None,
    help="Search each function with a loop for its fastest proven variant, measured here "
    "(default: with --profile, --feedback or --budget; else the archive's champions are taken "
    "and nothing is measured).",
)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Sample inputs of one function (docs/profile.md); repeatable.",
)
@click.option(
    "--budget",
    type=click.FloatRange(1),
    default=None,
    help=f"Seconds the whole search may take, every function together (default {BUDGET_S:g}; implies --search).",
)
@click.option(
    "--evals", type=click.IntRange(2), default=48, show_default=True, help="Most candidates measured per function."
)
@click.option("--seed", type=int, default=0, show_default=True, help="The search's random seed.")
@click.option(
    "--feedback",
    type=click.Path(dir_okay=False),
    help="Run-time counts from `atlas run --feedback` (fallbacks of speculative tiers).",
)
@click.option("--fresh", is_flag=True, help="Search again even if the archive holds a champion.")
@click.option(
    "--pin",
    "pins",
    multiple=True,
    metavar="FUNCTION=SHAPE",
    help="Emit FUNCTION in this shape (plain, hot-path, tier64, ...) without searching it; repeatable.",
)
@click.option(
    "--ray",
    metavar="ADDRESS",
    help="Time the search's candidates on the nodes of this Ray cluster ('auto': the one this machine has "
    "joined) whose fingerprint is the target's: a search for a --hw machine other than this one.",
)
@click.option(
    "--learned",
    "learned_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Learned-rule file to load (default: $ATLAS_LEARNED or the one `atlas superopt` writes).",
)
@click.option("--no-learned", is_flag=True, help="Load no learned rules, only the shipped ones.")
@click.option(
    "--variants",
    is_flag=True,
    help="nvptx: also write every launch shape's PTX (variants/), for the search on the GPU.",
)
@click.option(
    "--archive",
    "archive_file",
    type=click.Path(dir_okay=False, exists=True),
    help="nvptx: the archive holding the launch shapes the GPU search crowned (default: the user's archive).",
)
@_gathered("w", _Wanted)
@_gathered("asked", _SearchWanted)
def compile(files, w: _Wanted, asked: _SearchWanted):
    """Compile intent files for one machine.

    Every `when hw.*` branch is decided from the probe; the branch not taken
    leaves nothing in the output.  Each function takes the logic atlas's
    proven form, or the champion the archive holds for it on this machine.
    With --search (implied by --profile or --budget) each function with a
    loop is searched for its fastest proven variant, timed here (so only
    when --hw is this machine), within one budget for the whole compile;
    what was tried is kept in the archive.  The output folder receives a
    shared library and manifest.json, and is replaced whole or not at all.
    """
    from ..logic import learned
    from ..pipeline import compile_files
    from ..logic.rules import RuleError

    started = time.monotonic()
    out = w.output or str(Path("out") / Path(files[0]).stem)

    dump = _dumper(w.dumps)
    try:
        from ..logic.egraph import Limits
        from ..pipeline import only_devices

        defined = _readable(files)
        _writable_folder(out)
        devices_only = only_devices(files)
        backend = w.backend or ("stubs" if devices_only else backends.DEFAULT)
        t = time.monotonic()
        target = _probe_for(w.hw)
        probed = time.monotonic() - t
        options = None
        backend_options = {k: v for k, v in (("variants", w.variants), ("archive", w.archive_file)) if v}
        _check_dumps(w.dumps, backend)
        if not devices_only:  # device operations are emitted as written: nothing to search
            options = _compile_search(
                target,
                asked,
                backend,
                _How(probed_here=w.hw is None, defined=defined, deadline=started + asked.budget_s),
            )
        with _SearchProgress(options):
            result = compile_files(
                list(files),
                target,
                out,
                dump,
                backend=backend,
                use_atlas=not w.no_atlas,
                limits=Limits(nodes=w.max_nodes, iterations=w.max_iterations, seconds=w.max_seconds),
                search=options,
                learned=learned.paths(w.learned_file, use=not w.no_learned),
                backend_options=backend_options,
            )
    except USER_ERRORS + (RuleError,) as exc:
        _fail(exc)
    result.timings = {"probe": probed, **result.timings}
    _report_compiled(files, out, result, err=bool(w.dumps), wall=time.monotonic() - started)
    if options is not None and not options.search_new:
        _worth_a_search(result, target if w.hw is not None else None, err=bool(w.dumps))


def _check_dumps(dumps: tuple[str, ...], backend: str) -> None:
    """Each --dump names a stage of the pipeline or of the backend."""
    from ..pipeline import DUMP_STAGES

    cls = backends.available().get(backend)
    known = DUMP_STAGES + (cls.dump_stages if cls is not None else ())
    for d in dumps:
        if d not in known:
            _fail(f"--dump: unknown stage '{d}' (stages of the {backend} backend: {', '.join(known)})")


def _dumper(dumps: tuple[str, ...]):
    """What prints the stages asked for by --dump, each under a header."""

    def dump(stage: str, text: str) -> None:
        if stage in dumps:
            click.echo(f";; ---- {stage} " + "-" * 50)
            click.echo(text.rstrip("\n"))

    return dump


def _compile_search(target: hwprobe.Probe, asked: _SearchWanted, backend: str, how: _How):
    """The compile's search options, or None.  Searching is asked for, or
    implied by what only a search uses; else the archive's champions are
    taken and nothing is measured (`how` gives the compile's deadline)."""
    archive_only = asked.search is None and not (asked.profiles or asked.feedback or asked.budget is not None)
    search = bool(asked.search) or (asked.search is None and not archive_only)
    cls = backends.available().get(backend)
    if cls is not None and not cls.searchable:
        if search or asked.pins:
            where = (
                " (nvptx's are timed on the GPU by scripts/gpu_check.py, whose archive --archive reads)"
                if backend == "nvptx"
                else ""
            )
            click.echo(f"  search skipped: the {backend} backend's artefacts are not timed here{where}", err=True)
        return None
    if not (search or asked.pins or archive_only):
        return None
    return _search_options(target, asked, replace(how, measure=search, archive_only=archive_only))


def _worth_a_search(result, other: hwprobe.Probe | None, err: bool) -> None:
    """Say which functions a search could speed up, and how to run one
    (only for this machine: `other` is the --hw probe, if one was given)."""
    if other is not None and hwprobe.fingerprint(other) != hwprobe.fingerprint(hwprobe.probe()):
        return  # candidates are timed where they will run: nothing to suggest here
    waiting = [
        f.name
        for f in result.module.functions
        if ir.has_loops(f.body)
        and f.name in result.manifest.functions
        and result.manifest.functions[f.name].search is None
    ]
    if waiting:
        click.echo(
            f"  not searched: {', '.join(waiting)} (the proven default emitted; `--search` times "
            f"variants here, within --budget seconds, default {BUDGET_S:g})",
            err=err,
        )


def _report_compiled(files, out, result, err: bool, wall: float) -> None:
    """What `atlas compile` says of what it built (on stderr when --dump owns stdout)."""
    m = result.manifest
    if result.module.devices and "devices" not in m.target:
        click.echo(
            f"  note: device descriptions ({', '.join(d.name for d in result.module.devices)}) "
            "are compiled by --backend stubs",
            err=True,
        )
    if "devices" in m.target:
        _report_stubs(files, out, m.target)
        return
    fns = ", ".join(m.functions)
    click.echo(
        f"compiled {len(files)} file(s) -> {out}/{m.library or m.ptx or ''} [{fns}] "
        f"for {m.arch or (m.probe.llvm_cpu if m.probe else '') or 'x86-64'}",
        err=err,
    )
    for d in result.decisions:
        click.echo(f"  {d.where}: when {d.condition} -> {d.taken} branch kept", err=err)
    for fn in result.module.functions:
        if requires.never_met(fn):
            click.echo(
                f"  warning: {fn.span}: no arguments meet the precondition of {fn.name}: it can never be called",
                err=err,
            )
    for name, f in m.functions.items():
        for line in _function_lines(name, f):
            click.echo(line, err=err)
    times = "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in result.timings.items())
    rest = wall - sum(result.timings.values())  # reading files, loading the backend, swapping the folder in
    click.echo(f"  stages: {times}  other {rest * 1000:.0f} ms  (wall {wall:.1f} s)", err=err)


def _screened(found) -> str:
    """How many candidates the cost model ranked to pick those measured."""
    if not found.screened:
        return ""
    return f" of {found.considered} bred ({found.screened} ranked by the learned cost model)"


def _function_lines(name: str, f: FunctionEntry) -> list[str]:
    """One function's lines of the compile report: its proof, its GPU plan, its search."""
    out = []
    ev = f.evidence
    if ev is not None and ev.reading is not None:  # the manifest's evidence says how each was checked
        what = "read as a for loop" if ev.reading.kept else "kept as written: its reading was not validated"
        out += [f"  {name}: while {where} {what}" for where in ev.reading.loops]
    if ev is not None and ((ev.terms and ev.terms.rewritten) or ev.champion_refused or ev.form is Form.SEARCHED):
        out.append(f"  {name}: {_validation_line(ev, f.function.requires is not None)}; {ev.form.value} form emitted")
    if "gpu" in f.target:  # the nvptx backend's launch record
        gpu = f.target["gpu"]
        out.append(
            f"  {name}: "
            + (
                f"{gpu['plan']} on the GPU, {len(gpu['launches'])} launch(es), "
                f"shape {gpu['shape_text']} ({gpu['shape_from']})"
                if gpu
                else f"no kernel: {f.target.get('gpu_why_not')}"
            )
        )
    found = f.search
    if found:
        pinned = found.origin is Origin.PINNED
        how = (
            "given, not searched"
            if pinned
            else "champion from the archive"
            if found.origin is Origin.ARCHIVE
            else f"{found.evaluations} variants measured{_screened(found)} in {found.seconds or 0:.1f} s, "
            f"stopped: {found.stop}"
        )
        speed = (
            f"{found.speedup:.2f}x the default variant; "
            if found.speedup
            else ""
            if pinned
            else "nothing faster than the default; "
        )
        out.append(f"  {name}: {found.genome} ({speed}{how})")
        out += [f"    {note}" for note in found.notes]
    return out


def _validation_line(ev: Evidence, requires: bool = False) -> str:
    """One line of a function's evidence: its terms, then the whole function
    (`requires`: proven where its precondition holds)."""
    parts = []
    if ev.terms and ev.terms.rewritten:
        whole = f" ({ev.terms.loops} of them whole loops, by induction)" if ev.terms.loops else ""
        parts.append(f"{ev.terms.proven} of {ev.terms.rewritten} rewritten terms proven by Z3{whole}")
    proof = ev.check.proof if ev.check else None
    if proof:
        scope = "every input" if proof.bound is None else f"loops up to {proof.bound} iterations"
        scope += " meeting the precondition" if requires else ""
        parts.append(
            f"whole function {proof.status.value} ({scope})"
            if proof.status is Status.PROVEN
            else f"whole function {proof.status.value}"
        )
    runs = ev.check.runs if ev.check else None
    if runs:
        from ..logic.differential import VERDICT

        parts.append(f"{runs.get('runs', 0)} differential runs {VERDICT.get(runs.get('agree'), '?')}")
    if ev.champion_refused:
        parts.append("the search's champion was not validated")
    return ", ".join(parts) or "nothing rewritten"


def _report_stubs(files, out, m: dict):  # the stubs backend's own fields
    """What the stubs backend wrote, and why each other description wrote nothing."""
    click.echo(f"compiled {len(files)} file(s) -> {out}/: driver stubs for {len(m['devices'])} device(s)")
    for stem, d in m["devices"].items():
        ops = ", ".join(d["operations"])
        click.echo(f"  {d['description']} ({d['pci']}) at {', '.join(d['addresses'])}: {stem}.h {stem}.c [{ops}]")
    for name, why in m["absent"].items():
        click.echo(f"  {name}: nothing emitted ({why})")
    for u in m["unplaced"]:
        click.echo(f"  {u['description']} at {u['address']}: nothing emitted ({u['why']})")
    if m.get("undescribed"):
        click.echo(
            "  no description matches: "
            + ", ".join(
                f"{u['pci']} at {u['address']}" + (f" ({u['name']})" if u.get("name") else "") for u in m["undescribed"]
            )
        )


@dataclass(frozen=True)
class _How:
    """How a compile's search runs.  `probed_here`: the target is this
    machine's own probe, taken just now (no second probe).  `defined`: the
    compiled files' functions, which each profile must name.
    `archive_only`: take the archive's champions, measure nothing."""

    measure: bool = True
    probed_here: bool = False
    defined: list[str] | None = None
    archive_only: bool = False
    deadline: float | None = None


def _search_options(target: hwprobe.Probe, asked: _SearchWanted, how: _How):
    """Search options, or None (with a note) where the candidates could not be
    timed on the target: a probe of another machine."""
    from ..search.explode import Genome, Options, Pinned, pinned

    measure, archive_only = how.measure, how.archive_only
    fixed: dict[str, Genome | Pinned] = {}
    for pin in asked.pins:
        name, eq, shape = pin.partition("=")
        if not eq or not name or not shape:
            raise AtlasError(None, f"--pin {pin}: expected FUNCTION=SHAPE, e.g. tiered=hot-path")
        fixed[name] = pinned(shape)
    here = hwprobe.probe() if measure and not how.probed_here else target
    remote = None
    if asked.ray is not None and measure and not archive_only:
        from ..search.remote import Remote

        remote = Remote(asked.ray, hwprobe.fingerprint(target))
        click.echo(
            f"  candidates timed on {len(remote.nodes)} node(s) of the Ray cluster, fingerprint {remote.fingerprint}",
            err=True,
        )
    elif hwprobe.fingerprint(here) != hwprobe.fingerprint(target) and not fixed and not archive_only:
        click.echo(
            "  search skipped: the probe is not this machine's, and candidates are timed "
            "where they will run (compile on the target, pass --ray with a cluster that has it, or --no-search)",
            err=True,
        )
        return None
    from ..search.profile import Profile, load_profile

    loaded: dict[str, Profile] = {}
    for path in asked.profiles:
        prof = load_profile(path)
        if how.defined is not None:
            prof.check_function(how.defined)
        if prof.function in loaded:
            raise AtlasError(
                None, f"{path}: a second profile for '{prof.function}' (the first is {loaded[prof.function].path})"
            )
        loaded[prof.function] = prof
    return Options(
        budget_s=asked.budget_s,
        max_evals=asked.evals,
        seed=asked.seed,
        profiles=loaded,
        feedback=_read_feedback(asked.feedback) if asked.feedback else None,
        reuse=not asked.fresh,
        fixed=fixed,
        search_new=measure and not archive_only,
        deadline=how.deadline,
        only_fixed=not (measure or archive_only)
        or (remote is None and hwprobe.fingerprint(here) != hwprobe.fingerprint(target)),
        remote=remote,
    )


def _read_feedback(path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise AtlasError(None, f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise AtlasError(None, f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != "atlas-feedback/1"
        or not isinstance(data.get("functions"), dict)
    ):
        raise AtlasError(
            None,
            f"{path}: not an Atlas feedback file (expected "
            '{"format": "atlas-feedback/1", "functions": {...}}, as `atlas run --feedback` writes)',
        )
    return data["functions"]


class _SearchProgress:
    """A progress bar per searched function, on stderr, with the best so far."""

    def __init__(self, options):
        self.options, self.bar, self.current = options, None, None
        self.best: float | None = None
        if options is not None:
            options.progress = self.update

    def update(self, function, done, total, best, note):
        if total == 0:  # nothing to measure: from the archive
            click.echo(f"  {function}: {note}", err=True)
            return
        if not sys.stderr.isatty():  # a log: a line per new best and per ten candidates
            fit = best.fitness if best is not None else None
            if function != self.current or done % 10 == 0 or fit != self.best:
                speed = f", best {1 / fit:.2f}x" if fit not in (None, 0, float("inf")) else ""
                click.echo(f"  searching {function}: {done}/{total} candidates{speed} ({note})", err=True)
            self.current, self.best = function, fit
            return
        if function != self.current:
            self.close()
            self.current = function
            self.bar = click.progressbar(
                length=total,
                label=f"  searching {function}",
                file=sys.stderr,
                show_eta=False,
                item_show_func=lambda x: x,
            )
            self.bar.__enter__()
        fit = f"best {1 / best.fitness:.2f}x" if best is not None and best.fitness not in (0, float("inf")) else ""
        self.bar.update(max(0, min(done, total) - self.bar.pos), current_item=f"{fit} {note}"[:60])

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--hw", type=click.Path(dir_okay=False), help="probe.json (default: probe this machine).")
@click.option("--function", "function", default=None, help="Only this function.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def variants(files, hw, function, fmt):
    """Show what the search tried for these intent files on this machine,
    fastest first, from the archive."""
    from ..search.archive import Archive
    from ..pipeline import front
    from ..search.archive import intent_hash

    try:
        _readable(files)
        module, _, _ = front(list(files), _probe_for(hw))
        target = _probe_for(hw)
        with Archive() as a:
            rows = a.variants(intent_hash(module), hwprobe.fingerprint(target), function)
    except USER_ERRORS as exc:
        _fail(exc)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, sort_keys=True, default=str))
        return
    if not rows:
        click.echo("no variants archived for these files on this machine (compile them with the search on)")
        return
    for name in dict.fromkeys(r["function"] for r in rows):
        mine = [r for r in rows if r["function"] == name]
        click.echo(f"{name}: {len(mine)} variants")
        for r in mine:
            from ..search.explode import Genome

            t = r["evidence"].get("times_per_input") if r["evidence"] else None
            when = " / ".join(_ns(x) for x in t) if t else "-"
            click.echo(
                f"  {r['status']:<12} {when:>24}  {Genome.from_dict(r['genome']).describe()}"
                + (f"  ({r['evidence'].get('detail')})" if r["evidence"] and r["evidence"].get("detail") else "")
            )


def _ns(x: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.3g} ns"


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def check(files):
    """Parse and type-check intent files; report the first error."""
    from ..front.check import check as check_stage
    from ..front.syntax import parse, read_source

    try:
        module = check_stage(*(parse(read_source(f), f) for f in files))
    except USER_ERRORS as exc:
        _fail(exc)
    for f in module.functions:
        click.echo(f"ok  {f.signature}")
    for d in module.devices:
        what = f"matches pci {d.ids}" if d.match else "(a base for other descriptions)"
        click.echo(
            f"ok  device {d.name} {what}: {len(d.registers)} registers, "
            f"operations {', '.join(f.name for f in d.ops) or 'none'}"
        )


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("target", type=click.Path(exists=True))
@click.argument("func")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--hw",
    type=click.Path(dir_okay=False),
    help="With an .ax TARGET: the probe that decides `when` branches (default: this machine).",
)
@click.option(
    "--feedback",
    type=click.Path(dir_okay=False),
    help="Add the run's counters (fallbacks of speculative tiers) to this file, for `atlas compile --feedback`.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Save every written array whole as DIR/<name>.npy (and the result as DIR/return.npy).",
)
def run(target, func, args, hw, feedback, out_dir):
    """Run FUNC from a compiled folder (native code) or an .ax file (the
    reference interpreter).

    \b
    Scalars are literals (42, -1, 0xff, 2.5, true).  Arrays are one of:
      [1,2,3]        the elements
      @file.npy      a numpy file
      zeros          zeros of the declared length
      iota           0, 1, 2, ...
      random[:SEED]  uniform random values of the element type
    Written arrays are printed after the call (long ones in part; --out
    saves them whole), then the result.
    """
    from ..machine.runtime import CpuMismatch

    try:
        fn, call, lib = _callable(target, func, hw)
        values = _parse_args(fn, list(args))
        result = call(*values)
        if feedback:
            if not Path(target).is_dir():
                raise AtlasError(None, "--feedback counts what compiled code did: run a compiled folder")
            try:
                _write_feedback(feedback, lib)
            except OSError as exc:
                raise AtlasError(None, f"{feedback}: cannot write: {exc.strerror or exc}") from None
    except USER_ERRORS + (ValueError,) as exc:
        _fail(exc)
    except OSError as exc:  # a folder that is no artefact, a library that will not load
        _fail(_os_text(exc))
    except CpuMismatch as exc:  # compiled for another CPU
        _fail(exc)
    _show_outputs(fn, values, result, out_dir)


def _callable(target, func: str, hw):
    """(signature, callable, library or None): FUNC of a compiled folder, or
    of an intent file run by the reference interpreter."""
    if Path(target).is_dir():
        from ..machine.runtime import load

        lib = load(target)
        if func not in lib.functions:
            raise AtlasError(None, f"the artefact has no function '{func}' (it has: {', '.join(lib.functions)})")
        return lib[func].sig, lib[func], lib
    from ..meaning import interp
    from ..pipeline import front

    _readable([target])
    _, module, _ = front([target], _probe_for(hw))
    try:
        fn = module.function(func)
    except KeyError:
        raise AtlasError(None, f"{target} has no function '{func}'") from None
    return fn, (lambda *a: interp.run(module, func, *a)), None


def _show_outputs(fn: ir.Function, values: list, result, out_dir) -> None:
    """The written arrays (long ones in part, or saved whole under out_dir), then the result."""
    written = {p.name: v for p, v in zip(fn.params, values) if isinstance(p.ty, ir.Array) and p.ty.mutable}
    saved = _save_outputs(out_dir, written, fn, result) if out_dir else {}
    with np.printoptions(threshold=16, edgeitems=4):
        for name, v in written.items():
            whole = f"   (all {v.size} in {saved[name]})" if name in saved and v.size > 16 else ""
            click.echo(f"{name} = {np.array2string(v, separator=', ')}{whole}")
    if fn.ret is not None:
        click.echo(f"{result}")
    if not out_dir and any(v.size > 16 for v in written.values()):
        click.echo("(long arrays shown in part; --out DIR saves them whole)", err=True)


def _save_outputs(out_dir, written: dict, fn: ir.Function, result) -> dict[str, str]:
    """Each written array as out_dir/<name>.npy, the result as return.npy,
    each file written whole or not at all; name -> path."""
    import io

    from ..files import write_atomic

    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        outputs = dict(written)
        if fn.ret is not None:
            outputs["return"] = np.asarray(result, dtype=dtype(fn.ret))  # a keyword: no parameter's name
        saved = {}
        for name, v in outputs.items():
            buf = io.BytesIO()
            np.save(buf, v, allow_pickle=False)
            write_atomic(folder / f"{name}.npy", buf.getvalue())
            saved[name] = str(folder / f"{name}.npy")
        return saved
    except OSError as exc:
        _fail(f"--out {out_dir}: cannot write: {exc.strerror or exc}")


def _write_feedback(path, lib) -> None:
    """Add the library's counters to the feedback file (created if absent),
    with each tier's block size from the manifest, so the next search can
    tell how often a block fell back."""
    from ..files import write_atomic

    functions: dict[str, dict] = _read_feedback(path) if Path(path).exists() else {}
    for fname, counts in lib.counters().items():
        mine = functions.setdefault(fname, {})
        for label, n in counts.items():
            mine[label] = int(mine.get(label, 0)) + int(n)
        entry = lib.manifest.functions.get(fname)
        shape = (entry.evidence.shape if entry and entry.evidence else None) or {}
        if shape.get("block"):
            mine["block"] = int(shape["block"])
    data = {"format": "atlas-feedback/1", "functions": functions}
    write_atomic(Path(path), json.dumps(data, indent=2, sort_keys=True) + "\n")


def _parse_args(fn: ir.Function, args: list[str]) -> list:
    if len(args) != len(fn.params):
        raise ValueError(f"{fn.name} takes {len(fn.params)} argument(s): {fn.signature}")
    values: list = [None] * len(args)
    scalars = {}
    for i, (p, a) in enumerate(zip(fn.params, args)):
        if isinstance(p.ty, ir.Scalar):
            values[i] = _scalar(p, a)
            try:
                scalars[p.name] = to_value(p.ty, values[i])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"argument '{p.name}': {exc}") from None
    for i, (p, a) in enumerate(zip(fn.params, args)):
        if isinstance(p.ty, ir.Array):
            values[i] = _array(p, a, evaluate(p.ty.length, scalars, exact=True))
    return values


def _scalar(p: ir.Param, text: str):
    t = p.ty
    if not isinstance(t, ir.Scalar):  # _parse_args passes only scalar parameters here
        raise TypeError(f"argument '{p.name}' is an array, not a scalar")
    try:
        if t.is_bool:
            if text not in ("true", "false"):
                raise ValueError
            return text == "true"
        if t.is_float:
            return float(text)
        return int(text.replace("_", ""), 0)
    except ValueError:
        article = "an" if t.name[0] in "if" else "a"
        raise ValueError(f"argument '{p.name}': expected {article} {t} literal, found {text!r}") from None


def _array(p: ir.Param, text: str, n: int) -> np.ndarray:
    try:
        return _array_of(p, text, n)
    except MemoryError:
        raise ValueError(f"argument '{p.name}': {n} elements of {_elem(p)} do not fit in memory") from None


def _elem(p: ir.Param) -> ir.Scalar:
    """An array parameter's element type (_parse_args passes only array parameters to _array)."""
    if not isinstance(p.ty, ir.Array):
        raise TypeError(f"argument '{p.name}' is a scalar, not an array")
    return p.ty.elem


def _array_of(p: ir.Param, text: str, n: int) -> np.ndarray:
    t = _elem(p)
    dt = dtype(t)
    if n < 0:
        raise ValueError(f"argument '{p.name}': its declared length is negative ({n})")
    if text == "zeros":
        return np.zeros(n, dt)
    if text == "iota":
        return np.arange(n).astype(dt)
    if text.startswith("random"):
        seed = int(text.split(":", 1)[1]) if ":" in text else 0
        rng = np.random.default_rng(seed)
        if t.is_float:
            return rng.uniform(-1, 1, n).astype(dt)
        if t.is_bool:
            return rng.integers(0, 2, n).astype(dt)
        return rng.integers(np.iinfo(dt).min, np.iinfo(dt).max, n, dtype=dt, endpoint=True)
    if text.startswith("@"):
        try:
            return np.ascontiguousarray(np.load(text[1:]).astype(dt, copy=False).ravel())
        except (OSError, ValueError, EOFError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ValueError(f"argument '{p.name}': cannot read {text[1:]}: {why}") from None
    if text.startswith("["):
        try:
            items = json.loads(text.replace("true", "1").replace("false", "0"))
            return np.array(items).astype(dt)
        except (ValueError, TypeError, OverflowError):  # not JSON, ragged, not numbers
            raise ValueError(f"argument '{p.name}': cannot read the list {text!r}") from None
    raise ValueError(f"argument '{p.name}': expected an array ([1,2], @file.npy, zeros, iota, random)")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--hw", type=click.Path(dir_okay=False), help="probe.json (default: probe this machine).")
@click.option("--function", "functions", multiple=True, help="Only this function (repeatable).")
@click.option(
    "--budget", type=click.FloatRange(0.5), default=60.0, show_default=True, help="Search time per root, in seconds."
)
@click.option("--seed", type=int, default=0, show_default=True, help="The search's random seed.")
@click.option(
    "--learned",
    "learned_file",
    type=click.Path(dir_okay=False),
    help="Learned-rule file to add to (default: $ATLAS_LEARNED, else learned-rules.yaml in the cache directory).",
)
@click.option("--again", is_flag=True, help="Search roots whose learned rule is already in the file.")
def superopt(files, hw, functions, budget, seed, learned_file, again):
    """Search the loop-free code of intent files for cheaper programs.

    Every scalar function whose loops have constant bounds (unrolled into one
    term) and every loop body is searched first by enumerating short
    straight-line programs bottom-up (each behaviour on the test vectors
    once), then, if none is found, by a stochastic search scored by bits
    wrong on test vectors plus the cost on this machine; what matches every
    test goes to Z3, and a counterexample becomes a test.  A proven program cheaper than the
    atlas's form is stored as a learned rule, which later compiles apply by
    saturation without searching.
    """
    from ..superopt import costmodel, discover
    from ..superopt.discover import Found
    from ..logic.costs import where_priced
    from ..logic import learned
    from ..logic.rules import RuleError

    path = Path(learned_file) if learned_file else learned.default_path()
    try:
        _readable(files)
        target = _probe_for(hw)
        table = costmodel.for_probe(target)
        click.echo(f"costs: {table.source}")
        found = discover.run(
            list(files),
            target,
            budget_s=budget,
            seed=seed,
            learned_path=path,
            only=functions,
            again=again,
            costs=table,
            progress=lambda text: click.echo(f"  {text}"),
        )
    except USER_ERRORS + (RuleError,) as exc:
        _fail(exc)
    if functions and not found:
        _fail(f"--function: no searchable root in {', '.join(functions)}")
    for d in found:
        click.echo(f"{d.function} [{d.where}]: {d.status.value}" + (f" ({d.why})" if d.why else ""))
        if d.found and d.cost_after is None:
            # not searched ("rules suffice": the atlas's form is one operation): no costs to show
            click.echo(f"    {d.found}")
        elif d.found:
            cost = (
                f"cost {d.cost_before:.2f} -> {d.cost_after:.2f}"
                if d.cost_before is not None
                else f"cost {d.cost_after:.2f}"
            )
            click.echo(f"    {d.source_length} -> {d.found_length} operations, {cost}, {d.seconds:.1f} s: {d.found}")
            if d.loop is not None:
                click.echo(f"    priced {where_priced(d.loop)}")
        for note in d.result.notes if d.result is not None else ():
            click.echo(f"    {note}")
        if d.shorter:
            click.echo(
                f"    also proven, shorter and dearer on this machine: {d.shorter_length} operations, "
                f"cost {d.shorter_cost:.2f}: {d.shorter}"
            )
        if d.rule and d.status is Found.LEARNED:
            click.echo(f"    learned rule {d.rule} -> {path}")
            if d.generalised:
                click.echo(f"    and, proven again at other widths: {', '.join(d.generalised)}")


@main.group()
def boot():
    """Bare metal: boot a machine under QEMU, discover it, install only its drivers."""


def _guest_options(command: Callable[..., None]) -> Callable[..., None]:
    """The QEMU guest's options of a boot command (--device, --timeout,
    --accel), passed to it as one boot.discover.Options named `guest`."""

    @click.option(
        "--device",
        "devices",
        multiple=True,
        help='QEMU options of one device, quoted (repeatable), e.g. "-device e1000,netdev=n0 -netdev user,id=n0".',
    )
    @click.option(
        "--timeout", type=click.FloatRange(1.0), default=30.0, show_default=True, help="Seconds the guest may run."
    )
    @click.option(
        "--accel",
        type=click.Choice(["tcg", "kvm"]),
        default="tcg",
        show_default=True,
        help="QEMU's accelerator (tcg starts faster for guests this small; kvm where /dev/kvm is usable).",
    )
    @functools.wraps(command)
    def gathered(*args, devices, timeout, accel, **kwargs) -> None:
        from ..boot import discover

        command(*args, guest=discover.Options(tuple(devices), timeout=timeout, accel=accel), **kwargs)

    return gathered


@boot.command("discover")
@_guest_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the probe here (default: print it).")
@click.option("--log", "log_out", type=click.Path(dir_okay=False), help="Also keep the serial log here.")
def boot_discover(output, log_out, guest):
    """Boot Atlas's discovery kernel under QEMU with the given devices; it
    walks PCI and CPUID and prints them on the serial port, which becomes
    the machine's probe (the stage before its drivers are compiled)."""
    from ..boot import discover
    from ..files import write_atomic

    try:
        run = discover.boot(discover.kernel(), guest)
        if log_out:
            write_atomic(Path(log_out), run.log)
        p = discover.probe_from_serial(run.log, log_out or "<serial log>")
    except discover.BootError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{log_out}: cannot write: {exc.strerror or exc}")
    if output:
        try:
            hwprobe.write_probe(p, output)
        except OSError as exc:
            _fail(f"{output}: cannot write: {exc.strerror or exc}")
        names = ", ".join(f"{d.address[5:]} {d.vendor}:{d.device}" for d in p.pci)
        click.echo(f"wrote {output}: {p.cpu.model_name or p.cpu.arch}, {len(p.pci)} PCI function(s): {names}")
    else:
        click.echo(json.dumps(p.to_json(), indent=2, sort_keys=True))


@boot.command("build")
@click.option("--hw", required=True, type=click.Path(dir_okay=False), help="The machine's probe (atlas boot discover).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The kernel image to write.")
@click.option(
    "--intents",
    type=click.Path(file_okay=False, exists=True),
    help="The folder of device descriptions (default: the repository's intents/devices).",
)
def boot_build(hw, output, intents):
    """Build the kernel for the machine HW describes: the stubs of exactly
    the devices it has, compiled for it, and a program that drives each."""
    from ..boot import discover, image

    try:
        where = Path(intents) if intents else image.DEVICE_INTENTS
        built = image.build(hwprobe.load_probe(hw), Path(output), where)
    except discover.BootError as exc:
        _fail(str(exc))
    except USER_ERRORS as exc:
        _fail(exc)
    found = ", ".join(f"{name} at {', '.join(a[5:] for a in where)}" for name, where in built.devices.items())
    click.echo(f"wrote {output}: drivers for {found or 'no device'}")


@boot.command("run")
@click.argument("image_path", metavar="IMAGE", type=click.Path(dir_okay=False, exists=True))
@_guest_options
def boot_run(image_path, guest):
    """Boot IMAGE under QEMU with the given devices and show its serial log."""
    from ..boot import discover

    try:
        run = discover.boot(Path(image_path), guest)
    except discover.BootError as exc:
        _fail(str(exc))
    click.echo(run.log, nl=False)
    if run.status != discover.EXIT_DONE:
        _fail(f"the guest ended with QEMU status {run.status}, not {discover.EXIT_DONE} (the kernel's own exit)")


@main.command("explain")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "dot"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, dot for Graphviz.",
)
@click.option(
    "--hw", type=click.Path(dir_okay=False), help="probe.json of the target machine (default: probe this one)."
)
@click.option("--all", "show_all", is_flag=True, help="Show every member, class, shared leaf and rule; terms in full.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write here (default: print).  With --format dot and a .svg/.png/.pdf name, Graphviz `dot` renders it.",
)
@click.option(
    "--learned",
    "learned_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Learned-rule file to load (default: $ATLAS_LEARNED or the one `atlas superopt` writes).",
)
@click.option("--no-learned", is_flag=True, help="Load no learned rules, only the shipped ones.")
@click.option(
    "--backend",
    default=None,
    help="Show the atlas `atlas compile --backend` builds, with that backend's own rules (default: x86_64).",
)
def explain_cmd(files, fmt, hw, show_all, output, learned_file, no_learned, backend):
    """Show the logic atlas of intent files: their equivalence classes.

    All FILES form one atlas (one e-graph).  For each function: where each
    source expression landed, the class's members in intent syntax with
    their costs, the chosen one, which rules merged what, and the proof
    status; then the classes several functions share.
    """
    from . import explain as X
    from ..logic import learned
    from ..pipeline import rule_files
    from ..logic.rules import RuleError, load_rules

    try:
        _readable(files)
        be = backends.get(backend or backends.DEFAULT)
        rules = load_rules(rule_files(be, learned.paths(learned_file, use=not no_learned)))
        doc = X.explain(list(files), _probe_for(hw), hw or "this machine, probed now", show_all=show_all, rules=rules)
    except USER_ERRORS + (RuleError,) as exc:
        _fail(exc)
    color = fmt == "text" and not output and sys.stdout.isatty()
    text = X.RENDERERS[fmt](doc, color=color)
    if not output:
        click.echo(text, nl=False)
        return
    try:
        if fmt == "dot" and Path(output).suffix in (".svg", ".png", ".pdf"):
            X.render_graphviz(text, output)
        else:
            Path(output).write_text(text)
    except (OSError, X.GraphvizError) as exc:
        _fail(f"{output}: cannot write: {getattr(exc, 'strerror', None) or exc}")
    click.echo(f"wrote {output}", err=True)


@main.command("backends")
@click.option(
    "--hw",
    type=click.Path(dir_okay=False),
    help="probe.json of the machine to check each backend against (default: probe this one).",
)
def list_backends(hw):
    """List the installed backends (plugins of the `atlas.backends` entry-point
    group, built-in ones included), where each comes from, and whether it can
    target the probed machine.  A plugin that fails to load is a warning."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = backends.available()
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    try:
        target = _probe_for(hw)
    except USER_ERRORS as exc:
        _fail(exc)
    for name, cls in sorted(found.items()):
        try:
            why = cls().accepts(target)
        except Exception as exc:  # a plugin's own bug: shown, not raised
            why = f"its accepts() failed: {type(exc).__name__}: {exc}"
        click.echo(f"{name:10} {cls.description}")
        click.echo(
            f"{'':10} from {backends.origin(cls)}; "
            + ("can target this machine" if why is None else f"cannot target this machine: {why}")
        )


@main.command()
@click.option(
    "--kernels",
    "kernels_c",
    type=click.Path(dir_okay=False),
    help="The reference C (default: the repository's bench/kernels.c; with --family, bench/family.c).",
)
@click.option(
    "--family",
    is_flag=True,
    help="Time the kernel families instead: unseen kernels of the benchmark's families "
    "(intents/family/, bench/family.c), which nothing in Atlas was tuned to.",
)
@click.option("--only", multiple=True, metavar="KERNEL", help="Time only this kernel (repeatable).")
@click.option(
    "-n",
    "--size",
    "sizes",
    multiple=True,
    type=click.IntRange(1),
    metavar="N",
    help="Time at this n instead of the README's sizes (repeatable).",
)
@click.option("--samples", type=click.IntRange(1), help="Samples per side (default 15; 5 with --quick).")
@click.option("--quick", is_flag=True, help="Smallest README size only, 5 short samples.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write the raw figures here.")
@click.option(
    "--search/--no-search",
    default=True,
    show_default=True,
    help="Search each kernel on its profile (intents/profiles/; generated inputs where it has none) before timing it.",
)
@click.option(
    "--budget", type=click.FloatRange(1), default=45.0, show_default=True, help="Search time per kernel, in seconds."
)
@click.option("--fresh", is_flag=True, help="Search again even where the archive holds a champion.")
def bench(kernels_c, family, only, sizes, samples, quick, json_out, search, budget, fresh):
    """Time the ten benchmark kernels (with --family: the kernel families),
    compiled by Atlas for this machine, against the reference C built with
    gcc -O3 -march=native.

    Prints a Markdown table of median times, the ratio t(C)/t(Atlas) (above
    1.0: Atlas is faster) and, for streaming kernels, the memory-copy bound.
    Exits non-zero when any kernel's outputs differ from the C ones.
    """
    import faulthandler
    from . import bench as B

    try:  # a crash in compiled code still shows where it happened
        faulthandler.enable(sys.__stderr__)
    except (AttributeError, ValueError, OSError):
        pass  # no real stderr (e.g. under a test runner)
    options = None
    if search:
        from ..search.explode import Options

        options = Options(budget_s=budget, reuse=not fresh)
    try:
        with _SearchProgress(options):
            report = B.run_bench(
                kernels_c,
                suite=B.FAMILY_SUITE if family else B.TEN,
                only=only,
                sizes=sizes,
                quick=quick,
                samples=samples,
                search=options,
                log=lambda s: click.echo(f"bench: {s}", err=True),
            )
    except USER_ERRORS + (B.BenchError,) as exc:
        _fail(exc)
    click.echo(B.render(report))
    if json_out:
        try:
            B.write_json(report, json_out)
        except OSError as exc:
            _fail(f"{json_out}: cannot write: {exc.strerror or exc}")
    if not report.ok:
        sys.exit(1)


@main.command("costs")
@click.option("--hw", type=click.Path(dir_okay=False), help="probe.json (default: probe this machine).")
@click.option("--measure", "remeasure", is_flag=True, help="Measure this machine's table again, even if one is cached.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the table as JSON.")
def costs_command(hw, remeasure, json_out):
    """The cost table extraction, the search and the superoptimiser weigh
    terms by: each operation's latency and reciprocal throughput, and its
    time per element in a vectorised loop, measured once on this machine and
    cached (measured now when none is cached), or the static hints where
    code for the probe cannot run here.
    """
    from ..files import write_atomic
    from ..logic.costs import cache_path, is_measured
    from ..superopt import costmodel
    from . import costtable

    try:
        target = _probe_for(hw)
    except USER_ERRORS as exc:
        _fail(exc)
    table = costmodel.for_probe(target, remeasure=remeasure)
    cached = str(cache_path(target)) if is_measured(table) else None
    click.echo(costtable.render(table, cached), nl=False)
    if json_out:
        write_atomic(Path(json_out), json.dumps(table.as_dict(), indent=1) + "\n")


@main.command("bench-search")
@click.option("--only", multiple=True, metavar="KERNEL", help="Only this kernel (repeatable).")
@click.option(
    "--evals",
    type=click.IntRange(4),
    default=32,
    show_default=True,
    help="Variants each strategy measures per kernel (the shared budget).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="The searches' random seed.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the rows as JSON.")
def bench_search(only, evals, seed, json_out):
    """The search against random sampling of the same budget: each kernel of
    the benchmark and of the unseen families searched by the genetic search
    (its children screened by the learned cost model) and by uniform random
    draws, the same number of variants measured, each champion confirmed
    against the default variant in the same run.
    """
    from . import searchbench as SB
    from .bench import BenchError
    from ..files import write_atomic

    try:
        rows = SB.run(
            hwprobe.probe(), evals=evals, seed=seed, only=only, log=lambda s: click.echo(f"bench-search: {s}", err=True)
        )
    except USER_ERRORS + (BenchError,) as exc:
        _fail(exc)
    click.echo(SB.render(rows, evals))
    if json_out:
        write_atomic(Path(json_out), json.dumps(SB.to_json(rows), indent=2) + "\n")


@main.command("bench-bits")
@click.option(
    "--only", multiple=True, metavar="PROBLEM", help="Only this problem (repeatable), e.g. p01_clear_lowest_one."
)
@click.option(
    "--budget", type=click.FloatRange(0.5), default=60.0, show_default=True, help="Search time per problem, in seconds."
)
@click.option("--seed", type=int, default=0, show_default=True, help="The search's random seed.")
@click.option(
    "--learned",
    "learned_file",
    type=click.Path(dir_okay=False),
    help="Learned-rule file to use and add to (default: a new one, so every problem is searched).",
)
@click.option("--samples", type=click.IntRange(3), default=11, show_default=True, help="Timing samples per side.")
@click.option(
    "--suite",
    type=click.Choice(["classic", "unseen", "all"]),
    default="all",
    show_default=True,
    help="The classic problems (intents/bits), those in other words (intents/bits/unseen), or both tables.",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the rows as JSON.")
def bench_bits(only, budget, seed, learned_file, samples, suite, json_out):
    """The superoptimiser's benchmark: classic bit-manipulation problems
    (intents/bits) and problems they do not contain, written in other words
    (intents/bits/unseen), each as a naive specification, searched, proven
    and compiled, then timed against gcc -O3 -march=native on the same naive
    C and against the shortest program known.
    """
    from dataclasses import asdict
    from . import bitbench as BB
    from ..superopt import costmodel
    from .bench import BenchError
    from ..files import write_atomic
    from ..logic.rules import RuleError

    try:
        target = hwprobe.probe()
        table = costmodel.for_probe(target)
        click.echo(f"bench-bits: costs: {table.source}", err=True)
        suites = list(BB.SUITES.values()) if suite == "all" else [BB.SUITES[suite]]
        names = {s.name: {p.name for p in BB.load_problems(s.problems)} for s in suites}
        unknown = sorted(set(only) - set().union(*names.values()))
        if unknown:
            raise BB.ProblemsError(
                f"no such problem: {', '.join(unknown)} (see {', '.join(str(s.problems) for s in suites)})"
            )
        tables = []
        for s in suites:
            if only and not names[s.name] & set(only):
                continue
            rows = BB.run(
                target,
                budget_s=budget,
                seed=seed,
                only=[o for o in only if o in names[s.name]],
                learned_path=learned_file,
                samples=samples,
                costs=table,
                log=lambda text: click.echo(f"bench-bits: {text}", err=True),
                suite=s,
            )
            tables.append((s, rows))
    except USER_ERRORS + (BenchError, RuleError) as exc:
        _fail(exc)
    click.echo("\n\n".join(f"### {s.title}\n\n{BB.render(rows)}\n\n{BB.rates(rows)}" for s, rows in tables))
    rows = [r for _, rows in tables for r in rows]
    if json_out:
        write_atomic(
            Path(json_out),
            json.dumps([{k: v for k, v in asdict(r).items() if k != "samples"} for r in rows], indent=2) + "\n",
        )
    if not all(r.ok for r in rows):
        sys.exit(1)


@main.group("market")
def market():
    """The compute market, simulated: units bidding for tasks with
    selectors (intent functions, evolved), beside StarPU's schedulers.

    \b
      atlas market simulate workloads/cholesky-hetero.yaml --policy all
      atlas market evolve workloads/cholesky-hetero.yaml
      atlas market selectors workloads/cholesky-hetero.yaml
    """


POLICY_NAMES = ("eager", "random", "ws", "dmda", "market")  # policies.NAMES (market imports lazily)


def _policy_option(help_text: str):
    return click.option(
        "--policy", type=click.Choice(POLICY_NAMES + ("all",)), default="all", show_default=True, help=help_text
    )


def _workload_selectors(workload: str):
    """A simulated workload, the selectors stored for its platform, and the
    ones its market bids with (the stored, else the hand-written one)."""
    from ..market import store, workloads
    from ..market.selector import HAND_WRITTEN, Selector

    try:
        w = workloads.load(workload)
        kept = store.selectors(w.platform)
    except USER_ERRORS as exc:
        _fail(exc)
    hand = Selector.parse(HAND_WRITTEN)
    return w, kept, {k: kept.get(k, hand) for k in w.platform.classes()}


@market.command("simulate")
@click.argument("workload", type=click.Path(dir_okay=False))
@_policy_option("The scheduler; 'all' runs each on the same machine and seed.")
@click.option("--seed", type=int, default=0, show_default=True, help="The run times' random draw.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the reports as JSON.")
@click.option(
    "--trace",
    type=click.Path(dir_okay=False),
    help="Write a Chrome-trace (Perfetto) timeline of the market's run (of the first policy without 'market').",
)
@click.option(
    "--learn",
    is_flag=True,
    help="The market evolves its selectors on its records while it runs and swaps the winners in "
    "(a lesson every 200 tasks on the latest 1,000; stores nothing).",
)
def market_simulate(workload, policy, seed, json_out, trace, learn):
    """Run WORKLOAD (a YAML file: a platform and a task graph) in the
    simulator under one policy or all, and print the report.  The market
    bids with the selectors `atlas market evolve` stored for this platform,
    or the hand-written one."""
    from ..market import dispatch, learn as L, policies, report as R, sim
    from ..files import write_atomic

    w, kept, sels = _workload_selectors(workload)
    names = POLICY_NAMES if policy == "all" else (policy,)
    learner = L.Learner(inline=True) if learn else None
    runs = [
        sim.simulate(
            w.graph,
            w.platform,
            policies.by_name(name, sels),
            dispatch.Dispatcher(),
            seed=seed,
            learner=learner if name == "market" else None,
        )
        for name in names
    ]
    reports = [R.report(r) for r in runs]
    click.echo(f"{w.name}: {len(w.graph)} tasks on {len(w.platform.units)} simulated units, seed {seed}")
    click.echo(
        "market selectors: " + ", ".join(f"{k} {'stored' if k in kept else 'hand-written'}" for k in sorted(sels))
    )
    click.echo(R.table(reports))
    if learner is not None:
        _say_swaps(learner)
    if json_out:
        write_atomic(Path(json_out), json.dumps([r.to_json() for r in reports], indent=2) + "\n")
    if trace:
        chosen = next((r for r in runs if r.policy == "market"), runs[0])
        write_atomic(Path(trace), R.trace(chosen))


@market.command("run")
@click.argument("workload", type=click.Path(dir_okay=False))
@_policy_option("The scheduler; 'all' runs each on fresh copies of the same data.")
@click.option(
    "--artefact",
    type=click.Path(file_okay=False),
    help="A folder `atlas compile` made from the workload's intents (default: compile them now, no search).",
)
@click.option("--cores", help="The cores to run daemons on, e.g. 0,1 (default: every core this process may use).")
@click.option(
    "--ray",
    "ray_address",
    metavar="ADDRESS",
    help="Run across a Ray cluster ('auto': the one this machine has joined): every node compiles the intents "
    "for itself and gets a daemon per core.",
)
@click.option(
    "--cores-per-node", type=click.IntRange(1), help="With --ray: daemons per node (default: one per usable core)."
)
@click.option("--timeout", type=click.FloatRange(0.1), default=600.0, show_default=True, help="Seconds a task may run.")
@click.option(
    "--prefetch",
    type=click.IntRange(0),
    help="Tasks a daemon may hold beyond the one it runs (0: it waits for the market between tasks); "
    "with --ray they go in one call. Default: an adaptive window (one, and up to 32 while the history "
    "says they take under 1 ms together), and 8 with --ray.",
)
@click.option(
    "--learn/--no-learn",
    default=True,
    show_default=True,
    help="The market evolves its selectors on its records while it runs (in a process of its own), and once "
    "more on the whole run, and keeps the winners for this machine; --no-learn bids with the kept ones only.",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the reports as JSON.")
@click.option(
    "--trace", type=click.Path(dir_okay=False), help="Write a Chrome-trace timeline of the market's (or first) run."
)
def market_run(
    workload, policy, artefact, cores, ray_address, cores_per_node, timeout, prefetch, learn, json_out, trace
):
    """Run WORKLOAD (intents and a task graph) on a daemon per core of this
    machine, or of every machine of a Ray cluster, under one policy or
    all; check the result and print the report."""
    import tempfile
    from ..market import daemons, execute, learn as L, policies, report as R, store
    from ..market.models import PerfModel
    from ..market.selector import HAND_WRITTEN, Selector
    from ..pipeline import compile_files
    from ..files import write_atomic
    from ..search.explode import Options

    try:
        w = execute.load(workload)
        target = hwprobe.probe()
        chosen = [int(c) for c in cores.split(",")] if cores else None
        if ray_address and (artefact or cores):
            why = "each node compiles for itself and runs on its own cores"
            raise AtlasError(None, f"--ray: {why} (no --artefact or --cores)")
        _readable([str(p) for p in w.intents])
    except ValueError:
        _fail(AtlasError(None, f"--cores {cores}: expected core numbers separated by commas, e.g. 0,1"))
    except USER_ERRORS as exc:
        _fail(exc)
    with tempfile.TemporaryDirectory(prefix="atlas-market-") as tmp, contextlib.ExitStack() as hold:
        try:
            if ray_address:
                from ..market import cluster

                cluster.connect(ray_address)
                installed = cluster.install(w.intents, say=lambda s: click.echo(f"install: {s}", err=True))
                hold.callback(installed.close)
                link = (
                    f"links {installed.bandwidth / 1e6:.0f} MB/s, {installed.latency * 1e6:.0f} us a call"
                    if len(installed.nodes) > 1
                    else "no link to measure"
                )
                click.echo(f"{len(installed.nodes)} node(s), {installed.compiles} compile(s); {link}")

                ahead = 8 if prefetch is None else prefetch

                def market():
                    return cluster.Market(installed, cores_per_node=cores_per_node, timeout=timeout, prefetch=ahead)
            else:
                if artefact is None:  # as `atlas compile` does: the archive's champions, nothing measured
                    artefact = str(Path(tmp) / "kernels")
                    compile_files([str(p) for p in w.intents], target, artefact, search=Options(search_new=False))

                def market():
                    m = daemons.Market(chosen, timeout=timeout, prefetch=prefetch)
                    m.register(artefact)
                    return m

            base = store.machine_model(target)
            kept = store.machine_selectors(target)
            sels = {"cpu": kept.get("cpu") or Selector.parse(HAND_WRITTEN)}
            names = POLICY_NAMES if policy == "all" else (policy,)
            if "market" in names:
                # it bids through a round compiled by Atlas, as what it learns will
                sels = {k: s.compiled(target, Path(tmp) / f"selector-{k}") for k, s in sels.items()}
                click.echo(f"market selector: {'kept for this machine' if kept else 'the hand-written one'}, compiled")
            outcomes, checks, verdicts = [], [], []
            learner = None
            for name in names:
                pol = policies.by_name(name, sels)
                if learn and name == "market":
                    learner = L.Learner(
                        spare=_spare_cores(chosen, bool(ray_address)), build=(target, Path(tmp) / "learned")
                    )
                with market() as m:
                    job = w.submit(m)
                    if name == names[0]:
                        counts = execute.tasks_by_kind(m.graph.tasks)
                        click.echo(
                            f"{w.name}: {job.describe()}, {len(m.graph)} tasks "
                            f"({', '.join(f'{k} {v}' for k, v in counts.items())}) on {len(m.units())} daemon(s)"
                        )
                    model = PerfModel.from_json(base.to_json())  # every policy starts from the same history
                    out = m.run(
                        pol, model=model, progress=_progress_line(name), learner=learner if name == "market" else None
                    )
                    outcomes.append(out)
                    err = None if out.failed else job.error()
                    checks.append(err)
                    verdicts.append(None if err is None else job.verdict(err))
        except (daemons.MarketError, *USER_ERRORS) as exc:
            _fail(exc)
        store.save_machine_model(target, outcomes[-1].run.model)
    reports = [R.report(o.run) for o in outcomes]
    click.echo(R.table(reports))
    for o, verdict in zip(outcomes, verdicts):
        if verdict is None:
            click.echo(f"{o.run.policy}: {len(o.failed)} task(s) failed: {next(iter(o.failed.values()))}")
        else:
            click.echo(f"{o.run.policy}: {verdict} (largest difference, relative)")
        if o.retired:
            click.echo(f"{o.run.policy}: {len(o.retired)} unit(s) left with their node ({', '.join(o.retired)})")
    if learner is not None:
        _learned(target, learner, next(o.run for o in outcomes if o.run.policy == "market"), sels)
    if json_out:
        write_atomic(Path(json_out), json.dumps([r.to_json() for r in reports], indent=2) + "\n")
    if trace:
        chosen_run = next((o.run for o in outcomes if o.run.policy == "market"), outcomes[0].run)
        write_atomic(Path(trace), R.trace(chosen_run))
    if any(o.failed for o in outcomes) or any(e is not None and e >= execute.TOLERANCE for e in checks):
        click.echo("the result is wrong or incomplete", err=True)
        sys.exit(1)


def _spare_cores(chosen: list[int] | None, ray: bool) -> frozenset[int]:
    """The cores this process may use that no daemon of this machine runs on."""
    if ray or not hasattr(os, "sched_getaffinity"):
        return frozenset()
    usable = os.sched_getaffinity(0)
    return frozenset(usable - set(chosen)) if chosen else frozenset()


def _say_swaps(learner) -> None:
    """What a market learned while it ran, swap by swap."""
    click.echo(f"learned while it ran: {learner.given} lesson(s), {len(learner.swaps)} swap(s) of selectors")
    for sw in learner.swaps:
        click.echo(
            f"  at {sw.at * 1e3:.2f} ms: a lesson of {sw.tasks} tasks taken after {sw.done} done; "
            f"replay earnings {sw.before:.0f} in use, {sw.after:.0f} swapped in"
        )


def _learned(target, learner, run, sels) -> None:
    """After a market run that learned: one lesson more on the whole run
    (nothing waits on it now), and what was learned kept for this machine."""
    from ..market import learn as L, store
    from ..market.selector import Selector

    swapped = len(learner.swaps)
    _say_swaps(learner)
    # what bids at the end of the run: the last swap's, else what it started with
    in_use = learner.swaps[-1].texts if swapped else {k: s.text for k, s in sels.items()}
    final = L.study(L.lesson(run.graph, run.platform, run.times, run.ledger.array(), math.inf, in_use, learner.plan))
    if final is not None:
        in_use = final.texts
        click.echo(f"learned after the run: replay earnings {final.before:.0f} in use, {final.after:.0f} evolved")
    if final is None and not swapped:
        click.echo("nothing learned: no selector evolved on the run's replay earns more")
        return
    where = store.save_machine_selectors(
        target, {k: Selector.parse(t, f"<learned {k} selector>") for k, t in in_use.items()}
    )
    click.echo(f"kept for this machine in {where} (atlas market selectors):")
    for k in sorted(in_use):
        click.echo(in_use[k].rstrip())


def _progress_line(label: str):
    """Tasks done so far, on one line of a terminal's stderr (nothing in a log)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, failed: int, total: int) -> None:
        tail = f", {failed} failed" if failed else ""
        click.echo(f"\r  {label}: {done + failed}/{total} tasks{tail}", err=True, nl=done + failed == total)

    return show


@market.command("bench")
@click.option(
    "--seeds", type=click.IntRange(1), default=4, show_default=True, help="Judging seeds per simulated workload."
)
@click.option("--generations", type=click.IntRange(1), default=12, show_default=True)
@click.option("--population", type=click.IntRange(4), default=24, show_default=True)
@click.option("--n", "size", type=click.IntRange(1), default=2048, show_default=True, help="The real Cholesky's order.")
@click.option("--tile", type=click.IntRange(1), default=256, show_default=True)
@click.option("--tasks", type=click.IntRange(1), default=20000, show_default=True, help="Empty tasks for the overhead.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the figures as JSON.")
def market_bench(seeds, generations, population, size, tile, tasks, json_out):
    """The market's benchmark: bookkeeping cost, overhead per task beside
    StarPU's, scheduling in the simulator (every policy, the hand-written
    and the evolved selectors), and the tiled Cholesky run for real here."""
    from . import marketbench as MB

    _market_bench(
        MB,
        "market bench",
        json_out,
        size,
        tile,
        seeds=seeds,
        generations=generations,
        population=population,
        tasks=tasks,
    )


def _market_bench(bench, label: str, json_out: str | None, n: int, tile: int, **rest) -> None:
    """Run one of the market's benchmarks (a module with run, render and
    as_json) with the real Cholesky's order `n` and `tile` and its other
    options `rest`: its figures printed, and written as JSON where asked."""
    from ..files import write_atomic
    from ..market.session import MarketError

    if n % tile:
        _fail(AtlasError(None, f"--n {n} must be a multiple of --tile {tile}"))
    try:
        figures = bench.run(
            hwprobe.probe(), n=n, tile=tile, log=lambda s: click.echo(f"{label}: {s}", err=True), **rest
        )
    except (MarketError, *USER_ERRORS) as exc:
        _fail(exc)
    click.echo(bench.render(figures))
    if json_out:
        write_atomic(Path(json_out), json.dumps(bench.as_json(figures), indent=2) + "\n")


@market.command("bench-cluster")
@click.option("--tasks", type=click.IntRange(1), default=5000, show_default=True, help="Empty tasks through each.")
@click.option("--n", "size", type=click.IntRange(1), default=1024, show_default=True, help="The real Cholesky's order.")
@click.option("--tile", type=click.IntRange(1), default=128, show_default=True)
@click.option("--generations", type=click.IntRange(1), default=4, show_default=True)
@click.option("--population", type=click.IntRange(4), default=12, show_default=True)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the figures as JSON.")
def market_bench_cluster(tasks, size, tile, generations, population, json_out):
    """The market across machines: tasks per second on Ray beside the
    embedded market and plain Ray, batched and not; the Cholesky through
    both; 16 to 256 machines in the simulator.  Needs the cluster extra."""
    from . import clusterbench as CB

    _market_bench(
        CB, "cluster bench", json_out, size, tile, tasks=tasks, generations=generations, population=population
    )


@market.command("evolve")
@click.argument("workload", type=click.Path(dir_okay=False))
@click.option("--generations", type=click.IntRange(1), default=12, show_default=True)
@click.option("--population", type=click.IntRange(4), default=24, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="The evolution's and the recorded run's seed.")
def market_evolve(workload, generations, population, seed):
    """Run WORKLOAD's market once with the current selectors, evolve new
    ones on the replay of its records, and store them for this platform
    when they earn more on the replay.  Prints both selectors' text."""
    from ..market import dispatch, evolve, policies, sim, store

    w, _, before = _workload_selectors(workload)
    recorded = sim.simulate(w.graph, w.platform, policies.Market(before), dispatch.Dispatcher(), seed=seed)
    click.echo(
        f"recorded: {len(w.graph)} tasks, makespan {recorded.makespan * 1e3:.2f} ms, earned {recorded.earnings:.0f}"
    )
    ev = evolve.evolve(recorded, generations=generations, population=population, seed=seed, start=before)
    click.echo(f"replay earnings: {ev.initial:.0f} with the current selectors, {ev.earnings:.0f} evolved")
    click.echo("best per generation: " + " ".join(f"{h:.0f}" for h in ev.history))
    for k in sorted(ev.selectors):
        click.echo(f"\n-- {k}: before\n{before[k].text}-- {k}: evolved\n{ev.selectors[k].text}")
    if ev.earnings > ev.initial:
        where = store.save(w.platform, ev.selectors, recorded.model)
        click.echo(f"stored in {where}")
    else:
        click.echo("nothing stored: the evolved selectors earn no more on the replay")


@market.command("selectors")
@click.argument("workload", type=click.Path(dir_okay=False), required=False)
def market_selectors(workload):
    """Print the selector each unit class of WORKLOAD's simulated platform
    bids with, or without WORKLOAD, the one this machine's market learned
    (`atlas market run`)."""
    from ..market import store

    if workload is None:
        from ..market.selector import HAND_WRITTEN

        target = hwprobe.probe()
        try:
            mine = store.machine_selectors(target)
        except USER_ERRORS as exc:
            _fail(exc)
        where = store.machine_folder(target) / "cpu.ax"
        click.echo(f"-- cpu: {'kept in ' + str(where) if mine else 'the hand-written one (nothing learned yet)'}")
        click.echo(mine["cpu"].text if mine else HAND_WRITTEN)
        return
    w, kept, sels = _workload_selectors(workload)
    for k in w.platform.classes():
        where = f"stored in {store.folder(w.platform) / (k + '.ax')}" if k in kept else "the hand-written one"
        click.echo(f"-- {k}: {where}")
        click.echo(sels[k].text)


if __name__ == "__main__":
    main()
