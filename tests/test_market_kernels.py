"""The tile kernels of a tiled Cholesky factorisation (intents/market/cholesky.ax),
compiled by Atlas: each against numpy, a whole tiled factorisation against
np.linalg.cholesky, and the compiled code against the reference interpreter
bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import golden
from atlas import load
from atlas.front.check import check
from atlas.front.syntax import parse, read_source
from atlas.machine.probe import probe
from atlas.meaning import interp
from atlas.pipeline import compile_files

SOURCE = golden.ROOT / "intents" / "market" / "cholesky.ax"
SIZES = [1, 3, 16]
RTOL, ATOL = 1e-10, 1e-12

pytestmark = pytest.mark.cc


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    out = tmp_path_factory.mktemp("cholesky") / "out"
    compile_files([SOURCE], probe(), out, search=None)
    return load(out)


def spd(rng, n: int) -> np.ndarray:
    """A well-conditioned symmetric positive definite n x n matrix."""
    m = rng.standard_normal((n, n))
    return m @ m.T + n * np.eye(n)


def lower(rng, b: int) -> np.ndarray:
    """A well-conditioned lower-triangular factor (positive diagonal); its upper triangle is noise."""
    noise = rng.standard_normal((b, b))
    return np.tril(np.linalg.cholesky(spd(rng, b))) + np.triu(noise, 1)


def flat(m: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(m, dtype=np.float64).ravel().copy()


@pytest.mark.parametrize("b", SIZES)
def test_potrf(lib, b):
    rng = np.random.default_rng(b)
    s = spd(rng, b)
    a = flat(s)
    lib.potrf(b, a)
    got = a.reshape(b, b)
    assert np.allclose(np.tril(got), np.linalg.cholesky(s), rtol=RTOL, atol=ATOL)
    assert np.array_equal(np.triu(got, 1), np.triu(s, 1))  # the strict upper triangle is untouched


@pytest.mark.parametrize("b", SIZES)
def test_trsm(lib, b):
    rng = np.random.default_rng(100 + b)
    l0, a0 = lower(rng, b), rng.standard_normal((b, b))
    a = flat(a0)
    lib.trsm(b, flat(l0), a)
    want = np.linalg.solve(np.tril(l0), a0.T).T  # X L^T = A
    assert np.allclose(a.reshape(b, b), want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("b", SIZES)
def test_syrk_updates_the_whole_tile(lib, b):
    rng = np.random.default_rng(200 + b)
    a0, c0 = rng.standard_normal((b, b)), spd(rng, b)
    c = flat(c0)
    lib.syrk(b, flat(a0), c)
    assert np.allclose(c.reshape(b, b), c0 - a0 @ a0.T, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("b", SIZES)
def test_gemm(lib, b):
    rng = np.random.default_rng(300 + b)
    a0, bt0, c0 = (rng.standard_normal((b, b)) for _ in range(3))
    c = flat(c0)
    lib.gemm(b, flat(a0), flat(bt0), c)
    assert np.allclose(c.reshape(b, b), c0 - a0 @ bt0.T, rtol=RTOL, atol=ATOL)


def tiled_cholesky(lib, s: np.ndarray, b: int) -> np.ndarray:
    """Factor s with the compiled kernels, tile by tile (right-looking); the lower factor."""
    t = s.shape[0] // b
    tile = {(i, j): flat(s[i * b : (i + 1) * b, j * b : (j + 1) * b]) for i in range(t) for j in range(i + 1)}
    for k in range(t):
        lib.potrf(b, tile[k, k])
        for i in range(k + 1, t):
            lib.trsm(b, tile[k, k], tile[i, k])
        for i in range(k + 1, t):
            lib.syrk(b, tile[i, k], tile[i, i])
            for j in range(k + 1, i):
                lib.gemm(b, tile[i, k], tile[j, k], tile[i, j])
    out = np.zeros_like(s)
    for (i, j), v in tile.items():
        out[i * b : (i + 1) * b, j * b : (j + 1) * b] = v.reshape(b, b)
    return np.tril(out)


@pytest.mark.parametrize("n, b", [(48, 16), (12, 3)])
def test_tiled_factorisation_matches_numpy(lib, n, b):
    s = spd(np.random.default_rng(n), n)
    got = tiled_cholesky(lib, s, b)
    assert np.allclose(got, np.linalg.cholesky(s), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ["potrf", "trsm", "syrk", "gemm"])
def test_compiled_matches_the_interpreter_bit_for_bit(lib, name):
    module = check(parse(read_source(SOURCE), str(SOURCE)))
    b = 16
    rng = np.random.default_rng(7)
    inputs = {
        "potrf": [spd(rng, b)],
        "trsm": [lower(rng, b), rng.standard_normal((b, b))],
        "syrk": [rng.standard_normal((b, b)), spd(rng, b)],
        "gemm": [rng.standard_normal((b, b)) for _ in range(3)],
    }[name]
    compiled, interpreted = [flat(m) for m in inputs], [flat(m) for m in inputs]
    getattr(lib, name)(b, *compiled)
    interp.run(module, name, b, *interpreted)
    assert not np.array_equal(compiled[-1], flat(inputs[-1]))  # the kernel did write its output
    assert compiled[-1].tobytes() == interpreted[-1].tobytes()
