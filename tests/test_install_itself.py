"""Install itself: a `when hw.*` branch is decided at compile time, and the
artefact holds no code, constant or check of the branch not taken.

One pair of intents is compiled for two probes, one with popcnt and lzcnt and
one without; the shared libraries are disassembled and each branch's
distinctive instructions and constants are found in one library only."""

import shutil
import subprocess

import pytest

import golden
from atlas.pipeline import compile_files
from atlas.machine.probe import load_probe

pytestmark = [pytest.mark.cc, pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump (binutils)")]

# The bit-slicing branch's own constants.  (0x0f0f... is not among them: the
# vectorised popcount of the other branch masks nibbles with it too.)
SWAR = (0x5555555555555555, 0x3333333333333333, 0x0101010101010101)
INTENTS = [golden.ROOT / "intents" / "popcount_total.ax", golden.ROOT / "intents" / "hw_branches.ax"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = {}
    for name in golden.PROBES:
        folder = tmp_path_factory.mktemp(name)
        c = compile_files(INTENTS, load_probe(golden.FIXTURES / f"{name}.json"), folder / "lib")
        lib = folder / "lib" / c.manifest.library
        asm = subprocess.run(
            ["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True, check=True
        ).stdout
        out[name] = (lib.read_bytes(), asm, c)
    return out


def mnemonics(asm: str) -> set[str]:
    found = set()
    for line in asm.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip().endswith(":"):
            found.add(parts[1].split()[0] if parts[1].split() else "")
    return found


def test_probes_decide_the_branches(built):
    taken = {name: [d.taken for d in c.decisions if "popcnt" in d.condition] for name, (_, _, c) in built.items()}
    assert taken == {"probe-popcnt": ["then", "then"], "probe-nopopcnt": ["else", "else"]}


def test_popcnt_only_where_the_probe_has_it(built):
    assert "popcnt" in mnemonics(built["probe-popcnt"][1])
    assert "popcnt" not in mnemonics(built["probe-nopopcnt"][1])
    assert "lzcnt" in mnemonics(built["probe-popcnt"][1])
    assert "lzcnt" not in mnemonics(built["probe-nopopcnt"][1])


def test_bit_slicing_constants_only_where_it_was_kept(built):
    for k in SWAR:
        little = k.to_bytes(8, "little")
        assert little in built["probe-nopopcnt"][0], hex(k)
        assert little not in built["probe-popcnt"][0], hex(k)
        assert f"{k:#x}" in built["probe-nopopcnt"][1]
        assert f"{k:#x}" not in built["probe-popcnt"][1]


def test_no_runtime_feature_check(built):
    # The choice is made at compile time: neither library asks the CPU.
    for data, asm, _ in built.values():
        assert "cpuid" not in mnemonics(asm)
        assert b"__cpu_model" not in data and b"__cpu_indicator_init" not in data
