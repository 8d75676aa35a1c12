"""Lowering to terms and back: the source in run form means what the source
means, and every root is named once."""

import numpy as np
import pytest

import golden
from atlas.meaning import interp, ir
from atlas.logic import lower
from atlas.pipeline import front
from atlas.machine.probe import load_probe
from atlas.meaning.terms import Term, var

STEMS = sorted(p.stem for p in (golden.ROOT / "intents").glob("*.ax"))


def _matches_goldens(stem, rebuild):
    """The module `rebuild` makes of each specialised intent gives its golden results."""
    for probe_name in golden.PROBES:
        _, module, _ = front(
            [golden.ROOT / "intents" / f"{stem}.ax"], load_probe(golden.FIXTURES / f"{probe_name}.json")
        )
        rebuilt = rebuild(module)
        for case in golden.load(stem)["cases"]:
            if case["probe"] != probe_name:
                continue
            args = [golden.decode(a) for a in case["args"]]
            assert interp.run(rebuilt, case["function"], *args) == case["result"]


@pytest.mark.parametrize("stem", STEMS)
def test_run_form_matches_goldens(stem):
    def rebuild(module):
        rebuilt, roots = lower.transform(module)
        assert len({r.name for r in roots}) == len(roots)
        return rebuilt

    _matches_goldens(stem, rebuild)


@pytest.mark.parametrize("stem", STEMS)
def test_tidied_run_form_matches_goldens(stem):
    """Temporaries written into their one use change nothing the function computes."""

    def rebuild(module):
        rebuilt, _ = lower.transform(module)
        return ir.Module(tuple(lower.tidy(f) for f in rebuilt.functions), rebuilt.sources)

    _matches_goldens(stem, rebuild)


def test_tidy_writes_temporaries_into_their_one_use():
    _, module, _ = front([golden.ROOT / "intents" / "matmul.ax"], load_probe(golden.FIXTURES / "probe-popcnt.json"))
    rebuilt, _ = lower.transform(module)
    assert "t.x" in ir.pretty_module(rebuilt)
    text = ir.pretty_function(lower.tidy(rebuilt.function("matmul")))
    assert "t.x" not in text
    assert "s = (s + (a[((i * n) + k)] * b[((k * n) + j)]));" in text
    assert "c[((i * n) + j)] = s;" in text


def test_tidy_keeps_a_temporary_whose_inputs_change_before_its_use():
    # t.x1 reads x, which is assigned before t.x1 is used: it must stay
    f = ir.Function(
        "f",
        (ir.Param("x", ir.U32),),
        ir.U32,
        (
            ir.Let("t.x1", ir.U32, ir.Binary("add", ir.Var("x", ir.U32), ir.Const(1, ir.U32), ir.U32)),
            ir.Assign("x", ir.Const(7, ir.U32)),
            ir.Let("y", ir.U32, ir.Var("t.x1", ir.U32)),
            ir.Return(ir.Var("y", ir.U32)),
        ),
    )
    tidied = lower.tidy(f)
    assert tidied.body == f.body
    m = ir.Module((tidied,), ())
    assert interp.run(m, "f", 1) == 2


def test_straight_line_runs_become_one_term():
    src = golden.ROOT / "intents" / "popcount_total.ax"
    _, module, _ = front([src], load_probe(golden.FIXTURES / "probe-nopopcnt.json"))
    _, roots = lower.transform(module)
    total = [r for r in roots if r.role == "total" and r.term.op == "add"]
    assert len(total) == 1
    # the whole bit-slicing chain over one load of w[i]
    loads = {t for t in _walk(total[0].term) if t.op == "load"}
    assert {t.value for t in loads} == {"w"} and len(loads) == 1


def test_choose_replaces_roots():
    src = "fn f(a: u32, b: u32) -> u32 { let x = a * 2; return x + b; }"
    from atlas.front.check import check
    from atlas.front.syntax import parse

    module = check(parse(src, "t.ax"))

    def swap(root):  # a deliberately different choice shows up
        return var("b", ir.U32) if root.role == "return" else root.term

    rebuilt, roots = lower.transform(module, swap)
    # a straight-line function with a let is also one whole-function term
    assert [r.role for r in roots] == ["x", "return", lower.FUNCTION]
    assert interp.run(rebuilt, "f", 5, 7) == 7


def test_a_load_after_a_store_to_the_same_array_ends_the_run():
    src = """fn f(n: u64, x: mut [u32; n]) -> u32 {
        x[0] = 5; let y = x[0]; return y; }"""
    from atlas.front.check import check
    from atlas.front.syntax import parse

    module = check(parse(src, "t.ax"))
    rebuilt, _ = lower.transform(module)
    assert interp.run(rebuilt, "f", 1, np.zeros(1, np.uint32)) == 5


def test_loop_forms():
    forms = {}
    for stem in STEMS:
        _, module, _ = front(
            [golden.ROOT / "intents" / f"{stem}.ax"], load_probe(golden.FIXTURES / "probe-popcnt.json")
        )
        forms[stem] = [x["form"] for x in lower.loop_forms(module)]
    assert forms["saxpy"] == ["map"] and forms["brighten"] == ["map"]
    assert forms["tiered"] == ["map"] and forms["classify"] == ["map"]
    assert forms["dot_i32"] == ["fold"] and forms["popcount_total"] == ["fold"]
    assert forms["prefix_sum"] == ["scan"]
    assert forms["argmax_i32"] == ["loop"] and forms["inet_checksum"] == ["loop"]
    assert forms["matmul"] == ["loop", "loop", "loop"]  # the float sum is an ordered fold


def _walk(t: Term):
    yield t
    for a in t.args:
        yield from _walk(a)
