"""The hardware facts a `when hw.…` branch may test, and their values in a
probe (atlas/machine/probe.py writes the probe; this is what the language
reads from it).  A branch is decided at compile time from these values."""

from __future__ import annotations

import functools
import re
from typing import Callable

from ..machine.probe import Gpu, Probe

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _gpu0(p: Probe) -> Gpu | None:
    return p.gpus[0] if p.gpus else None


def _cc(p: Probe) -> int:
    g = _gpu0(p)
    return g.compute_capability[0] * 10 + g.compute_capability[1] if g else 0


def _cache_size(level: str) -> Callable[[Probe], object]:
    return lambda p: getattr(p.cpu.cache, level)


# fact path (without "hw.") -> (type name, how to read it from a probe)
_FACTS: dict[str, tuple[str, Callable[[Probe], object]]] = {
    "cpu.arch": ("str", lambda p: p.cpu.arch),
    "cpu.vendor": ("str", lambda p: p.cpu.vendor),
    "cpu.uarch": ("str", lambda p: p.cpu.uarch),
    "cpu.llvm_cpu": ("str", lambda p: p.cpu.llvm_cpu),
    "cpu.cores": ("int", lambda p: p.cpu.cores),
    "cpu.threads": ("int", lambda p: p.cpu.threads),
    **{f"cpu.cache.{k}": ("int", _cache_size(k)) for k in ("l1d", "l1i", "l2", "l3")},
    "mem.total": ("int", lambda p: p.memory_bytes),
    "gpu.count": ("int", lambda p: len(p.gpus)),
    "gpu.memory": ("int", lambda p: g.memory_bytes if (g := _gpu0(p)) else 0),
    "gpu.cc": ("int", _cc),
    "pci.count": ("int", lambda p: len(p.pci)),
}
FACTS = {path: t for path, (t, _) in _FACTS.items()}
# cpu.<name> means a feature flag, except names that are cpu record fields.
_NOT_FLAGS = {"cache", "features", "model_name"}


def _bare(path: str) -> str:
    return path[3:] if path.startswith("hw.") else path


def fact_type(path: str) -> str | None:
    """'bool' / 'int' / 'str' for a fact path (with or without "hw."), else None."""
    path = _bare(path)
    if path in FACTS:
        return FACTS[path]
    head, _, name = path.partition(".")
    if head == "cpu" and _IDENT.match(name) and name not in _NOT_FLAGS:
        return "bool"
    return None


def fact_value(probe: Probe, path: str):
    """The value of a fact in a probe; a feature flag is True iff the CPU has it."""
    path = _bare(path)
    if path in _FACTS:
        return _FACTS[path][1](probe)
    if fact_type(path) == "bool":
        return probe.cpu.has(path[4:])
    raise KeyError(f"unknown hardware fact hw.{path}")


@functools.lru_cache(maxsize=1)
def _x86_flags() -> frozenset:
    # Flags archspec knows for any x86 chip: enough to suggest "cpu.popcnt" for "cpu.popcount".
    try:
        import archspec.cpu

        return frozenset(f for t in archspec.cpu.TARGETS.values() if t.family.name == "x86_64" for f in t.features)
    except Exception:
        return frozenset()


# Common /proc/cpuinfo flags that archspec does not list (it names only the
# flags that tell microarchitectures apart).
_LINUX_FLAGS = frozenset(
    """fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36
clflush mmx fxsr sse sse2 ss ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good
nopl xtopology nonstop_tsc cpuid pni monitor vmx smx est tm2 cx16 xtpr pdcm pcid dca x2apic
tsc_deadline_timer hypervisor lahf_lm cmp_legacy svm extapic cr8_legacy misalignsse 3dnowprefetch
osvw ibs skinit wdt invpcid smep smap erms rtm hle mpx avx512_4vnniw avx512_4fmaps clflushopt
arat umip ospke md_clear arch_capabilities ibrs ibpb stibp ssbd""".split()
)


def is_known_flag(name: str) -> bool:
    """Whether `name` is a CPU feature flag Atlas knows of (to catch typos
    such as hw.cpu.popcount, which would otherwise be silently false)."""
    flags = _x86_flags()
    return not flags or name in flags or name in _LINUX_FLAGS


def known_facts(probe: Probe | None = None) -> list[str]:
    """Fact paths for "did you mean" messages: FACTS plus known feature flags."""
    flags = set(_x86_flags()) | set(probe.cpu.features if probe else ())
    return sorted(set(FACTS) | {f"cpu.{f}" for f in flags if _IDENT.match(f) and f not in _NOT_FLAGS})
