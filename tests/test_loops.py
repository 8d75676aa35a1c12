"""atlas/search/loops.py: the end-around-carry loop rewritten to a wide accumulator,
proven by induction with Z3, checked against the interpreter (and, with a C
compiler, natively)."""

from __future__ import annotations

import ctypes
import json
import platform
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from atlas.meaning import interp, ir
from atlas.search import loops, straight
from atlas.front.check import check
from atlas.pipeline import front
from atlas.logic.verdict import Status
from atlas.machine.probe import Cpu, Probe, load_probe
from atlas.front.specialise import specialise
from atlas.front.syntax import parse

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
INET = ROOT / "intents" / "inet_checksum.ax"
PROBE = load_probe(FIXTURES / "probe-popcnt.json")


def module(src: str) -> ir.Module:
    return specialise(check(parse(src, "t.ax")), PROBE)[0]


def inet_module() -> ir.Module:
    return front([INET], PROBE)[1]


def rewritten(m: ir.Module, name: str | None = None, **kw):
    fn = m.functions[0] if name is None else m.function(name)
    shaped = loops.end_around_carry(fn, m, **kw)
    if shaped is None:
        return None, None
    new = ir.Module(tuple(shaped.function if f.name == fn.name else f for f in m.functions), m.sources)
    return new, shaped


def reference(data) -> int:
    """kernels.c's inet_checksum, transcribed."""
    s = 0
    for x in data:
        s = (s + int(x)) & 0xFFFFFFFF
        if s > 0xFFFF:
            s = (s & 0xFFFF) + (s >> 16)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def inputs(rng, dtype=np.uint16):
    """Lengths 0..50 of random data, and the edges: all ones, all zeros, mixed."""
    top = np.iinfo(dtype).max
    out = [rng.integers(0, top, n, dtype=dtype, endpoint=True) for n in range(51)]
    for n in (0, 1, 2, 3, 17, 50):
        out.append(np.full(n, top, dtype=dtype))
        out.append(np.zeros(n, dtype=dtype))
        mixed = np.zeros(n, dtype=dtype)
        mixed[::2] = top
        mixed[1::3] = 1
        out.append(mixed)
    return out


def declared(stmts):
    for s in stmts:
        if isinstance(s, ir.Let):
            yield s.name
        elif isinstance(s, ir.For):
            yield s.var
        for b in (getattr(s, "then", ()), getattr(s, "else_", ()), getattr(s, "body", ())):
            yield from declared(b)


# ---------------------------------------------------------------- the intent


def test_inet_checksum_is_rewritten_with_a_proof():
    m = inet_module()
    new, shaped = rewritten(m)
    assert shaped is not None
    ev = shaped.evidence
    assert ev["shape"] == "wide-accumulator"
    assert "n < 0x10000000000u64" in ev["guard"] and "sum <= 65535u32" in ev["guard"]
    assert "induction" in ev["proof"]
    (site,) = ev["loops"]
    assert site["folds"] == 4
    assert set(site["obligations"]) == {"times", "trip", "init", "step", "exit"}
    assert all(v.startswith("proven") for v in site["obligations"].values())
    assert site["fewer_folds"].startswith("3 folds: refuted")  # 4 is the least
    assert ev["differential"]["agree"] is True and ev["differential"]["runs"] > 0
    json.dumps(ev)  # goes into a manifest as it is

    fn = shaped.function
    text = ir.pretty_function(fn)
    assert "sum.wide: u64" in text and "for i.wide: u64 in 0u64..n" in text
    names = list(declared(fn.body))
    assert len(names) == len(set(names))  # locals stay unique
    # the guarded branch: a plain u64 reduction, then the folds; the original loop in the else
    stmt = fn.body[1]
    assert isinstance(stmt, ir.If) and stmt.else_ == (m.functions[0].body[1],)
    wide_loop = stmt.then[1]
    assert isinstance(wide_loop, ir.For) and len(wide_loop.body) == 1
    assert sum(isinstance(s, ir.Assign) and s.name == "sum.wide" for s in stmt.then) == 4


def test_rewrite_agrees_with_the_interpreter():
    m = inet_module()
    new, _ = rewritten(m)
    rng = np.random.default_rng(7)
    for data in inputs(rng):
        want = interp.run(m, "inet_checksum", len(data), data.copy())
        assert interp.run(new, "inet_checksum", len(data), data.copy()) == want == reference(data)


def test_the_logic_stages_spelling_is_recognised():
    """After saturate/verify the body holds lets of temporaries (`let t.x1 =
    sum + ..; sum = t.x1;`): the search hands end_around_carry that form."""
    from atlas.pipeline import middle

    verified, _ = middle(inet_module(), PROBE)
    m = verified.module
    new, shaped = rewritten(m)
    assert shaped is not None, ir.pretty_module(m)
    rng = np.random.default_rng(3)
    for data in inputs(rng)[::4]:
        assert interp.run(new, "inet_checksum", len(data), data.copy()) == reference(data)


# ---------------------------------------------------------------- spellings


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
SPELLINGS = {
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
}


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_equivalent_spellings_are_rewritten(name):
    m = module(checksum_src(SPELLINGS[name]))
    new, shaped = rewritten(m)
    assert shaped is not None, name
    rng = np.random.default_rng(11)
    for data in inputs(rng)[::3]:
        assert interp.run(new, "f", len(data), 0, data.copy()) == interp.run(m, "f", len(data), 0, data.copy())


@pytest.mark.parametrize("variant", ["u8-data", "u32-index", "u16-index", "bounds", "start-value", "nested"])
def test_other_shapes_of_the_loop(variant):
    body = SPELLINGS["as-written"]
    src = {
        "u8-data": checksum_src(body, elem="u8"),
        "u32-index": checksum_src(body, n="u32"),
        "u16-index": checksum_src(body, n="u16"),
        "bounds": checksum_src(body, loop="for i in n / 3..n - n / 4"),
        "start-value": checksum_src(body, init="s0"),  # s0 > 0xffff takes the source loop
        "nested": checksum_src(f"for r in 0..2 {{ for i in 0..n {{ {body} }} }}", loop="if n > 1"),
    }[variant]
    m = module(src)
    new, shaped = rewritten(m)
    assert shaped is not None
    folds = shaped.evidence["loops"][0]["folds"]
    assert folds == {"u32-index": 3, "u16-index": 2}.get(variant, 4)  # the type bounds the trips
    if variant in ("u32-index", "u16-index"):
        assert "&&" not in shaped.evidence["guard"]  # no trip-count test needed
    p = m.functions[0].params
    elem = interp.dtype(p[2].ty.elem)
    rng = np.random.default_rng(5)
    for data in inputs(rng, elem)[::2]:
        for s0 in (0, 1, 0xFFFF, 0x10000, 0xFFFFFFFF, int(rng.integers(0, 1 << 32))):
            args = (len(data), s0)
            assert interp.run(new, "f", *args, data.copy()) == interp.run(m, "f", *args, data.copy()), (
                variant,
                len(data),
                s0,
            )


def test_two_loops_get_distinct_fresh_names():
    src = """
fn g(n: u64, a: [u16; n], b: [u16; n]) -> u32 {
    let sum: u32 = 0;
    for i in 0..n { sum += a[i] as u32; if sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16); } }
    let other: u32 = sum;
    for i in 0..n { other += b[i] as u32; if other > 0xffff { other = (other & 0xffff) + (other >> 16); } }
    return sum ^ (other << 16);
}
"""
    m = module(src)
    fn = m.functions[0]
    # a local that already has the name the rewrite would pick
    clash = replace(fn, body=(ir.Let("sum.wide", ir.U8, ir.Const(0, ir.U8)),) + fn.body)
    m = ir.Module((clash,), m.sources)
    new, shaped = rewritten(m)
    assert shaped is not None and len(shaped.evidence["loops"]) == 2
    names = list(declared(shaped.function.body))
    assert len(names) == len(set(names)), names
    assert shaped.evidence["loops"][0]["accumulator"] == "sum.wide2"
    rng = np.random.default_rng(9)
    for n in (0, 1, 5, 40):
        a = rng.integers(0, 0xFFFF, n, dtype=np.uint16, endpoint=True)
        b = np.full(n, 0xFFFF, dtype=np.uint16)
        assert interp.run(new, "g", n, a.copy(), b.copy()) == interp.run(m, "g", n, a.copy(), b.copy())


# ---------------------------------------------------------------- near misses

NEAR_MISSES = {
    "fold-0xfffe": checksum_src("sum += data[i] as u32; if sum > 0xffff { sum = (sum & 0xfffe) + (sum >> 16); }"),
    "test-0xfffe": checksum_src(f"sum += data[i] as u32; if sum > 0xfffe {{ {FOLD} }}"),
    "test-0x1ffff": checksum_src(f"sum += data[i] as u32; if sum > 0x1ffff {{ {FOLD} }}"),
    "shift-15": checksum_src("sum += data[i] as u32; if sum > 0xffff { sum = (sum & 0xffff) + (sum >> 15); }"),
    "u32-data": checksum_src(f"sum += data[i]; if sum > 0xffff {{ {FOLD} }}", elem="u32"),
    "i16-data": checksum_src(f"sum += data[i] as u32; if sum > 0xffff {{ {FOLD} }}", elem="i16"),
    "no-fold": checksum_src("sum += data[i] as u32;"),
    "fold-other": checksum_src("sum += data[i] as u32; if s0 > 0xffff { sum = (sum & 0xffff) + (sum >> 16); }"),
    "index-reads-sum": checksum_src(f"sum += data[sum as u64 % n] as u32; if sum > 0xffff {{ {FOLD} }}"),
    "signed-index": checksum_src(
        f"sum += data[i] as u32; if sum > 0xffff {{ {FOLD} }}", loop="for i in 0 as i64..n as i64"
    ),
    "u64-sum": """
fn f(n: u64, s0: u32, data: [u16; n]) -> u64 {
    let sum: u64 = 0;
    for i in 0..n { sum += data[i] as u64; if sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16); } }
    return sum;
}
""",
    "second-write": """
fn f(n: u64, s0: u32, data: [u16; n]) -> u32 {
    let sum: u32 = 0;
    let c: u32 = 0;
    for i in 0..n { sum += data[i] as u32; if sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16); c = c + 1; } }
    return sum + c;
}
""",
}


@pytest.mark.parametrize("name", sorted(NEAR_MISSES))
def test_near_misses_are_not_rewritten(name):
    m = module(NEAR_MISSES[name])
    assert loops.end_around_carry(m.functions[0], m) is None


def test_other_intents_are_left_alone():
    for path in sorted((ROOT / "intents").glob("*.ax")):
        if path.name == "inet_checksum.ax":
            continue
        m = front([path], PROBE)[1]
        for fn in m.functions:
            assert loops.end_around_carry(fn, m) is None, (path.name, fn.name)


# ---------------------------------------------------------------- the prover itself


def site_of(src: str) -> loops.Site:
    """A Site built by hand, bypassing the recogniser, from a loop's first load."""
    fn = module(src).functions[0]
    loop = next(s for s in fn.body if isinstance(s, ir.For))
    load = next(x for s in loop.body for e in straight.stmt_exprs((s,)) for x in ir.walk(e) if isinstance(x, ir.Load))
    return loops.Site(loop, "sum", load)


def test_prover_refuses_too_few_folds():
    m = inet_module()
    for folds in (1, 2, 3):
        assert loops.end_around_carry(m.functions[0], m, folds=folds) is None
        proof = loops.prove_site(loops._match(m.functions[0].body[1], m.functions[0]), folds=folds)
        assert not proof.proven and proof.obligations["exit"].status is Status.REFUTED, proof.obligations
    proof = loops.prove_site(loops._match(m.functions[0].body[1], m.functions[0]), folds=5)
    assert proof.proven  # more than needed is fine (a fold is the identity below 2^16)


def test_the_provers_limit_is_work_not_time(monkeypatch):
    """Z3's resource limit, not the clock, decides: with too little of it
    an obligation is undecided whatever the machine's load; with the
    shipped limit the same site is proven."""
    from atlas.logic import rules

    m = inet_module()
    site = loops._match(m.functions[0].body[1], m.functions[0])
    assert loops.prove_site(site, folds=4).proven
    monkeypatch.setattr(rules, "PROOF_RLIMIT", 1_000)
    monkeypatch.setattr(loops, "SEED_RLIMIT", 1_000)
    proof = loops.prove_site(site, folds=4, timeout_ms=600_000)
    assert not proof.proven
    assert any(v.status is Status.UNDECIDED for v in proof.obligations.values()), proof.obligations


def test_prover_refuses_a_trip_bound_that_lets_w_wrap():
    m = inet_module()
    assert loops.end_around_carry(m.functions[0], m, trip_bound_bits=50) is None
    proof = loops.prove_site(loops._match(m.functions[0].body[1], m.functions[0]), trip_bound_bits=50)
    assert not proof.proven and "exit" in proof.why and "refuted" in proof.why


def test_prover_reads_the_body_not_the_pattern():
    """Handed loops the recogniser would turn away, the proof decides from
    their statements: a wrong fold is refuted at the step, while testing
    `sum > 0xfffe` is proven equivalent (the fold is the identity on
    0xffff), though end_around_carry does not take that spelling."""
    bad = site_of(NEAR_MISSES["fold-0xfffe"])
    proof = loops.prove_site(bad)
    assert not proof.proven and proof.obligations["step"].status is Status.REFUTED
    proof = loops.prove_site(site_of(NEAR_MISSES["test-0x1ffff"]))
    assert not proof.proven and proof.obligations["step"].status is Status.REFUTED
    proof = loops.prove_site(site_of(NEAR_MISSES["test-0xfffe"]))
    assert proof.proven and proof.wide.folds == 4
    with pytest.raises(ValueError):
        loops.prove_site(site_of(NEAR_MISSES["second-write"]))  # outside what the proof covers


def test_invariant_obligations_are_each_checked():
    """A broken invariant is refused: dropping `s == 0 -> q == 0` breaks the exit."""
    m = inet_module()
    site = loops._match(m.functions[0].body[1], m.functions[0])

    class Weak(loops._Obligations):
        def inv(self, s, w, q, k):
            import z3

            return z3.And(w == z3.ZeroExt(32, s) + loops._times_ffff(q), z3.ULE(s, 0xFFFF), z3.ULE(q, k))

    assert loops.prove_site(site).proven
    proof = loops.prove_site(site, obligations=Weak)
    assert not proof.proven and proof.why.startswith("exit: refuted")


# ---------------------------------------------------------------- native code


def _native_probe():
    from atlas.machine import runtime

    have = runtime.host_cpu_flags()
    if have is None or set(PROBE.cpu.features) <= have:
        return PROBE
    return Probe(cpu=Cpu(arch="x86_64", llvm_cpu="x86-64", features=tuple(sorted(have)), cores=1, threads=1))


def _build(m: ir.Module, outdir: Path):
    from atlas.machine import runtime

    X86 = pytest.importorskip("atlas.backends.x86_64")
    outdir.mkdir(parents=True, exist_ok=True)
    em = X86.X86Backend().emit(m, _native_probe(), outdir)
    (outdir / "manifest.json").write_text(
        json.dumps({"format": "atlas-artefact/1", "backend": "x86_64", **em.manifest})
    )
    return runtime.load(outdir)


@pytest.mark.cc
@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="runs x86_64 code")
def test_native_rewrite_matches_the_c_reference(tmp_path):
    m = inet_module()
    new, _ = rewritten(m)
    lib = _build(new, tmp_path / "wide")
    src = _build(m, tmp_path / "src")
    words = np.full((1 << 16) + 5, 0xFFFF, dtype=np.uint16)
    want = reference(words)
    assert lib.inet_checksum(len(words), words) == want == src.inet_checksum(len(words), words)
    rng = np.random.default_rng(1)
    for data in inputs(rng) + [rng.integers(0, 0xFFFF, 100_003, dtype=np.uint16, endpoint=True)]:
        assert lib.inet_checksum(len(data), data) == reference(data)

    # and kernels.c itself, where the benchmark's C is at hand
    kernels = ROOT.parent / "shared" / "bench" / "kernels.c"
    if kernels.exists():
        so = tmp_path / "kernels.so"
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(so), str(kernels)], check=True)
        c = ctypes.CDLL(str(so)).inet_checksum
        c.argtypes, c.restype = [ctypes.c_size_t, ctypes.c_void_p], ctypes.c_uint16
        for data in (words, rng.integers(0, 0xFFFF, 4097, dtype=np.uint16, endpoint=True)):
            assert lib.inet_checksum(len(data), data) == c(len(data), data.ctypes.data)
