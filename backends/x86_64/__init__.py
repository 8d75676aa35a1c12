"""The x86_64 backend: typed IR -> LLVM (llvmlite) -> a shared library.

Each function is exported under its own name with the C signature a person
would write by hand (`void saxpy(uint64_t n, float a, const float *x, float *y)`),
so the library can be called from C as well as through `atlas.machine.runtime.load`.
"""

from __future__ import annotations

from pathlib import Path

from atlas.meaning import ir
from atlas.machine.backend import Backend, BackendError, Emitted, Realisation, describe

from . import target as tgt
from atlas.backends.llvm.codegen import generate, lower_module  # noqa: F401  (generate: the plain entry point)
from atlas.machine.probe import Probe


class X86Backend(Backend):
    name = "x86_64"
    description = "x86_64 machine code through LLVM, tuned to the probed CPU's features"
    dump_stages = ("llvm", "llvm-opt", "asm")
    searchable = True

    def accepts(self, probe: Probe) -> str | None:
        arch = probe.cpu.arch if probe else None
        if arch == "x86_64":
            return None
        return f"the probed CPU is {arch or 'unknown'}, not x86_64"

    def emit(
        self, module: ir.Module, probe: Probe, outdir: Path, realise: dict[str, Realisation] | None = None
    ) -> Emitted:
        why = self.accepts(probe)
        if why:
            raise BackendError(why)
        target = tgt.target_for(probe)
        tm = tgt.target_machine(target)
        # a dict (as read back from JSON) is taken for the Realisation it spells
        realise = {
            name: r if isinstance(r, Realisation) else Realisation(**r)
            for name, r in (realise or {}).items()
            if r is not None
        }
        gen = lower_module(module, target.triple, str(tm.target_data), realise, tgt.vector_widths(target))
        text = gen.text
        notes: list[str] = []
        if any(gen.loops.values()):
            opt, notes = tgt.optimise_noting(text, tm)
        else:
            opt = tgt.optimise(text, tm)
        opt_text = str(opt)  # before code generation, which rewrites the module in place
        lib = tgt.link_shared(tm.emit_object(opt), Path(outdir), tgt.library_stem(module))
        asm = tm.emit_assembly(tgt.parse(opt_text))
        functions = {f.name: describe(f) for f in module.functions}
        manifest = {
            "library": lib,
            "triple": target.triple,
            "cpu": target.cpu,
            "features": target.features,
            "cpu_flags": list(target.cpu_flags),
            "functions": functions,
        }
        for name, entry in functions.items():
            if name in realise:
                # what was asked, and what each innermost loop got (a loop that
                # carries a float keeps its order: no width/interleave there)
                entry["realisation"] = realise[name].as_dict()
                entry["loop_hints"] = gen.loops.get(name, [])
                entry["prefer_vector_width"] = gen.prefer_width.get(name)
            if gen.counters.get(name):
                entry["counters"] = list(gen.counters[name])
        if notes:
            # LLVM's word on hints it did not follow (e.g. a width on a loop it
            # cannot vectorise); LLVM names no function or loop in them
            manifest["llvm_remarks"] = notes
        dumps = {"llvm": text, "llvm-opt": opt_text, "asm": asm}
        return Emitted(files=[lib], manifest=manifest, dumps=dumps)
