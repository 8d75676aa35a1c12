"""The NVPTX backend without a GPU: which loops become kernels, the kernels
run on the CPU stand-in (tests/gpu_emulator.py) against the interpreter,
every launch shape assembles with ptxas, and golden snapshots.

    ATLAS_REGEN_NVPTX=1 python -m pytest tests/test_nvptx.py -k golden   rewrites the snapshots
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import llvmlite
import numpy as np
import pytest

from atlas.meaning import interp, ir
from atlas.machine.backend import BackendError
from atlas.machine.probe import load_probe
from atlas.pipeline import compile_files, front
from atlas.backends.nvptx import NvptxBackend, write_variants
from atlas.backends.nvptx import kernels as K
from atlas.backends.nvptx import target as T
from atlas.backends.nvptx.plan import NotParallel, plan_for

import gpu_emulator as emu

ROOT = Path(__file__).resolve().parent.parent
PROBE = load_probe(ROOT / "tests/fixtures/probe-h100.json")
GOLDEN = ROOT / "tests/golden/nvptx"
needs_ptxas = pytest.mark.skipif(T.ptxas() is None, reason="ptxas (CUDA toolkit) is not installed")

KERNELS = {
    "saxpy": "map",
    "brighten": "map",
    "dot_i32": "fold",
    "sum_f32": "fold",
    "matmul": "map2d",
    "prefix_sum": "scan",
}


def function(name: str, text: str | None = None, tmp: Path | None = None) -> ir.Function:
    path = ROOT / "intents" / f"{name}.ax"
    if text is not None:
        path = tmp / f"{name}.ax"
        path.write_text(text)
    _, module, _ = front([path], PROBE)
    return module.functions[0]


# ---------------------------------------------------------------- plans


@pytest.mark.parametrize("name,kind", sorted(KERNELS.items()))
def test_plans_of_the_kernels(name, kind):
    p = plan_for(function(name))
    assert p.kind == kind
    assert p.evidence["form"] == kind


def test_matmul_needs_its_size_below_2_to_the_32():
    p = plan_for(function("matmul"))
    assert p.requires == (("n", 1 << 32),)  # i*n + j wraps past that, and slots collide
    assert "differs for distinct (i, j)" in p.evidence["proof"]


def test_a_dot_product_body_may_be_tiled(tmp_path):
    p = plan_for(function("matmul"))
    assert (p.dot.x.array, p.dot.y.array, p.dot.loop.var) == ("a", "b", "k")
    assert K.default_shape(p).tile == 16 and any(s.tile == 32 for s in K.space(p))
    copy = plan_for(
        function(
            "f",
            "fn f(n: u64, a: [f32; n * n], c: mut [f32; n * n]) "
            "{ for i in 0..n { for j in 0..n { c[i * n + j] = a[j * n + i]; } } }",
            tmp_path,
        )
    )
    assert copy.kind == "map2d" and copy.dot is None and not any(s.tile for s in K.space(copy))
    with pytest.raises(BackendError, match="not one this backend builds"):
        K.check_shape(copy, K.Shape(block=16, block_y=16, tile=16))


@pytest.mark.parametrize(
    "name,why",
    [
        ("argmax_i32", "from 0 to a parameter"),
        ("inet_checksum", "not a map, fold, scan"),
    ],
)
def test_what_stays_on_the_cpu(name, why):
    with pytest.raises(NotParallel, match=why):
        plan_for(function(name))


@pytest.mark.parametrize(
    "text,why",
    [
        ("fn f(n: u64, x: [f32; n]) -> f32 { let s: f32 = 0.0; for i in 0..n { s += x[i]; } return s; }", "reassoc"),
        ("fn f(n: u64, y: mut [i32; n]) { for i in 0..n { y[i] = y[i] + y[(i + 1) % n]; } }", "written and also read"),
        (
            "fn f(n: u64, x: [i32; n]) -> i32 { let s: i32 = 0; for i in 0..n { s = s * 2 + x[i]; } return s; }",
            "not a map, fold, scan",
        ),
        (
            "fn f(n: u64, x: [i32; n], o: mut [i32; n]) { let s: i32 = 0; for i in 0..n { s += x[i] * s; o[i] = s; } }",
            "not a map, fold, scan|depends on s",
        ),
        (
            "fn f(n: u64, c: mut [f32; n * n]) { for i in 0..n { for j in 0..n { c[i + j] = 1.0; } } }",
            "refuted|could not",
        ),
        ("fn f(n: u64, x: [u32; n]) { let s: u32 = 0; for i in 0..n { s = s + x[i]; } return; }", "returns nothing"),
    ],
)
def test_refusals(tmp_path, text, why):
    with pytest.raises(NotParallel, match=why):
        plan_for(function("f", text, tmp_path))


def test_a_probe_without_a_gpu_is_refused():
    probe = replace(PROBE, gpus=())
    assert "no NVIDIA GPU" in NvptxBackend().accepts(probe)
    odd = replace(PROBE, gpus=(replace(PROBE.gpus[0], compute_capability=(1, 0)),))
    assert "compute capability 1.0" in NvptxBackend().accepts(odd)


# ---------------------------------------------------------------- running the kernels


def _inputs(name: str, n: int, rng):
    f32 = lambda: rng.standard_normal(n).astype(np.float32)  # noqa: E731
    i32 = lambda: rng.integers(-(2**31), 2**31, n, dtype=np.int32)  # noqa: E731
    return {
        "saxpy": lambda: [n, 1.5, f32(), f32()],
        "brighten": lambda: [n, rng.integers(0, 256, n, dtype=np.uint8), 77, np.zeros(n, np.uint8)],
        "dot_i32": lambda: [n, i32(), i32()],
        "sum_f32": lambda: [n, f32()],
        "matmul": lambda: [
            n,
            *(rng.standard_normal(n * n).astype(np.float32) for _ in "ab"),
            np.zeros(n * n, np.float32),
        ],
        "prefix_sum": lambda: [n, i32(), np.zeros(n, np.int32)],
    }[name]()


def _agree(fn, module_fn_name, module, gpu, lib, args):
    want = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    got = emu.run(lib, fn, gpu, args)
    expected = interp.run(module, module_fn_name, *want)
    if fn.reassoc and isinstance(expected, float):
        # another order of the additions: within the bound of recursive summation for both
        n, x = args[0], want[1].astype(np.float64)
        eps = 2.0**-24
        assert abs(got - expected) <= 2 * (n * eps / (1 - n * eps)) * np.abs(x).sum()
    else:
        assert got == expected or (got != got and expected != expected)
    for a, b in zip(args, want):
        if isinstance(a, np.ndarray):
            assert a.tobytes() == b.tobytes()  # bit for bit


CASES = [
    ("saxpy", K.Shape(64, 4, "contiguous"), [0, 1, 257, 1000]),
    ("saxpy", K.Shape(32, 2, "strided", True), [1000]),
    ("brighten", K.Shape(64, 16, "contiguous", True), [0, 999, 3000]),
    ("dot_i32", K.Shape(64, 4, "contiguous", True, "warp"), [0, 1, 1000]),
    ("dot_i32", K.Shape(128, 2, "strided", True, "tree"), [777]),
    ("sum_f32", K.Shape(64, 4, "contiguous", True, "warp"), [1, 1000]),
    ("prefix_sum", K.Shape(64, 4, "contiguous"), [0, 1, 255, 256, 1000]),
    ("prefix_sum", K.Shape(32, 1, "contiguous"), [70]),
    ("matmul", K.Shape(block=16, block_y=4), [1, 13]),
    ("matmul", K.Shape(block=8, block_y=8, tile=8), [1, 13, 20]),
    ("matmul", K.Shape(block=16, block_y=16, tile=16), [16, 21]),
]


@pytest.mark.cc
@pytest.mark.parametrize("name,shape,sizes", CASES, ids=[f"{c[0]}-{c[1].describe()}" for c in CASES])
def test_kernels_agree_with_the_interpreter(tmp_path, name, shape, sizes):
    _, module, _ = front([ROOT / "intents" / f"{name}.ax"], PROBE)
    fn = module.functions[0]
    p = plan_for(fn)
    km = K.KernelModule(name, T.TRIPLE, T.data_layout("sm_90", 78))
    km.add(p, shape)
    # 2 multiprocessors: grid-stride kernels then loop several times even on small inputs
    gpu = K.launches(p, shape, sms=2)
    lib = emu.build(km.text(), tmp_path)
    rng = np.random.default_rng(sizes[-1])
    for n in sizes:
        _agree(fn, name, module, gpu, lib, _inputs(name, n, rng))


@pytest.mark.cc
def test_the_compiled_artefact_runs_through_its_manifest(tmp_path):
    """The whole pipeline (logic atlas included) for a fold: the manifest's
    launches run the emitted module's kernels and agree with the interpreter."""
    dumps = {}
    out = compile_files(
        [ROOT / "intents/dot_i32.ax"],
        PROBE,
        tmp_path / "out",
        backend="nvptx",
        dump=lambda stage, text: dumps.__setitem__(stage, text),
        learned=[],
    )
    entry = out.manifest.functions["dot_i32"].target
    assert entry["gpu"]["plan"] == "fold" and entry["gpu"]["shape_from"] == "default"
    assert (tmp_path / "out/kernels.ptx").read_text().startswith("//")
    lib = emu.build(dumps["llvm"], tmp_path)
    _, module, _ = front([ROOT / "intents/dot_i32.ax"], PROBE)
    fn = module.functions[0]
    _agree(fn, "dot_i32", module, entry["gpu"], lib, _inputs("dot_i32", 5000, np.random.default_rng(5)))


def test_functions_without_a_parallel_loop_are_listed_with_the_reason(tmp_path):
    out = compile_files(
        [ROOT / "intents/argmax_i32.ax", ROOT / "intents/saxpy.ax"],
        PROBE,
        tmp_path / "out",
        backend="nvptx",
        use_atlas=False,
        learned=[],
    )
    fns = {name: e.target for name, e in out.manifest.functions.items()}
    assert fns["argmax_i32"]["gpu"] is None and "parameter" in fns["argmax_i32"]["gpu_why_not"]
    assert fns["saxpy"]["gpu"]["launches"][0]["kernel"] == "saxpy__map"
    assert out.manifest.arch == "sm_90"


def test_the_archive_champion_picks_the_shape(tmp_path, monkeypatch):
    from atlas.search.archive import Archive
    from atlas.search.archive import intent_hash
    from atlas.machine.probe import fingerprint

    _, module, _ = front([ROOT / "intents/saxpy.ax"], PROBE)
    shape = K.Shape(512, 2, "strided", True)
    with Archive(tmp_path / "a.sqlite3") as a:
        a.record(
            intent_hash(module),
            fingerprint(PROBE),
            "saxpy",
            shape.as_dict(),
            shape.hash,
            "ok",
            1.0,
            [1.0],
            {},
            context="gpu",
        )
        a.crown(intent_hash(module), fingerprint(PROBE), "saxpy", "gpu", shape.as_dict(), {})
    out = compile_files(
        [ROOT / "intents/saxpy.ax"],
        PROBE,
        tmp_path / "out",
        backend="nvptx",
        use_atlas=False,
        learned=[],
        backend_options={"archive": tmp_path / "a.sqlite3"},
    )
    gpu = out.manifest.functions["saxpy"].target["gpu"]
    assert gpu["shape"] == shape.as_dict() and gpu["shape_from"] == "archive champion"
    assert out.manifest.functions["saxpy"].target["actuator"].startswith("not measured")


def test_the_manifest_says_which_actuator_wins_at_which_size(tmp_path):
    """The GPU run's CPU and GPU times per size, from the archive, side by side."""
    from atlas.search.archive import Archive
    from atlas.search.archive import intent_hash
    from atlas.machine.probe import fingerprint

    _, module, _ = front([ROOT / "intents/saxpy.ax"], PROBE)
    times = {
        4096: {"cpu": 900, "gpu-with-copies": 40_000, "gpu-on-device-data": 5_000},
        1 << 24: {"cpu": 9e6, "gpu-with-copies": 2e7, "gpu-on-device-data": 1e5},
    }
    with Archive(tmp_path / "a.sqlite3") as a:
        for n, by in times.items():
            for actuator, ns in by.items():
                g = {"actuator": actuator, "n": n}
                a.record(
                    intent_hash(module),
                    fingerprint(PROBE),
                    "saxpy",
                    g,
                    f"{actuator}{n}",
                    "ok",
                    ns,
                    [ns],
                    {},
                    context="actuator",
                )
        a.record(
            intent_hash(module),
            fingerprint(PROBE),
            "saxpy",
            {"actuator": "cpu", "n": 4096},
            "slow",
            "ok",
            5000,
            [5000],
            {},
            context="actuator",
        )  # the faster time counts
    out = compile_files(
        [ROOT / "intents/saxpy.ax"],
        PROBE,
        tmp_path / "out",
        backend="nvptx",
        use_atlas=False,
        learned=[],
        backend_options={"archive": tmp_path / "a.sqlite3"},
    )
    table = out.manifest.functions["saxpy"].target["actuator"]
    assert [r["n"] for r in table] == [4096, 1 << 24]
    assert table[0]["cpu_ns"] == 900
    assert (table[0]["faster_with_copies"], table[0]["faster_on_device_data"]) == ("cpu", "cpu")
    assert (table[1]["faster_with_copies"], table[1]["faster_on_device_data"]) == ("cpu", "gpu")


# ---------------------------------------------------------------- ptxas and snapshots


@needs_ptxas
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_every_launch_shape_assembles(tmp_path, name):
    p = plan_for(function(name))
    files = write_variants({name: p}, tmp_path, "sm_90", 78, 132)
    listed = json.loads((tmp_path / f"variants/{name}.json").read_text())
    assert len(listed) == len(K.space(p)) == len({v["hash"] for v in listed})
    for f in files:
        if f.endswith(".ptx"):
            T.assemble((tmp_path / f).read_text(), "sm_90")


@needs_ptxas
def test_ptxas_refusal_is_reported():
    with pytest.raises(BackendError, match="ptxas -arch=sm_90 refused"):
        T.assemble(".version 7.8\n.target sm_90\n.address_size 64\nthis is not ptx\n", "sm_90")


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_golden_kernels(tmp_path, name):
    """The default shape's LLVM IR, always; its PTX where this LLVM is the
    one that wrote the snapshot (another LLVM may schedule differently)."""
    dumps = {}
    compile_files(
        [ROOT / "intents" / f"{name}.ax"],
        PROBE,
        tmp_path / "out",
        backend="nvptx",
        dump=lambda stage, text: dumps.__setitem__(stage, text),
        learned=[],
    )
    version = f"// llvmlite {llvmlite.__version__}\n"
    files = {GOLDEN / f"{name}.ll": dumps["llvm"], GOLDEN / f"{name}.ptx": version + dumps["ptx"]}
    if os.environ.get("ATLAS_REGEN_NVPTX"):
        for path, text in files.items():
            path.write_text(text)
    ll, ptx = (p.read_text() for p in files)
    assert dumps["llvm"] == ll
    if ptx.startswith(version):
        assert version + dumps["ptx"] == ptx
    else:
        pytest.skip(f"PTX snapshot written by {ptx.splitlines()[0][3:]}, this is llvmlite {llvmlite.__version__}")
