"""Programs that only move bits (atlas/logic/bitmoves.py): the map of bit
positions read off a specification, the two forms built from it, each
proven by Z3, on reversals, swaps and gathers written in other words than
the suites'."""

from __future__ import annotations

import pytest

from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.logic import bitmoves as bm
from atlas.logic import enumeration as en
from atlas.logic import flatten, requires
from atlas.logic import rules as rulebook
from atlas.logic import stochastic as so

MOVES = """\
// each byte's bits in the other order, the bytes where they were
fn mirror_each_byte(x: u32) -> u32 {
    let y: u32 = 0;
    for i in 0u32..32 {
        let b = (x >> i) & 1;
        y = y | (b << ((i & 0xfff8) + 7 - (i & 7)));
    }
    return y;
}
// a 16-bit word read from the other end, by testing each bit
fn backwards16(x: u16) -> u16 {
    let y: u16 = 0;
    for i in 0u16..16 {
        if (x >> i) & 1 == 1 { y = y | (1u16 << (15 - i)); }
    }
    return y;
}
// a byte read backwards, bit by bit, by halving
fn backwards8(x: u8) -> u8 {
    let y: u8 = 0;
    let v = x;
    for i in 0..8 {
        y = y * 2 + (v & 1);
        v = v / 2;
    }
    return y;
}
// a signed word reversed: the sign bit lands at the bottom
fn backwards_i16(x: i16) -> i16 {
    let y: i16 = 0;
    for i in 0i16..16 {
        y = y | (((x >> i) & 1) << (15 - i));
    }
    return y;
}
// flags gathered from scattered places, and a nibble moved to the top byte
fn gather_flags(x: u32) -> u32 {
    return ((x >> 3) & 1) | (((x >> 9) & 1) << 1) | (((x >> 30) & 1) << 2) | ((x & 0xf0) << 20);
}
// reversed, then turned four places
fn backwards_turned(x: u64) -> u64 {
    let y: u64 = 0;
    for i in 0u64..64 {
        y = y | (((x >> i) & 1) << ((67 - i) & 63));
    }
    return y;
}
// the low twelve bits reversed among themselves, the rest cleared
fn backwards_low12(x: u32) -> u32 {
    let y: u32 = 0;
    for i in 0u32..12 {
        y = y | (((x >> i) & 1) << (11 - i));
    }
    return y;
}
// not a move: bits combined
fn gray(x: u32) -> u32 {
    return x ^ (x >> 1);
}
// not a move: two bits land on one
fn fold_halves(x: u32) -> u32 {
    return (x & 0xffff) | (x >> 16);
}
"""


def spec_of(name: str) -> so.Spec:
    module = check(parse(MOVES, "moves.ax"))
    f = module.function(name)
    spec, why = so.spec_of(name, flatten.flatten(f, straight_too=True), requires.term(f))
    assert spec is not None, why
    return spec


def built(name: str) -> list[tuple[int, object]]:
    spec = spec_of(name)
    chain = so.Chain(spec, {}, 0)
    return bm.candidates(spec, chain.env, chain.expected)


@pytest.mark.parametrize(
    "name, stages",
    [
        ("mirror_each_byte", 15),  # three field swaps
        ("backwards16", 16),  # a bswap and three swaps
        ("backwards8", 11),  # a rotate by four and two swaps
        ("backwards_i16", 16),
        ("backwards_turned", 17),  # a bswap, three swaps and a rotate by four
        ("backwards_low12", 18),  # the whole word reversed, turned by 12, the rest masked off
        ("gather_flags", None),
    ],
)
def test_a_bit_map_is_read_off_and_every_form_built_is_proven(name, stages):
    spec = spec_of(name)
    forms = built(name)
    assert forms, "a map of bit positions, but nothing built"
    for _, program in forms:
        assert rulebook.prove(spec.term, program) is None, str(program)
    lengths = sorted(n for n, _ in forms)
    if stages is None:
        assert len(forms) == 1
    else:
        assert len(forms) == 2 and lengths[0] == stages


@pytest.mark.parametrize("name", ["gray", "fold_halves"])
def test_what_combines_bits_is_not_a_map(name):
    assert built(name) == []


def test_the_search_reaches_a_reversal_at_the_literatures_length():
    """Hacker's Delight 7-1 reverses 32 bits in 16 operations, a bswap and
    three swaps; 16 bits take as many.  The tables and the other stages
    reach nothing near that length."""
    spec = spec_of("backwards16")
    out = en.search(spec, {}, budget_s=120.0)
    assert out.found is not None and out.found.length == 16
    assert rulebook.prove(spec.term, out.found.term) is None


def test_a_program_that_reads_a_value_twice_is_shown_with_lets():
    """A reversal's stages each read the last one twice: as a tree its text
    doubles at every stage; shown with lets it reads at its length."""
    from atlas.meaning.terms import pretty_lets

    (_, stages) = min(built("backwards16"), key=lambda c: c[0])
    text = pretty_lets(stages)
    assert text.count("let ") == 2 and len(text) < len(str(stages)), text
    # each operation written once: as many operators as the program's length
    assert sum(text.count(op) for op in ("&", "|", "<<", ">>", "rotl", "bswap")) == 16
