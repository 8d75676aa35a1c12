"""The bit-manipulation benchmark of the superoptimiser: classic problems
(Hacker's Delight; Gulwani et al., PLDI 2011, P1-P25), and problems they do
not contain written in other words (intents/bits/unseen/), each written as
its naive specification, timed against gcc -O3 -march=native on the same
naive C.  Each suite is a folder of four files:

    problems.yaml    the list: naive function, literature program, its length, source
    naive.ax         the naive specifications (loops over bits, conditions)
    literature.ax    the known short programs, `lit_<name>`
    naive.c          the naive specifications in C, with `map_<name>` loops (maps.h)

A problem takes one to four parameters of one integer type (its naive
function's, by name) and may have a precondition (`requires`), which its
literature program states too, the same as the checker reads it.

How one problem is measured (`measure`):

1. Inputs, one array per parameter: n values uniform over the parameter
   type, seeded by the problem's name, in 64-byte aligned buffers.  Under a
   precondition, the elements that miss it are filled from rows Z3 repaired
   (`make_inputs`): the functions are defined only there.
2. Three element-wise loops, `map_<name>(n, x, ..., out)`: gcc's build of the
   naive C, Atlas's build of the naive specification (what the compiler
   made of it, learned rules included), Atlas's build of the literature
   program.  Each runs once on its own zeroed output buffer; the three
   outputs must be equal, or the row gets no time.
3. Timing happens in C, through atlas.tools.bench's shim (a loop of calls through
   a function pointer, timed by clock_gettime), so Python's overhead is not
   in the figures.  Samples alternate gcc, Atlas, literature, gcc, ...; the
   figure is each side's median, divided by n (ns per element); the ratios
   are the medians of the ratios of samples taken side by side.

The search's fields of a Row (found program, its length, search time,
whether it is proven) are left for the caller, which runs the search.
"""

from __future__ import annotations

import ctypes
import statistics
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import yaml

from .bench import REPO, BenchError, C_FLAGS, Kernel, Shim, aligned, build_shared, pinned, per_call_ns, sample
from ..machine.manifest import Manifest
from ..machine.probe import Probe
from ..meaning.terms import Term

BITS = REPO / "intents" / "bits"


@dataclass(frozen=True)
class Suite:
    """One table of the benchmark: a folder of problems.yaml, naive.ax,
    literature.ax and naive.c."""

    name: str
    title: str
    folder: Path

    @property
    def problems(self) -> Path:
        return self.folder / "problems.yaml"

    @property
    def naive_ax(self) -> Path:
        return self.folder / "naive.ax"

    @property
    def literature_ax(self) -> Path:
        return self.folder / "literature.ax"

    @property
    def naive_c(self) -> Path:
        return self.folder / "naive.c"


CLASSIC = Suite("classic", "Classic problems (Hacker's Delight; PLDI'11 P1-P25)", BITS)
UNSEEN = Suite("unseen", "Problems the classic suite does not contain, in other words", BITS / "unseen")
SUITES = {s.name: s for s in (CLASSIC, UNSEEN)}
PROBLEMS = CLASSIC.problems
NAIVE_AX = CLASSIC.naive_ax
LITERATURE_AX = CLASSIC.literature_ax
NAIVE_C = CLASSIC.naive_c

INT_TYPES = ("u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64")
MAX_PARAMS = 4
# The element-wise loops' own names (driver_source), so no parameter may take them.
_LOOP_NAMES = ("n", "i", "out")
# Rows repaired by Z3 to fill the inputs that miss a precondition (make_inputs):
# enough that the timed loop does not see one short pattern repeat.
REPAIRED_ROWS = 256
_C = {
    "u8": "uint8_t",
    "u16": "uint16_t",
    "u32": "uint32_t",
    "u64": "uint64_t",
    "i8": "int8_t",
    "i16": "int16_t",
    "i32": "int32_t",
    "i64": "int64_t",
    "bool": "uint8_t",
}  # Atlas stores a bool array as bytes 0/1
_NP = {
    "u8": np.uint8,
    "u16": np.uint16,
    "u32": np.uint32,
    "u64": np.uint64,
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
    "bool": np.uint8,
}


class ProblemsError(BenchError):
    """problems.yaml (or the intents it names) is not usable; the message says where and why."""


# ------------------------------------------------------------------ the problems


@dataclass(frozen=True)
class Problem:
    name: str
    function: str  # the naive specification, in naive.ax and naive.c
    literature: str  # the known program, in literature.ax
    known_length: int  # operations in the literature program
    source: str
    doc: str
    primitive: Optional[str] = None  # a shorter program with primitives (an expression over the parameters)
    primitive_length: Optional[int] = None
    # why Z3 does not decide the naive form equal to the literature's (then
    # the two are compared on test inputs only); None: it is proven
    undecided: Optional[str] = None
    # From the signature in naive.ax (filled by load_problems):
    params: tuple[str, ...] = ()  # the naive function's parameter names, 1 to MAX_PARAMS
    ty: str = ""  # the type of every parameter
    ret: str = ""  # the result type: ty or bool
    requires: str = ""  # the precondition as written back (ir.pretty_expr); "" for none
    pre: Optional[Term] = field(default=None, compare=False, repr=False)  # the same, as a term

    @property
    def arity(self) -> int:
        return len(self.params)


_REQUIRED = {"name": str, "function": str, "literature": str, "known_length": int, "source": str, "doc": str}
_OPTIONAL = {"primitive": str, "primitive_length": int, "undecided": str}


def load_problems(path=PROBLEMS, naive=None, literature=None) -> list[Problem]:
    """The problems of `path`, each with its signature read from the naive
    and literature intents (by default naive.ax and literature.ax beside
    the file).  Every fault is a ProblemsError naming the file and entry."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ProblemsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ProblemsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, list) or not data:
        raise ProblemsError(f"{path}: expected a non-empty list of problems, got {type(data).__name__}")
    raw, seen = [], set()
    for k, entry in enumerate(data):
        where = f"{path}: entry {k + 1}"
        if not isinstance(entry, dict):
            raise ProblemsError(f"{where}: expected a mapping of {', '.join(_REQUIRED)}")
        if isinstance(entry.get("name"), str):
            where += f" ({entry['name']})"
        unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
        if unknown:
            raise ProblemsError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
        for key, kind in {**_REQUIRED, **_OPTIONAL}.items():
            if key not in entry:
                if key in _REQUIRED:
                    raise ProblemsError(f"{where}: missing field '{key}'")
                continue
            v = entry[key]
            if not isinstance(v, kind) or isinstance(v, bool) or (isinstance(v, str) and not v.strip()):
                raise ProblemsError(
                    f"{where}: '{key}' must be a{' non-empty string' if kind is str else 'n integer'}, got {v!r}"
                )
        for key in ("known_length", "primitive_length"):
            if key in entry and entry[key] < 1:
                raise ProblemsError(f"{where}: '{key}' must be at least 1, got {entry[key]}")
        if ("primitive" in entry) != ("primitive_length" in entry):
            raise ProblemsError(f"{where}: 'primitive' and 'primitive_length' come together")
        if entry["name"] in seen:
            raise ProblemsError(f"{where}: the name {entry['name']} is used twice")
        seen.add(entry["name"])
        raw.append((where, entry))
    module = _module(
        Path(naive) if naive else path.parent / "naive.ax",
        Path(literature) if literature else path.parent / "literature.ax",
    )
    return [_with_signature(where, Problem(**entry), module) for where, entry in raw]


def _module(*paths):
    from ..front.check import check
    from ..front.diagnostics import AtlasError
    from ..pipeline import read_sources

    try:
        return check(*read_sources(paths))
    except AtlasError as exc:
        raise ProblemsError(f"the problems' intents do not check: {exc}") from None


def _with_signature(where: str, p: Problem, module) -> Problem:
    from ..logic import requires
    from ..meaning import ir

    names = {f.name: f for f in module.functions}
    for role in ("function", "literature"):
        if getattr(p, role) not in names:
            raise ProblemsError(f"{where}: no function {getattr(p, role)} ({role}) in the intents")
    fn, lit = names[p.function], names[p.literature]
    if not 1 <= len(fn.params) <= MAX_PARAMS or not all(isinstance(q.ty, ir.Scalar) for q in fn.params):
        raise ProblemsError(f"{where}: {fn.signature}: a problem takes one to {MAX_PARAMS} scalars")
    clash = [q.name for q in fn.params if q.name in _LOOP_NAMES]
    if clash:
        raise ProblemsError(
            f"{where}: {fn.signature}: parameter {clash[0]} takes a name of the element-wise loop "
            f"({', '.join(_LOOP_NAMES)})"
        )
    ty = fn.params[0].ty.name
    if ty not in INT_TYPES or any(q.ty.name != ty for q in fn.params):
        raise ProblemsError(f"{where}: {fn.signature}: the parameters must share one integer type")
    if fn.ret is None or fn.ret.name not in (ty, "bool"):
        raise ProblemsError(f"{where}: {fn.signature}: the result must be {ty} or bool")
    # names too: the precondition, repeated, must speak of the same parameters
    want = [(q.name, q.ty) for q in fn.params], fn.ret
    if ([(q.name, q.ty) for q in lit.params], lit.ret) != want:
        raise ProblemsError(f"{where}: {lit.signature} does not have the signature of {fn.signature}")
    pre = "" if fn.requires is None else ir.pretty_expr(fn.requires)
    lit_pre = "" if lit.requires is None else ir.pretty_expr(lit.requires)
    if lit_pre != pre:
        raise ProblemsError(
            f"{where}: {lit.name} requires `{lit_pre or 'nothing'}`, but {fn.name} requires `{pre or 'nothing'}`"
        )
    return Problem(
        **{
            **p.__dict__,
            "params": tuple(q.name for q in fn.params),
            "ty": ty,
            "ret": fn.ret.name,
            "requires": pre,
            "pre": requires.term(fn),
        }
    )


# ------------------------------------------------------------------ building


def _map(name: str, fn: str, p: Problem) -> str:
    args = ", ".join(f"{a}[i]" for a in p.params)
    arrays = "".join(f"{a}: [{p.ty}; n], " for a in p.params)
    return (
        f"fn {name}(n: u64, {arrays}out: mut [{p.ret}; n]) {{\n"
        f"    for i in 0..n {{\n"
        f"        out[i] = {fn}({args});\n"
        f"    }}\n"
        f"}}\n"
    )


def driver_source(problems, prefix: str = "map_") -> str:
    """Intent text of the element-wise loops: `<prefix><function>` over the
    naive specification and `<prefix><literature>` over the literature
    program, each `(n: u64, x: [T; n], ..., out: mut [R; n])` with one array
    per parameter, named as it.  Compiled together with naive.ax and
    literature.ax."""
    out = ["// Generated by atlas.tools.bitbench.driver_source: one element-wise loop per function.", ""]
    for p in problems:
        out.append(_map(prefix + p.function, p.function, p))
        out.append(_map(prefix + p.literature, p.literature, p))
    return "\n".join(out)


def write_driver(problems, workdir) -> Path:
    """The driver's intent file (driver_source) in `workdir`."""
    driver = Path(workdir) / "bits_driver.ax"
    driver.parent.mkdir(parents=True, exist_ok=True)
    driver.write_text(driver_source(problems))
    return driver


def compile_atlas(
    problems, probe: Probe, out, *, workdir=None, naive=NAIVE_AX, literature=LITERATURE_AX, driver=None, **options
):
    """Compile naive.ax, literature.ax and the driver (`driver`, a file
    write_driver made for `problems`, else written now) into the artefact
    folder `out` (options go to atlas.pipeline.compile_files); the Compiled
    result."""
    from ..pipeline import compile_files

    with tempfile.TemporaryDirectory(prefix="atlas-bits-") as tmp:
        driver = driver or write_driver(problems, workdir or tmp)
        return compile_files([naive, literature, driver], probe, out, **options)


def build_c(workdir, source=NAIVE_C) -> Path:
    """naive.c built as README.md prescribes for the reference C (gcc -O3
    -march=native), with intents/bits on the include path for maps.h."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    return build_shared(Path(source), workdir / "bits_naive_c.so", [*C_FLAGS, f"-I{BITS}"])


# ------------------------------------------------------------------ measuring


@dataclass
class Row:
    problem: str
    known_length: int
    source: str
    n: int = 0
    suite: str = ""  # the Suite's name (filled by run)
    ok: bool = False  # the three outputs matched
    detail: str = ""  # why not
    gcc_ns: float | None = None  # medians, ns per element
    atlas_ns: float | None = None  # the naive specification as Atlas compiled it
    literature_ns: float | None = None  # the literature program as Atlas compiled it
    gcc_over_atlas: float | None = None  # medians of side-by-side sample ratios
    literature_over_atlas: float | None = None
    reps: int = 0
    samples: dict = field(default_factory=dict)  # label -> every sample, ns per call
    # Filled by the caller, which runs the search:
    found_program: Optional[str] = None
    found_length: Optional[int] = None
    shorter_program: Optional[str] = None  # proven, shorter than found_program, dearer on this machine
    shorter_length: Optional[int] = None
    search_s: Optional[float] = None
    proven: Optional[bool] = None
    rules_length: Optional[int] = None  # operations of the atlas's form from the shipped rules alone
    status: str = ""  # the search's word: learned, known, no gain, not found
    enumerated: tuple[int, float] | None = None  # (programs run on every test vector, seconds)
    proposed: tuple[int, float] | None = None  # the chain's (proposals, seconds), where it ran
    shortest: bool = False  # the enumeration saw every shorter program over its operators but division: none equal


def _kernel(p: Problem) -> Kernel:
    """The shape of the map loops of p, as atlas.tools.bench's shim knows
    kernels: one per type, result type and arity (the shim's C names its
    arguments by position, so problems of one shape share it)."""
    t, r = _C[p.ty], _C[p.ret]
    return Kernel(
        f"bits_{p.ty}_{p.ret}_{p.arity}",
        None,
        (("n", "uint64_t"), *((f"in{j}", f"const {t} *") for j in range(p.arity)), ("out", f"{r} *")),
        (),
        lambda rng, n: {},
    )


def make_inputs(p: Problem, n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """One array per parameter: n values uniform over p's parameter type,
    seeded by (problem, n, seed), 64-byte aligned.  Under a precondition,
    each element that misses it is replaced by a row of a pool Z3 repaired
    (REPAIRED_ROWS of them, from the first draws that miss), picked at
    random, so every element meets it."""
    rng = np.random.default_rng(zlib.crc32(f"{p.name}:{n}:{seed}".encode()))
    dt = np.dtype(_NP[p.ty])
    # row j is what a problem of fewer parameters draws for its j-th: the
    # same stream, so a problem keeps its inputs whatever it is given later
    bits = rng.integers(0, 1 << 64, (p.arity, n), dtype=np.uint64, endpoint=False)
    if p.pre is not None:
        _meet(p, bits, rng)
    return tuple(aligned(b.astype(np.dtype(f"u{dt.itemsize}")).view(dt)) for b in bits)


def _meet(p: Problem, bits: np.ndarray, rng) -> None:
    """Make every column of `bits` (one row per parameter, full 64-bit
    draws) meet p's precondition, in place."""
    from ..meaning import ir
    from ..logic.stochastic import misses, repairs

    assert p.pre is not None
    ty = ir.SCALARS[p.ty]
    bits &= np.uint64(ty.mask)  # the values as run_term reads them: bit patterns of the type
    cols = dict(zip(p.params, bits))
    missing = misses(p.pre, cols)
    if not missing.size:
        return
    # the pool's own generator, seeded from the inputs' stream: the pool
    # depends on the problem, n and seed alone
    pool_rng = np.random.default_rng(int(rng.integers(0, 1 << 63)))
    met = repairs(p.pre, dict.fromkeys(p.params, ty), cols, missing[:REPAIRED_ROWS].tolist(), pool_rng)
    if met is None:
        raise ProblemsError(f"{p.name}: Z3 finds no input that meets its precondition `{p.requires}`")
    pool = np.array([[int(row[q]) & ty.mask for q in p.params] for row in met], dtype=np.uint64).T
    bits[:, missing] = pool[:, rng.integers(0, len(met), missing.size)]


def _symbol(manifest: Manifest, name: str, where: Path) -> str:
    entry = manifest.functions.get(name)
    if entry is None:
        raise BenchError(f"{where}: the artefact has no function {name} (compile the driver with it)")
    return entry.symbol


def _address(lib: ctypes.CDLL, symbol: str, where) -> int:
    try:
        at = ctypes.cast(getattr(lib, symbol), ctypes.c_void_p).value
    except AttributeError:
        raise BenchError(f"{where} exports no {symbol}") from None
    if at is None:  # a symbol the library exports is never at address 0
        raise BenchError(f"{where}: {symbol} is at address 0")
    return at


def measure(
    problems,
    c_lib_path,
    atlas_artefact_dir,
    *,
    n: int = 1 << 16,
    samples: int = 11,
    target_s: float = 0.005,
    seed: int = 0,
    prefix: str = "map_",
    workdir=None,
    log: Callable[[str], None] = lambda s: None,
) -> list[Row]:
    """Check and time each problem's three loops (see the module's doc); one Row each."""
    artefact = Path(atlas_artefact_dir)
    try:
        manifest = Manifest.read(artefact)
    except (OSError, ValueError) as exc:
        raise BenchError(f"{artefact}: not an Atlas artefact: {exc}") from None
    if manifest.library is None:
        raise BenchError(f"{artefact}: not a CPU artefact (backend {manifest.backend!r})")
    atlas_lib = ctypes.CDLL(str((artefact / manifest.library).resolve()))
    c_lib = ctypes.CDLL(str(Path(c_lib_path).resolve()))
    kernels = {k.name: k for k in map(_kernel, problems)}
    rows = []
    with tempfile.TemporaryDirectory(prefix="atlas-bits-") as tmp:
        shim = Shim(list(kernels.values()), Path(workdir or tmp))
        with pinned():
            for p in problems:
                k = kernels[_kernel(p).name]
                fns = {
                    "gcc": _address(c_lib, prefix + p.function, c_lib_path),
                    "atlas": _address(atlas_lib, _symbol(manifest, prefix + p.function, artefact), artefact),
                    "literature": _address(atlas_lib, _symbol(manifest, prefix + p.literature, artefact), artefact),
                }
                log(f"timing {p.name} n={n}")
                rows.append(_measure_one(p, k, shim, fns, n, samples, target_s, seed))
    return rows


def _measure_one(p: Problem, k: Kernel, shim: Shim, fns: dict, n: int, samples: int, target_s: float, seed: int) -> Row:
    row = Row(p.name, p.known_length, p.source, n)
    ins = make_inputs(p, n, seed)
    outs = {}
    for label, fn in fns.items():
        out = aligned(np.zeros(n, _NP[p.ret]))
        shim.call_once(k, fn, [n, *ins, out])
        outs[label] = out
    for label in ("atlas", "literature"):
        differ = np.flatnonzero(outs["gcc"] != outs[label])
        if differ.size:
            i = int(differ[0])
            args = ", ".join(f"{a} = {v[i]}" for a, v in zip(p.params, ins))
            row.detail = (
                f"{label} differs from gcc at {args}: gcc {outs['gcc'][i]}, {label} {outs[label][i]} "
                f"({differ.size} of {n} elements differ)"
            )
            return row  # a wrong answer gets no time
    row.ok = True
    out = aligned(np.zeros(n, _NP[p.ret]))
    calls = {label: shim.caller(k, fn, [n, *ins, out]) for label, fn in fns.items()}
    per = {label: per_call_ns(call) for label, call in calls.items()}
    row.reps = max(1, round(target_s * 1e9 / max(per.values())))
    row.samples = sample(calls, dict.fromkeys(calls, row.reps), samples)
    med = {label: statistics.median(s) / n for label, s in row.samples.items()}
    row.gcc_ns, row.atlas_ns, row.literature_ns = med["gcc"], med["atlas"], med["literature"]
    a = row.samples["atlas"]
    row.gcc_over_atlas = statistics.median(g / t for g, t in zip(row.samples["gcc"], a))
    row.literature_over_atlas = statistics.median(lt / t for lt, t in zip(row.samples["literature"], a))
    return row


# ------------------------------------------------------------------ output


def _cell(text) -> str:
    return "" if text is None else str(text).replace("|", "\\|").replace("\n", " ")


def _ns(v: float | None) -> str:
    return "" if v is None else f"{v:.3g}"


def _x(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def render(rows) -> str:
    """The rows as a markdown table."""
    lines = [
        "| problem | found program | length | shortest | known | rules alone | source | gcc naive ns/elt | "
        "Atlas ns/elt | gcc/Atlas | literature/Atlas | search s |",
        "|---|---|--:|---|--:|--:|---|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        found = f"`{_cell(r.found_program)}`" if r.found_program else ""
        if r.status and r.status != "learned":
            found = f"{found} ({r.status})" if found else f"({r.status})"
        if found and r.proven is False:
            found += " (unproven)"
        if r.shorter_program:
            found += f"; shorter, dearer here: `{_cell(r.shorter_program)}`"
        if not r.ok:
            found = (found + " " if found else "") + f"**MISMATCH**: {_cell(r.detail)}"
        length = "" if r.found_length is None else str(r.found_length)
        if r.shorter_length is not None:
            length = f"{length or '-'}; {r.shorter_length}"
        lines.append(
            f"| {r.problem} | {found} | {length} | "
            f"{'proven' if r.shortest else ''} | "
            f"{r.known_length} | {'' if r.rules_length is None else r.rules_length} | "
            f"{_cell(r.source)} | {_ns(r.gcc_ns)} | {_ns(r.atlas_ns)} | "
            f"{_x(r.gcc_over_atlas)} | {_x(r.literature_over_atlas)} | "
            f"{'' if r.search_s is None else f'{r.search_s:.1f}'} |"
        )
    return "\n".join(lines)


def rates(rows) -> str:
    """Each search's rate over the rows that ran it: the enumeration's
    programs run on every test vector (kept or not) and the chain's
    proposals, per second of its own time."""
    out = []
    for label, what, pick in (
        ("enumeration", "programs run on every test vector", lambda r: r.enumerated),
        ("stochastic chain", "proposals", lambda r: r.proposed),
    ):
        done = [pick(r) for r in rows if pick(r)]
        n, sec = sum(c for c, _ in done), sum(t for _, t in done)
        if done and sec > 0:
            out.append(f"- {label}: {n:,} {what} in {sec:.1f} s over {len(done)} problems: {n / sec:,.0f} per second")
    return "\n".join(out)


# ------------------------------------------------------------------ the whole benchmark


def run(
    probe: Probe,
    *,
    budget_s: float = 60.0,
    seed: int = 0,
    only=(),
    learned_path=None,
    n: int = 1 << 16,
    samples: int = 11,
    log: Callable[[str], None] = lambda s: None,
    costs=None,
    suite: Suite = CLASSIC,
) -> list[Row]:
    """Search every problem's naive specification (atlas superopt), compile
    the suite's naive.ax with what was learned, and time it against gcc on
    the same naive C and against the literature's program.  Learned rules
    go to `learned_path` (default: a new file, so every problem is searched)."""
    from ..superopt import discover
    from ..superopt.discover import Found
    from ..logic import learned

    problems = load_problems(suite.problems)
    if only:
        unknown = sorted(set(only) - {p.name for p in problems})
        if unknown:
            raise ProblemsError(f"no such problem: {', '.join(unknown)} (see {suite.problems})")
        problems = [p for p in problems if p.name in only]
    with tempfile.TemporaryDirectory(prefix="atlas-bits-") as tmp_name:
        tmp = Path(tmp_name)
        path = Path(learned_path) if learned_path else tmp / "learned-rules.yaml"
        # searched beside the loops that call them, so each is priced where it runs
        # (atlas/logic/costs.py: a map's iterations overlap)
        driver = write_driver(problems, tmp)
        found = discover.run(
            [suite.naive_ax, suite.literature_ax, driver],
            probe,
            budget_s=budget_s,
            seed=seed,
            learned_path=path,
            only=[p.function for p in problems],
            costs=costs,
            progress=log,
        )
        by_fn = {d.function: d for d in found}
        log("compiling the naive specifications with the learned rules")
        compiled = compile_atlas(
            problems,
            probe,
            tmp / "atlas",
            naive=suite.naive_ax,
            literature=suite.literature_ax,
            driver=driver,
            learned=[path] if path.exists() else [],
        )
        c_lib = build_c(tmp / "c", suite.naive_c)
        rows = measure(problems, c_lib, compiled.out, n=n, samples=samples, workdir=tmp, log=log)
        rules = {r["name"]: r for r in learned.read(path)}
        for p, row in zip(problems, rows):
            row.suite = suite.name
            d = by_fn.get(p.function)
            if d is None:
                row.status = "not searched"
                continue
            row.status, row.rules_length, row.search_s = d.status.value, d.source_length, round(d.seconds, 1)
            row.enumerated, row.proposed = d.enumerated, d.proposed
            row.shorter_program, row.shorter_length = d.shorter or None, d.shorter_length
            if d.status in (Found.LEARNED, Found.RULES_SUFFICE):
                row.found_program, row.found_length, row.proven = d.found, d.found_length, True
                row.shortest = bool(d.result and d.result.shortest)
            elif d.status is Found.KNOWN and d.rule in rules:
                row.found_program, row.proven = rules[d.rule]["rhs"], True
                row.found_length = (rules[d.rule].get("provenance") or {}).get("length_after")
    return rows
