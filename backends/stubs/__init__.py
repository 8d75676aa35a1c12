"""Driver stubs: C for the devices the probe found, and only for them.

For each device description that matches a device in the probe, this
backend writes `<device>.h` (register accessors and field masks, every
address a constant of that device) and `<device>.c` (the description's
operations), plus one `atlas_mmio.h` through which every access goes.
Descriptions of devices the probe does not list produce nothing, and no
stub dispatches on vendor or model: the probe made that choice.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from jinja2 import Environment, PackageLoader, StrictUndefined

from atlas.front import devices
from atlas.meaning import ir
from atlas.machine.backend import Backend, BackendError, Emitted

from .cgen import OpWriter, accessor, ctype, hexu
from atlas.machine.probe import Probe

C_FLAGS = "-std=c11 -Wall -Wextra -Werror"


class StubsBackend(Backend):
    name = "stubs"
    description = "C driver stubs for the PCI devices the probe lists that a description matches"

    def accepts(self, probe: Probe) -> str | None:
        return None if probe.pci else "the probe lists no PCI devices"

    def emit(self, module: ir.Module, probe: Probe, outdir: Path, realise=None) -> Emitted:
        if not module.devices:
            raise BackendError("the input has no device descriptions (`device NAME matches pci(...) { ... }`)")
        chosen = devices.select(module.devices, probe)
        env = _env()
        outdir = Path(outdir)
        files, entries = [], {}
        counts: dict[str, int] = {}
        for dev, _ in chosen.placed:
            counts[dev.name] = counts.get(dev.name, 0) + 1
        for dev, addresses in chosen.placed:
            stem = dev.name if counts[dev.name] == 1 else f"{dev.name}_{re.sub(r'[^0-9a-f]', '_', addresses[0])}"
            header, source = render(env, dev, stem, addresses, _source_of(dev))
            (outdir / f"{stem}.h").write_text(header)
            (outdir / f"{stem}.c").write_text(source)
            files += [f"{stem}.h", f"{stem}.c"]
            entries[stem] = {
                "description": dev.name,
                "pci": dev.ids,
                "addresses": list(addresses),
                "files": [f"{stem}.h", f"{stem}.c"],
                "regions": {r.name: {"bar": r.bar, "offset": r.base, "size": r.size} for r in dev.regions},
                "operations": {f.name: f.signature for f in dev.ops},
            }
        if files:
            (outdir / "atlas_mmio.h").write_text(env.get_template("atlas_mmio.h.j2").render(widths=(8, 16, 32, 64)))
            files.append("atlas_mmio.h")
        manifest = {
            "functions": {},
            "devices": entries,
            "absent": {d.name: f"no {d.ids} device in the probe" for d in chosen.absent},
            "unplaced": [{"description": d.name, "address": a, "why": why} for d, a, why in chosen.unplaced],
            "undescribed": [
                {"address": p.address, "pci": f"{p.vendor[2:]}:{p.device[2:]}", "name": p.device_name}
                for p in chosen.undescribed
            ],
            "c_files": [f for f in files if f.endswith(".c")],
            "c_flags": C_FLAGS,
        }
        return Emitted(files=files, manifest=manifest)


def _env() -> Environment:
    return Environment(
        loader=PackageLoader("atlas.backends.stubs", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )


def _source_of(dev: ir.Device) -> str:
    return Path(dev.span.file).name if dev.span.file else "a device description"


def render(env: Environment, dev: ir.Device, stem: str, addresses, source: str) -> tuple[str, str]:
    """The header and the source of one placed device."""
    lower = [g.name.lower() for g in dev.registers]
    if len(set(lower)) != len(lower):
        raise BackendError(f"{dev.name}: two registers differ only in case; their C accessors would clash")
    regions = {q.name: _placed(dev, q) for q in dev.regions}
    by_base = sorted(regions.values(), key=lambda q: q.base)
    bar_list = [
        {"index": bar, "size": ", ".join(f"{q.name} at {q.base:#x} ({_size(q.size)})" for q in by_base if q.bar == bar)}
        for bar in sorted({r.bar for r in regions.values()})
    ]
    prefix = stem.upper()
    regs = [_register(g, regions[g.region], stem) for g in dev.registers]
    accessors = {r["read"] for r in regs} | {r["write"] for r in regs}
    for fn in dev.ops:
        if f"{stem}_{fn.name}" in accessors:
            raise BackendError(
                f"{dev.name}: operation '{fn.name}' would have the C name of a register "
                f"accessor ({stem}_{fn.name}); rename it"
            )
    helpers: dict[str, str] = {}
    ops = []
    for fn in dev.ops:
        w = OpWriter(stem, dev, fn, helpers)
        ops.append({"signature": fn.signature, "prototype": w.prototype(), "body": w.body()})
    ctx = {
        "dev": dev,
        "stem": stem,
        "addresses": addresses,
        "source": source,
        "guard": f"ATLAS_STUB_{prefix}_H",
        "bars": bar_list,
        "registers": regs,
        "ops": ops,
        "helpers": list(helpers.values()),
    }
    return env.get_template("stub.h.j2").render(**ctx), env.get_template("stub.c.j2").render(**ctx)


def _register(g: ir.Register, region: _Placed, stem: str) -> dict:
    """What the templates say of register `g` (in its placed `region`): its
    address, C type, accessors and field masks."""
    where = f"BAR {region.bar} + {region.base + g.offset:#06x}"
    doc = (
        f"{g.name}: {g.count} x {g.ty}, {g.access}, at {where}, {g.stride} bytes apart"
        if g.count
        else f"{g.name}: {g.ty}, {g.access}, at {where}"
    )
    prefix = stem.upper()
    return {
        "doc": doc,
        "ctype": ctype(g.ty),
        "bits": g.ty.bits,
        "bar": region.bar,
        "offset": hexu(region.base + g.offset),
        "count": g.count,
        "stride": g.stride,
        "index_param": ", uint64_t i" if g.count else "",
        "readable": g.access != "wo",
        "writable": g.access != "ro",
        "read": accessor(stem, "read", g.name),
        "write": accessor(stem, "write", g.name),
        "fields": [
            {"macro": f"{prefix}_{g.name.upper()}_{f.name.upper()}", "mask": _mask(f.mask, g.ty), "lo": f.lo}
            for f in g.fields
        ],
    }


class _Placed(NamedTuple):
    """A region of a placed device: where it is, every part known."""

    name: str
    bar: int
    base: int
    size: int


def _placed(dev: ir.Device, q: ir.Region) -> _Placed:
    if q.bar is None or q.base is None or q.size is None:
        raise BackendError(f"internal error: {dev.name} is not placed on a probed device (region {q.name})")
    return _Placed(q.name, q.bar, q.base, q.size)


def _mask(value: int, t: ir.Scalar) -> str:
    """A field mask in hex, as wide as its register."""
    text = f"{value:#0{2 + t.bits // 4}x}"
    return f"UINT64_C({text})" if t.bits == 64 else f"{text}u"


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return "1 byte" if n == 1 else f"{n} bytes"
