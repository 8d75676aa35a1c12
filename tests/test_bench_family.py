"""`atlas bench --family`: the kernel families (intents/family/, bench/family.c).
These tests check behaviour (the registry, the intents, the reference C and
the harness on tiny sizes), never timings."""

import ctypes
import json
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.machine.probe import load_probe
from atlas.meaning import interp
from atlas.pipeline import compile_files, front
from atlas.tools import bench as B
from atlas.tools.cli import main

FAMILY_DIR = B.INTENTS / "family"
FAMILY_C = B.find_kernels_c(suite=B.FAMILY_SUITE)  # in the repository: never missing
PROBE = B.REPO / "tests" / "fixtures" / "probe-popcnt.json"  # no family intent has a `when`
NAMES = [k.name for k in B.FAMILY]


def needs_c(test):
    """Marked cc; skipped without gcc."""
    for mark in (pytest.mark.cc, pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")):
        test = mark(test)
    return test


# ------------------------------------------------------------- the registry


def test_the_registry_names_the_files():
    assert sorted(NAMES) == sorted(p.stem for p in FAMILY_DIR.glob("*.ax"))
    assert len(set(NAMES)) == len(NAMES) and not set(NAMES) & set(B.BY_NAME)  # one seed per name
    assert B.SUITES["family"].by_name == B.FAMILY_BY_NAME and B.FAMILY_SUITE.intents == FAMILY_DIR


@pytest.mark.parametrize("name", NAMES)
def test_each_file_holds_one_function_of_the_c_signature(name):
    path = FAMILY_DIR / f"{name}.ax"
    module = check(parse(path.read_text(), str(path)))
    assert [f.name for f in module.functions] == [name]
    k = B.FAMILY_BY_NAME[name]
    assert B.intent_abi(module.functions[0].signature) == B._abi(k.ret, [t for _, t in k.params])
    assert len(k.sizes) == 2 and k.sizes[0] < k.sizes[1] and set(k.bound_sizes) <= set(k.sizes)


def test_family_inputs_are_seeded_aligned_and_typed():
    for k in B.FAMILY:
        a, b = B.make_inputs(k, 257), B.make_inputs(k, 257)
        for p, t in k.params[1:]:
            if t.endswith("*"):
                assert a[p].dtype == B._DTYPE[B._base(t)] and a[p].ctypes.data % 64 == 0
                assert np.array_equal(a[p], b[p])
    assert B.make_inputs(B.FAMILY_BY_NAME["matvec_t"], 10)["a"].size == 100


# ------------------------------------------------------------- intents against the C


@pytest.fixture(scope="module")
def family_c(tmp_path_factory):
    out = tmp_path_factory.mktemp("family") / "family.so"
    subprocess.run(["gcc", *B.C_FLAGS, "-o", str(out), str(FAMILY_C)], check=True)
    return ctypes.CDLL(str(out))


def _call_c(lib, k, n, values):
    f = getattr(lib, k.name)
    f.argtypes = [ctypes.c_void_p if t.endswith("*") else B._CTYPE[t] for _, t in k.params]
    f.restype = B._CTYPE[k.ret] if k.ret else None
    args = [n if p == "n" else values[p] for p, _ in k.params]
    ret = f(*[a.ctypes.data if isinstance(a, np.ndarray) else a for a in args])
    return ret, {p: values[p] for p in k.written}


def _cases(k):
    """Seeded inputs at small n (0 to 3: every edge of stencil3), and every
    array at its type's largest value (the checksums' reductions at their limit)."""
    for n in (0, 1, 2, 3, 31, 100):
        yield n, B.make_inputs(k, n)
    top = B.make_inputs(k, 300)
    for p, t in k.params:
        if t.endswith("*") and t.startswith("const"):
            dt = top[p].dtype
            top[p][...] = np.finfo(dt).max if dt.kind == "f" else np.iinfo(dt).max
    yield 300, top
    if k.name == "count_above":  # thresholds at the edges of i32
        for t in (-(2**31), 2**31 - 1, 0):
            yield 100, {**B.make_inputs(k, 100), "t": t}


@needs_c
@pytest.mark.parametrize("name", NAMES)
def test_the_interpreter_agrees_with_the_reference_c(name, family_c):
    k = B.FAMILY_BY_NAME[name]
    _, module, _ = front([FAMILY_DIR / f"{name}.ax"], load_probe(PROBE))
    for n, values in _cases(k):
        mine = {p: v.copy() if isinstance(v, np.ndarray) else v for p, v in values.items()}
        theirs = {p: v.copy() if isinstance(v, np.ndarray) else v for p, v in values.items()}
        got = interp.run(module, name, *[n if p == "n" else mine[p] for p, _ in k.params])
        want, written = _call_c(family_c, k, n, theirs)
        if k.ret:
            assert got == want, f"{name} n={n}: interpreter {got}, C {want}"
        for p, arr in written.items():
            assert np.array_equal(mine[p], arr), f"{name} n={n}: {p} differs"


# ------------------------------------------------------------- compiled, and the harness


@pytest.mark.parametrize("name", NAMES)
def test_each_family_intent_compiles(name, tmp_path):
    compiled = compile_files([FAMILY_DIR / f"{name}.ax"], load_probe(PROBE), tmp_path / "out")
    assert list(compiled.manifest.functions) == [name]
    assert (tmp_path / "out" / (compiled.manifest.library or "")).is_file()


TINY = dict(sizes=(100,), samples=3, target_s=1e-4)


@needs_c
def test_family_run_compiles_compares_and_renders(tmp_path):
    report = B.run_bench(suite=B.FAMILY_SUITE, workdir=tmp_path, **TINY)
    assert [r.kernel for r in report.rows] == NAMES and report.suite == "family"
    for r in report.rows:
        assert r.ok, (r.kernel, r.detail)
        k = B.FAMILY_BY_NAME[r.kernel]
        assert r.compared == (k.length(100) if k.ret is None else 1)
        assert r.ratio and r.ratio > 0
    text = B.render(report)
    assert text.startswith("# atlas bench: the kernel families") and "intents/family/*.ax" in text
    assert "| matvec_t | 100 |" in text and "MISMATCH" not in text
    assert json.loads(json.dumps(report.as_dict()))["suite"] == "family"


@needs_c
def test_cli_family_only_and_unknown_names(tmp_path):
    out = tmp_path / "b.json"
    args = ["bench", "--family", "--only", "stencil3", "-n", "2", "--samples", "2", "--no-search"]
    result = CliRunner().invoke(main, args + ["--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "| stencil3 | 2 |" in result.output and "family.c" in result.output
    assert json.loads(out.read_text())["rows"][0]["ok"]
    wrong = CliRunner().invoke(main, ["bench", "--family", "--only", "saxpy"])
    assert wrong.exit_code == 1 and "unknown kernel(s) saxpy" in wrong.output and "without --family" in wrong.output
    wrong = CliRunner().invoke(main, ["bench", "--only", "adler32"])
    assert wrong.exit_code == 1 and "run with --family" in wrong.output
