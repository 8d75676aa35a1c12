"""While loops as terms (atlas/logic/whiles.py): loops that run while a value
lasts, recognised by what they compute in whatever spelling, proven in
closed form by induction, emitted as straight code, and left alone where
no closed form exists or the loop may not stop."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from atlas import load
from atlas.front.check import check
from atlas.front.specialise import specialise
from atlas.front.syntax import parse
from atlas.logic import lower, stages, whiles
from atlas.machine.probe import load_probe
from atlas.meaning import interp, ir
from atlas.meaning.terms import Term, const, var
from atlas.pipeline import compile_files

PROBE = load_probe(Path(__file__).parent / "fixtures" / "probe-popcnt.json")

# Bit loops written as a user might, none of them a shipped kernel.
SOURCE = """
fn ones_by_clearing(x: u64) -> u64 {
    let v = x;
    let c: u64 = 0;
    while v != 0 {
        v &= v - 1;
        c += 1;
    }
    return c;
}
fn ones_by_shifting(x: u32) -> u32 {
    let c: u32 = 0;
    let v = x;
    while v != 0 {
        c += v & 1;
        v >>= 1;
    }
    return c;
}
fn ones_by_lowest(x: u16) -> u16 {
    let v = x;
    let k: u16 = 3;
    while 0 != v {
        v = v ^ (v & (0 - v));
        k = k + 1;
    }
    return k;
}
fn bit_length(y: u64) -> u64 {
    let x = y;
    let n: u64 = 0;
    while x > 0 {
        x = x >> 1;
        n = n + 1;
    }
    return n;
}
fn odd(y: u32) -> u32 {
    let x = y;
    let p: u32 = 0;
    while x != 0 {
        x = x & (x - 1);
        p ^= 1;
    }
    return p;
}
fn decimal_digits(y: u32) -> u32 {
    let x = y;
    let d: u32 = 0;
    while x != 0 {
        x = x / 10;
        d += 1;
    }
    return d;
}
fn halvings(y: i32) -> i32 {
    let x = y;
    let c: i32 = 0;
    while x != 0 {
        x = x >> 1;
        c += 1;
    }
    return c;
}
fn ones_wide(x: u32) -> u64 {
    let v = x;
    let c: u64 = 0;
    while v != 0 {
        c += (v & 1) as u64;
        v >>= 1;
    }
    return c;
}
fn ones_narrow(x: u32) -> u8 {
    let v = x;
    let c: u8 = 250;
    while v != 0 {
        v &= v - 1;
        c += 1;
    }
    return c;
}
fn low_zeros(x: u32) -> u32 {
    let v = x;
    let n: u32 = 0;
    while v != 0 && (v & 1) == 0 {
        v >>= 1;
        n += 1;
    }
    return v + n;
}
fn total_ones(n: u64, w: [u64; n]) -> u64 {
    let c: u64 = 0;
    for i in 0..n {
        let v = w[i];
        while v != 0 {
            v &= v - 1;
            c += 1;
        }
    }
    return c;
}
"""

CLOSED = [
    "ones_by_clearing",
    "ones_by_shifting",
    "ones_by_lowest",
    "bit_length",
    "odd",
    "ones_wide",  # a count wider than the word: `c + (popcount(v) as u64)`
    "ones_narrow",  # narrower, wrapping: `c + (popcount(v) as u8)`
    "low_zeros",  # a condition of two parts; the driver's own value is `v >> ctz(v)`
    "total_ones",
]
KEPT = ["decimal_digits", "halvings"]


def module_of(text: str) -> ir.Module:
    return specialise(check(parse(textwrap.dedent(text), "whiles.ax")), PROBE)[0]


@pytest.fixture(scope="module")
def done():
    m = module_of(SOURCE)
    return stages.verify(m, stages.saturate(m, PROBE))


def whiles_in(stmts) -> int:
    n = 0
    for s in stmts:
        if isinstance(s, ir.While):
            n += 1 + whiles_in(s.body)
        elif isinstance(s, ir.For):
            n += whiles_in(s.body)
        elif isinstance(s, ir.If):
            n += whiles_in(s.then) + whiles_in(s.else_)
    return n


def test_a_while_loop_becomes_until_terms_over_placeholders():
    m = module_of(SOURCE)
    _, roots = lower.transform(m)
    until = [r.term for r in roots if r.function == "ones_by_clearing" and r.term.op == "until"]
    assert len(until) == 2  # the driver v and the count c
    count = next(t for t in until if t.args[1] != t.args[0])
    v0, a0, cond, step, update = count.args
    assert (v0, a0) == (var("v", ir.U64), var("c", ir.U64))
    assert {u.value for u in _vars(step)} == {whiles.V} and {u.value for u in _vars(update)} == {"$acc"}


def _vars(t: Term):
    out, todo = set(), [t]
    while todo:
        u = todo.pop()
        if u.op == "var":
            out.add(u)
        todo.extend(u.args)
    return out


@pytest.mark.parametrize("name", CLOSED)
def test_a_loop_with_a_closed_form_becomes_straight_code(done, name):
    fn = done.module.function(name)
    assert whiles_in(fn.body) == 0, name
    proven = [o for k, o in done.outcomes.items() if k.startswith(name + "@") and "while loop" in k]
    assert proven and all(o.status is stages.RootStatus.PROVEN for o in proven)
    assert all("by induction over its iterations" in o.why for o in proven)


@pytest.mark.parametrize("name", CLOSED)
def test_a_function_whose_loop_became_straight_code_is_proven_for_every_input(done, name):
    """The loops' closed forms are proven by induction and the rest of the
    function in lock-step with its run form: no bound on any trip count."""
    ev = done.evidence[name]
    assert ev.check is not None and ev.check.validated
    assert "for every input, with no bound on any loop" in ev.proof, ev.proof
    assert ev.check.neither == "none"


def test_the_closed_forms_are_the_primitives(done):
    forms = {k.split("@")[0]: str(o.term) for k, o in done.outcomes.items() if k.endswith("while loop, c")}
    assert "popcount" in forms["ones_by_clearing"] and "popcount" in forms["ones_by_shifting"]


@pytest.mark.parametrize("name", KEPT)
def test_a_loop_without_a_closed_form_or_an_end_stays(done, name):
    """Digits have no short closed form; a signed shift never reaches 0
    from a negative value (the loop does not stop), so nothing is proven of
    it and the driver's own form (0) is not used alone either."""
    assert whiles_in(done.module.function(name).body) == 1
    assert not [
        o for k, o in done.outcomes.items() if k.startswith(name + "@") and o.status is stages.RootStatus.PROVEN
    ]


def test_a_signed_halving_is_refused_because_it_may_not_stop():
    x = var("x", ir.I32)
    t = whiles.until_term(
        x,
        x,
        Term("ne", ir.BOOL, (var(whiles.V, ir.I32), const(0, ir.I32))),
        Term("shr", ir.I32, (var(whiles.V, ir.I32), const(1, ir.I32))),
        Term("shr", ir.I32, (var(whiles.V, ir.I32), const(1, ir.I32))),
    )
    why = whiles.stops(t)
    assert why is not None and "past 32 iterations" in why


def test_a_wrong_closed_form_is_refuted_by_the_induction():
    m = module_of(SOURCE)
    _, roots = lower.transform(m)
    count = next(
        r.term
        for r in roots
        if r.function == "ones_by_shifting" and r.term.op == "until" and r.term.args[0] != r.term.args[1]
    )
    v, c = count.args[:2]
    right = Term("add", ir.U32, (c, Term("popcount", ir.U32, (v,))))
    wrong = Term("add", ir.U32, (c, Term("clz", ir.U32, (v,))))
    off_by_one = Term("add", ir.U32, (right, const(1, ir.U32)))
    assert whiles.unproven_because(count, right) is None
    assert "refuted" in whiles.unproven_because(count, wrong)
    assert "refuted" in whiles.unproven_because(count, off_by_one)  # wrong where the loop does not run


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    out = tmp_path_factory.mktemp("whiles")
    src = out / "whiles.ax"
    src.write_text(SOURCE)
    compile_files([src], PROBE, out / "lib")
    return load(out / "lib"), check(parse(SOURCE, str(src)))


SCALARS = {
    "ones_by_clearing": np.uint64,
    "ones_by_shifting": np.uint32,
    "ones_by_lowest": np.uint16,
    "bit_length": np.uint64,
    "odd": np.uint32,
    "decimal_digits": np.uint32,
    "ones_wide": np.uint32,
    "ones_narrow": np.uint32,
    "low_zeros": np.uint32,
}


@pytest.mark.parametrize("name", list(SCALARS))
def test_native_loops_agree_with_the_interpreter(native, name):
    lib, module = native
    info = np.iinfo(SCALARS[name])
    rng = np.random.default_rng(3)
    edges = [0, 1, 2, 3, int(info.max), int(info.max) - 1, 1 << (info.bits - 1), 10, 99, 100]
    for x in edges + [int(v) for v in rng.integers(0, int(info.max), 200, dtype=SCALARS[name], endpoint=True)]:
        assert getattr(lib, name)(x) == interp.run(module, name, x), (name, x)


def test_native_halvings_agree_where_the_loop_stops(native):
    lib, module = native
    for x in (0, 1, 2, 7, 1 << 30, (1 << 31) - 1):
        assert lib.halvings(x) == interp.run(module, "halvings", x)


def test_native_total_ones_agrees(native):
    lib, module = native
    rng = np.random.default_rng(4)
    for n in (0, 1, 5, 64, 1000):
        w = rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)
        w[: min(n, 2)] = [0, 2**64 - 1][: min(n, 2)]
        assert (
            lib.total_ones(n, w)
            == interp.run(module, "total_ones", n, w.copy())
            == sum(bin(int(v)).count("1") for v in w)
        )
