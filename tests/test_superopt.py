"""The superoptimiser: flattening, the program space, the search, the proof
loop, learned rules and their use by later compiles."""

from __future__ import annotations

import re
import random
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from atlas.superopt import discover
from atlas.logic import flatten, learned, lower
from atlas.meaning import interp, ir
from atlas.logic import rules as rulebook
from atlas.logic import stochastic as so
from atlas.front.check import check
from atlas.tools.cli import main
from atlas.meaning.semantics import PyDomain
from atlas.front.syntax import parse
from atlas.meaning.terms import Term, const, evaluate, var

NAIVE = """\
// the number of set bits, one bit at a time
fn pop(x: u32) -> u32 {
    let c: u32 = 0;
    for i in 0..32 {
        if (x >> i) & 1 == 1 { c += 1; }
    }
    return c;
}
// x with its lowest set bit cleared
fn clear_low(x: u32) -> u32 {
    for i in 0..32 {
        if (x >> i) & 1 == 1 { return x & ~(1u32 << i); }
    }
    return x;
}
// -1, 0 or 1
fn sign(x: i32) -> i32 {
    if x > 0 { return 1; } else if x < 0 { return -1; }
    return 0;
}
"""


def module_of(text: str, name: str = "naive.ax") -> ir.Module:
    return check(parse(text, name))


def fn(module: ir.Module, name: str) -> ir.Function:
    return next(f for f in module.functions if f.name == name)


class FlatCosts:
    """A cost table that measures nothing: every operation 1, the slow ones more."""

    source = "fixed test costs"

    def cost(self, op, ty):
        c = {"mul": 3.0, "mulhi": 4.0, "popcount": 3.0, "clz": 3.0, "ctz": 3.0}.get(op, 1.0)
        return SimpleNamespace(latency=c, throughput=1.0)


def pairs(W=ir.U32):
    return so.cost_pairs(FlatCosts(), W)


# ---------------------------------------------------------------- flatten


@pytest.mark.parametrize("name", ["pop", "clear_low", "sign"])
def test_flattened_term_computes_what_the_function_does(name):
    m = module_of(NAIVE)
    f = fn(m, name)
    t = flatten.flatten(f)
    rng = random.Random(1)
    ty = f.params[0].ty
    values = [0, 1, ty.mask, 1 << (ty.bits - 1), 12, 0x80000001] + [rng.getrandbits(32) for _ in range(200)]
    for x in values:
        bits = x & ty.mask
        natural = bits - (1 << ty.bits) if ty.signed and bits >> (ty.bits - 1) else bits
        want = interp.run(m, name, natural)
        got = evaluate(t, PyDomain(), {"x": bits})
        assert got == want & f.ret.mask, (name, x)


def test_a_conditional_update_stays_linear_in_the_trip_count():
    t = flatten.flatten(fn(module_of(NAIVE), "pop"))
    assert flatten.tree_size(t) < 40 * 32  # not 2**32


def test_flatten_refuses_what_is_not_one_term():
    m = module_of("""
fn w(x: u32) -> u32 { let v = x; let c: u32 = 0; while v != 0 { v = v & (v - 1); c += 1; } return c; }
fn a(n: u64, v: [u32; n]) -> u32 { let s: u32 = 0; for i in 0..n { s += v[i]; } return s; }
fn plain(x: u32) -> u32 { return x + 1; }
fn flag(x: u32) -> u32 {
    let found: bool = false;
    let r: u32 = 0;
    for i in 0..32 {
        if !found && ((x >> i) & 1) == 1 { found = true; r = 1u32 << i; }
        if found && r == 0 { r = 1; }
    }
    return r;
}
""")
    assert "while" in flatten.why_not(fn(m, "w"))
    assert "array" in flatten.why_not(fn(m, "a"))
    assert "no branch or loop" in flatten.why_not(fn(m, "plain"))
    with pytest.raises(flatten.Refused, match="nodes"):
        flatten.flatten(fn(m, "flag"))


def test_every_eligible_function_gets_a_whole_function_root():
    _, roots = lower.transform(module_of(NAIVE))
    whole = [r for r in roots if r.role == lower.FUNCTION]
    assert [r.function for r in whole] == ["pop", "clear_low", "sign"]


# ---------------------------------------------------------------- evaluation on test vectors


@pytest.mark.parametrize("W", [ir.U8, ir.U16, ir.U32, ir.U64, ir.I32, ir.I64])
def test_the_vectorised_evaluation_is_the_definitions(W):
    rng = random.Random(W.bits)
    vals = (
        [0, 1, 2, W.mask, 1 << (W.bits - 1), (1 << (W.bits - 1)) - 1, W.bits, W.bits + 1]
        + [rng.getrandbits(W.bits) for _ in range(60)]
        + [rng.randrange(70) for _ in range(20)]
    )
    xs, ys = vals, vals[::-1]
    x, y = var("x", W), var("y", W)
    env = {"x": np.array(xs, dtype=np.uint64), "y": np.array(ys, dtype=np.uint64)}
    for op in so.opcodes_for(W):
        args = {"W": [x, y], "B": [Term("lt", ir.BOOL, (x, y)), Term("eq", ir.BOOL, (y, const(3, W)))]}
        operands, used = [], {"W": 0, "B": 0}
        for k in op.args:
            operands.append(args[k][used[k] % 2])
            used[k] += 1
        t = op.build(W, operands)
        with np.errstate(all="ignore"):
            got = np.broadcast_to(np.asarray(so.run_term(t, env)), (len(xs),))
        for i, (a, b) in enumerate(zip(xs, ys)):
            want = evaluate(t, PyDomain(), {"x": a, "y": b})
            assert int(got[i]) == int(want), (op.name, W, a, b)


# ---------------------------------------------------------------- the search


def spec_of(name: str, text: str = NAIVE) -> so.Spec:
    spec, why = so.spec_of(name, flatten.flatten(fn(module_of(text), name)))
    assert spec is not None, why
    return spec


def test_the_search_finds_popcount_in_the_unrolled_loop():
    r = so.search(spec_of("pop"), pairs(), budget_s=120, seed=1, chains=1, patience_s=1e9, max_proposals=3000)
    assert r.found is not None and str(r.found.term) == "popcount(x)"
    assert r.found.length == 1 and r.proofs >= 1


def test_the_search_is_determined_by_its_seed():
    a = so.search(spec_of("clear_low"), pairs(), budget_s=120, seed=3, chains=1, patience_s=1e9, max_proposals=1500)
    b = so.search(spec_of("clear_low"), pairs(), budget_s=120, seed=3, chains=1, patience_s=1e9, max_proposals=1500)
    assert (a.found and str(a.found.term)) == (b.found and str(b.found.term))
    assert a.proofs == b.proofs


def test_a_counterexample_becomes_a_test_vector():
    x = var("x", ir.U32)
    spec = so.Spec(
        "rare",
        Term(
            "select", ir.U32, (Term("eq", ir.BOOL, (x, const(0xDEADBEEF, ir.U32))), const(7, ir.U32), const(0, ir.U32))
        ),
        (("x", ir.U32),),
        ir.U32,
    )
    ch = so.Chain(spec, pairs(), seed=0)
    zero = so.Program(ir.U32, spec.inputs, (so.Instr("and", (("in", 0), ("imm", 0))),))
    assert ch.mismatch(zero) == 0  # no random test vector hits the one value
    assert not ch.prove(zero)  # Z3 finds it
    assert ch.cex == 1 and 0xDEADBEEF in ch.env["x"]
    assert ch.mismatch(zero) == 3  # 7 has three bits


def test_nothing_unproven_leaves_the_search(monkeypatch):
    monkeypatch.setattr(rulebook, "prove", lambda *a, **k: {"x": 0})
    r = so.search(spec_of("pop"), pairs(), budget_s=120, seed=1, chains=1, patience_s=1e9, max_proposals=2000)
    assert r.found is None and r.proofs >= 1


def test_the_cost_model_decides_between_equal_programs():
    spec = spec_of("pop")
    one = so.Program(ir.U32, spec.inputs, (so.Instr("popcount", (("in", 0),)),))
    slow = {**pairs(), "popcount": (40.0, 40.0)}
    assert so.estimate(one, pairs()) == 3.0
    assert so.estimate(one, slow) == 40.0


def test_program_length_counts_shared_work_once():
    x = var("x", ir.U32)
    d = Term("sub", ir.U32, (x, const(1, ir.U32)))
    assert so.term_length(Term("and", ir.U32, (d, Term("xor", ir.U32, (d, x))))) == 3


# ---------------------------------------------------------------- learned rules


@pytest.fixture
def learned_file(tmp_path, monkeypatch):
    path = tmp_path / "learned.yaml"
    monkeypatch.setenv("ATLAS_LEARNED", str(path))
    return path


@pytest.fixture
def naive_file(tmp_path):
    p = tmp_path / "naive.ax"
    p.write_text(NAIVE)
    return p


def host():
    from atlas.machine import probe

    return probe.probe()


def test_a_discovery_is_learned_reloaded_and_used_without_searching(naive_file, learned_file, monkeypatch, tmp_path):
    found = discover.run([naive_file], host(), budget_s=60, seed=1, only=("pop",), costs=FlatCosts())
    [d] = found
    assert d.status.value == "learned" and d.found == "popcount(x)" and d.found_length == 1
    doc = yaml.safe_load(learned_file.read_text())
    rule, *wider = doc["rules"]  # the rule, then the same where it holds at other widths
    assert rule["name"] == d.rule and [w["name"] for w in wider] == d.generalised
    assert rule["rhs"] == "popcount(x)" and rule["provenance"]["function"] == "pop"
    # loaded beside the shipped rules, proven again
    loaded = rulebook.load_rules([rulebook.SHIPPED, learned_file])
    assert any(r.name == rule["name"] for r in loaded)
    # a later compile applies it by saturation and searches nothing
    monkeypatch.setattr(so, "search", lambda *a, **k: pytest.fail("searched again"))
    again = discover.run([naive_file], host(), budget_s=60, only=("pop",), costs=FlatCosts())
    assert [x.status.value for x in again] == ["known"]
    from atlas.pipeline import compile_files

    out = compile_files([naive_file], host(), tmp_path / "out")
    assert out.manifest.atlas["rules"]["learned"] == sorted([rule["name"], *d.generalised])
    assert "return popcount(x);" in ir.pretty_function(fn(out.module, "pop"))
    from atlas.machine import runtime

    lib = runtime.load(out.out)
    for x in (0, 1, 0xFFFFFFFF, 0x80000000, 12345):
        assert lib.pop(x) == bin(x).count("1")


def test_without_learned_rules_the_loop_stays(naive_file, learned_file, tmp_path):
    from atlas.pipeline import compile_files

    out = compile_files([naive_file], host(), tmp_path / "out", learned=[])
    assert "popcount" not in ir.pretty_module(out.module)


def test_an_unsound_learned_rule_is_refused_and_the_file_kept(learned_file):
    learned_file.write_text("ruleset: learned\nrules: []\n")
    before = learned_file.read_text()
    x = var("x", ir.U32)
    bad = learned.entry("f", "here", Term("add", ir.U32, (x, const(1, ir.U32))), x, ir.U32, {})
    with pytest.raises(rulebook.UnsoundRule):
        learned.add(learned_file, [bad])
    assert learned_file.read_text() == before


def test_explain_shows_the_classes_a_learned_rule_merged(tmp_path, learned_file):
    from atlas.tools import explain as X

    x = var("x", ir.U8)
    text = NAIVE.split("// x with its lowest")[0].replace("u32", "u8").replace("0..32", "0..8")
    source = flatten.flatten(fn(module_of(text), "pop"))  # a byte: a small atlas, a quick explain
    learned.add(
        learned_file,
        [learned.entry("pop", "naive.ax", source, Term("popcount", ir.U8, (x,)), ir.U8, {})],
        expect={"learned-pop-u8": source},
    )
    only_pop = tmp_path / "pop.ax"
    only_pop.write_text(text)
    doc = X.explain([only_pop], host(), "this machine")
    text = X.render_text(doc)
    # the member the rule brought (the idiom stage finds it by its values too)
    assert re.search(r"popcount\(x\)   \[chosen; by [^\]]*\blearned-pop-u8\b", text)
    assert doc["rules"]["rulesets"]["learned"]["matches"] >= 1


def test_superopt_command(naive_file, learned_file, monkeypatch):
    from atlas.superopt import costmodel

    monkeypatch.setattr(costmodel, "for_probe", lambda probe, **k: FlatCosts())
    r = CliRunner().invoke(main, ["superopt", str(naive_file), "--function", "pop", "--budget", "30"])
    assert r.exit_code == 0, r.output
    assert "pop" in r.output and "learned rule learned-pop-u32" in r.output
    bad = naive_file.with_name("bad.ax")
    bad.write_text("fn f(x: u32) -> u32 { return x +; }\n")
    r = CliRunner().invoke(main, ["superopt", str(bad)])
    assert r.exit_code != 0 and "bad.ax:1:" in r.output and "Traceback" not in r.output


# ---------------------------------------------------------------- rules that generalise


def test_a_learned_rule_is_narrowed_to_the_part_the_program_replaces():
    x, y = var("x", ir.U32), var("y", ir.U32)
    one = const(1, ir.U32)
    source = Term("xor", ir.U32, (Term("and", ir.U32, (x, Term("sub", ir.U32, (x, one)))), y))
    found = Term("xor", ir.U32, (Term("and", ir.U32, (x, Term("add", ir.U32, (x, const(-1, ir.U32))))), y))
    lhs, rhs = learned.narrowest(source, found)
    assert (lhs.op, rhs.op) == ("sub", "add")  # x - 1 -> x + 0xffffffff, wherever it stands
    # where the differing parts are not equal on their own, the whole pair stays
    either = Term("and", ir.U32, (Term("or", ir.U32, (x, y)), x))
    same = Term("and", ir.U32, (x, x))
    assert learned.narrowest(either, same) == (either, same)


def test_a_learned_rule_is_proven_again_at_every_width_it_holds_for():
    x = var("x", ir.I32)
    shifted = Term("shr", ir.I32, (x, const(31, ir.I32)))  # all ones where x is negative
    masked = Term("select", ir.I32, (Term("lt", ir.BOOL, (x, const(0, ir.I32))), const(-1, ir.I32), const(0, ir.I32)))
    widths = {lhs.ty.bits: lhs for lhs, _, _ in learned.other_widths(shifted, masked)}
    assert sorted(widths) == [8, 16, 64]
    assert widths[16].args[1] == const(15, ir.I16)  # the top bit's index, said of 16 bits
    # the all-ones mask is said of each width; a claim about 32 bits alone is carried nowhere
    u = var("x", ir.U32)
    low = Term("and", ir.U32, (u, const(0xFFFFFFFF, ir.U32)))
    assert [lhs.ty.bits for lhs, _, _ in learned.other_widths(low, u)] == [8, 16, 64]
    high = Term("and", ir.U32, (u, const(0xFFFF0000, ir.U32)))
    rest = Term("sub", ir.U32, (u, Term("and", ir.U32, (u, const(0xFFFF, ir.U32)))))
    assert learned.other_widths(high, rest) == []


def test_a_rule_learned_at_32_bits_rewrites_a_16_bit_function(tmp_path, learned_file, monkeypatch):
    import json

    from atlas.logic import costs
    from atlas.pipeline import compile_files

    # a machine where compares and selects are dear (the learned program is
    # no cheaper on the static hints), its table in the cache the compile reads
    dear = {"lt": (3.0, 1.0), "eq": (3.0, 1.0), "select": (3.0, 1.0)}
    table = costs.CostTable(
        {f"{op}@{t.name}": costs.OpCost(*dear.get(op, (1.0, 0.25))) for op in costs.OPS for t in costs.TYPES},
        "made up for a test",
        1.0,
    )
    cached = tmp_path / "costs.json"
    cached.write_text(json.dumps({**costs.stamp(), "table": table.as_dict()}))
    monkeypatch.setattr(costs, "cache_path", lambda probe: cached)
    monkeypatch.delenv("ATLAS_COSTS", raising=False)

    x = var("x", ir.I32)
    source = flatten.flatten(fn(module_of(NAIVE), "sign"))
    program = Term(
        "sub",
        ir.I32,
        (
            Term("or", ir.I32, (const(1, ir.I32), Term("shr", ir.I32, (x, x)))),
            Term("shr", ir.I32, (const(1, ir.I32), x)),
        ),
    )
    made = learned.entries("sign", "naive.ax", source, program, ir.I32, {})
    assert [e["name"] for e in made] == [
        "learned-sign-i32",
        "learned-sign-i32-as-8-bit",
        "learned-sign-i32-as-16-bit",
        "learned-sign-i32-as-64-bit",
    ]
    learned.add(learned_file, made, expect={"learned-sign-i32": source})
    small = tmp_path / "small.ax"
    small.write_text(
        "fn sign16(v: i16) -> i16 {\n    if v > 0 { return 1; } else if v < 0 { return -1; }\n    return 0;\n}\n"
    )
    without = compile_files([small], host(), tmp_path / "without", learned=[])
    assert ">> v" not in ir.pretty_module(without.module)
    out = compile_files([small], host(), tmp_path / "out", learned=[learned_file])
    assert "learned-sign-i32-as-16-bit" in out.manifest.atlas["rules"]["learned"]
    assert "return (((v >> v) | 1i16) - (1i16 >> v));" in ir.pretty_module(out.module)
    from atlas.machine import runtime

    lib = runtime.load(out.out)
    for v in (-32768, -5, -1, 0, 1, 7, 32767):
        assert lib.sign16(v) == (v > 0) - (v < 0)
