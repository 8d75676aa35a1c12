"""Hardware discovery: what machine are we compiling for?

`probe()` describes this machine as a `Probe` (typed, frozen; its
`to_json()` is the file format "atlas-probe/1"); `load_probe()` reads and
validates one a user supplies (`Probe.from_json`), so that Atlas can
compile *for* a machine it is not running on.  What a
`when hw.…` branch reads from a probe is atlas/front/facts.py.  See
docs/probe.md.

Every discovery step degrades to empty/0/null on an odd machine: a missing
/sys file must never stop a compile.
"""

from __future__ import annotations

import argparse
import functools
import glob
import hashlib
import json
import os
import platform
import re
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone

from ..files import write_atomic

FORMAT = "atlas-probe/1"


class ProbeError(Exception):
    """A probe file is unreadable or invalid; str() is the whole message."""


# ---------------------------------------------------------------- LLVM names

# archspec microarchitecture -> LLVM -mcpu.  Only names that differ or that
# LLVM has long known; anything else is resolved through archspec's ancestors.
LLVM_CPU = {
    "x86_64": "x86-64",
    "x86_64_v2": "x86-64-v2",
    "x86_64_v3": "x86-64-v3",
    "x86_64_v4": "x86-64-v4",
    "nocona": "nocona",
    "core2": "core2",
    "nehalem": "nehalem",
    "westmere": "westmere",
    "sandybridge": "sandybridge",
    "ivybridge": "ivybridge",
    "haswell": "haswell",
    "broadwell": "broadwell",
    "skylake": "skylake",
    "skylake_avx512": "skylake-avx512",
    "cannonlake": "cannonlake",
    "cascadelake": "cascadelake",
    "cooperlake": "cooperlake",
    "icelake": "icelake-server",
    "sapphirerapids": "sapphirerapids",
    "alderlake": "alderlake",
    "mic_knl": "knl",
    "k10": "amdfam10",
    "bulldozer": "bdver1",
    "piledriver": "bdver2",
    "steamroller": "bdver3",
    "excavator": "bdver4",
    "zen": "znver1",
    "zen2": "znver2",
    "zen3": "znver3",
    "zen4": "znver4",
}


def llvm_cpu(uarch: str) -> str:
    """The LLVM -mcpu name for an archspec microarchitecture name."""
    if uarch in LLVM_CPU:
        return LLVM_CPU[uarch]
    try:
        import archspec.cpu

        target = archspec.cpu.TARGETS[uarch]
    except Exception:
        return "x86-64"
    # A newer chip than the table knows (e.g. zen5) is still best served by
    # its nearest known ancestor rather than by the x86-64 baseline.
    for ancestor in target.ancestors:
        if ancestor.name in LLVM_CPU:
            return LLVM_CPU[ancestor.name]
    return "x86-64" if target.family.name == "x86_64" else "generic"


# ------------------------------------------------------------ small readers


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def _size(text: str | None) -> int:
    """'48K' / '2048K' / '1M' (sysfs cache sizes) -> bytes; 0 if unparsable."""
    m = re.fullmatch(r"(\d+)\s*([KMG]?)i?B?", (text or "").strip(), re.I)
    if not m:
        return 0
    return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2).upper()]


@functools.lru_cache(maxsize=1)
def _cpuinfo_lib() -> dict:
    # py-cpuinfo is slow (it may spawn processes): only asked when /proc fails.
    try:
        import cpuinfo

        return cpuinfo.get_cpu_info() or {}
    except Exception:
        return {}


def _proc_cpuinfo() -> list[dict]:
    """/proc/cpuinfo as one dict per logical CPU."""
    blocks: list[dict] = []
    cur: dict[str, str] = {}
    for line in (_read("/proc/cpuinfo") or "").splitlines() + [""]:
        if not line.strip():
            if cur:
                blocks.append(cur)
            cur = {}
        elif ":" in line:
            key, _, val = line.partition(":")
            cur[key.strip()] = val.strip()
    return blocks


# --------------------------------------------------------------------- cpu


def _caches(sys_cpu: str = "/sys/devices/system/cpu") -> dict:
    cache = {"l1d": 0, "l1i": 0, "l2": 0, "l3": 0}
    for d in glob.glob(f"{sys_cpu}/cpu0/cache/index*"):
        level, kind = _read(f"{d}/level"), (_read(f"{d}/type") or "").lower()
        key = {("1", "data"): "l1d", ("1", "instruction"): "l1i", ("2", "unified"): "l2", ("2", "data"): "l2"}.get(
            (level or "", kind)
        )
        if key:
            cache[key] = _size(_read(f"{d}/size"))
    # L3 is reported per instance; the total is one size per distinct
    # sharing group (one per socket or CCX) across all CPUs.
    groups = {}
    for d in glob.glob(f"{sys_cpu}/cpu[0-9]*/cache/index*"):
        if _read(f"{d}/level") == "3":
            group = _read(f"{d}/shared_cpu_list") or _read(f"{d}/id") or d
            groups[group] = _size(_read(f"{d}/size"))
    cache["l3"] = sum(groups.values())
    if not all(cache.values()):
        # Fallback only; note that py-cpuinfo may report l1/l2 summed over cores.
        lib = _cpuinfo_lib()
        for key, name in (
            ("l1d", "l1_data_cache_size"),
            ("l1i", "l1_instruction_cache_size"),
            ("l2", "l2_cache_size"),
            ("l3", "l3_cache_size"),
        ):
            if not cache[key] and isinstance(lib.get(name), int):
                cache[key] = lib[name]
    return cache


# The x86-64 psABI levels, in /proc/cpuinfo flag names (lzcnt is "abm").
_X86_LEVELS = (
    ("x86_64_v4", {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
    ("x86_64_v3", {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}),
    ("x86_64_v2", {"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"}),
)


def x86_level(features: list[str]) -> str:
    """Without archspec, the best psABI level the flags support (each includes the last)."""
    have, level = set(features), "x86_64"
    for name, need in reversed(_X86_LEVELS):  # v2, then v3, then v4
        if not need <= have:
            break
        level = name
    return level


def _cpu() -> dict:
    blocks = _proc_cpuinfo()
    first = blocks[0] if blocks else {}
    arch = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)
    flags = first.get("flags") or first.get("Features")
    if flags is None:
        flags = " ".join(_cpuinfo_lib().get("flags", []))
    threads = len([b for b in blocks if "processor" in b]) or os.cpu_count() or 1
    # Physical cores are distinct (package, core) pairs; SMT siblings share one.
    pairs = {(b.get("physical id"), b.get("core id")) for b in blocks if "core id" in b}
    if not pairs:
        pairs = {
            (_read(f"{c}/topology/physical_package_id"), _read(f"{c}/topology/core_id"))
            for c in glob.glob("/sys/devices/system/cpu/cpu[0-9]*")
        }
        pairs.discard((None, None))
    features = sorted({f.lower() for f in flags.split()})
    try:
        import archspec.cpu

        uarch = archspec.cpu.host().name
    except Exception:
        # No archspec (e.g. a GPU machine with only the runtime's packages):
        # name the psABI level the /proc/cpuinfo flags prove, never a guessed chip.
        uarch = x86_level(features) if arch == "x86_64" else ""
    return {
        "arch": arch,
        "vendor": first.get("vendor_id") or _cpuinfo_lib().get("vendor_id_raw", ""),
        "model_name": first.get("model name") or _cpuinfo_lib().get("brand_raw", ""),
        "uarch": uarch,
        "llvm_cpu": llvm_cpu(uarch) if uarch else ("x86-64" if arch == "x86_64" else "generic"),
        "features": features,
        "cores": min(len(pairs), threads) or threads,
        "threads": threads,
        "cache": _caches(),
    }


def _memory() -> dict:
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", _read("/proc/meminfo") or "", re.M)
    if m:
        return {"total_bytes": int(m.group(1)) * 1024}
    try:
        return {"total_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")}
    except (ValueError, OSError, AttributeError):
        return {"total_bytes": 0}


# -------------------------------------------------------------------- gpus


def _text(v) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


def _bus_id(text: str) -> str:
    # NVML writes an 8-digit PCI domain, CUDA and sysfs 4: compare them as sysfs does.
    domain, _, rest = text.strip().partition(":")
    try:
        return f"{int(domain, 16):04x}:{rest.lower()}"
    except ValueError:
        return text.lower()


# Run in a child process: initialising CUDA here would break CUDA in any
# worker this compiler later forks.
_CUDA_SMS = """
import ctypes
cu = ctypes.CDLL("libcuda.so.1")
n, dev, sms, bus = ctypes.c_int(), ctypes.c_int(), ctypes.c_int(), ctypes.create_string_buffer(64)
assert cu.cuInit(0) == 0 and cu.cuDeviceGetCount(ctypes.byref(n)) == 0
for i in range(n.value):
    if (cu.cuDeviceGet(ctypes.byref(dev), i) == 0 and cu.cuDeviceGetPCIBusId(bus, 64, dev) == 0
            and cu.cuDeviceGetAttribute(ctypes.byref(sms), 16, dev) == 0):  # 16: MULTIPROCESSOR_COUNT
        print(bus.value.decode(), sms.value)
"""


def _cuda_sm_counts() -> dict:
    """PCI bus id -> multiprocessor count from the CUDA driver; {} on any trouble."""
    try:
        run = subprocess.run([sys.executable, "-c", _CUDA_SMS], capture_output=True, text=True, timeout=30)
        return {_bus_id(bus): int(n) for bus, n in (line.split() for line in run.stdout.splitlines() if line.strip())}
    except Exception:
        return {}


def _bandwidth(bus_width_bits, max_memory_clock_mhz) -> int | None:
    """Peak memory bandwidth in bytes/s: bus bytes x clock x 2 (double data
    rate); an H100 80GB HBM3 (5120 bits, 2619 MHz) gives its datasheet 3.35e12."""
    if bus_width_bits is None or max_memory_clock_mhz is None:
        return None
    return bus_width_bits * max_memory_clock_mhz * 1_000_000 * 2 // 8


def _gpus() -> list[dict]:
    """NVIDIA GPUs through NVML; [] when pynvml or the driver is absent."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return []

    def ask(fn, *args):
        # One unsupported query (old driver, MIG, vGPU) gives null, not a crash.
        try:
            return fn(*args)
        except Exception:
            return None

    gpus, sms = [], None
    try:
        driver = ask(pynvml.nvmlSystemGetDriverVersion)
        for i in range(ask(pynvml.nvmlDeviceGetCount) or 0):
            h = ask(pynvml.nvmlDeviceGetHandleByIndex, i)
            if h is None:
                continue
            mem = ask(pynvml.nvmlDeviceGetMemoryInfo, h)
            cc = ask(pynvml.nvmlDeviceGetCudaComputeCapability, h)
            pci = ask(pynvml.nvmlDeviceGetPciInfo, h)
            bus = _bus_id(_text(pci.busId)) if pci is not None else None
            mps = getattr(ask(pynvml.nvmlDeviceGetAttributes, h), "multiprocessorCount", None)
            if mps is None and bus is not None:
                # NVML answers this only for MIG-capable setups; CUDA always knows.
                sms = _cuda_sm_counts() if sms is None else sms
                mps = sms.get(bus)
            name, uuid = ask(pynvml.nvmlDeviceGetName, h), ask(pynvml.nvmlDeviceGetUUID, h)
            width = ask(pynvml.nvmlDeviceGetMemoryBusWidth, h)
            mem_clock = ask(pynvml.nvmlDeviceGetMaxClockInfo, h, pynvml.NVML_CLOCK_MEM)
            gpus.append(
                {
                    "index": i,
                    "vendor": "nvidia",
                    "name": _text(name) if name is not None else "",
                    "uuid": _text(uuid) if uuid is not None else None,
                    "memory_bytes": int(mem.total) if mem is not None else 0,
                    "compute_capability": [int(cc[0]), int(cc[1])] if cc else [0, 0],
                    # The GPU backend sizes launches from the SM count and clock; the
                    # GPU benchmark quotes measured bandwidth against the datasheet peak.
                    "multiprocessors": mps,
                    "max_sm_clock_mhz": ask(pynvml.nvmlDeviceGetMaxClockInfo, h, pynvml.NVML_CLOCK_SM),
                    "memory_bus_width": width,
                    "max_memory_clock_mhz": mem_clock,
                    "memory_bandwidth_bytes_per_s": _bandwidth(width, mem_clock),
                    "pci_bus_id": bus,
                    "driver_version": _text(driver) if driver is not None else None,
                }
            )
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass
    return gpus


# --------------------------------------------------------------------- pci

PCI_IDS_PATHS = ("/usr/share/hwdata/pci.ids", "/usr/share/misc/pci.ids", "/usr/share/pci.ids")
IORESOURCE_IO, IORESOURCE_MEM = 0x100, 0x200
IORESOURCE_PREFETCH, IORESOURCE_MEM_64 = 0x2000, 0x100000


@functools.lru_cache(maxsize=4)
def read_pci_ids(path: str) -> dict:
    """Parse a pci.ids file: {'8086': ('Intel Corporation', {'100e': '82540EM ...'})}."""
    vendors: dict = {}
    current: tuple[str, dict] | None = None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                if line.startswith("C "):  # the device-class list ends the vendors
                    break
                if line.startswith("\t\t"):  # subsystem lines: not needed
                    continue
                if line.startswith("\t"):
                    if current is not None:
                        current[1][line[1:5].lower()] = line[5:].strip()
                elif re.match(r"[0-9a-fA-F]{4}\s", line):
                    current = (line[4:].strip(), {})
                    vendors[line[:4].lower()] = current
    except OSError:
        return {}
    return vendors


def _bars(resource: str | None) -> list[dict]:
    bars = []
    # Lines 0-5 are the BARs; line 6 is the expansion ROM, later ones bridge windows.
    for index, line in enumerate((resource or "").splitlines()[:6]):
        try:
            start, end, flags = (int(x, 16) for x in line.split()[:3])
        except ValueError:
            continue
        size = end - start + 1 if end > start else 0
        if size == 0 or not flags & (IORESOURCE_IO | IORESOURCE_MEM):
            continue
        bars.append(
            {
                "index": index,
                "start": start,
                "size": size,
                "kind": "io" if flags & IORESOURCE_IO else "mem",
                "prefetchable": bool(flags & IORESOURCE_PREFETCH),
                "64bit": bool(flags & IORESOURCE_MEM_64),
            }
        )
    return bars


VIRTIO_VENDOR = 0x1AF4
PCI_CAP_VENDOR = 0x09


def virtio_structures(config: bytes) -> list[dict]:
    """The virtio structures a virtio 1.x device lists in its PCI capabilities
    (virtio spec 4.1.4): [{type, bar, offset, length[, multiplier]}].  Only
    the first 256 bytes of config space are needed, and sysfs gives those to
    any user."""
    if (
        len(config) < 64 or int.from_bytes(config[0:2], "little") != VIRTIO_VENDOR or not config[6] & 0x10
    ):  # status: no capability list
        return []
    out: list[dict] = []
    at, seen = config[0x34] & 0xFC, set()
    # Capabilities live past the 64-byte header (a pointer below 0x40 ends
    # the list, as in Linux); any kind may sit near the end of the 256
    # bytes, so only a virtio one needs its 16 bytes to be there.
    while 0x40 <= at and at + 2 <= len(config) and at not in seen:
        seen.add(at)
        cap_id, nxt = config[at], config[at + 1] & 0xFC
        if cap_id == PCI_CAP_VENDOR and at + 16 <= len(config):
            kind, bar = config[at + 3], config[at + 4]
            entry = {
                "type": kind,
                "bar": bar,
                "offset": int.from_bytes(config[at + 8 : at + 12], "little"),
                "length": int.from_bytes(config[at + 12 : at + 16], "little"),
            }
            if kind == 2 and at + 20 <= len(config):  # notify: + notify_off_multiplier
                entry["multiplier"] = int.from_bytes(config[at + 16 : at + 20], "little")
            # Types 1-4 locate a structure in a BAR; keep the first of each
            # (the spec lets later ones be alternatives), skip the rest.
            if 1 <= kind <= 4 and bar <= 5 and kind not in {e["type"] for e in out}:
                out.append(entry)
        at = nxt
    return out


def _read_bytes(path: str, n: int = 256) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _pci(root: str = "/sys/bus/pci/devices", ids_path: str | None = None) -> list[dict]:
    if ids_path is None:
        ids_path = next((p for p in PCI_IDS_PATHS if os.path.isfile(p)), None)
    ids = read_pci_ids(ids_path) if ids_path else {}
    devices = []
    for d in sorted(glob.glob(f"{root}/*")):
        vendor, device = _read(f"{d}/vendor"), _read(f"{d}/device")
        if not vendor or not device:
            continue
        driver = os.path.realpath(f"{d}/driver") if os.path.exists(f"{d}/driver") else None
        vname, dnames = ids.get(vendor[2:].lower().zfill(4), (None, {}))
        devices.append(
            {
                "address": os.path.basename(d),
                "vendor": vendor,
                "device": device,
                "subsystem_vendor": _read(f"{d}/subsystem_vendor"),
                "subsystem_device": _read(f"{d}/subsystem_device"),
                "class": _read(f"{d}/class") or "0x000000",
                "revision": _read(f"{d}/revision"),
                "bars": _bars(_read(f"{d}/resource")),
                "driver": os.path.basename(driver) if driver else None,
                "vendor_name": vname,
                "device_name": dnames.get(device[2:].lower().zfill(4)),
            }
        )
        virtio = virtio_structures(_read_bytes(f"{d}/config"))
        if virtio:
            devices[-1]["virtio"] = virtio
    return devices


# ------------------------------------------------------- probe, fingerprint


def probe() -> Probe:
    """Describe this machine (format atlas-probe/1)."""
    return Probe.from_json(
        {
            "format": FORMAT,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "host": {"hostname": socket.gethostname(), "os": platform.system(), "kernel": platform.release()},
            "cpu": _cpu(),
            "memory": _memory(),
            "gpus": _gpus(),
            "pci": _pci(),
        },
        "<this machine's probe>",
    )


def fingerprint(probe: Probe) -> str:
    """A short stable id of the machine: same hardware, same fingerprint."""
    p = probe.to_json()
    keyed = {
        "cpu": {
            k: p["cpu"][k]
            for k in ("arch", "vendor", "model_name", "uarch", "llvm_cpu", "features", "cores", "threads", "cache")
        },
        "memory": probe.memory_bytes,
        "gpus": [{k: g[k] for k in ("name", "compute_capability", "memory_bytes")} for g in p["gpus"]],
        "pci": [{k: d[k] for k in ("address", "vendor", "device", "class")} for d in p["pci"]],
    }
    canon = json.dumps(keyed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def _json(probe: Probe) -> str:
    return json.dumps(probe.to_json(), indent=2, sort_keys=True) + "\n"


def write_probe(probe: Probe, path) -> None:
    """Write probe JSON atomically: readers see the old file or the new, never half."""
    write_atomic(path, _json(probe))  # _json fails before touching disk


# -------------------------------------------------------------- validation

_MISSING = object()


def _int(lo: int = 0):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= lo


def _match(pattern: str):
    rx = re.compile(pattern)
    return lambda v: isinstance(v, str) and rx.fullmatch(v) is not None


def _or_null(want):
    return (want[0] + " or null", lambda v: v is None or want[1](v))


# Each expectation is (what the message says, test).
STR = ("a string", lambda v: isinstance(v, str))
INT0 = ("an integer >= 0", _int(0))
INT1 = ("an integer >= 1", _int(1))
BOOL = ("true or false", lambda v: isinstance(v, bool))
OBJ = ("an object", lambda v: isinstance(v, dict))
LIST = ("a list", lambda v: isinstance(v, list))
HEX = ('a hex string like "0x8086"', _match(r"0x[0-9a-fA-F]+"))
ADDR = ('a PCI address like "0000:00:03.0"', _match(r"[0-9a-fA-F]{4,}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]"))
CC = (
    "[major, minor] as two integers >= 0",
    lambda v: isinstance(v, list) and len(v) == 2 and all(_int(0)(x) for x in v),
)
BAR_INDEX = ("a BAR index 0..5", lambda v: _int(0)(v) and v <= 5)
BAR_KIND = ('"mem" or "io"', lambda v: v in ("mem", "io"))


def _describe(v) -> str:
    if v is _MISSING:
        return "nothing (the field is missing)"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return f"the number {v}"
    if isinstance(v, str):
        s = json.dumps(v)
        return "the string " + (s if len(s) <= 40 else s[:36] + '..."')
    if isinstance(v, list):
        return f"a list of {len(v)} item" + ("" if len(v) == 1 else "s")
    return "an object"


def _json_error(src: str, e: json.JSONDecodeError) -> str:
    """A compiler-style message: position, the source line, a caret under the column."""
    lines = e.doc.split("\n")
    line = lines[e.lineno - 1].rstrip("\r") if e.lineno <= len(lines) else ""
    col = e.colno
    # Minified JSON can be one enormous line: show a window around the error.
    start = max(0, col - 61) if len(line) > 100 else 0
    lead = "..." if start else ""
    tail = "..." if start + 100 < len(line) else ""
    shown = line[start : start + 100]
    pad = "".join(c if c == "\t" else " " for c in lead + shown[: col - 1 - start])
    return f"{src}:{e.lineno}:{col}: malformed JSON: {e.msg}\n{lead}{shown}{tail}\n{pad}^"


def load_probe(path) -> Probe:
    """Read and validate a probe file; raises ProbeError with a user-facing message."""
    src = os.fspath(path)
    try:
        with open(src, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ProbeError(f"{src}: cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ProbeError(
            f"{src}: cannot read: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProbeError(_json_error(src, e)) from None
    except RecursionError:
        raise ProbeError(f"{src}: malformed JSON: nested too deeply") from None
    return Probe.from_json(data, src)


class _Fields:
    """Field checks for one probe file: each names the file and the field."""

    def __init__(self, src: str):
        self.src = src

    def fail(self, where, want, found):
        raise ProbeError(f"{self.src}: {where}: expected {want[0]}, found {_describe(found)}")

    def field(self, obj, key, where, want, default=_MISSING):
        v = obj.get(key, _MISSING)
        if v is _MISSING and default is not _MISSING:
            v = json.loads(json.dumps(default))  # a fresh copy of a mutable default
        elif not want[1](v):
            self.fail(f"{where}.{key}" if where else key, want, v)
        obj[key] = v
        return v

    def objects(self, obj, key, where, default=_MISSING):
        """The list `key` of `obj`, each item an object: (its place, it)."""
        for i, item in enumerate(self.field(obj, key, where, LIST, default)):
            at = f"{where}.{key}[{i}]" if where else f"{key}[{i}]"
            if not OBJ[1](item):
                self.fail(at, OBJ, item)
            yield at, item

    def cpu(self, cpu: dict) -> None:
        self.field(cpu, "arch", "cpu", STR)
        for i, f in enumerate(self.field(cpu, "features", "cpu", LIST)):
            if not STR[1](f):
                self.fail(f"cpu.features[{i}]", STR, f)
        cpu["features"] = sorted({f.lower() for f in cpu["features"]})
        self.field(cpu, "cores", "cpu", INT1)
        self.field(cpu, "threads", "cpu", INT1)
        for key in ("vendor", "model_name", "uarch"):
            self.field(cpu, key, "cpu", STR, "")
        self.field(cpu, "llvm_cpu", "cpu", STR, "x86-64")
        cache = self.field(cpu, "cache", "cpu", OBJ)
        for key in list(cache) + ["l1d", "l1i", "l2", "l3"]:
            self.field(cache, key, "cpu.cache", INT0, 0)

    def gpu(self, g: dict, at: str) -> None:
        self.field(g, "name", at, STR)
        self.field(g, "compute_capability", at, CC)
        self.field(g, "memory_bytes", at, INT0, 0)
        # Launch sizing (SMs, clock), bandwidth for benchmark reports and the bus
        # id are optional: older probes and odd drivers leave them out or null.
        for key in (
            "index",
            "multiprocessors",
            "memory_bus_width",
            "max_memory_clock_mhz",
            "max_sm_clock_mhz",
            "memory_bandwidth_bytes_per_s",
        ):
            self.field(g, key, at, _or_null(INT0), None)
        for key in ("vendor", "uuid", "driver_version", "pci_bus_id"):
            self.field(g, key, at, _or_null(STR), None)

    def pci(self, d: dict, at: str) -> None:
        self.field(d, "address", at, ADDR)
        for key in ("vendor", "device", "class"):
            self.field(d, key, at, HEX)
        for key in ("subsystem_vendor", "subsystem_device", "revision"):
            self.field(d, key, at, _or_null(HEX), None)
        for key in ("driver", "vendor_name", "device_name"):
            self.field(d, key, at, _or_null(STR), None)
        for bat, b in self.objects(d, "bars", at, []):
            self.field(b, "index", bat, BAR_INDEX)
            self.field(b, "start", bat, INT0)
            self.field(b, "size", bat, INT1)
            self.field(b, "kind", bat, BAR_KIND)
            self.field(b, "prefetchable", bat, BOOL, False)
            self.field(b, "64bit", bat, BOOL, False)
        if "virtio" in d:  # only virtio devices carry `virtio`; absent elsewhere, not []
            for cat, c in self.objects(d, "virtio", at):
                self.field(c, "type", cat, INT1)
                self.field(c, "bar", cat, BAR_INDEX)
                self.field(c, "offset", cat, INT0)
                self.field(c, "length", cat, INT0)
                if "multiplier" in c:  # the notify structure's only
                    self.field(c, "multiplier", cat, INT0)


def _normalise(data, src: str) -> dict:
    """Check a decoded probe and return a normalised copy with defaults filled."""
    check = _Fields(src)
    if not isinstance(data, dict):
        check.fail("(top level)", OBJ, data)
    p = json.loads(json.dumps(data))  # never mutate the caller's value
    check.field(p, "format", "", (json.dumps(FORMAT), lambda v: v == FORMAT))
    if "created" in p:
        check.field(p, "created", "", STR)
    if "host" in p:
        for key in check.field(p, "host", "", OBJ):
            check.field(p["host"], key, "host", _or_null(STR))
    check.cpu(check.field(p, "cpu", "", OBJ))
    check.field(check.field(p, "memory", "", OBJ, {}), "total_bytes", "memory", INT0, 0)
    for at, g in check.objects(p, "gpus", "", []):
        check.gpu(g, at)
    for at, d in check.objects(p, "pci", "", []):
        check.pci(d, at)
    p["pci"].sort(key=lambda d: d["address"])
    return p


# ------------------------------------------------------------ typed probe


@dataclass(frozen=True)
class Cache:
    """Cache sizes in bytes; 0 where unknown."""

    l1d: int = 0
    l1i: int = 0
    l2: int = 0
    l3: int = 0


@dataclass(frozen=True)
class Cpu:
    arch: str
    features: tuple[str, ...]  # lower case, sorted, each once
    cores: int
    threads: int
    vendor: str = ""
    model_name: str = ""
    uarch: str = ""  # archspec's name
    llvm_cpu: str = "x86-64"  # LLVM's -mcpu
    cache: Cache = Cache()

    def has(self, flag: str) -> bool:
        return flag.lower() in self.features


@dataclass(frozen=True)
class Gpu:
    name: str
    compute_capability: tuple[int, int]
    memory_bytes: int = 0
    # What older probes and odd drivers leave out is None.
    index: int | None = None
    vendor: str | None = None
    uuid: str | None = None
    multiprocessors: int | None = None
    max_sm_clock_mhz: int | None = None
    memory_bus_width: int | None = None
    max_memory_clock_mhz: int | None = None
    memory_bandwidth_bytes_per_s: int | None = None
    pci_bus_id: str | None = None
    driver_version: str | None = None


@dataclass(frozen=True)
class Bar:
    index: int
    start: int
    size: int
    kind: str  # "mem" or "io"
    prefetchable: bool = False
    wide: bool = False  # "64bit" in the file


@dataclass(frozen=True)
class VirtioStructure:
    type: int  # virtio spec 4.1.4: 1 common, 2 notify, 3 isr, 4 device
    bar: int
    offset: int
    length: int
    multiplier: int | None = None  # the notify structure's only


# The PCI identifiers a device description may match on, by their names in
# an intent's `match` clause (and in the probe file).
PCI_IDS = ("vendor", "device", "class", "subsystem_vendor", "subsystem_device", "revision")


@dataclass(frozen=True)
class PciDevice:
    address: str
    vendor: str  # hex text, "0x8086"
    device: str
    device_class: str  # "class" in the file
    subsystem_vendor: str | None = None
    subsystem_device: str | None = None
    revision: str | None = None
    driver: str | None = None
    vendor_name: str | None = None
    device_name: str | None = None
    bars: tuple[Bar, ...] = ()
    virtio: tuple[VirtioStructure, ...] | None = None  # virtio devices only

    def ident(self, name: str) -> str | None:
        """One of PCI_IDS by its name, as hex text (None if not probed)."""
        if name not in PCI_IDS:
            raise KeyError(f"not a PCI identifier: {name}")
        return self.device_class if name == "class" else getattr(self, name)


@dataclass(frozen=True)
class Probe:
    """One machine, as `probe()` finds it or a probe file describes it.
    `created` and `host` say where the probe came from, not what the machine
    is: they take no part in equality (or the fingerprint)."""

    cpu: Cpu
    memory_bytes: int = 0
    gpus: tuple[Gpu, ...] = ()
    pci: tuple[PciDevice, ...] = ()  # sorted by address
    created: str | None = field(default=None, compare=False)
    host: dict | None = field(default=None, compare=False)

    @classmethod
    def from_json(cls, data, src: str = "<probe>") -> "Probe":
        """Validate a decoded probe file (raising ProbeError, which names the
        file and the field) and build it, with defaults filled."""
        p = _normalise(data, src)
        c = p["cpu"]
        cpu = Cpu(
            arch=c["arch"],
            features=tuple(c["features"]),
            cores=c["cores"],
            threads=c["threads"],
            vendor=c["vendor"],
            model_name=c["model_name"],
            uarch=c["uarch"],
            llvm_cpu=c["llvm_cpu"],
            cache=Cache(**{k: c["cache"][k] for k in ("l1d", "l1i", "l2", "l3")}),
        )
        gpus = tuple(
            Gpu(**{**{k: g[k] for k in _GPU_KEYS}, "compute_capability": tuple(g["compute_capability"])})
            for g in p["gpus"]
        )
        return cls(
            cpu=cpu,
            memory_bytes=p["memory"]["total_bytes"],
            gpus=gpus,
            pci=tuple(_pci_device(d) for d in p["pci"]),
            created=p.get("created"),
            host=p.get("host"),
        )

    def to_json(self) -> dict:
        """The probe file's form (format atlas-probe/1): from_json(to_json()) == self."""
        out = {
            "format": FORMAT,
            "cpu": {
                **{
                    k: getattr(self.cpu, k)
                    for k in ("arch", "vendor", "model_name", "uarch", "llvm_cpu", "cores", "threads")
                },
                "features": list(self.cpu.features),
                "cache": asdict(self.cpu.cache),
            },
            "memory": {"total_bytes": self.memory_bytes},
            "gpus": [{**asdict(g), "compute_capability": list(g.compute_capability)} for g in self.gpus],
            "pci": [_pci_json(d) for d in self.pci],
        }
        if self.created is not None:
            out["created"] = self.created
        if self.host is not None:
            out["host"] = dict(self.host)
        return out


_GPU_KEYS = tuple(f.name for f in fields(Gpu))


def _pci_device(d: dict) -> PciDevice:
    return PciDevice(
        address=d["address"],
        vendor=d["vendor"],
        device=d["device"],
        device_class=d["class"],
        **{
            k: d[k]
            for k in ("subsystem_vendor", "subsystem_device", "revision", "driver", "vendor_name", "device_name")
        },
        bars=tuple(
            Bar(
                index=b["index"],
                start=b["start"],
                size=b["size"],
                kind=b["kind"],
                prefetchable=b["prefetchable"],
                wide=b["64bit"],
            )
            for b in d["bars"]
        ),
        virtio=None
        if "virtio" not in d
        else tuple(
            VirtioStructure(
                type=c["type"], bar=c["bar"], offset=c["offset"], length=c["length"], multiplier=c.get("multiplier")
            )
            for c in d["virtio"]
        ),
    )


def _pci_json(d: PciDevice) -> dict:
    out = {
        "address": d.address,
        "vendor": d.vendor,
        "device": d.device,
        "class": d.device_class,
        **{
            k: getattr(d, k)
            for k in ("subsystem_vendor", "subsystem_device", "revision", "driver", "vendor_name", "device_name")
        },
        "bars": [
            {
                "index": b.index,
                "start": b.start,
                "size": b.size,
                "kind": b.kind,
                "prefetchable": b.prefetchable,
                "64bit": b.wide,
            }
            for b in d.bars
        ],
    }
    if d.virtio is not None:
        out["virtio"] = [{k: v for k, v in asdict(c).items() if k != "multiplier" or v is not None} for c in d.virtio]
    return out


# ---------------------------------------------------------------- command


def main(argv=None) -> None:
    """`python -m atlas.machine.probe [-o FILE]`: the probe without the `atlas` CLI, for
    machines (the GPU hosts) that have only the runtime's packages, not click."""
    ap = argparse.ArgumentParser(prog="python -m atlas.machine.probe", description=main.__doc__)
    ap.add_argument("-o", "--output", metavar="FILE", help="write the probe here (default: stdout)")
    args = ap.parse_args(argv)
    p = probe()
    if args.output:
        write_probe(p, args.output)
        print(f"wrote {args.output}: {len(p.gpus)} GPU(s), fingerprint {fingerprint(p)}", file=sys.stderr)
    else:
        sys.stdout.write(_json(p))


if __name__ == "__main__":
    main()
