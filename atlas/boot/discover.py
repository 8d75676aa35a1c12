"""Stage 1 of `atlas boot`: a tiny kernel that discovers a machine.

`discover.c` is a multiboot kernel (32-bit, freestanding, built here with
`gcc -m32` and `ld`) that prints CPUID and every PCI function's
configuration space and BAR size masks on the first serial port, then
leaves through QEMU's isa-debug-exit port.  `probe_from_serial` turns that
log into a probe (atlas-probe/1), the same a running Linux gives, so the
rest of Atlas compiles for the machine as it found it: CPU features from
CPUID, each device's identifiers, BARs (where the firmware placed them,
their sizes from the masks) and virtio structures read from its
capabilities, exactly as `atlas probe` reads them from sysfs.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..files import cache_dir
from ..machine import probe as hwprobe

HERE = Path(__file__).resolve().parent
SOURCES = (HERE / "discover.c", HERE / "runtime.c", HERE / "runtime.h", HERE / "link.ld")
FLAGS = ("-m32", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-nostdlib", "-O2", "-Wall", "-Werror")
EXIT_DONE = 99  # (0x31 << 1) | 1: what QEMU returns when the kernel wrote 0x31 to the exit port
QEMU = "qemu-system-x86_64"


class BootError(Exception):
    """A kernel that cannot be built, a QEMU that cannot run it, or a log
    that is not the discovery kernel's; the message says which."""


# ---------------------------------------------------------------- build and boot


def kernel() -> Path:
    """The discovery kernel, built once per source text (in the cache)."""
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in SOURCES)).hexdigest()[:16]
    out = cache_dir() / "boot" / f"discover-{digest}.elf"
    if not out.exists():
        link([HERE / "discover.c"], [], out)
    return out


def link(sources: list[Path], include: list[Path], out: Path) -> None:
    """Compile C `sources` (freestanding, 32-bit) with the runtime and link
    them at 1 MiB into the multiboot kernel `out`, written whole or not at all."""
    for tool in ("gcc", "ld"):
        if shutil.which(tool) is None:
            raise BootError(f"building a kernel needs `{tool}` (gcc and binutils)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        objects = []
        for src in [HERE / "runtime.c", *sources]:
            obj = Path(tmp) / f"{src.stem}.o"
            incs = [f"-I{d}" for d in (HERE, *include)]
            _run(["gcc", *FLAGS, *incs, "-c", str(src), "-o", str(obj)], f"compiling {src.name}")
            objects.append(str(obj))
        elf = Path(tmp) / out.name
        ld = ["ld", "-m", "elf_i386", "--no-warn-rwx-segments", "-T", str(HERE / "link.ld"), "-o", str(elf)]
        _run([*ld, *objects], "linking")
        elf.replace(out)  # atomic: a reader sees the whole kernel or none


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BootError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


@dataclass(frozen=True)
class Boot:
    """One boot: QEMU's exit status and what the kernel printed."""

    status: int
    log: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class Options:
    """How to boot: the devices (each one string of QEMU options, e.g.
    "-device e1000,netdev=n0 -netdev user,id=n0"), the network backends
    to start with their link down (by netdev id), and the bounds."""

    devices: tuple[str, ...] = ()
    links_down: tuple[str, ...] = ()
    timeout: float = 30.0
    memory_mb: int = 64
    # TCG by default: these guests run for milliseconds, and starting KVM
    # costs more (the discovery boot: 0.08 s under TCG, 3.06 s under a
    # nested KVM, measured on the development machine).
    accel: str = "tcg"


def boot(image: Path, opts: Options) -> Boot:
    """Boot `image` under QEMU with no display; the serial port goes to the log.  A guest
    still running after the timeout is killed and that is an error: a boot
    never waits forever."""
    if shutil.which(QEMU) is None:
        raise BootError(f"booting needs QEMU (`{QEMU}`; on Debian: apt-get install qemu-system-x86)")
    with tempfile.TemporaryDirectory(prefix="atlas-boot-") as tmp:
        serial, qmp = Path(tmp) / "serial.log", Path(tmp) / "qmp.sock"
        cmd = [
            QEMU,
            "-kernel", str(image),
            "-accel", opts.accel,
            "-display", "none",
            "-monitor", "none",
            "-serial", f"file:{serial}",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-no-reboot",
            "-m", f"{opts.memory_mb}M",
            "-nodefaults",
            *[part for d in opts.devices for part in d.split()],
        ]  # fmt: skip
        if opts.links_down:  # start paused, take the links down, then run
            cmd += ["-S", "-qmp", f"unix:{qmp},server=on,wait=off"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if opts.links_down:
                _links_down(qmp, opts.links_down, proc)
            _, err = proc.communicate(timeout=opts.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise BootError(f"the guest did not finish within {opts.timeout:g} s: {' '.join(cmd)}") from None
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        log = serial.read_text(errors="replace") if serial.exists() else ""
        if proc.returncode != EXIT_DONE and not log:
            raise BootError(f"QEMU failed (status {proc.returncode}): {err.strip()}")
        return Boot(proc.returncode, log, tuple(cmd))


def _links_down(sock: Path, names: tuple[str, ...], proc: subprocess.Popen) -> None:
    """Over QMP: set each named link down, then let the paused guest run."""
    deadline = time.monotonic() + 10
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            _, err = proc.communicate()
            raise BootError(f"QEMU failed (status {proc.returncode}): {err.strip()}")
        time.sleep(0.01)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(sock))
        reader = s.makefile("r")
        reader.readline()  # the greeting
        commands: list[dict] = [
            {"execute": "qmp_capabilities"},
            *({"execute": "set_link", "arguments": {"name": n, "up": False}} for n in names),
            {"execute": "cont"},
        ]
        for command in commands:
            s.sendall(json.dumps(command).encode() + b"\n")
            while True:  # events may come before the answer
                answer = json.loads(reader.readline())
                if "error" in answer:
                    raise BootError(f"QEMU refused {command['execute']}: {answer['error'].get('desc')}")
                if "return" in answer:
                    break


# ---------------------------------------------------------------- the log, read


# CPUID bits by the names /proc/cpuinfo gives them: (leaf, register, bit).
CPUID_FLAGS = {
    (1, "edx"): {0: "fpu", 4: "tsc", 5: "msr", 6: "pae", 8: "cx8", 9: "apic", 11: "sep", 13: "pge", 15: "cmov",
                 16: "pat", 19: "clflush", 23: "mmx", 24: "fxsr", 25: "sse", 26: "sse2", 28: "ht"},
    (1, "ecx"): {0: "pni", 1: "pclmulqdq", 9: "ssse3", 12: "fma", 13: "cx16", 19: "sse4_1", 20: "sse4_2",
                 21: "x2apic", 22: "movbe", 23: "popcnt", 25: "aes", 26: "xsave", 28: "avx", 29: "f16c",
                 30: "rdrand", 31: "hypervisor"},
    (7, "ebx"): {0: "fsgsbase", 3: "bmi1", 5: "avx2", 8: "bmi2", 9: "erms", 16: "avx512f", 17: "avx512dq",
                 18: "rdseed", 19: "adx", 21: "avx512ifma", 23: "clflushopt", 24: "clwb", 28: "avx512cd",
                 29: "sha_ni", 30: "avx512bw", 31: "avx512vl"},
    (7, "ecx"): {1: "avx512vbmi", 6: "avx512_vbmi2", 8: "gfni", 9: "vaes", 10: "vpclmulqdq", 11: "avx512_vnni",
                 12: "avx512_bitalg", 14: "avx512_vpopcntdq"},
    (0x80000001, "ecx"): {0: "lahf_lm", 5: "abm", 6: "sse4a", 8: "3dnowprefetch"},
    (0x80000001, "edx"): {11: "syscall", 20: "nx", 26: "pdpe1gb", 27: "rdtscp", 29: "lm"},
}  # fmt: skip
REGISTERS = ("eax", "ebx", "ecx", "edx")
_CPUID = re.compile(r"cpuid ([0-9a-f]{8})((?: [0-9a-f]{8}){4})$")
_PCI = re.compile(r"pci ([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]) ([0-9a-f]{512})((?: [0-9a-f]{8}){6})$")


def probe_from_serial(text: str, source: str = "<serial log>") -> hwprobe.Probe:
    """The probe the discovery kernel's log describes.  A line that is not
    the kernel's is an error naming `source:line`; so is a log that stops
    before its `end` line (the guest died mid-walk)."""
    cpuid: dict[int, dict[str, int]] = {}
    pci: list[dict] = []
    lines = text.splitlines()
    ended = False
    started = False
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line == "atlas-discover 1":
            started = True
        elif (m := _CPUID.match(line)) and started:
            cpuid[int(m.group(1), 16)] = dict(zip(REGISTERS, (int(x, 16) for x in m.group(2).split())))
        elif (m := _PCI.match(line)) and started:
            pci.append(_device(m))
        elif (m := re.fullmatch(r"end ([0-9a-f]{4})", line)) and started:
            said = int(m.group(1), 16)
            if said != len(pci):
                raise BootError(f"{source}:{n}: the log holds {len(pci)} PCI functions, its end line says {said}")
            ended = True
            break
        elif started and n == len(lines) and not text.endswith("\n"):
            raise BootError(f"{source}:{n}: the log stops mid-line (the guest stopped mid-walk)")
        elif started:
            raise BootError(f"{source}:{n}: not a line of the discovery kernel: {line[:60]!r}")
    if not started:
        raise BootError(f"{source}: no `atlas-discover 1` line: not the discovery kernel's log")
    if not ended:
        raise BootError(f"{source}: the log stops before its `end` line (the guest stopped mid-walk)")
    return hwprobe.Probe.from_json(
        {"format": hwprobe.FORMAT, "host": {"hostname": None, "os": "bare metal", "kernel": "atlas-discover 1"},
         "cpu": _cpu(cpuid), "memory": {"total_bytes": 0}, "gpus": [], "pci": pci},
        source,
    )  # fmt: skip


def _cpu(cpuid: dict[int, dict[str, int]]) -> dict:
    features = sorted(
        name
        for (leaf, reg), bits in CPUID_FLAGS.items()
        if leaf in cpuid
        for bit, name in bits.items()
        if cpuid[leaf][reg] >> bit & 1
    )
    zero = cpuid.get(0, {})
    vendor = b"".join(zero.get(r, 0).to_bytes(4, "little") for r in ("ebx", "edx", "ecx")).decode("ascii", "replace")
    brand = b"".join(
        cpuid.get(leaf, {}).get(r, 0).to_bytes(4, "little")
        for leaf in (0x80000002, 0x80000003, 0x80000004)
        for r in REGISTERS
    )
    arch = "x86_64" if "lm" in features else "i686"
    uarch = hwprobe.x86_level(features) if arch == "x86_64" else ""
    return {
        "arch": arch,
        "vendor": vendor.strip("\x00"),
        "model_name": brand.decode("ascii", "replace").strip("\x00 "),
        "uarch": uarch,
        "llvm_cpu": hwprobe.llvm_cpu(uarch) if uarch else "generic",
        "features": features,
        "cores": 1,  # the kernel runs on the boot processor and asks no other
        "threads": 1,
        "cache": {},
    }


def _device(m: re.Match) -> dict:
    bus, dev, fn = (int(m.group(i), 16) for i in (1, 2, 3))
    cfg = bytes.fromhex(m.group(4))
    masks = [int(x, 16) for x in m.group(5).split()]

    def word(at: int, size: int) -> int:
        return int.from_bytes(cfg[at : at + size], "little")

    header = cfg[0x0E] & 0x7F
    out = {
        "address": f"0000:{bus:02x}:{dev:02x}.{fn}",
        "vendor": f"0x{word(0, 2):04x}",
        "device": f"0x{word(2, 2):04x}",
        "class": f"0x{word(9, 3):06x}",
        "revision": f"0x{cfg[8]:02x}",
        "subsystem_vendor": f"0x{word(0x2C, 2):04x}" if header == 0 else None,
        "subsystem_device": f"0x{word(0x2E, 2):04x}" if header == 0 else None,
        "bars": _bars(cfg, masks, 6 if header == 0 else 2 if header == 1 else 0),
        "driver": None,
        "vendor_name": None,
        "device_name": None,
    }
    virtio = hwprobe.virtio_structures(cfg)
    if virtio:
        out["virtio"] = virtio
    return out


def _bars(cfg: bytes, masks: list[int], count: int) -> list[dict]:
    """Each implemented BAR: where the firmware put it and its size, from
    the mask read back after all ones were written (PCI 3.0, 6.2.5.1)."""
    out, i = [], 0
    while i < count:
        value = int.from_bytes(cfg[0x10 + 4 * i : 0x14 + 4 * i], "little")
        mask = masks[i]
        if value & 1:  # I/O space
            size = (~(mask & 0xFFFFFFFC) & 0xFFFF) + 1 if mask & 0xFFFFFFFC else 0
            if size:
                out.append({"index": i, "start": value & 0xFFFFFFFC, "size": size, "kind": "io",
                            "prefetchable": False, "64bit": False})  # fmt: skip
            i += 1
            continue
        wide = (value >> 1) & 3 == 2 and i + 1 < count
        start = value & 0xFFFFFFF0
        full = mask & 0xFFFFFFF0
        if wide:
            start |= int.from_bytes(cfg[0x14 + 4 * i : 0x18 + 4 * i], "little") << 32
            full |= masks[i + 1] << 32
            size = (~full & 0xFFFFFFFFFFFFFFFF) + 1 if full else 0
        else:
            size = (~full & 0xFFFFFFFF) + 1 if full else 0
        if size:
            out.append({"index": i, "start": start, "size": size, "kind": "mem",
                        "prefetchable": bool(value & 8), "64bit": wide})  # fmt: skip
        i += 2 if wide else 1
    return out
