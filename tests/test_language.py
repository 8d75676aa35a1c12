"""The language as the reference interpreter defines it: small programs with
results worked out by hand."""

from dataclasses import replace

import numpy as np
import pytest

from atlas.meaning import interp, ir
from atlas.front.check import check
from atlas.front.specialise import specialise
from atlas.front.syntax import parse
from atlas.machine.probe import Cache, Cpu, Probe

HOST_LIKE = Probe(
    cpu=Cpu(
        arch="x86_64",
        features=("popcnt", "sse2"),
        cores=4,
        threads=8,
        cache=Cache(l1d=32768, l1i=32768, l2=262144, l3=8388608),
    ),
    memory_bytes=1 << 34,
)


def module(src, probe=HOST_LIKE):
    return specialise(check(parse(src, "t.ax")), probe)[0]


def run(src, fn, *args, probe=HOST_LIKE):
    return interp.run(module(src, probe), fn, *args)


def test_literals_take_their_context_type():
    src = "fn f(x: u8) -> u8 { return x + 250; }"
    assert run(src, "f", 10) == 4  # wraps at 8 bits
    assert run("fn f() -> i8 { return -128; }", "f") == -128
    assert run("fn f() -> u64 { return 0xffff_ffff_ffff_ffff; }", "f") == 2**64 - 1
    assert run("fn f() -> f32 { return 0.1; }", "f") == float(np.float32(0.1))
    assert run("fn f() -> i32 { let x = 7; return x / 2; }", "f") == 3  # unsuffixed defaults to i32


def test_precedence_is_rusts():
    assert run("fn f(a: u32) -> bool { return a & 1 == 1; }", "f", 3) is True
    assert run("fn f() -> i32 { return 1 + 2 * 3 << 1; }", "f") == 14
    assert run("fn f(x: i32) -> u8 { return -x as u8; }", "f", 1) == 255


def test_shadowing_and_blocks():
    src = """
    fn f() -> i32 {
        let x = 1;
        if true { let x = 10; x += 1; }
        for i in 0..3 { let x = 100; }
        return x;
    }"""
    assert run(src, "f") == 1


def test_loops_and_early_return():
    src = """
    fn first_negative(n: u64, x: [i32; n]) -> i64 {
        for i in 0..n {
            if x[i] < 0 { return i as i64; }
        }
        return -1;
    }"""
    assert run(src, "first_negative", 4, np.array([3, 0, -2, -5], np.int32)) == 2
    assert run(src, "first_negative", 2, np.array([3, 0], np.int32)) == -1


def test_for_loop_bounds_evaluated_once_and_signed():
    src = """
    fn f(lo: i32, hi: i32) -> i32 {
        let count = 0;
        for i in lo..hi { count += 1; }
        return count;
    }"""
    assert run(src, "f", -3, 2) == 5
    assert run(src, "f", 5, -5) == 0


def test_arrays_out_of_range_read_zero_and_drop_writes():
    src = """
    fn f(n: u64, x: mut [i32; n]) -> i32 {
        x[n] = 7;
        x[n + 100] = 7;
        x[0] = x[n + 5] + x[n];
        return x[-1 as u64] + 1;
    }"""
    x = np.array([5, 6], np.int32)
    assert run(src, "f", 2, x) == 1
    assert x.tolist() == [0, 6]


def test_calls_share_arrays_and_lengths_must_match():
    src = """
    fn fill(m: u64, v: i32, out: mut [i32; m]) {
        for i in 0..m { out[i] = v; }
    }
    fn total(m: u64, x: [i32; m]) -> i32 {
        let s = 0;
        for i in 0..m { s += x[i]; }
        return s;
    }
    fn main(n: u64, buf: mut [i32; n]) -> i32 {
        fill(n, 3, buf);
        return total(n, buf);
    }"""
    buf = np.zeros(4, np.int32)
    assert run(src, "main", 4, buf) == 12
    assert buf.tolist() == [3, 3, 3, 3]


def test_matrix_lengths_are_expressions():
    src = "fn trace(n: u64, a: [f64; n * n]) -> f64 { let s = 0.0; for i in 0..n { s += a[i * n + i]; } return s; }"
    a = np.arange(9, dtype=np.float64)
    assert run(src, "trace", 3, a) == 0 + 4 + 8
    with pytest.raises(ValueError, match="declared length"):
        run(src, "trace", 4, a)


def test_bind_rejects_bad_arguments():
    src = "fn f(n: u64, x: [u8; n], y: mut [u8; n]) { }"
    m = module(src)
    a = np.zeros(3, np.uint8)
    with pytest.raises(ValueError, match="overlap"):
        interp.run(m, "f", 3, a, a)
    with pytest.raises(ValueError, match="must have dtype uint8"):
        interp.run(m, "f", 3, a, np.zeros(3, np.int8))
    with pytest.raises(ValueError, match="does not fit"):
        interp.run(m, "f", -1, a, a.copy())


def test_while_and_logical_short_circuit():
    src = """
    fn probe_len(n: u64, x: [u8; n]) -> u64 {
        let i: u64 = 0;
        while i < n && x[i] != 0 { i += 1; }
        return i;
    }"""
    assert run(src, "probe_len", 5, np.array([1, 2, 0, 4, 5], np.uint8)) == 2


def test_when_is_decided_by_the_probe():
    src = """
    fn f() -> u32 {
        when hw.cpu.avx512f { return 512; }
        else when hw.cpu.popcnt && hw.cpu.cache.l2 >= 262144 { return 2; }
        else { return 1; }
    }"""
    m = check(parse(src, "t.ax"))
    with_pop, decisions = specialise(m, HOST_LIKE)
    assert interp.run(with_pop, "f") == 2
    assert [d.taken for d in decisions] == ["else", "then"]
    bare = replace(HOST_LIKE, cpu=replace(HOST_LIKE.cpu, features=("sse2",)))
    plain, _ = specialise(m, bare)
    assert interp.run(plain, "f") == 1
    # the branch not taken is gone from the IR
    assert "512" not in ir.pretty_module(with_pop)
    assert not any(isinstance(s, ir.When) for s in with_pop.functions[0].body)


def test_primitives_in_programs():
    src = """
    fn f(x: u32, y: i16) -> u64 {
        let a = popcount(x) as u64 + clz(x) as u64 + ctz(x) as u64;
        let b = wmul(y, y) as u64;
        let c = rotl(x, 36) as u64;
        return a + b + c + select(x > 3, 1u64, 2u64);
    }"""
    x, y = 0x00F0_0000, -300
    a = 4 + 8 + 20
    b = 90000
    c = ((x << 4) | (x >> 28)) & 0xFFFFFFFF
    assert run(src, "f", x, y) == a + b + c + 1


def test_fuel_stops_runaway_loops():
    m = module("fn spin() { while true { } }")
    with pytest.raises(interp.OutOfFuel):
        interp.run(m, "spin", fuel=1000)
