"""One cost model (atlas/logic/costs.py): extraction, the search's forms and
the superoptimiser's learning weigh a term by the same estimate on the same
table, static or measured."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from atlas.logic import costs, egraph, lower
from atlas.logic import rules as rulebook
from atlas.machine.probe import load_probe
from atlas.meaning import ir
from atlas.meaning.terms import Term, const, subterms, var
from atlas.pipeline import front

PROBE = "tests/fixtures/probe-popcnt.json"


def made_up(figures: dict[str, tuple[float, float]], default=(1.0, 0.25)) -> costs.CostTable:
    """A measured-kind table: every operation and type the cache asks for."""
    table = {f"{op}@{t.name}": costs.OpCost(*figures.get(op, default)) for op in costs.OPS for t in costs.TYPES}
    return costs.CostTable(table, "made up for a test", 1.0)


def random_term(rng: random.Random, depth: int) -> Term:
    x, y = var("x", ir.U32), var("y", ir.U32)
    if depth == 0 or rng.random() < 0.2:
        return rng.choice([x, y, const(rng.choice([1, 3, 255]), ir.U32)])
    op = rng.choice(["add", "sub", "mul", "and", "or", "xor", "shl", "shr", "popcount", "min", "select", "cast"])
    if op == "popcount":
        return Term(op, ir.U32, (random_term(rng, depth - 1),))
    if op == "cast":
        return Term("cast", ir.U32, (Term("cast", ir.I32, (random_term(rng, depth - 1),)),))
    if op == "select":
        cond = Term("lt", ir.BOOL, (random_term(rng, depth - 1), random_term(rng, depth - 1)))
        return Term(op, ir.U32, (cond, random_term(rng, depth - 1), random_term(rng, depth - 1)))
    return Term(op, ir.U32, (random_term(rng, depth - 1), random_term(rng, depth - 1)))


def test_the_estimate_on_static_hints_is_their_sum():
    probe = load_probe(PROBE)
    table, hints = costs.static_table(probe, "a test"), costs.costs(probe)
    rng = random.Random(3)
    for _ in range(200):
        t = random_term(rng, 4)
        assert costs.estimate(t, table) == costs.term_cost(t, hints)


def test_the_estimate_weighs_a_chain_by_latency_and_a_fan_by_throughput():
    table = made_up({"add": (1.0, 0.25), "mul": (3.0, 1.0)})
    x = var("x", ir.U32)
    chain = x
    for _ in range(4):  # each add waits for the one before
        chain = Term("add", ir.U32, (chain, x))
    assert costs.estimate(chain, table) == 4.0  # the path, not the 1.0 of throughput
    fan = Term("mul", ir.U32, (Term("mul", ir.U32, (x, x)), Term("mul", ir.U32, (x, x))))
    assert costs.estimate(fan, table) == 6.0  # two multiplies deep
    # free: a cast within one width; a shift by a constant is an `and`
    same = Term("cast", ir.I32, (x,))
    assert costs.estimate(same, table) == 0.0
    by3 = Term("shl", ir.U32, (x, const(3, ir.U8)))
    assert costs.estimate(by3, made_up({"and": (1.0, 0.2), "shl": (2.0, 0.5)})) == 1.0


def roots_of(text: str, tmp_path):
    p = tmp_path / "k.ax"
    p.write_text(text)
    _, module, _ = front([p], load_probe(PROBE))
    _, roots = lower.transform(module)
    return {r.name: (r.function, r.term) for r in roots}


KERNELS = """\
fn scale(x: u32) -> u32 { return x * 8; }
fn mix(x: u32, y: u32) -> u32 { return ((x + y) * 2 + (x - y) * 2) ^ (y << 1); }
fn sign(x: i32) -> i32 { if x > 0 { return 1; } else if x < 0 { return -1; } return 0; }
fn avg(x: u32, y: u32) -> u32 { return (x & y) + ((x ^ y) >> 1); }
"""


def rules_for(roots: dict):
    """The shipped rules as the compile gives them to the e-graph: conditioned
    ones instantiated for the constants the roots hold."""
    return rulebook.for_terms(rulebook.load_rules(), [t for _, t in roots.values()])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_measured_extraction_takes_the_member_the_estimate_ranks_first(tmp_path, seed):
    # Random figures, so latency and throughput disagree on the order of forms.
    rng = random.Random(seed)
    figures = {op: (rng.choice([1.0, 2.0, 3.0, 5.0]), rng.choice([0.2, 0.5, 1.0, 2.0])) for op in costs.OPS}
    table = made_up(figures)
    roots = roots_of(KERNELS, tmp_path)
    atlas = egraph.saturate(roots, rules_for(roots), table=table)
    assert atlas.report()["cost_model"] == "made up for a test"
    for name in roots:
        best = atlas.extract(name)
        assert atlas.cost(best) == round(costs.estimate(best, table), 2)
        for other in atlas.extract_k(name, 8):
            assert costs.estimate(best, table) <= costs.estimate(other, table) + 1e-9, (name, other)


def test_a_measured_table_changes_what_is_extracted(tmp_path):
    roots = roots_of(KERNELS, tmp_path)
    [scale] = [n for n in roots if n.startswith("scale")]
    static = egraph.saturate(roots, rules_for(roots))
    assert static.extract(scale).op == "shl"  # the hints: a shift is cheaper than a multiply
    dear_shifts = made_up({"and": (4.0, 2.0), "mul": (1.0, 0.25)})  # a shift by 3 is priced as an `and`
    measured = egraph.saturate(roots, rules_for(roots), table=dear_shifts)
    assert measured.extract(scale).op == "mul"


SIGN = "fn sign(x: i32) -> i32 { if x > 0 { return 1; } else if x < 0 { return -1; } return 0; }\n"


def test_what_is_learned_as_cheaper_here_is_what_the_compile_extracts(tmp_path, monkeypatch):
    """The superoptimiser learns by the table the compile then extracts by
    (read from the cache), so the two cannot disagree."""
    from atlas.machine import probe as hwprobe
    from atlas.pipeline import compile_files
    from atlas.superopt import discover

    # compares and selects dear, shifts and bit operations cheap
    table = made_up({"lt": (3.0, 1.0), "eq": (3.0, 1.0), "select": (3.0, 1.0)})
    cached = tmp_path / "costs.json"
    cached.write_text(json.dumps({**costs.stamp(), "table": table.as_dict()}))
    monkeypatch.setattr(costs, "cache_path", lambda probe: cached)
    monkeypatch.delenv("ATLAS_COSTS", raising=False)
    host = hwprobe.probe()
    assert costs.model_for(host) == table
    src = tmp_path / "sign.ax"
    src.write_text(SIGN)
    learned_file = tmp_path / "learned.yaml"
    [d] = discover.run([src], host, budget_s=30, seed=0, learned_path=learned_file, costs=table)
    assert d.status is discover.Found.LEARNED, d.why
    assert d.cost_after < d.cost_before
    out = compile_files([src], host, tmp_path / "out", learned=[learned_file])
    assert out.manifest.atlas["cost_model"] == "made up for a test"
    emitted = ir.pretty_function(next(f for f in out.module.functions if f.name == "sign"))
    assert "select" not in emitted and "if" not in emitted, emitted


def test_no_form_of_a_root_names_another_functions_variable(tmp_path):
    """The e-graph holds every function's terms: `m - m` (g's m) is in the
    class of 0u64, so `x[m - m]` is a member of f's `x[0u64]`, equal in
    value but naming a variable f does not have (campaign seed 80001).  No
    such form is chosen or offered to the search."""
    from atlas.logic import stages

    p = tmp_path / "two.ax"
    p.write_text(
        "fn g(n: u64, m: u64, a: mut [u64; n]) { for i in 0..n { a[i] = m - m; } }\n"
        "fn f(n: u32, x: [u32; n], b: mut [u32; n]) { for i in 0..n { b[i] = x[0u64] * 3; } }\n"
    )
    _, module, _ = front([p], load_probe(PROBE))
    sat = stages.saturate(module, load_probe(PROBE))
    verified = stages.verify(module, sat)
    for r in sat.roots:
        if r.function != "f":
            continue
        for t in (verified.outcomes[r.name].term, *verified.alternatives.get(r.name, ())):
            names = {(u.value, u.ty) for u in subterms(t) if u.op == "var"}
            assert ("m", ir.U64) not in names and ("n", ir.U64) not in names, t


def _dag_estimate(t: Term, table) -> float:
    """The estimate by its definition: the path walked as a tree, each
    distinct subterm's throughput paid once."""

    def path(u: Term) -> float:
        return costs.figures(table, u)[0] + max((path(a) for a in u.args), default=0.0)

    return max(path(t), sum(costs.figures(table, u)[1] for u in set(subterms(t))))


def test_the_estimate_remembers_subterms_and_gives_the_dags_figure():
    """estimate keeps each subterm's figures for later calls under the same
    table (extraction weighs members sharing most of their terms); the
    figure stays the definition's, for terms met in any order."""
    rng = random.Random(3)
    table = made_up({"add": (1.0, 0.5), "mul": (3.0, 1.0), "xor": (1.0, 0.25)})
    terms = [random_term(rng, 4) for _ in range(40)]
    for t in terms + list(reversed(terms)):
        assert costs.estimate(t, table) == pytest.approx(_dag_estimate(t, table))


def test_a_shared_part_is_paid_once_on_a_measured_table():
    """The emitted code computes a repeated subterm once: (x * y) + (x * y)
    costs one multiply's throughput, not two (its path is the same either way)."""
    table = made_up({"mul": (3.0, 1.0), "add": (1.0, 0.25)})
    x, y = var("x", ir.U32), var("y", ir.U32)
    m = Term("mul", ir.U32, (x, y))
    twice = Term("add", ir.U32, (m, m))
    assert costs.estimate(twice, table, loop=frozenset()) == 1.25
    assert costs.estimate(twice, table) == 4.0  # the path: multiply, then add


def test_past_its_bound_the_measured_extraction_falls_back_to_the_static_sums(monkeypatch):
    """s = s * s + s, 20 times: the Pareto points are combined again level
    after level; with the bound made small the extraction weighs by the
    static sums instead, says so, and still gives an equal member."""
    s = var("s", ir.U64)
    for _ in range(20):
        s = Term("add", ir.U64, (Term("mul", ir.U64, (s, s)), s))
    roots = {"f@f.ax:1:1 return": ("f", s)}
    monkeypatch.setattr(egraph, "PARETO_WORK", 0)
    monkeypatch.setattr(egraph, "PARETO_FLOOR", 10)
    small = egraph.saturate(roots, rules_for(roots), table=made_up({}), limits=egraph.Limits(iterations=2))
    best = small.extract("f@f.ax:1:1 return")
    assert "passed its bound" in small.report()["cost_model"]
    monkeypatch.setattr(egraph, "PARETO_WORK", 64)
    monkeypatch.setattr(egraph, "PARETO_FLOOR", 10_000)
    again = egraph.saturate(roots, rules_for(roots), table=made_up({}), limits=egraph.Limits(iterations=2))
    assert again.report()["cost_model"] == "made up for a test"
    assert best in small.class_of("f@f.ax:1:1 return").members()


# ---------------------------------------------------------------- priced where it runs


def test_a_term_whose_iterations_overlap_is_priced_by_its_throughput_alone():
    table = made_up({"add": (1.0, 0.25)})
    x = var("x", ir.U32)
    chain = x
    for _ in range(4):
        chain = Term("add", ir.U32, (chain, x))
    assert costs.estimate(chain, table) == 4.0  # once: the path
    assert costs.estimate(chain, table, loop=frozenset()) == 1.0  # iterations side by side: 4 x 0.25
    # on the static hints the two agree: one figure per operation, summed
    static = costs.static_table(load_probe(PROBE), "a test")
    assert costs.estimate(chain, static, loop=frozenset()) == costs.estimate(chain, static)


CONTEXTS = """\
fn times8(x: u32) -> u32 { return x * 8; }
fn mapped(n: u64, x: [u32; n], out: mut [u32; n]) {
    for i in 0..n { let t: u32 = times8(x[i]); out[i] = x[i] * 8 + t; }
}
fn hashed(n: u64, x: [u32; n]) -> u32 {
    let h: u32 = 0;
    for i in 0..n { h = mix(h, x[i]); }
    return h;
}
fn mix(h: u32, v: u32) -> u32 { return (h ^ v) * 16777619; }
fn outer(v: u32) -> u32 { return inner(v) + 1; }
fn inner(v: u32) -> u32 { return v * 5; }
fn lone(v: u32) -> u32 { return v * 8; }
fn twice(n: u64, x: [u32; n], out: mut [u32; n]) {
    for i in 0..n { out[i] = outer(x[i]) + lone(x[i]); }
    out[0] = lone(7);
}
fn running(n: u64, x: [u32; n], out: mut [u32; n]) {
    let s: u32 = 0;
    for i in 1..n { s = s + x[i] * 3; out[i] = out[i - 1] + x[i]; }
    out[0] = s;
}
"""


def lowered(text: str, tmp_path):
    p = tmp_path / "k.ax"
    p.write_text(text)
    _, module, _ = front([p], load_probe(PROBE))
    return module, lower.transform(module)[1]


def test_a_root_in_a_loop_knows_what_the_loop_carries_into_it(tmp_path):
    module, roots = lowered(CONTEXTS, tmp_path)
    # every call of times8 is in a loop, from nothing the loop carries; mix gets
    # the hash the loop carries; outer is called only so, and inner only from
    # outer's top level; lone once outside any loop too
    none = frozenset()
    assert lower.called_in_loops(module) == {"times8": none, "outer": none, "inner": none, "mix": {"h"}}
    by = {(r.function, r.role): r.loop for r in roots}
    assert by["times8", "return"] == by["inner", "return"] == none
    assert by["mix", "return"] == {"h"} and by["lone", "return"] is None
    assert by["mapped", "value of out[]"] == none  # a map's element
    assert by["hashed", "return"] is None  # outside the loop, in a function nobody calls
    running = {r.role: r.loop for r in roots if r.function == "running" and r.where.line == 20}
    assert running.pop("lower bound") is running.pop("upper bound") is None  # outside the loop
    # s + x[i] * 3 reads the carried s; out[i - 1] + x[i] reads the array the loop stores
    assert running == {"s": {"s"}, "index of out[]": none, "value of out[]": {"out"}}, running


def test_a_root_whose_iterations_overlap_takes_its_class_point_of_least_throughput(tmp_path):
    # a multiply of short latency and poor throughput, a shift by a constant
    # (priced as an `and`) the other way round: once, x * 8 stays a multiply;
    # in a map, it becomes the shift
    table = made_up({"mul": (1.0, 2.0), "and": (2.5, 0.4), "add": (1.0, 0.25)})
    module, roots = lowered(CONTEXTS, tmp_path)
    atlas = egraph.saturate(
        {r.name: (r.function, r.term) for r in roots},
        rules_for({r.name: (r.function, r.term) for r in roots}),
        table=table,
    )
    [once] = [r for r in roots if r.function == "lone" and r.role == "return"]
    [mapped] = [r for r in roots if r.function == "times8" and r.role == "return"]
    assert atlas.extract(once.name, once.loop).op == "mul"
    assert atlas.extract(mapped.name, mapped.loop).op == "shl"
    assert atlas.cost(atlas.extract(mapped.name, mapped.loop), mapped.loop) < atlas.cost(mapped.term, mapped.loop)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_extraction_where_iterations_overlap_is_the_least_throughput_of_the_members(tmp_path, seed):
    rng = random.Random(seed)
    table = made_up({op: (rng.choice([1.0, 2.0, 3.0, 5.0]), rng.choice([0.2, 0.5, 1.0, 2.0])) for op in costs.OPS})
    roots = roots_of(KERNELS, tmp_path)
    atlas = egraph.saturate(roots, rules_for(roots), table=table)
    for name in roots:
        best = atlas.extract(name, loop=frozenset())
        offered = atlas.extract_k(name, 8, loop=frozenset())  # what the search chooses among, priced alike
        assert offered[0] == best
        for other in atlas.extract_k(name, 8) + offered:
            assert costs.estimate(best, table, frozenset()) <= costs.estimate(other, table, frozenset()) + 1e-9


NONZERO = """\
fn nonzero_bytes(x: u32) -> u32 {
    let m: u32 = 0;
    for k in 0u32..4 {
        if (x >> (8 * k)) & 0xff != 0 {
            m = m | (0xffu32 << (8 * k));
        }
    }
    return m;
}
fn each(n: u64, x: [u32; n], out: mut [u32; n]) {
    for i in 0..n { out[i] = nonzero_bytes(x[i]); }
}
"""


def test_a_function_called_in_a_map_is_searched_and_extracted_by_throughput(tmp_path, monkeypatch):
    """Hacker's Delight's six dependent operations for the zero-byte test
    cost more once than the source's short parallel selects, and less where
    iterations overlap: called in a map, the six are learned and emitted."""
    from atlas.machine import probe as hwprobe
    from atlas.pipeline import compile_files
    from atlas.superopt import discover

    table = made_up({"mul": (3.0, 0.25)})  # the rest latency 1.0, throughput 0.25
    cached = tmp_path / "costs.json"
    cached.write_text(json.dumps({**costs.stamp(), "table": table.as_dict()}))
    monkeypatch.setattr(costs, "cache_path", lambda probe: cached)
    monkeypatch.delenv("ATLAS_COSTS", raising=False)
    host = hwprobe.probe()
    src = tmp_path / "nz.ax"
    src.write_text(NONZERO)
    learned_file = tmp_path / "learned.yaml"
    [d] = discover.run([src], host, budget_s=30, seed=0, learned_path=learned_file, costs=table, only=["nonzero_bytes"])
    assert d.loop == frozenset() and d.status is discover.Found.LEARNED, d.why
    assert d.found_length == 6, d.found
    out = compile_files([src], host, tmp_path / "out", learned=[learned_file])
    emitted = ir.pretty_function(next(f for f in out.module.functions if f.name == "nonzero_bytes"))
    assert "select" not in emitted and "0x80808080" in emitted, emitted
    # once, the same six are the dearer: the context decided
    module, roots = lowered(NONZERO, tmp_path)
    [whole] = [r for r in roots if r.role == lower.FUNCTION]
    chosen = next(f for f in out.module.functions if f.name == "nonzero_bytes").body[-1].value
    from atlas.meaning.terms import from_expr

    six = from_expr(chosen, {})
    assert costs.estimate(six, table) > costs.estimate(whole.term, table)
    assert costs.estimate(six, table, frozenset()) < costs.estimate(whole.term, table, frozenset())


def test_in_a_loop_the_recurrence_through_what_it_carries_bounds_it():
    """s + (x[i] - b) waits one add for the s before it; x[i] + (-b + s),
    as many operations, waits two: in a loop carrying s the first is the
    cheaper, though run once both take a path of the same length."""
    table = made_up({"add": (1.0, 0.25), "sub": (1.0, 0.25), "neg": (1.0, 0.25)})  # a load: its static hint, 4
    s, b, i = var("s", ir.U32), var("b", ir.U32), var("i", ir.U64)
    x = Term("load", ir.U32, (i,), "x")
    short = Term("add", ir.U32, (s, Term("sub", ir.U32, (x, b))))
    long = Term("add", ir.U32, (x, Term("add", ir.U32, (Term("neg", ir.U32, (b,)), s))))
    carried = frozenset({"s"})
    assert costs.recurrence(short, table, carried) == 1.0 and costs.recurrence(long, table, carried) == 2.0
    assert costs.estimate(short, table, carried) < costs.estimate(long, table, carried)
    # an element stored by an earlier iteration is carried too: its load is on the recurrence
    prev = Term("add", ir.U32, (Term("load", ir.U32, (i,), "out"), x))
    assert costs.recurrence(prev, table, frozenset({"out"})) == 5.0
    assert costs.where_priced(carried).startswith("in a loop carrying s")


def with_vectors(table: costs.CostTable, figures: dict[str, float], default: float = 0.05) -> costs.CostTable:
    """`table` with a made-up time per element in vectors for every op and width."""
    vector = {
        f"{op}@{t.name}": figures.get(op, default)
        for op in costs.OPS
        for t in costs.VECTOR_TYPES
        if costs.has_vector(op, t)
    }
    return dataclasses.replace(table, vector=vector)


def test_where_iterations_overlap_a_term_costs_the_lesser_of_its_throughputs_and_its_time_in_vectors():
    table = with_vectors(made_up({"mul": (3.0, 1.0), "shr": (1.0, 0.25)}), {"mul": 0.5, "shr": 4.0})
    x, y = var("x", ir.U32), var("y", ir.U32)
    product = Term("mul", ir.U32, (x, y))
    shifted = Term("shr", ir.U32, (x, y))
    assert costs.estimate(product, table) == 3.0  # once: latency, no vectors
    assert costs.estimate(product, table, frozenset()) == 0.5  # in a map: the vector figure, the lesser
    assert costs.estimate(shifted, table, frozenset()) == 0.25  # ... the scalar throughput, the lesser
    assert costs.estimate(product, table, frozenset({"x"})) == 3.0  # carried: the recurrence
    # the vector figures of the operand's width: a 16-bit multiply is its own
    half = Term("mul", ir.U16, (var("a", ir.U16), var("b", ir.U16)))
    assert costs.vector_total(half, dataclasses.replace(table, vector={**table.vector, "mul@u16": 0.125})) == 0.125
    # a node with no vector figure (a float) leaves the whole term to the scalar figures
    f = Term("add", ir.F32, (var("f", ir.F32), Term("cast", ir.F32, (product,))))
    assert costs.vector_total(f, table) is None
    assert costs.estimate(f, table, frozenset()) == sum(costs.figures(table, u)[1] for u in subterms(f))
    # a static table has none at all
    static = costs.static_table(load_probe(PROBE), "a test")
    assert costs.vector_total(product, static) is None
    assert costs.where_priced(frozenset()).endswith("or time per element in vectors where less")


def test_a_root_in_a_map_takes_its_class_point_of_least_time_in_vectors(tmp_path):
    # the shift by a constant (an `and`) beats the multiply by throughput,
    # and loses to it in vectors: in a map, x * 8 stays a multiply
    scalar = made_up({"mul": (1.0, 2.0), "and": (2.5, 0.4), "add": (1.0, 0.25)})
    module, roots = lowered(CONTEXTS, tmp_path)
    named = {r.name: (r.function, r.term) for r in roots}
    [mapped] = [r for r in roots if r.function == "times8" and r.role == "return"]
    for table, op in ((scalar, "shl"), (with_vectors(scalar, {"mul": 0.1, "and": 2.0}), "mul")):
        atlas = egraph.saturate(named, rules_for(named), table=table)
        best = atlas.extract(mapped.name, mapped.loop)
        assert best.op == op, (op, best)
        for other in atlas.extract_k(mapped.name, 8, loop=mapped.loop):
            assert costs.estimate(best, table, mapped.loop) <= costs.estimate(other, table, mapped.loop) + 1e-9


def test_a_division_by_a_power_of_two_known_by_its_form_is_priced_as_the_shift_it_compiles_to():
    x, y, k = var("x", ir.U16), var("y", ir.U16), var("k", ir.U16)
    zero, one = const(0, ir.U16), const(1, ir.U16)
    lowest = Term("and", ir.U16, (y, Term("sub", ir.U16, (zero, y))))
    for divisor in (
        lowest,
        Term("and", ir.U16, (Term("neg", ir.U16, (y,)), y)),
        Term("shl", ir.U16, (one, k)),
    ):
        assert costs.power_of_two(divisor), divisor
    for divisor in (Term("and", ir.U16, (y, x)), Term("shl", ir.U16, (const(2, ir.U16), k)), y):
        assert not costs.power_of_two(divisor), divisor
    table = with_vectors(
        made_up(
            {
                "div": (13.0, 6.0),
                "ctz": (3.0, 1.0),
                "shr": (1.0, 0.5),
                "eq": (1.0, 0.25),
                "select": (1.0, 0.5),
            }
        ),
        {"div": 7.0, "ctz": 0.1, "shr": 0.05, "eq": 0.02, "select": 0.03},
    )
    # a shift by the trailing zeros, with the zero test and its select beside it
    assert costs.figures(table, Term("div", ir.U16, (x, lowest))) == (3.0 + 1.0 + 1.0, 1.0 + 0.5 + 0.25 + 0.5)
    assert costs.vector_figure(table, Term("div", ir.U16, (x, lowest))) == pytest.approx(0.2)
    assert costs.figures(table, Term("div", ir.U16, (x, y))) == (13.0, 6.0)
    assert costs.vector_figure(table, Term("div", ir.U16, (x, y))) == 7.0


def test_the_e_graph_knows_a_power_of_two_by_its_form_in_any_member_of_its_class(tmp_path):
    """A class holding y & -y divides as a shift, whichever member extraction
    then picks: the estimate of the extracted term agrees with the figures
    the class was weighed by."""
    text = "fn f(x: u32, y: u32) -> u32 { return x / (y & (0u32 - y)); }\n"
    roots = roots_of(text, tmp_path)
    table = made_up({"div": (13.0, 6.0)})
    atlas = egraph.saturate(roots, rules_for(roots), table=table)
    [name] = roots
    best = atlas.extract(name)
    assert best.op == "div" and costs.power_of_two(best.args[1])
    assert atlas.cost(best) < 13.0
    g = atlas._load()  # the class's own figure, as `atlas explain` shows it
    assert g["best"][atlas._class_id(roots[name][1], {})][0] == atlas.cost(best)


def test_the_chains_score_in_a_map_takes_each_operations_lesser_figure():
    from atlas.logic import stochastic as so

    table = with_vectors(made_up({"mul": (3.0, 1.0), "shr": (1.0, 0.25)}), {"mul": 0.5, "shr": 4.0})
    once = so.cost_pairs(table, ir.U32)
    assert once["mul"] == (3.0, 1.0) and once["shr"] == (1.0, 0.25)
    mapped = so.cost_pairs(table, ir.U32, overlapped=True)
    assert mapped["mul"] == (0.0, 0.5) and mapped["shr"] == (0.0, 0.25)
    assert so.cost_pairs(made_up({"mul": (3.0, 1.0)}), ir.U32, overlapped=True)["mul"] == (0.0, 1.0)
