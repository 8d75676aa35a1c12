"""The NVPTX target: the GPU from the probe, PTX text, and the ptxas check.

PTX is the GPU's portable assembly: the driver compiles it for the card
when the module loads, so nothing here needs a GPU.  The PTX version asked
for is the lowest that knows the probe's architecture, so that the oldest
driver able to run that card can load the kernels.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import llvmlite.binding as llvm

from atlas.machine.backend import BackendError
from atlas.machine.probe import Gpu, Probe

TRIPLE = "nvptx64-nvidia-cuda"

# compute capability -> the first PTX ISA version that targets it (PTX ISA notes)
_FIRST_PTX = {
    (7, 0): 60,
    (7, 2): 61,
    (7, 5): 63,
    (8, 0): 70,
    (8, 6): 71,
    (8, 7): 74,
    (8, 9): 78,
    (9, 0): 78,
    (10, 0): 86,
    (10, 1): 86,
    (12, 0): 87,
}


def gpu_of(probe: Probe | None) -> Gpu | None:
    """The first NVIDIA GPU the probe lists (the one kernels are built for)."""
    for g in probe.gpus if probe else ():
        if (g.vendor or "nvidia") == "nvidia":
            return g
    return None


def arch(gpu: Gpu) -> tuple[str, int]:
    """(sm_XY, PTX version) for the GPU's compute capability."""
    cc = gpu.compute_capability
    if cc not in _FIRST_PTX:
        known = ", ".join(f"{a}.{b}" for a, b in sorted(_FIRST_PTX))
        raise BackendError(
            f"the probed GPU {gpu.name!r} has compute capability "
            f"{cc[0]}.{cc[1]}, which this backend does not target (known: {known})"
        )
    return f"sm_{cc[0]}{cc[1]}", _FIRST_PTX[cc]


@lru_cache(maxsize=8)
def target_machine(sm: str, ptx: int) -> llvm.TargetMachine:
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    try:
        t = llvm.Target.from_triple(TRIPLE)
    except RuntimeError as exc:
        raise BackendError(f"this llvmlite was built without the NVPTX target: {exc}") from None
    return t.create_target_machine(cpu=sm, features=f"+ptx{ptx}", opt=3)


def data_layout(sm: str, ptx: int) -> str:
    return str(target_machine(sm, ptx).target_data)


def to_ptx(ir_text: str, sm: str, ptx: int) -> tuple[str, str]:
    """(optimised LLVM IR, PTX) for one module of kernels."""
    tm = target_machine(sm, ptx)
    mod = llvm.parse_assembly(ir_text)
    mod.verify()
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    mod.verify()
    return str(mod), tm.emit_assembly(mod)


def ptxas() -> str | None:
    """ptxas from the CUDA toolkit on PATH, else from NVIDIA's pip wheel
    (nvidia-cuda-nvcc-cu12), which CI installs where there is no toolkit."""
    found = shutil.which("ptxas")
    if found:
        return found
    try:
        import nvidia.cuda_nvcc as wheel
    except ImportError:
        return None
    exe = Path(list(wheel.__path__)[0]) / "bin" / "ptxas"
    return str(exe) if exe.exists() else None


def assemble(ptx_text: str, sm: str) -> str:
    """Assemble PTX with ptxas for `sm`; returns ptxas's report (registers,
    spills).  Raises BackendError with its message when it refuses."""
    exe = ptxas()
    if exe is None:
        raise BackendError("ptxas was not found on PATH (it comes with the CUDA toolkit)")
    with tempfile.TemporaryDirectory(prefix="atlas-ptxas-") as tmp:
        src = Path(tmp) / "k.ptx"
        src.write_text(ptx_text)
        run = subprocess.run(
            [exe, f"-arch={sm}", "-v", str(src), "-o", str(Path(tmp) / "k.cubin")], capture_output=True, text=True
        )
    if run.returncode != 0:
        raise BackendError(f"ptxas -arch={sm} refused the kernels:\n{run.stderr.strip()}")
    return run.stderr.strip()
