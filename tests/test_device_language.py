"""Device descriptions (`device NAME matches pci(...) { ... }`): what the
front end makes of them, where placement puts them on a probe, what their
operations do against a recording bus, and the probe's reading of virtio
capabilities from PCI config space."""

from __future__ import annotations

import copy
from dataclasses import replace
import glob
import json
import os
from pathlib import Path

import numpy as np
import pytest

from atlas.front import devices
from atlas.meaning import interp, ir
from atlas.machine import probe as hwprobe
from atlas.front.check import check
from atlas.front.diagnostics import AtlasError
from atlas.meaning.ir import U8, U16, U32
from atlas.machine.probe import Probe, ProbeError, virtio_structures
from atlas.front.specialise import specialise
from atlas.front.syntax import parse

FIXTURES = Path(__file__).parent / "fixtures"
POPCNT = FIXTURES / "probe-popcnt.json"  # an e1000 (8086:100e) at 0000:00:03.0: mem BAR 0, io BAR 1
NOPOPCNT = FIXTURES / "probe-nopopcnt.json"  # an RTL8139 (10ec:8139) at 0000:00:04.0: io BAR 0, mem BAR 1
VIRTIO = FIXTURES / "probe-virtio.json"  # virtio devices listing their structures

E1000 = """
device e1000 matches pci(vendor = 0x8086, device = 0x100e) {
    region regs = bar(0);
    register CTRL: u32 at regs + 0x0000 rw { FD = 0; SLU = 6; RST = 26; }
    register STATUS: u32 at regs + 0x0008 ro { LU = 1; SPEED = 6..7; }
    register RAL: u32[16] at regs + 0x5400 stride 8 rw;
    register RAH: u32[16] at regs + 0x5404 stride 8 rw { AV = 31; }
    fn reset() -> bool {
        write(CTRL, read(CTRL) | CTRL.RST);
        poll read(CTRL) & CTRL.RST == 0 within 1000 every 10 else { return false; }
        return true;
    }
}
"""

RTL = """
device rtl8139 matches pci(vendor = 0x10ec, device = 0x8139) {
    region regs = bar(1);
    register IDR: u8[6] at regs + 0x00 stride 1 rw;
    register CR: u8 at regs + 0x37 rw { BUFE = 0; TE = 2; RE = 3; RST = 4; }
    register IMR: u16 at regs + 0x3c rw;
    register TSD: u32[4] at regs + 0x10 stride 4 rw;
}
"""

VIRTIO_NET = """
device virtio_net matches pci(vendor = 0x1af4, device = 0x1041) {
    region common = virtio(common);
    region notify = virtio(notify);
    region isr = virtio(isr);
    region config = virtio(device);
    register DEVICE_STATUS: u8 at common + 0x14 rw { ACK = 0; DRIVER = 1; DRIVER_OK = 2; }
    register QUEUE_SELECT: u16 at common + 0x16 rw;
    register ISR: u8 at isr + 0 ro;
    register MAC: u8[6] at config + 0 stride 1 ro;
    register QUEUE_NOTIFY: u16[8] at notify + 0 stride notify.multiplier wo;
    fn kick(q: u16) { write(QUEUE_NOTIFY[q], q); }
}
"""


def describe(src: str, name: str | None = None) -> ir.Device:
    """The checked description (the only one, or `name`) of a source."""
    devs = check(parse(src, "d.ax")).devices
    return devs[0] if name is None else next(d for d in devs if d.name == name)


def load(path: Path) -> Probe:
    return hwprobe.load_probe(path)


def raw(path: Path) -> dict:
    """A probe file's JSON, validated and normalised, to change in a test."""
    return load(path).to_json()


def placed(src: str, probe: Probe) -> ir.Device:
    sel = devices.select([describe(src)], probe)
    assert len(sel.placed) == 1, sel
    return sel.placed[0][0]


def unplaced_reason(src: str, probe: Probe) -> str:
    sel = devices.select([describe(src)], probe)
    assert not sel.placed and len(sel.unplaced) == 1, sel
    return sel.unplaced[0][2]


def on_e1000(body: str, registers: str = "") -> ir.Device:
    """A small e1000 description with operations `body`, placed on the fixture."""
    src = f"""
device e1000 matches pci(vendor = 0x8086, device = 0x100e) {{
    region regs = bar(0);
    register CTRL: u32 at regs + 0x0000 rw {{ FD = 0; SLU = 6; RST = 26; }}
    register STATUS: u32 at regs + 0x0008 ro {{ LU = 1; SPEED = 6..7; }}
    register RAL: u32[16] at regs + 0x5400 stride 8 rw;
    register RAH: u32[16] at regs + 0x5404 stride 8 rw;
    register SMALL: u8 at regs + 0x0100 rw {{ LOW = 0..3; HIGH = 4..7; }}
    register HALF: u16 at regs + 0x0102 rw;
    register ICS: u32 at regs + 0x00c8 wo;
    {registers}
    {body}
}}"""
    return placed(src, load(POPCNT))


class Bus:
    """A device's registers as a test sees them: every access logged in
    order.  A read returns the next value scripted for its address (the
    last one repeats), else what was last written there, else 0."""

    def __init__(self, script: dict | None = None):
        self.script = {k: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in (script or {}).items()}
        self.memory: dict[tuple[int, int], int] = {}
        self.log: list[tuple] = []
        self.polls: list[bool] = []

    def read(self, bar, offset, bits):
        self.log.append(("read", bar, offset, bits))
        values = self.script.get((bar, offset))
        if values:
            return values.pop(0) if len(values) > 1 else values[0]
        return self.memory.get((bar, offset), 0)

    def write(self, bar, offset, bits, value):
        self.log.append(("write", bar, offset, bits, value))
        self.memory[(bar, offset)] = value
        self.script.pop((bar, offset), None)

    def delay(self, us):
        self.log.append(("delay", us))

    def polled(self, stmt, held):
        self.polls.append(held)


RST = 1 << 26


# ================================================================ front end


def test_description_checks_into_a_device():
    d = describe(E1000)
    assert d.name == "e1000"
    assert d.match == (("vendor", 0x8086), ("device", 0x100E))
    assert d.ids == "8086:100e"
    assert d.address is None
    assert d.regions == (ir.Region("regs", "bar", 0, 0),)
    ctrl, status, ral, rah = d.registers
    assert ctrl == ir.Register(
        "CTRL", U32, "regs", 0, "rw", (ir.Field("FD", 0, 0), ir.Field("SLU", 6, 6), ir.Field("RST", 26, 26))
    )
    assert [f.mask for f in ctrl.fields] == [1, 1 << 6, 1 << 26]
    assert status.access == "ro" and status.offset == 8
    assert status.field("SPEED") == ir.Field("SPEED", 6, 7) and status.field("SPEED").mask == 0xC0
    assert (ral.count, ral.stride, ral.offset, ral.fields) == (16, 8, 0x5400, ())
    assert (rah.count, rah.stride, rah.offset) == (16, 8, 0x5404)
    assert rah.field("AV").mask == 1 << 31
    assert [f.name for f in d.ops] == ["reset"]
    reset = d.function("reset")
    assert reset.ret == ir.BOOL and reset.params == ()
    write, poll, ret = reset.body
    assert isinstance(write, ir.RegWrite) and write.reg == "CTRL" and write.index is None
    assert isinstance(write.value, ir.Binary) and isinstance(write.value.a, ir.RegRead)
    assert write.value.b == ir.Const(RST, U32)  # a field as a value is its mask
    assert isinstance(poll, ir.Poll) and (poll.tries, poll.every) == (1000, 10)
    assert isinstance(poll.else_[0], ir.Return)


def test_register_sizes_offsets_and_extra_match_keys():
    d = describe("""
    device nic matches pci(vendor = 0x10ec, device = 0x8139, subsystem_vendor = 0x1af4,
                           subsystem_device = 0x1100, revision = 0x20,) {
        region regs = bar(1) + 0x40;
        register A: u8 at regs + 0x01 rw;
        register B: u16 at regs + 0x02 rw;
        register C: u64 at regs + 0x08 rw { TOP = 63; ALL = 0..62; }
        register D: u16[3] at regs + 0x10 stride 6 wo;
    }""")
    assert dict(d.match) == {
        "vendor": 0x10EC,
        "device": 0x8139,
        "subsystem_vendor": 0x1AF4,
        "subsystem_device": 0x1100,
        "revision": 0x20,
    }
    assert d.region("regs") == ir.Region("regs", "bar", 1, 0x40)
    assert [(g.name, g.ty, g.offset) for g in d.registers] == [
        ("A", U8, 1),
        ("B", U16, 2),
        ("C", ir.U64, 8),
        ("D", U16, 0x10),
    ]
    assert d.register("C").field("TOP").mask == 1 << 63
    assert d.register("C").field("ALL").mask == (1 << 63) - 1
    assert (d.register("D").count, d.register("D").stride, d.register("D").access) == (3, 6, "wo")


def test_virtio_regions_and_a_stride_from_the_probe():
    d = describe(VIRTIO_NET)
    assert [(r.name, r.source, r.arg) for r in d.regions] == [
        ("common", "virtio", "common"),
        ("notify", "virtio", "notify"),
        ("isr", "virtio", "isr"),
        ("config", "virtio", "device"),
    ]
    assert d.register("QUEUE_NOTIFY").stride == ("notify", "multiplier")
    assert d.register("MAC").stride == 1


def test_descriptions_and_functions_live_side_by_side():
    m = check(parse("fn twice(x: u32) -> u32 { return x * 2; }\n" + E1000 + RTL, "both.ax"))
    assert [f.name for f in m.functions] == ["twice"]
    assert [d.name for d in m.devices] == ["e1000", "rtl8139"]


def test_a_device_described_in_two_files_is_refused():
    with pytest.raises(AtlasError, match="device 'e1000' is described twice"):
        check(parse(E1000, "a.ax"), parse(E1000, "b.ax"))


BASE = """
device nic_base {
    region regs = bar(0);
    register CTRL: u32 at regs + 0x0000 rw { RST = 26; }
    fn reset() { write(CTRL, CTRL.RST); }
}
"""


def test_a_description_extends_a_base():
    src = (
        BASE
        + """
device e1000 matches pci(vendor = 0x8086, device = 0x100e) extends nic_base {
    register STATUS: u32 at regs + 0x0008 ro { LU = 1; }
    fn init() -> bool { reset(); return read(STATUS) & STATUS.LU != 0; }
}
"""
    )
    m = check(parse(src, "base.ax"))
    base, dev = m.devices
    assert base.match == () and base.ids == "base"
    assert [r.name for r in dev.regions] == ["regs"]
    assert [g.name for g in dev.registers] == ["CTRL", "STATUS"]
    assert [f.name for f in dev.ops] == ["reset", "init"]
    sel = devices.select(m.devices, load(FIXTURES / "probe-popcnt.json"))
    assert [d.name for d, _ in sel.placed] == ["e1000"] and sel.absent == ()  # the base is neither


def test_a_base_may_live_in_another_file():
    derived = "device e1000 matches pci(vendor = 0x8086, device = 0x100e) extends nic_base {}"
    m = check(parse(derived, "e1000.ax"), parse(BASE, "base.ax"))
    assert [f.name for f in m.devices[0].ops] == ["reset"]


@pytest.mark.parametrize(
    "derived,message",
    [
        ("device a matches pci(vendor = 1, device = 2) extends nic_bse {}", "unknown base description 'nic_bse'"),
        (
            "device a matches pci(vendor = 1, device = 2) extends nic_base { register CTRL: u32 at regs + 4 rw; }",
            "'CTRL' is already declared by the base 'nic_base'",
        ),
        (
            "device a matches pci(vendor = 1, device = 2) extends nic_base {}\n"
            "device b matches pci(vendor = 1, device = 3) extends a {}",
            "'a' matches a device of its own",
        ),
        ("device x extends y {}\ndevice y extends x {}", "extends itself"),
    ],
)
def test_bad_extends_is_refused_at_its_name(derived, message):
    with pytest.raises(AtlasError, match=message) as err:
        check(parse(BASE + derived, "d.ax"))
    assert err.value.span.line >= BASE.count("\n") + 1
    assert "^" in str(err.value)


def test_unsuffixed_literals_in_an_operation_are_unsigned():
    d = describe(E1000.replace("fn reset", "fn count() -> u32 { let n = 0; n += 1; return n; }\n    fn reset"))
    let = d.function("count").body[0]
    assert let.ty == U32


def test_poll_prints_back():
    assert (
        ir.pretty_function(describe(E1000).function("reset"))
        == """fn reset() -> bool {
    write(CTRL, (read(CTRL) | 0x4000000u32));
    poll ((read(CTRL) & 0x4000000u32) == 0u32) within 1000 every 10 else {
        return false;
    }
    return true;
}"""
    )


# ---------------------------------------------------------------- soft keywords

SOFT = ["device", "matches", "region", "register", "at", "stride", "within", "every"]


@pytest.mark.parametrize("word", SOFT)
def test_soft_keywords_stay_names_in_plain_functions(word):
    src = f"""
    fn {word}(x: u32) -> u32 {{ return x + 1; }}
    fn f(n: u64, out: mut [u32; n], {word}: u32) -> u32 {{
        let s = {word}({word});
        for i in 0..n {{ out[i] = s; }}
        let t: u32 = {word};
        t += 1;
        if {word} > 3 {{ return t; }}
        return s;
    }}
    fn g(n: u64, {word}: mut [u32; n]) -> u32 {{
        let k = 0u32;
        for {word}_i in 0..n {{ k += 1; }}
        {word}[0] = k;
        return {word}[0];
    }}"""
    m = specialise(
        check(parse(src, "soft.ax")),
        {"cpu": {"arch": "x86_64", "features": [], "cores": 1, "threads": 1, "cache": {}}, "pci": []},
    )[0]
    out = np.zeros(2, np.uint32)
    assert interp.run(m, "f", 2, out, 5) == 6 and out.tolist() == [6, 6]
    assert interp.run(m, "f", 2, out, 1) == 2
    arr = np.zeros(3, np.uint32)
    assert interp.run(m, "g", 3, arr) == 3 and arr[0] == 3


def test_soft_keywords_as_names_inside_a_description():
    d = placed(
        """
    device e1000 matches pci(vendor = 0x8086, device = 0x100e) {
        region at = bar(0);
        register every: u32 at at + 0x8 rw { within = 0..3; }
        fn stride() -> u32 {
            let device = read(every);
            let region = 0u32;
            if device == 0 { return 99; }
            region += 1;
            for i in 0..2 { }
            register(device);
            let matches = get(every.within, device);
            return matches + region;
        }
        fn register(v: u32) { }
    }""",
        load(POPCNT),
    )
    assert devices.run(d, "stride", bus=Bus({(0, 8): 0xA5})) == 6
    assert devices.run(d, "stride", bus=Bus()) == 99


@pytest.mark.parametrize("word", ["device", "region", "register"])
def test_a_statement_may_start_with_a_soft_keyword_after_a_block(word):
    # After an `if`'s `}` the parser also used to accept what follows a whole
    # function (`device`, `region`, `register`), so the name lexed as that keyword.
    src = f"""fn f(x: u32) -> u32 {{
        let {word} = x;
        if x > 1 {{ }} else {{ }}
        {word} += 1;
        for i in 0..x {{ }}
        {word} = {word} * 2;
        return {word};
    }}"""
    m = check(parse(src, "after.ax"))
    assert interp.run(m, "f", 3) == 8


@pytest.mark.parametrize(
    "src",
    [
        "fn f(poll: u32) -> u32 { return poll; }",
        "fn f(x: u32) -> u32 { let poll = x; return poll; }",
        "fn f(x: u32) -> u32 { poll = x; return x; }",
        "fn poll() {}",
    ],
)
def test_poll_is_reserved(src):
    with pytest.raises(AtlasError, match="'poll' is a keyword and cannot be used as a name"):
        check(parse(src, "p.ax"))


# ================================================================ interpreter


def test_read_modify_write_makes_exactly_two_accesses():
    d = on_e1000("fn set_link_up() { write(CTRL, read(CTRL) | CTRL.SLU); }")
    bus = Bus({(0, 0): 0x0000_0201})
    assert devices.run(d, "set_link_up", bus=bus) is None
    assert bus.log == [("read", 0, 0, 32), ("write", 0, 0, 32, 0x0000_0241)]


def test_clearing_a_bit_through_a_let():
    d = on_e1000("""fn clear_fd() -> u32 {
        let v = read(CTRL);
        write(CTRL, v & ~CTRL.FD);
        return v;
    }""")
    bus = Bus({(0, 0): 0xFFFF_FFFF})
    assert devices.run(d, "clear_fd", bus=bus) == 0xFFFF_FFFF
    assert bus.log == [("read", 0, 0, 32), ("write", 0, 0, 32, 0xFFFF_FFFE)]


@pytest.mark.parametrize("k", [1, 2, 5])
def test_poll_that_holds_at_try_k(k):
    d = placed(E1000, load(POPCNT))
    # After the write, CTRL reads back with RST set k-1 times, then clear.
    bus = Bus()
    bus.write = lambda bar, off, bits, v: (
        bus.log.append(("write", bar, off, bits, v)),
        bus.script.__setitem__((bar, off), [v] * (k - 1) + [0]),
    )
    bus.script[(0, 0)] = [0x40]
    assert devices.run(d, "reset", bus=bus) is True
    polls = [("read", 0, 0, 32)] + [("delay", 10), ("read", 0, 0, 32)] * (k - 1)
    assert bus.log == [("read", 0, 0, 32), ("write", 0, 0, 32, 0x40 | RST)] + polls
    assert bus.polls == [True]


def test_poll_that_never_holds_reads_n_times_then_runs_else():
    d = on_e1000("""fn wait_link() -> u32 {
        let tries = 0u32;
        poll read(STATUS) & STATUS.LU != 0 within 4 every 25 else {
            write(CTRL, CTRL.RST);
            return 0;
        }
        return 1;
    }""")
    bus = Bus({(0, 8): 0})
    assert devices.run(d, "wait_link", bus=bus) == 0
    reads = [e for e in bus.log if e[0] == "read"]
    delays = [e for e in bus.log if e[0] == "delay"]
    assert reads == [("read", 0, 8, 32)] * 4
    assert delays == [("delay", 25)] * 3
    assert bus.log == [("read", 0, 8, 32), ("delay", 25)] * 3 + [("read", 0, 8, 32), ("write", 0, 0, 32, RST)]
    assert bus.polls == [False]


def test_poll_that_names_its_value_reads_once_per_try_and_keeps_the_last():
    d = on_e1000("""fn speed() -> u32 {
        poll s = read(STATUS) until s & STATUS.LU != 0 within 3 every 5 else { return 9 + get(STATUS.SPEED, s); }
        return get(STATUS.SPEED, s);
    }""")
    bus = Bus({(0, 8): [0x80, 0x40 | 2]})  # link down at 1000 Mb/s, then up at 100
    assert devices.run(d, "speed", bus=bus) == 1
    assert bus.log == [("read", 0, 8, 32), ("delay", 5), ("read", 0, 8, 32)]
    bus = Bus({(0, 8): [0x00, 0x00, 0xC0]})  # never up: the last value read is kept
    assert devices.run(d, "speed", bus=bus) == 9 + 3
    assert bus.log == [("read", 0, 8, 32), ("delay", 5)] * 2 + [("read", 0, 8, 32)]


def test_a_named_poll_may_not_read_again_in_its_condition():
    with pytest.raises(AtlasError, match="accesses the device more than once"):
        on_e1000("""fn f() -> bool {
            poll s = read(STATUS) until read(STATUS) & s != 0 within 3 else { return false; }
            return true;
        }""")


def test_poll_without_every_never_pauses():
    d = on_e1000("""fn wait() -> bool {
        poll read(STATUS) & STATUS.LU != 0 within 3 else { return false; }
        return true;
    }""")
    bus = Bus({(0, 8): 0})
    assert devices.run(d, "wait", bus=bus) is False
    assert bus.log == [("read", 0, 8, 32)] * 3
    bus = Bus({(0, 8): [0, 0, 2]})
    assert devices.run(d, "wait", bus=bus) is True
    assert bus.log == [("read", 0, 8, 32)] * 3


def test_poll_once_and_delay():
    d = on_e1000("""fn settle() -> bool {
        delay(100);
        poll read(STATUS) & STATUS.LU != 0 within 1 every 50 else { return false; }
        return true;
    }""")
    bus = Bus({(0, 8): 0})
    assert devices.run(d, "settle", bus=bus) is False
    assert bus.log == [("delay", 100), ("read", 0, 8, 32)]  # one try: no pause after it


def test_register_array_elements_and_past_the_end():
    d = on_e1000("""
    fn get_ral(i: u32) -> u32 { return read(RAL[i]); }
    fn set_ral(i: u32, v: u32) { write(RAL[i], v); }
    """)
    bus = Bus({(0, 0x5400 + 3 * 8): 0x1234})
    assert devices.run(d, "get_ral", 3, bus=bus) == 0x1234
    assert devices.run(d, "get_ral", 15, bus=bus) == 0
    assert bus.log == [("read", 0, 0x5418, 32), ("read", 0, 0x5400 + 15 * 8, 32)]
    bus = Bus({(0, 0x5400 + 16 * 8): 0xDEAD})
    assert devices.run(d, "get_ral", 16, bus=bus) == 0  # past the end: 0, and no access
    assert devices.run(d, "get_ral", 0xFFFF_FFFF, bus=bus) == 0
    devices.run(d, "set_ral", 16, 7, bus=bus)  # past the end: nothing
    devices.run(d, "set_ral", 1000, 7, bus=bus)
    assert bus.log == []
    devices.run(d, "set_ral", 0, 7, bus=bus)
    assert bus.log == [("write", 0, 0x5400, 32, 7)]


def test_get_and_put_on_multi_bit_fields():
    d = on_e1000("""
    fn speed() -> u32 { return get(STATUS.SPEED, read(STATUS)); }
    fn speed_of(v: u32) -> u32 { return get(STATUS.SPEED, v); }
    fn with_speed(s: u32) -> u32 { return put(STATUS.SPEED, s); }
    fn nibbles(lo: u8, hi: u8) { write(SMALL, put(SMALL.LOW, lo) | put(SMALL.HIGH, hi)); }
    fn high() -> u8 { return get(SMALL.HIGH, read(SMALL)); }
    """)
    bus = Bus({(0, 8): 0xFFFF_FF3F | (2 << 6)})
    assert devices.run(d, "speed", bus=bus) == 2
    assert bus.log == [("read", 0, 8, 32)]
    assert devices.run(d, "speed_of", 0xC0, bus=Bus()) == 3
    assert devices.run(d, "speed_of", 0x3F, bus=Bus()) == 0
    assert devices.run(d, "with_speed", 2, bus=Bus()) == 0x80
    assert devices.run(d, "with_speed", 5, bus=Bus()) == 0x40  # too wide: cut to the field
    bus = Bus()
    devices.run(d, "nibbles", 0x1A, 0x2B, bus=bus)
    assert bus.log == [("write", 0, 0x100, 8, 0xBA)]
    assert devices.run(d, "high", bus=Bus({(0, 0x100): 0xC3})) == 0xC


def test_an_operation_calls_another():
    d = on_e1000("""
    fn link_up() -> bool { return read(STATUS) & STATUS.LU != 0; }
    fn set_bit(m: u32) { write(CTRL, read(CTRL) | m); }
    fn bring_up() -> u32 {
        if link_up() { return 1; }
        set_bit(CTRL.SLU);
        return 0;
    }""")
    bus = Bus({(0, 8): 2})
    assert devices.run(d, "bring_up", bus=bus) == 1
    assert bus.log == [("read", 0, 8, 32)]
    bus = Bus({(0, 8): 0, (0, 0): 1})
    assert devices.run(d, "bring_up", bus=bus) == 0
    assert bus.log == [("read", 0, 8, 32), ("read", 0, 0, 32), ("write", 0, 0, 32, 0x41)]


def test_array_parameters_are_updated_in_place():
    d = on_e1000("""
    fn read_mac(mac: mut [u8; 6]) {
        let lo = read(RAL[0]);
        let hi = read(RAH[0]);
        for i in 0..4 { mac[i] = (lo >> (8 * i)) as u8; }
        mac[4] = hi as u8;
        mac[5] = (hi >> 8) as u8;
    }
    fn mac_via(mac: mut [u8; 6]) { read_mac(mac); mac[0] += 1; }
    fn write_mac(mac: [u8; 6]) {
        let lo = mac[0] as u32 | (mac[1] as u32) << 8 | (mac[2] as u32) << 16 | (mac[3] as u32) << 24;
        write(RAL[0], lo);
        write(RAH[0], mac[4] as u32 | (mac[5] as u32) << 8);
    }""")
    script = {(0, 0x5400): 0x3412_5400, (0, 0x5404): 0x8000_5652}
    mac = np.zeros(6, np.uint8)
    bus = Bus(script)
    assert devices.run(d, "read_mac", mac, bus=bus) is None
    assert mac.tolist() == [0x00, 0x54, 0x12, 0x34, 0x52, 0x56]
    assert bus.log == [("read", 0, 0x5400, 32), ("read", 0, 0x5404, 32)]
    mac2 = np.zeros(6, np.uint8)
    devices.run(d, "mac_via", mac2, bus=Bus(script))
    assert mac2.tolist() == [0x01, 0x54, 0x12, 0x34, 0x52, 0x56]
    bus = Bus()
    devices.run(d, "write_mac", np.array([1, 2, 3, 4, 5, 6], np.uint8), bus=bus)
    assert bus.log == [("write", 0, 0x5400, 32, 0x0403_0201), ("write", 0, 0x5404, 32, 0x0605)]
    with pytest.raises(ValueError, match="6"):
        devices.run(d, "read_mac", np.zeros(5, np.uint8), bus=Bus())


def test_reads_wider_than_the_register_are_masked():
    d = on_e1000("""
    fn small() -> u8 { return read(SMALL); }
    fn half() -> u16 { return read(HALF); }
    fn word() -> u32 { return read(CTRL); }
    fn half_wide() -> u32 { return read(HALF) as u32; }
    """)
    assert devices.run(d, "small", bus=Bus({(0, 0x100): 0x1FF})) == 0xFF
    assert devices.run(d, "half", bus=Bus({(0, 0x102): 0x12345})) == 0x2345
    assert devices.run(d, "word", bus=Bus({(0, 0): (1 << 40) | 7})) == 7
    bus = Bus({(0, 0x102): 0xFFFF_FFFF})
    assert devices.run(d, "half_wide", bus=bus) == 0xFFFF
    assert bus.log == [("read", 0, 0x102, 16)]


def test_writes_carry_the_register_width():
    d = on_e1000("""
    fn go(v: u8, h: u16) { write(SMALL, v); write(HALF, h); write(ICS, 1); }
    """)
    bus = Bus()
    devices.run(d, "go", 0xAB, 0xBEEF, bus=bus)
    assert bus.log == [("write", 0, 0x100, 8, 0xAB), ("write", 0, 0x102, 16, 0xBEEF), ("write", 0, 0xC8, 32, 1)]


def test_an_unplaced_description_does_not_run():
    with pytest.raises(ValueError, match="not placed"):
        devices.run(describe(E1000), "reset", bus=Bus())


# ================================================================ placement


def test_bar_region_on_the_fixture_probe():
    d = placed(E1000, load(POPCNT))
    assert d.address == "0000:00:03.0"
    assert d.region("regs") == ir.Region("regs", "bar", 0, 0, bar=0, base=0, size=131072)
    assert d.locate("CTRL", None) == (0, 0)
    assert d.locate("RAL", 2) == (0, 0x5410)
    assert d.locate("RAL", 16) is None
    off = placed(E1000.replace("bar(0);", "bar(0) + 0x100;"), load(POPCNT))
    assert off.region("regs") == ir.Region("regs", "bar", 0, 0x100, bar=0, base=0x100, size=131072 - 0x100)
    assert off.locate("STATUS", None) == (0, 0x108)


def test_mem_bar_of_the_rtl8139():
    d = placed(RTL, load(NOPOPCNT))
    assert d.address == "0000:00:04.0"
    assert d.region("regs") == ir.Region("regs", "bar", 1, 0, bar=1, base=0, size=256)
    assert d.locate("IDR", 5) == (1, 5)
    assert d.locate("TSD", 3) == (1, 0x1C)


def test_region_on_an_io_bar_is_refused():
    why = unplaced_reason(RTL.replace("bar(1)", "bar(0)"), load(NOPOPCNT))
    assert why == ("BAR 0 of 0000:00:04.0 is io space; region 'regs' needs memory-mapped registers")


def test_missing_bar_is_refused():
    why = unplaced_reason(E1000.replace("bar(0)", "bar(2)"), load(POPCNT))
    assert why == "0000:00:03.0 has no BAR 2 (region 'regs')"


def test_region_starting_past_its_bar():
    why = unplaced_reason(RTL.replace("bar(1);", "bar(1) + 0x100;"), load(NOPOPCNT))
    assert "starts past the end of BAR 1" in why


def test_register_past_the_end_of_its_region():
    fits = RTL.replace("register IMR: u16 at regs + 0x3c rw;", "register LAST: u32 at regs + 0xfc rw;")
    assert placed(fits, load(NOPOPCNT)).locate("LAST", None) == (1, 0xFC)
    why = unplaced_reason(
        RTL.replace("register IMR: u16 at regs + 0x3c rw;", "register PAST: u32 at regs + 0x100 rw;"), load(NOPOPCNT)
    )
    assert why == "register PAST ends at byte 0x104 of region 'regs', which is 0x100 bytes on 0000:00:04.0"
    # An array: its last element counts.
    array_fits = RTL.replace("u32[4] at regs + 0x10 stride 4", "u32[4] at regs + 0xf0 stride 4")
    assert placed(array_fits, load(NOPOPCNT)).locate("TSD", 3) == (1, 0xFC)
    why = unplaced_reason(
        RTL.replace("u32[4] at regs + 0x10 stride 4", "u32[4] at regs + 0xf0 stride 8"), load(NOPOPCNT)
    )
    assert "register TSD ends at byte 0x10c" in why
    # A region with an offset is that much smaller.
    why = unplaced_reason(RTL.replace("bar(1);", "bar(1) + 0xc4;"), load(NOPOPCNT))
    assert "register IMR ends at byte 0x3e of region 'regs', which is 0x3c bytes" in why


def test_virtio_regions_from_the_probe():
    probe = load(VIRTIO)
    d = placed(VIRTIO_NET, probe)
    pci = next(p for p in probe.pci if p.device == "0x1041")
    caps = {c.type: c for c in pci.virtio}
    assert d.address == pci.address
    for name, kind in [("common", 1), ("notify", 2), ("isr", 3), ("config", 4)]:
        r = d.region(name)
        assert (r.bar, r.base, r.size) == (caps[kind].bar, caps[kind].offset, caps[kind].length)
    mult = caps[2].multiplier
    assert d.register("QUEUE_NOTIFY").stride == mult
    assert d.locate("QUEUE_NOTIFY", 3) == (caps[2].bar, caps[2].offset + 3 * mult)
    assert d.locate("DEVICE_STATUS", None) == (caps[1].bar, caps[1].offset + 0x14)
    bus = Bus()
    devices.run(d, "kick", 3, bus=bus)
    assert bus.log == [("write", caps[2].bar, caps[2].offset + 3 * mult, 16, 3)]


def _virtio_probe(**notify) -> Probe:
    """The virtio fixture with the virtio-net notify structure changed."""
    probe = raw(VIRTIO)
    pci = next(p for p in probe["pci"] if p["device"] == "0x1041")
    cap = next(c for c in pci["virtio"] if c["type"] == 2)
    for k, v in notify.items():
        if v is None:
            cap.pop(k, None)
        else:
            cap[k] = v
    return Probe.from_json(probe)


def test_virtio_region_without_the_probes_virtio_list():
    probe = raw(VIRTIO)
    for p in probe["pci"]:
        p.pop("virtio", None)
    why = unplaced_reason(VIRTIO_NET, Probe.from_json(probe))
    assert why.startswith("the probe lists no virtio common structure for ")
    assert "a probe must read the device's PCI capabilities" in why


def test_notify_multiplier_missing_zero_or_misaligned():
    why = unplaced_reason(VIRTIO_NET, _virtio_probe(multiplier=None))
    assert why.startswith("the probe gives no notify multiplier for ")
    # 0: every queue notifies at one address (virtio 4.1.4.4).
    d = placed(VIRTIO_NET, _virtio_probe(multiplier=0))
    assert d.register("QUEUE_NOTIFY").stride == 0
    assert d.locate("QUEUE_NOTIFY", 0) == d.locate("QUEUE_NOTIFY", 7)
    assert d.locate("QUEUE_NOTIFY", 8) is None
    why = unplaced_reason(VIRTIO_NET, _virtio_probe(multiplier=3))
    assert "multiplier" in why and "aligned" in why


def test_virtio_structure_past_its_bar():
    why = unplaced_reason(VIRTIO_NET, _virtio_probe(offset=524288 - 16))
    assert why.startswith("the virtio notify structure of ") and "ends at byte 0x80ff0" in why


def test_virtio_structure_in_a_missing_bar():
    why = unplaced_reason(VIRTIO_NET, _virtio_probe(bar=3))
    assert "the virtio notify structure of" in why and "BAR 3" in why


def test_register_past_a_virtio_structure():
    why = unplaced_reason(VIRTIO_NET.replace("common + 0x16", "common + 0x38"), load(VIRTIO))
    assert "register QUEUE_SELECT ends at byte 0x3a of region 'common', which is 0x38 bytes" in why


def test_match_keys():
    probe = load(POPCNT)
    pci = probe.pci[0]
    assert devices.matches(describe(E1000), pci)
    sub = E1000.replace("device = 0x100e)", "device = 0x100e, subsystem_vendor = 0x1af4, revision = 0x03)")
    assert devices.matches(describe(sub), pci)
    assert not devices.matches(describe(sub.replace("revision = 0x03", "revision = 0x04")), pci)
    assert not devices.matches(describe(E1000.replace("0x100e", "0x100f")), pci)
    assert not devices.matches(describe(sub), replace(pci, subsystem_vendor=None))


def test_select_absent_unplaced_and_placed():
    e1000, rtl_io = describe(E1000), describe(RTL.replace("bar(1)", "bar(0)"))
    probe = load(POPCNT)
    probe = replace(probe, pci=probe.pci + (load(NOPOPCNT).pci[0],))
    sel = devices.select([e1000, rtl_io, describe(VIRTIO_NET)], probe)
    assert [(d.name, addrs) for d, addrs in sel.placed] == [("e1000", ("0000:00:03.0",))]
    assert [d.name for d in sel.absent] == ["virtio_net"]
    assert [(d.name, addr) for d, addr, _ in sel.unplaced] == [("rtl8139", "0000:00:04.0")]
    assert "io space" in sel.unplaced[0][2]


def test_select_groups_identical_devices():
    probe = raw(POPCNT)
    first = probe["pci"][0]
    twin = dict(copy.deepcopy(first), address="0000:00:07.0")
    for b in twin["bars"]:
        b["start"] += 0x100000  # elsewhere in memory, same layout
    bigger = copy.deepcopy(twin)
    bigger["address"] = "0000:00:09.0"
    bigger["bars"][0]["size"] *= 2
    probe["pci"] += [twin, bigger]
    sel = devices.select([describe(E1000)], Probe.from_json(probe))
    assert [(d.address, addrs) for d, addrs in sel.placed] == [
        ("0000:00:03.0", ("0000:00:03.0", "0000:00:07.0")),
        ("0000:00:09.0", ("0000:00:09.0",)),
    ]
    assert sel.placed[1][0].region("regs").size == 2 * 131072
    assert not sel.absent and not sel.unplaced


def test_select_on_the_virtio_fixture_places_each_kind_once():
    blk = VIRTIO_NET.replace("virtio_net", "virtio_blk").replace("0x1041", "0x1042")
    sel = devices.select(check(parse(VIRTIO_NET + blk, "v.ax")).devices, load(VIRTIO))
    assert sorted(d.name for d, _ in sel.placed) == ["virtio_blk", "virtio_net"]
    assert all(len(addrs) == 1 for _, addrs in sel.placed)


# ================================================================ the probe's virtio capabilities


def config_space(vendor=0x1AF4, caps=(), first=None, status=0x10) -> bytes:
    """256 bytes of PCI config space: `caps` are (at, id, next, body bytes)."""
    c = bytearray(256)
    c[0:2] = vendor.to_bytes(2, "little")
    c[2:4] = (0x1041).to_bytes(2, "little")
    c[6] = status
    c[0x34] = caps[0][0] if first is None and caps else (first or 0)
    for at, cap_id, nxt, body in caps:
        c[at], c[at + 1] = cap_id, nxt
        c[at + 2 : at + 2 + len(body)] = body
    return bytes(c)


def virtio_cap(kind, bar, offset, length, multiplier=None) -> bytes:
    """A virtio_pci_cap from cap_len on (virtio 4.1.4)."""
    body = bytes([16 if multiplier is None else 20, kind, bar, 0, 0, 0])
    body += offset.to_bytes(4, "little") + length.to_bytes(4, "little")
    if multiplier is not None:
        body += multiplier.to_bytes(4, "little")
    return body


STRUCTS = [
    (0x40, 9, 0x50, virtio_cap(1, 4, 0x0000, 0x38)),
    (0x50, 9, 0x60, virtio_cap(3, 4, 0x1000, 0x1)),
    (0x60, 5, 0x64, b"\x02\x03"),  # MSI, not virtio
    (0x64, 9, 0x74, virtio_cap(4, 4, 0x2000, 0x100)),
    (0x74, 9, 0x00, virtio_cap(2, 4, 0x3000, 0x1000, multiplier=4)),
]
WANT = [
    {"type": 1, "bar": 4, "offset": 0, "length": 0x38},
    {"type": 3, "bar": 4, "offset": 0x1000, "length": 1},
    {"type": 4, "bar": 4, "offset": 0x2000, "length": 0x100},
    {"type": 2, "bar": 4, "offset": 0x3000, "length": 0x1000, "multiplier": 4},
]


def test_virtio_structures_from_a_capability_list():
    assert virtio_structures(config_space(caps=STRUCTS)) == WANT


def test_virtio_structures_survive_a_loop():
    looped = STRUCTS[:-1] + [(0x74, 9, 0x50, STRUCTS[-1][3])]  # the last points back to the second
    assert virtio_structures(config_space(caps=looped)) == WANT
    itself = [(0x40, 9, 0x40, virtio_cap(1, 0, 0, 0x38))]
    assert virtio_structures(config_space(caps=itself)) == [{"type": 1, "bar": 0, "offset": 0, "length": 0x38}]


def test_virtio_structures_skip_what_is_not_a_structure():
    caps = [
        (0x40, 9, 0x50, virtio_cap(5, 0, 0, 0)),  # PCI config access: not in a BAR
        (0x50, 9, 0x60, virtio_cap(1, 7, 0, 0x38)),  # a BAR that does not exist
        (0x60, 9, 0x70, virtio_cap(1, 2, 0x100, 0x38)),  # the first common one
        (0x70, 9, 0x00, virtio_cap(1, 3, 0x200, 0x38)),  # an alternative: skipped
    ]
    assert virtio_structures(config_space(caps=caps)) == [{"type": 1, "bar": 2, "offset": 0x100, "length": 0x38}]


def test_virtio_structures_after_a_capability_at_the_end_of_config():
    caps = [(0xF8, 1, 0x40, b"\x03\x00")] + STRUCTS  # power management, near the end
    assert virtio_structures(config_space(caps=caps, first=0xF8)) == WANT


@pytest.mark.parametrize(
    "config",
    [
        config_space(vendor=0x8086, caps=STRUCTS),  # not virtio
        config_space(caps=STRUCTS, status=0),  # no capability list
        config_space(caps=STRUCTS)[:63],  # too short to say
        config_space(caps=STRUCTS, first=0),  # an empty list
        config_space(caps=STRUCTS, first=0x20),  # a pointer into the header
        b"",
    ],
)
def test_virtio_structures_of_other_devices_are_empty(config):
    assert virtio_structures(config) == []


def _real_configs():
    out = []
    for d in sorted(glob.glob("/sys/bus/pci/devices/*")):
        try:
            with open(os.path.join(d, "config"), "rb") as f:
                out.append((os.path.basename(d), f.read(256)))
        except OSError:
            pass
    return out


def test_virtio_structures_of_this_machines_devices():
    configs = _real_configs()
    if not configs:
        pytest.skip("no PCI config space readable here")
    for address, config in configs:
        found = virtio_structures(config)
        if int.from_bytes(config[0:2], "little") != 0x1AF4:
            assert found == [], address
            continue
        kinds = [s["type"] for s in found]
        assert len(kinds) == len(set(kinds)) and set(kinds) <= {1, 2, 3, 4}, address
        for s in found:
            assert 0 <= s["bar"] <= 5 and ("multiplier" in s) == (s["type"] == 2)


def _with_virtio(virtio) -> dict:
    d = json.loads(POPCNT.read_text())
    d["pci"][0]["virtio"] = virtio
    return d


def test_validate_probe_accepts_virtio_structures():
    p = Probe.from_json(_with_virtio(WANT))
    assert p.to_json()["pci"][0]["virtio"] == WANT


@pytest.mark.parametrize(
    "virtio, where, expected",
    [
        ({"type": 1}, "pci[0].virtio", "expected a list, found an object"),
        ([7], "pci[0].virtio[0]", "expected an object, found the number 7"),
        ([{"bar": 0, "offset": 0, "length": 8}], "pci[0].virtio[0].type", "expected an integer >= 1, found nothing"),
        ([{"type": 0, "bar": 0, "offset": 0, "length": 8}], "pci[0].virtio[0].type", "expected an integer >= 1"),
        ([{"type": 1, "bar": 6, "offset": 0, "length": 8}], "pci[0].virtio[0].bar", "expected a BAR index 0..5"),
        ([{"type": 1, "bar": 0, "offset": -4, "length": 8}], "pci[0].virtio[0].offset", "expected an integer >= 0"),
        ([{"type": 1, "bar": 0, "offset": 0}], "pci[0].virtio[0].length", "found nothing"),
        (
            [{"type": 2, "bar": 0, "offset": 0, "length": 8, "multiplier": "4"}],
            "pci[0].virtio[0].multiplier",
            'found the string "4"',
        ),
    ],
)
def test_validate_probe_refuses_malformed_virtio(virtio, where, expected):
    with pytest.raises(ProbeError) as info:
        Probe.from_json(_with_virtio(virtio), "p.json")
    msg = str(info.value)
    assert msg.startswith(f"p.json: {where}: ") and expected in msg


@pytest.mark.parametrize("path", [POPCNT, NOPOPCNT])
def test_probe_without_virtio_loads_unchanged(path):
    raw = json.loads(path.read_text())
    assert all("virtio" not in p for p in raw["pci"])
    loaded = hwprobe.load_probe(path)
    assert loaded.to_json() == raw
    assert all(p.virtio is None for p in loaded.pci)
