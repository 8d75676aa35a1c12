"""The bit-manipulation benchmark (intents/bits, atlas/tools/bitbench.py): every
naive specification means what its literature program and its C version
compute, keeps to what the superoptimiser's front end accepts, and the
harness checks and times the three builds."""

import ctypes
import functools
import random
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from atlas.tools import bitbench as bb
from atlas.logic import bodies, flatten, requires, rules
from atlas.meaning import interp, ir
from atlas.machine import probe
from atlas.logic import stochastic as so
from atlas.front.check import check
from atlas.meaning.semantics import PyDomain
from atlas.front.syntax import parse
from atlas.meaning.terms import Term, evaluate, subterms

CLASSIC = bb.load_problems()
# every suite's problems: the classic ones and those in other words (intents/bits/unseen)
SUITE_OF = {p.name: s for s in bb.SUITES.values() for p in bb.load_problems(s.problems)}
PROBLEMS = [p for s in bb.SUITES.values() for p in bb.load_problems(s.problems)]
IDS = [p.name for p in PROBLEMS]
WITH_PRE = [p for p in CLASSIC if p.pre is not None]

# A naive specification unrolled into one term may have at most this many
# nodes, shared subterms counted each time they occur (a flag guarding
# updates doubles it at every iteration: 2^32; a carry rippled through 32
# bits, each sum bit reading it, about 13,000).
MAX_TREE = 16000


def _parse(path):
    return parse(Path(path).read_text(), str(path))


@functools.cache
def suite_module(name: str) -> ir.Module:
    """The naive and literature intents of one suite, checked together."""
    s = bb.SUITES[name]
    return check(_parse(s.naive_ax), _parse(s.literature_ax))


def module_of(p: bb.Problem) -> ir.Module:
    return suite_module(SUITE_OF[p.name].name)


@pytest.fixture(scope="module")
def module():
    return suite_module("classic")


# ---------------------------------------------------------------- inputs


def _range(ty: str):
    bits = int(ty[1:])
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if ty[0] == "i" else (0, (1 << bits) - 1)


def edge_values(ty: str) -> list[int]:
    """0, 1, -1/all ones, MIN, MAX, every power of two and its neighbours, runs of ones."""
    lo, hi = _range(ty)
    bits = int(ty[1:])
    wrap = lambda v: ((v - lo) & ((1 << bits) - 1)) + lo  # noqa: E731  the bit pattern v, as ty
    vals = {0, 1, 2, 3, lo, hi, wrap(-1), wrap(lo + 1), wrap(hi - 1)}
    for k in range(bits):
        for v in (1 << k, (1 << k) - 1, (1 << k) + 1, ((1 << bits) - 1) << k, 0b1011 << k, 0b0110 << k):
            vals.add(wrap(v))
    return sorted(vals)


def inputs(p: bb.Problem, count: int = 300, seed: int = 1) -> list[tuple]:
    """Argument tuples: edge values, uniform random ones, for two parameters
    also pairs that share their leading bits or are equal, for three or four
    tuples of edge and random values; all meeting p's precondition (`meeting`)."""
    rnd = random.Random(f"{p.name}:{seed}")
    lo, hi = _range(p.ty)
    edges = edge_values(p.ty)
    rand = [rnd.randint(lo, hi) for _ in range(count)]
    if p.arity == 1:
        out = [(v,) for v in edges + rand]
    elif p.arity == 2:
        bits = int(p.ty[1:])
        out = [(a, b) for a in edges[::3] for b in edges[::5]]
        out += [(rnd.choice(rand), rnd.choice(rand)) for _ in range(count)]
        for v in rand[: count // 2]:
            k = rnd.randrange(bits)  # y: x's top bits, its low k bits random
            u = (v - lo) ^ rnd.getrandbits(k) if k else v - lo
            out += [(v, u + lo), (v, v)]
    else:
        out = [tuple(rnd.choice(edges) for _ in p.params) for _ in range(count)]
        out += [tuple(rnd.choice(edges + rand) for _ in p.params) for _ in range(count)]
    return meeting(p, out, seed)


def holds(p: bb.Problem, args: tuple) -> bool:
    """Whether natural values meet p's precondition, by the interpreter's
    reading of the naive function's (not the harness's vectorised one)."""
    return requires.meets(module_of(p).function(p.function), dict(zip(p.params, args)))


def meeting(p: bb.Problem, args: list[tuple], seed: int = 1) -> list[tuple]:
    """args with each that misses p's precondition repaired by Z3 (the
    parameters it does not mention kept as drawn)."""
    if p.pre is None:
        return args
    ty = ir.SCALARS[p.ty]
    named = {u.value for u in subterms(p.pre) if u.op == "var"}
    free = tuple(q for q in p.params if q not in named)
    rng = np.random.default_rng(seed)
    out = []
    for a in args:
        if not holds(p, a):
            met = requires.repaired(p.pre, dict.fromkeys(p.params, ty), dict(zip(p.params, a)), rng, keep_first=free)
            assert met is not None, f"{p.name}: no input meets {p.requires}"
            a = tuple(met[q] for q in p.params)
        out.append(a)
    return out


def naive_results(module, p, args):
    return [interp.run(module, p.function, *a) for a in args]


# ---------------------------------------------------------------- meaning


@pytest.mark.parametrize("p", PROBLEMS, ids=IDS)
def test_naive_equals_literature(p):
    module = module_of(p)
    args = inputs(p)
    for a, want in zip(args, naive_results(module, p, args)):
        got = interp.run(module, p.literature, *a)
        assert got == want, f"{p.literature}{a} = {got}, but {p.function}{a} = {want}"


def _wrap_expression(p: bb.Problem, expr: str) -> str:
    ps = ", ".join(f"{a}: {p.ty}" for a in p.params)
    return f"fn alt({ps}) -> {p.ret} {{ return {expr}; }}"


@pytest.mark.parametrize("p", [p for p in PROBLEMS if p.primitive], ids=lambda p: p.name)
def test_primitive_program_equals_naive(p):
    module = module_of(p)
    alt = check(parse(_wrap_expression(p, p.primitive), "alt.ax"))
    args = inputs(p, count=100)
    for a, want in zip(args, naive_results(module, p, args)):
        assert interp.run(alt, "alt", *a) == want, f"{p.primitive} at {a}"


@pytest.fixture(scope="module")
def c_libs(tmp_path_factory):
    return {
        name: ctypes.CDLL(str(bb.build_c(tmp_path_factory.mktemp(f"bits-c-{name}"), s.naive_c)))
        for name, s in bb.SUITES.items()
    }


def _array(ty: str, values) -> np.ndarray:
    return np.ascontiguousarray(np.array(values, dtype=np.dtype(bb._NP[ty])))


@pytest.mark.cc
@pytest.mark.parametrize("p", PROBLEMS, ids=IDS)
def test_naive_c_equals_naive_intent(c_libs, p):
    module, c_lib = module_of(p), c_libs[SUITE_OF[p.name].name]
    args = inputs(p)  # where the precondition holds: C need agree only there
    cols = [_array(p.ty, [a[j] for a in args]) for j in range(p.arity)]
    out = np.zeros(len(args), bb._NP[p.ret])
    f = getattr(c_lib, f"map_{p.function}")
    f.argtypes = [ctypes.c_uint64] + [ctypes.c_void_p] * (p.arity + 1)
    f.restype = None
    f(len(args), *(c.ctypes.data for c in cols), out.ctypes.data)
    want = naive_results(module, p, args)
    for a, got, w in zip(args, out.tolist(), want):
        assert got == int(w), f"C {p.function}{a} = {got}, the intent says {w}"


# ---------------------------------------------------------------- what the front end accepts


def unroll(fn: ir.Function) -> Term:
    """fn as one term over its parameters (atlas.logic.flatten, straight-line
    functions too: the literature's programs)."""
    return flatten.flatten(fn, straight_too=True)


def constraint_faults(fn: ir.Function) -> list[str]:
    """Why fn does not fit the superoptimiser's front end (empty: it fits)."""
    why = flatten.why_not(fn)
    if why:
        return [why]
    try:
        term = flatten.flatten(fn)
    except flatten.Refused as e:
        return [str(e)]
    spec, why = so.spec_of(fn.name, term)
    return [] if spec is not None else [why]


@pytest.mark.parametrize("suite", bb.SUITES.values(), ids=bb.SUITES)
def test_naive_ax_holds_exactly_the_problems(suite):
    naive = check(_parse(suite.naive_ax))
    assert sorted(f.name for f in naive.functions) == sorted(p.function for p in bb.load_problems(suite.problems))


@pytest.mark.parametrize("p", PROBLEMS, ids=IDS)
def test_naive_fits_the_front_end(p):
    module = module_of(p)
    fn = module.function(p.function)
    assert constraint_faults(fn) == []
    term = unroll(fn)
    size = flatten.tree_size(term)
    assert size <= MAX_TREE, f"{p.function} unrolls into a term of {size} nodes"
    # The unrolled term means what the function does.
    rnd = random.Random(p.name)
    edges = meeting(p, [tuple(rnd.choice(edge_values(p.ty)) for _ in p.params)])
    for a in inputs(p, count=20)[::7][:40] + edges:
        env = {q.name: interp.to_value(q.ty, v) for q, v in zip(fn.params, a)}
        got = interp.from_value(fn.ret, evaluate(term, PyDomain(), env))
        assert got == interp.run(module, p.function, *a), f"the unrolled {p.function} at {a}"


def test_the_constraint_checks_can_fail():
    bad = check(
        parse(
            """
        fn loop_on_data(x: u32) -> u32 { let v = x; let c: u32 = 0; while v != 0 { v &= v - 1; c += 1; } return c; }
        fn mixed(x: u32, y: i32) -> u32 { if x == 0 { return 0; } return x + y as u32; }
        fn bounded(x: u32) -> u32 { let c: u32 = 0; for i in 0u32..x { c += 1; } return c; }
        fn calls(x: u32) -> u32 { if x == 0 { return 1; } return bounded(x); }
        fn straight(x: u32) -> u32 { return x & (x - 1); }
        fn wide(x: u32, y: u32) -> u32 { if x == y { return x; } return ((x as u64 + y as u64) / 2) as u32; }
        fn flagged(x: u32) -> u32 {
            let found = false; let low: u32 = 0;
            for i in 0u32..32 { if !found && (x >> i) & 1 == 1 { low = 1u32 << i; found = true; } }
            return low;
        }""",
            "bad.ax",
        )
    )
    why = {
        "loop_on_data": "while loop",
        "mixed": "one integer type",
        "bounded": "not constants",
        "calls": "calls bounded",
        "straight": "no branch or loop",
        "flagged": "nodes",
    }  # the flag doubles the term
    for name, reason in why.items():
        assert any(reason in f for f in constraint_faults(bad.function(name))), name
    # computing in a wider type inside is no fault: only the inputs and the
    # result need one type (P25's high half of a product)
    assert constraint_faults(bad.function("wide")) == []


# ---------------------------------------------------------------- proofs


@pytest.mark.parametrize("p", PROBLEMS, ids=IDS)
def test_naive_is_proven_equal_to_literature(p):
    """For every input that meets the precondition, not only those tried:
    Z3 on the unrolled terms (where problems.yaml says Z3 does not decide
    it, that it indeed does not: test_naive_equals_literature then compares
    them on inputs only)."""
    module = module_of(p)
    fn = module.function(p.function)
    naive, lit, pre = unroll(fn), unroll(module.function(p.literature)), bodies.precondition(fn)
    if p.undecided:
        with pytest.raises(rules.Undecided):
            rules.prove(naive, lit, timeout_ms=60000, when=pre)
        return
    cex = rules.prove(naive, lit, timeout_ms=60000, when=pre)
    assert cex is None, f"{p.function} and {p.literature} differ at {cex}"
    if pre is not None:  # the precondition is needed: without it they differ
        assert rules.prove(naive, lit, timeout_ms=60000) is not None


# ---------------------------------------------------------------- problems.yaml


def operation_count(fn: ir.Function) -> int:
    """problems.yaml's measure of a program: atlas.logic.stochastic.term_length."""
    return so.term_length(unroll(fn))


@pytest.mark.parametrize("suite", bb.SUITES.values(), ids=bb.SUITES)
def test_problems_match_the_intents_and_the_c(suite):
    lit = check(_parse(suite.literature_ax))
    naive = check(_parse(suite.naive_ax))
    c_text = suite.naive_c.read_text()
    problems = bb.load_problems(suite.problems)
    assert len(problems) >= 12
    assert len({p.name for p in PROBLEMS}) == len(PROBLEMS)  # one name in one suite only
    for p in problems:
        fn, lf = naive.function(p.function), lit.function(p.literature)
        assert p.name == p.function and p.literature == "lit_" + p.function
        assert [q.ty.name for q in fn.params] == [p.ty] * p.arity == [q.ty.name for q in lf.params]
        assert tuple(q.name for q in fn.params) == p.params == tuple(q.name for q in lf.params)
        assert fn.ret.name == lf.ret.name == p.ret
        assert (fn.requires is None) == (lf.requires is None) == (p.pre is None) == (p.requires == "")
        if fn.requires is not None:
            assert ir.pretty_expr(fn.requires) == ir.pretty_expr(lf.requires) == p.requires
        assert re.search(rf"^MAP{p.arity}\({p.function}, ", c_text, re.M), f"naive.c has no map of {p.function}"
        assert re.search(rf"^static inline \w+ {p.function}\(", c_text, re.M), p.function
        assert operation_count(lf) == p.known_length, f"{p.literature}: known_length {p.known_length}"
        if p.primitive:
            alt = check(parse(_wrap_expression(p, p.primitive), "alt.ax")).function("alt")
            assert operation_count(alt) == p.primitive_length, p.primitive
            assert p.primitive_length < p.known_length


def test_types_mix():
    assert {p.ret for p in CLASSIC} >= {"u32", "i32", "bool"}
    assert {p.arity for p in CLASSIC} == {1, 2, 3, 4}
    assert {p.name for p in WITH_PRE} == {"p19_exchange_fields", "p20_next_same_count", "p21_cycle"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("- name: a\n", "missing field 'function'"),
        ("{}", "non-empty list"),
        ("- [1]\n", "expected a mapping"),
        (
            "- {name: p, function: p01_clear_lowest_one, literature: lit_p01_clear_lowest_one, known_length: two,"
            " source: s, doc: d}\n",
            "'known_length' must be an integer",
        ),
        (
            "- {name: p, function: p01_clear_lowest_one, literature: lit_p01_clear_lowest_one, known_length: 2,"
            " source: s, doc: d, colour: red}\n",
            "unknown field(s) colour",
        ),
        (
            "- {name: p, function: nothing_here, literature: lit_p01_clear_lowest_one, known_length: 2,"
            " source: s, doc: d}\n",
            "no function nothing_here",
        ),
        (
            "- {name: p, function: p01_clear_lowest_one, literature: lit_p09_abs, known_length: 2,"
            " source: s, doc: d}\n",
            "does not have the signature",
        ),
        (
            "- {name: p, function: p01_clear_lowest_one, literature: lit_p01_clear_lowest_one, known_length: 2,"
            " source: s, doc: d}\n- {name: p, function: p03_isolate_lowest_one, literature: lit_p03_isolate_lowest_one,"
            " known_length: 2, source: s, doc: d}\n",
            "used twice",
        ),
        ("- : [\n", "not valid YAML"),
    ],
)
def test_bad_problem_files_are_refused(tmp_path, text, message):
    path = tmp_path / "problems.yaml"
    path.write_text(text)
    with pytest.raises(bb.ProblemsError, match=re.escape(message)):
        bb.load_problems(path, naive=bb.NAIVE_AX, literature=bb.LITERATURE_AX)


def _one_problem(tmp_path, naive: str, literature: str) -> list[bb.Problem]:
    """load_problems on one entry `f` / `lit_f` of the given intents."""
    (tmp_path / "naive.ax").write_text(naive)
    (tmp_path / "literature.ax").write_text(literature)
    path = tmp_path / "problems.yaml"
    path.write_text("- {name: f, function: f, literature: lit_f, known_length: 1, source: s, doc: d}\n")
    return bb.load_problems(path)


_PAIR = "(x: u32, y: u32) -> u32 requires x != y { if x < y { return y; } return x; }"


@pytest.mark.parametrize(
    "naive, literature, message",
    [
        ("fn f" + _PAIR, "fn lit_f(x: u32, y: u32) -> u32 { return x; }", "lit_f requires `nothing`, but f requires"),
        (
            "fn f" + _PAIR,
            "fn lit_f(x: u32, y: u32) -> u32 requires x < y { return y; }",
            "lit_f requires `(x < y)`, but f requires `(x != y)`",
        ),
        (
            "fn f" + _PAIR,
            "fn lit_f(y: u32, x: u32) -> u32 requires x != y { return x; }",
            "does not have the signature",
        ),
        (
            "fn f(x: u32, y: u32, z: u32, w: u32, v: u32) -> u32 { if x == 0 { return y; } return z ^ w ^ v; }",
            "fn lit_f(x: u32, y: u32, z: u32, w: u32, v: u32) -> u32 { return x; }",
            "a problem takes one to 4 scalars",
        ),
        (
            "fn f(x: u32, n: u32) -> u32 { if x == 0 { return n; } return x; }",
            "fn lit_f(x: u32, n: u32) -> u32 { return x; }",
            "parameter n takes a name of the element-wise loop",
        ),
    ],
)
def test_signatures_and_preconditions_must_agree(tmp_path, naive, literature, message):
    with pytest.raises(bb.ProblemsError, match=re.escape(message)):
        _one_problem(tmp_path, naive, literature)


def test_four_parameters_and_a_precondition_are_taken(tmp_path):
    (p,) = _one_problem(tmp_path, "fn f" + _PAIR, "fn lit_f" + _PAIR)
    assert (p.params, p.arity, p.ty, p.ret, p.requires) == (("x", "y"), 2, "u32", "u32", "(x != y)")
    assert p.pre is not None


# ---------------------------------------------------------------- the timed inputs


@pytest.mark.parametrize("p", WITH_PRE, ids=lambda p: p.name)
def test_make_inputs_meet_the_precondition(p):
    n = 3000
    cols = bb.make_inputs(p, n, seed=3)
    assert len(cols) == p.arity
    for c in cols:
        assert c.dtype == np.dtype(bb._NP[p.ty]) and c.shape == (n,) and c.ctypes.data % 64 == 0
    rows = list(zip(*(c.tolist() for c in cols)))
    missed = [r for r in rows if not holds(p, r)]
    assert not missed, f"{len(missed)} of {n} inputs miss {p.requires}, e.g. {missed[0]}"
    # the same for the seed, whatever Z3 did in between, and not one row over and over
    inputs(p, count=30)
    assert all((a == b).all() for a, b in zip(cols, bb.make_inputs(p, n, seed=3)))
    assert len(set(rows)) > 50
    if p.name == "p21_cycle":  # every branch of the naive form is taken
        x, a, b, c = (np.asarray(v) for v in cols)
        assert (x == a).any() and (x == b).any() and (x == c).any()
    if p.name == "p19_exchange_fields":  # x, which the precondition leaves free, stays as drawn
        assert len(set(cols[0].tolist())) > 200


def test_make_inputs_without_a_precondition_are_unchanged():
    """The draws of the problems before preconditions came (recorded then)."""
    by = {p.name: p for p in PROBLEMS}
    x, y = bb.make_inputs(by["p10_nlz_equal"], 6, seed=0)
    assert x.tolist() == [131232456, 1968900002, 2871260942, 3546352723, 3420304383, 3522434710]
    assert y.tolist() == [4272817661, 4279520241, 1062945965, 211933353, 2558438760, 1686417593]
    (x,) = bb.make_inputs(by["p13_sign"], 6, seed=0)
    assert x.tolist() == [-135258466, -129128041, -1049507152, 690228445, -358647579, -1840401503]


def test_make_inputs_refuse_an_unmeetable_precondition(tmp_path):
    never = "(x: u32, y: u32) -> u32 requires x < y && y < x { if x < y { return y; } return x; }"
    (p,) = _one_problem(tmp_path, "fn f" + never, "fn lit_f" + never)
    with pytest.raises(bb.ProblemsError, match="no input that meets its precondition"):
        bb.make_inputs(p, 16)


def test_driver_source_checks_and_maps(module):
    chosen = [p for p in PROBLEMS if p.name in ("p10_nlz_equal", "p13_sign", "p21_cycle")]
    text = bb.driver_source(chosen)
    m = check(_parse(bb.NAIVE_AX), _parse(bb.LITERATURE_AX), parse(text, "driver.ax"))
    names = {f.name for f in m.functions}
    assert {"map_p10_nlz_equal", "map_lit_p10_nlz_equal", "map_p13_sign", "map_lit_p13_sign"} <= names
    # one array per parameter, named as it
    assert [q.name for q in m.function("map_p21_cycle").params] == ["n", "x", "a", "b", "c", "out"]
    assert [q.name for q in m.function("map_p13_sign").params] == ["n", "x", "out"]
    x = np.array([5, -7, 0, -(1 << 31)], np.int32)
    out = np.zeros(4, np.int32)
    interp.run(m, "map_lit_p13_sign", 4, x, out)
    assert out.tolist() == [1, -1, 0, -1]
    a, b, c = (np.array(v, np.uint32) for v in ([1, 1, 1], [2, 2, 2], [7, 7, 7]))
    out = np.zeros(3, np.uint32)
    interp.run(m, "map_lit_p21_cycle", 3, np.array([1, 2, 7], np.uint32), a, b, c, out)
    assert out.tolist() == [2, 7, 1]
    out = np.zeros(2, np.bool_)
    interp.run(m, "map_p10_nlz_equal", 2, np.array([4, 4], np.uint32), np.array([7, 8], np.uint32), out)
    assert out.tolist() == [True, False]


# ---------------------------------------------------------------- the harness

# one problem of each arity; p19 and p21 with preconditions
SMOKE = [p for p in PROBLEMS if p.name in ("p01_clear_lowest_one", "p10_nlz_equal", "p19_exchange_fields", "p21_cycle")]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    work = tmp_path_factory.mktemp("bits-smoke")
    # For this machine (the loops run here).  Without the logic atlas: this
    # checks the harness, and saturating all of naive.ax takes a while.
    bb.compile_atlas(SMOKE, probe.probe(), work / "art", workdir=work, use_atlas=False)
    return work, bb.build_c(work)


@pytest.mark.cc
def test_measure_checks_and_times(smoke):
    work, c_so = smoke
    rows = bb.measure(SMOKE, c_so, work / "art", n=1000, samples=3, target_s=0.0005, workdir=work)
    assert [r.problem for r in rows] == [p.name for p in SMOKE]
    for r in rows:
        assert r.ok, r.detail
        assert r.n == 1000 and r.reps >= 1 and all(len(s) == 3 for s in r.samples.values())
        for v in (r.gcc_ns, r.atlas_ns, r.literature_ns, r.gcc_over_atlas, r.literature_over_atlas):
            assert v is not None and v > 0
        assert r.found_program is None and r.search_s is None
    rows[0] = replace(rows[0], found_program="x & (x - 1)", found_length=2, search_s=1.5, proven=True, shortest=True)
    table = bb.render(rows)
    assert table.count("\n") == 1 + len(rows)
    assert "| p01_clear_lowest_one | `x & (x - 1)` | 2 | proven | 2 |  | Hacker's Delight 2-1; PLDI'11 P1 |" in table
    assert table.splitlines()[2].endswith("| 1.5 |")


@pytest.mark.cc
def test_measure_reports_a_wrong_answer(smoke, tmp_path):
    work, _ = smoke
    wrong = tmp_path / "wrong.c"
    text = bb.NAIVE_C.read_text()
    cycle = "        return c;\n    }\n    return a;"  # p21: b goes to c
    assert text.count(cycle) == 1
    text = text.replace("return x & ~(1u << i);", "return x;").replace(cycle, cycle.replace("c;", "a;"))
    wrong.write_text(text)
    rows = bb.measure(
        SMOKE, bb.build_c(tmp_path, source=wrong), work / "art", n=256, samples=3, target_s=0.0005, workdir=tmp_path
    )
    by = {r.problem: r for r in rows}
    for name in ("p01_clear_lowest_one", "p21_cycle"):
        bad = by.pop(name)
        assert not bad.ok and "differs from gcc" in bad.detail and bad.gcc_ns is None
    assert all(r.ok for r in by.values())
    # the mismatch names every parameter, at an input that meets the precondition (x is b)
    detail = next(r.detail for r in rows if r.problem == "p21_cycle")
    assert re.match(r"atlas differs from gcc at x = (\d+), a = \d+, b = \1, c = \d+: ", detail), detail
    assert "**MISMATCH**" in bb.render(rows)


def test_the_rates_are_each_searchs_own():
    rows = [
        bb.Row("a", 2, "", enumerated=(1000, 0.5), proposed=None),
        bb.Row("b", 3, "", enumerated=(3000, 1.5), proposed=(40_000, 2.0)),
        bb.Row("c", 3, ""),
    ]
    text = bb.rates(rows)
    assert "enumeration: 4,000 programs run on every test vector in 2.0 s over 2 problems: 2,000 per second" in text
    assert "stochastic chain: 40,000 proposals in 2.0 s over 1 problems: 20,000 per second" in text
    assert bb.rates([bb.Row("c", 3, "")]) == ""


def test_a_shorter_program_dearer_here_is_shown_beside_what_came_out():
    rows = [
        bb.Row("learned", 7, "", ok=True, found_program="a", found_length=8, status="learned"),
        bb.Row("no_gain", 3, "", ok=True, status="no gain"),
    ]
    rows[0] = replace(rows[0], shorter_program="b / c", shorter_length=7)
    rows[1] = replace(rows[1], shorter_program="max(x, y) - min(x, y)", shorter_length=3)
    lines = bb.render(rows).splitlines()
    assert "| learned | `a`; shorter, dearer here: `b / c` | 8; 7 |" in lines[2]
    assert "| no_gain | (no gain); shorter, dearer here: `max(x, y) - min(x, y)` | -; 3 |" in lines[3]
