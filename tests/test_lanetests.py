"""A test of every lane at once (atlas/logic/lanetests.py): thresholds on
the bytes or halves of a word, written lane by lane in other words than
the suites', read off the specification, built as SWAR programs and
proven by Z3."""

from __future__ import annotations

import pytest

from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.logic import enumeration as en
from atlas.logic import flatten, requires
from atlas.logic import lanetests as lt
from atlas.logic import rules as rulebook
from atlas.logic import stochastic as so

TESTS = """\
// a 1 in each byte that is zero
fn zero_bytes_marked(x: u32) -> u32 {
    let m: u32 = 0;
    for k in 0u32..4 { if (x >> (8 * k)) & 0xff == 0 { m = m | (1u32 << (8 * k)); } }
    return m;
}
// every 16-bit quarter of at least 40000 filled with ones
fn big_quarters(x: u64) -> u64 {
    let m: u64 = 0;
    for k in 0u64..4 {
        let h = (x >> (16 * k)) & 0xffff;
        if h >= 40000 { m = m | (0xffffu64 << (16 * k)); }
    }
    return m;
}
// the top bit of each byte below 0x30 (an ASCII control or punctuation mark)
fn low_bytes_flagged(x: u32) -> u32 {
    let m: u32 = 0;
    for k in 0u32..4 {
        let b = (x >> (8 * k)) & 0xff;
        if b < 0x30 { m = m | (0x80u32 << (8 * k)); }
    }
    return m;
}
// each byte above 199 made all ones, the others cleared
fn high_bytes(x: u64) -> u64 {
    let m: u64 = 0;
    for k in 0u64..8 {
        let b = (x >> (8 * k)) & 0xff;
        if b > 199 { m = m | (0xffu64 << (8 * k)); }
    }
    return m;
}
// the halves of a word that are not zero, as all ones
fn live_halves(x: u32) -> u32 {
    let m: u32 = 0;
    if (x & 0xffff) != 0 { m = 0xffff; }
    if (x >> 16) != 0 { m = m | 0xffff0000; }
    return m;
}
// not a test of each lane alike: the low byte compared with 10, the others with 20
fn uneven(x: u32) -> u32 {
    let m: u32 = 0;
    if (x & 0xff) >= 10 { m = 0xff; }
    for k in 1u32..4 { if ((x >> (8 * k)) & 0xff) >= 20 { m = m | (0xffu32 << (8 * k)); } }
    return m;
}
// not a threshold: odd bytes marked
fn odd_bytes(x: u32) -> u32 {
    let m: u32 = 0;
    for k in 0u32..4 { if ((x >> (8 * k)) & 1) == 1 { m = m | (0xffu32 << (8 * k)); } }
    return m;
}
"""


def spec_of(name: str) -> so.Spec:
    f = check(parse(TESTS, "lanes.ax")).function(name)
    spec, why = so.spec_of(name, flatten.flatten(f, straight_too=True), requires.term(f))
    assert spec is not None, why
    return spec


def built(name: str):
    spec = spec_of(name)
    chain = so.Chain(spec, {}, 0)
    return spec, lt.candidates(spec, chain.env, chain.expected)


@pytest.mark.parametrize(
    "name, shortest",
    [
        ("zero_bytes_marked", 6),  # the test, turned to `<`, shifted down to 1
        ("big_quarters", 6),  # past the half: `& x`, widened by a multiply
        ("low_bytes_flagged", 5),  # the top bits are the answer
        ("high_bytes", 6),
        ("live_halves", 6),
    ],
)
def test_a_lane_test_is_read_off_and_every_form_built_is_proven(name, shortest):
    spec, forms = built(name)
    assert forms, "a test of every lane, but nothing built"
    for _, program in forms:
        assert rulebook.prove(spec.term, program) is None, str(program)
    assert min(n for n, _ in forms) == shortest


@pytest.mark.parametrize("name", ["uneven", "odd_bytes"])
def test_what_is_not_a_threshold_on_every_lane_is_not_built(name):
    assert built(name)[1] == []


def test_the_search_reaches_a_lane_test_at_its_length():
    """Eight bytes each compared with 199: six operations, past what the
    tables and the other stages reach; the search comes to it through the
    lane test."""
    spec, _ = built("high_bytes")
    out = en.search(spec, {}, budget_s=120.0)
    assert out.found is not None and out.found.length == 6
    assert rulebook.prove(spec.term, out.found.term) is None
