"""atlas/search/deferred.py: modular folds rewritten to blocks of wide sums
reduced once per block, proven at each site, held to the interpreter and
(natively) to zlib's Adler-32."""

from __future__ import annotations

import json
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from atlas import load
from atlas.front.check import check
from atlas.front.specialise import specialise
from atlas.front.syntax import parse
from atlas.machine.probe import load_probe
from atlas.meaning import interp, ir
from atlas.pipeline import compile_files, front
from atlas.search import deferred, explode

ROOT = Path(__file__).resolve().parent.parent
FAMILY = ROOT / "intents" / "family"
PROBE = load_probe(Path(__file__).parent / "fixtures" / "probe-popcnt.json")

# Written in other words than the family's kernels: each should be found.
SPELLINGS = """
fn adler_select(n: u64, data: [u8; n]) -> u32 {
    let a: u32 = 1;
    let b: u32 = 0;
    for i in 0..n {
        a = a + data[i] as u32;
        a = if a >= 65521 { a - 65521 } else { a };
        let t = b + a;
        b = if 65521 <= t { t - 65521 } else { t };
    }
    return (b << 16) | a;
}
fn fletcher_not(n: u64, w: [u16; n]) -> u32 {
    let s1: u32 = 0;
    let s2: u32 = 0;
    for k in 0..n {
        s1 += w[k] as u32;
        if !(s1 < 65535) { s1 -= 65535; }
        s2 += s1;
        if 65534 < s2 { s2 = s2 - 65535; }
    }
    return (s2 << 16) | s1;
}
fn count_mod(n: u64, x: [i32; n]) -> u32 {
    let c: u32 = 0;
    for i in 0..n { c = (c + if x[i] > 0 { 1 } else { 0 }) % 7; }
    return c;
}
fn weighted(n: u64, x: [u16; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s = (s + 3 * (x[i] as u32) + 1) % 1000003; }
    return s;
}
fn old_first(n: u64, data: [u8; n]) -> u32 {
    let a: u32 = 0;
    let b: u32 = 0;
    for i in 0..n {
        b = (b + a) % 251;
        a = (a + data[i] as u32) % 251;
    }
    return (b << 8) | a;
}
fn dot_mod(n: u64, x: [u16; n], y: [u16; n]) -> u64 {
    let s: u64 = 0;
    for i in 0..n { s = (s + (x[i] as u64) * (y[i] as u64)) % 998244353; }
    return s;
}
fn fletcher_branchless(n: u64, w: [u16; n]) -> u32 {
    let s1: u32 = 0;
    let s2: u32 = 0;
    for k in 0..n {
        s1 = s1 + w[k] as u32;
        s1 = s1 - 65535 * ((s1 >= 65535) as u32);
        s2 = s2 + s1;
        s2 -= select(s2 > 65534, 65535, 0);
    }
    return (s2 << 16) | s1;
}
fn sum_mod_mask(n: u64, x: [u8; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s = (s + x[i] as u32) & 0xfff; }
    return s;
}
fn short_index(n: u8, data: [u8; n]) -> u16 {
    let s: u16 = 0;
    for i in 0..n { s = (s + data[i] as u16) % 255; }
    return s;
}
fn from_params(n: u64, x: [u16; n], a0: u32, b0: u32) -> u32 {
    let a = a0;
    let b = b0;
    for i in 0..n {
        let t = a + (x[i] as u32);
        a = t % 65521;
        b = (b + a + 1) % 65521;
    }
    return a ^ (b << 3);
}
"""

# Accumulators that read each other, in other words than the family's:
# all but the last two are chains (each block in closed form), three of
# them sums that are never reduced but wrap at their type (taken as reduced
# modulo 2^bits); the last two are not chains (a third sum of the second, a
# first that doubles), whose blocks stay loops.
CHAINS = """
fn two_firsts(n: u64, x: [u8; n], y: [u8; n]) -> u32 {
    let a: u32 = 0;
    let c: u32 = 0;
    let b: u32 = 0;
    for i in 0..n {
        a = (a + x[i] as u32) % 65521;
        c = (c + y[i] as u32) % 65521;
        b = (b + a + 2 * c + (x[i] as u32)) % 65521;
    }
    return a ^ (b << 1) ^ (c << 7);
}
fn two_seconds(n: u64, x: [u16; n]) -> u64 {
    let a: u64 = 1;
    let b: u64 = 0;
    let d: u64 = 0;
    for i in 0..n {
        b = (b + 3 * a) % 4294967291;
        a = (a + x[i] as u64) % 4294967291;
        d = (d + a) % 4294967291;
    }
    return a ^ (b << 3) ^ (d << 9);
}
fn negated_constant(n: u64, words: [u16; n]) -> u32 {
    let s1: u32 = 0;
    let s2: u32 = 0;
    for k in 0..n {
        s1 += words[k] as u32;
        if s1 >= 65535 { s1 = -65535 + s1; }
        s2 += s1;
        if s2 >= 65535 { s2 = s2 + 4294901761; }
    }
    return (s2 << 16) | s1;
}
fn wrapping_bytes(n: u64, frame: [u8; n]) -> u16 {
    let p: u8 = 0;
    let q: u8 = 0;
    for i in 0..n { p = p + frame[i]; q = q + p; }
    return ((q as u16) << 8) | (p as u16);
}
fn wrapping_old_first(n: u64, x: [u16; n]) -> u32 {
    let w: u32 = 7;
    let s: u32 = 0;
    for i in 0..n { w = w + s; s = s + (x[i] as u32); }
    return w ^ s;
}
fn wrapping_with_terms(n: u64, x: [u16; n]) -> u16 {
    let a: u16 = 0;
    let b: u16 = 1;
    for i in 0..n { a += x[i]; b = b + 2 * a + x[i]; }
    return a ^ b;
}
fn third_level(n: u64, x: [u8; n]) -> u32 {
    let a: u32 = 0;
    let b: u32 = 0;
    let c: u32 = 0;
    for i in 0..n {
        a = (a + x[i] as u32) % 251;
        b = (b + a) % 251;
        c = (c + b) % 251;
    }
    return a | (b << 8) | (c << 16);
}
fn doubling_first(n: u64, x: [u8; n]) -> u32 {
    let a: u32 = 0;
    let b: u32 = 0;
    for i in 0..n {
        a = (2 * a + x[i] as u32) % 251;
        b = (b + a) % 251;
    }
    return a | (b << 8);
}
"""

# Folds the rewrite must leave alone.
REFUSED = """
fn two_moduli(n: u64, data: [u8; n]) -> u32 {
    let a: u32 = 0;
    let b: u32 = 0;
    for i in 0..n { a = (a + data[i] as u32) % 251; b = (b + a) % 241; }
    return (b << 8) | a;
}
fn signed_sum(n: u64, data: [i8; n]) -> i32 {
    let a: i32 = 0;
    for i in 0..n { a = (a + data[i] as i32) % 251; }
    return a;
}
fn off_by_one(n: u64, data: [u8; n]) -> u32 {
    let a: u32 = 0;
    for i in 0..n { a += data[i] as u32; if a > 251 { a -= 251; } }
    return a;
}
fn product(n: u64, data: [u8; n]) -> u32 {
    let a: u32 = 1;
    for i in 0..n { a = (a * (data[i] as u32)) % 251; }
    return a;
}
fn only_sometimes(n: u64, x: [i32; n]) -> u32 {
    let c: u32 = 0;
    for i in 0..n { if x[i] > 0 { c = (c + 1) % 7; } }
    return c;
}
fn one_subtraction_too_few(n: u64, data: [u8; n]) -> u32 {
    let a: u32 = 0;
    for i in 0..n { a += data[i] as u32; if a >= 7 { a -= 7; } }
    return a;
}
fn wraps_first(n: u64, data: [u16; n]) -> u16 {
    let a: u16 = 0;
    for i in 0..n { a = (a + data[i] as u16) % 65521; }
    return a;
}
fn wrapping_sum(n: u64, data: [u8; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s += data[i] as u32; }
    return s;
}
fn wrapping_u64_chain(n: u64, data: [u8; n]) -> u64 {
    let a: u64 = 0;
    let b: u64 = 0;
    for i in 0..n { a += data[i] as u64; b += a; }
    return a ^ b;
}
fn wrapping_third_level(n: u64, x: [u8; n]) -> u8 {
    let a: u8 = 0;
    let b: u8 = 0;
    let c: u8 = 0;
    for i in 0..n { a += x[i]; b += a; c += b; }
    return a ^ b ^ c;
}
fn half_reduced(n: u64, x: [u8; n]) -> u32 {
    let a: u32 = 0;
    let b: u32 = 0;
    for i in 0..n { a = (a + x[i] as u32) % 251; b = b + a; }
    return a ^ b;
}
fn stores(n: u64, data: [u8; n], out: mut [u32; n]) -> u32 {
    let a: u32 = 0;
    for i in 0..n { a = (a + data[i] as u32) % 251; out[i] = a; }
    return a;
}
"""


def module(src: str) -> ir.Module:
    return specialise(check(parse(src, "t.ax")), PROBE)[0]


def family(name: str) -> ir.Module:
    return front([FAMILY / f"{name}.ax"], PROBE)[1]


def with_function(m: ir.Module, fn: ir.Function) -> ir.Module:
    return ir.Module(tuple(fn if f.name == fn.name else f for f in m.functions), m.sources)


def site_of(fn: ir.Function) -> deferred.Site:
    (loop,) = [s for s in ir.walk_stmts(fn.body) if isinstance(s, ir.For)]
    site = deferred.match(loop, fn)
    assert site is not None
    return site


def args_for(fn: ir.Function, rng, n: int, top: bool = False) -> list:
    """n elements per array (all at their largest when `top`), scalars drawn."""
    out: list = []
    for p in fn.params:
        if isinstance(p.ty, ir.Array):
            info = np.iinfo(interp.dtype(p.ty.elem))
            data = np.full(n, info.max) if top else rng.integers(info.min, info.max, n, endpoint=True)
            out.append(data.astype(interp.dtype(p.ty.elem)))
        elif p.name == "n":
            out.append(n)
        else:
            values = [v for v in (0, 1, 65520, 65521, 70000) if v <= p.ty.mask] + [p.ty.mask]
            out.append(values[int(rng.integers(len(values)))])  # an index: numpy would round 2^64 - 1
    return out


def agree(m: ir.Module, new: ir.Module, name: str, lengths, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    fn = m.function(name)
    for n in lengths:
        for top in (False, True):
            args = args_for(fn, rng, n, top)
            want = interp.run(m, name, *[a.copy() if isinstance(a, np.ndarray) else a for a in args])
            assert interp.run(new, name, *args) == want, (name, n, top)


def agree_at_last(m: ir.Module, new: ir.Module, fn: ir.Function, values, rng, lengths=(0, 1, 7, 8, 9, 40)) -> None:
    """`new` computes what `m` does with fn's last parameter (a modulus or a
    cap) at each of `values`, arrays drawn or at their largest."""
    for n in lengths:
        for k in values:
            for top in (False, True):
                args = args_for(fn, rng, n, top)
                args[-1] = k
                assert interp.run(new, fn.name, *args) == interp.run(m, fn.name, *args), (fn.name, n, k)


def pinned(name: str, source: Path, out: Path) -> Path:
    """`name` compiled from `source` for this machine with deferred-reduction
    pinned (no search), into `out`."""
    from atlas.machine.probe import probe as probe_this

    how = explode.Options(fixed={name: explode.pinned("deferred-reduction")}, only_fixed=True, reuse=False)
    compile_files([source], probe_this(), out, search=how)
    return out


# ---------------------------------------------------------------- the family


@pytest.mark.parametrize("name", ["adler32", "fletcher16", "fletcher32", "modsum"])
def test_family_kernels_are_rewritten_with_every_obligation_proven(name):
    m = family(name)
    shaped = deferred.deferred_reduction(m.functions[0], m)
    assert shaped is not None
    ev = shaped.evidence
    assert ev["shape"] == "deferred-reduction" and "induction" in ev["proof"]
    (site,) = ev["loops"]
    chained = name != "modsum"  # a second sum reads the first: the block has a closed form
    closed = ["chain"] if chained else []
    assert list(site["obligations"]) == ["source", "wide", *closed, "congruence", "blocks", "init", "reduce"]
    assert all(v.startswith("proven") for v in site["obligations"].values())
    assert (site["closed_form"] is not None) == chained
    assert ev["differential"]["agree"] is True
    json.dumps(ev)  # goes into a manifest as it is
    text = ir.pretty_function(shaped.function)
    assert "% " in text and "while" in text  # reduced once per block
    (wide_loop,) = [s for s in ir.walk_stmts(shaped.function.body) if isinstance(s, ir.For) and s.var.endswith(".wide")]
    assert not any(
        isinstance(x, ir.Binary) and x.op == "rem"
        for e in map(ir.own_exprs, wide_loop.body)
        for x in (y for z in e for y in ir.walk(z))
    )
    if chained:  # no sum in the blocks' loop reads another: each runs on its own, in vectors
        sums = {s.name for s in wide_loop.body if isinstance(s, ir.Assign)}
        assert all(
            not sums & {x.name for x in ir.walk(s.value) if isinstance(x, ir.Var)} - {s.name}
            for s in wide_loop.body
            if isinstance(s, ir.Assign)
        )


def test_adler32_blocks_are_the_longest_that_cannot_wrap():
    """5552 in u32 is zlib's NMAX, found here from the value ranges alone."""
    site = site_of(family("adler32").functions[0])
    b32 = deferred.block(site, 32)
    assert b32 is not None and b32.K == 5552
    assert b32.end["b"] <= 0xFFFFFFFF < deferred.block(site, 32, 5553).end["b"]


def test_a_block_one_too_long_is_refuted_with_a_counterexample():
    m = family("adler32")
    fn = m.functions[0]
    proof = deferred.prove(site_of(fn), set(), bits=32, block_len=5553)
    assert not proof.proven
    assert str(proof.obligations["wide"]).startswith("refuted")
    assert deferred.deferred_reduction(fn, m, bits=32, block_len=5553) is None


def test_the_proof_does_not_trust_the_recogniser():
    """A site claiming the wrong modulus (as a faulty recogniser might) is refuted."""
    fn = family("adler32").functions[0]
    site = site_of(fn)
    wrong = replace(site, accs=tuple(replace(a, modulus=65519) for a in site.accs))
    proof = deferred.prove(wrong, set(), bits=32)
    assert proof is not None and not proof.proven
    assert str(proof.obligations["source"]).startswith("refuted")


@pytest.mark.parametrize("name", ["adler32", "fletcher16", "fletcher32", "modsum"])
def test_short_blocks_agree_with_the_interpreter_across_block_ends(name):
    m = family(name)
    shaped = deferred.deferred_reduction(m.functions[0], m, block_len=16)
    assert shaped is not None
    agree(m, with_function(m, shaped.function), name, [0, 1, 15, 16, 17, 31, 32, 33, 100])


# ---------------------------------------------------------------- other spellings


def test_other_spellings_are_found_and_agree():
    m = module(SPELLINGS)
    for fn in m.functions:
        shaped = deferred.deferred_reduction(fn, m, block_len=8)
        assert shaped is not None, fn.name
        agree(m, with_function(m, shaped.function), fn.name, [0, 1, 7, 8, 9, 40])


@pytest.mark.parametrize("block_len", [None, 8])
def test_chains_are_summed_in_closed_form_and_agree(block_len):
    m = module(CHAINS)
    knobs = {} if block_len is None else {"block_len": block_len}
    for fn in m.functions:
        shaped = deferred.deferred_reduction(fn, m, **knobs)
        assert shaped is not None, fn.name
        (site,) = shaped.evidence["loops"]
        chained = fn.name not in ("third_level", "doubling_first")
        assert (site["closed_form"] is not None) == chained, fn.name
        assert ("chain" in site["obligations"]) == chained
        agree(m, with_function(m, shaped.function), fn.name, [0, 1, 7, 8, 9, 40, 300])


def test_a_wrong_closed_form_is_refuted_and_the_blocks_stay_loops(monkeypatch):
    """b reads a's new value; a closed form that says its old is refuted at
    the loop, and the rewrite falls back to the blocks' loop."""
    site = site_of(family("adler32").functions[0])
    right = deferred.chain(site)
    assert right is not None and right.reads == {"b": {"a": (0, 1)}}
    wrong = replace(right, reads={"b": {"a": (1, 0)}})
    plain = deferred.prove(site, set())
    assert plain.proven and plain.wide.chain == right
    verdict = deferred.Obligations(deferred.Wide(site, plain.wide.block, set(), chain=wrong)).chain()
    assert str(verdict).startswith("refuted")
    monkeypatch.setattr(deferred, "chain", lambda s: wrong)
    fallen = deferred.prove(site, set())
    assert fallen.proven and fallen.wide.chain is None and "chain" not in fallen.obligations


def test_starts_at_or_above_the_modulus_run_the_loop_as_written():
    m = module(SPELLINGS)
    shaped = deferred.deferred_reduction(m.function("from_params"), m, block_len=8)
    new = with_function(m, shaped.function)
    x = np.arange(30, dtype=np.uint16) * 2000
    for a0, b0 in ((65521, 0), (0, 65521), (0xFFFFFFFF, 7), (65520, 65520)):
        assert interp.run(new, "from_params", 30, x, a0, b0) == interp.run(m, "from_params", 30, x, a0, b0)


def test_folds_outside_the_form_are_left_alone():
    m = module(REFUSED)
    for fn in m.functions:
        assert deferred.deferred_reduction(fn, m) is None, fn.name


# ---------------------------------------------------------------- natively


@pytest.fixture(scope="module")
def adler_native(tmp_path_factory):
    return pinned("adler32", FAMILY / "adler32.ax", tmp_path_factory.mktemp("adler"))


def test_native_adler32_is_zlibs(adler_native):
    lib = load(adler_native)
    manifest = json.loads((adler_native / "manifest.json").read_text())
    assert "deferred-reduction" in json.dumps(manifest)
    rng = np.random.default_rng(11)
    for n in (0, 1, 5551, 5552, 5553, 100_000):
        for data in (rng.integers(0, 256, n, dtype=np.uint8), np.full(n, 255, np.uint8)):
            assert lib.adler32(n, data) == zlib.adler32(data.tobytes())


# ---------------------------------------------------------------- one's complement (RFC 1071)


def checksum_src(body: str, elem: str = "u16", init: str = "0", loop: str = "for i in 0..n", n: str = "u64") -> str:
    return f"""
fn f(n: {n}, s0: u32, data: [{elem}; n]) -> u32 {{
    let sum: u32 = {init};
    {loop} {{
        {body}
    }}
    return sum;
}}
"""


FOLD = "sum = (sum & 0xffff) + (sum >> 16);"
CHECKSUMS = {
    "as-written": f"sum += data[i] as u32; if sum > 0xffff {{ {FOLD} }}",
    "decimal": "sum = sum + data[i] as u32; if sum > 65535 { sum = (sum & 65535) + (sum >> 16); }",
    "addend-first": f"sum = data[i] as u32 + sum; if sum > 0xffff {{ {FOLD} }}",
    "const-first": f"sum += data[i] as u32; if 0xffff < sum {{ {FOLD} }}",
    "ge": f"sum += data[i] as u32; if sum >= 0x10000 {{ {FOLD} }}",
    "high-half": f"sum += data[i] as u32; if (sum >> 16) != 0 {{ {FOLD} }}",
    "fold-swapped": "sum += data[i] as u32; if sum > 0xffff { sum = (sum >> 16) + (0xffff & sum); }",
    "negated": f"sum += data[i] as u32; if sum <= 0xffff {{ }} else {{ {FOLD} }}",
    "not": f"sum += data[i] as u32; if !(sum <= 0xffff) {{ {FOLD} }}",
    "temporary": "let t = sum + data[i] as u32; sum = t; "
    "if sum > 0xffff { let u = (sum & 0xffff) + (sum >> 16); sum = u; }",
    "unconditional": f"sum += data[i] as u32; {FOLD}",
    "subtracting": "sum += data[i] as u32; if sum > 0xffff { sum -= 0xffff; }",
    # read by what they compute (deferred._by_values), not by their spelling
    "carry-bit": "sum += data[i] as u32; if (sum & 0x10000) != 0 { sum = (sum & 0xffff) + 1; }",
    "carry-added": "sum += data[i] as u32; sum = (sum & 0xffff) + ((sum >> 16) & 1);",
    "branchless": "sum += data[i] as u32; sum -= 0xffff * ((sum > 0xffff) as u32);",
    "u8-data": f"sum += data[i] as u32; if sum > 0xffff {{ {FOLD} }}",
}
NOT_CHECKSUMS = {
    "fold-0xfffe": checksum_src("sum += data[i] as u32; if sum > 0xffff { sum = (sum & 0xfffe) + (sum >> 16); }"),
    "test-0x1ffff": checksum_src(f"sum += data[i] as u32; if sum > 0x1ffff {{ {FOLD} }}"),
    "shift-15": checksum_src("sum += data[i] as u32; if sum > 0xffff { sum = (sum & 0xffff) + (sum >> 15); }"),
    "u32-data": checksum_src(f"sum += data[i]; if sum > 0xffff {{ {FOLD} }}", elem="u32"),  # may pass 2m
    "i16-data": checksum_src(f"sum += data[i] as u32; if sum > 0xffff {{ {FOLD} }}", elem="i16"),
    "no-fold": checksum_src("sum += data[i] as u32;"),
    "fold-other": checksum_src("sum += data[i] as u32; if s0 > 0xffff { sum = (sum & 0xffff) + (sum >> 16); }"),
    "index-reads-sum": checksum_src(f"sum += data[sum as u64 % n] as u32; if sum > 0xffff {{ {FOLD} }}"),
    "signed-index": checksum_src(
        f"sum += data[i] as u32; if sum > 0xffff {{ {FOLD} }}", loop="for i in 0 as i64..n as i64"
    ),
    "subtract-too-little": checksum_src("sum += data[i] as u32; if sum > 251 { sum -= 251; }", elem="u8"),
    "carry-bit-17": checksum_src("sum += data[i] as u32; if (sum & 0x20000) != 0 { sum = (sum & 0xffff) + 1; }"),
    "carry-doubled": checksum_src("sum += data[i] as u32; sum = (sum & 0xffff) + 2 * (sum >> 16);"),
}


def word_inputs(rng, dtype=np.uint16):
    """Lengths 0..50 of random words, and the edges: all ones, all zeros, mixed."""
    top = np.iinfo(dtype).max
    out = [rng.integers(0, top, n, dtype=dtype, endpoint=True) for n in range(51)]
    for n in (0, 1, 2, 3, 17, 50):
        mixed = np.zeros(n, dtype=dtype)
        mixed[::2] = top
        mixed[1::3] = 1
        out += [np.full(n, top, dtype=dtype), np.zeros(n, dtype=dtype), mixed]
    return out


@pytest.mark.parametrize("name", sorted(CHECKSUMS))
def test_end_around_carry_spellings_are_ones_complement_folds(name):
    m = module(checksum_src(CHECKSUMS[name], elem="u8" if name == "u8-data" else "u16"))
    shaped = deferred.deferred_reduction(m.functions[0], m, block_len=16)
    assert shaped is not None, name
    (site,) = shaped.evidence["loops"]
    assert site["accumulators"] == ["sum ones-complement mod 65535"] and site["guard"] == "(sum <= 65535u32)"
    new = with_function(m, shaped.function)
    elem = np.uint8 if name == "u8-data" else np.uint16
    for data in word_inputs(np.random.default_rng(11), elem)[::3]:
        for s0 in (0, 0xFFFF):
            assert interp.run(new, "f", len(data), s0, data.copy()) == interp.run(m, "f", len(data), s0, data.copy())


@pytest.mark.parametrize("name", sorted(NOT_CHECKSUMS))
def test_near_misses_of_the_checksum_are_left_alone(name):
    m = module(NOT_CHECKSUMS[name])
    assert deferred.deferred_reduction(m.functions[0], m) is None


def test_a_subtraction_that_cannot_bring_the_sum_back_is_refuted():
    """`if sum > 251 { sum -= 251; }` over bytes: 251 + 255 needs two."""
    fn = module(NOT_CHECKSUMS["subtract-too-little"]).functions[0]
    proof = deferred.prove(site_of(fn), set())
    assert not proof.proven and str(proof.obligations["source"]).startswith("refuted")


def test_ones_complement_is_not_the_residue():
    """Read as a plain residue, the checksum is refuted: it keeps 0xffff
    where the residue is 0 (and 0 only while every word was 0)."""
    fn = family_checksum().functions[0]
    site = site_of(fn)
    residue = replace(site, accs=tuple(replace(a, rep="residue") for a in site.accs))
    proof = deferred.prove(residue, set())
    assert not proof.proven and str(proof.obligations["source"]).startswith("refuted")
    assert deferred.prove(site, set()).proven


def family_checksum() -> ir.Module:
    return front([ROOT / "intents" / "inet_checksum.ax"], PROBE)[1]


def checksum_reference(data) -> int:
    """RFC 1071, written out in Python."""
    s = 0
    for x in data:
        s = (s + int(x)) & 0xFFFFFFFF
        if s > 0xFFFF:
            s = (s & 0xFFFF) + (s >> 16)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def test_native_checksum_across_blocks(tmp_path):
    lib = load(pinned("inet_checksum", ROOT / "intents" / "inet_checksum.ax", tmp_path))
    rng = np.random.default_rng(1)
    words = np.full((1 << 17) + 5, 0xFFFF, dtype=np.uint16)
    for data in [words, np.zeros(70_000, np.uint16), rng.integers(0, 0xFFFF, 200_003, dtype=np.uint16, endpoint=True)]:
        assert lib.inet_checksum(len(data), data) == checksum_reference(data)


def test_the_logic_stages_spelling_is_recognised():
    """After saturate/verify the body holds lets of temporaries (`let t.x1 =
    sum + ..; sum = t.x1;`): the search hands the rewrite that form."""
    from atlas.pipeline import middle

    verified, _ = middle(family_checksum(), PROBE)
    m = verified.module
    shaped = deferred.deferred_reduction(m.functions[0], m, block_len=16)
    assert shaped is not None, ir.pretty_module(m)
    new = with_function(m, shaped.function)
    for data in word_inputs(np.random.default_rng(3))[::4]:
        assert interp.run(new, "inet_checksum", len(data), data.copy()) == checksum_reference(data)


def test_two_loops_get_distinct_fresh_names():
    src = """
fn g(n: u64, a: [u16; n], b: [u16; n]) -> u32 {
    let sum: u32 = 0;
    for i in 0..n { sum += a[i] as u32; if sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16); } }
    let other: u32 = sum;
    for i in 0..n { other = (other + b[i] as u32) % 65521; }
    return sum ^ (other << 16);
}
"""
    m = module(src)
    fn = m.functions[0]
    clash = replace(
        fn, body=(ir.Let("sum.wide", ir.U8, ir.Const(0, ir.U8)),) + fn.body
    )  # a name the rewrite would pick
    m = ir.Module((clash,), m.sources)
    shaped = deferred.deferred_reduction(clash, m, block_len=16)
    assert shaped is not None and len(shaped.evidence["loops"]) == 2
    names = [n for n, _ in ir.declared(shaped.function.body)]
    assert len(names) == len(set(names)), names
    new = with_function(m, shaped.function)
    rng = np.random.default_rng(9)
    for n in (0, 1, 5, 40):
        a = rng.integers(0, 0xFFFF, n, dtype=np.uint16, endpoint=True)
        b = np.full(n, 0xFFFF, dtype=np.uint16)
        assert interp.run(new, "g", n, a.copy(), b.copy()) == interp.run(m, "g", n, a.copy(), b.copy())


def test_the_shipped_intents_without_a_modular_fold_are_left_alone():
    for path in sorted((ROOT / "intents").glob("*.ax")):
        m = front([path], PROBE)[1]
        for fn in m.functions:
            shaped = deferred.deferred_reduction(fn, m)
            assert (shaped is not None) == (fn.name == "inet_checksum"), (path.name, fn.name)


def test_checksum_loads_are_read_unchecked_in_the_wide_loop():
    m = family_checksum()
    shaped = deferred.deferred_reduction(m.functions[0], m)
    (site,) = shaped.evidence["loops"]
    assert site["unchecked"] == ["data[i]"] and site["wide_type"] == "u32" and site["block"] == 65536
    (wide_loop,) = [s for s in ir.walk_stmts(shaped.function.body) if isinstance(s, ir.For) and s.var.endswith(".wide")]
    loads = [x for s in wide_loop.body for e in ir.own_exprs(s) for x in ir.walk(e) if isinstance(x, ir.Load)]
    assert loads and all(x.inbounds for x in loads)


# ---------------------------------------------------------------- a modulus known at run time

RUN_TIME = """
fn modsum_m(n: u64, data: [u8; n], m: u32) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s = (s + (data[i] as u32)) % m; }
    return s;
}
fn pair_m(n: u64, data: [u8; n], m: u16) -> u32 {
    let a: u32 = 1;
    let b: u32 = 0;
    for i in 0..n {
        a = (a + (data[i] as u32)) % (m as u32);
        b = (b + a) % (m as u32);
    }
    return (b << 16) | a;
}
fn local_m(n: u64, data: [u8; n], m: u16) -> u32 {
    let mm = m as u32;
    let a: u32 = 1;
    let b: u32 = 0;
    for i in 0..n { a = (a + (data[i] as u32)) % mm; b = (b + a) % mm; }
    return (b << 16) | a;
}
fn words_m(n: u64, w: [u16; n], k: u32) -> u64 {
    let s: u64 = 0;
    for i in 0..n { s = (s + (w[i] as u64) * 3) % ((k as u64) + 7); }
    return s;
}
fn sum64_m(n: u64, x: [u32; n], m: u64) -> u64 {
    let s: u64 = 0;
    for i in 0..n { s = (s + (x[i] as u64)) % m; }
    return s;
}
fn pair64_m(n: u64, x: [u8; n], m: u64) -> u64 {
    let a: u64 = 1;
    let b: u64 = 0;
    for i in 0..n { a = (a + (x[i] as u64)) % m; b = (b + a) % m; }
    return a ^ (b << 1);
}
fn subtracted_m(n: u64, key: [u8; n], m: u32) -> u32 {
    let h: u32 = 0;
    for k in 0..n {
        h += key[k] as u32;
        if h >= m { h -= m; }
    }
    return h;
}
fn adler_subtracted_m(n: u64, data: [u8; n], m: u16) -> u32 {
    let mm = m as u32;
    let a: u32 = 1;
    let b: u32 = 0;
    for i in 0..n {
        a = a + (data[i] as u32);
        a = if a < mm { a } else { a - mm };
        b = b + a;
        if !(b < mm) { b = b - mm; }
    }
    return (b << 16) | a;
}
"""

RUN_TIME_REFUSED = """
fn moved(n: u64, data: [u8; n], m: u32) -> u32 {
    let s: u32 = 0;
    let k: u32 = m;
    for i in 0..n { s = (s + (data[i] as u32)) % k; k += 1; }
    return s;
}
fn loaded(n: u64, data: [u8; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s = (s + (data[i] as u32)) % ((data[0] as u32) + 2); }
    return s;
}
fn no_room(n: u64, x: [u64; n], m: u64) -> u64 {
    let s: u64 = 0;
    for i in 0..n { s = (s + x[i]) % m; }
    return s;
}
fn one_subtraction_never_enough(n: u64, key: [u8; n], m: u32) -> u32 {
    let h: u32 = 0;
    for k in 0..n {
        h += 3 * (key[k] as u32) + h;
        if h >= m { h -= m; }
    }
    return h;
}
fn kept_at_m(n: u64, key: [u8; n], m: u32) -> u32 {
    let h: u32 = 0;
    for k in 0..n {
        h += key[k] as u32;
        if h > m { h -= m; }
    }
    return h;
}
"""


def run_time_moduli(fn: ir.Function, acc: deferred.Acc) -> list[int]:
    """The modulus's edge values: 0 and 1, small, the bound the rewrite
    takes and one past it (the loop as written), the least it takes (one
    subtraction of m) and one below it, its type's largest."""
    mask, bound, least = fn.params[-1].ty.mask, acc.modulus, acc.least
    edges = (0, 1, 2, 3, 251, 65521, bound - 1, bound, bound + 1, least - 1, least, least + 1, mask)
    return sorted({v for v in edges if 0 <= v <= mask})


@pytest.mark.parametrize("block_len", [None, 8])
def test_a_run_time_modulus_is_deferred_and_checked_before_the_loop(block_len):
    m = module(RUN_TIME)
    knobs = {} if block_len is None else {"block_len": block_len}
    rng = np.random.default_rng(17)
    for fn in m.functions:
        shaped = deferred.deferred_reduction(fn, m, **knobs)
        assert shaped is not None, fn.name
        (site,) = shaped.evidence["loops"]
        assert all("checked before the loop" in a for a in site["accumulators"]), site
        acc = deferred.match(next(s for s in fn.body if isinstance(s, ir.For)), fn).accs[0]
        assert (acc.least > 1) == ("subtracted" in fn.name) and acc.once == ("subtracted" in fn.name)
        agree_at_last(m, with_function(m, shaped.function), fn, run_time_moduli(fn, acc), rng)


def test_a_run_time_modulus_bound_by_its_type_keeps_u32_blocks():
    m = module(RUN_TIME)
    for name in ("pair_m", "local_m"):  # `m as u32` of a u16, written in place or in a local
        site = site_of(m.function(name))
        assert {a.modulus for a in site.accs} == {65535}
        proof = deferred.prove(site, set())
        assert proof.proven and proof.wide.block.bits == 32
    # a u32 modulus leaves room only below 2^32 - 255: u64 blocks
    site = site_of(m.function("modsum_m"))
    assert site.accs[0].modulus == (1 << 32) - 255
    assert deferred.prove(site, set()).wide.block.bits == 64


def test_a_modulus_that_may_change_in_the_loop_or_leaves_no_room_is_refused():
    m = module(RUN_TIME_REFUSED)
    for fn in m.functions:
        assert deferred.deferred_reduction(fn, m) is None, fn.name


@pytest.mark.cc
def test_a_run_time_modulus_natively_across_blocks(tmp_path):
    src = tmp_path / "rt.ax"
    src.write_text(RUN_TIME)
    lib = load(pinned("modsum_m", src, tmp_path / "out"))
    ev = lib.manifest.functions["modsum_m"].evidence
    assert ev.shape["shape"] == "deferred-reduction" and ev.champion_refused is None
    # Z3 cannot equate a remainder by an unknown m taken each step with one
    # taken per block, even at one iteration: the loop's own induction is
    # what proves it, and the rest of the function is the source's
    assert ev.check.validated and ev.check.proven.startswith(
        "Z3, in two steps: the function with its rewritten loop put back as written"
    )
    data = np.full(200_000, 255, np.uint8)  # past three blocks of 65536, every sum at its largest

    def as_written(k: int) -> int:  # u32 sums; a remainder by 0 is the dividend
        s = 0
        for x in data.tolist():
            s = (s + x) & 0xFFFFFFFF
            s = s % k if k else s
        return s

    bound = (1 << 32) - 255
    for k in (0, 1, 2, 65521, bound - 1, bound, bound + 1, (1 << 32) - 1):
        assert lib.modsum_m(len(data), data, k) == as_written(k), k


def test_a_loop_put_back_must_be_the_loop_the_source_runs():
    """The composition puts each site's fallback loop back and proves the
    rest the source's: a site whose fallback is another loop proves
    nothing, whatever its shape proved of it."""
    from atlas.logic import validate

    m = module(RUN_TIME)
    fn = m.function("modsum_m")
    shaped = deferred.deferred_reduction(fn, m)
    (site,) = [s for s in shaped.function.body if isinstance(s, ir.If)]
    sites = frozenset({str(site.span)})
    good = validate.function(fn, shaped.function, m, sites=sites)
    assert good.validated and good.sites == 1 and good.proof.bound is None
    (loop,) = site.else_
    (step,) = loop.body
    other = replace(
        loop,
        body=(replace(step, value=replace(step.value, b=ir.Binary("or", step.value.b, ir.Const(1, ir.U32), ir.U32))),),
    )
    bad = replace(
        shaped.function, body=tuple(replace(s, else_=(other,)) if s is site else s for s in shaped.function.body)
    )
    v = validate.function(fn, bad, m, sites=sites)
    assert v.sites is None and not v.validated


def test_a_precondition_bounds_a_run_time_modulus():
    """`requires m <= 65536` leaves room for u32 blocks (the guard still
    checks it); a precondition that does not bound m leaves the bound the
    body's own."""
    m = module("""
    fn bounded(n: u64, key: [u8; n], m: u32) -> u32 requires m >= 1 && m <= 65536 {
        let h: u32 = 0;
        for k in 0..n { h = (h + (key[k] as u32)) % m; }
        return h;
    }
    fn unbounded(n: u64, key: [u8; n], m: u32, flag: bool) -> u32 requires flag || m < 1000 {
        let h: u32 = 0;
        for k in 0..n { h = (h + (key[k] as u32)) % m; }
        return h;
    }
    """)
    site = site_of(m.function("bounded"))
    assert site.accs[0].modulus == 65536 and deferred.prove(site, set()).wide.block.bits == 32
    assert site_of(m.function("unbounded")).accs[0].modulus == (1 << 32) - 255
    shaped = deferred.deferred_reduction(m.function("bounded"), m, block_len=8)
    new = with_function(m, shaped.function)
    rng = np.random.default_rng(3)
    for n in (0, 1, 8, 9, 40):
        for k in (1, 2, 255, 65535, 65536):
            key = rng.integers(0, 256, n).astype(np.uint8)
            assert interp.run(new, "bounded", n, key, k) == interp.run(m, "bounded", n, key, k)


# ---------------------------------------------------------------- saturating sums (a cap)

# Sums held at a ceiling, in several spellings: each is a cap, deferred to
# once per block.  `doubling` doubles its total (a multiple of a capped
# leaf by a positive constant is still capped with it).
CAPPED = """
fn min_form(n: u64, x: [u16; n]) -> u32 {
    let t: u32 = 0;
    for i in 0..n { t = min(t + (x[i] as u32), 1000000u32); }
    return t;
}
fn min_other_way(n: u64, x: [u8; n], t0: u32) -> u32 {
    let t = t0;
    for i in 0..n { t = min(123456789u32, (x[i] as u32) + t); }
    return t;
}
fn add_sat_u16(n: u64, d: [u8; n]) -> u16 {
    let acc: u16 = 0;
    for i in 0..n { acc = add_sat(acc, d[i] as u16); }
    return acc;
}
fn add_sat_u8(n: u64, d: [u8; n], a0: u8) -> u8 {
    let acc = a0;
    for i in 0..n { acc = add_sat(d[i], acc); }
    return acc;
}
fn if_clamped(n: u64, hits: [u8; n], weight: [u8; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n {
        s += (hits[i] as u32) * (weight[i] as u32);
        if s > 50000 { s = 50000; }
    }
    return s;
}
fn at_least(n: u64, d: [u32; n], c0: u32) -> u32 {
    let s = c0;
    for i in 0..n { let t = s + (d[i] & 0xffff); s = if t >= 100000 { 100000 } else { t }; }
    return s;
}
fn kept_below(n: u64, d: [u8; n]) -> u64 {
    let s: u64 = 0;
    for i in 0..n { s = select(s + (d[i] as u64) < 4000, s + (d[i] as u64), 4000); }
    return s;
}
fn chain_capped(n: u64, d: [u8; n]) -> u32 {
    let a: u16 = 0;
    let b: u16 = 0;
    for i in 0..n { a = add_sat(a, d[i] as u16); b = add_sat(b, a); }
    return ((b as u32) << 16) | (a as u32);
}
fn doubling(n: u64, d: [u8; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s = min(2 * s + (d[i] as u32), 1000u32); }
    return s;
}
"""

# Near misses: a sum that may wrap before it is capped, a signed sum (a
# negative term could bring a capped sum back down), a floor, a cap that
# is then lowered, two caps that read each other.
CAPPED_REFUSED = """
fn wraps_first(n: u64, d: [u32; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s = min(s + d[i], 1000u32); }
    return s;
}
fn signed_cap(n: u64, d: [i8; n]) -> i32 {
    let s: i32 = 0;
    for i in 0..n { s = min(s + (d[i] as i32), 1000); }
    return s;
}
fn a_floor(n: u64, d: [u8; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s = max(s + (d[i] as u32), 1000u32); }
    return s;
}
fn capped_then_lowered(n: u64, d: [u8; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s = min(s + (d[i] as u32), 1000u32); if s > 10 { s -= 1; } }
    return s;
}
fn two_caps(n: u64, d: [u8; n]) -> u32 {
    let a: u32 = 0;
    let b: u32 = 0;
    for i in 0..n { a = min(a + (d[i] as u32), 1000u32); b = min(b + a, 999u32); }
    return a ^ b;
}
"""


@pytest.mark.parametrize("block_len", [None, 8])
def test_capped_sums_are_deferred_and_agree(block_len):
    m = module(CAPPED)
    knobs = {} if block_len is None else {"block_len": block_len}
    for fn in m.functions:
        shaped = deferred.deferred_reduction(fn, m, **knobs)
        assert shaped is not None, fn.name
        (site,) = shaped.evidence["loops"]
        assert all(" capped at " in a for a in site["accumulators"]), site
        assert all(v.startswith("proven") for v in site["obligations"].values())
        assert (site["closed_form"] is not None) == (fn.name == "chain_capped")
        text = ir.pretty_function(shaped.function)
        assert "min(" in text and "while" in text  # capped once per block
        # lengths across block ends, random and every element at its largest
        # (the cap reached), and starts at, below and above the cap
        agree(m, with_function(m, shaped.function), fn.name, [0, 1, 7, 8, 9, 40, 300])


def test_a_start_above_the_cap_runs_the_loop_as_written():
    m = module(CAPPED)
    fn = m.function("min_other_way")
    shaped = deferred.deferred_reduction(fn, m, block_len=8)
    (site,) = shaped.evidence["loops"]
    assert site["guard"] == "(t <= 0x75bcd15u32)"
    new = with_function(m, shaped.function)
    x = np.arange(30, dtype=np.uint8)
    for t0 in (0, 123456788, 123456789, 123456790, (1 << 32) - 1):
        assert interp.run(new, fn.name, 30, x, t0) == interp.run(m, fn.name, 30, x, t0), t0


def test_capped_near_misses_are_left_alone():
    m = module(CAPPED_REFUSED)
    for fn in m.functions:
        assert deferred.deferred_reduction(fn, m) is None, fn.name
    # the wrapping sum is taken for a cap and refuted by the proof, not the recogniser
    proof = deferred.prove(site_of(m.function("wraps_first")), set())
    assert proof is not None and str(proof.obligations["source"]).startswith("refuted")


def test_a_wrong_cap_is_refuted():
    """A site claiming another ceiling, or claiming a residue where the
    source caps, is refuted by the source obligation."""
    site = site_of(module(CAPPED).function("min_form"))
    for wrong in (
        replace(site, accs=tuple(replace(a, modulus=999999) for a in site.accs)),
        replace(site, accs=tuple(replace(a, rep="residue") for a in site.accs)),
    ):
        proof = deferred.prove(wrong, set())
        assert proof is not None and str(proof.obligations["source"]).startswith("refuted")


@pytest.mark.cc
@pytest.mark.parametrize("name", ["capped_total", "sat_level"])
def test_family_capped_sums_natively_across_blocks(tmp_path, name):
    lib = load(pinned(name, FAMILY / f"{name}.ax", tmp_path))
    ev = lib.manifest.functions[name].evidence
    assert ev.shape["shape"] == "deferred-reduction" and ev.champion_refused is None and ev.check.validated
    fn = getattr(lib, name)
    cap = 20_000_000 if name == "capped_total" else 0xFFFF
    dt = np.uint16 if name == "capped_total" else np.uint8
    rng = np.random.default_rng(5)
    for n in (0, 1, 65535, 65536, 65537, 400_000):
        for data in (rng.integers(0, 64, n).astype(dt), np.full(n, np.iinfo(dt).max, dt)):
            assert fn(n, data) == min(int(data.sum(dtype=np.uint64)), cap), (n, data[:1])


def test_one_subtraction_of_a_run_time_modulus_needs_it_large_enough():
    """`h += byte; if h >= m { h -= m; }` is the residue only for m >= 255
    (at m = 254, h = 253 plus 255 less m is 254, not below m): the guard
    checks both ends and the loop as written runs outside them."""
    m = module(RUN_TIME)
    site = site_of(m.function("subtracted_m"))
    (acc,) = site.accs
    assert acc.once and acc.least == 255 and acc.modulus == (1 << 32) - 255
    proof = deferred.prove(site, set())
    assert proof.proven and "(m >= 255u32)" in ir.pretty_expr(proof.wide.guard())
    # one less would be wrong, and the proof says so
    low = deferred.prove(replace(site, accs=(replace(acc, least=254),)), set())
    assert str(low.obligations["source"]).startswith("refuted")


@pytest.mark.cc
def test_one_subtraction_of_a_run_time_modulus_natively(tmp_path):
    src = tmp_path / "rt.ax"
    src.write_text(RUN_TIME)
    lib = load(pinned("subtracted_m", src, tmp_path / "out"))
    ev = lib.manifest.functions["subtracted_m"].evidence
    assert ev.shape["shape"] == "deferred-reduction" and ev.champion_refused is None and ev.check.validated
    data = np.full(200_000, 255, np.uint8)

    def as_written(k: int) -> int:
        h = 0
        for x in data.tolist():
            h = (h + x) & 0xFFFFFFFF
            h = h - k if h >= k else h
        return h

    for k in (0, 1, 254, 255, 256, 65521, (1 << 32) - 256, (1 << 32) - 255, (1 << 32) - 254, (1 << 32) - 1):
        assert lib.subtracted_m(len(data), data, k) == as_written(k), k


def test_a_u64_run_time_modulus_is_bounded_to_leave_room_for_blocks():
    """A u64 sum under a u64 m: any value of the type may be m - 1, so no
    block fits until the bound is lowered, to the largest power of two
    that leaves blocks of ROOM iterations (2^63 for a single sum of u32
    words, 2^51 for a pair of byte sums that read each other)."""
    m = module(RUN_TIME)
    for name, bound in (("sum64_m", 1 << 63), ("pair64_m", 1 << 51)):
        site = site_of(m.function(name))
        assert {a.modulus for a in site.accs} == {bound}, name
        proof = deferred.prove(site, set())
        assert proof.proven and proof.wide.block.bits == 64 and proof.wide.K >= deferred.ROOM
        # twice the bound leaves no such block: the bound is the largest power of two that does
        doubled = replace(site, accs=tuple(replace(a, modulus=2 * bound) for a in site.accs))
        room = deferred.block(doubled, 64, deferred.ROOM)
        assert room is None or max(room.end.values()) > (1 << 64) - 1


# A cap known only at run time: the guard checks the sums start at most the
# cap and the cap at most the bound for which the body cannot wrap.
RUN_TIME_CAPPED = """
fn budget(n: u64, cost: [u16; n], limit: u32) -> u32 {
    let spent: u32 = 0;
    for i in 0..n { spent = min(spent + (cost[i] as u32), limit); }
    return spent;
}
fn budget_if(n: u64, cost: [u8; n], limit: u16) -> u32 {
    let lim = limit as u32;
    let s: u32 = 0;
    for i in 0..n {
        s += cost[i] as u32;
        if s > lim { s = lim; }
    }
    return s;
}
fn budget_select(n: u64, cost: [u8; n], s0: u64, limit: u64) -> u64 {
    let s = s0;
    for i in 0..n { let t = s + (cost[i] as u64); s = select(t < limit, t, limit); }
    return s;
}
fn budget_pair(n: u64, d: [u8; n], limit: u32) -> u32 {
    let a: u32 = 0;
    let b: u32 = 0;
    for i in 0..n { a = min(a + (d[i] as u32), limit); b = min(limit, b + a); }
    return a ^ (b << 3);
}
"""

RUN_TIME_CAPPED_REFUSED = """
fn loaded_cap(n: u64, cost: [u16; n], lims: [u32; 4]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s = min(s + (cost[i] as u32), lims[0]); }
    return s;
}
fn moving_cap(n: u64, cost: [u16; n], limit: u32) -> u32 {
    let s: u32 = 0;
    let c = limit;
    for i in 0..n { s = min(s + (cost[i] as u32), c); c += 1; }
    return s;
}
fn capped_by_itself(n: u64, x: [u16; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s = min(x[i] as u32, s); }
    return s;
}
"""


@pytest.mark.parametrize("block_len", [None, 8])
def test_a_run_time_cap_is_deferred_and_checked_before_the_loop(block_len):
    m = module(RUN_TIME_CAPPED)
    knobs = {} if block_len is None else {"block_len": block_len}
    rng = np.random.default_rng(23)
    for fn in m.functions:
        shaped = deferred.deferred_reduction(fn, m, **knobs)
        assert shaped is not None, fn.name
        (site,) = shaped.evidence["loops"]
        assert all(" capped at " in a and "checked before the loop" in a for a in site["accumulators"]), site
        acc = site_of(fn).accs[0]
        mask = fn.params[-1].ty.mask
        limits = sorted({v for v in (0, 1, 254, 255, 1000, acc.modulus, acc.modulus + 1, mask) if v <= mask})
        agree_at_last(m, with_function(m, shaped.function), fn, limits, rng, (0, 1, 7, 8, 9, 40, 300))


def test_a_cap_that_is_loaded_moves_or_is_no_sum_is_refused():
    m = module(RUN_TIME_CAPPED_REFUSED)
    for fn in m.functions:
        assert deferred.deferred_reduction(fn, m) is None, fn.name


@pytest.mark.cc
def test_a_run_time_cap_natively_across_blocks(tmp_path):
    src = tmp_path / "cap.ax"
    src.write_text(RUN_TIME_CAPPED)
    lib = load(pinned("budget", src, tmp_path / "out"))
    ev = lib.manifest.functions["budget"].evidence
    assert ev.shape["shape"] == "deferred-reduction" and ev.champion_refused is None and ev.check.validated
    cost = np.full(200_000, 0xFFFF, np.uint16)  # past three blocks, every term at its largest
    bound = (1 << 32) - (1 << 16)
    for limit in (0, 1, 65535, 10**9, bound - 1, bound, bound + 1, (1 << 32) - 1):
        s = 0
        for x in cost.tolist():  # as written: u32 sums, capped
            s = min((s + x) & 0xFFFFFFFF, limit)
        assert lib.budget(len(cost), cost, limit) == s, limit
