"""Where a market keeps what it learned: the selectors (as intent text)
and the performance models, per platform, beside the search's archive in
Atlas's cache folder, so that a market started again starts from them.

A simulated platform is keyed by a hash of its description (units, costs,
links), this machine by its probe's fingerprint (what `atlas market run`
learns); the keys and the files are plain text, readable and removable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..files import cache_dir, write_atomic
from .models import PerfModel
from .selector import Selector
from .sim import Platform


def key(platform: Platform) -> str:
    desc = {
        "units": [(u.name, u.klass, u.node) for u in platform.units],
        "costs": sorted((k, c, v.per_call, v.per_element) for (k, c), v in platform.costs.items()),
        "links": [platform.bandwidth, platform.latency],
    }
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16]


def folder(platform: Platform, root: Path | None = None) -> Path:
    return (root if root is not None else cache_dir() / "market") / key(platform)


def save(platform: Platform, selectors: dict[str, Selector], model: PerfModel | None = None, root=None) -> Path:
    where = folder(platform, root)
    _write(where, selectors)
    if model is not None:
        model.save(where / "model.json")
    return where


def selectors(platform: Platform, root=None) -> dict[str, Selector]:
    """The stored selectors of the platform's classes (an AtlasError if one
    is damaged: it names the file and the line)."""
    return _read(folder(platform, root), platform.classes())


def _read(where: Path, classes) -> dict[str, Selector]:
    out = {}
    for klass in classes:
        path = where / f"{klass}.ax"
        if path.exists():
            out[klass] = Selector.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def _write(where: Path, selectors: dict[str, Selector]) -> None:
    where.mkdir(parents=True, exist_ok=True)
    for klass, sel in selectors.items():
        write_atomic(where / f"{klass}.ax", sel.text)


def machine_folder(probe) -> Path:
    from ..machine.probe import fingerprint

    return cache_dir() / "market" / f"machine-{fingerprint(probe)}"


def machine_model(probe) -> PerfModel:
    """The run-time history this machine's market has kept (empty at first)."""
    path = machine_folder(probe) / "model.json"
    try:
        return PerfModel.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return PerfModel()  # none yet, or damaged: the history starts again


def save_machine_model(probe, model: PerfModel) -> None:
    where = machine_folder(probe)
    where.mkdir(parents=True, exist_ok=True)
    model.save(where / "model.json")


def machine_selectors(probe, classes=("cpu",)) -> dict[str, Selector]:
    """The selectors this machine's market learned, per unit class (an
    AtlasError if one is damaged: it names the file and the line)."""
    return _read(machine_folder(probe), classes)


def save_machine_selectors(probe, selectors: dict[str, Selector]) -> Path:
    where = machine_folder(probe)
    _write(where, selectors)
    return where
