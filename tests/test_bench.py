"""`atlas bench`: the harness on tiny sizes.  These tests check behaviour
(outputs compared, figures well formed, wrong answers caught), never timings."""

import json
import math
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from atlas.tools import bench as B
from atlas.tools.cli import main


KERNELS_C = B.find_kernels_c()  # in the repository: never missing


def needs_c(test):
    """Marked cc; skipped without gcc."""
    for mark in (pytest.mark.cc, pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")):
        test = mark(test)
    return test


TINY = dict(sizes=(100,), samples=3, target_s=1e-4)  # a few hundred µs per kernel


def _positive_finite(x):
    return x is not None and math.isfinite(x) and x > 0


@needs_c
def test_quick_run_compares_outputs_and_gives_ratios(tmp_path):
    report = B.run_bench(KERNELS_C, only=("saxpy", "dot_i32", "classify"), workdir=tmp_path, **TINY)
    assert [(r.kernel, r.n) for r in report.rows] == [("saxpy", 100), ("dot_i32", 100), ("classify", 100)]
    for r in report.rows:
        assert r.ok, r.detail
        assert r.compared > 0  # outputs were compared before timing
        assert _positive_finite(r.ratio) and _positive_finite(r.c_ns) and _positive_finite(r.atlas_ns)
        assert len(r.samples["C"]) == len(r.samples["Atlas"]) >= 1
    saxpy, dot, classify = report.rows
    assert saxpy.compared == 100 and saxpy.max_rel_error is not None  # y, within tolerance
    assert dot.compared == 1 and dot.max_rel_error is None  # the return value, exactly
    assert classify.compared == 100
    assert _positive_finite(saxpy.copy_ns) and saxpy.copy_bytes == 12 * 100 // 2
    assert _positive_finite(report.geomean)

    text = B.render(report)
    assert "| saxpy | 100 |" in text and "MISMATCH" not in text
    assert text.splitlines()[-1].startswith("geometric mean of C/Atlas over 3 rows: ")

    out = tmp_path / "bench.json"
    B.write_json(report, out)
    data = json.loads(out.read_text())
    assert [r["kernel"] for r in data["rows"]] == ["saxpy", "dot_i32", "classify"]
    assert data["rows"][0]["atlas_over_bound"] > 0 and data["geomean_ratio"] > 0


WRONG = r"""
#include <stddef.h>
#include <stdint.h>
void saxpy(size_t n, float a, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = a * x[i] + y[i] + (i == n / 2 ? 1e-3f : 0.0f);
}
int32_t dot_i32(size_t n, const int32_t *a, const int32_t *b) {
    uint32_t s = 1;                      /* off by one */
    for (size_t i = 0; i < n; i++) s += (uint32_t)a[i] * (uint32_t)b[i];
    return (int32_t)s;
}
"""


@needs_c
def test_a_wrong_answer_is_reported_and_not_timed(tmp_path):
    src = tmp_path / "wrong.c"
    src.write_text(WRONG)
    lib = tmp_path / "wrong.so"
    subprocess.run(["gcc", "-O2", "-fPIC", "-shared", "-o", str(lib), str(src)], check=True)
    report = B.run_bench(KERNELS_C, only=("saxpy", "dot_i32"), workdir=tmp_path / "w", contender=lib, **TINY)
    saxpy, dot = report.rows
    assert not saxpy.ok and "y[50]" in saxpy.detail and saxpy.ratio is None
    assert not dot.ok and "return value" in dot.detail and dot.ratio is None
    assert not report.ok and report.geomean is None
    text = B.render(report)
    assert text.count("**MISMATCH**") == 2


@needs_c
def test_cli_quick_run_writes_json(tmp_path):
    out = tmp_path / "b.json"
    result = CliRunner().invoke(
        main, ["bench", "--quick", "--only", "dot_i32", "-n", "64", "--samples", "2", "--no-search", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "| dot_i32 | 64 |" in result.output
    row = json.loads(out.read_text())["rows"][0]
    assert row["ok"] and row["ratio"] > 0


def test_missing_kernels_c_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["bench", "--kernels", str(tmp_path / "nope.c")])
    assert result.exit_code == 1
    assert "nope.c: no such file" in result.output


# ------------------------------------------------------------- the inputs


def test_tiered_inputs_follow_the_readme_mix():
    x = B.make_inputs(B.BY_NAME["tiered"], 10_000)["x"]
    assert np.count_nonzero((x > 20) & (x <= 1000)) == 9000
    assert np.count_nonzero((x > 10) & (x <= 20)) == 800
    assert np.count_nonzero((x >= -1000) & (x <= 10)) == 200
    assert not np.all(np.diff(x[:9000]) == 0) and (x[:100] <= 20).any()  # shuffled


def test_classify_inputs_follow_the_readme_mix():
    v = B.make_inputs(B.BY_NAME["classify"], 10_000)
    port, size, flags = v["port"], v["size"], v["flags"]
    bad = (flags & 0x80) != 0
    assert np.count_nonzero(bad) == 100
    good = ~bad
    assert np.count_nonzero(good & (port == 443) & (size > 1000) & (size <= 1500) & (flags == 0)) == 8500
    assert np.count_nonzero(good & (port == 443) & (size >= 40) & (size <= 1000)) == 500
    assert np.count_nonzero(good & (port == 53)) == 500
    assert np.count_nonzero(good & (port != 53) & (port != 443)) == 400
    assert v["port"].dtype == np.uint16 and v["flags"].dtype == np.uint8


def test_inputs_are_seeded_and_aligned():
    a = B.make_inputs(B.BY_NAME["saxpy"], 1000)
    b = B.make_inputs(B.BY_NAME["saxpy"], 1000)
    assert np.array_equal(a["x"], b["x"]) and a["a"] == 1.5
    assert a["x"].dtype == np.float32 and a["x"].min() >= -1 and a["x"].max() < 1
    assert a["x"].ctypes.data % 64 == 0 and a["y"].ctypes.data % 64 == 0


def test_intent_signatures_are_read_as_c_types():
    assert B.intent_abi("fn saxpy(n: u64, a: f32, x: [f32; n], y: mut [f32; n])") == (
        None,
        ("uint64_t", "float", "const float *", "float *"),
    )
    k = B.BY_NAME["argmax_i32"]
    assert B.intent_abi("fn argmax_i32(n: u64, x: [i32; n]) -> u64") == B._abi(k.ret, [t for _, t in k.params])
