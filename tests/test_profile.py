"""Input profiles (atlas/search/profile.py, docs/profile.md): the shipped profiles of
the ten benchmark kernels, the distributions they draw, determinism, the
inputs made without a profile, and the errors for malformed profiles.

Malformed profiles are golden cases, as tests/test_errors.py does for intents:

    tests/malformed_profiles/NNN_name.yaml       a profile with one mistake
    tests/malformed_profiles/NNN_name.expected   the complete error text

A case is loaded from the repository root and, if it loads, bound to the
function of intents/<function>.ax.  After a deliberate change to a message,
rewrite the expected files with

    python tests/test_profile.py --regen

and read every changed message (`git diff tests/malformed_profiles`).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from atlas.meaning import interp, ir
from atlas.front.check import check
from atlas.front.diagnostics import AtlasError
from atlas.search.profile import ALIGN, generated, length_params, load_profile, parse_profile
from atlas.front.syntax import parse

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "intents" / "profiles"
BAD = ROOT / "tests" / "malformed_profiles"
BAD_CASES = sorted(BAD.glob("*.yaml"))

# The sizes timed by bench/README.md, per shipped profile.
README_SIZES = {
    "saxpy": [4096, 1 << 24],
    "dot_i32": [4096, 1 << 22],
    "inet_checksum": [750, 1 << 20],
    "popcount_total": [1 << 20],
    "tiered": [1 << 20],
    "tiered-cold": [1 << 20],
    "classify": [1 << 20],
    "brighten": [1 << 22],
    "matmul": [64, 256],
    "prefix_sum": [1 << 22],
    "argmax_i32": [1 << 22],
    "sum_f32": [4096, 1 << 24],  # not a benchmark kernel: saxpy's sizes
}


@functools.lru_cache(maxsize=None)
def intent(name: str) -> ir.Function:
    path = ROOT / "intents" / f"{name}.ax"
    return check(parse(path.read_text(), str(path))).function(name)


def function_of(src: str, name: str) -> ir.Function:
    return check(parse(src, "<test>")).function(name)


@functools.lru_cache(maxsize=None)
def shipped(stem: str):
    p = load_profile(PROFILES / f"{stem}.yaml")
    return p, p.inputs(intent(p.function))


# ---------------------------------------------------------------- shipped profiles


def test_every_kernel_has_a_profile():
    assert sorted(p.stem for p in PROFILES.glob("*.yaml")) == sorted(README_SIZES)


@pytest.mark.parametrize("stem", sorted(README_SIZES))
def test_shipped_profile_fits_its_intent(stem):
    p, samples = shipped(stem)
    fn = intent(p.function)
    assert p.function == (stem if stem != "tiered-cold" else "tiered")
    assert len(p.digest) == 64 and int(p.digest, 16) >= 0
    [n_param] = length_params(fn)
    assert [args[[q.name for q in fn.params].index(n_param)] for args in samples] == README_SIZES[stem]
    for args in samples:
        assert len(args) == len(fn.params)
        scalars = {}
        for q, a in zip(fn.params, args):
            if isinstance(q.ty, ir.Scalar):
                assert type(a) is (float if q.ty.is_float else bool if q.ty.is_bool else int)
                scalars[q.name] = interp.to_value(q.ty, a)
        for q, a in zip(fn.params, args):
            if isinstance(q.ty, ir.Array):
                assert isinstance(a, np.ndarray) and a.dtype == interp.dtype(q.ty.elem)
                assert a.size == interp.evaluate(q.ty.length, scalars, exact=True)
                assert a.ctypes.data % ALIGN == 0 and a.flags.writeable and a.flags.c_contiguous
                if q.ty.mutable and q.name not in p.arrays:
                    assert not a.any(), "an unmentioned output array starts as zeros"
        interp.bind(fn, args)  # the argument contract holds


def test_saxpy_and_matmul_floats():
    p, samples = shipped("saxpy")
    for n, a, x, y in samples:
        assert a == 1.5
        for v in (x, y):
            assert v.min() >= -1.0 and v.max() < 1.0
    big_x = samples[1][2]
    assert abs(float(big_x.mean())) < 0.01 and big_x.std() > 0.55  # uniform: std 1/sqrt(3)
    _, mm = shipped("matmul")
    assert [(n, a.size, c.size) for n, a, b, c in mm] == [(64, 64 * 64, 64 * 64), (256, 256 * 256, 256 * 256)]
    assert all(-1.0 <= v.min() and v.max() < 1.0 for _, a, b, _ in mm for v in (a, b))


def test_integer_kernels_ranges():
    _, dot = shipped("dot_i32")
    a = dot[1][1]
    assert a.min() == -(1 << 15) and a.max() == (1 << 15) - 1
    _, ps = shipped("prefix_sum")
    assert ps[0][1].min() == -(1 << 20) and ps[0][1].max() == (1 << 20) - 1
    _, pc = shipped("popcount_total")
    assert pc[0][1].max() > np.uint64(1 << 63)  # the whole of u64, not a signed half
    _, am = shipped("argmax_i32")
    assert am[0][1].min() < -(1 << 30) and am[0][1].max() > 1 << 30
    _, ck = shipped("inet_checksum")
    assert ck[0][0] == 750 and ck[1][1].max() > 65000
    _, br = shipped("brighten")
    n, pixels, delta, out = br[0]
    assert delta == 40 and pixels.min() == 0 and pixels.max() == 255 and not out.any()


def _tiers(x):
    return (np.mean((x > 20) & (x <= 1000)), np.mean((x > 10) & (x <= 20)), np.mean((x >= -1000) & (x <= 10)))


def test_tiered_distribution():
    _, [[n, x, out]] = shipped("tiered")
    assert x.min() >= -1000 and x.max() <= 1000
    hot, mid, low = _tiers(x)
    assert abs(hot - 0.90) < 0.002 and abs(mid - 0.08) < 0.002 and abs(low - 0.02) < 0.002
    # Shuffled: every stretch of the array has the mix, not a sorted run of hot values.
    for part in np.array_split(x, 16):
        assert abs(_tiers(part)[0] - 0.90) < 0.02


def test_tiered_cold_is_another_distribution():
    _, [[n, x, out]] = shipped("tiered-cold")
    hot, mid, low = _tiers(x)
    assert abs(low - 0.90) < 0.002 and abs(hot + mid - 0.10) < 0.002
    assert shipped("tiered")[0].digest != shipped("tiered-cold")[0].digest


def test_classify_joint_records():
    _, [[n, port, size, flags, cls]] = shipped("classify")
    bad = (flags & 0x80) != 0
    hot = (port == 443) & (size > 1000) & (size <= 1500) & (flags == 0)
    small = (port == 443) & (size >= 40) & (size <= 1000) & ~bad
    dns = (port == 53) & ~bad
    other = (port != 53) & (port != 443) & ~bad
    for mask, share in ((hot, 0.85), (small, 0.05), (dns, 0.05), (other, 0.04), (bad, 0.01)):
        assert abs(mask.mean() - share) < 0.002, (share, mask.mean())
    assert (hot | small | dns | other | bad).all()
    # the fields bench.py draws where the README is silent
    assert size.min() >= 40 and size.max() <= 1500 and size[dns].max() <= 512
    assert (flags[~hot & ~bad] < 0x80).all() and flags[small].any()
    assert set(np.unique(port[bad])) >= {53, 443}
    assert ((port[bad] != 53) & (port[bad] != 443)).mean() > 0.25  # a third on other ports
    # Records stay whole through the shuffle, and the shuffle spreads them.
    for part in np.array_split(hot, 16):
        assert abs(part.mean() - 0.85) < 0.02
    assert not cls.any()


def test_classify_inputs_run_in_the_interpreter():
    """A small sample of the same records through the reference interpreter."""
    text = (PROFILES / "classify.yaml").read_text().replace("[1048576]", "[2000]")
    [[n, port, size, flags, cls]] = parse_profile(text, "classify-small.yaml").inputs(intent("classify"))
    module = ir.Module((intent("classify"),))
    interp.run(module, "classify", n, port, size, flags, cls)
    want = np.where(flags & 0x80, 0, np.where(port == 53, 3, np.where(port == 443, np.where(size > 1000, 1, 2), 4)))
    assert (cls == want).all()
    assert abs(np.mean(cls == 1) - 0.85) < 0.03


# ---------------------------------------------------------------- determinism


def test_same_seed_same_inputs_other_seed_other_inputs():
    text = (PROFILES / "tiered.yaml").read_text().replace("[1048576]", "[4096, 100]")
    fn = intent("tiered")
    a = parse_profile(text, "a.yaml").inputs(fn)
    b = parse_profile(text, "b.yaml").inputs(fn)
    c = parse_profile(text + "seed: 7\n", "c.yaml").inputs(fn)
    assert all((x[1] == y[1]).all() for x, y in zip(a, b))
    assert not (a[0][1] == c[0][1]).all()
    # A sample depends on its own index only: adding a size leaves the first alone.
    d = parse_profile(text.replace("[4096, 100]", "[4096]"), "d.yaml").inputs(fn)
    assert (d[0][1] == a[0][1]).all()
    assert parse_profile(text, "a.yaml").digest != parse_profile(text + "seed: 7\n", "c.yaml").digest


def test_digest_is_of_the_content_not_the_formatting():
    one = "function: saxpy\nsizes: [16]\narrays: {x: {uniform: [-1.0, 1.0]}}\nscalars: {a: 2.0}\n"
    two = (
        "# a comment\nscalars:\n  a: 2.0\nfunction: saxpy   # the kernel\n"
        "arrays:\n  x:\n    uniform: [-1.0, 1.0]\nsizes:\n  - 16\n"
    )
    assert parse_profile(one, "1.yaml").digest == parse_profile(two, "2.yaml").digest
    assert parse_profile(one, "1.yaml").digest != parse_profile(one.replace("2.0", "2.5"), "1.yaml").digest


def test_generated_is_deterministic():
    fn = intent("dot_i32")
    a, b, c = generated(fn), generated(fn), generated(fn, seed=1)
    assert (a[0][1] == b[0][1]).all() and not (a[0][1] == c[0][1]).all()


# ---------------------------------------------------------------- distributions

DISTS = """
fn d(n: u64, a: [u8; n], b: [i64; n], c: [u64; n], f: [f32; n], g: [f64; n], h: [bool; n],
     k: [i8; n], s: f64, t: bool, u: i16) {
}
"""


def test_each_kind_of_distribution():
    fn = function_of(DISTS, "d")
    text = """
function: d
sizes: [100000]
scalars: {s: {choice: [0.25, 0.5]}, t: false, u: {uniform: [-7, -7]}}
arrays:
  a: {uniform: [0, 3], except: [1, 2]}
  b: {choice: [-5, 0x10, 7]}
  c: {uniform: [18446744073709551614, 18446744073709551615], except: [18446744073709551615]}
  f: {uniform: [1.0, 1.0000001]}
  g: {mix: [{weight: 1, value: -2.5}, {weight: 3, mix: [{weight: 1, value: 1.0}, {weight: 1, uniform: [10, 11]}]}]}
  h: {choice: [true, false, false, false]}
  k: {uniform: [-128, 127], except: [-128, 0, 127]}
"""
    [[n, a, b, c, f, g, h, k, s, t, u]] = parse_profile(text, "d.yaml").inputs(fn)
    assert set(np.unique(a)) == {0, 3}
    assert set(np.unique(b)) == {-5, 16, 7}
    assert (c == np.uint64(18446744073709551614)).all()
    assert f.dtype == np.float32 and (f >= 1.0).all() and (f < np.float32(1.0000001)).all()
    assert np.sum(g == -2.5) == 25000 and np.sum(g == 1.0) == 37500  # exact shares
    assert ((g >= 10) & (g < 11)).sum() == 37500
    assert abs(h.mean() - 0.25) < 0.01
    assert k.min() == -127 and k.max() == 126 and not (k == 0).any()
    assert s in (0.25, 0.5) and t is False and u == -7


def test_mix_shares_are_exact_and_shuffled():
    fn = function_of("fn m(n: u64, x: [u8; n]) {}", "m")
    text = "function: m\nsizes: [10000, 1]\narrays:\n  x: {mix: [{weight: 3, value: 1}, {weight: 1, value: 2}]}\n"
    [[_, x], [_, one]] = parse_profile(text, "m.yaml").inputs(fn)
    assert np.sum(x == 1) == 7500 and np.sum(x == 2) == 2500
    assert x[:5000].sum() != 5000 and np.sum(x[:2500] == 2) > 400  # not sorted
    assert one.tolist() in ([1], [2])


def test_unmentioned_parameters_get_defaults():
    fn = function_of(DISTS, "d")
    [[n, a, b, c, f, g, h, k, s, t, u]] = parse_profile("function: d\nsizes: 50000\n", "e.yaml").inputs(fn)
    assert a.min() == 0 and a.max() == 255 and b.min() < -(1 << 60) and c.max() > 1 << 63
    assert -1.0 <= f.min() and f.max() < 1.0 and -1.0 <= g.min() and g.max() < 1.0
    assert 0.45 < h.mean() < 0.55
    assert (s, t, u) == (1.5, True, 3)


def test_several_length_params_and_records():
    fn = function_of(
        "fn g(rows: u32, cols: u32, m: [f64; rows * cols], r: mut [f64; rows], p: [u16; cols], q: [u8; cols]) {}", "g"
    )
    text = (
        "function: g\nsizes: {rows: [2, 8], cols: 3}\n"
        "records:\n  - {weight: 1, p: 7, q: 1}\n  - {weight: 2, p: 9, q: 2}\n"
    )
    samples = parse_profile(text, "g.yaml").inputs(fn)
    assert [(rows, cols, m.size, r.size, p.size) for rows, cols, m, r, p, q in samples] == [
        (2, 3, 6, 2, 3),
        (8, 3, 24, 8, 3),
    ]
    for *_, p, q in samples:
        assert ((p == 7) == (q == 1)).all() and (p == 7).sum() == 1  # joint, exact shares
        interp.bind(fn, samples[0])
    with pytest.raises(AtlasError, match=r"g\.yaml:2:8: error: expected sizes per length parameter"):
        parse_profile("function: g\nsizes: [4]\n", "g.yaml").inputs(fn)
    with pytest.raises(AtlasError, match=r"missing the sizes of length parameter 'cols'"):
        parse_profile("function: g\nsizes: {rows: [4]}\n", "g.yaml").inputs(fn)
    with pytest.raises(AtlasError, match=r"g\.yaml:4:9: error: expected 2 sizes, as for 'rows', found 3"):
        parse_profile("function: g\nsizes:\n  rows: [1, 2]\n  cols: [1, 2, 3]\n", "g.yaml")


def test_records_of_different_lengths_are_refused():
    fn = function_of("fn h(n: u64, a: [u8; n], b: [u8; n * 2]) {}", "h")
    with pytest.raises(AtlasError) as err:
        parse_profile("function: h\nsizes: [4]\nrecords:\n  - {weight: 1, a: 1, b: 2}\n", "h.yaml").inputs(fn)
    assert "h.yaml:4:3: error: expected the arrays of `records` to have one length, found a: 4, b: 8" in str(err.value)


def test_profile_for_another_function_is_refused():
    p = load_profile(PROFILES / "tiered.yaml")
    with pytest.raises(AtlasError, match=r"tiered\.yaml:\d+:11: error: expected a profile for 'prefix_sum'"):
        p.inputs(intent("prefix_sum"))


def test_inputs_run_in_the_interpreter():
    text = (PROFILES / "tiered-cold.yaml").read_text().replace("[1048576]", "[300, 0]")
    fn = intent("tiered")
    samples = parse_profile(text, "t.yaml").inputs(fn)
    for n, x, out in samples:
        interp.run(ir.Module((fn,)), "tiered", n, x, out)
        want = np.where(x > 10, np.where(x > 20, x * 2, x + 10), x - 5)
        assert (out == want).all()
    assert samples[1][1].size == 0


# ---------------------------------------------------------------- generated inputs


def test_generated_sizes_follow_the_largest_array():
    [[n, a, b, c]] = generated(intent("matmul"))
    assert n == 64 and a.size == b.size == c.size == 4096 and not c.any()
    assert generated(intent("matmul"), size=1000)[0][0] == 31
    [[n, a, x, y]] = generated(intent("saxpy"))
    assert (n, a) == (4096, 1.5) and x.dtype == np.float32 and -1 <= x.min() and x.max() < 1
    assert -1 <= y.min() and y.max() < 1  # y is read too: not zeros
    [[n, pixels, delta, out], [n2, pixels2, delta2, _]] = generated(intent("brighten"), size=100)
    assert (n, delta, pixels.size) == (100, 3, 100) and not out.any()
    # the same arrays again, the integer that is not a length at the other value (what a u8 holds)
    assert (n2, delta2) == (100, 255) and (pixels2 == pixels).all()
    for name in README_SIZES:
        if name != "tiered-cold":
            fn = intent(name)
            for args in generated(fn, size=256):
                interp.bind(fn, args)


def test_generated_defaults_and_several_length_params():
    fn = function_of(
        "fn g(rows: u32, cols: u32, m: [f64; rows * cols], v: [bool; cols], "
        "k: i8, s: f64, b: bool, out: mut [i64; rows + 1]) {}",
        "g",
    )
    [[rows, cols, m, v, k, s, b, out], large] = generated(fn)
    assert rows == cols == 64 and m.size == 4096 and out.size == 65
    assert m.dtype == np.float64 and -1 <= m.min() and m.max() < 1
    assert v.dtype == np.bool_ and v.any() and not v.all()
    assert (k, s, b) == (3, 1.5, True) and type(k) is int and type(s) is float
    assert large[:2] == [64, 64] and large[4:7] == [127, 1.5, True]  # k at what an i8 holds
    assert [len(generated(fn, both=False))] == [1]
    fn = function_of("fn small(n: u8, x: [u16; n]) {}", "small")
    assert generated(fn)[0][0] == 255 and len(generated(fn)) == 1  # what u8 holds; no other integer
    fn = function_of("fn noarrays(x: u32, y: f32) -> u32 { return x; }", "noarrays")
    assert generated(fn) == [[3, 1.5], [1000, 1.5]]
    fn = function_of("fn floats(n: u64, x: [f32; n], a: f32) {}", "floats")
    assert len(generated(fn)) == 1  # only integers get a second value


# ---------------------------------------------------------------- malformed profiles


def render(case: Path) -> str:
    cwd = os.getcwd()
    os.chdir(ROOT)  # messages name the file as it was given
    try:
        p = load_profile(case.relative_to(ROOT).as_posix())
        p.inputs(intent(p.function))
    except AtlasError as err:
        return str(err)
    finally:
        os.chdir(cwd)
    return "(no error reported)"


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.stem for c in BAD_CASES])
def test_malformed_profile(case):
    got = render(case)
    lines = got.splitlines()
    rel = case.relative_to(ROOT).as_posix()
    assert re.match(rf"^{re.escape(rel)}:\d+:\d+: error: ", lines[0]), got
    assert re.match(r"^ +\d+ \| ", lines[1]) and re.match(r"^ +\| +\^+$", lines[2]), got
    assert "Traceback" not in got
    assert got == case.with_suffix(".expected").read_text().rstrip("\n")


def test_the_malformed_cases_cover_the_brief():
    stems = {c.stem.split("_", 1)[1] for c in BAD_CASES}
    assert {
        "unknown_key",
        "unknown_distribution",
        "negative_weight",
        "out_of_range_u8",
        "unknown_parameter",
        "missing_sizes",
    } <= stems


def test_errors_point_at_the_value():
    with pytest.raises(AtlasError) as err:
        parse_profile("function: brighten\nsizes: [8]\nscalars:\n  delta: 256\n", "x.yaml").inputs(intent("brighten"))
    text = str(err.value)
    assert text.startswith("x.yaml:4:10: error: expected a u8 (0 to 255) for 'delta', found the integer 256")
    assert text.splitlines()[1:3] == ["   4 |   delta: 256", "     |          ^^^"]
    with pytest.raises(AtlasError, match=r"^x\.yaml:1:1: error: expected a mapping"):
        parse_profile("", "x.yaml")
    with pytest.raises(AtlasError, match=r"cannot read the profile"):
        load_profile(ROOT / "no-such-profile.yaml")


if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]:
        for case in BAD_CASES:
            case.with_suffix(".expected").write_text(render(case) + "\n")
            print(case.with_suffix(".expected").relative_to(ROOT))
    else:
        print(__doc__)
