"""Workloads run for real on this machine's daemons (daemons.py).

A real workload file names the intent files whose functions are the
tasks, and a graph of calls to them:

    intents: [../intents/market/cholesky.ax]   # relative to the file
    cholesky: {n: 2048, tile: 256}

Atlas compiles the intents for this machine (or `artefact` names a folder
already compiled), the market runs the graph under each policy on fresh
copies of the same data, and the result is checked: the Cholesky factor
against numpy's, to numpy's tolerance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ..front.diagnostics import AtlasError
from .session import Data, Front
from .workloads import read_yaml
from .tasks import Task


@dataclass(frozen=True)
class RealWorkload:
    name: str
    intents: tuple[Path, ...]
    n: int
    tile: int
    seed: int = 0


def load(path) -> RealWorkload:
    path = Path(path)
    data = read_yaml(path)
    try:
        if not isinstance(data, dict) or "cholesky" not in data or "intents" not in data:
            raise ValueError("a workload to run names 'intents' and a 'cholesky' graph ({n: ..., tile: ...})")
        c = data["cholesky"]
        n, tile = int(c["n"]), int(c["tile"])
        if tile <= 0 or n <= 0 or n % tile:
            raise ValueError(f"cholesky: n ({n}) must be a positive multiple of tile ({tile})")
        intents = tuple((path.parent / str(p)).resolve() for p in data["intents"])
        return RealWorkload(str(data.get("name", path.stem)), intents, n, tile, int(c.get("seed", 0)))
    except KeyError as exc:
        raise AtlasError(None, f"{path}: missing {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise AtlasError(None, f"{path}: {exc}") from None


def spd(n: int, seed: int) -> np.ndarray:
    """A well-conditioned symmetric positive definite matrix."""
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, n))
    return m @ m.T / n + np.eye(n)


@dataclass
class Cholesky:
    """The tiled factorisation submitted to a market: its tiles and a check."""

    market: Front
    matrix: np.ndarray
    tile: int
    tiles: dict[tuple[int, int], Data]

    @staticmethod
    def submit(market, matrix: np.ndarray, tile: int) -> "Cholesky":
        T = matrix.shape[0] // tile
        blk = {
            (i, j): market.put(matrix[i * tile : (i + 1) * tile, j * tile : (j + 1) * tile], f"A[{i}][{j}]")
            for i in range(T)
            for j in range(i + 1)
        }
        b = tile
        for k in range(T):
            market.submit("potrf", b, blk[k, k])
            for i in range(k + 1, T):
                market.submit("trsm", b, blk[k, k], blk[i, k])
            for i in range(k + 1, T):
                market.submit("syrk", b, blk[i, k], blk[i, i])
                for j in range(k + 1, i):
                    market.submit("gemm", b, blk[i, k], blk[j, k], blk[i, j])
        return Cholesky(market, matrix, tile, blk)

    def factor(self) -> np.ndarray:
        n, b = self.matrix.shape[0], self.tile
        out = np.zeros((n, n))
        for (i, j), d in self.tiles.items():
            out[i * b : (i + 1) * b, j * b : (j + 1) * b] = d.array.reshape(b, b)
        return np.tril(out)

    def error(self) -> float:
        """The largest difference from numpy's factor, relative to its largest entry."""
        want = np.linalg.cholesky(self.matrix)
        return float(np.abs(self.factor() - want).max() / np.abs(want).max())

    def correct(self) -> bool:
        return bool(np.allclose(self.factor(), np.linalg.cholesky(self.matrix)))


def tasks_by_kind(tasks: list[Task]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tasks:
        out[t.kind] = out.get(t.kind, 0) + 1
    return out
