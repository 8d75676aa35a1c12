"""The interface every backend implements, and the registry that finds them.

Backends are found through the `atlas.backends` entry-point group, the same
way a third party's package would plug in; the built-in ones are registered
there by Atlas's own pyproject.toml.  A plugin that fails to load is reported
as a warning, never a crash.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from ..meaning import ir
from ..meaning.ir import Module
from .probe import Probe

GROUP = "atlas.backends"


@dataclass
class Emitted:
    """What a backend produced in the output folder."""

    files: list[str]  # names relative to the folder
    manifest: dict  # the backend's part of manifest.json; its
    # "functions" maps each name to at least
    # {"signature": Function.signature}
    dumps: dict[str, str] = field(default_factory=dict)  # stage name -> text (llvm, asm, ...)


@dataclass(frozen=True)
class Realisation:
    """How a backend realises one function: the search's knobs below the
    level of proven terms.  They change how the code runs, never what it
    computes.  0 leaves the choice to the backend."""

    vector_width: int = 0  # elements per vector in innermost loops; 1: do not vectorise
    interleave: int = 0  # vector iterations in flight (independent accumulators)
    unroll: int = 0  # 1: do not unroll
    prefer_width_bits: int = 0  # widest vector registers the code generator should prefer

    def as_dict(self) -> dict:
        return {
            "vector_width": self.vector_width,
            "interleave": self.interleave,
            "unroll": self.unroll,
            "prefer_width_bits": self.prefer_width_bits,
        }


class Backend(ABC):
    """Turns a specialised module into artefacts for one machine."""

    name: str = ""
    description: str = ""
    dump_stages: tuple[str, ...] = ()  # the stages this backend can print with --dump
    # Rule files or folders this backend layers over the shared rules of
    # primitives/rules/ (forms that pay off only on its targets).  They are
    # proven like every rule before they are used.
    rule_paths: tuple = ()
    # The search can time this backend's artefacts here, in the worker (a CPU
    # library that atlas.machine.runtime loads).  Others are measured where they run.
    searchable: bool = False

    def accepts(self, probe: Probe) -> str | None:
        """None when this backend can target the probed machine, else why not."""
        return None

    @abstractmethod
    def emit(
        self, module: Module, probe: Probe, outdir: Path, realise: "dict[str, Realisation] | None" = None
    ) -> Emitted:
        """Write the artefacts for `module` into `outdir` (an empty folder).
        `realise` maps function names to the search's knobs for them; a
        backend ignores knobs it has no use for."""


def describe(f: ir.Function) -> dict:
    """A function's entry in a manifest, for every backend: the signature in
    intent syntax (for people), the parameters as data (what signature_of
    reads back to check each call: each array's length an expression in
    ir.length_to_json's form), the result type, whether the function is
    `reassoc`, the exported symbol, and its precondition, if any (in
    ir.scalar_to_json's form, which each call is checked against, and as
    text)."""
    params = []
    for p in f.params:
        if isinstance(p.ty, ir.Array):
            params.append(
                {
                    "name": p.name,
                    "elem": p.ty.elem.name,
                    "length": ir.length_to_json(p.ty.length),
                    "mutable": p.ty.mutable,
                }
            )
        else:
            params.append({"name": p.name, "type": p.ty.name})
    return {
        "signature": f.signature,
        "params": params,
        "ret": f.ret.name if f.ret else None,
        "reassoc": f.reassoc,
        "symbol": f.name,
        **(
            {"requires": ir.scalar_to_json(f.requires), "requires_text": ir.pretty_expr(f.requires)}
            if f.requires
            else {}
        ),
    }


def signature_of(name: str, entry: dict) -> ir.Function:
    """The function (without a body) that a manifest entry written by
    describe() declares: what the runtime and the GPU host check each call
    against.  ValueError when the entry is not describe()'s."""

    def scalar(type_name, where):
        t = ir.SCALARS.get(type_name) if isinstance(type_name, str) else None
        if t is None:
            raise ValueError(f"{name}: {where} has no scalar type ({type_name!r})")
        return t

    params = entry.get("params") if isinstance(entry, dict) else None
    if not isinstance(params, list):
        raise ValueError(f"{name}: the entry lists no parameters")
    out = []
    for p in params:
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise ValueError(f"{name}: a parameter without a name ({p!r})")
        if "elem" in p:
            ty = ir.Array(scalar(p["elem"], p["name"]), ir.length_from_json(p.get("length")), bool(p.get("mutable")))
        else:
            ty = scalar(p.get("type"), p["name"])
        out.append(ir.Param(p["name"], ty))
    ret = entry.get("ret")
    requires = None if entry.get("requires") is None else _precondition(name, entry["requires"])
    return ir.Function(
        name,
        tuple(out),
        None if ret is None else scalar(ret, "the result"),
        (),
        reassoc=bool(entry.get("reassoc")),
        requires=requires,
    )


def _precondition(name: str, data) -> ir.Expr:
    """A manifest's precondition read back: a bool over the parameters,
    every primitive one the interpreter knows.  ValueError otherwise."""
    from ..meaning.semantics import PRIMITIVES

    e = ir.scalar_from_json(data)
    unknown = sorted({x.name for x in ir.walk(e) if isinstance(x, ir.Prim) and x.name not in PRIMITIVES})
    if e.ty != ir.BOOL or unknown:
        raise ValueError(f"{name}: the precondition is not a bool over the parameters ({data!r})")
    return e


class BackendError(Exception):
    """A backend refused or failed; the message is for the user."""


DEFAULT = "x86_64"  # the backend of files that define functions


def available() -> dict[str, type[Backend]]:
    """name -> backend class, for every plugin that loads."""
    found: dict[str, type[Backend]] = {}
    for ep in entry_points(group=GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not take the compiler down
            warnings.warn(
                f"backend plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}", stacklevel=2
            )
            continue
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            warnings.warn(
                f"backend plugin {ep.name!r} ({ep.value}) is not a subclass of atlas.machine.backend.Backend; ignored",
                stacklevel=2,
            )
            continue
        if ep.name in found:
            warnings.warn(f"two backend plugins are named {ep.name!r}; {ep.value} is ignored", stacklevel=2)
            continue
        found[ep.name] = cls
    return found


def origin(cls: type[Backend]) -> str:
    """Where a backend comes from: its distribution and version, for people."""
    for ep in entry_points(group=GROUP):
        if ep.value.split(":")[0] == cls.__module__ and ep.dist is not None:
            return f"{ep.dist.name} {ep.dist.version}"
    return cls.__module__


def get(name: str, **options) -> Backend:
    """The backend called `name`, made with its own `options`."""
    backends = available()
    if name not in backends:
        known = ", ".join(sorted(backends)) or "none"
        raise BackendError(f"no backend named {name!r} is installed (installed: {known})")
    try:
        return backends[name](**options)
    except TypeError:
        raise BackendError(f"backend {name!r} takes no options {', '.join(sorted(options))}") from None
