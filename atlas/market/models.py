"""Performance models from history, as StarPU's history-based models:
per (task kind, size bucket, unit class) the mean and spread of the run
times seen.  Where a pair has no history yet, a *prior* stands in: the
times the search measured for the compiled variant (its manifest's
champion timings, per input size), scaled to the task's size; a model with
neither says so (`predict` gives None) and the policies treat that as a
calibration to make.  Priors are not history: they are not saved, and the
first run time seen of a pair replaces them."""

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
        self._priors: dict[tuple[str, str], tuple[tuple[int, float], ...]] = {}  # (kind, class) -> (size, s) by size
        self.seen = 0  # run times observed since it was made (a version, for what caches predictions)

    def prior(self, kind: str, klass: str, points) -> None:
        """Measured run times of `kind` on `klass` outside this model's
        history, (size in elements, seconds) pairs: what `predict` answers
        with where there is no history for a bucket."""
        kept = sorted((int(n), float(t)) for n, t in points if n > 0 and t > 0 and math.isfinite(t))
        if kept:
            self._priors[(kind, klass)] = tuple(kept)
            self.seen += 1

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
            return self.from_prior(kind, size, klass)
        return s.mean

    def from_prior(self, kind: str, size: int, klass: str) -> float | None:
        """The prior's time at `size`: a measured point of the same bucket,
        else a power law through the two measured sizes nearest it (time
        in proportion to size where only one was measured)."""
        points = self._priors.get((kind, klass))
        if not points:
            return None
        size = max(1, size)
        same = [t for n, t in points if bucket(n) == bucket(size)]
        if same:
            return sum(same) / len(same)
        near = sorted(points, key=lambda p: abs(math.log(p[0] / size)))[:2]
        (n0, t0), (n1, t1) = near[0], near[-1]
        # a time that falls with size is noise: held constant there
        power = max(0.0, math.log(t1 / t0) / math.log(n1 / n0)) if n1 != n0 else 1.0
        return t0 * (size / n0) ** power

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
