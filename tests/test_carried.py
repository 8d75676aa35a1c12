"""Scans carried through memory (atlas/search/carried.py): which loops are
read as carrying a scalar, and what they compute in lanes against the
interpreter, at every length that crosses a block."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.meaning import ir
from atlas.search import lanes
from atlas.search.carried import carried
from test_lanes import LENGTHS, arrays_after, compile_pinned, ints

ROOT = Path(__file__).resolve().parent.parent
CARRIED = ROOT / "tests/fixtures/scans/carried.ax"
NAMES = ["prefix_mem", "prefix_in_place", "running_max_mem", "xor_back", "keep_going"]


def functions(src: str) -> dict[str, ir.Function]:
    return {f.name: f for f in check(parse(src, "t.ax")).functions}


def test_each_is_read_as_a_carried_scan_and_its_laws_proven():
    fns = functions(CARRIED.read_text())
    assert sorted(fns) == sorted(NAMES)
    for fn in fns.values():
        read = carried(fn)
        (site,) = read.sites
        assert "proven below the array's length by Z3" in site["carried"]
        made = lanes.scan_lanes(fn, ir.Module((fn,)))
        assert made is not None, fn.name
        assert made.evidence["carried"] == list(read.sites)
        assert all(v == "proven" for v in made.evidence["loops"][0]["obligations"].values())


NOT_CARRIED = {
    "two back": "fn f(n: u64, x: [i32; n], out: mut [i32; n]) { for i in 2..n { out[i] = out[i - 2] + x[i]; } }",
    "a second store": """fn f(n: u64, x: [i32; n], out: mut [i32; n]) {
        for i in 1..n { out[i - 1] = 0; out[i] = out[i - 1] + x[i]; } }""",
    "ahead": "fn f(n: u64, x: [i32; n], out: mut [i32; n]) { for i in 1..n { out[i] = out[i + 1] + x[i]; } }",
    "stores past its length": """fn f(n: u64, m: u64, x: [i32; n], out: mut [i32; m]) {
        for i in 1..n { out[i] = out[i - 1] + x[i]; } }""",
    "a signed index": """fn f(n: i64, x: [i32; n], out: mut [i32; n]) {
        for i in 1..n { out[i] = out[i - 1] + x[i]; } }""",
    "store not last": """fn f(n: u64, x: [i32; n], out: mut [i32; n], y: mut [i32; n]) {
        for i in 1..n { out[i] = out[i - 1] + x[i]; y[i] = 1; } }""",
}


@pytest.mark.parametrize("name", NOT_CARRIED)
def test_other_loops_are_not_read_so(name):
    (fn,) = functions(NOT_CARRIED[name]).values()
    read = carried(fn)
    assert read.sites == () and read.function == fn


def arguments(name: str, n: int, rng) -> list:
    if name == "prefix_mem":
        return [n, ints(rng, np.int32, n), ints(rng, np.int32, n)]
    if name == "prefix_in_place":
        return [n, ints(rng, np.uint32, n)]
    if name == "running_max_mem":
        return [n, ints(rng, np.uint8, n), ints(rng, np.uint8, n)]
    if name == "xor_back":
        return [n, ints(rng, np.uint64, n), ints(rng, np.uint64, n)]
    if name == "keep_going":
        return [n, ints(rng, np.uint16, n), ints(rng, np.uint16, n), int(rng.integers(0, 5))]
    raise AssertionError(name)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return compile_pinned(tmp_path_factory, [CARRIED], NAMES, "scan-lanes")


@pytest.mark.parametrize("name", NAMES)
def test_the_lanes_agree_with_the_interpreter(compiled, name):
    module, libs = compiled
    rng = np.random.default_rng(NAMES.index(name) + 70)
    for wide, (lib, manifest) in libs.items():
        shape = manifest["functions"][name]["evidence"]["shape"]
        assert shape["shape"] == "scan-lanes" and shape["carried"]
        for n in LENGTHS:
            for w, g in arrays_after(module, lib, name, arguments(name, n, rng)):
                assert np.array_equal(w, g), (name, wide, n)
