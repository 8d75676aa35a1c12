"""The behaviour harness for driver stubs: one simulated register file, seen
by the interpreter running a description and by the C stub generated from it.

The stub is built with ATLAS_MMIO_HOOKS, so its every register access calls
the shim below, which calls back into Python.  Both sides therefore meet the
same `RegisterFile`, whose answers depend only on its seed and the accesses
made so far; two runs agree exactly when they make the same accesses, in the
same order, with the same values.
"""

from __future__ import annotations

import ctypes
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np

from atlas.meaning import interp, ir

CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror"]

# BAR n of the simulated device "is mapped" at (n + 1) * 4096: the shim only
# turns the address back into n, it never dereferences it.
SHIM = r"""
#include <stdint.h>
#include "atlas_mmio.h"

typedef uint64_t (*sim_read_fn)(int bar, uint32_t offset, int bits);
typedef void (*sim_write_fn)(int bar, uint32_t offset, int bits, uint64_t value);
typedef void (*sim_delay_fn)(uint32_t us);

static sim_read_fn sim_read;
static sim_write_fn sim_write;
static sim_delay_fn sim_delay;

void atlas_sim_attach(sim_read_fn r, sim_write_fn w, sim_delay_fn d);
void atlas_sim_attach(sim_read_fn r, sim_write_fn w, sim_delay_fn d)
{
    sim_read = r;
    sim_write = w;
    sim_delay = d;
}

static int bar_of(volatile void *base)
{
    return (int)((uintptr_t)base >> 12) - 1;
}

void atlas_delay_us(uint32_t us)
{
    sim_delay(us);
}
"""
ACCESSORS = r"""
uint{b}_t atlas_read{b}(volatile void *base, uint32_t offset)
{{
    return (uint{b}_t)sim_read(bar_of(base), offset, {b});
}}

void atlas_write{b}(volatile void *base, uint32_t offset, uint{b}_t value)
{{
    sim_write(bar_of(base), offset, {b}, value);
}}
"""

READ = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_int, ctypes.c_uint32, ctypes.c_int)
WRITE = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint64)
DELAY = ctypes.CFUNCTYPE(None, ctypes.c_uint32)

MODES = ("memory", "settling", "random", "ones", "zeros")


class RegisterFile:
    """Registers that answer reads by one of these rules:

    memory    the last value written at that address (first: one from the seed)
    settling  the last value written for two reads, then a fresh value each
              read, as a bit the device clears or sets after a while
    random    a fresh value every read: hardware changing on its own
    ones      all ones, as a device that is absent or wedged
    zeros     zero
    """

    def __init__(self, seed: int, mode: str):
        self.rng = random.Random(seed)
        self.mode = mode
        self.mem: dict[tuple[int, int], int] = {}
        self.since_write: dict[tuple[int, int], int] = {}
        self.log: list[tuple] = []
        self.polls: list[tuple[object, bool]] = []

    def read(self, bar: int, offset: int, bits: int) -> int:
        key = (bar, offset)
        if self.mode == "ones":
            v = (1 << bits) - 1
        elif self.mode == "zeros":
            v = 0
        elif self.mode == "random":
            v = self.rng.getrandbits(bits)
        else:
            if key not in self.mem:
                self.mem[key] = self.rng.getrandbits(bits)
            n = self.since_write.get(key, 0)
            self.since_write[key] = n + 1
            if self.mode == "settling" and n >= 2:
                self.mem[key] = self.rng.getrandbits(bits)
            v = self.mem[key] & ((1 << bits) - 1)
        self.log.append(("read", bar, offset, bits, v))
        return v

    def write(self, bar: int, offset: int, bits: int, value: int):
        self.mem[(bar, offset)] = value
        self.since_write[(bar, offset)] = 0
        self.log.append(("write", bar, offset, bits, value))

    def delay(self, us: int):
        self.log.append(("delay", us))

    def polled(self, poll, held: bool):  # called by the interpreter only
        self.polls.append((poll.span, held))


def build(folder: Path, stem: str, widths) -> ctypes.CDLL:
    """Compile `stem.c` with the shim into a shared library, warnings as errors."""
    cc = shutil.which("gcc") or shutil.which("cc")
    shim = folder / "sim_shim.c"
    shim.write_text(SHIM + "".join(ACCESSORS.format(b=b) for b in widths))
    lib = folder / f"lib{stem}_sim.so"
    subprocess.run(
        [
            cc,
            *CFLAGS,
            "-O1",
            "-fPIC",
            "-shared",
            "-DATLAS_MMIO_HOOKS",
            "-I",
            str(folder),
            str(folder / f"{stem}.c"),
            str(shim),
            "-o",
            str(lib),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return ctypes.CDLL(str(lib))


_CTYPES = {8: ctypes.c_uint8, 16: ctypes.c_uint16, 32: ctypes.c_uint32, 64: ctypes.c_uint64}


def _ctype(t: ir.Scalar):
    return ctypes.c_bool if t.is_bool else _CTYPES[t.bits]


class Stub:
    """A built stub of one placed device.  Built with the shim, it runs
    against a register file; built without, against the memory `bars` maps
    (BAR index -> address) stands in for its BARs."""

    def __init__(self, lib: ctypes.CDLL, stem: str, dev: ir.Device, bars: dict[int, int] | None = None):
        self.lib, self.stem, self.dev = lib, stem, dev
        used = sorted({r.bar for r in dev.regions})
        bars = bars or {b: (b + 1) * 4096 for b in used}
        self.handle = (ctypes.c_void_p * len(used))(*[bars[b] for b in used])

    def run(self, op: str, args, regs: RegisterFile | None = None):
        fn = self.dev.function(op)
        cfn = getattr(self.lib, f"{self.stem}_{op}")
        cfn.restype = None if fn.ret is None else _ctype(fn.ret)
        argv = [ctypes.cast(self.handle, ctypes.c_void_p)]
        for p, a in zip(fn.params, args):
            argv.append(a.ctypes.data_as(ctypes.c_void_p) if isinstance(p.ty, ir.Array) else _ctype(p.ty)(a))
        if regs is not None:
            callbacks = (
                READ(lambda b, o, n: regs.read(b, o, n)),
                WRITE(lambda b, o, n, v: regs.write(b, o, n, v)),
                DELAY(lambda us: regs.delay(us)),
            )
            self.lib.atlas_sim_attach(*callbacks)
        value = cfn(*argv)
        return None if fn.ret is None else (bool(value) if fn.ret.is_bool else int(value))


def run_both(stub: Stub, op: str, args, mode: str, seed: int):
    """One call by the interpreter and by the stub, each on a fresh register
    file of `mode` and `seed`: (interpreter's result, stub's result, the two
    register files, the stub's copy of the arguments)."""
    from atlas.front import devices

    c_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    oracle, sim = RegisterFile(seed, mode), RegisterFile(seed, mode)
    want = devices.run(stub.dev, op, *args, bus=oracle)
    got = stub.run(op, c_args, sim)
    return want, got, oracle, sim, c_args


def arguments(fn: ir.Function, rng: random.Random) -> list:
    """Arguments for one call: scalars from the seed (often a small value,
    as indexes and counts usually are, or one at an edge: a shift by the
    width, the largest value), arrays of their declared length."""
    scalars, args = {}, []
    for p in fn.params:
        if isinstance(p.ty, ir.Scalar):
            t = p.ty
            pick = rng.random()
            if t.is_bool:
                v = pick < 0.5
            elif pick < 0.35:
                v = rng.randrange(8)
            elif pick < 0.7:
                v = rng.choice((t.bits - 1, t.bits, t.bits + 1, 32, 64, t.mask)) & t.mask
            else:
                v = rng.getrandbits(t.bits)
            scalars[p.name] = v
    for p in fn.params:
        if isinstance(p.ty, ir.Scalar):
            args.append(scalars[p.name])
        else:
            n = interp.evaluate(p.ty.length, scalars, exact=True)
            dt = interp.dtype(p.ty.elem)
            args.append(np.array([rng.getrandbits(p.ty.elem.bits) for _ in range(n)], dtype=dt))
    return args


def _trace(argv=None) -> int:
    """Print one operation's accesses, made by the interpreter and by the
    compiled stub on the same simulated registers (the demo uses this)."""
    import argparse
    import tempfile

    from atlas.front import devices
    from atlas.machine import probe as hwprobe
    from atlas.front.check import check
    from atlas.pipeline import compile_files, read_sources

    ap = argparse.ArgumentParser(description=_trace.__doc__)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--hw", required=True)
    ap.add_argument("--op", required=True, help="DEVICE.OPERATION")
    ap.add_argument("--mode", default="settling", choices=MODES)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    name, _, op = a.op.partition(".")
    probe = hwprobe.load_probe(a.hw)
    placed = {d.name: d for d, _ in devices.select(check(*read_sources(a.files)).devices, probe).placed}
    dev = placed[name]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        compile_files(a.files, probe, out, backend="stubs")
        stub = Stub(build(out, name, sorted({g.ty.bits for g in dev.registers})), name, dev)
        args = arguments(dev.function(op), random.Random(a.seed))
        want, got, oracle, sim, _ = run_both(stub, op, args, a.mode, a.seed)
    print(f"   {name}.{op}({', '.join(map(str, args))}) on {a.mode} registers:")
    names = {}
    for g in dev.registers:
        for k in range(g.count or 1):
            at = dev.locate(g.name, None if g.count is None else k)
            names[at] = g.name if g.count is None else f"{g.name}[{k}]"

    def text(entry):
        if entry[0] == "delay":
            return f"delay {entry[1]} us"
        kind, bar, offset, bits, value = entry
        where = f"{names.get((bar, offset), '?')} (BAR {bar} + {offset:#06x})"
        return f"{kind:5} {where:30} {'->' if kind == 'read' else '<-'} {value:#x}"

    for i, (x, y) in enumerate(zip(oracle.log, sim.log)):
        print(f"   {i + 1:3}  {text(x):58} {'stub: same' if x == y else 'stub: ' + text(y)}")
    same = oracle.log == sim.log and want == got
    print(
        f"   interpreter -> {want}, stub -> {got}: "
        + ("the same accesses, in the same order" if same else "they DIFFER")
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(_trace())
