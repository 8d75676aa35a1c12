"""Property tests: compiled code against the reference interpreter, for every
operator and primitive at every width, on random and edge inputs.

The functions are written as intent source and go through the whole
pipeline (parse, check, specialise, emit), compiled once for this machine."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas.meaning import interp
from atlas.machine import runtime
from atlas.front.typecheck import primitives
from atlas.pipeline import compile_files, front
from atlas.machine.probe import probe as probe_host

INTS = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"]
FLOATS = ["f32", "f64"]
BITS = {t: int(t[1:]) for t in INTS + FLOATS}
OPS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "rem": "%",
    "and": "&",
    "or": "|",
    "xor": "^",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
}
SHIFT_COUNTS = ["u8", "i16", "u32", "u64"]


def _functions():
    """name -> (source, parameter types)"""
    fns = {}
    for t in INTS + FLOATS:
        for name, sym in OPS.items():
            if t in FLOATS and name in ("rem", "and", "or", "xor"):
                continue
            ret = "bool" if name in ("eq", "ne", "lt", "le", "gt", "ge") else t
            fns[f"{name}_{t}"] = (f"fn {name}_{t}(a: {t}, b: {t}) -> {ret} {{ return a {sym} b; }}", (t, t))
        fns[f"neg_{t}"] = (f"fn neg_{t}(a: {t}) -> {t} {{ return -a; }}", (t,))
        for u in INTS + FLOATS + ["bool"]:
            fns[f"cast_{t}_{u}"] = (f"fn cast_{t}_{u}(a: {t}) -> {u} {{ return a as {u}; }}", (t,))
    for t in INTS:
        fns[f"not_{t}"] = (f"fn not_{t}(a: {t}) -> {t} {{ return ~a; }}", (t,))
        for c in SHIFT_COUNTS:
            for name, sym in (("shl", "<<"), ("shr", ">>")):
                fns[f"{name}_{t}_{c}"] = (f"fn {name}_{t}_{c}(a: {t}, s: {c}) -> {t} {{ return a {sym} s; }}", (t, c))
    for prim, spec in primitives().items():
        for t in INTS + FLOATS:
            kind_ok = {"int": t in INTS, "float": t in FLOATS, "num": True, "scalar": True}[spec["T"]]
            if not kind_ok or BITS[t] < spec.get("min_bits", 0) or BITS[t] > spec.get("max_bits", 64):
                continue
            params = [{"T": t, "anyint": "u32", "bool": "bool"}[k] for k in spec["params"]]
            ret = t if spec["result"] == "T" else t[0] + str(2 * BITS[t])
            args = ", ".join(f"p{i}: {pt}" for i, pt in enumerate(params))
            call = ", ".join(f"p{i}" for i in range(len(params)))
            fns[f"{prim}_{t}"] = (f"fn {prim}_{t}({args}) -> {ret} {{ return {prim}({call}); }}", tuple(params))
    return fns


FUNCTIONS = _functions()


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    src = tmp_path_factory.mktemp("props") / "ops.ax"
    src.write_text("\n".join(s for s, _ in FUNCTIONS.values()) + "\n")
    host = probe_host()
    out = src.parent / "out"
    compile_files([src], host, out)
    _, module, _ = front([src], host)
    return runtime.load(out), module


def _edge(t):
    if t == "bool":
        return st.booleans()
    if t in FLOATS:
        width = BITS[t]
        specials = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            math.inf,
            -math.inf,
            math.nan,
            2.0**31,
            -(2.0**63),
            2.0**64,
            255.5,
            -0.5,
            1e-45 if width == 32 else 5e-324,
        ]
        return st.sampled_from(specials) | st.floats(width=width, allow_nan=True)
    bits, signed = BITS[t], t[0] == "i"
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    specials = [v for v in {0, 1, -1, lo, hi, lo + 1, hi - 1, bits - 1, bits, bits + 1} if lo <= v <= hi]
    return st.sampled_from(specials) | st.integers(lo, hi)


def _same(a, b):
    if isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b


@pytest.mark.cc
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_compiled_matches_interpreter(both, name, data):
    lib, module = both
    _, types = FUNCTIONS[name]
    args = [data.draw(_edge(t), label=t) for t in types]
    want = interp.run(module, name, *args)
    got = getattr(lib, name)(*args)
    assert _same(got, want), f"{name}{tuple(args)}: compiled {got!r}, interpreter {want!r}"


def test_every_operator_and_primitive_is_covered():
    names = set(FUNCTIONS)
    for t in INTS:
        assert {f"{op}_{t}" for op in OPS} <= names
        assert {f"shl_{t}_u8", f"shr_{t}_u64", f"not_{t}"} <= names
    covered_prims = {n.rsplit("_", 1)[0] for n in names}
    assert set(primitives()) <= covered_prims
