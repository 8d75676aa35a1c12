"""Scans in lanes (atlas/search/lanes.py, backends/llvm/lanes.py): a loop
that stores each step of a running combination is marked, after Z3 proves
its operation's laws, and compiled to vector code that agrees with the
interpreter at every length, start and output length; loops the form does
not hold for are left alone, each for its reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.logic import differential
from atlas.meaning import interp, ir, scans
from atlas.search import lanes

ROOT = Path(__file__).resolve().parent.parent
UNSEEN = ROOT / "tests/fixtures/scans/unseen.ax"
FILES = [UNSEEN, ROOT / "intents/family/running_max_u8.ax", ROOT / "intents/family/offsets_u16.ax"]


def functions(src: str) -> list[ir.Function]:
    return list(check(parse(src, "t.ax")).functions)


def the_loop(fn: ir.Function) -> ir.For:
    """The first innermost loop."""
    return next(
        s for s in ir.walk_stmts(fn.body) if isinstance(s, ir.For) and not any(isinstance(u, ir.For) for u in s.body)
    )


def scan_of(src: str) -> scans.Scan | None:
    fn = next(f for f in functions(src) if f.name == "f")
    return scans.match(the_loop(fn), fn)


def ints(rng, dt, n):
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)


def arguments(name: str, n: int, rng) -> list:
    """Arguments for each function of the fixture at length n (some with a
    shorter or longer output, or a window that starts late)."""
    if name == "running_max_u8":
        return [n, ints(rng, np.uint8, n), np.zeros(n, np.uint8)]
    if name == "offsets_u16":
        return [n, ints(rng, np.uint16, n), np.zeros(n, np.uint32)]
    if name == "xor_chain":
        return [n, ints(rng, np.uint64, n), int(rng.integers(0, 2**63)), np.zeros(n, np.uint64)]
    if name == "running_low":
        return [n, ints(rng, np.int16, n), int(rng.integers(-300, 300)), np.zeros(n, np.int16)]
    if name == "balance":
        first = int(rng.integers(0, n + 3))  # past the end too: the loop does not run
        return [first, n, int(rng.integers(-(2**40), 2**40)), ints(rng, np.int64, n), np.zeros(n, np.int64)]
    if name == "seen":
        m = max(0, n + int(rng.integers(-20, 20)))  # stores past m are skipped
        return [
            n,
            m,
            rng.integers(0, 256, n, dtype=np.uint8) & rng.integers(0, 256, n, dtype=np.uint8),
            np.zeros(m, np.uint8),
        ]
    if name == "cumulative":
        return [n, rng.uniform(-1, 1, n).astype(np.float32), np.zeros(n, np.float32)]
    if name == "growth":
        return [n, rng.uniform(-0.01, 0.01, n), np.zeros(n)]
    if name == "row_sums":
        m = int(rng.integers(0, 5))
        return [m, n, ints(rng, np.int64, m * n), np.zeros(m * n, np.int64)]
    if name == "into_window":
        at = [0, 3, n // 2, 2**64 - 5][int(rng.integers(0, 4))]  # the last wraps: only indices past it store
        size = n + int(rng.integers(0, 40))
        return [n, at, size, ints(rng, np.uint16, n), np.zeros(size, np.uint16)]
    if name == "widen_signed":
        return [n, ints(rng, np.int8, n), np.zeros(n, np.int64)]
    if name == "narrow_xor":
        return [n, ints(rng, np.uint32, n), np.zeros(n, np.uint8)]
    if name == "byte_offsets":
        return [n, ints(rng, np.uint16, n), np.zeros(n, np.uint64)]
    if name == "coarse_sum":
        return [n, ints(rng, np.int32, n), np.zeros(n, np.int16)]
    if name == "in_place":
        return [n, ints(rng, np.uint32, n)]
    if name == "odd_product":
        return [n, ints(rng, np.uint32, n), np.zeros(n, np.uint32)]
    raise AssertionError(name)


NAMES = [
    "running_max_u8",
    "offsets_u16",
    "xor_chain",
    "running_low",
    "balance",
    "seen",
    "odd_product",
    "in_place",
    "cumulative",
    "growth",
    "row_sums",
    "into_window",
    "widen_signed",
    "narrow_xor",
    "byte_offsets",
    "coarse_sum",
]
LENGTHS = [*range(0, 40), 63, 64, 65, 127, 1000, 1023, 1024, 1025, 2049, 5000]


def test_every_unseen_scan_is_matched_and_proven():
    fns = [f for p in FILES for f in functions(p.read_text())]
    assert sorted(f.name for f in fns) == sorted(NAMES)
    for fn in fns:
        made = lanes.scan_lanes(fn, ir.Module((fn,)))
        assert made is not None, fn.name
        (site,) = made.evidence["loops"]
        proven = {k for k, v in site["obligations"].items() if v == "proven"}
        if fn.reassoc:  # a float sum's order is the intent's to give up, not Z3's to prove
            assert site["obligations"]["associative"] == lanes.REGROUPED and "associative" not in proven
            assert "not proven" in made.evidence["proof"]
        else:
            assert proven == set(site["obligations"]), (fn.name, site)
        assert the_loop(made.function).lanes
    by_name = {f.name: scans.match(the_loop(f), f) for f in fns}
    assert by_name["running_max_u8"].op == "max" and by_name["running_max_u8"].branch is not None
    assert by_name["offsets_u16"].exclusive and by_name["offsets_u16"].op == "add"
    assert by_name["balance"].negate and by_name["running_low"].op == "min"
    assert by_name["odd_product"].op == "mul" and by_name["seen"].op == "or"
    arrays = {n: f.arrays for n, f in {f.name: f for f in fns}.items()}
    for name in ("offsets_u16", "widen_signed", "narrow_xor"):  # read as vectors, cast as vectors
        assert by_name[name].direct(arrays[name]) is not None, name
    assert by_name["running_low"].direct(arrays["running_low"]) is None  # x[i] - bias: a tile first
    assert by_name["byte_offsets"].post is not None and by_name["coarse_sum"].post is not None
    assert by_name["offsets_u16"].post is None
    assert by_name["row_sums"].base is not None and by_name["into_window"].base is not None
    assert by_name["cumulative"].ty.is_float and by_name["growth"].exclusive and by_name["growth"].op == "mul"
    assert by_name["in_place"].out == "x" and by_name["in_place"].direct(
        {f.name: f for f in fns}["in_place"].arrays
    ) == ("x", None)


def agree(name: str, args: list, want: np.ndarray, got: np.ndarray) -> bool:
    """Bit for bit; a `reassoc fn`'s floats within the bound of two orders of
    the sum (differential.regroup_slack), a product's relatively so."""
    if want.dtype.kind != "f":
        return np.array_equal(want, got)
    if name == "growth":
        return bool(np.allclose(got, want, rtol=4 * (want.size + 1) * np.finfo(want.dtype).eps, atol=0))
    return differential.within(want, got, differential.regroup_slack(args))


def compile_pinned(factory, files: list[Path], names: list[str], shape: str):
    """(the specialised module, {width: (library, manifest)}): each function
    compiled with `shape` pinned, and a second time with 512-bit vectors
    preferred (more lanes)."""
    from atlas.machine import probe as hwprobe
    from atlas.machine.runtime import load
    from atlas.pipeline import compile_files, front
    from atlas.search.explode import Options, pinned
    from atlas.search.genome import Genome

    probe = hwprobe.probe()
    out = {}
    for wide in (0, 512):
        pins = {n: (Genome((), shape, prefer_width_bits=wide) if wide else pinned(shape)) for n in names}
        d = factory.mktemp(f"{shape}{wide}") / "out"
        compile_files(files, probe, d, search=Options(fixed=pins))
        out[wide] = (load(d), json.loads((d / "manifest.json").read_text()))
    return front(files, probe)[1], out


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return compile_pinned(tmp_path_factory, FILES, NAMES, "scan-lanes")


def arrays_after(module, lib, name: str, args: list) -> list[tuple[np.ndarray, np.ndarray]]:
    """(the interpreter's, the library's) of each array argument after one
    call of `name` on copies of `args`."""
    want = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    got = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    interp.run(module, name, *want)
    getattr(lib, name)(*got)
    return [(w, g) for w, g in zip(want, got) if isinstance(w, np.ndarray)]


@pytest.mark.parametrize("name", NAMES)
def test_the_lanes_agree_with_the_interpreter(compiled, name):
    module, libs = compiled
    rng = np.random.default_rng(NAMES.index(name))
    for wide, (lib, manifest) in libs.items():
        assert manifest["functions"][name]["evidence"]["shape"]["shape"] == "scan-lanes"
        for n in LENGTHS:
            args = arguments(name, n, rng)
            for w, g in arrays_after(module, lib, name, args):
                assert agree(name, args, w, g), (name, wide, n)


@pytest.mark.parametrize(
    "body, reason",
    [
        ("s += out[i + 1]; out[i] = s;", "reads the stored array ahead"),
        ("out[i] = s; s += out[i];", "reads the stored array after the store"),
        ("s = x[i] - s; out[i] = s;", "not associative"),
        ("s = s << x[i]; out[i] = s;", "not associative"),
        ("t = s; s += x[i]; out[i] = s + t;", "stores a value of the old s and the new"),
        ("s += x[i]; out[i] = x[i];", "stores no value of s"),
        ("s += x[i]; out[i * 2] = s;", "not adjacent elements"),
        ("s += x[i]; out[i + (s as u64)] = s;", "an offset the loop changes"),
        ("s += x[i]; t += s; out[i] = s;", "carries two values"),
        ("s += x[i] * s; out[i] = s;", "element reads s"),
        ("s += x[i]; out[i] = s; if s > 3 { out[i] = 0; }", "a second store"),
    ],
)
def test_what_is_not_a_scan_is_left_alone(body, reason):
    src = f"""fn f(n: u64, x: [i32; n], out: mut [i32; n]) -> i32 {{
        let s: i32 = 0; let t: i32 = 0;
        for i in 0..n {{ {body} }}
        return s + t;
    }}"""
    assert scan_of(src) is None, reason


def test_signed_indices_floats_and_calls_are_left_alone():
    assert (
        scan_of(
            "fn f(n: i64, x: [i32; n], out: mut [i32; n]) { let s: i32 = 0; for i in 0..n { s += x[i]; out[i] = s; } }"
        )
        is None
    )
    assert (
        scan_of(
            "fn f(n: u64, x: [f32; n], out: mut [f32; n]) { let s: f32 = 0.0; "
            "for i in 0..n { s += x[i]; out[i] = s; } }"
        )
        is None
    )
    assert (
        scan_of(
            """fn g(v: i32) -> i32 { return v * 3; }
        fn f(n: u64, x: [i32; n], out: mut [i32; n]) { let s: i32 = 0; for i in 0..n { s += g(x[i]); out[i] = s; } }"""
        )
        is None
    )


def test_a_branch_that_is_not_a_maximum_is_refused():
    # `if x > s { s = x - 1 }` is not max(s, x - 1): the element differs from the one compared
    assert (
        scan_of(
            "fn f(n: u64, x: [u8; n], out: mut [u8; n]) { let s: u8 = 0; "
            "for i in 0..n { if x[i] > s { s = x[i] - 1; } out[i] = s; } }"
        )
        is None
    )
    # the else arm sets it: `if s >= x {} else { s = x }` is a maximum too
    got = scan_of(
        "fn f(n: u64, x: [u8; n], out: mut [u8; n]) { let s: u8 = 0; "
        "for i in 0..n { if s >= x[i] { } else { s = x[i]; } out[i] = s; } }"
    )
    assert got is not None and got.op == "max"


def test_the_prefix_sum_runs_in_lanes_and_says_what_was_proven(tmp_path):
    from atlas.machine import probe as hwprobe
    from atlas.machine.runtime import load
    from atlas.pipeline import compile_files
    from atlas.search.explode import Options, pinned

    path = ROOT / "intents/prefix_sum.ax"
    compile_files([path], hwprobe.probe(), tmp_path / "out", search=Options(fixed={"prefix_sum": pinned("scan-lanes")}))
    ev = json.loads((tmp_path / "out/manifest.json").read_text())["functions"]["prefix_sum"]["evidence"]
    (site,) = ev["shape"]["loops"]
    assert site["scan"] == "inclusive scan out[i] = s + e at i32, e = x[i]"
    assert site["obligations"] == {"associative": "proven", "commutative": "proven", "identity": "proven"}
    assert "subtract" not in ev["shape"]["proof"]  # this loop adds: the proof says nothing of subtraction
    x = np.arange(-50, 53, dtype=np.int32) * 7919
    out = np.zeros_like(x)
    load(tmp_path / "out").prefix_sum(x.size, x, out)
    assert np.array_equal(out, np.cumsum(x, dtype=np.int32))


def test_narrow_loop_variables_run_to_the_top_of_their_range(tmp_path):
    """A u8 and a u16 loop variable: the blocks' room is worked out in the
    variable's own width, and the loop may run to 255 or 65535."""
    from atlas.machine import probe as hwprobe
    from atlas.machine.runtime import load
    from atlas.pipeline import compile_files, front
    from atlas.search.explode import Options, pinned

    src = tmp_path / "narrow.ax"
    src.write_text(
        """fn by_u8(lo: u8, hi: u8, x: [u16; 300], out: mut [u16; 300]) {
            let s: u16 = 7;
            for i in lo..hi { s += x[i]; out[i] = s; }
        }
        fn by_u16(lo: u16, hi: u16, x: [u8; 70000], out: mut [u8; 70000]) {
            let s: u8 = 0;
            for i in lo..hi { s = max(s, x[i]); out[i] = s; }
        }"""
    )
    probe = hwprobe.probe()
    pins = {"by_u8": pinned("scan-lanes"), "by_u16": pinned("scan-lanes")}
    compile_files([src], probe, tmp_path / "out", search=Options(fixed=pins))
    lib, module = load(tmp_path / "out"), front([src], probe)[1]
    rng = np.random.default_rng(5)
    cases = {
        "by_u8": [(0, 255), (3, 250), (200, 100), (254, 255), (0, 0)],
        "by_u16": [(0, 65535), (65000, 65535), (9, 40000), (40000, 9)],
    }
    for name, ranges in cases.items():
        size, dt = (300, np.uint16) if name == "by_u8" else (70000, np.uint8)
        for lo, hi in ranges:
            x = ints(rng, dt, size)
            want, got = np.zeros(size, dt), np.zeros(size, dt)
            interp.run(module, name, lo, hi, x, want)
            getattr(lib, name)(lo, hi, x, got)
            assert np.array_equal(want, got), (name, lo, hi)


def test_a_law_z3_leaves_undecided_refuses_the_loop_and_says_which(tmp_path, monkeypatch):
    """With no attempt allowed, every float law stays undecided: the loop is
    not marked, and pinning the shape names the loop and the law."""
    from atlas.front.diagnostics import AtlasError
    from atlas.machine import probe as hwprobe
    from atlas.pipeline import compile_files
    from atlas.search.explode import Options, pinned

    monkeypatch.setattr(lanes, "FLOAT_TRIES", 0)
    fn = next(f for f in functions(UNSEEN.read_text()) if f.name == "growth")
    assert lanes.scan_lanes(fn, differential=False) is None
    (why,) = lanes.refusals(fn, "scan-lanes")
    assert "commutative undecided" in why and "identity undecided" in why and "associative" not in why
    src = tmp_path / "growth.ax"
    text = UNSEEN.read_text()
    src.write_text(text[text.index("reassoc fn growth") :].split("\n}\n")[0] + "\n}\n")
    said = r"growth: the shape scan-lanes does not apply to it \(the loop at .*commutative"
    with pytest.raises(AtlasError, match=said):
        compile_files([src], hwprobe.probe(), tmp_path / "out", search=Options(fixed={"growth": pinned("scan-lanes")}))


def test_a_law_is_tried_with_other_seeds_until_z3_decides(monkeypatch):
    """An attempt that runs out of its resource limit is not the verdict:
    the next seed is tried (here the first attempt is made to fail)."""
    tried = []
    real = lanes.z3.Solver.check

    def check(self, *a):
        tried.append(1)
        return lanes.z3.unknown if len(tried) == 1 else real(self, *a)

    monkeypatch.setattr(lanes.z3.Solver, "check", check)
    a, b = lanes.fresh("a", ir.U32), lanes.fresh("b", ir.U32)
    assert lanes._verdicts({"commutative": a + b == b + a}, floats=False) == {"commutative": "proven"}
    assert len(tried) == 2
