"""The compiler as a list of named stages (STAGES) over one Compilation.

    .ax text --parse--> AST --check--> typed IR --specialise(probe)--> IR
             --saturate--> e-graph (the logic atlas) --verify--> proven IR
             --explode(search, profile)--> the fastest proven variants, measured
             --validate--> each champion checked against its source, whole
             --emit(backend)--> artefacts + manifest.json

The same stage names are used for timings and for `--dump STAGE`.  The
compile API takes plain values and returns one, so it can be driven from a
CLI, a test or a long-running daemon alike.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import __version__
from .meaning import ir
from .logic import validate
from .machine import backend as backends
from .machine import probe as hwprobe
from .front.counted import counted_loops
from .front.check import check
from .front.diagnostics import AtlasError
from .front.specialise import Decision, specialise
from .front.syntax import ModuleA, parse, read_source
from .search.archive import intent_hash
from .machine.manifest import Evidence, Form, MachineSummary, Manifest, Reading, Source
from .machine.probe import Probe

if TYPE_CHECKING:
    from .logic.stages import Verified

Dump = Callable[[str, str], None]  # (stage, text)


@dataclass
class Compiled:
    module: ir.Module  # after specialisation
    decisions: list[Decision]
    manifest: Manifest
    out: Path
    timings: dict[str, float] = field(default_factory=dict)


# What `--dump` can print besides a backend's own stages (Backend.dump_stages).
DUMP_STAGES = ("ast", "ir", "specialised", "atlas", "verified", "explode")


def read_sources(paths) -> list[ModuleA]:
    return [parse(read_source(p), str(p)) for p in paths]


def front(
    paths,
    probe: Probe,
    dump: Dump | None = None,
    timings: dict | None = None,
    counted: bool = True,
    readings: dict[str, Reading] | None = None,
):
    """parse, check, specialise (and read counted while loops as for loops,
    each function so read checked whole against itself as written, unless
    `counted` is False): the stages every backend shares.  `readings`, where
    given, receives each read function's record."""
    timings = {} if timings is None else timings
    dump = dump or (lambda stage, text: None)
    asts = _timed(timings, "parse", lambda: read_sources(paths))
    dump("ast", "\n".join(tree_text(a.funcs) for a in asts))
    module = _timed(timings, "check", lambda: check(*asts))
    dump("ir", ir.pretty_module(module))
    specialised, decisions = _timed(timings, "specialise", lambda: specialise(module, probe))
    if counted:
        written = specialised
        specialised, found = _timed(timings, "read", lambda: validate.readings(written, counted_loops(written)))
        if readings is not None:
            readings.update(found)
    dump("specialised", ir.pretty_module(specialised))
    return module, specialised, decisions


def rule_files(be, learned=()) -> list:
    """The rule files of the logic atlas for backend `be`: the shipped rules,
    the backend's own, then the learned ones.  compile, explain and
    superopt all load these, so they all show the same e-graph."""
    from .logic.rules import SHIPPED

    return [SHIPPED, *be.rule_paths, *learned]


def logic_atlas(
    specialised: ir.Module, probe: Probe, rules, limits=None, dump: Dump | None = None, timings: dict | None = None
):
    """saturate, verify: the logic atlas of `specialised` under the loaded
    `rules`.  Returns (stages.Saturated, stages.Verified)."""
    from .logic import stages

    timings = {} if timings is None else timings
    sat = _timed(timings, "saturate", lambda: stages.saturate(specialised, probe, limits, rules))
    if dump:
        dump("atlas", atlas_summary(sat, sat.atlas.report()))
    verified = _timed(timings, "verify", lambda: stages.verify(specialised, sat))
    if dump:
        dump("verified", ir.pretty_module(verified.module))
    return sat, verified


def middle(
    specialised: ir.Module,
    probe: Probe,
    dump: Dump | None = None,
    timings: dict | None = None,
    limits=None,
    rule_paths=None,
):
    """The logic atlas under the rules of `rule_paths` (rule_files: the
    shipped ones by default).  Returns the proven module and the manifest's
    account of how it was obtained."""
    from .logic.lower import loop_forms
    from .logic.rules import SHIPPED, load_rules

    timings = {} if timings is None else timings
    rules = _timed(timings, "rules", lambda: load_rules(rule_paths or [SHIPPED]))  # proven once, then cached
    sat, verified = logic_atlas(specialised, probe, rules, limits, dump, timings)
    account_learned = sorted({r.name for r in sat.rules if r.ruleset == "learned"})
    report = sat.atlas.report()
    stats = sat.rule_stats
    account: dict[str, Any] = {
        "egraph": {
            k: report[k]
            for k in (
                "source_nodes",
                "eclasses",
                "enodes",
                "compression",
                "forms_per_class",
                "programs",
                "stop_reason",
                "limits",
            )
        },
        "iterations": [{"nodes": it.nodes, "classes": it.classes} for it in sat.atlas.stats],
        "rules": {
            "instances": len(sat.rules),
            "per_ruleset": report["rules_per_ruleset"],
            "proven_now": getattr(stats, "proven_now", None),
            "from_cache": getattr(stats, "from_cache", None),
        },
        "loops": loop_forms(specialised),
        "cost_model": report["cost_model"],  # what extraction weighed the forms by
    }
    if account_learned:
        account["rules"]["learned"] = account_learned
    return verified, account


def atlas_summary(sat, report: dict) -> str:
    sizes = " -> ".join(f"{it.nodes}n/{it.classes}c" for it in sat.atlas.stats)
    return (
        f"{len(sat.roots)} roots, {report['source_nodes']} source term nodes -> "
        f"{report['eclasses']} e-classes, {report['enodes']} e-nodes "
        f"(compression {report['compression'] or 0:.2f}, {report['forms_per_class'] or 0:.2f} forms per class); "
        f"iterations: {sizes}; "
        f"stopped: {report['stop_reason']}; {len(sat.rules)} rule instances"
    )


def explode(
    specialised: ir.Module, verified, probe: Probe, be, search, intent: str, timings: dict, dump: Dump | None = None
):
    """The search: each function with a loop gets the fastest of its proven
    variants on this machine.  Returns the module to emit, the backend's
    knobs per function and each function's account of the search."""
    from .search.explode import Target
    from .search.explode import explode as run_search

    final = verified.module if verified is not None else specialised
    target = Target(
        specialised,
        final,
        verified.roots if verified is not None else [],
        verified.proven() if verified is not None else {},
        probe,
        be,
        intent,
        hwprobe.fingerprint(probe),
        verified.alternatives if verified is not None else {},
    )
    outcomes = _timed(timings, "explode", lambda: run_search(target, search))
    module = ir.Module(
        tuple(outcomes[f.name].variant if f.name in outcomes else f for f in final.functions), final.sources
    )
    if dump:
        dump("explode", ir.pretty_module(module))
    realise = {n: o.genome.realisation() for n, o in outcomes.items()}
    return module, realise, outcomes


def only_devices(paths) -> bool:
    """Whether the files describe devices and define no functions (then the
    default backend is stubs, and there is nothing to search)."""
    asts = read_sources(paths)
    return any(a.devices for a in asts) and not any(a.funcs for a in asts)


@dataclass
class Request:
    """What a compile is asked for, besides the files, the machine and the folder."""

    backend: str = backends.DEFAULT
    use_atlas: bool = True  # False: each function's source form, translated directly
    limits: object = None  # egraph.Limits for saturation; None: the defaults
    search: object = None  # search.explode.Options; None: no search
    learned: list | None = None  # learned-rule files; None: the user's (learned.paths())
    backend_options: dict | None = None  # keyword arguments of the backend's constructor


@dataclass
class Compilation:
    """One compile as it passes through STAGES: each stage reads what the
    stages before it left here and adds its own part.  `begin` makes one
    from the front end's result."""

    probe: Probe
    request: Request
    backend: backends.Backend
    module: ir.Module  # checked
    specialised: ir.Module  # every `when hw.…` decided
    decisions: list[Decision]
    final: ir.Module  # what the backend gets: each stage may replace it
    dump: Dump | None = None
    timings: dict[str, float] = field(default_factory=dict)
    verified: Verified | None = None  # the logic atlas's
    evidence: dict[str, Evidence] = field(default_factory=dict)  # function -> what its form rests on
    account: dict | None = None  # the logic atlas's account for the manifest
    realise: dict | None = None  # function -> the search's backend knobs (explode)
    searched: dict = field(default_factory=dict)  # function -> explode.Outcome
    checks: dict = field(default_factory=dict)  # function -> validate.Validation of its champion
    readings: dict[str, Reading] = field(default_factory=dict)  # function -> its while loops read as for loops


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Compilation], None]
    applies: Callable[[Compilation], bool] = lambda c: True


def begin(paths, probe: Probe, request: Request, backend: backends.Backend, dump: Dump | None = None) -> Compilation:
    """The front end (parse, check, specialise: the same for every backend
    and every command) and the Compilation the stages then carry on."""
    timings: dict[str, float] = {}
    readings: dict[str, Reading] = {}
    module, specialised, decisions = front(paths, probe, dump, timings, readings=readings)
    return Compilation(
        probe, request, backend, module, specialised, decisions, specialised, dump, timings, readings=readings
    )


def _logic_stage(c: Compilation) -> None:
    from .logic import learned

    files = learned.paths() if c.request.learned is None else list(c.request.learned)
    verified, c.account = middle(
        c.specialised, c.probe, c.dump, c.timings, c.request.limits, rule_files(c.backend, files)
    )
    c.verified, c.final, c.evidence = verified, verified.module, verified.evidence


def _explode_stage(c: Compilation) -> None:
    before = c.final
    c.final, c.realise, c.searched = explode(
        c.specialised, c.verified, c.probe, c.backend, c.request.search, intent_hash(c.module), c.timings, c.dump
    )
    # what the search crowned is checked whole against the source; what
    # fails gives way to the form it was built from
    sites = {name: o.proven_sites for name, o in c.searched.items()}
    c.final, c.checks = _timed(
        c.timings, "validate", lambda: validate.searched(c.specialised, before, c.final, set(c.searched), sites=sites)
    )


# The stages of a compile after the front end (`begin`), in order; `emit`
# (the backend's, into the output folder) follows them.  Each is timed
# under the names it reports itself (logic atlas: saturate, verify;
# explode: explode, validate).
STAGES = (
    # device descriptions alone leave no terms to saturate
    Stage("logic atlas", _logic_stage, lambda c: c.request.use_atlas and bool(c.specialised.functions)),
    Stage("explode", _explode_stage, lambda c: c.request.search is not None),
)


def run_stages(c: Compilation, stages=STAGES) -> Compilation:
    for stage in stages:
        if stage.applies(c):
            stage.run(c)
    return c


def compile_files(paths, probe: Probe, out, dump: Dump | None = None, **request) -> Compiled:
    """Compile intent files for the probed machine into the folder `out`,
    which is replaced whole or not at all.  `request`: the fields of
    Request (backend, use_atlas, limits, search, learned, backend_options);
    with `search` every function with a loop is searched for its fastest
    proven variant."""
    return compile_request(paths, probe, out, Request(**request), dump)


def compile_request(paths, probe: Probe, out, request: Request, dump: Dump | None = None) -> Compiled:
    be = backends.get(request.backend, **(request.backend_options or {}))
    refusal = be.accepts(probe)
    if refusal:
        raise backends.BackendError(f"backend {request.backend} cannot target this probe: {refusal}")
    if request.search is not None and not be.searchable:
        raise backends.BackendError(
            f"the {request.backend} backend's variants cannot be timed here; compile without the search"
        )
    c = run_stages(begin(paths, probe, request, be, dump))
    # The middle stages see functions only; device descriptions (checked,
    # nothing to prove or search) go to the backend as the front left them.
    c.final = replace(c.final, devices=c.specialised.devices)
    out = Path(out)
    with _replacing(out) as tmp:
        emitted = _timed(c.timings, "emit", lambda: be.emit(c.final, probe, tmp, c.realise))
        for stage, text in emitted.dumps.items():
            if dump:
                dump(stage, text)
        manifest = _manifest(c, emitted)
        (tmp / "manifest.json").write_text(json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n")
    return Compiled(c.final, c.decisions, manifest, out, c.timings)


def _manifest(c: Compilation, emitted: backends.Emitted) -> Manifest:
    """The backend's part of the manifest, read as every reader reads it,
    with what each function's code rests on: the proofs and tests of the
    logic atlas, or, compiled without it, the direct translation of its
    source; and for a searched function, its search."""
    base = Manifest.from_json(
        {**emitted.manifest, "backend": c.request.backend}, f"the {c.request.backend} backend's manifest"
    )
    functions = {}
    for name, entry in base.functions.items():
        evidence = c.evidence.get(name) or Evidence.untouched()
        found = None
        if name in c.searched:
            o = c.searched[name]
            evidence = replace(evidence, shape=o.evidence, atlas_forms=tuple(o.forms))
            found = o.summary
        if name in c.checks:
            evidence = _champion_evidence(evidence, c.checks[name])
            if found is not None and not c.checks[name].validated:
                found = replace(found, emitted=False)  # the form it was built from was
        if name in c.readings:
            evidence = _read_evidence(evidence, c.readings[name])
        functions[name] = replace(entry, evidence=evidence, search=found)
    return replace(
        base,
        functions=functions,
        atlas_version=__version__,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        intent_hash=intent_hash(c.module),
        sources=tuple(Source(f, h) for f, h in c.module.sources),
        probe=MachineSummary(
            hwprobe.fingerprint(c.probe), c.probe.cpu.uarch, c.probe.cpu.llvm_cpu, tuple(c.probe.cpu.features)
        ),
        decisions=tuple(d.as_dict() for d in c.decisions),
        atlas=c.account,
    )


def _read_evidence(evidence: Evidence, reading: Reading) -> Evidence:
    """The evidence of a function whose while loops the front end read as
    for loops: what it says of "the source" is said of the read form, so
    the reading's own check is said beside it."""
    evidence = replace(evidence, reading=reading)
    if not reading.kept:
        return evidence  # the function as written is the source: nothing else changes
    r = reading.check
    loops = "its while loop" if len(reading.loops) == 1 else f"its {len(reading.loops)} while loops"
    said = f"the source is the function with {loops} read as for loops, checked against it as written: {r.proven}"
    check = evidence.check
    if check is not None:
        neither = r.neither if check.neither.startswith("none") else f"{check.neither}; of the reading: {r.neither}"
        check = replace(check, neither=neither)
    return replace(evidence, proof=f"{evidence.proof}; {said}; {r.tested}", check=check)


def _champion_evidence(before: Evidence, check: validate.Validation) -> Evidence:
    """The evidence of a searched function: its champion's validation, or,
    where that failed, the account of the form emitted instead."""
    if not check.validated:
        return replace(before, champion_refused=f"the search's champion was not validated ({check.why_not()})")
    proof = check.proven_text()
    shape = before.shape or {}
    if isinstance(shape.get("proof"), str):  # a loop rule's own proof, e.g. by induction
        proof += f"; and its shape ({shape.get('shape', '?')}): {shape['proof']}"
    runs = check.runs
    return replace(
        before,
        form=Form.SEARCHED,
        check=check.check(),
        proof=proof,
        differential=before.differential if runs is None else runs,
    )


def _timed(timings: dict, stage: str, thunk):
    t0 = time.perf_counter()
    try:
        return thunk()
    finally:  # a stage timed in parts (loading its rules, then running) adds up
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0


class _replacing:
    """Build a folder beside `out`, then swap it in: a failed compile leaves
    whatever was at `out` untouched.  A folder that is not an Atlas artefact
    is never replaced."""

    def __init__(self, out: Path):
        self.out = out

    def __enter__(self) -> Path:
        if self.out.exists() and not (
            self.out.is_dir() and ((self.out / "manifest.json").exists() or not any(self.out.iterdir()))
        ):
            raise AtlasError(None, f"{self.out} exists and is not an Atlas artefact folder; refusing to overwrite it")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        return self.tmp

    def __exit__(self, kind, exc, tb):
        if kind is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        old = None
        if self.out.exists():
            old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
            os.replace(self.out, old)
        os.replace(self.tmp, self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return False


def tree_text(node, indent: int = 0) -> str:
    """An indented view of AST dataclasses (spans shown as line:col)."""
    pad = "  " * indent
    if isinstance(node, tuple):
        return "\n".join(tree_text(n, indent) for n in node)
    if not is_dataclass(node):
        return pad + repr(node)
    span = getattr(node, "span", None)
    where = f" @{span.line}:{span.col}" if isinstance(span, ir.Span) else ""
    simple, nested = [], []
    for f in fields(node):
        if f.name.endswith("span"):
            continue
        v = getattr(node, f.name)
        if is_dataclass(v) or (isinstance(v, tuple) and v and is_dataclass(v[0])):
            nested.append((f.name, v))
        elif not (isinstance(v, tuple) and not v):
            simple.append(f"{f.name}={v!r}")
    lines = [f"{pad}{type(node).__name__}{where} " + " ".join(simple)]
    for name, v in nested:
        lines.append(f"{pad}  {name}:")
        lines.append(tree_text(v, indent + 2))
    return "\n".join(lines)
