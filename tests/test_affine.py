"""Affine folds in lanes (atlas/meaning/affine.py, search/lanes.py,
backends/llvm/lanes.py): a loop that carries h = h * a + e(i) is read by
its terms, its reading and the lanes' law are proven by Z3, and the lanes
agree with the interpreter at every length; loops of other forms are left
alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from atlas.meaning import affine, interp, ir
from atlas.search import lanes
from test_lanes import compile_pinned, functions, ints, the_loop

ROOT = Path(__file__).resolve().parent.parent
UNSEEN = ROOT / "tests/fixtures/affine/unseen.ax"
NAMES = ["djb2", "java_hash", "read_digits", "horner_at", "sub_hash", "mixed", "alternate", "small"]
LENGTHS = [*range(0, 70), 127, 128, 129, 1023, 1024, 1025, 4099]


def fold_of(src: str) -> affine.Affine | None:
    fn = next(f for f in functions(src) if f.name == "f")
    return affine.match(the_loop(fn), fn)


def test_every_unseen_fold_is_read_and_proven():
    fns = {f.name: f for f in functions(UNSEEN.read_text())}
    assert set(NAMES) == set(fns)
    muls = {}
    for name in NAMES:
        fn = fns[name]
        fold = affine.match(the_loop(fn), fn)
        assert fold is not None, name
        assert affine_laws(fold) == {"step": "proven", "lanes": "proven"}, name
        muls[name] = ir.pretty_expr(fold.mul)
    assert muls["djb2"] == "33u32" and muls["java_hash"] == "31i32" and muls["read_digits"] == "10u64"
    assert muls["horner_at"] == "x" and muls["alternate"] == "-3i64"


def affine_laws(fold):
    return lanes.affine_obligations(fold)


F = (
    "fn f(n: u64, x: [u32; n], y: [u32; n], k: u32) -> u32 {{ "
    "let h: u32 = 1; let c: u32 = 0; for i in 0..n {{ {} }} return h + c; }}"
)


@pytest.mark.parametrize(
    "body, reason",
    [
        ("h = (h ^ x[i]) * 16777619;", "an xor of h: not affine"),
        ("h = h * x[i] + 1;", "a multiplier the loop changes"),
        ("h = h * (k + (i as u32)) + x[i];", "a multiplier of the index"),
        ("h = (h >> 1) + x[i];", "a right shift of h"),
        ("h = h + x[i];", "a plain sum: the backend vectorises it"),
        ("h = h * 33 + x[i]; c += 1;", "carries two values"),
        ("h = h * 33 + x[i]; if h > k { h = 0; }", "a branch"),
        ("h = h * h + x[i];", "h times itself"),
        ("h = (h << k) + x[i];", "a shift by a count that is not a constant"),
        ("h = h * 33 + (h & x[i]);", "the element reads h"),
    ],
)
def test_other_loops_are_not_affine(body, reason):
    assert fold_of(F.format(body)) is None, reason


def test_a_large_constant_multiplier_is_read_without_evaluating_anything_else():
    """Folding 1 * 2^63 computed every operator's value first, a shift by
    2^63 among them (out of memory: found by the fuzzer)."""
    fold = fold_of(F.replace("u32", "u64").format("h = h * 9223372036854775808 + x[i];"))
    assert fold is not None and ir.pretty_expr(fold.mul) == "0x8000000000000000u64"


def test_a_wrong_reading_is_refuted():
    """The proof is of the step as written: an element that leaves out a
    term of h is refuted, so a reading wrong by construction cannot pass."""
    fold = fold_of(F.format("h = h * 33 + x[i] + y[i];"))
    assert fold is not None
    wrong = affine.Affine(fold.loop, fold.acc, fold.ty, fold.mul, ir.Load("x", ir.Var("i", ir.U64), ir.U32), fold.step)
    assert lanes.affine_obligations(wrong)["step"] == "refuted"


def arguments(name: str, n: int, rng) -> list:
    if name == "djb2":
        return [n, ints(rng, np.uint8, n)]
    if name == "java_hash":
        return [n, ints(rng, np.int16, n)]
    if name == "read_digits":
        return [n, rng.integers(48, 58, n, dtype=np.uint8)]
    if name == "horner_at":
        return [int(rng.integers(0, n + 3)), n, ints(rng, np.uint32, n), int(rng.integers(0, 2**32))]
    if name == "sub_hash":
        return [n, ints(rng, np.uint16, n), int(rng.integers(0, 2**16))]
    if name == "mixed":
        return [n, ints(rng, np.uint32, n), ints(rng, np.uint32, n)]
    if name == "alternate":
        return [n, ints(rng, np.int64, n)]
    assert name == "small"
    return [n, ints(rng, np.uint8, n), int(rng.integers(0, 256))]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return compile_pinned(tmp_path_factory, [UNSEEN], NAMES, "affine-lanes")


@pytest.mark.parametrize("name", NAMES)
def test_the_lanes_agree_with_the_interpreter(compiled, name):
    module, libs = compiled
    rng = np.random.default_rng(NAMES.index(name))
    for n in LENGTHS:
        args = arguments(name, n, rng)
        want = interp.run(module, name, *args)
        for wide, (lib, manifest) in libs.items():
            assert manifest["functions"][name]["evidence"]["shape"]["shape"] == "affine-lanes"
            assert getattr(lib, name)(*args) == want, (name, wide, n)
