"""Performance models from history, as StarPU's history-based models:
per (task kind, size bucket, unit class) the mean and spread of the run
times seen.  A model with no history for a pair says so (`predict` gives
None) and the policies treat that as a calibration to make."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic


def bucket(size: int) -> int:
    """Sizes within a factor of two share a bucket."""
    return max(0, int(size)).bit_length()


@dataclass
class _Stats:
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0  # Welford's running sum of squared deviations

    def add(self, x: float) -> None:
        self.n += 1
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0


class PerfModel:
    """Run times seen, per (kind, size bucket, unit class); seconds."""

    def __init__(self) -> None:
        self._stats: dict[tuple[str, int, str], _Stats] = {}
        self.seen = 0  # run times observed since it was made (a version, for what caches predictions)

    def observe(self, kind: str, size: int, klass: str, seconds: float) -> None:
        key = (kind, bucket(size), klass)
        s = self._stats.get(key)
        if s is None:
            s = self._stats[key] = _Stats()
        s.add(seconds)
        self.seen += 1

    def predict(self, kind: str, size: int, klass: str) -> float | None:
        s = self._stats.get((kind, bucket(size), klass))
        if s is None or s.n == 0:
            return None
        return s.mean

    def samples(self, kind: str, size: int, klass: str) -> int:
        s = self._stats.get((kind, bucket(size), klass))
        return 0 if s is None else s.n

    # -- kept beside the archive, so a restarted market starts from what it saw
    def to_json(self) -> dict:
        return {
            "version": 1,
            "entries": [
                {"kind": k, "bucket": b, "class": c, "n": s.n, "mean": s.mean, "m2": s.m2}
                for (k, b, c), s in sorted(self._stats.items())
            ],
        }

    @staticmethod
    def from_json(data: dict) -> "PerfModel":
        m = PerfModel()
        for e in data.get("entries", []):
            m._stats[(str(e["kind"]), int(e["bucket"]), str(e["class"]))] = _Stats(
                int(e["n"]), float(e["mean"]), float(e["m2"])
            )
        return m

    def save(self, path) -> None:
        write_atomic(Path(path), json.dumps(self.to_json(), indent=1) + "\n")
