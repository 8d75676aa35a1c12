"""The NVPTX backend: the loops that are maps, folds, scans or 2-d maps become
GPU kernels in PTX for the probed NVIDIA GPU.

Compiled and proven here, run on the GPU: the artefact is kernels.ptx plus a
manifest saying, for each function, which kernels to launch with what grid
(backends/nvptx/host.py runs them through CuPy, which only the GPU machine
needs).  A function with no parallel form is listed with the reason and no
kernel.  The launch shape of each kernel comes from the archive's champion
for this GPU when the GPU search (scripts/gpu_check.py) has crowned one,
else from `kernels.default_shape`.
"""
from __future__ import annotations

import json
from pathlib import Path

from atlas import ir
from atlas.backend import Backend, BackendError, Emitted, Realisation

from . import target as tgt
from .kernels import KernelModule, Shape, default_shape, launches, space
from .plan import NotParallel, Plan, plan_for

DEFAULT_SMS = 80        # when the probe could not count multiprocessors: only caps grid-stride grids
CONTEXT = "gpu"         # the archive context of launch-shape measurements


class NvptxBackend(Backend):
    name = "nvptx"
    description = "GPU kernels (PTX) for the probed NVIDIA GPU: maps, folds, scans and 2-d maps"
    dump_stages = ("llvm", "llvm-opt", "ptx")

    def __init__(self, variants: bool = False, archive=None):
        self.variants = variants      # also write every launch shape's PTX, for the GPU search
        self.archive = archive        # where to look for crowned shapes (default: the user's archive)

    def accepts(self, probe: dict) -> str | None:
        gpu = tgt.gpu_of(probe)
        if gpu is None:
            return "the probe lists no NVIDIA GPU"
        try:
            tgt.arch(gpu)
        except BackendError as exc:
            return str(exc)
        return None

    def emit(self, module: ir.Module, probe: dict, outdir: Path,
             realise: dict[str, Realisation] | None = None) -> Emitted:
        why = self.accepts(probe)
        if why:
            raise BackendError(why)
        gpu = tgt.gpu_of(probe)
        sm, ptx_version = tgt.arch(gpu)
        sms = gpu.get("multiprocessors") or DEFAULT_SMS
        plans, functions = {}, {}
        for f in module.functions:
            functions[f.name] = _describe(f)
            try:
                plans[f.name] = plan_for(f)
            except NotParallel as exc:
                functions[f.name].update(gpu=None, gpu_why_not=str(exc))
        crowned = self._crowned(module, probe, list(plans))
        km = KernelModule(_stem(module), tgt.TRIPLE, tgt.data_layout(sm, ptx_version))
        for name, p in plans.items():
            shape = crowned.get(name) or default_shape(p)
            km.add(p, shape)
            functions[name]["gpu"] = {**launches(p, shape, sms),
                                      "shape_from": "archive champion" if name in crowned else "default"}
        text = km.text()
        opt, ptx = tgt.to_ptx(text, sm, ptx_version)
        outdir = Path(outdir)
        (outdir / "kernels.ptx").write_text(ptx)    # outdir is the pipeline's fresh folder, swapped in whole
        files = ["kernels.ptx"]
        if self.variants:
            files += write_variants(plans, outdir, sm, ptx_version, sms)
        manifest = {"ptx": "kernels.ptx", "triple": tgt.TRIPLE, "arch": sm,
                    "ptx_version": f"{ptx_version // 10}.{ptx_version % 10}",
                    "gpu": {k: gpu.get(k) for k in ("name", "compute_capability", "multiprocessors")},
                    "alignment": 16, "functions": functions}
        return Emitted(files=files, manifest=manifest, dumps={"llvm": text, "llvm-opt": opt, "ptx": ptx})

    def _crowned(self, module: ir.Module, probe: dict, names: list[str]) -> dict[str, Shape]:
        """Launch shapes the GPU search crowned for these functions on this GPU."""
        if not names:
            return {}
        from atlas.archive import Archive
        from atlas.pipeline import intent_hash
        from atlas.probe import fingerprint
        found = {}
        with Archive(self.archive) as a:
            for name in names:
                champ = a.champion(intent_hash(module), fingerprint(probe), name, CONTEXT)
                if champ is not None:
                    found[name] = Shape(**champ["genome"])
        return found


def write_variants(plans: dict[str, Plan], outdir: Path, sm: str, ptx_version: int, sms: int) -> list[str]:
    """variants/<fn>-<hash>.ptx for every launch shape in the search space,
    and variants/<fn>.json listing them with their launch records."""
    folder = Path(outdir) / "variants"
    folder.mkdir(exist_ok=True)
    files = []
    for name, p in plans.items():
        entries = []
        for shape in space(p):
            km = KernelModule(f"{name}-{shape.hash}", tgt.TRIPLE, tgt.data_layout(sm, ptx_version))
            km.add(p, shape)
            _, ptx = tgt.to_ptx(km.text(), sm, ptx_version)
            rel = f"variants/{name}-{shape.hash}.ptx"
            (Path(outdir) / rel).write_text(ptx)
            entries.append({"genome": shape.as_dict(), "hash": shape.hash, "ptx": rel,
                            "gpu": launches(p, shape, sms)})
            files.append(rel)
        rel = f"variants/{name}.json"
        (Path(outdir) / rel).write_text(json.dumps(entries, indent=1) + "\n")
        files.append(rel)
    return files


def _stem(module: ir.Module) -> str:
    return Path(module.sources[0][0]).stem if module.sources else "atlas"


def _describe(f: ir.Function) -> dict:
    from atlas_backends.x86_64 import _describe as describe
    return describe(f)
