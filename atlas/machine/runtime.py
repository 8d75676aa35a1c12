"""Load a compiled artefact folder and call its functions from Python.

    lib = atlas.machine.runtime.load("out/")
    lib.saxpy(n, a, x, y)          # x, y numpy arrays; y is written in place

Every call is checked before it reaches machine code: the argument count,
each scalar fits its declared type, each array has exactly the declared
dtype and length (the length expression computed with exact integers), is
C-contiguous, aligned and, when written, writeable, and no two arrays share
memory.  Compiled code relies on all of this (it marks arrays `noalias`).

Run-time counters (ir.Count) live in the library as exported 64-bit
globals; `lib.counters()` reads them and `lib.reset_counters()` zeroes them.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

from ..meaning import interp, ir
from .manifest import FunctionEntry, Manifest


class CpuMismatch(RuntimeError):
    """The artefact needs CPU features this machine lacks."""


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


def _check_cpu(manifest: Manifest, where: Path) -> None:
    need = manifest.cpu_flags
    if need is None and manifest.probe is not None:  # an older manifest: the probe's ISA flags
        need = manifest.probe.features
    if not need:
        return
    have = host_cpu_flags()
    if have is None:
        return
    missing = sorted(set(need) - have)
    if missing:
        raise CpuMismatch(
            f"{where} was compiled for a CPU with {', '.join(missing)}, which this "
            "machine lacks; running it could crash with an illegal instruction. "
            "Recompile for this machine (or load with check_cpu=False)."
        )


# ---------------------------------------------------------------- calling


def counter_symbol(symbol: str, label: str) -> str:
    """The exported 64-bit global that counts `label` in the function
    exported as `symbol` (the name the x86_64 backend gives it)."""
    return f"atlas_count_{symbol}_{label}"


CTYPES: dict[str, type[ctypes._SimpleCData]] = {
    "i8": ctypes.c_int8,
    "i16": ctypes.c_int16,
    "i32": ctypes.c_int32,
    "i64": ctypes.c_int64,
    "u8": ctypes.c_uint8,
    "u16": ctypes.c_uint16,
    "u32": ctypes.c_uint32,
    "u64": ctypes.c_uint64,
    "f32": ctypes.c_float,
    "f64": ctypes.c_double,
    "bool": ctypes.c_bool,
}


class Function:
    """One compiled function, called with Python/numpy values under the same
    contract as the interpreter (interp.bind, with what machine code needs)."""

    def __init__(self, name: str, entry: FunctionEntry, cfunc):
        self.name, self.entry = name, entry
        self.sig = entry.function
        cfunc.argtypes = [ctypes.c_void_p if isinstance(p.ty, ir.Array) else CTYPES[p.ty.name] for p in self.sig.params]
        cfunc.restype = CTYPES[self.sig.ret.name] if self.sig.ret else None
        self._c = cfunc
        self.__name__ = name
        self.__doc__ = entry.signature

    def __repr__(self) -> str:
        return f"<compiled {self.__doc__}>"

    @property
    def address(self) -> int:
        """The machine code's entry point (for a C caller such as a timing loop)."""
        return ctypes.cast(self._c, ctypes.c_void_p).value or 0

    def __call__(self, *args):
        return self._c(*self.c_args(*args))

    def raw(self, *c_args):
        """Call with raw C arguments, unchecked: for a caller that had
        `c_args` check arrays it reuses (the market's rounds of bids)."""
        return self._c(*c_args)

    def c_args(self, *args) -> list:
        """Check a call as __call__ does; the raw C arguments it would pass
        (array addresses and plain scalars).  The arrays must outlive their use."""
        scalars, _ = interp.bind(self.sig, args, compiled=True)
        return [
            a.ctypes.data if isinstance(p.ty, ir.Array) else interp.from_value(p.ty, scalars[p.name])
            for p, a in zip(self.sig.params, args)
        ]


class Library:
    """A loaded artefact: each function is an attribute."""

    def __init__(self, path: Path, manifest: Manifest, dll: ctypes.CDLL):
        self.path, self.manifest, self._dll = path, manifest, dll
        self._functions = {
            name: Function(name, entry, getattr(dll, entry.symbol)) for name, entry in manifest.functions.items()
        }

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

    # -- run-time counters
    def _counter_cells(self) -> dict[str, dict[str, ctypes.c_uint64]]:
        cells = self.__dict__.get("_cells")
        if cells is None:
            cells = {}
            for name, entry in self.manifest.functions.items():
                if not entry.counters:
                    continue
                try:
                    cells[name] = {
                        label: ctypes.c_uint64.in_dll(self._dll, counter_symbol(entry.symbol, label))
                        for label in entry.counters
                    }
                except ValueError as exc:  # dlsym found no such symbol
                    raise ValueError(
                        f"{self.path}: the manifest lists counters of {name} that the library does not export: {exc}"
                    ) from None
            self.__dict__["_cells"] = cells
        return cells

    def counters(self) -> dict[str, dict[str, int]]:
        """{function: {label: count}} for every function that has counters.
        The values are read while other threads may still count: each is
        whole, the set is not a snapshot."""
        return {fn: {label: int(c.value) for label, c in cells.items()} for fn, cells in self._counter_cells().items()}

    def reset_counters(self) -> None:
        for cells in self._counter_cells().values():
            for c in cells.values():
                c.value = 0

    def __repr__(self) -> str:
        return f"<atlas library {self.path}: {', '.join(self._functions)}>"


def load(path, check_cpu: bool = True) -> Library:
    """Load the artefact folder `path` (its manifest.json and shared library)."""
    path = Path(path)
    manifest = Manifest.read(path)
    if manifest.library is None:
        raise ValueError(f"{path / 'manifest.json'} names no library to load (backend {manifest.backend!r})")
    if check_cpu:
        _check_cpu(manifest, path)
    dll = ctypes.CDLL(str((path / manifest.library).resolve()))
    try:
        return Library(path, manifest, dll)
    except AttributeError as exc:  # dlsym found no such function
        raise ValueError(f"{path / 'manifest.json'}: damaged manifest, {exc} (recompile the artefact)") from None
