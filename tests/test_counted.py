"""Counted while loops read as for loops (atlas/front/counted.py): which
loops are read so and which are not, the same results as the loop as
written on every input drawn, and the loop shapes written for `for` loops
then taking them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from atlas.front.check import check
from atlas.front.counted import counted_loops
from atlas.front.syntax import parse
from atlas.meaning import interp, ir

RNG_SEED = 41


def module(src: str) -> ir.Module:
    return check(parse(src, "t.ax"))


def loops(m: ir.Module, name: str = "f") -> list[str]:
    return [type(s).__name__ for s in ir.walk_stmts(m.function(name).body) if isinstance(s, (ir.For, ir.While))]


# Each read as a for loop: (text, what the function's loops become).
READ = {
    "sum": (
        """fn f(n: u64, a: [i32; n]) -> i32 {
            let s: i32 = 0;
            let i: u64 = 0;
            while i < n { s += a[i]; i += 1; }
            return s;
        }""",
        ["For"],
    ),
    "flipped, one plus, index kept after": (
        """fn f(n: u64, a: [u8; n], start: u64) -> u64 {
            let k: u64 = start;
            let c: u64 = 0;
            while n > k { c += a[k] as u64; k = 1 + k; }
            return c * 1000 + k;
        }""",
        ["For"],
    ),
    "signed, a bound computed once": (
        """fn f(n: u64, a: [i16; n], lo: i32, hi: i32) -> i32 {
            let s: i32 = 0;
            let j: i32 = lo;
            while j < hi - 3 { s = s * 3 + j; j += 1; }
            return s + j;
        }""",
        ["For"],
    ),
    "narrow, near its top": (
        """fn f(n: u64, a: [u8; n], from: u8) -> u8 {
            let j: u8 = from;
            let x: u8 = 0;
            while j < 255 { x ^= j; j += 1; }
            return x + j;
        }""",
        ["For"],
    ),
    "nested, the outer one's counter not reset": (
        """fn f(n: u64, a: [u32; n], rows: u64) -> u32 {
            let s: u32 = 0;
            let c: u64 = 0;
            for r in 0..rows {
                while c < n { s += a[c] * (r as u32 + 1); c += 1; }
            }
            let r2: u64 = 0;
            while r2 < rows {
                let k: u64 = 0;
                while k < n { s ^= a[k] + (r2 as u32); k += 1; }
                r2 += 1;
            }
            return s;
        }""",
        ["For", "For", "For", "For"],
    ),
    "down, the decrement first": (
        """fn f(n: u64, a: [u32; n]) -> u32 {
            let s: u32 = 0;
            let i: u64 = n;
            while i > 0 { i -= 1; s = s * 7 + a[i] + (i as u32); }
            return s + (i as u32);
        }""",
        ["For"],
    ),
    "down to a bound, signed, the decrement last": (
        """fn f(n: u64, a: [i16; n], lo: i32, hi: i32) -> i32 {
            let s: i32 = 0;
            let i: i32 = hi;
            while lo < i { s = s * 3 + i; i = i - 1; }
            return s * 100 + i;
        }""",
        ["For"],
    ),
    "down to zero, unsigned, not equal": (
        """fn f(n: u64, a: [u8; n]) -> u8 {
            let k: u64 = n;
            let x: u8 = 1;
            while k != 0 { k -= 1; x = x * 5 + a[k]; }
            return x;
        }""",
        ["For"],
    ),
    "down, what the counter started at changed before the loop": (
        """fn f(n: u64, a: [u32; n]) -> u32 {
            let s: u32 = 0;
            let top: u64 = n;
            let i: u64 = top;
            top = top / 2;
            while i > top { i -= 1; s = s * 7 + a[i]; }
            return s;
        }""",
        ["For"],
    ),
    "a return inside": (
        """fn f(n: u64, a: [i32; n], x: i32) -> u64 {
            let i: u64 = 0;
            while i < n {
                if a[i] == x { return i; }
                i += 1;
            }
            return n + i;
        }""",
        ["For"],
    ),
}

# Each kept as a while loop: the reading would not mean the same, or is
# not one this module makes.
KEPT = {
    "step of two": """fn f(n: u64, a: [i32; n]) -> i32 {
        let s: i32 = 0; let i: u64 = 0;
        while i < n { s += a[i]; i += 2; }
        return s;
    }""",
    "at most": """fn f(n: u64, a: [i32; n], m: u8) -> u8 {
        let s: u8 = 0; let i: u8 = 0;
        while i <= m { s += i; if i == 255 { return s; } i += 1; }
        return s;
    }""",
    "not equal": """fn f(n: u64, a: [i32; n], m: u64) -> u64 {
        let s: u64 = 0; let i: u64 = 0;
        while i != m { s += i; i += 1; }
        return s;
    }""",
    "counter also set in the body": """fn f(n: u64, a: [i32; n]) -> i32 {
        let s: i32 = 0; let i: u64 = 0;
        while i < n { s += a[i]; if a[i] < 0 { i += 1; } i += 1; }
        return s;
    }""",
    "bound set in the body": """fn f(n: u64, a: [i32; n]) -> i32 {
        let s: i32 = 0; let i: u64 = 0; let m: u64 = n;
        while i < m { s += a[i]; if a[i] < 0 { m -= 1; } i += 1; }
        return s;
    }""",
    "bound read from an array the body writes": """fn f(n: u64, a: mut [u64; n]) -> u64 {
        let i: u64 = 0;
        while i < a[0] { a[0] = a[0] - 1; i += 1; }
        return i;
    }""",
    "increment not last": """fn f(n: u64, a: [i32; n]) -> i32 {
        let s: i32 = 0; let i: u64 = 0;
        while i < n { i += 1; s += i as i32; }
        return s;
    }""",
    "a break": """fn f(n: u64, a: [i32; n]) -> i32 {
        let s: i32 = 0; let i: u64 = 0;
        while i < n { if a[i] == 0 { break; } s += a[i]; i += 1; }
        return s;
    }""",
    "down by two": """fn f(n: u64, a: [i32; n]) -> i32 {
        let s: i32 = 0; let i: u64 = n;
        while i > 1 { i -= 2; s = s * 3 + a[i]; }
        return s;
    }""",
    "down, signed, not equal": """fn f(n: u64, a: [i32; n], x: i8) -> i32 {
        let s: i32 = 0; let i: i8 = x;
        while i != 0 { i -= 1; s = s * 3 + (i as i32); }
        return s;
    }""",
    "down, the decrement in the middle": """fn f(n: u64, a: [i32; n]) -> i32 {
        let s: i32 = 0; let i: u64 = n;
        while i > 0 { s += 1; i -= 1; s = s * 3 + a[i]; }
        return s;
    }""",
    "a float counter": """fn f(n: u64, a: [i32; n], m: f64) -> f64 {
        let x: f64 = 0.0; let s: f64 = 0.0;
        while x < m { s += x; x += 1.0; if s > 1000.0 { return s; } }
        return s;
    }""",
}


@pytest.mark.parametrize("name", READ)
def test_a_counted_while_is_read_as_a_for_loop(name):
    src, want = READ[name]
    assert loops(counted_loops(module(src))) == want


@pytest.mark.parametrize("name", KEPT)
def test_other_while_loops_are_kept_as_written(name):
    m = module(KEPT[name])
    assert counted_loops(m) == m


def test_the_counter_keeps_its_final_value_only_where_it_is_read_after():
    """j ends at hi where the loop ran: the `if` that says so is there when
    something reads j after the loop, and left out when nothing does."""
    read_after = counted_loops(module(READ["flipped, one plus, index kept after"][0])).function("f")
    dead_after = counted_loops(module(READ["sum"][0])).function("f")
    assert any(isinstance(s, ir.If) for s in read_after.body)
    assert not any(isinstance(s, ir.If) for s in dead_after.body)


def _args(fn: ir.Function, rng) -> list:
    n = int(rng.integers(0, 12))
    out: list = []
    for p in fn.params:
        if isinstance(p.ty, ir.Array):
            lo, hi = (0, 1 << 8) if p.ty.elem.bits <= 8 else (-40, 40)
            v = rng.integers(lo, hi, n) if p.ty.elem.signed or lo >= 0 else rng.integers(0, 40, n)
            out.append(np.asarray(v).astype(interp.dtype(p.ty.elem)))
        elif p.name == "n":
            out.append(n)
        elif p.ty.is_float:
            out.append(float(rng.integers(-3, 30)))
        else:
            lo, hi = (-20, 20) if p.ty.signed else (0, 20)
            v = int(rng.integers(lo, hi))
            top = (127 if p.ty.signed else 250) if p.ty.bits == 8 else n + 2
            out.append(v if rng.random() < 0.8 else top)
    return out


@pytest.mark.parametrize("name", [*READ, *KEPT])
def test_the_reading_computes_what_the_loop_as_written_computes(name):
    src = READ[name][0] if name in READ else KEPT[name]
    written = module(src)
    read = counted_loops(written)
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(150):
        args = _args(written.function("f"), rng)
        mine = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        want = interp.run(written, "f", *args, fuel=200_000)
        got = interp.run(read, "f", *mine, fuel=200_000)
        assert got == want, (name, args)
        assert all(np.array_equal(a, b) for a, b in zip(args, mine) if isinstance(a, np.ndarray))


ADLER_WHILE = """
fn adler(len: u64, buf: [u8; len]) -> u32 {
    let lo: u64 = 1;
    let hi: u64 = 0;
    let j: u64 = 0;
    while j < len {
        lo = lo + (buf[j] as u64);
        if lo >= 65521 { lo = lo - 65521; }
        hi = hi + lo;
        if hi >= 65521 { hi = hi - 65521; }
        j += 1;
    }
    return ((hi as u32) << 16) | (lo as u32);
}
"""

AFFINE_WHILE = """
fn hash(n: u64, s: [u8; n]) -> u32 {
    let h: u32 = 7;
    let p: u64 = 0;
    while p < n { h = 31 * h + (s[p] as u32); p = p + 1; }
    return h;
}
"""


SUM_DOWN = """
fn sum_down(n: u64, w: [u16; n]) -> u32 {
    let s: u32 = 0;
    let i: u64 = n;
    while i > 0 {
        i -= 1;
        s = (s + (w[i] as u32)) % 65521;
    }
    return s;
}
"""


@pytest.mark.parametrize(
    "src, name, shape",
    [
        (ADLER_WHILE, "adler", "deferred-reduction"),
        (AFFINE_WHILE, "hash", "affine-lanes"),
        (ADLER_WHILE, "adler", "inbounds"),
        (SUM_DOWN, "sum_down", "deferred-reduction"),
        (SUM_DOWN, "sum_down", "inbounds"),
    ],
)
def test_a_loop_shape_written_for_for_loops_takes_the_counted_while(src, name, shape):
    """The same kernel in its while spelling gets its family's shape, which
    it did not before the reading (the shapes see only for loops)."""
    from atlas.search.explode import loop_shape

    written = module(src).function(name)
    assert loop_shape(shape)(written, differential=False) is None
    made = loop_shape(shape)(counted_loops(module(src)).function(name))
    assert made is not None


def _compile(tmp_path, src: str, stem: str):
    from atlas.machine import probe as hw
    from atlas.machine.manifest import Manifest
    from atlas.pipeline import compile_files

    path = tmp_path / f"{stem}.ax"
    path.write_text(src)
    out = tmp_path / stem
    compile_files([str(path)], hw.probe(), out)
    return Manifest.from_json(json.loads((out / "manifest.json").read_text()), "manifest"), out


TWO = (
    SUM_DOWN
    + """
fn plain(n: u64, w: [u16; n]) -> u32 {
    let s: u32 = 0;
    for i in 0..n { s += w[i] as u32; }
    return s;
}
"""
)


def test_the_manifest_names_each_loop_read_and_how_the_reading_was_checked(tmp_path):
    m, _ = _compile(tmp_path, TWO, "two")
    read = m.functions["sum_down"].evidence
    assert read.reading is not None and read.reading.kept
    assert read.reading.loops == (f"{tmp_path / 'two.ax'}:5:5",)
    assert read.reading.check.validated and read.reading.check.proven.startswith("Z3: equal")
    assert read.reading.check.runs_agree is True
    assert "while loop read as for loops" in read.proof
    assert m.functions["plain"].evidence.reading is None  # nothing read, nothing said


def test_a_reading_its_check_refutes_is_not_used(tmp_path, monkeypatch):
    """A reading that leaves out the counter's final value, made here on
    purpose: the check finds it, the function keeps its while loop, and its
    library computes what the loop as written computes."""
    from atlas import pipeline
    from atlas.machine import runtime

    def wrong(m: ir.Module) -> ir.Module:
        read = counted_loops(m)
        return ir.Module(
            tuple(replace(f, body=tuple(s for s in f.body if not isinstance(s, ir.If))) for f in read.functions),
            read.sources,
            read.devices,
        )

    monkeypatch.setattr(pipeline, "counted_loops", wrong)
    src = READ["flipped, one plus, index kept after"][0]
    m, out = _compile(tmp_path, src, "kept")
    r = m.functions["f"].evidence.reading
    assert r is not None and not r.kept and not r.check.validated
    lib = runtime.load(out)
    rng = np.random.default_rng(RNG_SEED)
    fn = module(src).function("f")
    for _ in range(20):
        args = _args(fn, rng)
        assert lib.f(*args) == interp.run(module(src), "f", *args)


def test_explain_shows_the_loops_read(tmp_path):
    from atlas.machine import probe as hw
    from atlas.tools.explain import explain, render_text

    path = tmp_path / "two.ax"
    path.write_text(TWO)
    doc = explain([path], hw.probe(), "this machine")
    by_name = {f["name"]: f for f in doc["functions"]}
    assert by_name["sum_down"]["reading"]["loops"] == [f"{path}:5:5"]
    assert "reading" not in by_name["plain"]
    assert f"while {path}:5:5: read as a for loop" in render_text(doc)
