"""Driver stubs: which devices get one, that they compile without a warning,
that they match their golden text, and that every operation of every shipped
description makes exactly the register accesses the interpreter makes.

Regenerate the goldens after a deliberate change with
    ATLAS_REGEN_STUBS=1 python -m pytest tests/test_stubs.py
and read the diff before keeping it.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from atlas.machine import probe as hwprobe
from atlas.pipeline import compile_files

from stub_harness import CFLAGS, MODES, Stub, arguments, build, run_both

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTIONS = sorted((ROOT / "intents" / "devices").glob("*.ax"))
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = ROOT / "tests" / "golden" / "stubs"
SEEDS = range(4)

# Which fixture probe lists which shipped description's device.
PROBES = {
    "probe-popcnt.json": {"e1000"},
    "probe-nopopcnt.json": {"rtl8139"},
    "probe-virtio.json": {"virtio_net", "virtio_blk", "virtio_rng"},
}

pytestmark = pytest.mark.cc


def _compile(probe_name: str, out: Path):
    probe = hwprobe.load_probe(FIXTURES / probe_name)
    return compile_files([str(p) for p in DESCRIPTIONS], probe, out, backend="stubs")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """stem -> (Stub, placed device) for every fixture probe's stubs."""
    from atlas.front import devices
    from atlas.front.check import check
    from atlas.pipeline import read_sources

    module = check(*read_sources([str(p) for p in DESCRIPTIONS]))
    stubs = {}
    for name in PROBES:
        out = tmp_path_factory.mktemp(name.replace(".json", ""))
        result = _compile(name, out)
        placed = {d.name: d for d, _ in devices.select(module.devices, hwprobe.load_probe(FIXTURES / name)).placed}
        for stem, entry in result.manifest.target["devices"].items():
            dev = placed[entry["description"]]
            lib = build(out, stem, sorted({g.ty.bits for g in dev.registers}))
            stubs[stem] = (Stub(lib, stem, dev), out)
    return stubs


@pytest.mark.parametrize("probe_name", sorted(PROBES))
def test_stubs_exactly_for_the_devices_in_the_probe(tmp_path, probe_name):
    result = _compile(probe_name, tmp_path / "out")
    m = result.manifest.target
    assert set(m["devices"]) == PROBES[probe_name]
    every = {d.name for d in _devices()}
    assert set(m["absent"]) == every - PROBES[probe_name]
    written = {p.name for p in (tmp_path / "out").iterdir()}
    want = {f"{s}.{x}" for s in PROBES[probe_name] for x in "hc"} | {"atlas_mmio.h", "manifest.json"}
    assert written == want  # nothing for the absent devices
    for stem in PROBES[probe_name]:
        text = (tmp_path / "out" / f"{stem}.h").read_text() + (tmp_path / "out" / f"{stem}.c").read_text()
        for other in every - {stem}:
            assert other not in text
        # No dispatch on what the device is: the probe decided that, so its
        # IDs appear in the opening comments and nowhere in the code.
        code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        vendor, device = m["devices"][stem]["pci"].split(":")
        assert f"0x{vendor}" not in code.lower() and f"0x{device}" not in code.lower()
        assert "switch" not in code


def test_e1000_and_no_rtl8139_gives_only_the_e1000_stub(tmp_path):
    probe = hwprobe.load_probe(FIXTURES / "probe-popcnt.json")
    ids = {(d.vendor, d.device) for d in probe.pci}
    assert ("0x8086", "0x100e") in ids and ("0x10ec", "0x8139") not in ids
    out = tmp_path / "out"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "atlas.tools.cli",
            "compile",
            *map(str, DESCRIPTIONS),
            "--hw",
            str(FIXTURES / "probe-popcnt.json"),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["atlas_mmio.h", "e1000.c", "e1000.h", "manifest.json"]
    assert "e1000 (8086:100e) at 0000:00:03.0: e1000.h e1000.c" in r.stdout
    assert "rtl8139: nothing emitted (no 10ec:8139 device in the probe)" in r.stdout


def test_this_machine(tmp_path):
    """`atlas probe` then `atlas compile`: a stub for each described device
    present here, nothing for the others."""
    probe_file = tmp_path / "probe.json"
    subprocess.run(
        [sys.executable, "-m", "atlas.tools.cli", "probe", "-o", str(probe_file)], check=True, capture_output=True
    )
    here = json.loads(probe_file.read_text())
    present = {(int(d["vendor"], 16), int(d["device"], 16)) for d in here["pci"]}
    out = tmp_path / "out"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "atlas.tools.cli",
            "compile",
            *map(str, DESCRIPTIONS),
            "--hw",
            str(probe_file),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    described = {d.name: tuple(dict(d.match)[k] for k in ("vendor", "device")) for d in _devices()}
    want = {name for name, ids in described.items() if ids in present}
    assert {e["description"] for e in m["devices"].values()} | {u["description"] for u in m["unplaced"]} == want
    assert set(m["absent"]) == set(described) - want
    # Every probed device no description matches is named, and only those.
    ids = set(described.values())
    assert {u["address"] for u in m["undescribed"]} == {
        d["address"] for d in here["pci"] if (int(d["vendor"], 16), int(d["device"], 16)) not in ids
    }


@pytest.mark.parametrize("probe_name", sorted(PROBES))
def test_stubs_compile_without_warnings(tmp_path, probe_name):
    _compile(probe_name, tmp_path)
    cc = shutil.which("gcc") or shutil.which("cc")
    for c in sorted(tmp_path.glob("*.c")):
        r = subprocess.run([cc, *CFLAGS, "-O2", "-c", str(c), "-o", os.devnull], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""


@pytest.mark.parametrize("probe_name", sorted(PROBES))
def test_golden_stubs(tmp_path, probe_name):
    _compile(probe_name, tmp_path)
    for stem in sorted(PROBES[probe_name]):
        for ext in ("h", "c"):
            got = (tmp_path / f"{stem}.{ext}").read_text()
            golden = GOLDEN / f"{stem}.{ext}"
            if os.environ.get("ATLAS_REGEN_STUBS"):
                golden.parent.mkdir(parents=True, exist_ok=True)
                golden.write_text(got)
            assert golden.exists(), f"no golden {golden}; run with ATLAS_REGEN_STUBS=1"
            assert got == golden.read_text(), f"{stem}.{ext} differs from {golden}"
    golden = GOLDEN / "atlas_mmio.h"
    if os.environ.get("ATLAS_REGEN_STUBS"):
        golden.write_text((tmp_path / "atlas_mmio.h").read_text())
    assert (tmp_path / "atlas_mmio.h").read_text() == golden.read_text()


def _devices():
    """The shipped descriptions that match a device (not the bases they extend)."""
    from atlas.front.check import check
    from atlas.pipeline import read_sources

    return [d for d in check(*read_sources([str(p) for p in DESCRIPTIONS])).devices if d.match]


def _operations():
    return [(d.name, f.name) for d in _devices() for f in d.ops]


def _same_run(stub: Stub, op: str, mode: str, seed: int):
    args = arguments(stub.dev.function(op), random.Random(f"{stub.stem}.{op}.{seed}"))
    want, got, oracle, sim, c_args = run_both(stub, op, args, mode, seed)
    assert sim.log == oracle.log, f"{stub.stem}_{op} ({mode}, seed {seed}): accesses differ"
    assert got == want
    for a, b in zip(args, c_args):
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b)
    return oracle


@pytest.mark.parametrize("device,op", _operations())
def test_every_operation_accesses_registers_as_the_interpreter(built, device, op):
    stub, _ = built[device]
    polls: dict = {}
    accesses = 0
    for mode in MODES:
        for seed in SEEDS:
            regs = _same_run(stub, op, mode, seed)
            accesses += len(regs.log)
            for span, held in regs.polls:
                polls.setdefault(span, set()).add(held)
    assert accesses > 0, f"{device}.{op} never touched the device"
    # Each bounded wait was seen both to succeed and to give up.
    for span, outcomes in polls.items():
        assert outcomes == {True, False}, f"the poll at {span} only ever {'held' if True in outcomes else 'timed out'}"


def test_the_harness_sees_a_wrong_access(built, tmp_path):
    """A stub whose one register offset is off by four is caught."""
    stub, out = built["e1000"]
    source = (out / "e1000.h").read_text()
    status = stub.dev.register("STATUS")
    where = f"{stub.dev.region(status.region).base + status.offset:#06x}u"
    assert where in source
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    (bad / "e1000.h").write_text(source.replace(where, f"{int(where[:-1], 16) + 4:#06x}u", 1))
    lib = build(bad, "e1000", sorted({g.ty.bits for g in stub.dev.registers}))
    mutant = Stub(lib, "e1000", stub.dev)
    with pytest.raises(AssertionError, match="accesses differ"):
        for op in [f.name for f in stub.dev.ops]:
            for seed in SEEDS:
                _same_run(mutant, op, "random", seed)


class _Memory:
    """A bus over plain memory, one numpy buffer per BAR, as the default
    accessors of atlas_mmio.h see a mapped BAR."""

    def __init__(self, bars: dict[int, np.ndarray]):
        self.bars = bars

    def read(self, bar, offset, bits):
        return int.from_bytes(self.bars[bar][offset : offset + bits // 8].tobytes(), "little")

    def write(self, bar, offset, bits, value):
        self.bars[bar][offset : offset + bits // 8] = np.frombuffer(value.to_bytes(bits // 8, "little"), np.uint8)

    def delay(self, us):
        pass


@pytest.mark.parametrize("device", sorted({d for names in PROBES.values() for d in names}))
def test_default_accessors_on_mapped_memory(built, tmp_path, device):
    """Built without hooks, a stub reads and writes the BAR memory it is
    given: after every operation the memory is what the interpreter left."""
    import ctypes

    from atlas.front import devices

    stub, out = built[device]
    dev = stub.dev
    cc = shutil.which("gcc") or shutil.which("cc")
    (tmp_path / "delay.c").write_text('#include "atlas_mmio.h"\nvoid atlas_delay_us(uint32_t us) { (void)us; }\n')
    lib = tmp_path / f"lib{device}.so"
    subprocess.run(
        [
            cc,
            *CFLAGS,
            "-O1",
            "-fPIC",
            "-shared",
            "-I",
            str(out),
            str(out / f"{device}.c"),
            str(tmp_path / "delay.c"),
            "-o",
            str(lib),
        ],
        check=True,
    )
    sizes = {}
    for r in dev.regions:
        sizes[r.bar] = max(sizes.get(r.bar, 0), r.base + r.size)
    rng = np.random.default_rng(7)
    start = {b: rng.integers(0, 256, n, dtype=np.uint8) for b, n in sizes.items()}
    mine = {b: a.copy() for b, a in start.items()}
    theirs = {b: a.copy() for b, a in start.items()}
    mapped = Stub(ctypes.CDLL(str(lib)), device, dev, {b: a.ctypes.data for b, a in theirs.items()})
    for f in dev.ops:
        args = arguments(f, random.Random(f.name))
        c_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        want = devices.run(dev, f.name, *args, bus=_Memory(mine))
        assert mapped.run(f.name, c_args) == want, f.name
        for b in sizes:
            assert np.array_equal(mine[b], theirs[b]), f"{device}_{f.name}: BAR {b} differs"
    assert any(not np.array_equal(mine[b], start[b]) for b in sizes), "no operation wrote anything"


def test_two_devices_of_one_kind_share_a_stub_unless_their_addresses_differ(tmp_path):
    import copy

    probe = hwprobe.load_probe(FIXTURES / "probe-virtio.json").to_json()
    net = next(d for d in probe["pci"] if d["device"] == "0x1041")
    twin = copy.deepcopy(net)
    twin["address"] = "0000:00:09.0"
    probe["pci"].append(twin)
    m = compile_files(
        [str(p) for p in DESCRIPTIONS], hwprobe.Probe.from_json(probe), tmp_path / "same", backend="stubs"
    ).manifest.target
    assert m["devices"]["virtio_net"]["addresses"] == [net["address"], "0000:00:09.0"]
    # Its device configuration elsewhere in the BAR: a stub of its own, named by its address.
    next(c for c in twin["virtio"] if c["type"] == 4)["offset"] = 0x5000
    m = compile_files(
        [str(p) for p in DESCRIPTIONS], hwprobe.Probe.from_json(probe), tmp_path / "other", backend="stubs"
    ).manifest.target
    assert {s for s in m["devices"] if s.startswith("virtio_net")} == {
        "virtio_net_0000_00_03_0",
        "virtio_net_0000_00_09_0",
    }
    header = (tmp_path / "other" / "virtio_net_0000_00_09_0.h").read_text()
    assert "0x5000u" in header and "struct virtio_net_0000_00_09_0" in header


OPERATORS = """
device ops_check matches pci(vendor = 0x8086, device = 0x100e) {
    region regs = bar(0);
    register R8: u8 at regs + 0x10 rw;
    register R16: u16 at regs + 0x20 rw;
    register R32: u32 at regs + 0x30 rw;
    register R64: u64 at regs + 0x40 rw;
    register A: u32[4] at regs + 0x100 stride 4 rw;
    fn narrow(a: u8, b: u8, c: u16, d: u16) -> u16 {
        let x = read(R8);
        write(R8, x * a + b - a / b % (x | 1) ^ ~a);
        write(R8, (a << b) | (x >> (b % 9)) | -b);
        let y = read(R16);
        write(R16, y * c * d - c / d + c % d);
        write(R16, (c << d) >> (d % 17) & !c);
        return min(y, c) + max(c, d) + select(a < b, c, d);
    }
    fn wide(a: u32, b: u64, k: u8) -> u64 {
        let x = read(R32);
        write(R32, x * a - a / x + a % (x >> 3) + (a << k) + (x >> k));
        let y = read(R64);
        write(R64, y * b - b / y + (b << (k as u64)) - (y >> 63) + ((a as u64) << 40));
        write(A[k], a ^ x);
        let z = read(A[(k % 6) as u64]);
        return y + (z as u64) + (-(x as u64)) + ((b > y) as u64) + ((a as u8 == k) as u64);
    }
    // break, continue and conditional expressions (a read in an arm runs
    // only when that arm is picked)
    fn flow(a: u32, k: u8) -> u32 {
        let s: u32 = 0;
        for i in 0u32..6u32 {
            if (a >> i) & 1 == 0 { continue; }
            let r = read(A[i % 4]);
            s += if r > a { r - a } else { a - r };
            if s > 0x8000_0000 { break; }
            write(A[i % 4], s);
        }
        let t = if k > 3 { read(R32) } else { 0 };
        return s + t;
    }
    // locals spelled as the C's own names: a loop's bound, a poll's
    // counter, a shadowed local's C name, the device pointer, an accessor
    fn names(a: u32) -> u32 {
        let i_end: u32 = a;
        let tries: u32 = 1;
        let tries_2: u32 = 5;
        let dev: u32 = 2;
        let x__1: u32 = 3;
        let ops_check_read_r32: u32 = 7;
        let x: u32 = a;
        for i in 0u32..4u32 {
            let x = read(A[i]);
            i_end += x + x__1 + i;
        }
        poll v = read(R32) until v & 1 != 0 within 3 else { tries += 10; }
        poll w = read(R32) until w & 2 != 0 within 2 else { tries_2 += 10; }
        return i_end + tries + tries_2 + dev + x + x__1 + ops_check_read_r32;
    }
}
"""


def test_every_operator_in_an_operation_computes_as_the_interpreter(tmp_path):
    """Narrow arithmetic, division and remainder by zero, shifts by the
    width or more, out-of-range register indexes: the C of a stub against
    the interpreter, on many inputs."""
    from atlas.front import devices
    from atlas.front.check import check
    from atlas.front.syntax import parse

    src = tmp_path / "ops_check.ax"
    src.write_text(OPERATORS)
    probe = hwprobe.load_probe(FIXTURES / "probe-popcnt.json")
    out = tmp_path / "out"
    compile_files([str(src)], probe, out, backend="stubs")
    dev = devices.select(check(parse(OPERATORS, str(src))).devices, probe).placed[0][0]
    stub = Stub(build(out, "ops_check", [8, 16, 32, 64]), "ops_check", dev)
    helpers = (out / "ops_check.c").read_text()
    for name in (
        "atlas_div_u8",
        "atlas_rem_u16",
        "atlas_shl_u8",
        "atlas_shr_u16",
        "atlas_shl_u64",
        "atlas_min_u16",
        "atlas_select_u16",
    ):
        assert name in helpers  # each kind of helper is exercised
    for op in ("narrow", "wide", "flow", "names"):
        for mode in MODES:
            for seed in range(60):
                _same_run(stub, op, mode, seed)


def test_explain_lists_the_descriptions_beside_the_atlas():
    from atlas.tools import explain as X

    probe = hwprobe.load_probe(FIXTURES / "probe-popcnt.json")
    doc = X.explain([str(p) for p in DESCRIPTIONS], probe, "fixture")
    assert {d["name"] for d in doc["devices"]} == {d.name for d in _devices()} | {"virtio_pci"}
    e1000 = next(d for d in doc["devices"] if d["name"] == "e1000")
    assert e1000["pci"] == "8086:100e" and "reset" in e1000["operations"]
    assert "e1000 (8086:100e): 27 registers, 22 operations, emitted as written" in X.render_text(doc)
