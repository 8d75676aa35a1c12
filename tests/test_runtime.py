"""The loader: calls reach machine code only under the interpreter's contract."""

import numpy as np
import pytest

from atlas.meaning import interp
from atlas.machine import runtime
from atlas.pipeline import compile_files, front
from atlas.machine.probe import probe as probe_host

pytestmark = pytest.mark.cc

SRC = """
fn pick(n: u8, x: [u8; n * 2], i: u64) -> u8 { return x[i]; }
fn fill(n: u64, v: f32, y: mut [f32; n]) { for i in 0..n { y[i] = v; } }
"""


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rt")
    (folder / "rt.ax").write_text(SRC)
    host = probe_host()
    compile_files([folder / "rt.ax"], host, folder / "out")
    return runtime.load(folder / "out"), front([folder / "rt.ax"], host)[1]


def test_a_length_that_wraps_in_its_type_is_refused(both):
    lib, module = both
    x = np.arange(400, dtype=np.int64).astype(np.uint8)
    # 200 * 2 is 400 exactly (the buffer's size) but 144 in u8, as machine code computes it
    assert interp.run(module, "pick", 200, x, 300) == 300 % 256
    with pytest.raises(ValueError, match="overflows its type u8"):
        lib.pick(200, x, 300)
    assert lib.pick(100, x[:200].copy(), 150) == 150


def test_signature_and_results(both):
    lib, _ = both
    assert sorted(lib.functions) == ["fill", "pick"]
    assert lib.fill.__doc__ == "fn fill(n: u64, v: f32, y: mut [f32; n])"
    y = np.zeros(3, np.float32)
    assert lib.fill(3, 2.5, y) is None
    assert y.tolist() == [2.5, 2.5, 2.5]
    with pytest.raises(ValueError, match="must have dtype float32, got float64"):
        lib.fill(3, 1.0, np.zeros(3))
    with pytest.raises(ValueError, match="bool"):
        lib.fill(True, 1.0, y)
