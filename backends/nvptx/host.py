"""The host side of the NVPTX backend: load kernels.ptx and manifest.json
and run a function's launches on the GPU with CuPy.

    lib = load("out/saxpy")
    lib.saxpy(n, 1.5, x, y)              # numpy in; y is written in place
    lib.run("saxpy", {"n": n, "a": 1.5, "x": dx, "y": dy})   # cupy arrays, no copies

This module is what runs on the GPU machine, which has numpy and CuPy but
not the compiler's parser, e-graph or prover: it reads each function's
parameters from the manifest (never by parsing its signature) and imports
only the IR and the interpreter's value rules from atlas: an array's length
is checked by the same function as the CPU runtime's (interp.machine_length).  CuPy is imported lazily, so
the pure parts (length expressions, grids, argument marshalling, input
checks) run and are tested on machines without a GPU.

Every call is checked before a kernel sees it, by the CPU runtime's own
check (interp.bind): the argument count, each scalar fits its type, each
array has exactly the declared dtype and length, is C-contiguous, writeable
when written, and no two arrays share memory (the kernels assume they do
not).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from atlas.machine.backend import signature_of
from atlas.machine.manifest import Manifest
from atlas.meaning import interp, ir


class GpuUnavailable(RuntimeError):
    """CuPy, the CUDA driver or a GPU is missing on this machine."""


class GpuMismatch(RuntimeError):
    """The artefact's PTX targets a newer GPU than this one."""


class NoKernel(RuntimeError):
    """The function has no GPU kernel (its manifest entry says why)."""


# ---------------------------------------------------------------- types


def dtype_of(type_name: str) -> np.dtype:
    """The numpy dtype of one element of an intent type ("f32" -> float32; bool -> bool_, 1 byte)."""
    try:
        return interp.dtype(ir.SCALARS[type_name])
    except KeyError:
        raise ValueError(f"unknown element type {type_name!r}") from None


def scalar_arg(type_name: str, value, where: str = "argument"):
    """`value` as the numpy scalar a kernel takes for an intent scalar type,
    refused unless it fits (interp.to_value's rules).  A bool travels as a
    uint8 0/1, the byte the kernels read."""
    t = ir.SCALARS.get(type_name)
    if t is None:
        raise ValueError(f"{where}: unknown scalar type {type_name!r}")
    try:
        bits = interp.to_value(t, value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    if t.is_bool:
        return np.uint8(bits)
    if t.is_float:
        return bits  # already a numpy float32/float64 (rounded as the interpreter does)
    return dtype_of(type_name).type(interp.from_value(t, bits))


# ---------------------------------------------------------------- array lengths


def lengths(params: list[dict], values: dict) -> dict[str, int]:
    """Each array parameter's length, given the scalar parameters' values
    (natural numbers): interp.machine_length, the CPU runtime's own check."""
    sig = signature_of("lengths", {"params": params})
    bits = {
        p.name: interp.to_value(p.ty, values[p.name])
        for p in sig.params
        if isinstance(p.ty, ir.Scalar) and p.name in values
    }
    return {p.name: interp.machine_length(p.ty.length, bits) for p in sig.params if isinstance(p.ty, ir.Array)}


# ---------------------------------------------------------------- checking a call


def bind_args(fname: str, params: list[dict], args, device: bool = False, alignment: int = 16) -> dict:
    """Check a call's arguments against the manifest's params (interp.bind:
    the CPU runtime's contract, with `device` for cupy arrays, each starting
    on an `alignment` boundary); return {name: value}: scalars as the numpy
    scalars kernels take, arrays as given."""
    sig = signature_of(fname, {"params": params})
    _, arrays = interp.bind(sig, args, compiled=True, device=device, alignment=alignment)
    values = {
        p["name"]: scalar_arg(p["type"], a, f"{fname}: argument {p['name']!r}")
        for p, a in zip(params, args)
        if "type" in p
    }
    return {**values, **arrays}


# ---------------------------------------------------------------- launches (pure)

MAX_GRID = {"x": 2**31 - 1, "y": 65535}


def check_requires(fname: str, gpu: dict, values: dict) -> None:
    """The kernels' preconditions on scalar values (e.g. n < 2^32 for 32-bit indexing)."""
    for r in gpu.get("requires", []):
        v = int(values[r["param"]])
        if not v < r["below"]:
            raise ValueError(
                f"{fname}: the GPU kernels need {r['param']} < {r['below']}, got {v}; run this call on the CPU"
            )


def grid_of(launch: dict, values: dict) -> tuple[int, int]:
    """A launch's grid (x, y) for these scalar values."""
    dims = []
    for axis in ("x", "y"):
        spec = launch["grid"][axis]
        if "fixed" in spec:
            g = int(spec["fixed"])
        elif "param" in spec:
            g = max(1, -(-int(values[spec["param"]]) // int(spec["per_block"])))
            if spec.get("max") is not None:
                g = min(g, int(spec["max"]))  # a grid-stride kernel covers the rest
        else:
            raise ValueError(f"kernel {launch['kernel']}: grid {axis} {spec!r} is neither fixed nor per param")
        if not 1 <= g <= MAX_GRID[axis]:
            raise ValueError(
                f"kernel {launch['kernel']}: grid {axis} of {g} blocks is beyond CUDA's limit of {MAX_GRID[axis]}"
            )
        dims.append(g)
    return dims[0], dims[1]


def grids(fname: str, gpu: dict, values: dict) -> list[tuple[int, int]]:
    """Every launch's grid, after checking the kernels' preconditions."""
    check_requires(fname, gpu, values)
    return [grid_of(launch, values) for launch in gpu["launches"]]


def scratch_counts(gpu: dict, grid_list: list) -> dict[str, tuple[np.dtype, int]]:
    """{scratch name: (dtype, element count)} for launches with these grids."""
    out = {}
    for name, s in (gpu.get("scratch") or {}).items():
        count = s["count"]
        n = grid_list[count["blocks_of"]][0] if "blocks_of" in count else int(count["fixed"])
        out[name] = (dtype_of(s["elem"]), n)
    return out


def marshal(gpu: dict, values: dict, grid_list: list, scratch: dict, result) -> list[tuple]:
    """The launches as (kernel name, grid (x, y, 1), block (x, y, 1), args)
    in the kernel ABI's order: params by value (scalars) or pointer (arrays,
    whatever objects `values` holds), scratch buffers, np.uint32 block
    counts, the result buffer."""
    out = []
    for launch, (gx, gy) in zip(gpu["launches"], grid_list):
        args = []
        for a in launch["args"]:
            if "param" in a:
                if a["param"] not in values:
                    raise ValueError(f"kernel {launch['kernel']}: no parameter {a['param']!r}")
                args.append(values[a["param"]])
            elif "scratch" in a:
                args.append(scratch[a["scratch"]])
            elif "blocks_of" in a:
                args.append(np.uint32(grid_list[a["blocks_of"]][0]))
            elif a.get("result"):
                if result is None:
                    raise ValueError(f"kernel {launch['kernel']} takes the result, but the function has none")
                args.append(result)
            else:
                raise ValueError(f"kernel {launch['kernel']}: unknown argument {a!r}")
        bx, by = launch["block"]
        if not 1 <= bx * by <= 1024:
            raise ValueError(f"kernel {launch['kernel']}: block {bx}x{by} is beyond 1024 threads")
        out.append((launch["kernel"], (gx, gy, 1), (bx, by, 1), tuple(args)))
    return out


def arch_number(arch: str) -> int:
    """'sm_90' -> 90 (compute capability 9.0)."""
    m = re.fullmatch(r"sm_(\d+)[a-z]?", arch or "")
    if m is None:
        raise ValueError(f"unknown GPU architecture {arch!r}")
    return int(m[1])


# ---------------------------------------------------------------- CuPy (the only part that needs a GPU)

_CUPY = None


def cupy():
    """The cupy module, once a GPU is known to answer; else GpuUnavailable saying what to do."""
    global _CUPY
    if _CUPY is None:
        try:
            import cupy as cp
        except ImportError as exc:
            raise GpuUnavailable(
                f"CuPy is not installed ({exc}); install the wheel matching the "
                "driver's CUDA, e.g. pip install cupy-cuda12x or cupy-cuda13x"
            ) from None
        try:
            count = cp.cuda.runtime.getDeviceCount()
        except Exception as exc:  # no driver, or a driver too old for this CuPy
            raise GpuUnavailable(f"CuPy finds no usable CUDA driver: {exc}") from None
        if count == 0:
            raise GpuUnavailable("no CUDA GPU is visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)")
        _CUPY = cp
    return _CUPY


def device_cc() -> int:
    """The current GPU's compute capability as one number (9.0 -> 90)."""
    cp = cupy()
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    return 10 * props["major"] + props["minor"]


def read_result(buffer, ret: str | None):
    """A 1-element result buffer -> the return value (bool -> Python bool)."""
    if ret is None or buffer is None:
        return None
    v = buffer.get()[0]
    return bool(v) if ret == "bool" else dtype_of(ret).type(v)


def time_ms(fn, reps: int = 20, warmup: int = 3) -> list[float]:
    """Per-rep milliseconds of fn() measured with CUDA events on the current
    stream (what the GPU spent between them; each rep is synchronised)."""
    cp = cupy()
    for _ in range(warmup):
        fn()
    stream = cp.cuda.get_current_stream()
    stream.synchronize()
    times = []
    for _ in range(reps):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record(stream)
        fn()
        end.record(stream)
        end.synchronize()
        times.append(float(cp.cuda.get_elapsed_time(start, end)))
    return times


# ---------------------------------------------------------------- functions and libraries


class GpuFunction:
    """One function's launches (a "gpu" block of the manifest) over one
    loaded PTX module, called like the interpreter or compiled code."""

    def __init__(self, name: str, spec: dict, gpu: dict | None, module_of):
        self.name, self.spec, self.gpu = name, spec, gpu
        self.params, self.ret = spec["params"], spec.get("ret")
        self._module_of = module_of  # () -> cupy.RawModule, loaded on first use
        self.__name__, self.__doc__ = name, spec.get("signature")

    def __repr__(self) -> str:
        return f"<gpu {self.__doc__}>"

    def _gpu(self) -> dict:
        if self.gpu is None:
            raise NoKernel(
                f"{self.name} has no GPU kernel: {self.spec.get('gpu_why_not') or 'the manifest gives no reason'}"
            )
        return self.gpu

    def plan(self, values: dict, scratch=None, result=None) -> list[tuple]:
        """The launches for checked values (bind_args), with the given buffers (pure)."""
        gpu = self._gpu()
        gl = grids(self.name, gpu, values)
        scratch = scratch if scratch is not None else {s: s for s in scratch_counts(gpu, gl)}
        if result is None and gpu.get("result"):
            result = "result"  # buffers named by role, as scratch is above
        return marshal(gpu, values, gl, scratch, result)

    def prepare(self, device_args: dict):
        """Check device-resident arguments, allocate scratch and result once,
        and return a launcher: launcher() runs the launches on the current
        stream and returns the result buffer (or None), without syncing."""
        gpu = self._gpu()
        missing = [p["name"] for p in self.params if p["name"] not in device_args]
        if missing:
            raise ValueError(f"{self.name}: no value for {', '.join(missing)}")
        values = bind_args(self.name, self.params, [device_args[p["name"]] for p in self.params], device=True)
        gl = grids(self.name, gpu, values)
        cp, module = cupy(), self._module_of()
        scratch = {s: cp.empty(n, dt) for s, (dt, n) in scratch_counts(gpu, gl).items()}
        result = cp.empty(1, dtype_of(gpu["result"]["elem"])) if gpu.get("result") else None
        launches = [
            (module.get_function(k), grid, block, args)
            for k, grid, block, args in marshal(gpu, values, gl, scratch, result)
        ]

        def launcher():
            for kernel, grid, block, kargs in launches:
                kernel(grid, block, kargs)
            return result

        return launcher

    def run(self, device_args: dict):
        """The launches on arrays already on the device; the result buffer or None."""
        return self.prepare(device_args)()

    def __call__(self, *args):
        values = bind_args(self.name, self.params, args)
        self._gpu()
        cp = cupy()
        # scalars as the caller gave them: run() checks and converts them again
        dev = {p["name"]: cp.asarray(values[p["name"]]) if "elem" in p else a for p, a in zip(self.params, args)}
        result = self.run(dev)
        for p in self.params:
            if p.get("mutable"):
                dev[p["name"]].get(out=values[p["name"]])
        if result is None:
            cp.cuda.get_current_stream().synchronize()
        return read_result(result, self.ret)


class GpuLibrary:
    """A loaded artefact folder: each function is an attribute (one without
    a kernel raises NoKernel, with the manifest's reason, when called)."""

    def __init__(self, path: Path, manifest: Manifest):
        self.path, self.manifest = path, manifest
        self._modules: dict[Path, object] = {}
        ptx = path / (manifest.ptx or "")
        # each entry as this backend wrote it: its "gpu" block is the launch record
        specs = {name: entry.to_json() for name, entry in manifest.functions.items()}
        self._functions = {
            name: GpuFunction(name, spec, spec.get("gpu"), lambda ptx=ptx: self.module(ptx))
            for name, spec in specs.items()
        }

    def module(self, ptx: Path):
        """The CUDA module of a PTX file (loaded once; the driver JIT-compiles it)."""
        ptx = Path(ptx)
        if ptx not in self._modules:
            self._modules[ptx] = cupy().RawModule(path=str(ptx))
        return self._modules[ptx]

    @property
    def functions(self) -> list[str]:
        return list(self._functions)

    def __getattr__(self, name: str) -> GpuFunction:
        fns = self.__dict__.get("_functions", {})
        if name in fns:
            return fns[name]
        raise AttributeError(f"{self.path} has no function {name!r} (it has: {', '.join(fns) or 'none'})")

    def __getitem__(self, name: str) -> GpuFunction:
        if name not in self._functions:
            raise KeyError(f"{self.path} has no function {name!r}")
        return self._functions[name]

    def run(self, name: str, device_args: dict, gpu_block: dict | None = None, module=None):
        """Run `name` on device-resident arguments; `gpu_block` and `module`
        (a cupy.RawModule) run another launch plan, e.g. a tuning variant's."""
        f = self[name]
        if gpu_block is not None or module is not None:
            f = GpuFunction(
                name,
                f.spec,
                gpu_block if gpu_block is not None else f.gpu,
                (lambda: module) if module is not None else f._module_of,
            )
        return f.run(device_args)

    def variants(self, name: str) -> list[dict]:
        """The tuning variants compiled for `name` (variants/<name>.json), or []."""
        path = self.path / "variants" / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else []

    def variant(self, name: str, entry: dict) -> GpuFunction:
        """A variant entry of variants(name) as a function of its own PTX."""
        ptx = self.path / entry["ptx"]
        return GpuFunction(name, self[name].spec, entry["gpu"], lambda: self.module(ptx))

    def __repr__(self) -> str:
        return f"<atlas gpu library {self.path}: {', '.join(self._functions)}>"


def load(folder, check: bool = True) -> GpuLibrary:
    """Load an artefact folder written by the nvptx backend.  With `check`,
    the GPU must be present and at least the compute capability the PTX
    targets; without it nothing touches CuPy until a call."""
    path = Path(folder)
    manifest = Manifest.read(path)
    if manifest.ptx is None:
        raise ValueError(f"{path / 'manifest.json'} names no PTX to load (backend {manifest.backend!r})")
    if not (path / manifest.ptx).exists():
        raise FileNotFoundError(f"{path / manifest.ptx} is missing")
    if check:
        have = device_cc()
        need = arch_number(manifest.arch) if manifest.arch else 0
        if have < need:
            raise GpuMismatch(
                f"{path} targets {manifest.arch} (compute capability "
                f"{need // 10}.{need % 10}); this GPU is {have // 10}.{have % 10}"
            )
    return GpuLibrary(path, manifest)
