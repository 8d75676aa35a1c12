"""The x86_64 target: the machine from the probe, optimisation, objects, linking.

The target is built from the probe alone, never from the host we compile
on, so an artefact can be built here for another x86_64 machine.  Every ISA
feature LLVM knows is either switched on (the probe reports it) or off: a
`-mcpu` name that implies, say, AVX-512 cannot bring it back when the probe
did not report it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import llvmlite.binding as llvm

from atlas.machine.backend import BackendError
from atlas.machine.probe import Probe

TRIPLE = "x86_64-unknown-linux-gnu"

# LLVM feature -> the probe flag names (Linux /proc/cpuinfo spelling first)
# that report it.  The LLVM name itself is accepted too.  Baseline x86_64
# (sse, sse2, cmov, cx8, fxsr, mmx) is implied by the triple and never listed.
FEATURES: dict[str, tuple[str, ...]] = {
    "sse3": ("pni", "sse3"),
    "ssse3": ("ssse3",),
    "sse4.1": ("sse4_1",),
    "sse4.2": ("sse4_2",),
    "crc32": ("sse4_2",),
    "sse4a": ("sse4a",),
    "popcnt": ("popcnt",),
    "lzcnt": ("abm",),
    "bmi": ("bmi1",),
    "bmi2": ("bmi2",),
    "tbm": ("tbm",),
    "adx": ("adx",),
    "movbe": ("movbe",),
    "avx": ("avx",),
    "avx2": ("avx2",),
    "fma": ("fma",),
    "fma4": ("fma4",),
    "xop": ("xop",),
    "f16c": ("f16c",),
    "aes": ("aes",),
    "pclmul": ("pclmulqdq",),
    "vaes": ("vaes",),
    "vpclmulqdq": ("vpclmulqdq",),
    "gfni": ("gfni",),
    "sha": ("sha_ni",),
    "sha512": ("sha512",),
    "sm3": ("sm3",),
    "sm4": ("sm4",),
    "avx512f": ("avx512f",),
    "avx512bw": ("avx512bw",),
    "avx512dq": ("avx512dq",),
    "avx512vl": ("avx512vl",),
    "avx512cd": ("avx512cd",),
    "avx512ifma": ("avx512ifma",),
    "avx512vbmi": ("avx512vbmi",),
    "avx512vbmi2": ("avx512_vbmi2",),
    "avx512vnni": ("avx512_vnni",),
    "avx512bitalg": ("avx512_bitalg",),
    "avx512vpopcntdq": ("avx512_vpopcntdq",),
    "avx512bf16": ("avx512_bf16",),
    "avx512fp16": ("avx512_fp16",),
    "avx512vp2intersect": ("avx512_vp2intersect",),
    "avx10.1": (),
    "avx10.2": (),
    "avxvnni": ("avx_vnni",),
    "avxifma": ("avx_ifma",),
    "avxneconvert": ("avx_ne_convert",),
    "avxvnniint8": ("avx_vnni_int8",),
    "avxvnniint16": ("avx_vnni_int16",),
    "amx-tile": ("amx_tile",),
    "amx-int8": ("amx_int8",),
    "amx-bf16": ("amx_bf16",),
    "amx-fp16": ("amx_fp16",),
    "amx-complex": ("amx_complex",),
    "amx-fp8": ("amx_fp8",),
    "amx-tf32": ("amx_tf32",),
    "amx-avx512": ("amx_avx512",),
    "amx-movrs": ("amx_movrs",),
    "egpr": ("apx",),
    "push2pop2": ("apx",),
    "ppx": ("apx",),
    "ndd": ("apx",),
    "ccmp": ("apx",),
    "nf": ("apx",),
    "cf": ("apx",),
    "zu": ("apx",),
    "cx16": ("cx16",),
    "sahf": ("lahf_lm",),
    "prfchw": ("3dnowprefetch", "prfchw"),
    "xsave": ("xsave",),
    "xsaveopt": ("xsaveopt",),
    "xsavec": ("xsavec",),
    "xsaves": ("xsaves",),
    "fsgsbase": ("fsgsbase",),
    "rdrnd": ("rdrand",),
    "rdseed": ("rdseed",),
    "rdpid": ("rdpid",),
    "clflushopt": ("clflushopt",),
    "clwb": ("clwb",),
    "clzero": ("clzero",),
    "wbnoinvd": ("wbnoinvd",),
    "invpcid": ("invpcid",),
    "pku": ("pku",),
    "rtm": ("rtm",),
    "sgx": ("sgx",),
    "shstk": ("user_shstk", "shstk"),
    "movdiri": ("movdiri",),
    "movdir64b": ("movdir64b",),
    "movrs": ("movrs",),
    "serialize": ("serialize",),
    "tsxldtrk": ("tsxldtrk",),
    "cldemote": ("cldemote",),
    "waitpkg": ("waitpkg",),
    "enqcmd": ("enqcmd",),
    "uintr": ("uintr",),
    "hreset": ("hreset",),
    "ptwrite": ("ptwrite",),
    "pconfig": ("pconfig",),
    "kl": ("keylocker",),
    "widekl": ("widekl",),
    "cmpccxadd": ("cmpccxadd",),
    "prefetchi": ("prefetchi",),
    "raoint": ("raoint",),
    "usermsr": ("user_msr",),
    "mwaitx": ("mwaitx",),
    "rdpru": ("rdpru",),
    "lwp": ("lwp",),
}


@dataclass(frozen=True)
class Target:
    triple: str
    cpu: str
    features: str  # the LLVM feature string: +on,...,-off,...
    cpu_flags: tuple[str, ...]  # probe flags the code needs (for the loader's CPU check)


def _init() -> None:
    try:
        llvm.initialize_all_targets()
        llvm.initialize_all_asmprinters()
    except Exception:  # a build with only the native target
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()


@lru_cache(maxsize=1)
def _known_features() -> frozenset[str] | None:
    """The feature names this LLVM knows, when the host is x86 (else None:
    trust the table).  Keeps an older LLVM from warning about new names."""
    _init()
    try:
        names = set(llvm.get_host_cpu_features().keys())
    except Exception:
        return None
    return frozenset(names) if "sse2" in names else None


def target_for(probe: Probe | None) -> Target:
    """The target described by the probe's CPU section (None: plain x86-64)."""
    name = (probe.cpu.llvm_cpu if probe else "") or "x86-64"
    have = set(probe.cpu.features) if probe else set()
    known = _known_features()
    on, off, flags = [], [], set()
    for feat, aliases in FEATURES.items():
        if known is not None and feat not in known:
            continue
        if feat in have or any(a in have for a in aliases):
            on.append(feat)
            # the spelling the probe used, so the loader finds it in /proc/cpuinfo
            reported = [a for a in aliases if a in have] or list(aliases[:1])
            flags.update(reported[:1])
        else:
            off.append(feat)
    # Enables first, then disables: LLVM applies them in order, and switching
    # a feature off also switches off everything that implies it, so a probe
    # missing a prerequisite can never end up with code that needs it.
    features = ",".join([f"+{f}" for f in on] + [f"-{f}" for f in off])
    return Target(TRIPLE, name, features, tuple(sorted(flags)))


def vector_widths(target: Target) -> frozenset[int]:
    """The vector register widths (bits) the target's features provide:
    the prefer-vector-width values worth asking LLVM for."""
    on = {f[1:] for f in target.features.split(",") if f.startswith("+")}
    return frozenset({128} | ({256} if "avx" in on else set()) | ({512} if "avx512f" in on else set()))


def target_machine(target: Target) -> llvm.TargetMachine:
    _init()
    t = llvm.Target.from_triple(target.triple)
    # PIC for a shared library; 'default' is the small code model ('jitdefault'
    # would pick the large one on 64-bit).
    return t.create_target_machine(cpu=target.cpu, features=target.features, opt=3, reloc="pic", codemodel="default")


def parse(ir_text: str) -> llvm.ModuleRef:
    _init()
    mod = llvm.parse_assembly(ir_text)
    mod.verify()
    return mod


def optimise_noting(ir_text: str, tm: llvm.TargetMachine) -> tuple[llvm.ModuleRef, list[str]]:
    """optimise(), also returning what LLVM printed meanwhile: the remarks
    and warnings it gives when a loop hint asks for something it will not
    do ("loop not vectorized: ...").  llvmlite has no diagnostic handler, so
    they are caught on file descriptor 2 for the duration; used only when
    there are hints, so that a plain compile's stderr is never touched."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            mod = optimise(ir_text, tm)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            text = caught.read().decode(errors="replace")
    notes = [line.strip() for line in text.splitlines() if line.strip()]
    return mod, list(dict.fromkeys(notes))  # once each, in order


def optimise(ir_text: str, tm: llvm.TargetMachine) -> llvm.ModuleRef:
    """Parse, verify and run LLVM's O3 pipeline with the target's cost model."""
    mod = parse(ir_text)
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    # These default to off in LLVM's PipelineTuningOptions; clang turns them on at -O3.
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pto.loop_interleaving = True
    pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    mpm.run(mod, pb)
    mod.verify()
    return mod


def find_cc() -> str:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        found = shutil.which(name) if name else None
        if found:
            return found
    raise BackendError(
        "the x86_64 backend links a shared library with a C compiler, but none "
        "was found (tried $CC, cc, gcc, clang): install one, e.g. `apt install gcc`"
    )


def link_shared(obj: bytes, outdir: Path, stem: str) -> str:
    """Link the object into lib<stem>.so in outdir; returns the file name."""
    cc = find_cc()
    name = f"lib{stem}.so"
    with tempfile.TemporaryDirectory(prefix="atlas-link-") as tmp:
        o = Path(tmp) / f"{stem}.o"
        o.write_bytes(obj)
        # -Bsymbolic: a call between our functions binds to our definition,
        # never to a same-named symbol elsewhere in the process (libc's
        # `select`, `labs`, ...), which the optimiser already assumed
        proc = subprocess.run(
            [cc, "-shared", "-Wl,-Bsymbolic", "-o", str(Path(outdir) / name), str(o)], capture_output=True, text=True
        )
    if proc.returncode != 0:
        raise BackendError(f"linking {name} with {cc} failed:\n{proc.stderr.strip()}")
    return name


def library_stem(module) -> str:
    """A file-name-safe stem: the first source file's name, else 'atlas'."""
    if module.sources:
        stem = Path(module.sources[0][0]).stem
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)
        if stem:
            return stem
    return "atlas"
