"""The measuring worker: a normal candidate measures; a crashing or hanging
one costs only its own child process."""

import json
import shutil
import subprocess
import time

import numpy as np
import pytest

from atlas.pipeline import compile_files
from atlas.machine.probe import probe
from atlas.search.worker import Measured, Measurement, measure
from atlas.front.typecheck import signature_of
from atlas.machine.backend import describe

pytestmark = pytest.mark.cc

SAXPY = """
fn saxpy(n: u64, a: f32, x: [f32; n], y: mut [f32; n]) -> f32 {
    let s: f32 = 0.0;
    for i in 0..n {
        y[i] = a * x[i] + y[i];
        s += x[i];
    }
    return s;
}
"""

# Hand-made "candidates": the C stands in for emitted code gone wrong.
BAD_C = r"""
#include <stdlib.h>
#include <stdint.h>
uint32_t segv(uint32_t x) { volatile uint32_t *p = 0; return *p + x; }
uint32_t aborts(uint32_t x) { if (x != 12345) abort(); return x; }
uint32_t hang(uint32_t x) { volatile uint32_t v = x; for (;;) v++; return v; }
uint32_t fine(uint32_t x) { return x + 1; }
"""


@pytest.fixture(scope="module")
def saxpy_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saxpy")
    (folder / "saxpy.ax").write_text(SAXPY)
    compile_files([folder / "saxpy.ax"], probe(), folder / "out")
    return folder / "out"


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    cc = shutil.which("cc") or shutil.which("gcc")
    (folder / "bad.c").write_text(BAD_C)
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-o", str(folder / "bad.so"), str(folder / "bad.c")], check=True)
    names = ["segv", "aborts", "hang", "fine"]
    manifest = {"library": "bad.so", "functions": {n: describe(signature_of(f"fn {n}(x: u32) -> u32")) for n in names}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_normal_candidate_measures_ok(saxpy_dir):
    n = 1000
    x = np.arange(n, dtype=np.float32)
    y = np.ones(n, dtype=np.float32)
    m = measure(saxpy_dir, "saxpy", [n, np.float32(2.0), x, y], repeats=5)
    assert isinstance(m, Measurement)
    assert m.status is Measured.OK, m.detail
    assert len(m.times_ns) == 5 and all(t > 0 for t in m.times_ns)
    assert m.median_ns > 0
    # The result is that of one call on the inputs as given (fresh copies each call).
    np.testing.assert_array_equal(m.result["arrays"][3], np.float32(2.0) * x + y)
    assert m.result["return"] == pytest.approx(float(x.sum()))
    assert list(m.result["arrays"]) == [3]  # only the written array comes back
    np.testing.assert_array_equal(y, np.ones(n, np.float32))  # the caller's inputs are untouched


@pytest.mark.parametrize("name, signal", [("segv", "SIGSEGV"), ("aborts", "SIGABRT")])
def test_crash_costs_only_the_child(bad_dir, name, signal):
    m = measure(bad_dir, name, [7], timeout_s=10)
    assert m.status is Measured.CRASHED
    assert m.detail == signal
    assert m.median_ns is None and m.result is None
    # ...and this process carries on: the same library measures fine afterwards.
    assert measure(bad_dir, "fine", [7], repeats=3).result["return"] == 8


def test_hang_is_killed_after_the_time_limit(bad_dir):
    t0 = time.monotonic()
    m = measure(bad_dir, "hang", [1], timeout_s=2)
    elapsed = time.monotonic() - t0
    assert m.status is Measured.TIMEOUT
    assert elapsed >= 2  # killed at the limit, not before (how long after depends on the load)


def test_exception_in_child_is_an_error(bad_dir):
    m = measure(bad_dir, "fine", [1, 2])  # wrong argument count
    assert m.status is Measured.ERROR
    assert "ArityError" in m.detail and "takes 1 argument" in m.detail
    m = measure(bad_dir, "nosuch", [1])
    assert m.status is Measured.ERROR and "nosuch" in m.detail
    m = measure(bad_dir.parent / "missing", "fine", [1])
    assert m.status is Measured.ERROR and "not a compiled artefact" in m.detail


def test_candidate_output_does_not_corrupt_the_reply(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    (tmp_path / "p.c").write_text(
        "#include <stdio.h>\n#include <stdint.h>\n"
        'uint32_t p(uint32_t x) { printf("noise\\n"); fflush(stdout); return x; }\n'
    )
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(tmp_path / "p.so"), str(tmp_path / "p.c")], check=True)
    (tmp_path / "manifest.json").write_text(
        json.dumps({"library": "p.so", "functions": {"p": describe(signature_of("fn p(x: u32) -> u32"))}})
    )
    m = measure(tmp_path, "p", [5], repeats=2)
    assert m.status is Measured.OK, m.detail
    assert m.result["return"] == 5


# ---------------------------------------------------------------- native timing


def test_native_timing_sees_a_trivial_call(bad_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path / "cache"))
    m = measure(bad_dir, "fine", [41], repeats=5)
    assert m.status is Measured.OK, m.detail
    assert m.method == "native", m.note
    assert m.result["return"] == 42
    assert len(m.times_ns) == 5
    # one call through a function pointer costs nanoseconds, not a ctypes call's microsecond
    assert 0 < m.median_ns < 100, m.times_ns
    assert m.reps * m.median_ns >= 0.5 * 200_000  # each sample lasted ~0.2 ms or more
    # the loop was built once, into the cache, and is reused
    timers = list((tmp_path / "cache" / "timers").glob("*.so"))
    assert len(timers) == 1
    stamp = timers[0].stat().st_mtime_ns
    assert measure(bad_dir, "fine", [1], repeats=2).method == "native"
    assert timers[0].stat().st_mtime_ns == stamp


def test_native_timing_of_a_compiled_kernel(saxpy_dir):
    n = 1000
    x = np.arange(n, dtype=np.float32)
    y = np.ones(n, dtype=np.float32)
    m = measure(saxpy_dir, "saxpy", [n, np.float32(2.0), x, y], repeats=3, min_sample_ns=100_000)
    assert m.status is Measured.OK and m.method == "native", (m.detail, m.note)
    np.testing.assert_array_equal(m.result["arrays"][3], np.float32(2.0) * x + y)  # the warm-up call
    assert m.result["return"] == pytest.approx(float(x.sum()))
    assert m.reps > 1 and 0 < m.median_ns < 100_000
    assert measure(saxpy_dir, "saxpy", [n, np.float32(2.0), x, y], repeats=2, native=False).method == "python"


def test_without_a_compiler_timing_falls_back_to_python(bad_dir, tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no cc, gcc or clang
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path / "cache"))  # and no loop built before
    m = measure(bad_dir, "fine", [1], repeats=3)
    assert m.status is Measured.OK, m.detail
    assert m.method == "python" and "compiler" in m.note
    assert m.result["return"] == 2 and len(m.times_ns) == 3 and m.reps == 1


def test_timing_loops_build_for_every_signature(tmp_path, monkeypatch):
    from atlas.front.typecheck import signature_of
    from atlas.search.worker import timer_library, timer_source

    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path))
    sigs = ["fn f()", "fn g(n: u64, b: bool, x: mut [f64; n]) -> bool", "fn h(a: i8, b: u16, c: f32) -> f64"]
    sigs = [signature_of(s, "<test>") for s in sigs]
    src = timer_source(sigs[0])
    assert "typedef void (*fn_t)(void);" in src and "f();" in src
    src = timer_source(sigs[1])
    assert "typedef _Bool (*fn_t)(uint64_t, _Bool, void *);" in src
    assert "double atlas_time(void *fp, uint64_t a0, _Bool a1, void * a2, long reps, void *last)" in src
    built = [timer_library(s) for s in sigs]
    assert all(path and not why for path, why in built), built
    assert len({path for path, _ in built}) == 3
    assert not [p for p in (tmp_path / "timers").iterdir() if not p.name.endswith(".so")]  # no leftovers
