"""Loop tiling: a nest of two loops whose iterations Z3 proves independent
runs tile by tile.  The tiled transpose agrees with its source in the
interpreter (sizes that are not multiples of the tile included) and
natively; nests whose iterations meet, whose inner range depends on the
outer variable, or whose body carries a scalar are refused with a reason.
And a search without a profile also measures a large generated input,
unless the default variant is too slow on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.meaning import interp, ir
from atlas.search import tiling

ROOT = Path(__file__).resolve().parent.parent
TRANSPOSE = (ROOT / "intents/family/transpose.ax").read_text()


def source(src: str) -> tuple[ir.Function, ir.Module]:
    module = check(parse(src, "t.ax"))
    return module.functions[-1], module


def test_the_transpose_is_tiled_and_agrees():
    fn, module = source(TRANSPOSE)
    why: list = []
    made = tiling.tiling(fn, module, why=why)
    assert made is not None, why
    (entry,) = made.evidence["tiled"]
    assert entry["tile"] == 16 and all("proven" in c["apart"] for c in entry["checks"])
    assert made.evidence["differential"]["agree"] is True
    rng = np.random.default_rng(0)
    for n in (0, 1, 5, 16, 17, 40):
        a = rng.random(n * n, dtype=np.float32)
        want, got = np.zeros(n * n, np.float32), np.zeros(n * n, np.float32)
        interp.run(ir.Module((fn,)), "transpose", n, a, want)
        interp.run(ir.Module((made.function,)), "transpose", n, a, got)
        assert np.array_equal(want, got), n


@pytest.mark.parametrize(
    "body, reason",
    [
        ("out[i * n + j] = out[j * n + i] + 1;", "out[((j * n) + i)]"),  # one iteration reads what another writes
        ("out[i] = out[i] + 1;", "store out[i]"),  # every j writes the same element
        ("s = s + 1; out[i * n + j] = s;", "assigns `s`"),
    ],
)
def test_iterations_that_meet_are_refused(body, reason):
    fn, module = source(
        f"""fn f(n: u64, out: mut [i32; n * n]) {{
            let s: i32 = 0;
            for i in 0..n {{ for j in 0..n {{ {body} }} }}
        }}"""
    )
    why: list = []
    assert tiling.tiling(fn, module, why=why) is None
    assert any(reason in w for w in why), why


def test_a_triangle_is_not_a_rectangle():
    fn, module = source(
        """fn f(n: u64, out: mut [i32; n * n]) {
            for i in 0..n { for j in 0..i { out[i * n + j] = 1; } }
        }"""
    )
    why: list = []
    assert tiling.tiling(fn, module, why=why) is None
    assert any("a rectangle is needed" in w for w in why), why


def test_the_tiled_transpose_runs_natively(tmp_path):
    from atlas.machine import probe as hwprobe
    from atlas.machine.runtime import load
    from atlas.pipeline import compile_files
    from atlas.search.explode import Options, pinned

    path = ROOT / "intents/family/transpose.ax"
    compile_files([path], hwprobe.probe(), tmp_path / "out", search=Options(fixed={"transpose": pinned("tiling")}))
    lib = load(tmp_path / "out")
    rng = np.random.default_rng(1)
    for n in (0, 1, 15, 33, 100):
        a = rng.random(n * n, dtype=np.float32)
        got = np.zeros(n * n, np.float32)
        lib.transpose(n, a, got)
        assert np.array_equal(got, a.reshape(n, n).T.reshape(-1) if n else a), n


def test_a_search_without_a_profile_also_measures_a_large_input(monkeypatch, tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from test_explode import _search

    from atlas.machine import probe as hwprobe
    from atlas.search import explode
    from atlas.search.explode import Options

    monkeypatch.setenv("ATLAS_ARCHIVE", str(tmp_path / "archive.sqlite3"))
    here = hwprobe.probe()
    options = Options(generated_size=256, generated_scale=16, max_evals=2)
    s = _search(ROOT / "intents/saxpy.ax", here, options, "saxpy")
    try:
        assert [max(a.size for a in args if isinstance(a, np.ndarray)) for args in s.inputs] == [256, 4096]
        assert s.default_ns() is not None and len(s.inputs) == 2
    finally:
        s.close()
    monkeypatch.setattr(explode, "LARGE_INPUT_NS", 0.0)  # nothing is fast enough: dropped, and said
    s = _search(ROOT / "intents/saxpy.ax", here, options, "saxpy")
    try:
        assert s.default_ns() is not None and len(s.inputs) == 1
        assert any("large generated input (4096 elements) is left out of the search" in n for n in s.candidates.notes)
    finally:
        s.close()
