"""The compiler as one function of named stages.

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
from typing import Callable

from . import __version__
from .meaning import ir
from .logic import validate
from .machine import backend as backends
from .machine import probe as hwprobe
from .front.check import check
from .front.diagnostics import AtlasError
from .front.specialise import Decision, specialise
from .front.syntax import ModuleA, parse, read_source
from .search.archive import intent_hash
from .machine.probe import Probe

Dump = Callable[[str, str], None]      # (stage, text)


@dataclass
class Compiled:
    module: ir.Module                  # after specialisation
    decisions: list[Decision]
    manifest: dict
    out: Path
    timings: dict[str, float] = field(default_factory=dict)


# What `--dump` can print besides a backend's own stages (Backend.dump_stages).
DUMP_STAGES = ("ast", "ir", "specialised", "atlas", "verified", "explode")


def read_sources(paths) -> list[ModuleA]:
    return [parse(read_source(p), str(p)) for p in paths]


def front(paths, probe: Probe, dump: Dump | None = None, timings: dict | None = None):
    """parse, check, specialise: the stages every backend shares."""
    timings = {} if timings is None else timings
    dump = dump or (lambda stage, text: None)
    asts = _timed(timings, "parse", lambda: read_sources(paths))
    dump("ast", "\n".join(tree_text(a.funcs) for a in asts))
    module = _timed(timings, "check", lambda: check(*asts))
    dump("ir", ir.pretty_module(module))
    specialised, decisions = _timed(timings, "specialise", lambda: specialise(module, probe))
    dump("specialised", ir.pretty_module(specialised))
    return module, specialised, decisions


def rule_files(be, learned=()) -> list:
    """The rule files of the logic atlas for backend `be`: the shipped rules,
    the backend's own, then the learned ones.  compile, explain and
    superopt all load these, so they all show the same e-graph."""
    from .logic.rules import SHIPPED
    return [SHIPPED, *be.rule_paths, *learned]


def logic_atlas(specialised: ir.Module, probe: Probe, rules, limits=None, dump: Dump | None = None,
                timings: dict | None = None):
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


def middle(specialised: ir.Module, probe: Probe, dump: Dump | None = None, timings: dict | None = None,
           limits=None, rule_paths=None):
    """The logic atlas under the rules of `rule_paths` (rule_files: the
    shipped ones by default).  Returns the proven module and the manifest's
    account of how it was obtained."""
    from .logic.lower import loop_forms
    from .logic.rules import SHIPPED, load_rules
    timings = {} if timings is None else timings
    rules = _timed(timings, "saturate", lambda: load_rules(rule_paths or [SHIPPED]))
    sat, verified = logic_atlas(specialised, probe, rules, limits, dump, timings)
    account_learned = sorted({r.name for r in sat.rules if r.ruleset == "learned"})
    report = sat.atlas.report()
    stats = sat.rule_stats
    account = {
        "egraph": {k: report[k] for k in ("source_nodes", "eclasses", "enodes", "compression",
                                          "stop_reason", "limits")},
        "iterations": [{"nodes": it.nodes, "classes": it.classes} for it in sat.atlas.stats],
        "rules": {"instances": len(sat.rules),
                  "per_ruleset": report["rules_per_ruleset"],
                  "proven_now": getattr(stats, "proven_now", None),
                  "from_cache": getattr(stats, "from_cache", None)},
        "loops": loop_forms(specialised),
    }
    if account_learned:
        account["rules"]["learned"] = account_learned
    return verified, account


def atlas_summary(sat, report: dict) -> str:
    sizes = " -> ".join(f"{it.nodes}n/{it.classes}c" for it in sat.atlas.stats)
    return (f"{len(sat.roots)} roots, {report['source_nodes']} source term nodes -> "
            f"{report['eclasses']} e-classes, {report['enodes']} e-nodes "
            f"(compression {report['compression'] or 0:.2f}); iterations: {sizes}; "
            f"stopped: {report['stop_reason']}; {len(sat.rules)} rule instances")


def explode(specialised: ir.Module, verified, probe: Probe, be, search, intent: str,
            timings: dict, dump: Dump | None = None):
    """The search: each function with a loop gets the fastest of its proven
    variants on this machine.  Returns the module to emit, the backend's
    knobs per function and each function's account of the search."""
    from .search.explode import Target
    from .search.explode import explode as run_search
    final = verified.module if verified is not None else specialised
    target = Target(specialised, final, verified.roots if verified is not None else [],
                    verified.proven() if verified is not None else {}, probe, be, intent,
                    hwprobe.fingerprint(probe))
    outcomes = _timed(timings, "explode", lambda: run_search(target, search))
    module = ir.Module(tuple(outcomes[f.name].variant if f.name in outcomes else f
                             for f in final.functions), final.sources)
    if dump:
        dump("explode", ir.pretty_module(module))
    realise = {n: o.genome.realisation() for n, o in outcomes.items()}
    return module, realise, outcomes


def only_devices(paths) -> bool:
    """Whether the files describe devices and define no functions (then the
    default backend is stubs, and there is nothing to search)."""
    asts = read_sources(paths)
    return any(a.devices for a in asts) and not any(a.funcs for a in asts)


def compile_files(paths, probe: Probe, out, backend: str = backends.DEFAULT, dump: Dump | None = None,
                  use_atlas: bool = True, limits=None, search=None, learned=None,
                  backend_options: dict | None = None) -> Compiled:
    """Compile intent files for the probed machine into the folder `out`,
    which is replaced whole or not at all.  With `search` (atlas.search.explode.Options)
    every function with a loop is searched for its fastest proven variant.
    `learned`: the learned-rule files the atlas loads beside the shipped
    rules (default: the user's, atlas.logic.learned.paths()).  `backend_options`:
    keyword arguments for the backend's constructor (e.g. nvptx's variants)."""
    from .logic import learned as learned_rules
    timings: dict[str, float] = {}
    learned = learned_rules.paths() if learned is None else list(learned)
    be = backends.get(backend, **(backend_options or {}))
    refusal = be.accepts(probe)
    if refusal:
        raise backends.BackendError(f"backend {backend} cannot target this probe: {refusal}")
    module, specialised, decisions = front(paths, probe, dump, timings)
    final, evidence, account, verified = specialised, {}, None, None
    if use_atlas and specialised.functions:      # device descriptions alone: no terms to saturate
        verified, account = middle(specialised, probe, dump, timings, limits,
                                   rule_files(be, learned))
        final, evidence = verified.module, verified.evidence
    realise, searched = None, {}
    if search is not None and not be.searchable:
        raise backends.BackendError(f"the {backend} backend's variants cannot be timed here; "
                                    "compile without the search")
    checks = {}
    if search is not None:
        before = final
        final, realise, searched = explode(specialised, verified, probe, be, search,
                                           intent_hash(module), timings, dump)
        # what the search crowned is checked whole against the source; what
        # fails gives way to the form it was built from
        final, checks = _timed(timings, "validate", lambda: validate.searched(
            specialised, before, final, set(searched)))
    # The middle stages see functions only; device descriptions (checked,
    # nothing to prove or search) go to the backend as the front left them.
    final = replace(final, devices=specialised.devices)
    out = Path(out)
    with _replacing(out) as tmp:
        emitted = _timed(timings, "emit", lambda: be.emit(final, probe, tmp, realise))
        for stage, text in emitted.dumps.items():
            if dump:
                dump(stage, text)
        manifest = {
            "format": "atlas-artefact/1",
            "atlas_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "intent_hash": intent_hash(module),
            "sources": [{"file": f, "sha256": h} for f, h in module.sources],
            "probe": {"fingerprint": hwprobe.fingerprint(probe),
                      "uarch": probe.cpu.uarch, "llvm_cpu": probe.cpu.llvm_cpu,
                      "features": list(probe.cpu.features)},
            "backend": backend,
            "decisions": [d.as_dict() for d in decisions],
            **emitted.manifest,
        }
        # What each function's code rests on: the proofs and tests of the logic
        # atlas, or, compiled without it, the direct translation of its source.
        for name, entry in manifest["functions"].items():
            entry["evidence"] = evidence.get(name, {"form": "source", "proof": "none needed: the "
                                                    "source form, translated directly"})
            if name in searched:
                o = searched[name]
                entry["evidence"] = {**entry["evidence"], "shape": o.evidence, "atlas_forms": o.forms}
                entry["search"] = {"genome": o.genome.as_dict(), **o.summary}
            if name in checks:
                entry["evidence"] = _champion_evidence(entry["evidence"], checks[name])
                if not checks[name].validated:
                    entry["search"]["emitted"] = False        # the form it was built from was
        if account is not None:
            manifest["atlas"] = account
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return Compiled(final, decisions, manifest, out, timings)


def _champion_evidence(before: dict, check: validate.Validation) -> dict:
    """The evidence of a searched function: its champion's validation, or,
    where that failed, the account of the form emitted instead."""
    if not check.validated:
        return {**before, "champion_refused": f"the search's champion was not validated ({check.why_not()})"}
    out = {**before, "form": "searched", **check.evidence()}
    shape = before.get("shape") or {}
    if isinstance(shape.get("proof"), str):          # a loop rule's own proof, e.g. by induction
        out["proof"] += f"; and its shape ({shape.get('shape', '?')}): {shape['proof']}"
    return out


def _timed(timings: dict, stage: str, thunk):
    t0 = time.perf_counter()
    try:
        return thunk()
    finally:           # a stage timed in parts (loading its rules, then running) adds up
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t0


class _replacing:
    """Build a folder beside `out`, then swap it in: a failed compile leaves
    whatever was at `out` untouched.  A folder that is not an Atlas artefact
    is never replaced."""

    def __init__(self, out: Path):
        self.out = out

    def __enter__(self) -> Path:
        if self.out.exists() and not (self.out.is_dir() and (
                (self.out / "manifest.json").exists() or not any(self.out.iterdir()))):
            raise AtlasError(None, f"{self.out} exists and is not an Atlas artefact folder; "
                                   "refusing to overwrite it")
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
