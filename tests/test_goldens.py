"""Every intent in intents/ against its golden outputs: the reference
interpreter, and the native code compiled for each fixture probe (run on this
machine, which has every feature both fixtures list)."""

import math

import numpy as np
import pytest

import golden
from atlas.logic import differential
from atlas.meaning import interp
from atlas.machine import runtime
from atlas.pipeline import compile_files, front
from atlas.machine.probe import load_probe

STEMS = sorted(p.stem for p in (golden.ROOT / "intents").glob("*.ax"))


def test_every_intent_has_goldens():
    assert STEMS and all((golden.GOLDEN / f"{s}.json").exists() for s in STEMS)


def _same(got, want):
    if isinstance(want, float):
        return got == want or (math.isnan(got) and math.isnan(want))
    return got == want


def _check(call, case, signature, native=False):
    args = [golden.decode(a) for a in case["args"]]
    result = call(*args)
    if native and signature.reassoc and isinstance(case["result"], float):
        # a `reassoc fn` sum in another order: within the bound of two summation orders
        slack = differential.regroup_slack(args)
        assert differential.within(result, case["result"], slack), (case["function"], result, case["result"])
    else:
        assert _same(result, case["result"]), (case["function"], result, case["result"])
    names = [p.name for p in signature.params]
    for name, want in case["written"].items():
        np.testing.assert_array_equal(args[names.index(name)], golden.decode(want))


@pytest.mark.parametrize("stem", STEMS)
def test_interpreter_matches_goldens(stem):
    for probe_name in golden.PROBES:
        _, module, _ = front(
            [golden.ROOT / "intents" / f"{stem}.ax"], load_probe(golden.FIXTURES / f"{probe_name}.json")
        )
        for case in golden.load(stem)["cases"]:
            if case["probe"] == probe_name:
                _check(lambda *a: interp.run(module, case["function"], *a), case, module.function(case["function"]))


@pytest.mark.cc
@pytest.mark.parametrize("stem", STEMS)
def test_native_code_matches_goldens(stem, tmp_path):
    for probe_name in golden.PROBES:
        probe = load_probe(golden.FIXTURES / f"{probe_name}.json")
        out = tmp_path / probe_name
        compiled = compile_files([golden.ROOT / "intents" / f"{stem}.ax"], probe, out)
        try:
            lib = runtime.load(out)
        except runtime.CpuMismatch as exc:  # this machine lacks a feature of the fixture
            pytest.skip(str(exc))
        for case in golden.load(stem)["cases"]:
            if case["probe"] == probe_name:
                _check(getattr(lib, case["function"]), case, compiled.module.function(case["function"]), native=True)
