"""Idiom recognition by meaning: spellings of popcount, bswap, rotl, ctz and
clz that no rule spells out come out as the primitive, proven; a subterm
that agrees with a primitive on the test vectors but not everywhere does
not."""

from pathlib import Path

import numpy as np
import pytest

from atlas.logic import idioms
from atlas.logic import rules as rulebook
from atlas.machine import probe as hwprobe
from atlas.meaning import interp, ir
from atlas.meaning.terms import Term, const, subterms
from atlas.pipeline import compile_files, front, middle

ROOT = Path(__file__).resolve().parent.parent
UNSEEN = ROOT / "tests/fixtures/idioms/unseen.ax"
FIXTURE = hwprobe.load_probe(ROOT / "tests/fixtures/probe-popcnt.json")
WANT = {
    "pc_hakmem": "popcount",  # the HAKMEM ladder of threes
    "bswap_loop": "bswap",  # a byte at a time, in a loop of four
    "rot_plus": "rotl",  # the two shifts joined by +
    "ctz_pop": "ctz",  # popcount of the ones below the lowest set bit
    "clz_smear": "clz",  # the smear to the right, then a popcount
    "pop_total": "popcount",  # SWAR on an array element inside a loop
    "min_mask": "min",  # y ^ ((x ^ y) & -(x < y))
    "sat_add": "add_sat",  # the sum or-ed with its carry smeared
    "sat_sub": "sub_sat",  # the difference masked by its borrow
}


@pytest.fixture(scope="module")
def verified():
    _, specialised, _ = front([UNSEEN], FIXTURE)
    v, _ = middle(specialised, FIXTURE)
    return v


@pytest.mark.parametrize("name", sorted(WANT))
def test_each_spelling_becomes_its_primitive(verified, name):
    fn = verified.module.function(name)
    text = ir.pretty_function(fn)
    assert f"{WANT[name]}(" in text, text
    assert verified.evidence[name].check is not None and verified.evidence[name].check.validated


def test_a_near_miss_is_not_taken(verified):
    """select(x - y > 0, x, y) is not max(x, y): x - y overflows."""
    text = ir.pretty_function(verified.module.function("max_arith"))
    assert "max(" not in text


def test_the_primitive_is_what_runs_and_it_agrees(tmp_path):
    from atlas.machine.runtime import load

    compiled = compile_files([UNSEEN], FIXTURE, tmp_path / "out")
    lib = load(tmp_path / "out")
    module = front([UNSEEN], FIXTURE)[1]
    rng = np.random.default_rng(5)
    for x in [0, 1, 0x80000000, 0xFFFFFFFF, *map(int, rng.integers(0, 1 << 32, 200))]:
        for name in ("pc_hakmem", "bswap_loop", "ctz_pop", "clz_smear"):
            assert getattr(lib, name)(x) == interp.run(module, name, x), (name, x)
        x64 = (x << 32) | (x ^ 0x9E3779B9)
        assert lib.rot_plus(x64) == interp.run(module, "rot_plus", x64)
        y = (x * 2654435761) & 0xFFFFFFFF
        assert lib.min_mask(x, y) == interp.run(module, "min_mask", x, y)
        assert lib.sat_add(x & 0xFFFF, y & 0xFFFF) == interp.run(module, "sat_add", x & 0xFFFF, y & 0xFFFF)
        assert lib.sat_sub(x & 0xFF, y & 0xFF) == interp.run(module, "sat_sub", x & 0xFF, y & 0xFF)
    assert compiled.manifest.functions["pc_hakmem"].evidence.terms.proven >= 1


U32 = ir.Scalar("uint", 32)


def _u32(name: str) -> Term:
    return Term("var", U32, (), name)


def test_rules_are_proven_and_general():
    """A rule's pattern variables stand where the inputs stood."""
    x = _u32("x")
    one = const(1, U32)
    # rotl by 5 spelled with + ; over a variable, and the rule takes any operand
    spelled = Term("add", U32, (Term("shl", U32, (x, const(5, U32))), Term("shr", U32, (x, const(27, U32)))))
    found = idioms.recognise([spelled])
    assert len(found) == 1
    rule = found[0]
    assert rule.rhs.op == "rotl" and rule.ruleset == idioms.RULESET
    assert {u.value for u in subterms(rule.lhs) if u.op == "var"} == {"?x"}
    assert rulebook.prove(rule.lhs, rule.rhs) is None
    # nothing is found where nothing is a primitive of one input
    assert idioms.recognise([Term("mul", U32, (Term("add", U32, (x, one)), const(3, U32)))]) == []
    y = _u32("y")
    two_inputs = Term("add", U32, (Term("shl", U32, (x, const(5, U32))), Term("shr", U32, (y, const(27, U32)))))
    assert idioms.recognise([two_inputs]) == []


def test_agreeing_on_the_vectors_is_not_enough():
    """popcount(x), plus one at a single value no vector holds: equal on
    every test vector, refuted by Z3, so no rule."""
    x = _u32("x")
    odd = Term("eq", ir.BOOL, (x, const(0x12345677, U32)))
    near = Term("add", U32, (Term("popcount", U32, (x,)), Term("cast", U32, (odd,))))
    assert idioms.recognise([near]) == []
    assert rulebook.prove(near, Term("popcount", U32, (x,))) is not None


def test_a_claim_z3_refused_is_not_put_to_it_again(tmp_path, monkeypatch):
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path))
    x = Term("var", U32, (), "?x")
    wrong = rulebook.Rule("idiom-test", idioms.RULESET, U32, Term("add", U32, (x, x)), Term("popcount", U32, (x,)), "t")
    right = rulebook.Rule(
        "idiom-test2", idioms.RULESET, U32, Term("add", U32, (x, x)), Term("shl", U32, (x, const(1, U32))), "t"
    )
    assert not rulebook.holds(wrong) and rulebook.holds(right)

    def no_more(*args, **kwargs):
        raise AssertionError("Z3 asked again")

    monkeypatch.setattr(rulebook, "_refute_rule", no_more)
    assert not rulebook.holds(wrong) and rulebook.holds(right)  # both from the cache
