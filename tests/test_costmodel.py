"""The cost model: per-op latency and throughput measured on this machine,
cached per probe, and the static hints where it cannot be measured.  These
tests check what is measured and how the table is kept, never the timings."""

import json
import platform
import re
from dataclasses import replace
from pathlib import Path

import pytest

from atlas.superopt import costmodel as cm
from atlas.meaning import ir
from atlas.machine import probe as hwprobe
from atlas.machine.probe import Cpu, Probe, load_probe
from atlas.logic import costs as cost_model
from atlas.logic.costs import costs as static_costs
from atlas.machine.runtime import host_cpu_flags

FIXTURES = Path(__file__).parent / "fixtures"
X86_HOST = platform.machine() in ("x86_64", "AMD64")
ALL_KEYS = {f"{op}@{t.name}" for op in cm.OPS for t in cm.TYPES}


@pytest.fixture(scope="module")
def host():
    return hwprobe.probe()


@pytest.fixture(scope="module")
def table(host):
    """One real measurement of this machine, shared by the tests that need one."""
    why = cm.can_measure(host)
    if why:
        pytest.skip(why)
    return cm.measure(host)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def fixture_probe(name):
    return load_probe(FIXTURES / name)


def with_features(probe, features):
    return replace(probe, cpu=replace(probe.cpu, features=tuple(sorted(set(features)))))


def without(probe, *flags):
    return with_features(probe, [f for f in probe.cpu.features if f not in flags])


def other_arch(arch, features=()):
    """A probe of a CPU that is not x86_64."""
    return Probe(cpu=Cpu(arch=arch, features=tuple(features), cores=1, threads=1))


def function_asm(asm: str, name: str) -> str:
    """The assembly of one function of an emitted module."""
    start = asm.index(f"{name}:")
    return asm[start : asm.index(".Lfunc_end", start)]


def instructions(asm: str, mnemonic: str) -> list[str]:
    """Instruction lines whose mnemonic is `mnemonic` with any size suffix."""
    pattern = re.compile(rf"^\s+{mnemonic}[bwlq]?\s", re.M)
    return pattern.findall(asm)


def raising(*args, **kwargs):
    raise AssertionError("measure() was called")


# ---------------------------------------------------------------- a measurement


@pytest.mark.cc
def test_measured_table_has_every_op_at_every_type_all_positive(table, host):
    assert set(table.costs) == ALL_KEYS
    for key, c in table.costs.items():
        assert c.latency > 0 and c.throughput > 0, key
    assert table.costs["add@u64"].latency == 1.0
    assert table.ns_per_unit is not None and table.ns_per_unit > 0
    assert table.source.startswith(f"measured on {hwprobe.fingerprint(host)} ")


@pytest.mark.cc
def test_table_survives_json(table):
    back = cm.CostTable.from_dict(json.loads(json.dumps(table.as_dict())))
    assert back == table


@pytest.mark.cc
def test_measure_of_some_types_still_normalises_to_u64_add(host):
    if cm.can_measure(host):
        pytest.skip(cm.can_measure(host))
    t = cm.measure(host, types=(ir.I32,), repeats=1)
    assert set(t.costs) == {f"{op}@i32" for op in cm.OPS}
    assert t.ns_per_unit > 0


# ---------------------------------------------------------------- the cache


@pytest.mark.cc
def test_second_for_probe_reads_the_cache_and_measures_nothing(table, host, cache, monkeypatch):
    calls = []
    monkeypatch.setattr(cm, "measure", lambda p, **kw: calls.append(p) or table)
    first = cm.for_probe(host)
    assert calls == [host] and first == table
    path = cache / "costs" / f"{hwprobe.fingerprint(host)}.json"
    assert path.exists() and cm.cache_path(host) == path

    monkeypatch.setattr(cm, "measure", raising)
    assert cm.for_probe(host) == table
    # cache=False neither reads nor writes it
    with pytest.raises(AssertionError, match="measure"):
        cm.for_probe(host, cache=False)


@pytest.mark.cc
def test_remeasure_and_a_stale_cache_measure_again(table, host, cache, monkeypatch):
    calls = []
    monkeypatch.setattr(cm, "measure", lambda p, **kw: calls.append(p) or table)
    cm.for_probe(host)
    cm.for_probe(host, remeasure=True)
    assert len(calls) == 2

    path = cm.cache_path(host)
    data = json.loads(path.read_text())
    data["llvmlite"] = "0.0.0"  # written by another llvmlite
    path.write_text(json.dumps(data))
    cm.for_probe(host)
    assert len(calls) == 3
    path.write_text("{ not json")
    cm.for_probe(host)
    assert len(calls) == 4
    assert json.loads(path.read_text())["llvmlite"] != "0.0.0"  # rewritten whole


def test_other_probes_are_cached_under_their_own_fingerprint(host, cache):
    nopop = without(host, "popcnt")
    assert cm.cache_path(nopop) != cm.cache_path(host)


# ---------------------------------------------------------------- what is timed


def test_popcount_benchmark_uses_popcnt_only_when_the_probe_has_it():
    with_it = cm.benchmark_asm(fixture_probe("probe-popcnt.json"), "popcount", ir.U64)
    assert instructions(with_it, "popcnt")
    without_it = cm.benchmark_asm(fixture_probe("probe-nopopcnt.json"), "popcount", "u64")
    assert not instructions(without_it, "popcnt")
    assert "popcnt" not in without_it


@pytest.mark.skipif(not X86_HOST, reason="the host probe must be x86_64")
def test_host_probe_without_popcnt_still_measurable_and_has_no_popcnt(host):
    if not host.cpu.has("popcnt"):
        pytest.skip("this machine has no popcnt")
    nopop = without(host, "popcnt")
    assert cm.can_measure(nopop) is None
    assert instructions(cm.benchmark_asm(host, "popcount", ir.U32), "popcnt")
    assert not instructions(cm.benchmark_asm(nopop, "popcount", ir.U32), "popcnt")


def test_the_chain_is_not_folded():
    """K adds per trip survive the optimiser: the barrier holds."""
    asm = cm.benchmark_asm(fixture_probe("probe-popcnt.json"), "add", ir.U64)
    assert len(instructions(function_asm(asm, "bench_add_u64_lat"), "add")) >= cm.K
    assert len(instructions(function_asm(asm, "bench_add_u64_thr"), "add")) >= cm.K


def test_min_on_the_chain_stays_a_cmov():
    """x86's cmov-to-branch conversion must not turn the chain into branches."""
    asm = cm.benchmark_asm(fixture_probe("probe-popcnt.json"), "min", ir.U64)
    for mode in ("lat", "thr"):
        body = function_asm(asm, f"bench_min_u64_{mode}")
        assert len(re.findall(r"^\s+cmov\w+\s", body, re.M)) == cm.K, mode


def test_shift_benchmark_carries_the_backends_guard():
    """A count the compiler cannot see: the backend's check that it is in range stays."""
    asm = function_asm(cm.benchmark_asm(fixture_probe("probe-popcnt.json"), "shl", ir.U64), "bench_shl_u64_lat")
    assert re.search(r"\bcmpq\s+\$64,", asm)


def test_benchmark_asm_refuses_what_it_cannot_build():
    with pytest.raises(ValueError, match="aarch64"):
        cm.benchmark_asm(other_arch("aarch64"), "add", ir.U64)
    with pytest.raises(ValueError, match="rem"):
        cm.benchmark_asm(fixture_probe("probe-popcnt.json"), "rem", ir.U64)


def test_division_is_timed_as_a_divide_and_a_constant_divisor_as_a_multiply():
    """The divide benchmark divides (by a count the compiler cannot see, so
    no multiply stands in for it); a term dividing by a constant is priced
    as the multiply-high LLVM emits instead."""
    asm = function_asm(cm.benchmark_asm(fixture_probe("probe-popcnt.json"), "div", ir.U64), "bench_div_u64_lat")
    assert len(instructions(asm, "div")) >= cm.K
    table = cm.CostTable(
        {f"{op}@{t.name}": cm.OpCost(float(i + 1), 1.0) for i, op in enumerate(cm.OPS) for t in cm.TYPES},
        "made up",
        1.0,
    )
    x = ir.U32
    by_var = cost_model.node_figures(table, "div", x, (x, x))
    by_const = cost_model.node_figures(table, "div", x, (x, x), constant_count=True)
    assert by_var == (table.costs["div@u32"].latency, 1.0)
    assert by_const == (table.costs["mulhi@u32"].latency, 1.0)


# ---------------------------------------------------------------- cannot measure


def test_another_architecture_gets_the_static_table_with_the_reason(cache, monkeypatch):
    arm = other_arch("aarch64", ["asimd"])
    why = cm.can_measure(arm)
    assert why and ("aarch64" in why or "x86_64" in why)
    monkeypatch.setattr(cm, "measure", raising)
    t = cm.for_probe(arm)
    assert t.source == f"static hints (primitives/core.yaml): {why}"
    assert t.ns_per_unit is None
    assert set(t.costs) == ALL_KEYS
    assert not (cache / "costs").exists()


@pytest.mark.skipif(not X86_HOST, reason="needs an x86_64 host")
def test_a_feature_this_machine_lacks_gets_the_static_table(host, cache, monkeypatch):
    from atlas.backends.x86_64.target import FEATURES, target_for

    have = host_cpu_flags() or set()
    extra = None
    for flags in FEATURES.values():
        if flags and not set(flags) & have:
            trial = with_features(host, set(host.cpu.features) | {flags[0]})
            if flags[0] in target_for(trial).cpu_flags:  # this LLVM knows the feature
                extra = flags[0]
                break
    if extra is None:
        pytest.skip("this machine has every feature this LLVM knows")
    why = cm.can_measure(trial)
    assert why and extra in why
    with pytest.raises(ValueError, match=extra):
        cm.measure(trial)
    monkeypatch.setattr(cm, "measure", raising)
    t = cm.for_probe(trial)
    assert why in t.source and t.source.startswith("static hints")
    assert not (cache / "costs").exists()


def test_measure_refuses_a_probe_that_cannot_run_here():
    with pytest.raises(ValueError, match="x86_64"):
        cm.measure(other_arch("aarch64"))


def test_static_table_is_egraphs_hints_per_probe():
    nopop = fixture_probe("probe-nopopcnt.json")
    t = cm.static_table(nopop, "because")
    hints = static_costs(nopop)
    assert t.costs["popcount@u64"] == cm.OpCost(hints["popcount"], hints["popcount"])
    assert t.costs["popcount@u64"].latency > t.costs["add@u64"].latency
    assert t.source.endswith(": because")


# ---------------------------------------------------------------- lookups


def test_cost_falls_back_sensibly():
    costs = {
        f"{op}@{t.name}": cm.OpCost(i + 1.0, (i + 1.0) / 2)
        for i, (op, t) in enumerate((op, t) for op in cm.OPS for t in cm.TYPES)
    }
    t = cm.CostTable(costs, "made up", 1.0)
    assert t.cost("add", ir.U64) == costs["add@u64"]
    assert t.cost("shr", "i32") == costs["shr@i32"]
    assert t.cost("add", ir.I16) == costs["add@i32"]  # narrower: 32-bit, same signedness
    assert t.cost("popcount", ir.U8) == costs["popcount@u32"]
    assert t.cost("ne", ir.I64) == costs["eq@i64"]
    assert t.cost("ge", ir.U32) == costs["lt@u32"]
    assert t.cost("land", ir.BOOL) == costs["and@u32"]
    hints = static_costs()
    assert t.cost("div", ir.U64) == costs["div@u64"]
    assert t.cost("rem", ir.U64) == cm.OpCost(hints["rem"], hints["rem"])
    assert t.cost("add", ir.F64) == cm.OpCost(hints["fadd"], hints["fadd"])


# ---------------------------------------------------------------- vectors

ALL_VECTOR_KEYS = {f"{op}@{t.name}" for op in cm.OPS for t in cost_model.VECTOR_TYPES if cost_model.has_vector(op, t)}


@pytest.mark.cc
def test_measured_table_has_a_time_per_element_in_vectors_for_every_op_at_every_width(table):
    assert set(table.vector) == ALL_VECTOR_KEYS
    assert all(v >= cm.MIN_VECTOR for v in table.vector.values())
    assert table.vector_cost("add", ir.U8) == table.vector["add@u8"]
    assert table.vector_cost("ge", ir.I16) == table.vector["lt@i16"]  # as the scalar figures alias
    assert table.vector_cost("add", ir.F32) is None


def test_the_vector_benchmark_is_a_vectorised_loop_over_elements():
    """The loop the backend's vectoriser takes: a 16-bit add is a packed
    add; a divide, which x86_64 has no vector instruction for, is divided
    lane by lane."""
    probe = fixture_probe("probe-popcnt.json")
    add = function_asm(cm.benchmark_asm(probe, "add", ir.U16), "vector_add_u16")
    assert re.search(r"^\s+v?paddw\s", add, re.M), add
    div = function_asm(cm.benchmark_asm(probe, "div", "u32"), "vector_div_u32")
    assert instructions(div, "div") and not re.search(r"^\s+v?pdiv", div, re.M)
    with pytest.raises(ValueError, match="no benchmark for bswap@u8"):
        cm.benchmark_asm(probe, "bswap", ir.U8)


def packed(body: str, mnemonic: str) -> int:
    return len(re.findall(rf"^\s+{mnemonic}\s", body, re.M))


@pytest.mark.parametrize(
    "op, ty, mnemonic",
    [("add", "u32", "vpaddd"), ("and", "u32", "vpand"), ("or", "u32", "vpor"), ("xor", "u32", "vpxor"),
     ("bswap", "u32", "vpshufb"), ("min", "u32", "vpminud"), ("sub", "u64", "vpsubq"),
     ("eq", "u64", "vpcmpeqq"), ("lt", "i32", "vpcmpgtd"), ("lt", "u8", "vpcmpeqb")],
)  # fmt: skip
def test_every_application_of_a_vector_chain_survives_the_optimiser(op, ty, mnemonic):
    """Each of the VK applications per element is an instruction of its
    own: a keeper the op distributes over would fold the chain (an and
    kept by xors is one and per element), and a compare is timed alone,
    no blend beside it (an unsigned byte compare is a max and an equal)."""
    asm = cm.benchmark_asm(fixture_probe("probe-popcnt.json"), op, ty)
    body = function_asm(asm, f"vector_{op}_{ty}")
    assert packed(body, mnemonic) >= 2 * cm.VK
    assert op not in ("eq", "lt") or "blend" not in body


def test_the_vector_baseline_is_cheap_keepers_that_do_not_fold():
    """The chain of keepers alone stays a chain of adds and xors, and no
    keeper is a rotate: on AVX2 a 64-bit rotate is two shifts and an or,
    beside which an op on the other ports measured as free."""
    asm = cm.benchmark_asm(fixture_probe("probe-popcnt.json"), "add", ir.U64)
    base = function_asm(asm, "vector_none_u64")
    assert packed(base, "vpxor") + packed(base, "vpaddq") >= 2 * cm.VK
    assert not re.search(r"^\s+vp(sll|srl|rol|ror)", base, re.M)
    chain = function_asm(asm, "vector_add_u64")
    assert not re.search(r"^\s+vp(sll|srl|rol|ror)", chain, re.M)


# ---------------------------------------------------------------- atlas costs


def test_atlas_costs_shows_the_static_hints_where_the_probe_cannot_run_here(tmp_path, cache):
    from click.testing import CliRunner
    from atlas.tools.cli import main

    probe = tmp_path / "arm.json"
    hwprobe.write_probe(other_arch("aarch64"), probe)
    out = tmp_path / "table.json"
    r = CliRunner().invoke(main, ["costs", "--hw", str(probe), "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("cost table: static hints")
    assert "| popcount |" in r.output and "vectorised loop: the static hints have none" in r.output
    assert cm.CostTable.from_dict(json.loads(out.read_text())).costs == cm.static_table(other_arch("aarch64"), "").costs
    missing = CliRunner().invoke(main, ["costs", "--hw", str(tmp_path / "none.json")])
    assert missing.exit_code != 0 and "none.json" in missing.output and "Traceback" not in missing.output


def test_atlas_costs_shows_a_measured_table_from_the_cache(table, host, cache, monkeypatch):
    from click.testing import CliRunner
    from atlas.tools.cli import main

    monkeypatch.setattr(cm, "measure", lambda p, **kw: table)
    r = CliRunner().invoke(main, ["costs"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"cost table: {table.source}")
    assert str(cm.cache_path(host)) in r.output
    assert f"| bswap | - | {table.vector['bswap@u16']:.3f} |" in r.output  # bswap needs two bytes
