"""Every intent in intents/ against its golden outputs: the reference
interpreter, and the native code compiled for each fixture probe (run on this
machine, which has every feature both fixtures list)."""

import math

import numpy as np
import pytest

import golden
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


def _regrouped(got, want, args) -> bool:
    """A `reassoc fn` sum in another order: within 2 * gamma_n * sum |x_i|
    of the interpreter's source order (each within gamma_n of the exact
    sum; gamma_n = n eps / (1 - n eps), eps the type's unit roundoff)."""
    xs = [a for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    n = sum(a.size for a in xs) + 1
    eps = float(np.finfo(xs[0].dtype if xs else np.float64).eps) / 2
    size = sum(float(np.abs(a.astype(np.float64)).sum()) for a in xs)
    return abs(got - want) <= 2 * (n * eps / (1 - n * eps)) * size


def _check(call, case, signature, native=False):
    args = [golden.decode(a) for a in case["args"]]
    result = call(*args)
    if native and signature.reassoc and isinstance(case["result"], float):
        assert _regrouped(result, case["result"], args), (case["function"], result, case["result"])
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
