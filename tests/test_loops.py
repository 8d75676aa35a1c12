"""Loops as terms: folds in the logic atlas, loop rules proven by induction,
the chosen form written back as a loop (or none) and run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from atlas import load
from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.logic import loops, lower, stages
from atlas.logic.loops import ACC, IDX
from atlas.machine.probe import load_probe
from atlas.meaning import interp, ir
from atlas.meaning.terms import Term, const, var
from atlas.front.specialise import specialise
from atlas.pipeline import compile_files

PROBE = load_probe(Path(__file__).parent / "fixtures" / "probe-popcnt.json")

# Folds of the families the loop rules are for, written as a user might:
# none of them is a shipped kernel.
SOURCE = """
fn weighted(n: u64, x: [i32; n], w: i32) -> i32 {
    let s: i32 = 0;
    for i in 0..n { s += w * x[i]; }
    return s;
}
fn scaled_down(n: u32, x: [u16; n], k: u16) -> u16 {
    let acc: u16 = 100;
    for j in 0..n { acc = acc - x[j] * k; }
    return acc;
}
fn biased(n: u32, x: [u32; n], b: u32) -> u32 {
    let s: u32 = 7;
    let c: u32 = 0;
    for i in 0..n {
        s = s + (x[i] + b);
        c += 1;
    }
    return s ^ c;
}
fn steps(lo: i8, hi: i8, d: u64) -> u64 {
    let t: u64 = 5;
    for i in lo..hi { t += d; }
    return t;
}
fn flags(n: u64, m: u8) -> u8 {
    let f: u8 = 1;
    let p: u8 = 0;
    for i in 0..n { f = f | m; p = p ^ m; }
    return f + p;
}
fn masked_xor(n: u64, x: [u32; n], m: u32) -> u32 {
    let h: u32 = 0;
    for i in 0..n { h ^= x[i] & m; }
    return h;
}
fn counted(n: u64, x: [i32; n], t: i32) -> u64 {
    let c: u64 = 0;
    for i in 0..n {
        if x[i] > t { c += 2; } else { c += 2; }
    }
    return c;
}
fn shifted_sum(n: u64, x: [u16; n], k: u16) -> u16 {
    let s: u16 = 7;
    for i in 0..n { s += x[i] << k; }
    return s;
}
fn folded_high(n: u32, x: [i64; n], k: i64) -> i64 {
    let h: i64 = -1;
    for i in 0..n { h ^= x[i] >> k; }
    return h;
}
"""


def module_of(text: str) -> ir.Module:
    return specialise(check(parse(textwrap.dedent(text), "loops.ax")), PROBE)[0]


def loop_of(fn: ir.Function) -> ir.For:
    return next(s for s in fn.body if isinstance(s, ir.For))


def verified(text: str):
    specialised = module_of(text)
    sat = stages.saturate(specialised, PROBE)
    return stages.verify(specialised, sat)


@pytest.fixture(scope="module")
def done():
    return verified(SOURCE)


# ---------------------------------------------------------------- recognition


def test_a_fold_becomes_a_term_over_placeholders():
    fn = module_of(SOURCE).function("weighted")
    fold = loops.recognise(loop_of(fn))
    assert fold is not None and fold.carried == ("s",)
    (t,) = fold.terms
    assert t.op == "reduce" and t.args[2] == var("s", ir.I32)
    names = {u.value for u in _subterms(t.args[3]) if u.op == "var"}
    assert names == {ACC, IDX, "w"}


def _subterms(t: Term):
    from atlas.meaning.terms import subterms

    return subterms(t)


def test_folds_over_other_names_are_one_term():
    a = module_of("fn a(n: u64, x: [u32; n]) -> u32 { let s: u32 = 0; for i in 0..n { s += x[i]; } return s; }")
    b = module_of(
        "fn b(n: u64, x: [u32; n]) -> u32 { let total: u32 = 0; for k in 0..n { total = x[k] + total; } return total; }"
    )
    ta = loops.recognise(loop_of(a.function("a"))).terms[0]
    tb = loops.recognise(loop_of(b.function("b"))).terms[0]
    assert ta.args[3].op == tb.args[3].op == "add"
    assert {ta.args[3].args} == {ta.args[3].args} and set(ta.args[3].args) == set(tb.args[3].args)


@pytest.mark.parametrize(
    "body",
    [
        "s += x[i]; t += s;",  # t reads s: not independent
        "s += x[i]; x[i] = 0;",  # a store
        "s += f(x[i]);",  # a call
        "for j in 0..n { s += x[j]; }",  # a loop inside
    ],
)
def test_what_is_not_a_fold(body):
    text = f"""
fn f(v: u32) -> u32 {{ return v; }}
fn g(n: u64, x: mut [u32; n]) -> u32 {{
    let s: u32 = 0;
    let t: u32 = 0;
    for i in 0..n {{ {body} }}
    return s + t;
}}"""
    fn = module_of(text).function("g")
    assert loops.recognise(loop_of(fn)) is None


def test_an_if_in_the_body_becomes_a_select():
    text = """fn f(n: u64, x: [i32; n], t: i32) -> u64 {
        let c: u64 = 0;
        for i in 0..n { if x[i] > t { c += 1; } }
        return c;
    }"""
    (t,) = loops.recognise(loop_of(module_of(text).function("f"))).terms
    assert "select" in {u.op for u in _subterms(t.args[3])}
    # arms that agree are one value: no select (`counted` is a closed form)
    (t,) = loops.recognise(loop_of(module_of(SOURCE).function("counted"))).terms
    assert "select" not in {u.op for u in _subterms(t.args[3])}


# ---------------------------------------------------------------- rules


def test_every_shipped_loop_rule_is_proven_at_every_width():
    rules = loops.load_rules().all()
    names = {r.name for r in rules}
    assert {"fold-hoist-mul", "fold-split-sum", "fold-closed-add", "fold-identity"} <= names
    ints = [t for t in ir.SCALARS.values() if t.is_int]
    for name in names:
        got = {(r.ty, r.index) for r in rules if r.name == name}
        assert got == {(a, b) for a in ints for b in ints}, name


def _rule_file(tmp_path, text: str) -> Path:
    p = tmp_path / "loops.yaml"
    p.write_text("ruleset: loops\nrules:\n" + textwrap.indent(textwrap.dedent(text), "  "))
    return p


@pytest.mark.parametrize(
    "rule, refusal",
    [
        # a closed form off by one
        (
            """
            - name: off-by-one
              body: acc + c
              form: init + c * (n + 1)
              invariant: [c]
              types: u32
            """,
            "off-by-one.*refuted",
        ),
        # 256 iterations are 0 as a u8: "ran" cannot be read from n at u8
        (
            """
            - name: or-by-count
              body: acc | c
              form: "if n != 0 { init | c } else { init }"
              invariant: [c]
              types: u8
            """,
            "or-by-count.*u8 over a (u|i)(16|32|64) index",
        ),
        # c may change with the index: it cannot leave the fold
        (
            """
            - name: hoist-anything
              body: acc + c * f
              form: init + c * r
              folds: {r: {from: "0", body: "acc + f"}}
              types: u32
            """,
            "variant",
        ),
    ],
    ids=["off-by-one", "narrow-count", "variant-outside"],
)
def test_a_loop_rule_that_does_not_hold_is_refused(tmp_path, rule, refusal):
    with pytest.raises(loops.LoopRuleError, match=refusal):
        loops.load_rules(_rule_file(tmp_path, rule))


# ---------------------------------------------------------------- per-site proofs


def test_a_wrong_form_of_a_site_is_refuted():
    fn = module_of(SOURCE).function("weighted")
    (t,) = loops.recognise(loop_of(fn)).terms
    lo, hi, init, body = t.args
    inner = loops.reduce_term(lo, hi, const(0, ir.I32), Term("add", ir.I32, (var(ACC, ir.I32), body.args[1].args[1])))
    w = var("w", ir.I32)
    right = Term("add", ir.I32, (init, Term("mul", ir.I32, (w, inner))))
    assert loops.unproven_because(t, right) is None
    wrong = Term("add", ir.I32, (init, Term("mul", ir.I32, (Term("add", ir.I32, (w, const(1, ir.I32))), inner))))
    assert loops.unproven_because(t, wrong).startswith("refuted in the step")
    start = Term("add", ir.I32, (const(1, ir.I32), right))
    assert loops.unproven_because(t, start).startswith("refuted with no iteration")


# ---------------------------------------------------------------- the atlas


def chosen(done, fn: str) -> list[Term]:
    return [
        o.term
        for name, o in done.outcomes.items()
        if name.startswith(fn + "@") and lower.FOLD in name and o.status is stages.RootStatus.PROVEN
    ]


def loops_in(fn: ir.Function) -> int:
    n = 0

    def walk(stmts):
        nonlocal n
        for s in stmts:
            if isinstance(s, (ir.For, ir.While)):
                n += 1
            for b in (getattr(s, "body", ()), getattr(s, "then", ()), getattr(s, "else_", ())):
                walk(b)

    walk(fn.body)
    return n


def test_an_unchanging_factor_leaves_the_loop(done):
    (form,) = chosen(done, "weighted")
    folds = [u for u in _subterms(form) if u.op == "reduce"]
    assert len(folds) == 1 and "mul" not in {u.op for u in _subterms(folds[0].args[3])}


def test_a_subtracted_product_is_a_sum_times_the_factor(done):
    (form,) = chosen(done, "scaled_down")
    (fold,) = [u for u in _subterms(form) if u.op == "reduce"]
    assert {u.op for u in _subterms(fold.args[3])} <= {"add", "var", "load", "const"}


@pytest.mark.parametrize("fn", ["steps", "flags", "counted"])
def test_folds_of_unchanging_values_need_no_loop(done, fn):
    assert chosen(done, fn)
    assert loops_in(done.module.function(fn)) == 0


def test_a_sum_with_a_bias_keeps_one_loop_for_the_elements(done):
    assert loops_in(done.module.function("biased")) == 1


def test_a_mask_leaves_an_xor_fold(done):
    (form,) = chosen(done, "masked_xor")
    (fold,) = [u for u in _subterms(form) if u.op == "reduce"]
    assert "and" not in {u.op for u in _subterms(fold.args[3])}


@pytest.mark.parametrize("fn, shift", [("shifted_sum", "shl"), ("folded_high", "shr")])
def test_an_unchanging_shift_leaves_the_fold(done, fn, shift):
    """A sum of left shifts by one count, an xor of arithmetic right
    shifts (by a signed count, read unsigned): the loop sums or xors the
    elements, the result is shifted once."""
    (form,) = chosen(done, fn)
    (fold,) = [u for u in _subterms(form) if u.op == "reduce"]
    assert shift not in {u.op for u in _subterms(fold.args[3])}
    assert shift in {u.op for u in _subterms(form)}


@pytest.mark.parametrize(
    "text",
    [
        # the index is not invariant: nothing to move out
        "fn f(n: u32, x: [u32; n]) -> u32 { let s: u32 = 0; for i in 0..n { s += i * x[i]; } return s; }",
        # a float fold is not associative
        "fn f(n: u32, x: [f32; n], w: f32) -> f32 { let s: f32 = 0.0; for i in 0..n { s += w * x[i]; } return s; }",
        # the factor changes inside the loop
        """fn f(n: u32, x: [u32; n]) -> u32 {
            let s: u32 = 0;
            let w: u32 = 1;
            for i in 0..n { w = w + 1; s += w * x[i]; }
            return s + w;
        }""",
    ],
)
def test_near_misses_keep_their_loop(text):
    v = verified(text)
    assert not chosen(v, "f")
    assert loops_in(v.module.function("f")) == 1


# ---------------------------------------------------------------- run


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    out = tmp_path_factory.mktemp("loops")
    src = out / "loops.ax"
    src.write_text(SOURCE)
    compile_files([src], PROBE, out / "lib")
    return load(out / "lib"), check(parse(SOURCE, str(src)))


def _args(name: str, n: int, rng) -> list:
    if name == "steps":
        lo, hi = (int(v) for v in rng.integers(-128, 128, 2))
        return [lo, hi, int(rng.integers(0, 2**63))]
    if name == "flags":
        return [n, int(rng.integers(0, 256))]
    if name == "shifted_sum":  # counts past the width too
        return [n, rng.integers(0, 2**16, n, dtype=np.uint16), int(rng.integers(0, 20))]
    if name == "folded_high":
        return [n, rng.integers(-(2**63), 2**63, n, dtype=np.int64, endpoint=False), int(rng.integers(-3, 70))]
    dtype = {
        "weighted": np.int32,
        "scaled_down": np.uint16,
        "biased": np.uint32,
        "masked_xor": np.uint32,
        "counted": np.int32,
    }[name]
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    scalar = int(rng.integers(info.min, info.max, endpoint=True))
    return [n, x, scalar]


NATIVE = ["weighted", "scaled_down", "biased", "steps", "flags", "masked_xor", "counted", "shifted_sum", "folded_high"]


@pytest.mark.parametrize("name", NATIVE)
def test_native_folds_agree_with_the_interpreter(native, name):
    lib, module = native
    rng = np.random.default_rng(5)
    for n in (0, 1, 2, 3, 17, 256, 1000, 4099):
        args = _args(name, n, rng)
        want = interp.run(module, name, *[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        assert getattr(lib, name)(*args) == want, (name, n)


def test_a_body_term_that_reads_the_accumulator_is_not_moved_out():
    # `w * (s ^ x[i])`: the product's other factor reads s, so it is not a
    # value that may change only with the index; the e-graph holds no
    # hoisted form (the site's proof would refute one: fallback)
    text = """fn f(n: u64, x: [u32; n], w: u32) -> u32 {
        let s: u32 = 1;
        for i in 0..n { s += w * (s ^ x[i]); }
        return s;
    }"""
    v = verified(text)
    (outcome,) = [o for name, o in v.outcomes.items() if lower.FOLD in name]
    assert outcome.status is stages.RootStatus.UNCHANGED


def test_a_measured_table_prices_a_fold_by_its_throughput(monkeypatch):
    # loads are slow on the path but overlap across iterations: a sum split
    # so that its bias is added once is cheaper under either model
    from atlas.logic import costs

    # figures of the kind this machine measured (x86_64, 2026-12-05)
    measured = {"mul": (3.06, 1.0), "select": (1.0, 0.5), "lt": (1.03, 0.1), "cast": (1.05, 0.52)}
    table = {f"{op}@{t.name}": costs.OpCost(*measured.get(op, (1.0, 0.24))) for op in costs.OPS for t in costs.TYPES}
    monkeypatch.setattr(costs, "model_for", lambda probe: costs.CostTable(table, "made up for a test", 1.0))
    v = verified(SOURCE)
    assert loops_in(v.module.function("biased")) == 1
    assert len(chosen(v, "biased")) == 2 and chosen(v, "weighted")  # s split, c in closed form
