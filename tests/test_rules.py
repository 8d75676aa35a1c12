"""Rewrite rules: every shipped rule is proven by Z3 (and the proofs are
cached), unsound and malformed rules are refused with file:line, and every
rule also holds on random inputs under the Python domain, independently of Z3."""

from __future__ import annotations

import json
import math
import random
import re
import struct
import textwrap

import numpy as np
import pytest

from atlas.meaning import ir, semantics as sem
from atlas.logic import rules
from atlas.logic.rules import RuleError, UnsoundRule, load_rules, parse_rules, prove
from atlas.meaning.terms import Term, const, evaluate, var

PY = sem.PyDomain()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(folder))
    return folder


def write(tmp_path, text: str, name: str = "rules.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


# ---------------------------------------------------------------- the shipped rules


def test_every_shipped_rule_is_proven_and_cached(cache):
    cold = load_rules()
    st = cold.stats
    print(f"\ncold: {st}")
    assert {r.ruleset for r in cold} == {"algebra", "bits", "select", "strength"}
    assert 50 <= st.templates <= 100
    assert st.instances == len(cold) + len(cold.conditioned) > 400
    # rules with side conditions are proven too, but kept out of the plain list
    assert st.conditioned == len(cold.conditioned) > 40
    assert all(r.conditioned for r in cold.conditioned) and not any(r.conditioned for r in cold)
    assert {"udiv-pow2-is-shr", "mul-pow2-is-shl"} <= {r.name for r in cold.conditioned}
    assert st.proven == st.instances - st.reassoc and st.cached == 0
    reassoc = [r for r in cold if r.reassoc]
    assert reassoc and all(r.ty.is_float for r in reassoc)
    assert len({r.id for r in cold.all()}) == st.instances
    assert (cache / "proofs-2.json").exists()

    warm = load_rules()
    print(f"warm: {warm.stats}")
    assert warm.stats.cached == st.proven and warm.stats.proven == 0
    assert warm.stats.seconds < max(1.0, st.seconds / 4)
    assert rules.stats() is warm.stats
    assert [(r.id, r.lhs, r.rhs, r.when) for r in warm.all()] == [(r.id, r.lhs, r.rhs, r.when) for r in cold.all()]


def test_rule_instances_are_typed_patterns():
    rs, _, _ = parse_rules()
    by = {r.id: r for r in rs}
    r = by["add-commutes@u32"]
    a, b = Term("var", ir.U32, (), "?a"), Term("var", ir.U32, (), "?b")
    assert (r.lhs, r.rhs) == (Term("add", ir.U32, (a, b)), Term("add", ir.U32, (b, a)))
    assert re.search(r"(^|/)primitives/rules/algebra\.yaml:\d+$", r.source) and r.text == "a + b => b + a"
    # an unsuffixed literal takes the rule's type; `vars` types the others
    r = by["select-one-zero-is-cast@f32"]
    assert r.lhs.args[0] == Term("var", ir.BOOL, (), "?c") and r.lhs.args[1] == const(1.0, ir.F32)
    assert r.rhs == Term("cast", ir.F32, (Term("var", ir.BOOL, (), "?c"),))
    assert by["lt-is-flipped-gt@i8"].lhs.ty == ir.BOOL
    assert by["wmul-u32@u32"].lhs.ty == ir.U64


# ---------------------------------------------------------------- unsound rules

UNSOUND = [
    # (lhs, rhs, types, the type it is refused for)
    ("a / 2", "a >> 1", "[i32]", ir.I32),  # signed: rounds toward zero
    ("a + 1 > a", "'true'", "ints", ir.I8),  # false at MAX
    ("a + 0.0", "a", "floats", ir.F32),  # -0.0 + 0.0 is +0.0
    ("(a + b) + c", "a + (b + c)", "floats", ir.F32),  # reassociation without `reassoc`
    ("a * 2", "a << 2", "ints", ir.I8),
    ("a - b", "b - a", "uints", ir.U8),
]


@pytest.mark.parametrize("lhs,rhs,types,refused_at", UNSOUND, ids=lambda x: str(x)[:12])
def test_unsound_rule_is_refused_with_a_counterexample(tmp_path, cache, lhs, rhs, types, refused_at):
    path = write(
        tmp_path,
        f"""
        ruleset: bad
        doc: "rules that do not hold"
        rules:
          - name: fine
            lhs: a + b
            rhs: b + a
            types: all
          - name: wrong
            lhs: {lhs}
            rhs: {rhs}
            types: {types}
        """,
    )
    with pytest.raises(UnsoundRule) as info:
        load_rules(path)
    err = info.value
    msg = str(err)
    print(msg)
    assert msg.startswith(f"{path}:8: rule 'wrong' is unsound for {refused_at}: with a = ")
    assert err.rule.name == "wrong" and err.rule.ty == refused_at
    # the counterexample really separates the sides, by the Python domain
    env = {"?" + k: _pattern(v, err.rule.lhs, "?" + k) for k, v in err.counterexample.items()}
    with np.errstate(all="ignore"):  # inf and NaN are defined results
        lv, rv = evaluate(err.rule.lhs, PY, env), evaluate(err.rule.rhs, PY, env)
    assert not _same(lv, rv, err.rule.lhs.ty)
    t = err.rule.lhs.ty
    assert f" is {_show(err.lhs_value, t)} but " in msg and msg.endswith(f" is {_show(err.rhs_value, t)}")
    # the sound rule before it was proven and cached; the unsound one was not
    (env,) = json.loads((cache / "proofs-2.json").read_text())["environments"].values()
    assert len(env["proven"]) == 10


def test_unsound_messages_name_the_witness(tmp_path, cache):
    path = write(
        tmp_path,
        """
        ruleset: bad
        rules:
          - name: sdiv-by-two
            lhs: a / 2
            rhs: a >> 1
            types: i32
        """,
    )
    with pytest.raises(UnsoundRule) as info:
        load_rules(path)
    a = info.value.counterexample["a"]
    assert a < 0 and a % 2 == 1  # a negative odd number: -1 / 2 is 0, -1 >> 1 is -1
    assert str(info.value) == (
        f"{path}:3: rule 'sdiv-by-two' is unsound for i32: with a = {_show(a)}, "
        f"a / 2 is {_show(int(a / 2))} but a >> 1 is {_show(a >> 1)}"
    )

    path = write(
        tmp_path,
        """
        ruleset: bad
        rules:
          - name: add-one-grows
            lhs: a + 1 > a
            rhs: "true"
            types: [u16]
          - name: add-zero
            lhs: a + 0.0
            rhs: a
            types: f64
        """,
    )
    with pytest.raises(
        UnsoundRule,
        match=r":3: rule 'add-one-grows' is unsound for u16: "
        r"with a = 65535 \(0xffff\), a \+ 1 > a is false but true is true",
    ):
        load_rules(path)
    path.write_text(path.read_text().replace("[u16]", "bools").replace("a + 1 > a", "a || !a"))
    with pytest.raises(
        UnsoundRule,
        match=r":7: rule 'add-zero' is unsound for f64: with a = -0.0, "
        r"a \+ 0.0 is 0.0 but a is -0.0$",
    ):
        load_rules(path)


def test_reassoc_rules_are_not_proven_and_only_for_floats(tmp_path, cache):
    path = write(
        tmp_path,
        """
        ruleset: fast-math
        rules:
          - name: fadd-reassoc
            lhs: (a + b) + c
            rhs: a + (b + c)
            types: floats
            reassoc: true
        """,
    )
    rs = load_rules(path)
    assert [r.reassoc for r in rs] == [True, True] and rs.stats.reassoc == 2 and rs.stats.proven == 0
    path.write_text(path.read_text().replace("floats", "ints"))
    with pytest.raises(RuleError, match=r"rules\.yaml:7: rule 'fadd-reassoc': `reassoc` is for float rules only"):
        load_rules(path)


# ---------------------------------------------------------------- malformed rules

MALFORMED = [
    ("types: u33", 6, r"rule 'r': unknown type 'u33' in `types`"),
    ("rhs: a + c", 5, r"rule 'r': the rhs uses 'c', which the lhs does not bind"),
    ("rhs: a < b", 5, r"rule 'r' for u8: in the rhs: expected a value of type u8, found bool"),
    ("lhs: a +* b", 4, r"rule 'r': in the lhs: expected an expression, found '\*'\n    a \+\* b\n       \^$"),
    ("lhs: a + b * 1.5", 4, r"rule 'r' for u8: in the lhs: .*1\.5"),
    ("vars: {a: u99}", 7, r"rule 'r': unknown type 'u99' for variable 'a'"),
    ("colour: red", 7, r"rule 'r': unknown key 'colour'"),
]


@pytest.mark.parametrize("change,line,pattern", MALFORMED, ids=lambda x: str(x)[:12])
def test_malformed_rule_is_refused_at_its_line(tmp_path, cache, change, line, pattern):
    text = textwrap.dedent("""
        ruleset: broken
        rules:
          - name: r
            lhs: a + b
            rhs: b + a
            types: [u8]
        """).lstrip()
    key = change.split(":")[0]
    if key in ("lhs", "rhs", "types"):
        text = re.sub(rf"(?m)^    {key}: .*$", "    " + change, text)
    else:
        text += "    " + change + "\n"
    assert_refused_at(write(tmp_path, text), line, pattern)


def assert_refused_at(path, line: int, pattern: str) -> None:
    """Loading `path` fails as a malformed rule (not an unsound one), told
    at `path:line`, with a message matching `pattern`."""
    with pytest.raises(RuleError) as info:
        load_rules(path)
    msg = str(info.value)
    assert not isinstance(info.value, UnsoundRule), msg
    assert msg.startswith(f"{path}:{line}: "), msg
    assert re.search(pattern, msg), msg


def test_duplicate_names_and_bad_yaml(tmp_path, cache):
    one = write(tmp_path, "ruleset: a\nrules:\n  - {name: r, lhs: x + x, rhs: x << 1, types: ints}\n", "a.yaml")
    write(
        tmp_path,
        "ruleset: b\nrules:\n  - {name: q, lhs: x, rhs: x, types: u8}\n"
        "  - {name: r, lhs: x * 2, rhs: x << 1, types: ints}\n",
        "b.yaml",
    )
    with pytest.raises(RuleError, match=rf"b\.yaml:4: rule 'r': the name is already used at {re.escape(str(one))}:3"):
        load_rules(tmp_path)
    bad = write(tmp_path, "ruleset: c\nrules:\n  - name: [unclosed\n", "c.yaml")
    with pytest.raises(RuleError, match=r"c\.yaml:\d+: not valid YAML"):
        load_rules(bad)


def test_the_proofs_left_to_make_are_told_as_they_are_made(tmp_path, cache, monkeypatch):
    from atlas.logic import rules

    path = write(
        tmp_path,
        """
        ruleset: small
        rules:
          - name: double
            lhs: x + x
            rhs: x << 1
            types: [u8, u16, u32]
        """,
    )
    told = []
    monkeypatch.setattr(rules, "progress_hook", lambda done, total: told.append((done, total)))
    load_rules(path)
    assert told == [(0, 3), (1, 3), (2, 3), (3, 3)]
    told.clear()
    load_rules(path)  # all cached: nothing to tell
    assert told == []


def test_cache_is_keyed_by_the_environment_and_survives_garbage(tmp_path, cache):
    path = write(
        tmp_path,
        """
        ruleset: small
        rules:
          - name: double
            lhs: x + x
            rhs: x << 1
            types: [u8, u16]
        """,
    )
    assert load_rules(path).stats.proven == 2
    assert load_rules(path).stats.cached == 2
    assert load_rules(path, cache=False).stats.proven == 2  # cache=False proves again
    proofs = cache / "proofs-2.json"
    data = json.loads(proofs.read_text())
    (mine,) = data["environments"]
    proofs.write_text(json.dumps({**data, "environments": {"other semantics": data["environments"][mine]}}))
    assert load_rules(path).stats.proven == 2  # other definitions: prove again
    # two versions side by side (two installs): neither proves again after the other
    assert set(json.loads(proofs.read_text())["environments"]) == {"other semantics", mine}
    assert load_rules(path).stats.cached == 2
    proofs.write_text("{not json")
    assert load_rules(path).stats.proven == 2
    assert load_rules(path).stats.cached == 2


# ---------------------------------------------------------------- prove() in general


def test_prove_handles_loads_and_any_variable_names():
    u = ir.U32
    i, j = var("i", ir.U64), var("j", ir.U64)
    wi, wj = Term("load", u, (i,), "w"), Term("load", u, (j,), "w")
    assert prove(Term("add", u, (wi, wi)), Term("shl", u, (wi, const(1, u)))) is None
    cex = prove(wi, wj)
    assert cex["i"] != cex["j"] and cex[f"w[{cex['i']}]"] != cex[f"w[{cex['j']}]"]
    # a narrow index reads the same element as its zero-extension
    k = var("k", ir.U8)
    wk = Term("load", u, (k,), "w")
    assert prove(wk, Term("load", u, (Term("cast", ir.U64, (k,)),), "w")) is None
    assert prove(Term("load", ir.F32, (i,), "w"), Term("load", ir.F32, (i,), "w")) is None
    # reads at indices that are equal in value, written differently, are the same read
    one = const(1, ir.U64)
    i1 = Term("load", u, (Term("add", ir.U64, (i, one)),), "w")
    i1b = Term("load", u, (Term("sub", ir.U64, (i, Term("neg", ir.U64, (one,)))),), "w")
    assert prove(i1, i1b) is None


def test_prove_float_expressions_with_loads_quickly():
    """Translation validation meets operands in another order all the time;
    the proof must not bit-blast two float multipliers to see they agree."""
    f, i = ir.F32, var("i", ir.U64)
    a, x, y = var("a", f), Term("load", f, (i,), "x"), Term("load", f, (i,), "y")
    lhs = Term("add", f, (Term("mul", f, (a, x)), y))
    rhs = Term("add", f, (y, Term("mul", f, (x, a))))
    assert prove(lhs, rhs, timeout_ms=5000) is None
    gt, lt = Term("gt", ir.BOOL, (a, x)), Term("lt", ir.BOOL, (x, a))
    assert prove(gt, lt, timeout_ms=5000) is None
    # but operators that do not commute are left alone
    b = var("b", f)
    for op in ("sub", "div", "min", "max"):
        assert prove(Term(op, f, (a, b)), Term(op, f, (b, a))) is not None, op
    assert prove(Term("lt", ir.BOOL, (a, b)), Term("lt", ir.BOOL, (b, a))) is not None


# ---------------------------------------------------------------- independent of Z3


def test_every_rule_holds_on_random_inputs_in_the_python_domain():
    """50 random inputs per instance, by PyDomain alone: a bug in Z3Domain
    that hid an unsound rule would show here.  A conditioned rule's consts
    are drawn from the values its condition admits."""
    rs, _, _ = parse_rules()
    rng = random.Random(1234)
    with np.errstate(all="ignore"):
        for r in rs:
            if r.reassoc:
                continue
            free = rules._free_vars(r.lhs, r.rhs)
            admitted = _admitted(r)
            for _ in range(50):
                env = {n: _random(t, rng) for n, t in free.items()}
                if admitted:
                    env.update(rng.choice(admitted))
                lv, rv = evaluate(r.lhs, PY, env), evaluate(r.rhs, PY, env)
                assert _same(lv, rv, r.lhs.ty), f"{r}: {env}: {lv!r} != {rv!r}"


def _admitted(r) -> list[dict]:
    """Assignments of a conditioned rule's consts under which its `when`
    holds, checked here by PyDomain: Z3 only lists the candidates (every one
    when there are few; a rule without `when` takes any random value)."""
    if not r.conditioned or r.when is None:
        return []
    cases = rules._solutions(r, 1000, 60000)
    assert cases, f"{r}: no value of the consts satisfies the condition"
    out = [{c: v.value for c, v in env.items()} for env in cases]
    for env in out:
        assert evaluate(r.when, PY, env) is True, (r, env)
    return out


# ---------------------------------------------------------------- helpers


def _random(t: ir.Scalar, rng: random.Random):
    if t.is_bool:
        return rng.random() < 0.5
    if t.is_float:
        pick = rng.random()
        if pick < 0.3:
            v = rng.choice([0.0, -0.0, 1.0, -1.0, 0.5, math.inf, -math.inf, math.nan, 2.0**100, 5e-324])
        elif pick < 0.6:
            v = rng.uniform(-1e6, 1e6)
        else:
            bits = rng.getrandbits(t.bits)
            v = struct.unpack("<f" if t.bits == 32 else "<d", struct.pack("<I" if t.bits == 32 else "<Q", bits))[0]
        return PY.fconst(t.bits, v)
    w = t.bits
    pick = rng.random()
    if pick < 0.3:
        return rng.choice([0, 1, 2, t.mask, t.mask - 1, 1 << (w - 1), (1 << (w - 1)) - 1, w, w - 1])
    if pick < 0.6:
        return rng.getrandbits(rng.randint(1, w))
    return rng.getrandbits(w)


def _same(a, b, t: ir.Scalar) -> bool:
    if t.is_float:
        if np.isnan(a) or np.isnan(b):
            return bool(np.isnan(a) and np.isnan(b))
        dt = np.float32 if t.bits == 32 else np.float64
        return np.array(a, dt).tobytes() == np.array(b, dt).tobytes()  # -0.0 != +0.0
    return a == b


def _pattern(v, term: Term, name: str):
    """A natural counterexample value as PyDomain's representation."""
    t = next(u.ty for u in _walk(term) if u.op == "var" and u.value == name)
    if t.is_float:
        return PY.fconst(t.bits, v)
    if t.is_bool:
        return bool(v)
    return v & t.mask


def _walk(t: Term):
    yield t
    for a in t.args:
        yield from _walk(a)


def _show(v, ty=None) -> str:
    return rules._show(v, ty)


def test_canonical_forms_kept_between_calls_are_the_ones_worked_out_afresh():
    """canonical keeps what it worked out for later calls; a term met again,
    alone or inside another, gets the form a fresh walk gives."""
    from atlas.logic.rules import _canonical, canonical
    from atlas.meaning.terms import Term, var

    rng = random.Random(11)
    terms = [var(n, ir.U32) for n in "abc"]
    for _ in range(200):  # a DAG: each new term over two earlier ones
        op = rng.choice(["add", "mul", "xor", "sub", "and"])
        terms.append(Term(op, ir.U32, (rng.choice(terms), rng.choice(terms))))
    terms += [Term("gt", ir.BOOL, (rng.choice(terms), rng.choice(terms))) for _ in range(20)]
    for t in terms + list(reversed(terms)):
        assert canonical(t) == _canonical(t, {}, {})
