"""Where a market keeps what it learned: the selectors (as intent text)
and the performance models, per platform, beside the search's archive in
Atlas's cache folder, so that a market started again starts from them.

A simulated platform is keyed by a hash of its description (units, costs,
links); the key and the files are plain text, readable and removable."""

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
    where.mkdir(parents=True, exist_ok=True)
    for klass, sel in selectors.items():
        write_atomic(where / f"{klass}.ax", sel.text)
    if model is not None:
        model.save(where / "model.json")
    return where


def selectors(platform: Platform, root=None) -> dict[str, Selector]:
    """The stored selectors of the platform's classes (an AtlasError if one
    is damaged: it names the file and the line)."""
    where = folder(platform, root)
    out = {}
    for klass in platform.classes():
        path = where / f"{klass}.ax"
        if path.exists():
            out[klass] = Selector.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def _machine_folder(probe) -> Path:
    from ..machine.probe import fingerprint

    return cache_dir() / "market" / f"machine-{fingerprint(probe)}"


def machine_model(probe) -> PerfModel:
    """The run-time history this machine's market has kept (empty at first)."""
    path = _machine_folder(probe) / "model.json"
    try:
        return PerfModel.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return PerfModel()  # none yet, or damaged: the history starts again


def save_machine_model(probe, model: PerfModel) -> None:
    where = _machine_folder(probe)
    where.mkdir(parents=True, exist_ok=True)
    model.save(where / "model.json")
