"""The logic atlas (atlas/logic/egraph.py): the egglog encoding round-trips exactly,
rules saturate under limits, extraction picks the cheapest member, classes
and cross-intent sharing are reported, and costs follow the probe.

Rules here are small hand-made Rule-like records, so these tests do not
depend on the rule files."""

from __future__ import annotations

import contextlib
import functools
import json
import random
from dataclasses import dataclass
from pathlib import Path

import egglog.bindings as eb
import pytest

from atlas.meaning import ir, semantics as sem
from atlas.machine.probe import load_probe
from atlas.logic.costs import costs, default_costs, term_cost
from atlas.logic.egraph import Limits, decode, encode, parse_sexpr, saturate
from atlas.meaning.terms import Term, const, evaluate, pretty, subterms, var

U8, U32, U64, I32, F32, BOOL = ir.U8, ir.U32, ir.U64, ir.I32, ir.F32, ir.BOOL
INTS = [ir.I8, ir.I16, ir.I32, ir.I64, ir.U8, ir.U16, ir.U32, ir.U64]
FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class R:
    name: str
    ruleset: str
    ty: ir.Scalar
    lhs: Term
    rhs: Term
    reassoc: bool = False
    source: str = "test_egraph.py"
    bidirectional: bool = False


def T(op, ty, *args):
    return Term(op, ty, tuple(args))


def wide(t):
    return ir.Scalar(t.kind, t.bits * 2)


# ---------------------------------------------------------------- encoding


def _zoo() -> list[Term]:
    """Every operator at every type it applies to, and awkward leaves."""
    out = []
    for t in INTS:
        a, b = var("a", t), var("b", t)
        c = var("c", BOOL)
        out += [
            T(op, t, a, b)
            for op in (
                "add",
                "sub",
                "mul",
                "div",
                "rem",
                "and",
                "or",
                "xor",
                "min",
                "max",
                "mulhi",
                "add_sat",
                "sub_sat",
            )
        ]
        out += [T(op, t, a) for op in ("neg", "not", "popcount", "clz", "ctz", "abs")]
        out += [T(op, BOOL, a, b) for op in ("eq", "ne", "lt", "le", "gt", "ge")]
        out += [
            T("shl", t, a, var("s", U8)),
            T("shr", t, a, const(3, U32)),
            T("rotl", t, a, var("k", ir.I64)),
            T("rotr", t, a, const(65, U8)),
            T("select", t, c, a, b),
            T("cast", F32, a),
            T("cast", U64, a),
            Term("load", t, (var("i", ir.I16),), "arr"),
        ]
        if t.bits >= 16:
            out.append(T("bswap", t, a))
        if t.bits <= 32:
            out.append(T("wmul", wide(t), a, b))
        out += [const(v, t) for v in (0, 1, -1, t.mask, 1 << (t.bits - 1), 0x5A)]
    for t in (ir.F32, ir.F64):
        a, b = var("a", t), var("b", t)
        out += [T(op, t, a, b) for op in ("add", "sub", "mul", "div", "rem", "min", "max")]
        out += [T(op, t, a) for op in ("neg", "abs", "sqrt")]
        out += [T("lt", BOOL, a, b), T("cast", I32, a), T("cast", ir.F64, a), T("select", t, var("c", BOOL), a, b)]
        out += [
            const(v, t)
            for v in (
                0.0,
                -0.0,
                1.5,
                -2.25e-300,
                5e-324,
                float("inf"),
                float("-inf"),
                float("nan"),
                3.4028234663852886e38,
            )
        ]
    p, q = var("p", BOOL), var("q", BOOL)
    out += [
        T("land", BOOL, p, q),
        T("lor", BOOL, p, q),
        T("not", BOOL, p),
        T("eq", BOOL, p, q),
        const(True, BOOL),
        const(False, BOOL),
    ]
    # Names egglog cannot hold verbatim, and a deep mixed term.
    out += [
        var('x"q', U32),
        var("a b\\c", U32),
        var("ümlaut%20", U32),
        Term("load", F32, (const(-1, U64),), 'we"ird[name]'),
    ]
    x = var("x", U64)
    out.append(
        T(
            "add",
            U64,
            T("mul", U64, T("cast", U64, Term("load", U32, (x,), "v")), const(2**64 - 1, U64)),
            T("popcount", U64, x),
        )
    )
    return out


def test_encode_decode_round_trip_on_every_operator_and_type():
    terms = _zoo()
    assert len(terms) > 250
    for t in terms:
        text = encode(t)
        assert decode(text) == t, text
        assert parse_sexpr(text)  # one balanced expression


def test_encoding_details():
    # the i64 is the bit pattern read as two's complement
    assert encode(const(2**64 - 1, U64)) == '(Int -1 "u64")'
    assert encode(const(-1, ir.I8)) == '(Int 255 "i8")'
    assert encode(const(-0.0, F32)) == '(Flt "-0x0.0p+0" "f32")'
    assert encode(T("lt", BOOL, var("a", U32), var("b", U32))).startswith('(Lt "u32"')
    assert encode(T("cast", F32, var("a", I32))).startswith('(Cast "f32" "i32"')
    # a quote in a name never reaches egglog
    assert '\\"' not in encode(var('x"q', U32)) and encode(var('x"q', U32)).count('"') == 4
    with pytest.raises(ValueError):
        encode(T("frobnicate", U32, var("a", U32)))
    with pytest.raises(ValueError):
        decode('(Add "u32" (Var "a" "u32"))')


def test_terms_survive_the_egraph_unchanged():
    """With no rules every class has one member, so extraction gives each
    root back exactly, and egglog's own printing decodes too."""
    terms = _zoo()
    roots = {f"r{i}@zoo": t for i, t in enumerate(terms)}
    printed = []

    def extract_first(eg):
        out = eg.run_program(*eg.parse_program("(extract $t0)"))[0]
        printed.append(out.termdag.to_string(out.term))

    with _inside_saturation(extract_first):
        atlas = saturate(roots, [])
    assert atlas.stop_reason == "saturated"
    for name, t in roots.items():
        assert atlas.extract(name) == t
    # egglog's printed extraction of a let-bound root decodes to the same term
    first = next(t for t in terms if t.args)
    assert [decode(p) for p in printed] == [first]


@contextlib.contextmanager
def _inside_saturation(look):
    """Calls look(egglog's EGraph) once saturation ends: the atlas keeps no
    live e-graph (it is freed on the thread that made it)."""
    from atlas.logic import egraph

    real = egraph._run_passes

    def spy(eg, *rest):
        out = real(eg, *rest)
        look(eg)
        return out

    egraph._run_passes = spy
    try:
        yield
    finally:
        egraph._run_passes = real


# ---------------------------------------------------------------- a tiny ruleset

a_, b_, c_ = var("?a", U32), var("?b", U32), var("?c", U32)
MUL2 = R("mul2-shl", "strength", U32, T("mul", U32, a_, const(2, U32)), T("shl", U32, a_, const(1, U32)))
COMM = R("add-comm", "algebra", U32, T("add", U32, a_, b_), T("add", U32, b_, a_))
ASSOC = R(
    "add-assoc", "algebra", U32, T("add", U32, T("add", U32, a_, b_), c_), T("add", U32, a_, T("add", U32, b_, c_))
)
x, y, z = var("x", U32), var("y", U32), var("z", U32)
X2 = T("mul", U32, x, const(2, U32))


def test_tiny_ruleset_saturates_and_extracts_the_shift():
    atlas = saturate({"f@f.ax:1:1 r": T("add", U32, X2, y)}, [MUL2, COMM])
    assert atlas.stop_reason == "saturated"
    best = atlas.extract("f@f.ax:1:1 r")
    assert {t.op for t in subterms(best)} == {"add", "shl", "var", "const"}
    assert atlas.cost(best) == 2 == atlas.class_of("f@f.ax:1:1 r").cost
    assert atlas.cost(T("add", U32, X2, y)) == 4
    # x*2 and x<<1 are one class, and classes() shows both members
    shl = T("shl", U32, x, const(1, U32))
    cls = [c for c in atlas.classes() if shl in c.members()]
    assert len(cls) == 1
    assert set(cls[0].members_pretty()) == {"(x << 1u32)", "(x * 2u32)"}
    assert cls[0].members_pretty()[0] == "(x << 1u32)"  # cheapest first
    assert cls[0].best == shl and cls[0].nodes[0].total == 1
    root = atlas.class_of("f@f.ax:1:1 r")
    assert root.roots == ["f@f.ax:1:1 r"]
    assert set(root.members_pretty()) == {"((x << 1u32) + y)", "(y + (x << 1u32))"}
    assert atlas.rule_matches["mul2-shl"] == 1
    assert "(rewrite (Mul" in atlas.program


def test_the_report_counts_forms_and_programs():
    """x * 2 and x << 1, each sum in two orders: 4 programs for f; a rule
    that puts x * 1 into x's own class (a cycle) adds no program."""
    rep = saturate({"f@f.ax:1:1 r": T("add", U32, X2, y)}, [MUL2, COMM]).report()
    assert rep["programs"] == {"f": 4}
    assert rep["classes_with_alternatives"] == 2 and rep["forms_per_class"] == round(8 / 6, 3)
    one = R("mul-one", "algebra", U32, T("mul", U32, a_, const(1, U32)), a_)
    looped = saturate({"g@g.ax:1:1 r": T("add", U32, T("mul", U32, x, const(1, U32)), y)}, [one, COMM])
    assert looped.class_of("g@g.ax:1:1 r").members_pretty() == ["(x + y)", "(y + x)"]
    assert looped.report()["programs"] == {"g": 2}


def test_an_atlas_is_freed_as_soon_as_it_is_dropped():
    """No reference cycle through its classes: a dropped atlas is freed at once."""
    import gc
    import weakref

    gc.disable()
    try:
        atlas = saturate({"f@f.ax:1:1 r": T("add", U32, X2, y)}, [MUL2, COMM])
        classes = atlas.classes()
        gone = weakref.ref(atlas)
        del atlas
        assert gone() is None
        with pytest.raises(ValueError, match="outside its atlas"):
            classes[0].members()
    finally:
        gc.enable()


def test_an_atlas_collected_on_another_thread_holds_no_egglog_graph():
    """egglog's EGraph may only be freed on the thread that made it; an atlas
    made on one thread and caught in a cycle that the collector frees on
    another (the search's builder thread did) must not print a traceback."""
    import gc
    import sys
    import threading

    made = []
    worker = threading.Thread(target=lambda: made.append(saturate({"f@f.ax:1:1 r": T("add", U32, X2, y)}, [MUL2])))
    worker.start()
    worker.join()
    atlas = made.pop()
    atlas.cycle = atlas  # only the collector can free it now, on this thread
    assert atlas.extract("f@f.ax:1:1 r") == T("add", U32, T("shl", U32, x, const(1, U32)), y)
    raised = []
    old, sys.unraisablehook = sys.unraisablehook, raised.append
    try:
        del atlas
        gc.collect()
    finally:
        sys.unraisablehook = old
    assert [str(r.exc_value) for r in raised] == []


def test_extraction_is_sound_and_agrees_with_egglogs_extractor():
    """The extracted term means what the root means (interpreter on random
    inputs), and egglog's own extractor, given the same node costs, finds
    the same cost."""
    root = functools.reduce(lambda p, q: T("add", U32, p, q), [X2, y, z, X2])
    found = []

    def egglogs_best(eg):
        """egglog's extractor over the same graph, with our static costs."""
        table = default_costs()
        ops = {"Var": "var", "Int": "const", "Add": "add", "Mul": "mul", "Shl": "shl"}
        model = eb.CostModel(
            lambda name, own, kids: own + sum(kids),
            lambda name, args: table[ops[name]],
            lambda sort, value, kids: sum(kids),
            lambda sort, value: 0,
        )
        last = f"$t{len({t for t in subterms(root) if t.args}) - 1}"  # the root's let, the last
        _, value = eg.eval_expr(eg.parse_program(f"(extract {last})")[0].args[0])
        dag = eb.TermDag()
        cost, tid = eb.Extractor(["Term"], eg, model).extract_best(eg, dag, value, "Term")
        found.append((cost, decode(dag.to_string(tid))))

    with _inside_saturation(egglogs_best):
        atlas = saturate({"f@r": root}, [MUL2, COMM, ASSOC], limits=Limits(iterations=4))
    best = atlas.extract("f@r")
    D, rnd = sem.PyDomain(), random.Random(7)
    for _ in range(50):
        env = {n: rnd.getrandbits(32) for n in "xyz"}
        assert evaluate(best, D, env) == evaluate(root, D, env)

    [(cost, theirs)] = found
    assert cost == atlas.cost(best) == atlas.class_of("f@r").cost
    assert atlas.cost(theirs) == cost


# ---------------------------------------------------------------- sharing


def test_two_intents_share_a_class_and_the_numbers_add_up():
    roots = {
        "alpha@a.ax:3:5 value of out[i]": T("add", U32, X2, y),
        # beta writes x << 1 itself: the rule makes it the same class
        "beta@b.ax:7:2 return": T("xor", U32, T("shl", U32, x, const(1, U32)), z),
        "gamma return": ("gamma", T("sub", U32, z, y)),
    }
    atlas = saturate(roots, [MUL2, COMM])
    rep = atlas.report()
    assert rep["intents"] == ["alpha", "beta", "gamma"]
    shared = {s["best"]: s for s in rep["shared_classes"]}
    assert shared["(x << 1u32)"]["intents"] == ["alpha", "beta"]
    assert shared["(x << 1u32)"]["leaf"] is False
    assert shared["y"]["intents"] == ["alpha", "gamma"]
    assert shared["z"]["intents"] == ["beta", "gamma"]
    assert atlas.class_of("alpha@a.ax:3:5 value of out[i]").roots == ["alpha@a.ax:3:5 value of out[i]"]

    assert rep["source_nodes"] == sum(len(subterms(t if isinstance(t, Term) else t[1])) for t in roots.values()) == 13
    assert rep["source_distinct_nodes"] == rep["iterations"][0]["nodes"] == 10
    classes = atlas.classes()
    assert rep["eclasses"] == len(classes) == rep["iterations"][-1]["classes"]
    assert rep["enodes"] == sum(len(c.nodes) for c in classes)
    assert rep["compression"] == round(rep["source_nodes"] / rep["eclasses"], 3)
    assert rep["rules_per_ruleset"] == {"strength": 1, "algebra": 1}
    assert rep["stop_reason"] == "saturated"
    json.dumps(rep)  # plain data


# ---------------------------------------------------------------- limits

BIG_SUM = functools.reduce(lambda p, q: T("add", U32, p, q), [var(f"v{i}", U32) for i in range(8)])


def test_node_limit_stops_cleanly():
    atlas = saturate({"s@big": BIG_SUM}, [COMM, ASSOC], limits=Limits(nodes=50))
    assert atlas.stop_reason == "node limit"
    assert atlas.stats[-1].nodes > 50 >= atlas.stats[-2].nodes
    # still a usable atlas: extraction is an equal term
    best = atlas.extract("s@big")
    env = {f"v{i}": random.Random(i).getrandbits(32) for i in range(8)}
    assert evaluate(best, sem.PyDomain(), env) == evaluate(BIG_SUM, sem.PyDomain(), env)


def test_iteration_limit_and_per_iteration_sizes():
    one = saturate({"s@big": BIG_SUM}, [COMM, ASSOC], limits=Limits(iterations=1))
    assert one.stop_reason == "iteration limit"
    assert [s.iteration for s in one.stats] == [0, 1]
    four = saturate({"s@big": BIG_SUM}, [COMM, ASSOC], limits=Limits(iterations=4))
    assert four.stop_reason == "iteration limit"
    nodes = [s.nodes for s in four.stats]
    assert nodes[0] == len(subterms(BIG_SUM)) == 15
    assert nodes == sorted(nodes) and nodes[-1] > nodes[0]
    assert all(s.matches > 0 and s.seconds >= 0 and s.classes <= s.nodes for s in four.stats[1:])
    assert four.report()["iterations"][1] == vars(four.stats[1])


def test_time_limit():
    atlas = saturate({"s@big": BIG_SUM}, [COMM, ASSOC], limits=Limits(seconds=0.0))
    assert atlas.stop_reason == "time limit" and len(atlas.stats) == 1


def test_reassoc_rules_only_when_allowed():
    fa, fb = var("?a", F32), var("?b", F32)
    fcomm = R("fadd-comm", "algebra", F32, T("add", F32, fa, fb), T("add", F32, fb, fa))
    fassoc = R(
        "fadd-assoc",
        "float-reassoc",
        F32,
        T("add", F32, T("add", F32, fa, fb), var("?c", F32)),
        T("add", F32, fa, T("add", F32, fb, var("?c", F32))),
        reassoc=True,
    )
    s = T("add", F32, T("add", F32, var("p", F32), var("q", F32)), var("r", F32))
    strict = saturate({"f@x": s}, [fcomm, fassoc])
    assert strict.report()["reassoc_rules_skipped"] == 1
    assert strict.report()["rules_per_ruleset"] == {"algebra": 1}
    loose = saturate({"f@x": s}, [fcomm, fassoc], allow_reassoc=True)
    assert loose.report()["rules_per_ruleset"] == {"algebra": 1, "float-reassoc": 1}
    assert len(loose.class_of("f@x").nodes) > len(strict.class_of("f@x").nodes)


def test_type_tags_keep_patterns_to_their_types():
    """A rule about a u16 -> u32 -> u16 round trip must not fire on an i16
    source: the cast's source-type tag is part of the pattern."""
    u16, i16 = ir.U16, ir.I16
    rule = R("cast-round-trip", "algebra", u16, T("cast", u16, T("cast", U32, var("?a", u16))), var("?a", u16))
    good = T("cast", u16, T("cast", U32, var("h", u16)))
    bad = T("cast", u16, T("cast", U32, var("h", i16)))
    atlas = saturate({"g@x": good, "b@x": bad}, [rule])
    assert atlas.extract("g@x") == var("h", u16)
    assert atlas.extract("b@x") == bad


def test_bad_rules_are_refused_with_their_name():
    with pytest.raises(ValueError, match="bare-lhs"):
        saturate({"f@x": x}, [R("bare-lhs", "algebra", U32, a_, T("add", U32, a_, const(0, U32)))])
    with pytest.raises(ValueError, match="unbound-rhs"):
        saturate({"f@x": x}, [R("unbound-rhs", "algebra", U32, T("neg", U32, a_), b_)])


# ---------------------------------------------------------------- costs


def _probe(name):
    return load_probe(FIXTURES / name)


def _swar32(v):
    c = lambda k: const(k, U32)
    x1 = T("sub", U32, v, T("and", U32, T("shr", U32, v, c(1)), c(0x55555555)))
    x2 = T("add", U32, T("and", U32, x1, c(0x33333333)), T("and", U32, T("shr", U32, x1, c(2)), c(0x33333333)))
    x3 = T("and", U32, T("add", U32, x2, T("shr", U32, x2, c(4))), c(0x0F0F0F0F))
    return T("shr", U32, T("mul", U32, x3, c(0x01010101)), c(24))


def test_probe_aware_costs():
    have, lack = costs(_probe("probe-popcnt.json")), costs(_probe("probe-nopopcnt.json"))
    assert have["popcount"] == 1 and lack["popcount"] >= 10
    assert lack["clz"] > costs(None)["clz"] and lack["ctz"] > costs(None)["ctz"]
    assert have["sqrt"] == 15 and have["div"] >= 20 and have["mul"] == 3
    assert term_cost(T("add", F32, var("a", F32), var("b", F32)), have) == 4
    assert term_cost(T("add", U32, x, y), have) == 1


def test_popcount_is_extracted_when_popcnt_is_present():
    p = var("?p", U32)
    swar_rule = R("popcount-swar", "bits", U32, T("popcount", U32, p), _swar32(p), bidirectional=True)
    table = costs(_probe("probe-popcnt.json"))
    atlas = saturate({"pc@popcount_total.ax:3:1": _swar32(x)}, [swar_rule], costs=table)
    assert atlas.extract("pc@popcount_total.ax:3:1") == T("popcount", U32, x)
    assert atlas.cost(T("popcount", U32, x)) == 1 < atlas.cost(_swar32(x))
    assert atlas.rule_matches == {"popcount-swar": 2}  # both directions fired
    assert {"popcount(x)", pretty(_swar32(x))} <= set(atlas.class_of("pc@popcount_total.ax:3:1").members_pretty())


def test_sharing_by_structure_sets_names_aside_but_not_shape():
    """`x[i] * y[i]` in f and `a[k] * b[k]` in g are one pattern; `a[k] * a[k]`
    in h is not (one array read twice is another computation), nor is a
    pattern held by one function only; and no class is merged for it."""

    def product(p, q, i):
        idx = var(i, U64)
        return T("mul", U32, Term("load", U32, (idx,), p), Term("load", U32, (idx,), q))

    roots = {
        "f@f.ax:1:1 r": product("x", "y", "i"),
        "g@g.ax:1:1 r": product("a", "b", "k"),
        "h@h.ax:1:1 r": product("a", "a", "k"),
    }
    atlas = saturate(roots, [])
    rep = atlas.report()
    patterns = {p["pattern"]: p["intents"] for p in rep["shared_by_structure"]}
    assert patterns["(a0[v0] * a1[v0]): u32"] == ["f", "g"]
    assert "(a0[v0] * a0[v0]): u32" not in patterns
    assert all("*" not in s["best"] for s in rep["shared_classes"])  # no product class is merged


def test_counting_programs_walks_each_class_once():
    """A class shared along many paths (`s = s * s + s`, chained forty times:
    3^40 paths to the bottom) is counted from its children once, not once
    per path (the mutated-intent campaign found a compile that never ended)."""
    from types import SimpleNamespace as NS

    from atlas.logic import egraph

    classes = [NS(id="c0", nodes=[NS(kids=())])]
    for k in range(1, 41):
        prev = f"c{k - 1}"
        classes.append(NS(id=f"c{k}", nodes=[NS(kids=(prev, prev)), NS(kids=(f"m{k}", prev))]))
        classes.append(NS(id=f"m{k}", nodes=[NS(kids=(prev, prev))]))
    counts = egraph._programs(classes)
    assert counts["c0"] == 1 and counts["c1"] == 2 and counts["c40"] == egraph.PROGRAMS_CAP
