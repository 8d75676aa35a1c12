"""The NVPTX backend: the loops that are maps, folds, scans or 2-d maps become
GPU kernels in PTX for the probed NVIDIA GPU.

Compiled and proven here, run on the GPU: the artefact is kernels.ptx plus a
manifest saying, for each function, which kernels to launch with what grid
(backends/nvptx/host.py runs them through CuPy, which only the GPU machine
needs).  A function with no parallel form is listed with the reason and no
kernel.  The launch shape of each kernel comes from the archive's champion
for this GPU when the GPU search (scripts/gpu_check.py) has crowned one,
else from `kernels.default_shape`; the same run's CPU and GPU times per
size become the manifest's "actuator" table: which wins where.
"""

from __future__ import annotations

import json
from pathlib import Path

from atlas.meaning import ir
from atlas.machine.backend import Backend, BackendError, Emitted, Realisation, describe

from . import target as tgt
from .kernels import KernelModule, Shape, default_shape, launches, space
from .plan import NotParallel, Plan, plan_for
from atlas.machine.probe import Probe

DEFAULT_SMS = 80  # when the probe could not count multiprocessors: only caps grid-stride grids
CONTEXT = "gpu"  # the archive context of launch-shape measurements
ACTUATOR = "actuator"  # ... and of CPU-or-GPU measurements per size


class NvptxBackend(Backend):
    name = "nvptx"
    description = "GPU kernels (PTX) for the probed NVIDIA GPU: maps, folds, scans and 2-d maps"
    dump_stages = ("llvm", "llvm-opt", "ptx")

    def __init__(self, variants: bool = False, archive=None):
        self.variants = variants  # also write every launch shape's PTX, for the GPU search
        self.archive = archive  # where to look for crowned shapes (default: the user's archive)

    def accepts(self, probe: Probe) -> str | None:
        gpu = tgt.gpu_of(probe)
        if gpu is None:
            return "the probe lists no NVIDIA GPU"
        try:
            tgt.arch(gpu)
        except BackendError as exc:
            return str(exc)
        return None

    def emit(
        self, module: ir.Module, probe: Probe, outdir: Path, realise: dict[str, Realisation] | None = None
    ) -> Emitted:
        why = self.accepts(probe)
        if why:
            raise BackendError(why)
        gpu = tgt.gpu_of(probe)
        if gpu is None:  # accepts() has refused a probe without one
            raise BackendError("internal error: the probe lists no NVIDIA GPU")
        sm, ptx_version = tgt.arch(gpu)
        sms = gpu.multiprocessors or DEFAULT_SMS
        plans, functions = {}, {}
        for f in module.functions:
            functions[f.name] = describe(f)
            try:
                plans[f.name] = plan_for(f)
            except NotParallel as exc:
                functions[f.name].update(gpu=None, gpu_why_not=str(exc))
        crowned, actuators = self._from_archive(module, probe, list(plans))
        km = KernelModule(_stem(module), tgt.TRIPLE, tgt.data_layout(sm, ptx_version))
        for name, p in plans.items():
            shape = crowned.get(name) or default_shape(p)
            km.add(p, shape)
            functions[name]["gpu"] = {
                **launches(p, shape, sms),
                "shape_text": shape.describe(),
                "shape_from": "archive champion" if name in crowned else "default",
            }
            functions[name]["actuator"] = actuators.get(name) or (
                "not measured on this machine: scripts/gpu_check.py times the CPU and the GPU at "
                "the profile's sizes, and --archive brings its findings here (docs/gpu.md)"
            )
        text = km.text()
        opt, ptx = tgt.to_ptx(text, sm, ptx_version)
        outdir = Path(outdir)
        (outdir / "kernels.ptx").write_text(ptx)  # outdir is the pipeline's fresh folder, swapped in whole
        files = ["kernels.ptx"]
        if self.variants:
            files += write_variants(plans, outdir, sm, ptx_version, sms)
        manifest = {
            "ptx": "kernels.ptx",
            "triple": tgt.TRIPLE,
            "arch": sm,
            "ptx_version": f"{ptx_version // 10}.{ptx_version % 10}",
            "gpu": {
                "name": gpu.name,
                "compute_capability": list(gpu.compute_capability),
                "multiprocessors": gpu.multiprocessors,
            },
            "alignment": 16,
            "functions": functions,
        }
        return Emitted(files=files, manifest=manifest, dumps={"llvm": text, "llvm-opt": opt, "ptx": ptx})

    def _from_archive(self, module: ir.Module, probe: Probe, names: list[str]):
        """What the GPU run (scripts/gpu_check.py) left in the archive for
        these functions on this machine: the crowned launch shapes, and each
        function's CPU and GPU times per size (the actuator choice)."""
        if not names:
            return {}, {}
        from atlas.search.archive import Archive, intent_hash
        from atlas.machine.probe import fingerprint

        crowned, actuators = {}, {}
        intent, machine = intent_hash(module), fingerprint(probe)
        with Archive(self.archive) as a:
            for name in names:
                champ = a.champion(intent, machine, name, CONTEXT)
                if champ is not None:
                    crowned[name] = Shape(**champ["genome"])
                rows = a.variants(intent, machine, name, ACTUATOR)
                if rows:
                    actuators[name] = actuator_table(rows)
        return crowned, actuators


def actuator_table(rows: list[dict]) -> list[dict]:
    """Per size, the fastest time recorded for each actuator, and which wins:
    with the copies to and from the GPU, and on data already there."""
    best: dict[int, dict] = {}
    for r in rows:
        if r["status"] != "ok" or r["median_ns"] is None:
            continue
        at = best.setdefault(int(r["genome"]["n"]), {})
        kind = r["genome"]["actuator"]
        at[kind] = min(at.get(kind, r["median_ns"]), r["median_ns"])
    table = []
    for n in sorted(best):
        t = best[n]
        row = {"n": n, **{f"{k.replace('-', '_')}_ns": v for k, v in sorted(t.items())}}
        for gpu in ("gpu-with-copies", "gpu-on-device-data"):
            if "cpu" in t and gpu in t:
                row["faster_" + gpu[4:].replace("-", "_")] = "gpu" if t[gpu] < t["cpu"] else "cpu"
        table.append(row)
    return table


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
            entries.append({"genome": shape.as_dict(), "hash": shape.hash, "ptx": rel, "gpu": launches(p, shape, sms)})
            files.append(rel)
        rel = f"variants/{name}.json"
        (Path(outdir) / rel).write_text(json.dumps(entries, indent=1) + "\n")
        files.append(rel)
    return files


def _stem(module: ir.Module) -> str:
    return Path(module.sources[0][0]).stem if module.sources else "atlas"
