"""Load a compiled artefact folder and call its functions from Python.

    lib = atlas.runtime.load("out/")
    lib.saxpy(n, a, x, y)          # x, y numpy arrays; y is written in place

Every call is checked before it reaches machine code: the argument count,
each scalar fits its declared type, each array has exactly the declared
dtype and length (the length expression computed with exact integers), is
C-contiguous, aligned and, when written, writeable, and no two arrays share
memory.  Compiled code relies on all of this (it marks arrays `noalias`).
"""
from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np

from . import ir
from . import semantics as sem
from .semantics import PyDomain

_D = PyDomain()

_CTYPES = {"i8": ctypes.c_int8, "i16": ctypes.c_int16, "i32": ctypes.c_int32, "i64": ctypes.c_int64,
           "u8": ctypes.c_uint8, "u16": ctypes.c_uint16, "u32": ctypes.c_uint32, "u64": ctypes.c_uint64,
           "f32": ctypes.c_float, "f64": ctypes.c_double, "bool": ctypes.c_bool}
_DTYPES = {"i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
           "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64,
           "f32": np.float32, "f64": np.float64, "bool": np.bool_}


class CpuMismatch(RuntimeError):
    """The artefact needs CPU features this machine lacks."""


# ---------------------------------------------------------------- length expressions as JSON

def encode_length(e: ir.Expr) -> list:
    """An array length expression as nested lists (JSON), e.g.
    ["binary", "add", ["var", "n", "u64"], ["const", 1, "u64"], "u64"]."""
    if isinstance(e, ir.Const):
        return ["const", int(e.value), e.ty.name]
    if isinstance(e, ir.Var):
        return ["var", e.name, e.ty.name]
    if isinstance(e, ir.Cast):
        return ["cast", encode_length(e.a), e.ty.name]
    if isinstance(e, ir.Unary):
        return ["unary", e.op, encode_length(e.a), e.ty.name]
    if isinstance(e, ir.Binary):
        return ["binary", e.op, encode_length(e.a), encode_length(e.b), e.ty.name]
    raise ValueError(f"not an array length expression: {ir.pretty_expr(e)}")


def decode_length(j) -> ir.Expr:
    kind, t = j[0], ir.SCALARS[j[-1]]
    if kind == "const":
        return ir.Const(j[1], t)
    if kind == "var":
        return ir.Var(j[1], t)
    if kind == "cast":
        return ir.Cast(decode_length(j[1]), t)
    if kind == "unary":
        return ir.Unary(j[1], decode_length(j[2]), t)
    if kind == "binary":
        return ir.Binary(j[1], decode_length(j[2]), decode_length(j[3]), t)
    raise ValueError(f"bad length expression in the manifest: {j!r}")


def _wrapped(e: ir.Expr, env: dict) -> int:
    """The length as compiled code computes it: in its declared types (bit pattern)."""
    if isinstance(e, ir.Const):
        return e.value
    if isinstance(e, ir.Var):
        return env[e.name]
    if isinstance(e, ir.Cast):
        return sem.cast(_D, e.a.ty, e.ty, _wrapped(e.a, env))
    if isinstance(e, ir.Unary):
        a = _wrapped(e.a, env)
        return sem.neg(_D, e.ty, a) if e.op == "neg" else sem.bitnot(_D, e.ty, a)
    a, b = _wrapped(e.a, env), _wrapped(e.b, env)
    if e.op == "shl":
        return sem.shl(_D, e.ty, e.b.ty, a, b)
    if e.op == "shr":
        return sem.shr(_D, e.ty, e.b.ty, a, b)
    return sem.BINARY[e.op](_D, e.ty, a, b)


def _natural(t: ir.Scalar, v: int) -> int:
    return v - (1 << t.bits) if t.signed and v >> (t.bits - 1) else v


def declared_length(e: ir.Expr, bits: dict, natural: dict) -> int:
    """The exact length (the interpreter's rule); refused when compiled code,
    which computes it in the declared types, would see another value."""
    from .interp import exact_length
    exact = exact_length(e, natural)
    if exact != _natural(e.ty, _wrapped(e, bits)):
        raise ValueError(f"the length {ir.pretty_expr(e)} overflows its type {e.ty} for these arguments")
    return exact


# ---------------------------------------------------------------- the CPU check

def host_cpu_flags() -> set[str] | None:
    """The flags of /proc/cpuinfo, or None where there is none to read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return None


def _check_cpu(manifest: dict, where: Path) -> None:
    need = manifest.get("cpu_flags")
    if need is None:                     # an older manifest: the probe's ISA flags
        need = (manifest.get("probe") or {}).get("features")
    if not need:
        return
    have = host_cpu_flags()
    if have is None:
        return
    missing = sorted(set(need) - have)
    if missing:
        raise CpuMismatch(f"{where} was compiled for a CPU with {', '.join(missing)}, which this "
                          "machine lacks; running it could crash with an illegal instruction. "
                          "Recompile for this machine (or load with check_cpu=False).")


# ---------------------------------------------------------------- calling

def _scalar(fname: str, pname: str, tname: str, v):
    t = ir.SCALARS[tname]
    if t.is_bool:
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"{fname}: {pname} must be a bool, got {type(v).__name__}")
        return bool(v)
    if t.is_float:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"{fname}: {pname} must be a number ({tname}), got {type(v).__name__}")
        return float(v)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{fname}: {pname} must be an integer ({tname}), got {type(v).__name__}")
    v = int(v)
    lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, t.mask)
    if not lo <= v <= hi:
        raise ValueError(f"{fname}: {pname} = {v} does not fit in {tname} ({lo} to {hi})")
    return v


class Function:
    """One compiled function, called with Python/numpy values."""

    def __init__(self, name: str, spec: dict, cfunc):
        self.name, self.spec = name, spec
        self.params = spec["params"]
        self.lengths = {k: decode_length(v) for k, v in spec.get("length_exprs", {}).items()}
        cfunc.argtypes = [ctypes.c_void_p if "elem" in p else _CTYPES[p["type"]] for p in self.params]
        cfunc.restype = _CTYPES[spec["ret"]] if spec.get("ret") else None
        self._c = cfunc
        self.__name__ = name
        sig = ", ".join(f"{p['name']}: " + (f"{'mut ' if p['mutable'] else ''}[{p['elem']}; {p['length']}]"
                                              if "elem" in p else p["type"]) for p in self.params)
        self.__doc__ = f"fn {name}({sig})" + (f" -> {spec['ret']}" if spec.get("ret") else "")

    def __repr__(self) -> str:
        return f"<compiled {self.__doc__}>"

    def __call__(self, *args):
        name = self.name
        if len(args) != len(self.params):
            raise TypeError(f"{name} takes {len(self.params)} argument(s), got {len(args)}")
        cargs: list = [None] * len(args)
        bits, natural = {}, {}
        for i, (p, a) in enumerate(zip(self.params, args)):
            if "elem" not in p:
                v = _scalar(name, p["name"], p["type"], a)
                cargs[i] = v
                t = ir.SCALARS[p["type"]]
                if t.is_int:
                    natural[p["name"]], bits[p["name"]] = v, v & t.mask
        seen: list[tuple[str, np.ndarray]] = []
        for i, (p, a) in enumerate(zip(self.params, args)):
            if "elem" not in p:
                continue
            pn, want = p["name"], np.dtype(_DTYPES[p["elem"]])
            if not isinstance(a, np.ndarray):
                raise ValueError(f"{name}: {pn} must be a numpy array of {want}, got {type(a).__name__}")
            if a.dtype != want:
                raise ValueError(f"{name}: {pn} must have dtype {want}, got {a.dtype}")
            if a.ndim != 1:
                raise ValueError(f"{name}: {pn} must be 1-D, got {a.ndim} dimensions")
            if not a.flags.c_contiguous or not a.flags.aligned:
                raise ValueError(f"{name}: {pn} must be contiguous and aligned "
                                 "(pass np.ascontiguousarray(...))")
            n = declared_length(self.lengths[pn], bits, natural)
            if a.size != n:
                raise ValueError(f"{name}: {pn} has {a.size} elements, its declared length {p['length']} is {n}")
            if p["mutable"] and not a.flags.writeable:
                raise ValueError(f"{name}: {pn} is written, but the array is read-only")
            for other, b in seen:
                # both are contiguous, so overlapping bounds means shared bytes
                if np.may_share_memory(a, b):
                    raise ValueError(f"{name}: {pn} and {other} share memory; arrays must not overlap")
            seen.append((pn, a))
            cargs[i] = a.ctypes.data
        r = self._c(*cargs)
        if self.spec.get("ret") is None:
            return None
        return r if isinstance(r, (int, float, bool)) else r.value


class Library:
    """A loaded artefact: each function is an attribute."""

    def __init__(self, path: Path, manifest: dict, dll: ctypes.CDLL):
        self.path, self.manifest, self._dll = path, manifest, dll
        self._functions = {name: Function(name, spec, getattr(dll, spec.get("symbol", name)))
                           for name, spec in manifest["functions"].items()}

    @property
    def functions(self) -> list[str]:
        return list(self._functions)

    def __getattr__(self, name: str) -> Function:
        fns = self.__dict__.get("_functions", {})
        if name in fns:
            return fns[name]
        raise AttributeError(f"{self.path} has no function {name!r} (it has: {', '.join(fns) or 'none'})")

    def __getitem__(self, name: str) -> Function:
        """lib["f"]: also for a function named like an attribute (path, manifest)."""
        if name not in self._functions:
            raise KeyError(f"{self.path} has no function {name!r}")
        return self._functions[name]

    def __dir__(self):
        return [*super().__dir__(), *self._functions]

    def __repr__(self) -> str:
        return f"<atlas library {self.path}: {', '.join(self._functions)}>"


def load(path, check_cpu: bool = True) -> Library:
    """Load the artefact folder `path` (its manifest.json and shared library)."""
    path = Path(path)
    mpath = path / "manifest.json"
    try:
        manifest = json.loads(mpath.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is not a compiled artefact: {mpath} is missing") from None
    if "library" not in manifest or "functions" not in manifest:
        raise ValueError(f"{mpath} names no library to load (backend {manifest.get('backend')!r})")
    if check_cpu:
        _check_cpu(manifest, path)
    dll = ctypes.CDLL(str((path / manifest["library"]).resolve()))
    return Library(path, manifest, dll)
