"""Hardware discovery: probe this machine, validate user probes, decide hw facts."""

import json
import os
import platform
import re
import subprocess
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest

from atlas.machine import probe as P
from atlas.front.facts import FACTS, fact_type, fact_value, known_facts
from atlas.machine.probe import Cache, Gpu, Probe, ProbeError, fingerprint, llvm_cpu, load_probe, probe, write_probe

FIXTURES = Path(__file__).parent / "fixtures"
POPCNT = FIXTURES / "probe-popcnt.json"
NOPOPCNT = FIXTURES / "probe-nopopcnt.json"
H100 = FIXTURES / "probe-h100.json"


@pytest.fixture(scope="module")
def here():
    return probe()


def roundtrip(d, tmp_path):
    path = tmp_path / "probe.json"
    path.write_text(json.dumps(d.to_json() if isinstance(d, Probe) else d))
    return load_probe(path)


def expect_error(tmp_path, text, name="probe.json"):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ProbeError) as info:
        load_probe(path)
    return str(path), str(info.value)


# ------------------------------------------------------------ this machine


def test_probe_of_this_machine_validates_after_json_round_trip(here, tmp_path):
    assert here.to_json()["format"] == "atlas-probe/1"
    again = roundtrip(here, tmp_path)
    assert again == here and again.to_json() == here.to_json()


def test_probe_cpu_facts_are_real(here):
    cpu = here.cpu
    assert cpu.features and list(cpu.features) == sorted(set(cpu.features))
    assert cpu.threads >= cpu.cores >= 1
    assert set(here.to_json()["cpu"]["cache"]) == {"l1d", "l1i", "l2", "l3"}
    assert here.memory_bytes > 0
    if platform.machine() == "x86_64":
        assert cpu.arch == "x86_64"
        assert cpu.has("sse2")
        assert cpu.llvm_cpu


def test_probe_gpus_is_a_list(here):
    # Empty without an NVIDIA driver; never an error.
    assert isinstance(here.gpus, tuple)
    for g in here.gpus:
        assert g.vendor == "nvidia" and len(g.compute_capability) == 2


def _unsupported(*_):
    raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")


def _fake_nvml(**answers):
    """A pynvml stand-in with one H100; `answers` replace its calls' results
    (a function, such as _unsupported, is called instead)."""
    calls = {
        "nvmlInit": None,
        "nvmlShutdown": None,
        "nvmlSystemGetDriverVersion": "550.54",
        "nvmlDeviceGetCount": 1,
        "nvmlDeviceGetHandleByIndex": "h",
        "nvmlDeviceGetMemoryInfo": types.SimpleNamespace(total=85520809984),
        "nvmlDeviceGetCudaComputeCapability": (9, 0),
        "nvmlDeviceGetAttributes": types.SimpleNamespace(multiprocessorCount=132),
        "nvmlDeviceGetPciInfo": types.SimpleNamespace(busId=b"00000000:1B:00.0"),
        "nvmlDeviceGetName": b"NVIDIA H100 80GB HBM3",
        "nvmlDeviceGetUUID": "GPU-1",
        "nvmlDeviceGetMemoryBusWidth": 5120,
        "nvmlDeviceGetMaxClockInfo": lambda _h, clock: {"mem": 2619, "sm": 1980}[clock],
        **answers,
    }
    fake = types.SimpleNamespace(NVML_CLOCK_MEM="mem", NVML_CLOCK_SM="sm")
    for name, value in calls.items():
        setattr(fake, name, value if callable(value) else lambda *_, v=value: v)
    return fake


def _validated_gpu(gpu):
    return Probe.from_json({**load_probe(POPCNT).to_json(), "gpus": [gpu]}).to_json()["gpus"][0]


def test_gpu_fields_from_nvml(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml())
    (gpu,) = P._gpus()
    assert gpu["pci_bus_id"] == "0000:1b:00.0" and gpu["max_sm_clock_mhz"] == 1980
    assert gpu["memory_bandwidth_bytes_per_s"] == 3_352_320_000_000
    assert _validated_gpu(gpu) == gpu


def test_gpu_fields_unanswered_are_null(monkeypatch):
    monkeypatch.setitem(
        sys.modules,
        "pynvml",
        _fake_nvml(
            nvmlDeviceGetMemoryBusWidth=_unsupported,
            nvmlDeviceGetMaxClockInfo=_unsupported,
            nvmlDeviceGetPciInfo=_unsupported,
        ),
    )
    (gpu,) = P._gpus()
    assert gpu["memory_bandwidth_bytes_per_s"] is gpu["max_sm_clock_mhz"] is gpu["pci_bus_id"] is None
    assert gpu["multiprocessors"] == 132 and _validated_gpu(gpu) == gpu


def test_bus_ids_compare_across_nvml_and_cuda():
    assert P._bus_id("00000000:00:06.0") == P._bus_id("0000:00:06.0") == "0000:00:06.0"


def test_probe_pci_entries_parse(here):
    addresses = [d.address for d in here.pci]
    assert addresses == sorted(addresses)
    for d in here.pci:
        assert re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", d.address)
        assert re.fullmatch(r"0x[0-9a-f]{4}", d.vendor)
        for bar in d.bars:
            assert 0 <= bar.index <= 5 and bar.size > 0 and bar.kind in ("mem", "io")
    virtio = [d for d in here.pci if d.vendor == "0x1af4"]
    if virtio:  # this project's VMs: virtio devices with one 64-bit memory BAR
        assert any(b.kind == "mem" for d in virtio for b in d.bars)


def test_fingerprint_is_stable_and_sees_features(here):
    again = probe()
    assert fingerprint(here) == fingerprint(again)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint(here))
    fewer = replace(here, cpu=replace(here.cpu, features=here.cpu.features[1:]))
    assert fingerprint(fewer) != fingerprint(here)


def test_fingerprint_ignores_created_and_host(here, tmp_path):
    other = replace(
        here, created="1999-01-01T00:00:00+00:00", host={"hostname": "elsewhere", "os": "Linux", "kernel": "1.0"}
    )
    assert fingerprint(other) == fingerprint(here) and other == here
    assert fingerprint(roundtrip(here, tmp_path)) == fingerprint(here)


# ---------------------------------------------------------------- fixtures


@pytest.mark.parametrize("path", [POPCNT, NOPOPCNT, H100])
def test_fixtures_load_unchanged(path):
    assert load_probe(path).to_json() == json.loads(path.read_text())


def test_fixtures_differ_in_popcnt():
    fast, slow = load_probe(POPCNT), load_probe(NOPOPCNT)
    assert fact_value(fast, "cpu.popcnt") is True
    assert fact_value(slow, "cpu.popcnt") is False
    assert fact_value(fast, "hw.cpu.AVX2") is True
    assert fact_value(fast, "cpu.llvm_cpu") == "haswell"
    assert fact_value(slow, "cpu.llvm_cpu") == "x86-64"
    assert fingerprint(fast) != fingerprint(slow)


def test_h100_fixture_is_the_gpu_check_machine():
    h100 = load_probe(H100)
    (gpu,) = h100.gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3" and gpu.multiprocessors == 132
    assert fact_value(h100, "gpu.cc") == 90 and fact_value(h100, "gpu.count") == 1
    # The datasheet's 3.35 TB/s, from the bus width and memory clock.
    assert gpu.memory_bandwidth_bytes_per_s == P._bandwidth(5120, 2619) == 3_352_320_000_000
    assert h100.cpu == load_probe(POPCNT).cpu


# -------------------------------------------------------------- validation


def test_malformed_json_points_at_line_and_column(tmp_path):
    text = '{\n  "format": "atlas-probe/1",\n  "cpu": {"arch": "x86_64",, "cores": 1}\n}\n'
    path, msg = expect_error(tmp_path, text)
    head, source, caret = msg.split("\n")
    m = re.fullmatch(re.escape(path) + r":(\d+):(\d+): malformed JSON: .+", head)
    assert m and m.group(1) == "3"
    col = int(m.group(2))
    assert source == '  "cpu": {"arch": "x86_64",, "cores": 1}'
    assert caret == " " * (col - 1) + "^" and source[col - 1] == ","


def test_malformed_long_line_shows_a_window(tmp_path):
    text = '{"format": "atlas-probe/1", "pad": "' + "x" * 500 + '" oops}'
    _, msg = expect_error(tmp_path, text)
    _, source, caret = msg.split("\n")
    assert len(source) < 120 and source[caret.index("^")] == "o"


def test_empty_file_is_malformed(tmp_path):
    path, msg = expect_error(tmp_path, "")
    assert msg.startswith(f"{path}:1:1: malformed JSON")


def test_unreadable_file(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(ProbeError, match=r"nope\.json: cannot read: "):
        load_probe(missing)


def _valid():
    return json.loads(POPCNT.read_text())


@pytest.mark.parametrize(
    "mutate, where, expected",
    [
        (lambda d: d["cpu"].pop("features"), "cpu.features", "expected a list, found nothing"),
        (lambda d: d["cpu"]["features"].__setitem__(3, 7), "cpu.features[3]", "expected a string, found the number 7"),
        (lambda d: d.__setitem__("format", "atlas-probe/2"), "format", 'expected "atlas-probe/1"'),
        (lambda d: d.pop("format"), "format", "found nothing"),
        (lambda d: d["cpu"].__setitem__("cores", True), "cpu.cores", "expected an integer >= 1, found true"),
        (lambda d: d["cpu"].__setitem__("threads", 0), "cpu.threads", "expected an integer >= 1"),
        (lambda d: d["cpu"]["cache"].__setitem__("l2", -1), "cpu.cache.l2", "expected an integer >= 0"),
        (lambda d: d["memory"].__setitem__("total_bytes", "lots"), "memory.total_bytes", "found the string"),
        (lambda d: d["gpus"].append({"name": "X"}), "gpus[0].compute_capability", "found nothing"),
        (
            lambda d: d["gpus"].append({"name": "X", "compute_capability": [9, 0], "max_sm_clock_mhz": "fast"}),
            "gpus[0].max_sm_clock_mhz",
            "expected an integer >= 0 or null",
        ),
        (
            lambda d: d["gpus"].append({"name": "X", "compute_capability": [9, 0], "pci_bus_id": 6}),
            "gpus[0].pci_bus_id",
            "expected a string or null, found the number 6",
        ),
        (lambda d: d["pci"][0].__setitem__("vendor", "8086"), "pci[0].vendor", "expected a hex string"),
        (lambda d: d["pci"][0]["bars"][1].__setitem__("kind", "rom"), "pci[0].bars[1].kind", 'expected "mem" or "io"'),
    ],
)
def test_ill_typed_fields_are_named(tmp_path, mutate, where, expected):
    d = _valid()
    mutate(d)
    path, msg = expect_error(tmp_path, json.dumps(d))
    assert msg.startswith(f"{path}: {where}: ") and expected in msg


def test_top_level_must_be_an_object(tmp_path):
    _, msg = expect_error(tmp_path, "[1, 2]")
    assert "expected an object, found a list of 2 items" in msg


def test_defaults_are_filled(tmp_path):
    minimal = {
        "format": "atlas-probe/1",
        "cpu": {"arch": "x86_64", "features": ["SSE2", "popcnt"], "cores": 1, "threads": 1, "cache": {"l2": 262144}},
    }
    d = roundtrip(minimal, tmp_path)
    assert d.cpu.cache == Cache(l2=262144)
    assert d.cpu.features == ("popcnt", "sse2")
    assert d.cpu.llvm_cpu == "x86-64" and d.cpu.vendor == ""
    assert d.memory_bytes == 0 and d.gpus == () and d.pci == ()
    # A GPU from a probe older than the bandwidth/clock/bus-id fields still loads.
    minimal["gpus"] = [{"name": "X", "compute_capability": [8, 0]}]
    (gpu,) = roundtrip(minimal, tmp_path).gpus
    assert gpu.memory_bandwidth_bytes_per_s is gpu.max_sm_clock_mhz is gpu.pci_bus_id is None


# ------------------------------------------------------------------- facts


def test_fact_types():
    assert fact_type("cpu.popcnt") == "bool"
    assert fact_type("cpu.bmi2") == "bool"
    assert fact_type("hw.cpu.avx2") == "bool"
    assert fact_type("cpu.cache.l2") == "int"
    assert fact_type("cpu.arch") == "str"
    assert fact_type("gpu.count") == "int"
    assert fact_type("mem.total") == "int"
    assert fact_type("gpu.cout") is None
    assert fact_type("cpu.cache") is None  # a record, not a flag
    assert fact_type("cpu.cache.l4") is None
    assert fact_type("nic.count") is None
    assert set(FACTS.values()) <= {"bool", "int", "str"}


def test_fact_values():
    fast, slow = load_probe(POPCNT), load_probe(NOPOPCNT)
    assert fact_value(fast, "gpu.count") == 0 and fact_value(fast, "gpu.cc") == 0
    assert fact_value(fast, "gpu.memory") == 0
    assert fact_value(fast, "cpu.cache.l2") == 262144
    assert isinstance(fact_value(slow, "cpu.cache.l2"), int)
    assert fact_value(fast, "cpu.cores") == 4 and fact_value(fast, "cpu.threads") == 8
    assert fact_value(slow, "pci.count") == 1
    assert fact_value(fast, "mem.total") == 16 << 30
    with pytest.raises(KeyError):
        fact_value(fast, "gpu.cout")
    with_gpu = replace(fast, gpus=(Gpu(name="H100", compute_capability=(9, 0), memory_bytes=80 << 30),))
    assert fact_value(with_gpu, "gpu.cc") == 90 and fact_value(with_gpu, "gpu.memory") == 80 << 30


def test_every_fact_has_a_value_of_its_type():
    d = load_probe(POPCNT)
    for path, t in FACTS.items():
        assert type(fact_value(d, path)).__name__ == t, path


def test_known_facts_for_suggestions():
    names = known_facts(load_probe(POPCNT))
    assert "gpu.count" in names and "cpu.popcnt" in names and "cpu.cache.l1d" in names
    assert all(fact_type(n) for n in names)


# ----------------------------------------------------------------- writing


def test_write_probe_is_sorted_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "probe.json"
    write_probe(load_probe(POPCNT), path)
    text = path.read_text()
    assert text.endswith("}\n") and text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert os.listdir(tmp_path) == ["probe.json"]
    assert load_probe(path) == load_probe(POPCNT)


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "probe.json"
    write_probe(load_probe(POPCNT), path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_probe(replace(load_probe(POPCNT), host={"hostname": object()}), path)

    # A failure after the temp file exists must clean it up too.
    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(P.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_probe(load_probe(NOPOPCNT), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["probe.json"]


# ------------------------------------------------ PCI from a fake /sys tree

PCI_IDS = """\
# a tiny pci.ids
8086  Intel Corporation
\t100e  82540EM Gigabit Ethernet Controller
\t\t8086 001e  PRO/1000 MT Desktop Adapter
10de  NVIDIA Corporation
\t2330  GH100 [H100 SXM5 80GB]
C 02  Network controller
\t00  Ethernet controller
"""


def _fake_device(root, addr, vendor, device, cls, resource, driver=None):
    d = root / addr
    d.mkdir(parents=True)
    for name, value in (
        ("vendor", vendor),
        ("device", device),
        ("class", cls),
        ("revision", "0x03"),
        ("subsystem_vendor", "0x8086"),
        ("subsystem_device", "0x001e"),
        ("resource", resource),
    ):
        (d / name).write_text(value + "\n")
    if driver:
        (root / "drivers" / driver).mkdir(parents=True, exist_ok=True)
        os.symlink(root / "drivers" / driver, d / "driver")


def test_pci_bars_names_and_driver_from_sysfs(tmp_path):
    zero = "0x0000000000000000 0x0000000000000000 0x0000000000000000"
    resource = "\n".join(
        [
            "0x00000000febc0000 0x00000000febdffff 0x0000000000040200",  # mem, 128 KiB
            "0x000000000000c000 0x000000000000c03f 0x0000000000040101",  # io, 64 B
            zero,
            "0x0000004000000000 0x0000004000ffffff 0x000000000014220c",  # 64-bit prefetchable
            zero,
            zero,
            "0x00000000feb80000 0x00000000febbffff 0x0000000000046200",  # ROM: not a BAR
        ]
    )
    devices = tmp_path / "devices"
    _fake_device(devices, "0000:00:03.0", "0x8086", "0x100e", "0x020000", resource, driver="e1000")
    _fake_device(devices, "0000:00:01.0", "0x1234", "0x1111", "0x030000", zero)
    ids = tmp_path / "pci.ids"
    ids.write_text(PCI_IDS)
    found = P._pci(str(devices), str(ids))
    assert [d["address"] for d in found] == ["0000:00:01.0", "0000:00:03.0"]
    unknown, nic = found
    assert unknown["bars"] == [] and unknown["driver"] is None
    assert unknown["vendor_name"] is None and unknown["device_name"] is None
    assert nic["driver"] == "e1000"
    assert nic["vendor_name"] == "Intel Corporation"
    assert nic["device_name"] == "82540EM Gigabit Ethernet Controller"
    assert nic["bars"] == [
        {"index": 0, "start": 0xFEBC0000, "size": 128 << 10, "kind": "mem", "prefetchable": False, "64bit": False},
        {"index": 1, "start": 0xC000, "size": 64, "kind": "io", "prefetchable": False, "64bit": False},
        {"index": 3, "start": 0x4000000000, "size": 16 << 20, "kind": "mem", "prefetchable": True, "64bit": True},
    ]


def test_pci_ids_parser_stops_at_classes(tmp_path):
    ids = tmp_path / "pci.ids"
    ids.write_text(PCI_IDS)
    table = P.read_pci_ids(str(ids))
    assert set(table) == {"8086", "10de"}
    assert table["10de"][1] == {"2330": "GH100 [H100 SXM5 80GB]"}


def test_odd_machine_degrades_quietly(tmp_path):
    assert P._pci(str(tmp_path / "no-such-dir"), None) == []
    assert P._caches(str(tmp_path)) == P._caches(str(tmp_path))  # no raise
    assert P.read_pci_ids(str(tmp_path / "missing.ids")) == {}


def test_llvm_cpu_names():
    assert llvm_cpu("icelake") == "icelake-server"
    assert llvm_cpu("skylake_avx512") == "skylake-avx512"
    assert llvm_cpu("zen3") == "znver3"
    assert llvm_cpu("x86_64_v3") == "x86-64-v3"
    assert llvm_cpu("no-such-chip") == "x86-64"
    pytest.importorskip("archspec")
    assert llvm_cpu("zen5") == "znver4"  # newer than the table: nearest ancestor


def test_x86_level_without_archspec():
    base = "fpu cx8 cmov mmx fxsr sse sse2 syscall lm nx".split()
    fixture = list(load_probe(POPCNT).cpu.features)
    assert P.x86_level(base) == "x86_64"
    assert P.x86_level(fixture) == "x86_64_v3"  # haswell: no avx512
    assert P.x86_level(fixture + ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]) == "x86_64_v4"
    assert P.x86_level(base + ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]) == "x86_64"


# ------------------------------------- on a machine with only the runtime's packages

# The GPU machines have numpy, llvmlite, pyyaml, jinja2, nvidia-ml-py and cupy,
# not the compiler's parser, e-graph, prover, CLI or CPU-naming libraries.
NOT_ON_GPU_MACHINES = ("lark", "egglog", "z3", "click", "archspec", "cpuinfo")
_BLOCKING = """
import runpy, sys
BLOCKED = set(sys.argv[1].split(","))
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed on the GPU machines")
sys.meta_path.insert(0, Blocked())
del sys.argv[1]
"""


def run_without(blocked, code, *args, cwd):
    """Run `code` in a fresh Python where importing any of `blocked` fails."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-c", _BLOCKING + code, ",".join(blocked), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_python_m_atlas_probe_without_the_compiler_dependencies(tmp_path):
    code = (
        'runpy.run_module("atlas.machine.probe", run_name="__main__")\n'
        'assert not {m.partition(".")[0] for m in sys.modules} & BLOCKED\n'
    )
    run = run_without(NOT_ON_GPU_MACHINES, code, "-o", "out.json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "wrote out.json" in run.stderr
    written = load_probe(tmp_path / "out.json")
    assert written.cpu.arch and written.cpu.features
    if written.cpu.arch == "x86_64":  # no archspec: the psABI level from the flags
        assert written.cpu.uarch == P.x86_level(list(written.cpu.features))


def test_python_m_atlas_probe_prints_to_stdout(tmp_path):
    run = run_without(
        NOT_ON_GPU_MACHINES, 'runpy.run_module("atlas.machine.probe", run_name="__main__")\n', cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert Probe.from_json(json.loads(run.stdout)).to_json()["format"] == "atlas-probe/1"
    assert os.listdir(tmp_path) == []


def test_archive_imports_without_z3_lark_or_egglog(tmp_path):
    code = "import atlas.search.archive, atlas.files\nassert atlas.search.archive.cache_dir is atlas.files.cache_dir\n"
    run = run_without(("z3", "lark", "egglog"), code, cwd=tmp_path)
    assert run.returncode == 0, run.stderr


def test_an_artefact_loads_and_runs_without_the_compilers_packages(here, tmp_path):
    """The manifest gives each signature as data: loading a library needs
    no parser, so a machine with only the runtime's packages runs it."""
    from atlas.pipeline import compile_files

    compile_files(
        [FIXTURES.parent.parent / "intents" / "saxpy.ax"], here, tmp_path / "lib", use_atlas=False, search=None
    )
    code = (
        "import numpy as np, atlas\n"
        "lib = atlas.load(sys.argv[1])\n"
        "x, y = np.ones(3, np.float32), np.zeros(3, np.float32)\n"
        "lib.saxpy(3, 2.0, x, y)\n"
        "assert y.tolist() == [2.0, 2.0, 2.0], y\n"
        "assert not {m.partition('.')[0] for m in sys.modules} & BLOCKED\n"
    )
    run = run_without(NOT_ON_GPU_MACHINES, code, str(tmp_path / "lib"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr


def test_rules_still_offers_cache_dir(monkeypatch, tmp_path):
    from atlas import files
    from atlas.logic import rules

    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path))
    assert rules.cache_dir is files.cache_dir and rules.cache_dir() == tmp_path
