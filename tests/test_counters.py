"""Run-time counters (ir.Count): exported i64 globals in the library, read
back through atlas.machine.runtime, against the interpreter's atlas.meaning.interp.COUNTS."""

from __future__ import annotations

import json
import platform
import threading
from dataclasses import replace

import numpy as np
import pytest

from atlas.meaning import interp, ir
from atlas.machine import runtime
from atlas.pipeline import front
from atlas.machine.probe import probe as host_probe

pytestmark = [
    pytest.mark.cc,
    pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="runs x86_64 code"),
]

X86 = pytest.importorskip("atlas.backends.x86_64")

SRC = """
fn tally(n: u64, x: [i32; n]) -> i32 {
    let s: i32 = 0;
    for i in 0..n {
        if x[i] > 0 {
            s += x[i];
        } else {
            s -= 1;
        }
    }
    return s;
}

fn other(n: u64, x: [i32; n]) -> u64 {
    let k: u64 = 0;
    while k < n {
        k += 1;
    }
    return k;
}
"""


def _with_counts(f: ir.Function) -> ir.Function:
    """Count every trip of each loop ("trip"), and the else arm of an if
    inside a loop ("fallback"); "entry" once per call."""

    def stmts(body, in_loop=False):
        out = []
        for s in body:
            if isinstance(s, ir.For | ir.While):
                s = replace(s, body=(ir.Count("trip"), *stmts(s.body, True)))
            elif isinstance(s, ir.If):
                s = replace(
                    s,
                    then=tuple(stmts(s.then, in_loop)),
                    else_=((ir.Count("fallback"),) if in_loop else ()) + tuple(stmts(s.else_, in_loop)),
                )
            out.append(s)
        return out

    return replace(f, body=(ir.Count("entry"), *stmts(f.body)))


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("counters")
    (folder / "c.ax").write_text(SRC)
    probe = host_probe()
    module = front([folder / "c.ax"], probe)[1]
    module = replace(module, functions=tuple(_with_counts(f) for f in module.functions))
    out = folder / "out"
    out.mkdir()
    em = X86.X86Backend().emit(module, probe, out)
    (out / "manifest.json").write_text(json.dumps({"format": "atlas-artefact/1", "backend": "x86_64", **em.manifest}))
    return module, runtime.load(out), em


def test_the_manifest_lists_each_functions_counters(counted):
    _, _, em = counted
    assert em.manifest["functions"]["tally"]["counters"] == ["entry", "trip", "fallback"]
    assert em.manifest["functions"]["other"]["counters"] == ["entry", "trip"]
    assert '@"atlas_count_tally_fallback" = global i64 0, align 8' in em.dumps["llvm"]
    assert "atomicrmw add" in em.dumps["llvm-opt"] and "monotonic" in em.dumps["llvm-opt"]


def test_counters_match_the_interpreter(counted):
    module, lib, _ = counted
    lib.reset_counters()
    assert lib.counters() == {"tally": {"entry": 0, "trip": 0, "fallback": 0}, "other": {"entry": 0, "trip": 0}}
    rng = np.random.default_rng(3)
    calls = [[n, rng.integers(-5, 6, n, dtype=np.int32)] for n in (0, 1, 17, 100)]
    for args in calls:
        interp.COUNTS.clear()
        want = interp.run(module, "tally", *args)
        lib.reset_counters()
        assert lib.tally(*args) == want
        got = lib.counters()["tally"]
        assert got == {label: interp.COUNTS.get(label, 0) for label in ("entry", "trip", "fallback")}
        assert got["trip"] == args[0] and got["fallback"] == int(np.count_nonzero(args[1] <= 0))
    # counts add up over calls, per function, until reset
    lib.reset_counters()
    interp.COUNTS.clear()
    for args in calls:
        lib.tally(*args)
        interp.run(module, "tally", *args)
    lib.other(7, np.zeros(7, np.int32))
    counts = lib.counters()
    assert counts["tally"] == {k: interp.COUNTS[k] for k in ("entry", "trip", "fallback")}
    assert counts["other"] == {"entry": 1, "trip": 7}
    lib.reset_counters()
    assert all(v == 0 for c in lib.counters().values() for v in c.values())


def test_counting_from_several_threads_loses_nothing(counted):
    _, lib, _ = counted
    n, threads, calls = 50_000, 4, 5
    x = np.full(n, -1, np.int32)  # every element takes the counted else arm
    lib.reset_counters()

    def work():
        for _ in range(calls):
            lib.tally(n, x)  # ctypes lets go of the GIL during the call

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    got = lib.counters()["tally"]
    assert got == {"entry": threads * calls, "trip": threads * calls * n, "fallback": threads * calls * n}


def test_counter_symbols_agree():
    from atlas.backends.llvm.codegen import counter_symbol

    assert counter_symbol("f", "tier1") == runtime.counter_symbol("f", "tier1") == "atlas_count_f_tier1"


def test_a_library_without_counters_has_none(tmp_path):
    folder = tmp_path
    (folder / "c.ax").write_text(SRC)
    probe = host_probe()
    module = front([folder / "c.ax"], probe)[1]
    em = X86.X86Backend().emit(module, probe, folder)
    assert all("counters" not in e for e in em.manifest["functions"].values())
    (folder / "manifest.json").write_text(json.dumps({"format": "atlas-artefact/1", **em.manifest}))
    lib = runtime.load(folder)
    assert lib.counters() == {}
    lib.reset_counters()
