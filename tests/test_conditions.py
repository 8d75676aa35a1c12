"""Rules with side conditions over constants (`consts` + `when`): proven for
every constant the condition admits, refused when unsound or when the
condition never holds, and instantiated per constant before saturation."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import golden
from test_rules import assert_refused_at
from atlas.meaning import ir, semantics as sem
from atlas.logic import stages, rules
from atlas.machine import runtime
from atlas.tools.explain import explain
from atlas.pipeline import compile_files, front
from atlas.machine.probe import load_probe
from atlas.logic.rules import RuleError, UnsoundRule, for_terms, load_rules, specialise_conditioned
from atlas.meaning.terms import Term, const, evaluate, var

PY = sem.PyDomain()
U32 = ir.U32
POW2 = "c != 0 && (c & (c - 1)) == 0"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(params=["case-split", "symbolic"])
def strategy(request, monkeypatch):
    """Both ways of proving a conditioned rule: case by case over the (few)
    constants the condition admits, and symbolically in the constants."""
    if request.param == "symbolic":
        monkeypatch.setattr(rules, "CASE_SPLIT_LIMIT", 0)
    return request.param


def write(tmp_path, text: str, name: str = "rules.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def one_rule(tmp_path, lhs, rhs, types, when=POW2, consts="[c]", extra=""):
    return write(
        tmp_path,
        f"""
        ruleset: cond
        rules:
          - name: r
            lhs: {lhs}
            rhs: {rhs}
            consts: {consts}
            when: {when}
            types: {types}
        {extra}""",
    )


# ---------------------------------------------------------------- proving


def test_conditioned_rule_is_proven_and_cached(tmp_path, cache, strategy):
    path = one_rule(tmp_path, "x / c", "x >> ctz(c)", "[u8, u16, u32]")
    rs = load_rules(path)
    assert list(rs) == []  # never in the list egglog may be handed as is
    assert [r.id for r in rs.conditioned] == ["r@u8", "r@u16", "r@u32"]
    st = rs.stats
    assert (st.instances, st.conditioned, st.proven, st.cached) == (3, 3, 3, 0)
    r = rs.conditioned[0]
    assert r.conditioned and r.consts == ("?c",) and r.when.ty == ir.BOOL and r.when_text == POW2
    assert str(r) == f"r [u8]: x / c => x >> ctz(c) if {POW2}"
    assert load_rules(path).stats.cached == 3
    # the condition is part of what was proven: another condition, another proof
    path.write_text(path.read_text().replace("c != 0 &&", "c > 1 &&"))
    assert load_rules(path).stats.proven == 3


def test_condition_is_what_makes_a_rule_sound(tmp_path, cache):
    """x % c == x & (c - 1) only for powers of two; without `when` it is refused."""
    path = one_rule(tmp_path, "x % c", "x & (c - 1)", "u16")
    assert load_rules(path).stats.proven == 1
    path.write_text(path.read_text().replace(f"when: {POW2}", "when: c != 0"))
    with pytest.raises(UnsoundRule) as info:
        load_rules(path)
    c = info.value.counterexample["c"]
    assert c != 0 and c & (c - 1) != 0


def test_unsound_conditioned_rule_has_a_counterexample_satisfying_the_condition(tmp_path, cache, strategy):
    """Signed division by a power of two is not an arithmetic shift."""
    path = one_rule(tmp_path, "x / c", "x >> ctz(c)", "[i8, i16]")
    with pytest.raises(UnsoundRule) as info:
        load_rules(path)
    err = info.value
    msg = str(err)
    print(msg)
    assert err.rule.name == "r" and err.rule.ty == ir.I8
    assert msg.startswith(f"{path}:3: rule 'r' is unsound for i8: with x = ")
    assert ", c = " in msg and f"(where {POW2} holds)" in msg
    cex = err.counterexample
    assert set(cex) == {"x", "c"}
    env = {"?" + k: v & ir.I8.mask for k, v in cex.items()}
    assert evaluate(err.rule.when, PY, env) is True  # the witness meets the condition
    lv, rv = evaluate(err.rule.lhs, PY, env), evaluate(err.rule.rhs, PY, env)
    assert lv != rv
    assert (lv, rv) == (err.lhs_value & 0xFF, err.rhs_value & 0xFF)


def test_condition_that_never_holds_is_refused(tmp_path, cache, strategy):
    path = one_rule(tmp_path, "x / c", "x + 1", "u8", when="c > 5 && c < 3")
    with pytest.raises(RuleError) as info:
        load_rules(path)
    assert not isinstance(info.value, UnsoundRule)
    assert str(info.value) == f"{path}:3: rule 'r' for u8: the condition `c > 5 && c < 3` never holds"


MALFORMED = [
    # (when, consts, line, message)
    ("c != 0 && x != 0", "[c]", 7, r"rule 'r': the condition may test only the consts \(c\), not 'x'"),
    (POW2, "[k]", 6, r"rule 'r': `consts` names 'k', which the lhs does not use"),
    (POW2, "c", 6, r"rule 'r': `consts` is a list of variable names"),
    (POW2, "[c, c]", 6, r"rule 'r': `consts` names a variable twice"),
    ("c + 1", "[c]", 7, r"rule 'r' for u8: in the condition: expected a value of type bool, found u8"),
    ("c != 0 &&", "[c]", 7, r"rule 'r': in the condition: expected an expression"),
]


@pytest.mark.parametrize("when,consts,line,pattern", MALFORMED, ids=lambda x: str(x)[:14])
def test_malformed_conditions_are_refused_at_their_line(tmp_path, cache, when, consts, line, pattern):
    path = one_rule(tmp_path, "x / c", "x >> ctz(c)", "u8", when=f'"{when}"', consts=consts)
    assert_refused_at(path, line, pattern)


def test_consts_without_when_match_any_constant(tmp_path, cache):
    """`consts` alone: proven symbolically for every value, instantiated for
    every constant of the type, the rhs folded."""
    path = write(
        tmp_path,
        """
        ruleset: cond
        rules:
          - name: clear-low
            lhs: (x >> c) << c
            rhs: x & (~0 << c)
            consts: [c]
            types: [u8, i32]
        """,
    )
    rs = load_rules(path)
    assert rs.stats.proven == 2 and [r.when for r in rs.conditioned] == [None, None]
    got = for_terms(rs, [const(3, ir.U8), const(200, ir.U8), const(-1, ir.I32)])
    assert [r.text for r in got] == [
        "(x >> 3u8) << 3u8 => x & 248u8",
        "(x >> 200u8) << 200u8 => x & 0u8",
        "(x >> -1i32) << -1i32 => x & 0i32",
    ]
    assert [r.name for r in got] == ["clear-low[c=3]", "clear-low[c=200]", "clear-low[c=-1]"]


def test_float_consts_are_proven_symbolically_and_folded(tmp_path, cache):
    path = one_rule(tmp_path, "x / c", "x * (1.0 / c)", "f32", when='"c == 2.0 || c == 0.5"')
    rs = load_rules(path)
    assert rs.stats.proven == 1
    got = for_terms(rs, [const(2.0, ir.F32), const(3.0, ir.F32), const(0.5, ir.F32)])
    assert [(r.name, r.text) for r in got] == [
        ("r[c=0.5]", "x / 0.5f32 => x * 2.0f32"),
        ("r[c=2.0]", "x / 2.0f32 => x * 0.5f32"),
    ]
    path.write_text(path.read_text().replace("c == 2.0 || c == 0.5", "c < 1.0 && c > 2.0"))
    with pytest.raises(RuleError, match="the condition `c < 1.0 && c > 2.0` never holds"):
        load_rules(path)


def test_when_needs_consts(tmp_path, cache):
    path = write(
        tmp_path,
        """
        ruleset: cond
        rules:
          - name: r
            lhs: x / c
            rhs: x >> ctz(c)
            when: c != 0
            types: u8
        """,
    )
    with pytest.raises(RuleError, match=r":6: rule 'r': `when` tests constants: name them in `consts`"):
        load_rules(path)


# ---------------------------------------------------------------- instantiating


def _roots():
    x, y = var("x", U32), var("y", U32)
    return [
        Term("div", U32, (x, const(16, U32))),
        Term("div", U32, (x, const(12, U32))),
        Term("rem", U32, (y, const(8, U32))),
        Term("add", U32, (y, const(0, U32))),
        Term("div", ir.U16, (var("z", ir.U16), const(64, ir.U16))),
    ]


def test_instances_are_the_constants_that_satisfy_the_condition(tmp_path, cache):
    rs = load_rules(one_rule(tmp_path, "x / c", "x >> ctz(c)", "uints"))
    got = for_terms(rs, _roots())
    assert not any(r.conditioned for r in got)
    assert sorted(r.id for r in got) == ["r[c=16]@u32", "r[c=64]@u16", "r[c=8]@u32"]
    r16 = next(r for r in got if r.name == "r[c=16]")
    px = Term("var", U32, (), "?x")
    assert r16.lhs == Term("div", U32, (px, const(16, U32)))
    assert r16.rhs == Term("shr", U32, (px, const(4, U32)))  # ctz(16) folded to 4
    assert r16.text == "x / 16u32 => x >> 4u32" and r16.origin == "r" and r16.when is None
    assert r16.source == rs.conditioned[0].source
    # a plain list works too, and plain rules pass through untouched
    plain = load_rules(write(tmp_path, "ruleset: p\nrules:\n  - {name: q, lhs: a + 0, rhs: a, types: u32}\n", "p.yaml"))
    mixed = for_terms(list(plain) + rs.conditioned, _roots())
    assert [r.name for r in mixed][:1] == ["q"] and len(mixed) == 4


def test_instances_fold_every_constant_subterm_and_still_prove():
    conditioned = [r for r in rules.parse_rules()[0] if r.conditioned]  # the shipped ones
    consts = {t: [1, 2, 3, 7, 8, 9, 16, 31, 24, -8, 1 << (t.bits - 1)] for t in rules.TYPE_GROUPS["ints"]}
    got = specialise_conditioned(conditioned, consts, check=True)  # each proven by Z3 directly
    names = {r.id for r in got}
    assert {
        "udiv-pow2-is-shr[c=16]@u32",
        "urem-pow2-is-and[c=8]@u64",
        "mul-pow2-is-shl[c=2]@i8",
        "sdiv-pow2-is-shr[c=8]@i32",
        "srem-pow2-is-and[c=16]@i64",
        "mul-pow2-plus-1[c=9]@u16",
        "mul-pow2-minus-1[c=31]@i64",
        "shifts-or-is-rotl[c=8,d=24]@u32",
        "shifts-or-is-rotl[c=24,d=8]@u32",
        "rotl-const-is-shifts[c=7]@u8",
        "shr-shl-clears-low[c=3]@i16",
        "mul-pow2-is-shl[c=-128]@i8",
    } <= names
    assert "shr-shl-clears-low[c=-8]@i16" not in names
    assert "sdiv-pow2-is-shr[c=1]@i32" not in names and "udiv-pow2-is-shr[c=24]@u32" not in names
    assert "mul-pow2-minus-1[c=3]@u32" not in names and "shifts-or-is-rotl[c=8,d=8]@u32" not in names
    by = {r.id: r for r in got}
    assert by["urem-pow2-is-and[c=8]@u64"].text == "x % 8u64 => x & 7u64"
    assert by["sdiv-pow2-is-shr[c=8]@i32"].text == "x / 8i32 => (x + select((x < 0i32), 7i32, 0i32)) >> 3i32"
    assert by["shr-shl-clears-low[c=3]@u8"].text == "(x >> 3u8) << 3u8 => x & 248u8"
    # no subterm of an instance is left with only constants under it
    for r in got:
        for side in (r.lhs, r.rhs):
            for t in _walk(side):
                assert not (t.args and t.op != "load" and all(a.op == "const" for a in t.args)), (r, t)


def test_saturation_gets_instances_never_conditioned_rules(monkeypatch):
    probe = load_probe(golden.FIXTURES / "probe-popcnt.json")
    _, module, _ = front([golden.ROOT / "intents" / "naive.ax"], probe)
    seen = {}
    real = stages.egraph.saturate

    def spy(roots, rule_list, **kw):
        seen["rules"] = list(rule_list)
        return real(roots, rule_list, **kw)

    monkeypatch.setattr(stages.egraph, "saturate", spy)
    monkeypatch.setenv("ATLAS_CHECK_INSTANCES", "1")  # and each instance proves on its own
    sat = stages.saturate(module, probe)
    assert seen["rules"] == sat.rules and not any(r.conditioned for r in sat.rules)
    names = {r.name for r in sat.rules}
    assert {"udiv-pow2-is-shr[c=16]", "urem-pow2-is-and[c=16]", "mul-pow2-is-shl[c=8]", "mul-pow2-plus-1[c=3]"} <= names
    assert not any(n.startswith("udiv-pow2-is-shr[c=3]") for n in names)


# ---------------------------------------------------------------- end to end


@pytest.mark.cc
def test_naive_divides_by_a_shift_named_by_its_instance(tmp_path):
    probe_path = golden.FIXTURES / "probe-popcnt.json"
    probe = load_probe(probe_path)
    src = golden.ROOT / "intents" / "naive.ax"
    compiled = compile_files([src], probe, tmp_path / "out")
    split = ir.pretty_module(ir.Module((compiled.module.function("split_index"),), ()))
    assert "(i >> 4u32)" in split and "(i & 15u32)" in split and "/" not in split
    assert compiled.manifest.functions["split_index"].evidence.form.value == "rewritten"

    doc = explain([str(src)], probe, "fixture")
    assert doc["rules"]["matches"]["udiv-pow2-is-shr[c=16]"] >= 1
    root = next(
        r for f in doc["functions"] if f["name"] == "split_index" for r in f["roots"] if r["source"] == "(i / 16u32)"
    )
    assert root["chosen"] == "(i >> 4u32)" and root["status"] == "proven by Z3"
    cls = next(c for c in doc["classes"] if c["id"] == root["class"])
    member = next(m for m in cls["members"] if m["term"] == "(i >> 4u32)")
    assert member["by"] == ["udiv-pow2-is-shr[c=16]"]
    assert {"rule": "udiv-pow2-is-shr[c=16]", "ruleset": "strength", "pairs": 1} in cls["merged_by"]

    try:
        lib = runtime.load(compiled.out)
    except runtime.CpuMismatch as exc:
        pytest.skip(str(exc))
    cases = [c for c in golden.load("naive")["cases"] if c["probe"] == "probe-popcnt"]
    assert any(c["function"] == "split_index" for c in cases)
    for case in cases:
        args = [golden.decode(a) for a in case["args"]]
        assert getattr(lib, case["function"])(*args) == case["result"], case
        names = [p.name for p in compiled.module.function(case["function"]).params]
        for name, want in case["written"].items():
            np.testing.assert_array_equal(args[names.index(name)], golden.decode(want))


def _walk(t: Term):
    yield t
    for a in t.args:
        yield from _walk(a)


CONSTANTS_AX = """
fn sdiv8(x: i32) -> i32 { return x / 8; }
fn srem16(x: i64) -> i64 { return x % 16; }
fn mul7(x: u32) -> u32 { return x * 7; }
fn mul9(x: i16) -> i16 { return x * 9; }
fn rot8(x: u32) -> u32 { return (x << 8) | (x >> 24); }
fn clear5(x: i64) -> i64 { return (x >> 5) << 5; }
fn udiv64(x: u16) -> u16 { return x / 64 + x % 64; }
fn odd(x: u32) -> u32 { return x / 12 + x * 6; }
"""

EXPECTED = {
    "sdiv8": "sdiv-pow2-is-shr[c=8]",
    "srem16": "srem-pow2-is-and[c=16]",
    "mul7": "mul-pow2-minus-1[c=7]",
    "mul9": "mul-pow2-plus-1[c=9]",
    "rot8": "shifts-or-is-rotl[c=8,d=24]",
    "clear5": "shr-shl-clears-low[c=5]",
    "udiv64": "udiv-pow2-is-shr[c=64]",
}


@pytest.mark.cc
def test_every_new_rule_fires_and_native_code_agrees(tmp_path):
    """Each conditioned rule rewrites an intent; the rewritten code, proven
    by verify, compiles and matches the interpreter on edge and random inputs."""
    src = tmp_path / "consts.ax"
    src.write_text(CONSTANTS_AX)
    probe = load_probe(golden.FIXTURES / "probe-popcnt.json")
    _, module, _ = front([src], probe)
    sat = stages.saturate(module, probe)
    verified = stages.verify(module, sat)
    matched = {k for k, v in sat.atlas.rule_matches.items() if v}
    assert set(EXPECTED.values()) <= matched
    for name in EXPECTED:
        ev = verified.evidence[name]
        assert ev.form.value == "rewritten" and ev.terms.proven >= 1 and not ev.terms.fallbacks, (name, ev)
    # 12 and 6 are no powers of two (nor neighbours of one): nothing of ours fires on `odd`
    assert not any(n.startswith(("udiv-pow2-is-shr[c=12]", "mul-pow2-is-shl[c=6]")) for n in matched)

    compiled = compile_files([src], probe, tmp_path / "out")
    try:
        lib = runtime.load(compiled.out)
    except runtime.CpuMismatch as exc:
        pytest.skip(str(exc))
    from atlas.meaning import interp

    rng = np.random.default_rng(5)
    for f in module.functions:
        t = f.params[0].ty
        lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, t.mask)
        inputs = [lo, lo + 1, -17, -16, -15, -9, -8, -7, -1, 0, 1, 7, 8, 9, 15, 16, 17, hi - 1, hi]
        inputs += [int(v) for v in rng.integers(lo, hi, 40, endpoint=True)]
        for x in inputs:
            if not lo <= x <= hi:
                continue
            assert getattr(lib, f.name)(x) == interp.run(module, f.name, x), (f.name, x)
