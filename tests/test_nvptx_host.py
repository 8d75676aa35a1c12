"""The NVPTX backend's host side (backends/nvptx/host.py) and the GPU check
script (scripts/gpu_check.py).

Everything that needs no GPU runs everywhere: length expressions, grids,
argument marshalling, the checks of a call, the comparisons and the record
of a run.  The tests marked `gpu` run kernels and are skipped, with the
reason, where CuPy or a GPU is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pytest

from atlas.front.typecheck import signature_of
from atlas.machine.backend import describe

ROOT = Path(__file__).resolve().parent.parent


def _by_path(name: str, rel: str):
    # by path: the host module runs where atlas.backends is not installed,
    # and the scripts are no package
    spec = importlib.util.spec_from_file_location(name, ROOT / rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _by_path("gpu_check_under_test", "scripts/gpu_check.py")
host = check.host  # the host module gpu_check uses: one set of classes for both


def params_of(signature: str) -> list[dict]:
    """A manifest's params for a signature, as every backend writes them."""
    return describe(signature_of(signature))["params"]


DOT_PARAMS = params_of("fn dot_i32(n: u64, a: [i32; n], b: [i32; n]) -> i32")
DOT_GPU = {
    "plan": "fold",
    "shape": {"block": 256, "per_thread": 4, "layout": "strided", "grid_stride": False, "reduce": "warp"},
    "requires": [{"param": "n", "below": 2**32}],
    "scratch": {"partials": {"elem": "i32", "count": {"blocks_of": 0}}},
    "result": {"elem": "i32"},
    "launches": [
        {
            "kernel": "dot_i32__fold",
            "block": [256, 1],
            "grid": {"x": {"param": "n", "per_block": 1024, "max": 1056}, "y": {"fixed": 1}},
            "args": [{"param": "n"}, {"param": "a"}, {"param": "b"}, {"scratch": "partials"}],
        },
        {
            "kernel": "dot_i32__finish",
            "block": [256, 1],
            "grid": {"x": {"fixed": 1}, "y": {"fixed": 1}},
            "args": [
                {"param": "n"},
                {"param": "a"},
                {"param": "b"},
                {"scratch": "partials"},
                {"blocks_of": 0},
                {"result": True},
            ],
        },
    ],
}
SAXPY_PARAMS = params_of("fn saxpy(n: u64, a: f32, x: [f32; n], y: mut [f32; n])")


def _dot_values(n):
    return host.bind_args("dot_i32", DOT_PARAMS, [n, np.zeros(n, np.int32), np.zeros(n, np.int32)])


# ---------------------------------------------------------------- types and scalars


def test_dtypes_of_intent_types():
    assert host.dtype_of("f32") == np.float32 and host.dtype_of("u64") == np.uint64
    assert host.dtype_of("bool") == np.bool_ and host.dtype_of("bool").itemsize == 1
    with pytest.raises(ValueError, match="unknown element type"):
        host.dtype_of("f16")


@pytest.mark.parametrize(
    "ty, value, want",
    [
        ("u64", 2**64 - 1, np.uint64(2**64 - 1)),
        ("i32", -1, np.int32(-1)),
        ("u8", np.uint8(7), np.uint8(7)),
        ("bool", True, np.uint8(1)),
        ("bool", np.bool_(False), np.uint8(0)),
        ("f32", 0.1, np.float32(0.1)),
        ("f64", 0.1, np.float64(0.1)),
        ("f32", 3, np.float32(3)),
    ],
)
def test_scalars_take_their_exact_type(ty, value, want):
    got = host.scalar_arg(ty, value)
    assert type(got) is type(want) and got == want


@pytest.mark.parametrize(
    "ty, value, why",
    [
        ("u8", 256, "does not fit"),
        ("i32", -(2**31) - 1, "does not fit"),
        ("u64", -1, "does not fit"),
        ("i32", 1.5, "expected an integer"),
        ("bool", 1, "expected a bool"),
        ("f32", True, "expected a number"),
        ("u32", True, "expected an integer"),
        ("x9", 1, "unknown scalar type"),
    ],
)
def test_scalars_that_do_not_fit_are_refused(ty, value, why):
    with pytest.raises(ValueError, match=why):
        host.scalar_arg(ty, value, "f: argument 'v'")


# ---------------------------------------------------------------- length expressions


def _length(text: str) -> list[dict]:
    return params_of(f"fn f(n: u64, m: u32, i: i32, x: [u8; {text}])")


@pytest.mark.parametrize(
    "text, values, want",
    [
        ("n", {"n": 5}, 5),
        ("n * n", {"n": 1024}, 2**20),
        ("n + 1", {"n": 0}, 1),
        ("(n + 1) * 2", {"n": 3}, 8),
        ("n * (m as u64)", {"n": 3, "m": 4}, 12),
        ("n / 2 % 3", {"n": 11}, 2),
        ("0x10 + n", {"n": 1}, 17),
        ("4u64 * n", {"n": 2}, 8),
        ("1_000 + n", {"n": 0}, 1000),
        ("0b101 * n", {"n": 1}, 5),
        ("n - 1 + 1", {"n": 3}, 3),
        ("n << 1", {"n": 3}, 6),
        ("(n >> 1) | 1", {"n": 8}, 5),
        ("m * m", {"m": 70000}, None),
        ("(i - 5) as u64", {"i": 7}, 2),
    ],
)
def test_lengths_are_evaluated_as_the_cpu_runtime_does(text, values, want):
    params = _length(text)
    values = {"n": 0, "m": 0, "i": 0, **values}
    if want is None:  # beyond the type: refused, as the CPU runtime refuses it
        with pytest.raises(ValueError, match="overflows"):
            host.lengths(params, values)
        return
    assert host.lengths(params, values) == {"x": want}


def test_the_names_a_length_reads():
    assert check._length_params(_length("n * (m as u64) + n")) == {"n", "m"}
    assert check._length_params(_length("16")) == set()


@pytest.mark.parametrize(
    "entry",
    [
        "n",
        {"var": "n"},
        {"var": "n", "type": "f32"},
        {"const": -1, "type": "u8"},
        {"op": "pow", "a": {"var": "n", "type": "u64"}, "b": {"var": "n", "type": "u64"}, "type": "u64"},
        {"const": True, "type": "u64"},
    ],
)
def test_a_length_atlas_did_not_write_is_refused(entry):
    with pytest.raises(ValueError, match="not a length expression"):
        host.lengths([{"name": "x", "elem": "u8", "length": entry}], {})


# ---------------------------------------------------------------- checking a call


def test_a_good_call_binds_scalars_and_arrays():
    x, y = np.ones(4, np.float32), np.zeros(4, np.float32)
    v = host.bind_args("saxpy", SAXPY_PARAMS, [4, 2.0, x, y])
    assert type(v["n"]) is np.uint64 and type(v["a"]) is np.float32
    assert v["x"] is x and v["y"] is y
    assert host.bind_args("saxpy", SAXPY_PARAMS, [0, 2.0, np.ones(0, np.float32), np.ones(0, np.float32)])


def _saxpy_error(args, why):
    with pytest.raises((ValueError, TypeError), match=why):
        host.bind_args("saxpy", SAXPY_PARAMS, args)


def test_calls_with_bad_arrays_are_refused():
    x, y = np.ones(4, np.float32), np.zeros(4, np.float32)
    _saxpy_error([4, 2.0, x], "takes 4 argument")
    with pytest.raises(TypeError, match="takes 4 argument"):  # as for any Python function
        host.bind_args("saxpy", SAXPY_PARAMS, [4, 2.0, x])
    _saxpy_error([4, 2.0, x.astype(np.float64), y], "dtype float32, got float64")
    _saxpy_error([5, 2.0, x, y], "'x' has 4 elements, its declared length n is 5")
    _saxpy_error([4, 2.0, [1.0] * 4, y], "must be a numpy array")
    _saxpy_error([4, 2.0, np.ones((2, 2), np.float32), y], "must be 1-D")
    _saxpy_error([4, 2.0, np.ones(8, np.float32)[::2], y], "contiguous")
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    _saxpy_error([4, 2.0, x, ro], "written but the array is read-only")
    _saxpy_error([4, 2.0, x, x], "overlaps 'x'")
    buf = np.zeros(8, np.float32)
    _saxpy_error([4, 2.0, buf[:4], buf[3:7]], "overlaps")
    _saxpy_error([-1, 2.0, x, y], "argument 'n'")
    _saxpy_error([4, "2", x, y], "argument 'a'")


def test_adjacent_and_empty_arrays_do_not_overlap():
    buf = np.zeros(8, np.float32)
    host.bind_args("saxpy", SAXPY_PARAMS, [4, 1.0, buf[:4], buf[4:]])
    e = np.zeros(0, np.float32)
    host.bind_args("saxpy", SAXPY_PARAMS, [0, 1.0, e, e[:0]])


def test_device_calls_want_device_arrays():
    with pytest.raises(ValueError, match="must be a cupy array"):
        host.bind_args("saxpy", SAXPY_PARAMS, [1, 1.0, np.ones(1, np.float32), np.ones(1, np.float32)], device=True)


def test_bool_arrays_are_one_byte_per_element():
    params = params_of("fn f(n: u32, m: mut [bool; n * 2])")
    v = host.bind_args("f", params, [np.uint32(3), np.zeros(6, np.bool_)])
    assert v["m"].nbytes == 6
    with pytest.raises(ValueError, match="dtype bool"):
        host.bind_args("f", params, [3, np.zeros(6, np.uint8)])


# ---------------------------------------------------------------- launches


@pytest.mark.parametrize("n, blocks", [(0, 1), (1, 1), (1024, 1), (1025, 2), (2**20, 1024), (2**30, 1056)])
def test_grids_follow_the_manifest_rule(n, blocks):
    values = {"n": np.uint64(n)}
    assert host.grids("dot_i32", DOT_GPU, values) == [(blocks, 1), (1, 1)]
    assert host.scratch_counts(DOT_GPU, [(blocks, 1), (1, 1)]) == {"partials": (np.dtype(np.int32), blocks)}


def test_uncapped_grids_and_their_limits():
    launch = {
        "kernel": "k",
        "grid": {"x": {"param": "n", "per_block": 256, "max": None}, "y": {"param": "m", "per_block": 1, "max": None}},
    }
    assert host.grid_of(launch, {"n": 2**20 + 1, "m": 3}) == (4097, 3)
    with pytest.raises(ValueError, match="grid y of 70000 blocks is beyond CUDA's limit"):
        host.grid_of(launch, {"n": 1, "m": 70000})
    with pytest.raises(ValueError, match="neither fixed nor per param"):
        host.grid_of({"kernel": "k", "grid": {"x": {"auto": 1}, "y": {"fixed": 1}}}, {})


def test_a_violated_requirement_is_refused_before_launching():
    with pytest.raises(ValueError, match=r"need n < 4294967296, got 4294967296"):
        host.grids("dot_i32", DOT_GPU, {"n": np.uint64(2**32)})


def test_marshalling_follows_the_kernel_abi():
    a, b = np.zeros(3000, np.int32), np.zeros(3000, np.int32)
    values = host.bind_args("dot_i32", DOT_PARAMS, [3000, a, b])
    grid_list = host.grids("dot_i32", DOT_GPU, values)
    launches = host.marshal(DOT_GPU, values, grid_list, {"partials": "P"}, "R")
    (k1, g1, b1, args1), (k2, g2, b2, args2) = launches
    assert (k1, g1, b1) == ("dot_i32__fold", (3, 1, 1), (256, 1, 1))
    assert (k2, g2, b2) == ("dot_i32__finish", (1, 1, 1), (256, 1, 1))
    assert type(args1[0]) is np.uint64 and args1[0] == 3000 and args1[1] is a and args1[2] is b
    assert args1[3] == "P"
    assert args2[3:5] == ("P", np.uint32(3)) and type(args2[4]) is np.uint32 and args2[5] == "R"


def test_marshalling_errors_name_the_kernel():
    values = _dot_values(4)
    gl = host.grids("dot_i32", DOT_GPU, values)
    with pytest.raises(ValueError, match="dot_i32__finish takes the result"):
        host.marshal(DOT_GPU, values, gl, {"partials": "P"}, None)
    odd = json.loads(json.dumps(DOT_GPU))
    odd["launches"][0]["args"].append({"texture": 1})
    with pytest.raises(ValueError, match="unknown argument"):
        host.marshal(odd, values, gl, {"partials": "P"}, "R")
    odd = json.loads(json.dumps(DOT_GPU))
    odd["launches"][0]["block"] = [64, 32]
    with pytest.raises(ValueError, match="beyond 1024 threads"):
        host.marshal(odd, values, gl, {"partials": "P"}, "R")
    odd = json.loads(json.dumps(DOT_GPU))
    odd["launches"][0]["args"][0] = {"param": "m"}
    with pytest.raises(ValueError, match="no parameter 'm'"):
        host.marshal(odd, values, gl, {"partials": "P"}, "R")


def test_fixed_scratch_and_arch_numbers():
    gpu = {"scratch": {"flags": {"elem": "u8", "count": {"fixed": 7}}}}
    assert host.scratch_counts(gpu, []) == {"flags": (np.dtype(np.uint8), 7)}
    assert host.arch_number("sm_90") == 90 and host.arch_number("sm_90a") == 90
    with pytest.raises(ValueError):
        host.arch_number("compute_90")


class _FakeBuffer:
    def __init__(self, a):
        self.a = a

    def get(self):
        return self.a


def test_results_come_back_as_their_type():
    assert host.read_result(_FakeBuffer(np.array([True])), "bool") is True
    r = host.read_result(_FakeBuffer(np.array([-5], np.int32)), "i32")
    assert type(r) is np.int32 and r == -5
    assert host.read_result(None, None) is None


# ---------------------------------------------------------------- a library without a GPU


def _artefact(folder: Path, variants: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernels.ptx").write_text("// not loaded without a GPU\n")
    manifest = {
        "ptx": "kernels.ptx",
        "arch": "sm_90",
        "intent_hash": "abc",
        "probe": {"fingerprint": "f"},
        "functions": {
            "dot_i32": {
                "signature": "fn dot_i32(n: u64, a: [i32; n], b: [i32; n]) -> i32",
                "params": DOT_PARAMS,
                "ret": "i32",
                "gpu": DOT_GPU,
            },
            "odd": {
                "signature": "fn odd(n: u64) -> u64",
                "params": [{"name": "n", "type": "u64"}],
                "ret": "u64",
                "gpu": None,
                "gpu_why_not": "a while loop",
            },
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    if variants:
        (folder / "variants").mkdir(exist_ok=True)
        entry = {
            "genome": {**DOT_GPU["shape"], "block": 128},
            "hash": "0123456789ab",
            "ptx": "variants/dot_i32-0123456789ab.ptx",
            "gpu": DOT_GPU,
        }
        (folder / "variants" / "dot_i32.json").write_text(json.dumps([entry]))
    return folder


def test_a_library_loads_and_plans_without_a_gpu(tmp_path):
    lib = host.load(_artefact(tmp_path / "dot"), check=False)
    assert lib.functions == ["dot_i32", "odd"]
    assert "dot_i32(n: u64" in repr(lib.dot_i32)
    launches = lib.dot_i32.plan(_dot_values(5000))
    assert [(k, g) for k, g, _, _ in launches] == [("dot_i32__fold", (5, 1, 1)), ("dot_i32__finish", (1, 1, 1))]
    assert launches[0][3][3] == "partials"  # scratch placeholders by name when none are given
    [entry] = lib.variants("dot_i32")
    assert entry["hash"] == "0123456789ab" and lib.variant("dot_i32", entry).gpu == DOT_GPU
    assert lib.variants("odd") == []
    with pytest.raises(host.NoKernel, match="a while loop"):
        lib.odd.plan({"n": np.uint64(1)})
    with pytest.raises(AttributeError, match="has no function 'dot'"):
        lib.dot
    with pytest.raises(KeyError):
        lib["dot"]


def test_loading_refuses_what_is_not_an_nvptx_artefact(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest.json is missing"):
        host.load(tmp_path, check=False)
    (tmp_path / "manifest.json").write_text(json.dumps({"library": "x.so", "functions": {}, "backend": "x86_64"}))
    with pytest.raises(ValueError, match="names no PTX"):
        host.load(tmp_path, check=False)
    (tmp_path / "manifest.json").write_text(json.dumps({"ptx": "kernels.ptx", "functions": {}}))
    with pytest.raises(FileNotFoundError, match="kernels.ptx is missing"):
        host.load(tmp_path, check=False)


def _has_cupy() -> bool:
    return importlib.util.find_spec("cupy") is not None


@pytest.mark.skipif(_has_cupy(), reason="CuPy is installed here: the error for its absence cannot show")
def test_a_call_without_cupy_says_how_to_fix_it(tmp_path):
    lib = host.load(_artefact(tmp_path / "dot"), check=False)
    with pytest.raises(host.GpuUnavailable, match="pip install cupy"):
        lib.dot_i32(2, np.ones(2, np.int32), np.ones(2, np.int32))
    with pytest.raises(host.GpuUnavailable):
        host.load(tmp_path / "dot")  # check=True asks the GPU its compute capability
    # a bad call is refused before CuPy is needed
    with pytest.raises(ValueError, match="dtype int32"):
        lib.dot_i32(2, np.ones(2, np.int64), np.ones(2, np.int32))


# ---------------------------------------------------------------- gpu_check: comparisons


def test_bits_compare_exactly():
    assert check.same_bits(np.array([1.0, np.nan], np.float32), np.array([1.0, np.nan], np.float32))
    assert not check.same_bits(np.array([0.0], np.float32), np.array([-0.0], np.float32))
    assert not check.same_bits(np.array([1], np.int32), np.array([1], np.uint32))
    assert not check.same_bits(np.zeros(2, np.uint8), np.zeros(3, np.uint8))
    assert check.same_bits(np.array([True, False]), np.array([True, False]))
    assert "first at [1]: got 5, expected 4" in check.first_difference(
        np.array([1, 4], np.int32), np.array([1, 5], np.int32)
    )


def test_the_reassociation_bound():
    eps = 2.0**-24
    assert check.reassoc_bound(0, 10.0) == 0.0
    assert check.reassoc_bound(4, 10.0) == pytest.approx(2 * (4 * eps / (1 - 4 * eps)) * 10.0)
    assert check.reassoc_bound(2**24, 1.0) == float("inf")
    assert check.wrap_i32(2**31) == np.int32(-(2**31)) and check.wrap_i32(-1) == np.int32(-1)


def test_results_compare_bit_for_bit_unless_a_fold_reassociates():
    assert check.compare_result("i32", -7, np.int32(-7)) == (True, "bit-exact")
    one_ulp = np.nextafter(np.float32(1.0), np.float32(2.0))
    ok, detail = check.compare_result("f32", 1.0, one_ulp)
    assert not ok and "expected" in detail
    terms = np.array([0.5, 0.25, 0.25], np.float64)
    ok, detail = check.compare_result("f32", 1.0, one_ulp, terms)  # bound: ~1.8e-7 * 1.0 > 1.2e-7
    assert ok and "within the reassociation bound" in detail
    ok, detail = check.compare_result("f32", 1.0, np.float32(1.001), terms)
    assert not ok and "> bound" in detail
    assert check.compare_result("bool", True, True)[0]
    assert not check.compare_result("f32", float("nan"), np.float32(1.0), terms)[0]


def test_reassociating_folds_are_told_apart():
    spec = describe(signature_of("reassoc fn sum_f32(n: u64, x: [f32; n]) -> f32"))
    assert check.is_reassoc_fold(spec, {"plan": "fold"})
    assert not check.is_reassoc_fold(spec, {"plan": "map"})
    assert not check.is_reassoc_fold(describe(signature_of("fn sum(n: u64) -> f32")), {"plan": "fold"})
    params = params_of("fn f(n: u64, x: [f32; n], y: [f32; n], o: mut [f32; n])")
    x, y = np.array([1, -2], np.float32), np.array([3, 4], np.float32)
    assert check.fold_terms(params, [2, x, y, np.zeros(2, np.float32)]).tolist() == [3.0, -8.0]
    assert check.fold_terms(params[:2], [2, x]).tolist() == [1.0, -2.0]
    assert check.fold_terms(DOT_PARAMS, [2, x.astype(np.int32), x.astype(np.int32)]) is None


def _golden(stem):
    return json.loads((ROOT / "tests" / "golden" / f"{stem}.json").read_text())["cases"]


SAXPY_SPEC = {
    "signature": "fn saxpy(n: u64, a: f32, x: [f32; n], y: mut [f32; n])",
    "params": SAXPY_PARAMS,
    "ret": None,
}
DOT_SPEC = {"signature": "fn dot_i32(n: u64, a: [i32; n], b: [i32; n]) -> i32", "params": DOT_PARAMS, "ret": "i32"}


def _saxpy_numpy(n, a, x, y):  # the intent's rounding: a*x, then + y, each once in f32
    y[:] = np.float32(a) * x + y


def _dot_numpy(n, a, b):
    return check.wrap_i32(int((a.astype(np.int64) * b).sum()))


def test_golden_cases_pass_a_faithful_implementation():
    saxpy = check.unique_cases(_golden("saxpy"), "saxpy")
    dot = check.unique_cases(_golden("dot_i32"), "dot_i32")
    assert len(saxpy) == 4 and len(dot) == 5  # each file repeats its cases per CPU probe
    assert check.run_cases(_saxpy_numpy, SAXPY_SPEC, {"plan": "map"}, saxpy) == {
        "cases": 4,
        "passed": 4,
        "failures": [],
    }
    assert check.run_cases(_dot_numpy, DOT_SPEC, DOT_GPU, dot)["passed"] == 5


def test_golden_cases_catch_a_wrong_one():
    saxpy = check.unique_cases(_golden("saxpy"), "saxpy")

    def fused(n, a, x, y):  # one rounding (what an FMA gives): not the intent's
        y[:] = (np.float64(a) * x.astype(np.float64) + y).astype(np.float32)

    r = check.run_cases(fused, SAXPY_SPEC, {"plan": "map"}, saxpy)
    assert r["passed"] < r["cases"] and "y: first at" in r["failures"][0]["problems"][0]

    def off_by_one(n, a, b):
        return np.int32(_dot_numpy(n, a, b) + 1)

    r = check.run_cases(off_by_one, DOT_SPEC, DOT_GPU, check.unique_cases(_golden("dot_i32"), "dot_i32"))
    assert r["passed"] == 0 and r["failures"][0]["problems"][0].startswith("result: got")

    def crashes(*args):
        raise RuntimeError("illegal address")

    r = check.run_cases(crashes, DOT_SPEC, DOT_GPU, check.unique_cases(_golden("dot_i32"), "dot_i32"))
    assert r["passed"] == 0 and "raised RuntimeError: illegal address" in r["failures"][0]["problems"][0]
    assert len(r["failures"]) <= 5


# ---------------------------------------------------------------- gpu_check: figures and the record


def test_figures_beside_their_baselines():
    d = check.derive(2.0, traffic_bytes=6 * 10**9, copy={"gbs": 3000.0}, cupy_ms=3.0, flops=0)
    assert d == {"bandwidth_gbs": 3000.0, "copy_ratio": 1.0, "cupy_ms_over_ours": 1.5}
    assert check.derive(1.0, flops=2e9) == {"gflops": 2000.0}


def test_only_checked_variants_are_crowned():
    passed, failed_one = {"cases": 4, "passed": 4}, {"cases": 4, "passed": 3}
    assert check.trusted(passed, True) and check.trusted(passed, None)
    assert not check.trusted(passed, False) and not check.trusted(failed_one, True)
    assert not check.trusted(None, True) and not check.trusted({"cases": 0, "passed": 0}, None)
    rows = [
        {"variant": "a", "status": "ok", "median_ms": 2.0},
        {"variant": "b", "status": "wrong", "median_ms": 1.0},
        {"variant": "c", "status": "ok", "median_ms": 1.5},
        {"variant": "d", "status": "error"},
    ]
    assert check.pick_champion(rows)["variant"] == "c"
    assert check.pick_champion(rows[1:2]) is None
    assert check.genome_hash({"b": 1, "a": 2}) == check.genome_hash({"a": 2, "b": 1})


def test_profile_sizes_and_host_inputs():
    import yaml

    prof = yaml.safe_load((ROOT / "intents" / "profiles" / "saxpy.yaml").read_text())
    assert check.profile_sizes(prof, "saxpy") == [4096, 16777216]
    assert check.profile_sizes(prof, "other") == [] and check.profile_sizes(None, "saxpy") == []
    matmul = params_of("fn matmul(n: u64, a: [f32; n * n], c: mut [f32; n * n])")
    n, a, c = check.host_inputs(matmul, 8, {})
    assert n == 8 and a.shape == (64,) and a.dtype == np.float32 and not c.any()
    n, a, delta, out = check.host_inputs(
        params_of("fn b(n: u64, p: [u8; n], delta: u8, out: mut [u8; n])"), 100, {"delta": 40}
    )
    assert delta == 40 and a.dtype == np.uint8 and out.shape == (100,)


def test_the_numpy_reference_points_compute_the_same_work():
    x, y = np.array([1.0, -2.0], np.float32), np.array([0.5, 0.5], np.float32)
    check.numpy_version("saxpy")(2, 1.5, x, y)
    assert y.tolist() == [2.0, -2.5]
    out = np.zeros(2, np.uint8)
    check.numpy_version("brighten")(2, np.array([250, 3], np.uint8), 40, out)
    assert out.tolist() == [255, 43]
    out = np.zeros(2, np.int32)
    check.numpy_version("prefix_sum")(2, np.array([2**31 - 1, 1], np.int32), out)
    assert out.tolist() == [2**31 - 1, -(2**31)]
    assert check.numpy_version("argmax_i32") is None


def test_a_run_records_errors_and_goes_on(tmp_path):
    run = check.Run(tmp_path / "out")
    with run.step("a", "b"):
        raise ValueError("boom")
    with run.step("c"):
        run.data["correctness"]["x/f"] = {"default": {"cases": 2, "passed": 2, "failures": []}}
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["errors"][0]["step"] == "a/b" and "ValueError: boom" in saved["errors"][0]["error"]
    assert set(saved["steps"]) == {"a/b", "c"}
    run.merge(
        {
            "timings": {"x/f": {"n": 4, "variants": [{"verified": False}], "baselines": {}}},
            "errors": [{"step": "x", "error": "E"}],
            "skipped": [{"what": "w", "why": "y"}],
        }
    )
    assert len(run.data["errors"]) == 2 and run.data["timings"]["x/f"]["n"] == 4
    assert run.finish() == 1
    assert "ERROR in a/b" in (tmp_path / "out" / "log.txt").read_text()
    with pytest.raises(KeyboardInterrupt):  # a person stopping the run is never swallowed
        with check.Run(tmp_path / "o2").step("x"):
            raise KeyboardInterrupt


def test_the_summary_and_the_verdict():
    data = {
        "machine": {
            "name": "NVIDIA H100 80GB HBM3",
            "compute_capability": "9.0",
            "multiprocessors": 132,
            "driver": "570.1",
        },
        "correctness": {"saxpy/saxpy": {"default": {"cases": 4, "passed": 4}, "abc": {"cases": 4, "passed": 4}}},
        "timings": {
            "saxpy/saxpy": {
                "n": 2**27,
                "variants": [{"verified": True}],
                "baselines": {"cupy": {"name": "cupy.dot"}},
                "champion": {
                    "variant": "abc",
                    "median_ms": 0.6,
                    "bandwidth_gbs": 2700.0,
                    "copy_ratio": 0.93,
                    "cupy_ms_over_ours": 1.2,
                },
            },
            "matmul/matmul": {"n": 1024, "variants": [], "baselines": {}, "champion": None},
        },
        "errors": [],
    }
    text = "\n".join(check.summary_lines(data))
    assert "NVIDIA H100 80GB HBM3 (cc 9.0, 132 SMs" in text
    assert "saxpy/saxpy: default 4/4, 1 variants 4/4" in text
    assert "n=2^27: abc 0.600 ms, 2700 GB/s = 0.93 of copy, cupy.dot / ours = 1.20" in text
    assert "matmul/matmul: no champion" in text and "errors: 0" in text
    assert not check.failed(data)
    data["timings"]["saxpy/saxpy"]["variants"].append({"verified": False})
    assert check.failed(data) and "1 WRONG" in "\n".join(check.summary_lines(data))


def test_the_gpu_side_imports_nothing_the_gpu_machine_lacks():
    # lark, egglog, z3 and click are not on the GPU machine: importing the
    # check script (and with it the host module and golden.py) must not need them
    code = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("lark", "egglog", "z3", "click"):
            raise ImportError("not on the GPU machine: " + name)
sys.meta_path.insert(0, Block())
import runpy
runpy.run_path({str(ROOT / "scripts" / "gpu_check.py")!r}, run_name="not_main")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_the_script_explains_itself_without_arguments():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_check.py")], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "BUNDLE OUTDIR" in proc.stdout


# ---------------------------------------------------------------- the bundle (needs the nvptx backend)


def _backend_or_skip():
    try:
        from atlas.machine.backend import available

        if "nvptx" not in available():
            pytest.skip("the nvptx backend is not registered (atlas.backends.nvptx)")
    except Exception as exc:
        pytest.skip(f"no backend registry: {exc}")
    if not (ROOT / "tests" / "fixtures" / "probe-h100.json").exists():
        pytest.skip("tests/fixtures/probe-h100.json is missing")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The GPU bundle, built as on the CPU machine (about ten seconds)."""
    _backend_or_skip()
    dest = tmp_path_factory.mktemp("bundle") / "gpu-bundle"
    assert _by_path("gpu_bundle_under_test", "scripts/gpu_bundle.py").main([str(dest)]) == 0
    return dest


def test_the_bundle_holds_what_the_gpu_machine_needs(bundle):
    report = json.loads((bundle / "bundle.json").read_text())
    assert all(r["ok"] for r in report["intents"].values()), report
    for stem in report["intents"]:
        for name in ("manifest.json", "kernels.ptx", "golden.json", "cpu/manifest.json"):
            assert (bundle / stem / name).exists(), (stem, name)
        lib = host.load(bundle / stem, check=False)
        for fname, spec in _specs(lib).items():
            assert spec["gpu"] is not None, spec.get("gpu_why_not")
            assert all((bundle / stem / e["ptx"]).exists() for e in lib.variants(fname))
    size = sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file())
    assert size < 32 * 2**20  # the device tool carries 64 MiB in all


def test_every_launch_of_the_bundle_plans_on_the_golden_inputs(bundle):
    # the manifest's contract as this host reads it: every golden argument
    # list binds, and every variant's launches marshal, at golden and large sizes
    for stem in json.loads((bundle / "bundle.json").read_text())["intents"]:
        lib = host.load(bundle / stem, check=False)
        cases = json.loads((bundle / stem / "golden.json").read_text())["cases"]
        for fname, spec in _specs(lib).items():
            blocks = [spec["gpu"]] + [e["gpu"] for e in lib.variants(fname)]
            for case in check.unique_cases(cases, fname):
                values = host.bind_args(fname, spec["params"], [check.golden.decode(a) for a in case["args"]])
                for gpu in blocks:
                    f = host.GpuFunction(fname, spec, gpu, None)
                    assert [k for k, *_ in f.plan(values)] == [launch["kernel"] for launch in gpu["launches"]]
            size = check.BENCH[stem]["size"]
            values, _ = check._sizes(spec["params"], size, check.BENCH[stem].get("scalars", {}))
            for gpu in blocks:
                grid_list = host.grids(fname, gpu, values)
                assert all(gx >= 1 and gy >= 1 for gx, gy in grid_list)


# ---------------------------------------------------------------- gpu_check's flow over a stand-in for CuPy


class _Dev(np.ndarray):
    """A numpy array posing as a device array: what host.py asks of cupy's."""

    @property
    def __cuda_array_interface__(self):
        return {"data": self.__array_interface__["data"], "shape": self.shape, "version": 3}

    def get(self, out=None):
        if out is None:
            return np.array(self)
        out[...] = self
        return out


def _kernel(name: str, broken: bool):
    """The whole function in numpy, run by the kernel that finishes it."""
    fn, _, part = name.partition("__")

    def finish(args):
        if fn == "saxpy":
            n, a, x, y = args
            y[:] = a * x + y
        elif fn == "brighten":
            n, p, d, out = args
            out[:] = np.minimum(p.astype(np.uint16) + d, 255)
        elif fn == "dot_i32":
            args[-1][0] = check.wrap_i32(int((args[1].astype(np.int64) * args[2]).sum()))
        elif fn == "sum_f32":
            args[-1][0] = args[1].sum(dtype=np.float32)
        elif fn == "matmul":
            n, a, b, c = args
            n = int(n)
            acc = np.zeros((n, n), np.float32)
            for k in range(n):
                acc += a.reshape(n, n)[:, k : k + 1] * b.reshape(n, n)[k : k + 1, :]
            c[:] = acc.ravel()
        elif fn == "prefix_sum":
            np.cumsum(args[1], dtype=np.int32, out=args[2])
        if broken:
            out = (
                args[-1]
                if fn in ("dot_i32", "sum_f32")
                else args[3]
                if fn in ("saxpy", "brighten", "matmul")
                else args[2]
            )
            if out.size:
                out[-1] += 1

    def kernel(grid, block, args):
        assert (
            len(grid) == 3
            and len(block) == 3
            and all(not isinstance(a, np.ndarray) or isinstance(a, _Dev) for a in args)
        )
        if part in ("map", "map2d", "finish", "scan_apply"):
            finish(args)

    return kernel


class _FakeCupy:
    """Just enough of CuPy for gpu_check, on numpy; the kernels are numpy
    versions of the functions (the kernels themselves are tested on the
    GPU emulator and on the GPU).  A module whose path holds `broken` gives
    a wrong last element."""

    def __init__(self, broken: str = "never"):
        self.broken = broken
        self.__version__ = "fake"
        for name in ("uint8", "uint16", "uint32", "int32", "int64", "float32", "float64"):
            setattr(self, name, getattr(np, name))
        fake = self

        class Random:
            def __init__(self, seed):
                self.rng = np.random.default_rng(seed)

            def uniform(self, lo, hi, n, dtype):
                return fake._dev(self.rng.uniform(lo, hi, n).astype(dtype))

            def randint(self, lo, hi, size, dtype):
                return fake._dev(self.rng.integers(lo, hi, size, dtype=dtype))

        class Event:
            def record(self, stream=None):
                self.t = time.perf_counter()

            def synchronize(self):
                pass

        class Stream:
            def synchronize(self):
                pass

        class Module:
            def __init__(self, path):
                self.path = path

            def get_function(self, name):
                return _kernel(name, fake.broken in self.path)

        self.random = types.SimpleNamespace(RandomState=Random)
        self.RawModule = Module
        runtime = types.SimpleNamespace(
            getDeviceCount=lambda: 1,
            driverGetVersion=lambda: 13000,
            runtimeGetVersion=lambda: 13000,
            getDeviceProperties=lambda i: {
                "name": b"Fake H100",
                "major": 9,
                "minor": 0,
                "multiProcessorCount": 132,
                "totalGlobalMem": 80 * 2**30,
            },
        )
        self.cuda = types.SimpleNamespace(
            runtime=runtime,
            Event=Event,
            Device=lambda: types.SimpleNamespace(id=0),
            get_current_stream=Stream,
            get_elapsed_time=lambda a, b: (b.t - a.t) * 1e3 + 1e-3,
        )

    @staticmethod
    def _dev(a):
        return np.ascontiguousarray(a).view(_Dev)

    def asarray(self, a):
        return self._dev(np.array(a))  # a copy, as to the device

    def zeros(self, n, dt):
        return self._dev(np.zeros(n, dt))

    def ones(self, n, dt):
        return self._dev(np.ones(n, dt))

    def empty(self, n, dt):
        return self._dev(np.full(n, 0x5A, np.uint8).view(dt)[:n] if np.dtype(dt).itemsize == 1 else np.empty(n, dt))

    def empty_like(self, a):
        return self._dev(np.empty_like(a))

    def copyto(self, dst, src):
        np.copyto(dst, src)

    def minimum(self, a, b):
        return np.minimum(a, b)

    def cumsum(self, a, dtype=None):
        return np.cumsum(a, dtype=dtype)

    def dot(self, a, b):
        return np.dot(a, b)

    def sum(self, a):
        return np.sum(a)

    def matmul(self, a, b):
        return np.matmul(a, b)

    def get_default_memory_pool(self):
        return types.SimpleNamespace(free_all_blocks=lambda: None)


@pytest.fixture
def fake_gpu(monkeypatch):
    """gpu_check with the stand-in CuPy, small sizes and few repetitions."""

    def use(broken: str = "never"):
        monkeypatch.setattr(host, "_CUPY", _FakeCupy(broken))
        small = {stem: {**b, "size": 16 if stem == "matmul" else 5000} for stem, b in check.BENCH.items()}
        monkeypatch.setattr(check, "BENCH", small)
        monkeypatch.setattr(check, "REPS", 3)
        monkeypatch.setattr(check, "WARMUP", 1)
        monkeypatch.setattr(check, "profile_sizes", lambda profile, fname: [100] if profile else [])
        return host._CUPY

    return use


def test_the_check_of_each_intent_runs_through(bundle, fake_gpu, tmp_path):
    cp = fake_gpu()
    run = check.Run(tmp_path / "out")
    from atlas.search.archive import Archive

    with Archive(tmp_path / "out" / "archive.sqlite3") as archive:
        for stem in json.loads((bundle / "bundle.json").read_text())["intents"]:
            check.check_intent(run, cp, bundle, stem, "gpu-machine", archive)
    assert run.data["errors"] == []
    for key, entry in run.data["correctness"].items():
        assert all(r["passed"] == r["cases"] > 0 for r in entry.values()), key
    for key, t in run.data["timings"].items():
        assert all(r["status"] == "ok" and r["verified"] for r in t["variants"]), key
        assert t["champion"] is not None and "copy" in t["baselines"]
    assert run.data["timings"]["dot_i32/dot_i32"]["baselines"]["cupy"]["agrees"] is True
    assert "copy_ratio" in run.data["timings"]["saxpy/saxpy"]["champion"]
    assert "gflops" in run.data["timings"]["matmul/matmul"]["champion"]
    # the CPU-or-GPU choice: Atlas's own CPU library of each intent, timed beside the kernels
    for key, rows in run.data["round_trip"].items():
        assert rows and all(r["atlas_cpu_ms"] > 0 and r["faster_with_copies"] in ("cpu", "gpu") for r in rows), (
            key,
            rows,
        )
    # the champions are where `atlas compile --archive` looks: intent, machine, function, context "gpu"
    from atlas.backends.nvptx.kernels import Shape

    with Archive(tmp_path / "out" / "archive.sqlite3") as archive:
        for stem in ("saxpy", "matmul"):
            manifest = json.loads((bundle / stem / "manifest.json").read_text())
            champ = archive.champion(manifest["intent_hash"], "gpu-machine", stem, "gpu")
            assert Shape(**champ["genome"]).as_dict() == champ["genome"]
            rows = archive.variants(manifest["intent_hash"], "gpu-machine", stem, "gpu")
            assert len(rows) == len(json.loads((bundle / stem / "variants" / f"{stem}.json").read_text()))
            timed = archive.variants(manifest["intent_hash"], "gpu-machine", stem, "actuator")
            assert sorted(r["genome"]["actuator"] for r in timed) == [
                "cpu",
                "gpu-on-device-data",
                "gpu-with-copies",
            ]  # one profile size (the fake's)
    assert run.finish() == 0
    assert json.loads((tmp_path / "out" / "results.json").read_text())["champions"]


def test_a_wrong_variant_is_caught_and_never_crowned(bundle, fake_gpu, tmp_path):
    entries = json.loads((bundle / "dot_i32" / "variants" / "dot_i32.json").read_text())
    bad = entries[0]["hash"]
    cp = fake_gpu(broken=bad)
    run = check.Run(tmp_path / "out")
    check.check_intent(run, cp, bundle, "dot_i32", "gpu-machine", None)
    assert (
        run.data["correctness"]["dot_i32/dot_i32"][bad]["passed"]
        < run.data["correctness"]["dot_i32/dot_i32"][bad]["cases"]
    )
    rows = {r["variant"]: r for r in run.data["timings"]["dot_i32/dot_i32"]["variants"]}
    assert rows[bad]["status"] == "wrong" and rows[bad]["verified"] is False
    assert run.data["timings"]["dot_i32/dot_i32"]["champion"]["variant"] != bad
    assert check.failed(run.data)


def test_a_call_copies_in_and_out_and_returns_the_result(fake_gpu):
    fake_gpu()
    spec = describe(signature_of("fn f(n: u32, on: bool, x: mut [u8; n * 2]) -> bool"))
    gpu = {
        "plan": "map",
        "requires": [],
        "scratch": {},
        "result": {"elem": "bool"},
        "launches": [
            {
                "kernel": "f__map",
                "block": [32, 1],
                "grid": {"x": {"fixed": 1}, "y": {"fixed": 1}},
                "args": [{"param": "n"}, {"param": "on"}, {"param": "x"}, {"result": True}],
            }
        ],
    }
    seen = []

    def kernel(grid, block, args):
        n, on, x, result = args
        seen.append((type(n), type(on), x is not host_x))
        x[:] = x + on
        result[0] = bool(on)

    module = types.SimpleNamespace(get_function=lambda name: kernel)
    f = host.GpuFunction("f", spec, gpu, lambda: module)
    host_x = np.arange(6, dtype=np.uint8)
    assert f(3, True, host_x) is True
    assert host_x.tolist() == [1, 2, 3, 4, 5, 6]  # written back into the caller's array
    assert seen == [(np.uint32, np.uint8, True)]  # bool travels as a byte; x went to the "device"


def test_an_intent_process_reports_back_whatever_happens(bundle, tmp_path):
    if _has_cupy():
        pytest.skip("CuPy is installed here")
    run = check.Run(tmp_path / "out")
    check.run_intent(run, bundle, tmp_path / "out", "saxpy", "gpu-machine", 60, 120)
    assert [e["step"] for e in run.data["errors"]] == ["saxpy"]  # its process found no GPU
    assert "GpuUnavailable" in run.data["errors"][0]["error"]
    assert "saxpy/archive" in run.data["steps"]  # merged from the child's record
    assert json.loads((tmp_path / "out" / "results.json").read_text())["errors"] == run.data["errors"]


def test_without_a_gpu_the_script_still_reports(bundle, tmp_path):
    if _has_cupy():
        pytest.skip("CuPy is installed here")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_check.py"), str(bundle), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    results = json.loads((out / "results.json").read_text())
    assert [e["step"] for e in results["errors"]] == ["gpu"] and "CuPy" in results["errors"][0]["error"]
    assert results["probe"]["fingerprint"] and (out / "probe.json").exists()
    assert sorted(p.name for p in out.iterdir()) == ["log.txt", "probe.json", "results.json"]


# ---------------------------------------------------------------- on a GPU


def _gpu_or_skip():
    try:
        import cupy
    except ImportError:
        pytest.skip("CuPy is not installed")
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            pytest.skip("no CUDA GPU")
    except Exception as exc:
        pytest.skip(f"no usable CUDA driver: {exc}")
    return cupy


def _artefact_or_skip(stem: str, tmp_path: Path) -> Path:
    """A compiled artefact: from a bundle (ATLAS_GPU_BUNDLE or build/gpu-bundle),
    else compiled here with the nvptx backend, else skip."""
    bundle = Path(os.environ.get("ATLAS_GPU_BUNDLE", ROOT / "build" / "gpu-bundle"))
    if (bundle / stem / "manifest.json").exists():
        return bundle / stem
    _backend_or_skip()
    from atlas.pipeline import compile_files
    from atlas.machine.probe import load_probe

    compile_files(
        [ROOT / "intents" / f"{stem}.ax"],
        load_probe(ROOT / "tests" / "fixtures" / "probe-h100.json"),
        tmp_path / stem,
        backend="nvptx",
        backend_options={"variants": True},
    )
    return tmp_path / stem


@pytest.mark.gpu
@pytest.mark.parametrize("stem", ["saxpy", "brighten", "dot_i32", "matmul", "prefix_sum"])
def test_golden_cases_on_the_gpu(stem, tmp_path):
    _gpu_or_skip()
    lib = host.load(_artefact_or_skip(stem, tmp_path))
    for fname, spec in _specs(lib).items():
        if spec.get("gpu") is None:
            continue
        cases = check.unique_cases(_golden(stem), fname)
        for label, f, gpu in [("default", lib[fname], spec["gpu"])] + [
            (e["hash"], lib.variant(fname, e), e["gpu"]) for e in lib.variants(fname)
        ]:
            r = check.run_cases(f, spec, gpu, cases)
            assert r["passed"] == r["cases"], (label, r["failures"])


@pytest.mark.gpu
def test_device_resident_runs_and_timing(tmp_path):
    cp = _gpu_or_skip()
    lib = host.load(_artefact_or_skip("dot_i32", tmp_path))
    n = 1 << 20
    a = cp.arange(n, dtype=cp.int32) % 7
    b = cp.ones(n, dtype=cp.int32)
    result = lib.run("dot_i32", {"n": n, "a": a, "b": b})
    assert int(result.get()[0]) == int((a.astype(cp.int64)).sum())
    times = host.time_ms(lambda: lib.run("dot_i32", {"n": n, "a": a, "b": b}), reps=5, warmup=1)
    assert len(times) == 5 and all(t > 0 for t in times)
    with pytest.raises(ValueError, match="has 4 elements"):
        lib.run("dot_i32", {"n": n, "a": a[:4], "b": b})


def test_the_cpu_library_loads_as_on_the_gpu_machine(bundle):
    """No install, no parser, z3, egglog or click: a plain checkout, as the
    GPU machine has it, still loads and calls Atlas's CPU library (the
    manifest gives the signatures as data)."""
    code = f"""
import importlib.abc, importlib.util, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("z3", "egglog", "click", "archspec", "cpuinfo", "lark") \
                or name.startswith("atlas.backends"):
            raise ImportError("not on the GPU machine: " + name)
# this environment's editable install would map the package; the GPU machine has none
sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in type(f).__name__
                    and "Editable" not in getattr(f, "__name__", "")]
sys.path_hooks[:] = [h for h in sys.path_hooks if "Editable" not in repr(h)]
sys.path_importer_cache.clear()
sys.path.insert(0, {str(ROOT)!r})
spec = importlib.util.spec_from_file_location("gpu_check", {str(ROOT / "scripts/gpu_check.py")!r})
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)
import pathlib, numpy as np
lib, why = check.cpu_library(pathlib.Path({str(bundle / "dot_i32")!r}))
assert lib is not None, why
print(lib.dot_i32(3, np.array([1, 2, 3], np.int32), np.array([4, 5, -6], np.int32)))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tempfile.gettempdir())
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["-4"]


def test_device_arrays_must_start_where_vector_loads_may():
    """The kernels mark array pointers 16-byte aligned (they load neighbours
    as vectors): an offset view is refused before any launch."""
    buf = np.zeros(64, np.float32).view(_Dev)
    assert host.bind_args("saxpy", SAXPY_PARAMS, [4, 1.0, buf[:4], buf[8:12]], device=True)
    with pytest.raises(ValueError, match="16-byte boundary"):
        host.bind_args("saxpy", SAXPY_PARAMS, [4, 1.0, buf[:4], buf[5:9]], device=True)


def _specs(lib) -> dict:
    """Each function's manifest entry as the nvptx backend wrote it."""
    return {name: entry.to_json() for name, entry in lib.manifest.functions.items()}
