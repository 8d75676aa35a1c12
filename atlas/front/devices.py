"""Device descriptions: check them, place them on probed devices, run them.

A description (`device NAME matches pci(...) { ... }`, docs/devices.md)
names its regions, its registers with their bit fields, and its operations.
The operations are intent functions, checked by the intent checker with
register access added: `read(R)`, `write(R, v)`, `get(R.F, v)`, `put(R.F, x)`,
`delay(us)` and the bounded `poll`.  They compute with unsigned integers and
bool only, since a register holds bits, not numbers with a sign.

`place` fixes a description to one device of the probe: every region gets its
BAR and offset, every stride its value, so the stub backend can fold them all
into constants.  `run` interprets one operation of a placed device against a
bus (anything with read, write and delay), which is the oracle the generated
stubs are tested against.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from ..machine.probe import Bar, PciDevice, Probe, VirtioStructure
from ..meaning import interp, ir
from . import typecheck
from .diagnostics import AtlasError
from ..meaning.ir import U32
from .syntax import (
    CallA,
    CallStmtA,
    CastA,
    DeviceA,
    FieldRefA,
    FuncA,
    Index,
    LetA,
    LetArrayA,
    Name,
    PollA,
    WhenA,
    WhileA,
)

MATCH_KEYS = {
    "vendor": 0xFFFF,
    "device": 0xFFFF,
    "subsystem_vendor": 0xFFFF,
    "subsystem_device": 0xFFFF,
    "revision": 0xFF,
}
# virtio 1.x PCI capability structure types (virtio spec 4.1.4, cfg_type).
VIRTIO_STRUCTURES = {"common": 1, "notify": 2, "isr": 3, "device": 4}
BUILTINS = ("read", "write", "get", "put", "delay")
MAX_TRIES = 1 << 31


# ---------------------------------------------------------------- checking


class _OpChecker(typecheck.FunctionChecker):
    """The intent checker, with the device's registers in reach."""

    def __init__(self, regs: dict[str, ir.Register], sigs, f: FuncA, fn: ir.Function):
        super().__init__(sigs, f, fn)
        self.regs = regs

    def literal(self, e, want, negated=False):
        # A register holds bits: an unsuffixed literal with no context is a
        # u32 here (an i32 elsewhere), so `let n = 0;` stays unsigned.
        if want is None and e.suffix is None and not e.is_float:
            want = U32
        return super().literal(e, want, negated)

    def _expr(self, e, want):
        if isinstance(e, CastA):
            _unsigned(e.to)  # point at the type, not at the whole cast
        if isinstance(e, FieldRefA):
            reg, fld = self.field(e)
            return ir.Const(fld.mask, reg.ty, e.span)
        return super()._expr(e, want)

    def name(self, e: Name):
        if self.scopes.lookup(e.id) is None and e.id in self.regs:
            raise AtlasError(e.span, f"'{e.id}' is a register; read it with `read({e.id})`")
        return super().name(e)

    def index(self, e: Index):
        if self.scopes.lookup(e.array) is None and e.array in self.regs:
            raise AtlasError(e.span, f"'{e.array}' is a register array; read it with `read({e.array}[i])`")
        return super().index(e)

    def field(self, e: FieldRefA) -> tuple[ir.Register, ir.Field]:
        reg = self.regs.get(e.owner)
        if reg is None:
            close = difflib.get_close_matches(e.owner, list(self.regs), n=1)
            raise AtlasError(
                e.owner_span, f"unknown register '{e.owner}'", note=f"did you mean '{close[0]}'?" if close else None
            )
        try:
            return reg, reg.field(e.name)
        except KeyError:
            names = [f.name for f in reg.fields]
            raise AtlasError(
                e.name_span,
                f"register {reg.name} has no field '{e.name}'",
                note=("its fields are " + ", ".join(names)) if names else f"{reg.name} declares no fields",
            ) from None

    def register(self, a, verb: str) -> tuple[ir.Register, ir.Expr | None]:
        """The register argument of read/write: `R`, or `R[i]` for an array."""
        name, idx = (
            (a.id, None) if isinstance(a, Name) else (a.array, a.index) if isinstance(a, Index) else (None, None)
        )
        if name is not None and name not in self.regs and self.scopes.lookup(name) is None:
            # A misspelt register is the likely mistake: name it, not the rule.
            close = difflib.get_close_matches(name, list(self.regs), n=1)
            raise AtlasError(
                a.span if idx is None else a.name_span,
                f"unknown register '{name}'",
                note=f"did you mean '{close[0]}'?"
                if close
                else ("the registers are " + ", ".join(self.regs))
                if self.regs
                else None,
            )
        if name is None or name not in self.regs:
            example = f"{verb}(STATUS{', v' if verb == 'write' else ''})"
            raise AtlasError(
                a.span,
                f"{verb} takes a register first, e.g. `{example}`",
                note="the registers are " + ", ".join(self.regs) if self.regs else None,
            )
        reg = self.regs[name]
        if reg.count is None and idx is not None:
            raise AtlasError(a.span, f"{name} is one register, not an array; write `{verb}({name}...)`")
        if reg.count is not None and idx is None:
            raise AtlasError(a.span, f"{name} is an array of {reg.count} registers; say which: `{name}[i]`")
        bad = {"read": "wo", "write": "ro"}[verb]
        if reg.access == bad:
            raise AtlasError(
                a.span,
                f"{name} is {'write' if bad == 'wo' else 'read'}-only "
                f"(declared `{bad}`); it cannot be {verb[:4]}{'ten' if verb == 'write' else ''}",
            )
        return reg, None if idx is None else self.index_expr(idx)

    def call(self, e: CallA, want, as_value: bool):
        if e.func == "read":
            self.arity(e, 1)
            reg, idx = self.register(e.args[0], "read")
            return ir.RegRead(reg.name, idx, reg.ty, e.span)
        if e.func in ("write", "delay"):
            raise AtlasError(e.span, f"`{e.func}` gives no value; call it as a statement")
        if e.func in ("get", "put"):
            self.arity(e, 2)
            if not isinstance(e.args[0], FieldRefA):
                raise AtlasError(
                    e.args[0].span, f"{e.func} takes a register field first, e.g. `{e.func}(STATUS.SPEED, ...)`"
                )
            reg, fld = self.field(e.args[0])
            v = self.expr(e.args[1], reg.ty)
            t = reg.ty
            lo = ir.Const(fld.lo, t, e.span)
            mask = ir.Const(fld.mask, t, e.span)
            if e.func == "get":  # (v & mask) >> lo
                return ir.Binary("shr", ir.Binary("and", v, mask, t, e.span), lo, t, e.span)
            return ir.Binary("and", ir.Binary("shl", v, lo, t, e.span), mask, t, e.span)
        if e.func in typecheck.primitives() and e.func not in ("min", "max", "select"):
            raise AtlasError(
                e.name_span,
                f"{e.func} is not available in a device operation",
                note="device operations use the operators, min, max and select",
            )
        return super().call(e, want, as_value)

    @staticmethod
    def arity(e: CallA, n: int):
        if len(e.args) != n:
            raise AtlasError(e.span, f"{e.func} takes {n} argument(s), found {len(e.args)}")

    def stmt(self, s) -> list:
        if isinstance(s, LetA) and s.ty is not None:
            _unsigned(s.ty)  # point at the declared type, not at the value
        if isinstance(s, CallStmtA) and s.call.func == "write":
            e = s.call
            self.arity(e, 2)
            reg, idx = self.register(e.args[0], "write")
            return [ir.RegWrite(reg.name, idx, self.expr(e.args[1], reg.ty), s.span)]
        if isinstance(s, CallStmtA) and s.call.func == "delay":
            e = s.call
            self.arity(e, 1)
            return [ir.Delay(_bounded(e.args[0], "a delay in microseconds", 1, 1_000_000), s.span)]
        if isinstance(s, PollA):
            tries = _bounded(s.tries, "a poll's number of tries", 1, MAX_TRIES)
            every = 0 if s.every is None else _bounded(s.every, "a poll's pause in microseconds", 1, 1_000_000)
            var = value = None
            if s.var is not None:
                value = self.expr(s.value)
                var = self.scopes.declare(s.var, value.ty, "local")  # visible after the poll too
            return [
                ir.Poll(
                    self.condition(s.cond, "poll"),
                    tries,
                    every,
                    self.block(s.else_),
                    s.span,
                    var,
                    None if value is None else value.ty,
                    value,
                )
            ]
        if isinstance(s, WhileA):
            # Every operation must finish: a driver never spins on a device
            # without a bound, and the behaviour test runs each one to its end.
            raise AtlasError(
                s.span,
                "a device operation has no `while`: its loops are bounded",
                note="repeat with `for i in 0..n`, or wait with `poll COND within N else { ... }`",
            )
        if isinstance(s, LetArrayA):
            raise AtlasError(
                s.span,
                "a device operation has no local arrays",
                note="keep values in registers' fields or in `let` scalars; buffers are parameters",
            )
        if isinstance(s, WhenA):
            raise AtlasError(
                s.span,
                "a device operation cannot branch on hardware facts",
                note="the description is already specific to one device",
            )
        return super().stmt(s)


def _unsigned(t) -> None:
    """A type written in an operation: unsigned integer or bool."""
    ty = typecheck.scalar_type(t)
    if not (ty.is_bool or (ty.is_int and not ty.signed)):
        raise AtlasError(t.span, f"device operations compute with unsigned integers and bool, found {ty}")


def _bounded(e, what: str, lo: int, hi: int) -> int:
    if not hasattr(e, "value") or getattr(e, "is_float", True) or not lo <= e.value <= hi:
        raise AtlasError(e.span, f"{what} must be a whole number from {lo} to {hi}")
    return e.value


def touches(e) -> int:
    """How many times evaluating e accesses the device (reads and op calls)."""
    return sum(isinstance(x, (ir.RegRead, ir.Call)) for x in ir.walk(e))


def _check_op_body(fn: ir.Function):
    for s in ir.walk_stmts(fn.body):
        exprs = ir.own_exprs(s)
        if sum(touches(e) for e in exprs) > 1:
            raise AtlasError(
                s.span,
                "this statement accesses the device more than once",
                note="C leaves the order of such accesses open, and device accesses "
                "must happen in a known order: read into a `let` first",
            )
        for e in exprs:
            for x in ir.walk(e):
                t = getattr(x, "ty", None)
                if isinstance(t, ir.Scalar) and not (t.is_bool or (t.is_int and not t.signed)):
                    raise AtlasError(x.span, f"device operations compute with unsigned integers and bool, found {t}")
    for s in ir.walk_stmts(fn.body):
        t = s.ty if isinstance(s, (ir.Let, ir.For, ir.Poll)) else None
        if t is not None and not (t.is_bool or (t.is_int and not t.signed)):
            raise AtlasError(s.span, f"device operations compute with unsigned integers and bool, found {t}")


def _bits(lo: int, hi: int, verb: bool = True) -> str:
    """'bit 7 is' / 'bits 6..7 are' (verb), or 'bit 7' / 'bits 6..7'."""
    text = f"bit {lo}" if lo == hi else f"bits {lo}..{hi}"
    return text + ((" is" if lo == hi else " are") if verb else "")


def _device(d: DeviceA) -> ir.Device:
    match = _match(d)
    regions = _regions(d)
    regs: dict[str, ir.Register] = {}
    for r in d.registers:
        if r.name in regs:
            raise AtlasError(r.name_span, f"register '{r.name}' is declared twice")
        regs[r.name] = _register(r, regions)
    sigs: dict[str, ir.Function] = {}
    for f in d.funcs:
        if f.name in sigs:
            raise AtlasError(f.name_span, f"operation '{f.name}' is defined twice")
        if f.name in BUILTINS or f.name in typecheck.primitives() or f.name in regs:
            raise AtlasError(f.name_span, f"'{f.name}' is already a name in this description; choose another")
        if f.reassoc is not None:
            raise AtlasError(f.reassoc, "`reassoc` has no meaning for a device operation")
        if f.requires is not None:
            raise AtlasError(f.requires.span, "a device operation takes no precondition (`requires`)")
        sig = typecheck.signature(f)
        for p in sig.params:
            t = p.ty.elem if isinstance(p.ty, ir.Array) else p.ty
            if not (t.is_bool or (t.is_int and not t.signed)):
                raise AtlasError(p.span, f"device operations take unsigned integers and bool, found {t}")
        if sig.ret is not None and not (sig.ret.is_bool or (sig.ret.is_int and not sig.ret.signed)):
            raise AtlasError(
                f.ret.span if f.ret else f.span, f"device operations return unsigned integers or bool, found {sig.ret}"
            )
        sigs[f.name] = sig
    ops, graph = [], {}
    for f in d.funcs:
        fc = _OpChecker(regs, sigs, f, sigs[f.name])
        body = fc.block(f.body)
        sig = sigs[f.name]
        if sig.ret is not None and not typecheck.always_returns(body):
            raise AtlasError(
                f.end_span,
                f"{f.name} must return {typecheck.article(sig.ret)} on every path; "
                "this path reaches the end without `return`",
            )
        fn = ir.Function(sig.name, sig.params, sig.ret, body, f.span)
        _check_op_body(fn)
        graph[f.name] = fc.calls
        ops.append(fn)
    typecheck.no_recursion(graph)
    return ir.Device(d.name, tuple(match.items()), tuple(regions.values()), tuple(regs.values()), tuple(ops), d.span)


def _match(d: DeviceA) -> dict[str, int]:
    """The PCI ids the description matches."""
    match: dict[str, int] = {}
    for key, value, span in d.match:
        if key not in MATCH_KEYS:
            close = difflib.get_close_matches(key, list(MATCH_KEYS), n=1)
            raise AtlasError(
                span,
                f"unknown PCI match key '{key}'",
                note=(f"did you mean '{close[0]}'? " if close else "") + "keys are " + ", ".join(MATCH_KEYS),
            )
        if key in match:
            raise AtlasError(span, f"'{key}' is given twice")
        if value > MATCH_KEYS[key]:
            raise AtlasError(span, f"{key} {value:#x} does not fit in {MATCH_KEYS[key].bit_length()} bits")
        match[key] = value
    for key in ("vendor", "device"):
        if key not in match and not d.is_base:
            raise AtlasError(d.match_span, f"a PCI match needs `{key} = ...`")
    return match


def _regions(d: DeviceA) -> dict[str, ir.Region]:
    """The description's memory regions: PCI BARs and virtio structures."""
    regions: dict[str, ir.Region] = {}
    for r in d.regions:
        if r.name in regions:
            raise AtlasError(r.name_span, f"region '{r.name}' is declared twice")
        if r.source == "bar" and not (isinstance(r.arg, int) and 0 <= r.arg <= 5):
            raise AtlasError(r.arg_span, "a PCI device has BARs 0 to 5")
        if r.source == "virtio":
            if r.arg not in VIRTIO_STRUCTURES:
                raise AtlasError(
                    r.arg_span,
                    f"unknown virtio structure '{r.arg}'",
                    note="virtio PCI structures are " + ", ".join(VIRTIO_STRUCTURES),
                )
            if r.offset:
                raise AtlasError(r.span, "a virtio structure starts where its capability says; no offset")
        regions[r.name] = ir.Region(r.name, r.source, r.arg, r.offset, span=r.span)
    return regions


def _register(r, regions: dict[str, ir.Region]) -> ir.Register:
    """One register (or register array) of a description, checked."""
    if r.name in BUILTINS:
        raise AtlasError(r.name_span, f"'{r.name}' names a built-in; choose another name")
    ty = typecheck.scalar_type(r.ty)
    if not (ty.is_int and not ty.signed):
        raise AtlasError(r.ty.span, f"a register is u8, u16, u32 or u64, found {ty}")
    if r.region not in regions:
        close = difflib.get_close_matches(r.region, list(regions), n=1)
        raise AtlasError(
            r.region_span,
            f"unknown region '{r.region}'",
            note=f"did you mean '{close[0]}'?" if close else "declare it: `region NAME = bar(N);`",
        )
    size = ty.bits // 8
    if r.offset.value % size:
        raise AtlasError(r.offset.span, f"a {ty} register must sit at a multiple of {size} bytes")
    count, stride = _array_shape(r, ty, regions)
    return ir.Register(r.name, ty, r.region, r.offset.value, r.access, _fields(r, ty), count, stride, r.span)


def _array_shape(r, ty: ir.Scalar, regions: dict[str, ir.Region]):
    """(count, stride) of a register array; (None, None) for one register."""
    size = ty.bits // 8
    count = stride = None
    if r.count is not None:
        count = r.count.value
        if count < 1:
            raise AtlasError(r.count.span, "a register array has at least one element")
        if r.stride is None:
            raise AtlasError(
                r.span,
                "a register array needs `stride BYTES` (the distance between elements)",
                note=f"e.g. `register {r.name}: {ty}[{count}] at {r.region} + {r.offset.text} "
                f"stride {size} {r.access}`",
            )
        if isinstance(r.stride, FieldRefA):
            region = regions.get(r.stride.owner)
            if region is None or region.source != "virtio" or region.arg != "notify" or r.stride.name != "multiplier":
                raise AtlasError(
                    r.stride.span, "a stride is a number of bytes, or `R.multiplier` for a region R = virtio(notify)"
                )
            stride = (r.stride.owner, r.stride.name)
        else:
            stride = r.stride.value
            if stride < size or stride % size:
                raise AtlasError(r.stride.span, f"the stride of {ty} registers is a multiple of {size} bytes")
    elif r.stride is not None:
        raise AtlasError(r.stride.span, "only a register array (`R: u32[N] at ...`) has a stride")
    return count, stride


def _fields(r, ty: ir.Scalar) -> tuple[ir.Field, ...]:
    """A register's named bit fields: within it, and not overlapping."""
    fields: dict[str, ir.Field] = {}
    for f in r.fields:
        if f.name in fields:
            raise AtlasError(f.span, f"field '{f.name}' of {r.name} is declared twice")
        if f.lo > f.hi:
            raise AtlasError(f.span, f"field {f.name}'s bits run from low to high: write {f.hi}..{f.lo}")
        if f.hi >= ty.bits:
            raise AtlasError(
                f.span,
                f"{_bits(f.lo, f.hi)} not within a {ty} register",
                note=f"a {ty} register has bits 0..{ty.bits - 1}",
            )
        fld = ir.Field(f.name, f.lo, f.hi)
        for g in fields.values():
            if g.mask & fld.mask:
                raise AtlasError(
                    f.span,
                    f"field {f.name} ({_bits(f.lo, f.hi, False)}) overlaps "
                    f"field {g.name} ({_bits(g.lo, g.hi, False)}) of {r.name}",
                )
        fields[f.name] = fld
    return tuple(fields.values())


def check_devices(asts) -> tuple[ir.Device, ...]:
    """Check every description of the parsed files; names are unique.  A
    description that extends a base is checked with the base's regions,
    registers and operations in front of its own."""
    texts = {a.file: a.text for a in asts}
    described: dict[str, DeviceA] = {}
    out = []
    try:
        for a in asts:
            for d in a.devices:
                if d.name in described:
                    raise AtlasError(
                        d.name_span,
                        f"device '{d.name}' is described twice",
                        note=f"first at {described[d.name].name_span}",
                    )
                described[d.name] = d
        for d in described.values():
            out.append(_device(_with_base(d, described)))
    except AtlasError as err:
        src = texts.get(err.span.file) if err.span else None
        raise (err.with_source(src) if src is not None else err) from None
    return tuple(out)


def _with_base(d: DeviceA, described: dict[str, DeviceA], seen=()) -> DeviceA:
    if d.extends is None:
        return d
    name, span = d.extends
    base = described.get(name)
    if base is None:
        close = difflib.get_close_matches(name, [k for k, v in described.items() if v.is_base], n=1)
        raise AtlasError(
            span,
            f"unknown base description '{name}'",
            note=f"did you mean '{close[0]}'?"
            if close
            else "a base is a `device NAME { ... }` without `matches`, in one of the files compiled",
        )
    if not base.is_base:
        raise AtlasError(
            span, f"'{name}' matches a device of its own; only a description without `matches` can be extended"
        )
    if name in seen or name == d.name:
        raise AtlasError(span, f"'{d.name}' extends itself through '{name}'")
    base = _with_base(base, described, seen + (d.name,))
    for kind in ("regions", "registers", "funcs"):
        have = {x.name: x for x in getattr(base, kind)}
        for x in getattr(d, kind):
            if x.name in have:
                raise AtlasError(
                    x.name_span,
                    f"'{x.name}' is already declared by the base '{name}'",
                    note=f"at {have[x.name].name_span}",
                )
    return replace(
        d, regions=base.regions + d.regions, registers=base.registers + d.registers, funcs=base.funcs + d.funcs
    )


# ---------------------------------------------------------------- placing


def matches(dev: ir.Device, pci: PciDevice) -> bool:
    for key, value in dev.match:
        have = pci.ident(key)
        try:
            if have is None or int(str(have), 16) != value:
                return False
        except ValueError:
            return False
    return True


def place(dev: ir.Device, pci: PciDevice) -> ir.Device:
    """Fix `dev` to the probed PCI device `pci`: each region's BAR, base and
    size, each stride's value.  Raises ValueError saying why it cannot be."""
    bars = {b.index: b for b in pci.bars}
    caps = {c.type: c for c in pci.virtio or ()}
    where = pci.address
    regions = {}
    for r in dev.regions:
        if isinstance(r.arg, int):  # bar(N): the region's BAR as written
            regions[r.name] = _bar_region(r, r.arg, bars, where)
        else:
            regions[r.name] = _virtio_region(r, r.arg, bars, caps, where)
    regs = [_placed_register(g, regions, caps, where) for g in dev.registers]
    return replace(dev, regions=tuple(regions[r.name] for r in dev.regions), registers=tuple(regs), address=where)


def _bar_region(r: ir.Region, index: int, bars: dict[int, Bar], where: str) -> ir.Region:
    """Region `r`, written `bar(index)`, placed in that BAR of the device at `where`."""
    bar = bars.get(index)
    if bar is None:
        raise ValueError(f"{where} has no BAR {index} (region '{r.name}')")
    if bar.kind != "mem":
        raise ValueError(f"BAR {index} of {where} is {bar.kind} space; region '{r.name}' needs memory-mapped registers")
    if r.offset >= bar.size:
        raise ValueError(f"region '{r.name}' starts past the end of BAR {index} of {where}")
    return replace(r, bar=index, base=r.offset, size=bar.size - r.offset)


def _virtio_region(
    r: ir.Region, structure: str, bars: dict[int, Bar], caps: dict[int, VirtioStructure], where: str
) -> ir.Region:
    """Region `r`, written `virtio(structure)`, placed where the probe found
    that structure of the device at `where` (`caps`, by type)."""
    cap = caps.get(VIRTIO_STRUCTURES[structure])
    if cap is None:
        raise ValueError(
            f"the probe lists no virtio {structure} structure for {where} (region "
            f"'{r.name}'; a probe must read the device's PCI capabilities)"
        )
    bar = bars.get(cap.bar)
    if bar is None or bar.kind != "mem":
        raise ValueError(f"the virtio {structure} structure of {where} is in BAR {cap.bar}, which is not a memory BAR")
    if cap.offset + cap.length > bar.size:
        # A structure the BAR cannot hold: its registers would be past the BAR's end.
        raise ValueError(
            f"the virtio {structure} structure of {where} ends at byte "
            f"{cap.offset + cap.length:#x} of BAR {cap.bar}, "
            f"which is {bar.size:#x} bytes"
        )
    return replace(r, bar=cap.bar, base=cap.offset, size=cap.length)


def _placed_register(
    g: ir.Register, regions: dict[str, ir.Region], caps: dict[int, VirtioStructure], where: str
) -> ir.Register:
    """Register `g` with its stride's value (a virtio notify multiplier, from
    `caps`), checked to lie within its placed region."""
    stride = g.stride
    if isinstance(stride, tuple):
        cap = caps[VIRTIO_STRUCTURES["notify"]]
        stride = cap.multiplier
        if stride is None:
            raise ValueError(f"the probe gives no notify multiplier for {where}")
        if stride % (g.ty.bits // 8):
            raise ValueError(
                f"the notify multiplier of {where} is {stride}, so the elements of "
                f"{g.name} ({g.ty}) would not be aligned"
            )
    width = g.ty.bits // 8
    end = g.offset + width + (0 if g.count is None else (g.count - 1) * (stride or 0))
    if end > (regions[g.region].size or 0):
        raise ValueError(
            f"register {g.name} ends at byte {end:#x} of region '{g.region}', "
            f"which is {regions[g.region].size:#x} bytes on {where}"
        )
    # A multiplier of 0 means every queue shares one address (virtio
    # 4.1.4.4): the stride stays 0, and every element is that address.
    return replace(g, stride=stride)


@dataclass(frozen=True)
class Selection:
    placed: tuple[tuple[ir.Device, tuple[str, ...]], ...]  # one placed description, the addresses it serves
    absent: tuple[ir.Device, ...]  # no probed device matches
    unplaced: tuple[tuple[ir.Device, str, str], ...]  # (description, address, why)
    undescribed: tuple[PciDevice, ...] = ()  # probed devices no description matches


def select(devices, probe: Probe) -> Selection:
    """The descriptions that match devices in the probe, placed.  Devices
    of one kind with the same placement share one stub."""
    placed, absent, unplaced = [], [], []
    for dev in devices:
        if not dev.match:  # a base: only the descriptions extending it are devices
            continue
        found = [p for p in probe.pci if matches(dev, p)]
        if not found:
            absent.append(dev)
            continue
        groups: dict[ir.Device, list[str]] = {}
        for p in found:
            try:
                d = place(dev, p)
            except ValueError as why:
                unplaced.append((dev, p.address, str(why)))
                continue
            groups.setdefault(replace(d, address=None), []).append(p.address)
        for d, addrs in groups.items():
            placed.append((replace(d, address=addrs[0]), tuple(addrs)))
    undescribed = tuple(p for p in probe.pci if not any(d.match and matches(d, p) for d in devices))
    return Selection(tuple(placed), tuple(absent), tuple(unplaced), undescribed)


# ---------------------------------------------------------------- running


def run(dev: ir.Device, op: str, *args, bus, fuel: int | None = None):
    """Run operation `op` of a placed device against `bus`; arrays are
    updated in place.  The bus sees every access, in order."""
    if any(r.bar is None for r in dev.regions):
        raise ValueError(f"{dev.name} is not placed on a probed device")
    return interp.run(dev, op, *args, fuel=fuel, bus=bus)
