"""atlas-c-backend: an example third-party backend for Atlas.

It turns any module the checker accepts into one portable C11 file and its
header, computing exactly what atlas.meaning.interp computes.  Installed, it is found
through the `atlas.backends` entry-point group like the built-in backends:

    atlas compile intents/saxpy.ax --backend c -o out/saxpy-c
"""

from __future__ import annotations

from pathlib import Path

from atlas.meaning import ir
from atlas.machine.backend import Backend, Emitted, describe

from .emit import generate, prototype
from atlas.machine.probe import Probe

__version__ = "0.1.0"


class CBackend(Backend):
    name = "c"
    description = "plain C11 for any machine with a C compiler (an example plugin)"

    def accepts(self, probe: Probe) -> str | None:
        return None  # C compiles anywhere; the probe only decided the `when`s

    def emit(self, module: ir.Module, probe: Probe, outdir: Path, realise=None) -> Emitted:
        # `realise` (the search's knobs) has no meaning here: this backend is
        # not searchable, so the pipeline never passes any.
        stem = _stem(module)
        header, source, counters = generate(module, stem)
        outdir = Path(outdir)
        (outdir / f"{stem}.h").write_text(header)
        (outdir / f"{stem}.c").write_text(source)
        functions = {}
        for f in module.functions:
            entry = {**describe(f), "c_prototype": prototype(f)}  # the shape atlas.machine.runtime reads
            if counters.get(f.name):
                entry["counters"] = list(counters[f.name])
            functions[f.name] = entry
        manifest = {
            "functions": functions,
            "c_files": [f"{stem}.c", f"{stem}.h"],
            "c_flags": "-std=c11 -O2 -ffp-contract=off",
        }
        return Emitted(files=[f"{stem}.h", f"{stem}.c"], manifest=manifest)


def _stem(module: ir.Module) -> str:
    """A file-name-safe stem: the first source file's name, else 'atlas'."""
    if module.sources:
        stem = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in Path(module.sources[0][0]).stem)
        if stem:
            return stem
    return "atlas"
