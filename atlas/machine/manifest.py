"""An artefact's manifest.json as typed data.

The pipeline builds a `Manifest` and writes `to_json()`; the CPU runtime,
the GPU host, the CLI and the benchmarks read one back with
`Manifest.read(folder)` (or `from_json`), which checks what it reads and
says where a damaged one is wrong.  A backend writes its own part as JSON
(`Emitted.manifest`): the fields every reader needs are typed here (the
library or PTX file, the CPU flags, each function's declared signature),
the rest is kept as the backend wrote it, in `target` and in each
function's `target`.

What the logic atlas and the search did to each function is typed too:
`Evidence` (what was proven, what only tested, which form was emitted) and
`SearchSummary` (how the variant was chosen).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..meaning import ir
from .backend import describe, signature_of

FORMAT = "atlas-artefact/1"


class DamagedManifest(ValueError):
    """A manifest that is not JSON, or not one an Atlas wrote."""


class Status(enum.Enum):
    """What came of one claim put to Z3."""

    PROVEN = "proven"
    REFUTED = "refuted"  # Z3 found a counterexample
    UNDECIDED = "undecided"  # Z3 stopped at a limit, or could not say
    UNSUPPORTED = "unsupported"  # not put to Z3: outside what the prover can state (the detail says why)


class Form(enum.Enum):
    """Which form of a function its code was built from."""

    SOURCE = "source"  # the intent's own, translated directly
    REWRITTEN = "rewritten"  # the logic atlas's proven terms
    SEARCHED = "searched"  # the search's champion


class Origin(enum.Enum):
    """How a searched function's variant was chosen."""

    SEARCHED = "searched"  # measured here, this compile
    ARCHIVE = "archive"  # the archive's champion for this intent and machine
    PINNED = "pinned"  # given on the command line (--pin), not searched


def _get(data: dict, key: str, kinds, where: str, default: Any = None) -> Any:
    """data[key] checked against `kinds` (absent: `default`)."""
    if key not in data or data[key] is None:
        return default
    value = data[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
        raise DamagedManifest(f"{where}: {key!r} is {value!r}, not {_names(kinds)}")
    return value


def _tuple(kinds) -> tuple:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _names(kinds) -> str:
    return " or ".join(k.__name__ for k in _tuple(kinds))


def _object(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise DamagedManifest(f"{where}: expected a JSON object, found {type(value).__name__}")
    return value


def _enum(kind: type[enum.Enum], value, where: str):
    try:
        return kind(value)
    except ValueError:
        raise DamagedManifest(f"{where}: {value!r} is not one of {', '.join(repr(m.value) for m in kind)}") from None


# ---------------------------------------------------------------- evidence


@dataclass(frozen=True)
class ProofRecord:
    """The whole-function proof of a validated function."""

    status: Status
    bound: int | None  # None: for every input; K: loops up to K iterations
    method: str
    detail: str
    cases: str = ""  # the sizes enumerated one at a time, if any

    def to_json(self) -> dict:
        out = {"status": self.status.value, "bound": self.bound, "method": self.method, "detail": self.detail}
        if self.cases:
            out["cases"] = self.cases
        return out

    @classmethod
    def from_json(cls, data, where: str) -> "ProofRecord":
        d = _object(data, where)
        return cls(
            _enum(Status, d.get("status"), f"{where}.status"),
            _get(d, "bound", int, where),
            _get(d, "method", str, where, ""),
            _get(d, "detail", str, where, ""),
            _get(d, "cases", str, where, ""),
        )


@dataclass(frozen=True)
class Check:
    """A function checked whole against its source: what was proven, what
    only tested, what neither (each a sentence about this function only)."""

    validated: bool
    proven: str
    tested: str
    neither: str
    proof: ProofRecord | None = None
    runs: dict | None = None  # the differential runs' record (differential.Runs.to_json)

    @property
    def runs_agree(self) -> bool | None:
        return None if self.runs is None else self.runs.get("agree")

    def to_json(self) -> dict:
        out: dict = {"validated": self.validated, "proven": self.proven, "tested": self.tested, "neither": self.neither}
        if self.proof is not None:
            out["proof"] = self.proof.to_json()
        if self.runs is not None:
            out["runs"] = self.runs
        return out

    @classmethod
    def from_json(cls, data, where: str) -> "Check":
        d = _object(data, where)
        proof = d.get("proof")
        return cls(
            bool(_get(d, "validated", bool, where, False)),
            _get(d, "proven", str, where, ""),
            _get(d, "tested", str, where, ""),
            _get(d, "neither", str, where, ""),
            None if proof is None else ProofRecord.from_json(proof, f"{where}.proof"),
            _get(d, "runs", dict, where),
        )


@dataclass(frozen=True)
class Reading:
    """The front end's reading of a function's counted while loops as for
    loops (atlas/front/counted.py), checked whole like any variant: the
    function as written is the source, the read one the candidate."""

    loops: tuple[str, ...]  # where each loop read is, file:line:col
    kept: bool  # False: the check failed, and the loops stayed while loops
    check: Check

    def to_json(self) -> dict:
        return {"loops": list(self.loops), "kept": self.kept, "validation": self.check.to_json()}

    @classmethod
    def from_json(cls, data, where: str) -> "Reading":
        d = _object(data, where)
        return cls(
            tuple(str(x) for x in _get(d, "loops", list, where, [])),
            bool(_get(d, "kept", bool, where, False)),
            Check.from_json(d.get("validation"), f"{where}.validation"),
        )


@dataclass(frozen=True)
class Fallback:
    """A rewritten term (or, as "*", the whole function) kept in source form."""

    root: str
    why: str


@dataclass(frozen=True)
class Terms:
    """What the logic atlas did to one function's root terms."""

    roots: int = 0
    rewritten: int = 0  # a cheaper form was found
    proven: int = 0  # ... and proven equal by Z3
    fallbacks: tuple[Fallback, ...] = ()
    loops: int = 0  # of those proven, whole loops (folds), by induction over every trip count


@dataclass(frozen=True)
class Evidence:
    """What one function's emitted code rests on."""

    form: Form
    proof: str  # one sentence: what was proven
    terms: Terms | None = None  # None: compiled without the logic atlas
    check: Check | None = None
    differential: dict | None = None  # the runs that validated the emitted form
    shape: dict | None = None  # the search's loop shape and its own proof
    atlas_forms: tuple[str, ...] | None = None  # roots given their atlas form by the search
    champion_refused: str | None = None  # why the search's champion was not emitted
    reading: Reading | None = None  # its while loops read as for loops, before everything else

    @classmethod
    def untouched(cls) -> "Evidence":
        """Compiled without the logic atlas: the source, translated directly."""
        return cls(Form.SOURCE, "none needed: the source form, translated directly")

    def to_json(self) -> dict:
        out: dict = {}
        if self.terms is not None:
            t = self.terms
            out.update(
                roots=t.roots,
                rewritten=t.rewritten,
                proven=t.proven,
                fallbacks=[{"root": f.root, "why": f.why} for f in t.fallbacks],
            )
            if t.loops:
                out["loops_proven"] = t.loops
        out["form"] = self.form.value
        if self.check is not None:
            out["validation"] = self.check.to_json()
        out["proof"] = self.proof
        for key, value in (
            ("differential", self.differential),
            ("shape", self.shape),
            ("atlas_forms", None if self.atlas_forms is None else list(self.atlas_forms)),
            ("champion_refused", self.champion_refused),
            ("reading", None if self.reading is None else self.reading.to_json()),
        ):
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data, where: str) -> "Evidence":
        d = _object(data, where)
        terms = None
        if "roots" in d:
            fallbacks = []
            for i, f in enumerate(_get(d, "fallbacks", list, where, [])):
                f = _object(f, f"{where}.fallbacks[{i}]")
                fallbacks.append(Fallback(_get(f, "root", str, where, ""), _get(f, "why", str, where, "")))
            terms = Terms(
                _get(d, "roots", int, where, 0),
                _get(d, "rewritten", int, where, 0),
                _get(d, "proven", int, where, 0),
                tuple(fallbacks),
                _get(d, "loops_proven", int, where, 0),
            )
        check = d.get("validation")
        forms = _get(d, "atlas_forms", list, where)
        reading = d.get("reading")
        return cls(
            _enum(Form, d.get("form"), f"{where}.form"),
            _get(d, "proof", str, where, ""),
            terms,
            None if check is None else Check.from_json(check, f"{where}.validation"),
            _get(d, "differential", dict, where),
            _get(d, "shape", dict, where),
            None if forms is None else tuple(str(x) for x in forms),
            _get(d, "champion_refused", str, where),
            None if reading is None else Reading.from_json(reading, f"{where}.reading"),
        )


# ---------------------------------------------------------------- the search


@dataclass(frozen=True)
class SearchSummary:
    """How a searched function's variant was chosen, and what it measured."""

    genome: str  # the variant, described
    origin: Origin
    emitted: bool = True  # False: the champion was not validated (the evidence says why)
    stop: str = ""  # why the search ended
    evaluations: int = 0
    generations: int = 0
    seconds: float | None = None  # the search's own time, confirmation included
    space: int | None = None  # genomes in the space searched
    considered: int = 0  # genomes bred as candidates
    screened: int = 0  # of them, ranked by the learned cost model before measuring
    median_ns: tuple[float, ...] = ()  # the champion's timings, one per input
    default_ns: tuple[float, ...] = ()  # the default variant's
    confirmed: tuple = ()
    speedup: float | None = None  # over the default variant, where the champion ran
    inputs: tuple[str, ...] = ()  # the inputs it was timed on, described
    notes: tuple[str, ...] = ()
    sizes: tuple[int, ...] = ()  # each input's largest array, in elements (what a market task's size counts)

    def to_json(self) -> dict:
        """Keyed as the archive and older manifests keep it ("fixed",
        "from_archive")."""
        out: dict = {"genome": self.genome}
        if self.origin is Origin.PINNED:
            out["fixed"] = True
        else:
            out.update(
                stop=self.stop,
                evaluations=self.evaluations,
                generations=self.generations,
                seconds=self.seconds,
                space=self.space,
                considered=self.considered,
                screened=self.screened,
                median_ns=list(self.median_ns),
                default_ns=list(self.default_ns),
                confirmed=list(self.confirmed),
                speedup=self.speedup,
                inputs=list(self.inputs),
                notes=list(self.notes),
                sizes=list(self.sizes),
                from_archive=self.origin is Origin.ARCHIVE,
            )
        if not self.emitted:
            out["emitted"] = False
        return out

    @classmethod
    def from_json(cls, data, where: str) -> "SearchSummary":
        d = _object(data, where)
        origin = Origin.PINNED if d.get("fixed") else Origin.ARCHIVE if d.get("from_archive") else Origin.SEARCHED

        def seq(key: str) -> tuple:
            return tuple(_get(d, key, list, where, []))

        seconds = _get(d, "seconds", (int, float), where)
        speedup = _get(d, "speedup", (int, float), where)
        return cls(
            _get(d, "genome", str, where, ""),
            origin,
            bool(d.get("emitted", True)),
            _get(d, "stop", str, where, ""),
            _get(d, "evaluations", int, where, 0),
            _get(d, "generations", int, where, 0),
            None if seconds is None else float(seconds),
            _get(d, "space", int, where),
            _get(d, "considered", int, where, 0),
            _get(d, "screened", int, where, 0),
            seq("median_ns"),
            seq("default_ns"),
            seq("confirmed"),
            None if speedup is None else float(speedup),
            seq("inputs"),
            seq("notes"),
            tuple(int(n) for n in seq("sizes") if isinstance(n, int) and n >= 0),
        )


# ---------------------------------------------------------------- the manifest

_DECLARED = ("signature", "params", "ret", "reassoc", "symbol", "requires", "requires_text")


@dataclass(frozen=True)
class FunctionEntry:
    """One exported function: its declared signature (what each call is
    checked against), its symbol, its run-time counters, what the backend
    says of it, and what its code rests on."""

    function: ir.Function  # no body: the signature as data
    symbol: str
    signature: str  # in intent syntax, for people
    counters: tuple[str, ...] = ()  # run-time counters the library exports
    target: dict = field(default_factory=dict)  # the backend's own fields, as it wrote them
    evidence: Evidence | None = None
    search: SearchSummary | None = None

    def to_json(self) -> dict:
        out = describe(self.function)
        out.update(signature=self.signature, symbol=self.symbol)
        if self.counters:
            out["counters"] = list(self.counters)
        out.update(self.target)
        if self.evidence is not None:
            out["evidence"] = self.evidence.to_json()
        if self.search is not None:
            out["search"] = self.search.to_json()
        return out

    @classmethod
    def from_json(cls, name: str, data, where: str) -> "FunctionEntry":
        d = _object(data, where)
        try:
            fn = signature_of(name, d)
        except ValueError as exc:
            raise DamagedManifest(f"{where}: {exc}") from None
        ev, found = d.get("evidence"), d.get("search")
        counters = _get(d, "counters", list, where, [])
        target = {k: v for k, v in d.items() if k not in _DECLARED + ("counters", "evidence", "search")}
        return cls(
            fn,
            _get(d, "symbol", str, where, name),
            _get(d, "signature", str, where, fn.signature),
            tuple(str(c) for c in counters),
            target,
            None if ev is None else Evidence.from_json(ev, f"{where}.evidence"),
            None if found is None else SearchSummary.from_json(found, f"{where}.search"),
        )

    @classmethod
    def of(cls, fn: ir.Function) -> "FunctionEntry":
        return cls(replace(fn, body=()), fn.name, fn.signature)


@dataclass(frozen=True)
class Source:
    file: str
    sha256: str


@dataclass(frozen=True)
class MachineSummary:
    """The probe the artefact was compiled for, in brief."""

    fingerprint: str
    uarch: str
    llvm_cpu: str
    features: tuple[str, ...]


_HEADER = (
    "format",
    "atlas_version",
    "created",
    "intent_hash",
    "sources",
    "probe",
    "backend",
    "decisions",
    "functions",
    "atlas",
    "library",
    "ptx",
    "arch",
    "cpu_flags",
)


@dataclass(frozen=True)
class Manifest:
    """What an artefact folder holds and what it rests on."""

    functions: dict[str, FunctionEntry]
    format: str = FORMAT
    backend: str | None = None
    library: str | None = None  # the shared library to load (CPU backends)
    ptx: str | None = None  # the PTX module to load (the GPU backend)
    arch: str | None = None  # the GPU architecture it targets (sm_90)
    cpu_flags: tuple[str, ...] | None = None  # the CPU flags its code needs
    atlas_version: str | None = None
    created: str | None = None
    intent_hash: str | None = None
    sources: tuple[Source, ...] = ()
    probe: MachineSummary | None = None
    decisions: tuple[dict, ...] = ()  # the hardware branches decided (front.specialise's records)
    target: dict = field(default_factory=dict)  # the backend's other fields, as it wrote them
    atlas: dict | None = None  # the logic atlas's account (rules, classes, timings)

    def to_json(self) -> dict:
        out: dict = {"format": self.format}
        for key, value in (
            ("atlas_version", self.atlas_version),
            ("created", self.created),
            ("intent_hash", self.intent_hash),
        ):
            if value is not None:
                out[key] = value
        if self.sources:
            out["sources"] = [{"file": s.file, "sha256": s.sha256} for s in self.sources]
        if self.probe is not None:
            p = self.probe
            out["probe"] = {
                "fingerprint": p.fingerprint,
                "uarch": p.uarch,
                "llvm_cpu": p.llvm_cpu,
                "features": list(p.features),
            }
        if self.backend is not None:
            out["backend"] = self.backend
        out["decisions"] = list(self.decisions)
        for key, text in (("library", self.library), ("ptx", self.ptx), ("arch", self.arch)):
            if text is not None:
                out[key] = text
        if self.cpu_flags is not None:
            out["cpu_flags"] = list(self.cpu_flags)
        out.update(self.target)
        out["functions"] = {name: e.to_json() for name, e in self.functions.items()}
        if self.atlas is not None:
            out["atlas"] = self.atlas
        return out

    @classmethod
    def from_json(cls, data, where: str = "manifest.json") -> "Manifest":
        d = _object(data, where)
        fns = _get(d, "functions", dict, where, {})
        functions = {name: FunctionEntry.from_json(name, e, f"{where}: function {name}") for name, e in fns.items()}
        sources = tuple(
            Source(str(_object(s, where).get("file", "")), str(s.get("sha256", "")))
            for s in _get(d, "sources", list, where, [])
        )
        probe = _get(d, "probe", dict, where)
        summary = (
            None
            if probe is None
            else MachineSummary(
                str(probe.get("fingerprint", "")),
                str(probe.get("uarch", "")),
                str(probe.get("llvm_cpu", "")),
                tuple(str(f) for f in _get(probe, "features", list, f"{where}: probe", [])),
            )
        )
        flags = _get(d, "cpu_flags", list, where)
        return cls(
            functions,
            _get(d, "format", str, where, FORMAT),
            _get(d, "backend", str, where),
            _get(d, "library", str, where),
            _get(d, "ptx", str, where),
            _get(d, "arch", str, where),
            None if flags is None else tuple(str(f) for f in flags),
            _get(d, "atlas_version", str, where),
            _get(d, "created", str, where),
            _get(d, "intent_hash", str, where),
            sources,
            summary,
            tuple(_get(d, "decisions", list, where, [])),
            {k: v for k, v in d.items() if k not in _HEADER},
            _get(d, "atlas", dict, where),
        )

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        """The manifest of the artefact folder `folder`."""
        folder = Path(folder)
        path = folder / "manifest.json"
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a compiled artefact folder")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{folder} is not a compiled artefact: {path} is missing") from None
        except json.JSONDecodeError as exc:
            raise DamagedManifest(
                f"{path}:{exc.lineno}:{exc.colno}: damaged manifest, not JSON: {exc.msg} (recompile the artefact)"
            ) from None
        except UnicodeDecodeError:
            raise DamagedManifest(f"{path}: damaged manifest, not UTF-8 text (recompile the artefact)") from None
        if not isinstance(data, dict) or not isinstance(data.get("functions", {}), dict):
            raise DamagedManifest(f"{path}: damaged manifest, not an Atlas artefact's (recompile the artefact)")
        try:
            return cls.from_json(data, str(path))
        except DamagedManifest as exc:
            raise DamagedManifest(f"damaged or outdated manifest: {exc} (recompile the artefact)") from None
