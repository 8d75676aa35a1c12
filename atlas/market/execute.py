"""Workloads run for real on a market's units (daemons.py on this
machine's cores, cluster.py across a Ray cluster).

A real workload file names the intent files whose functions are the
tasks, and a graph of calls to them, one of:

    intents: [../intents/market/cholesky.ax]   # relative to the file
    cholesky: {n: 2048, tile: 256}
    # or a mixed stream of independent tile kernels, each on its own data:
    stream: {count: 400, mix: [{kind: gemm, tile: 64, weight: 2}, {kind: potrf, tile: 128}], seed: 0}

Atlas compiles the intents for each machine (or `artefact` names a folder
already compiled), the market runs the graph under each policy on fresh
copies of the same data, and the result is checked: the Cholesky factor
against numpy's, each streamed task against numpy's result for its
kernel, to numpy's tolerance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ..front.diagnostics import AtlasError
from .session import Data, Front
from .workloads import read_yaml
from .tasks import Task


STREAM_KINDS = ("potrf", "trsm", "syrk", "gemm")  # the tile kernels of intents/market/cholesky.ax


@dataclass(frozen=True)
class StreamMix:
    kind: str
    tile: int
    weight: float = 1.0


@dataclass(frozen=True)
class RealWorkload:
    name: str
    intents: tuple[Path, ...]
    n: int  # the Cholesky's matrix order (0 for a stream)
    tile: int
    seed: int = 0
    stream: tuple[StreamMix, ...] = ()  # a stream's mix (empty for a Cholesky)
    count: int = 0  # a stream's task count

    def submit(self, market: Front) -> "Cholesky | Stream":
        if self.stream:
            return Stream.submit(market, self.count, self.stream, self.seed)
        return Cholesky.submit(market, spd(self.n, self.seed), self.tile)


def load(path) -> RealWorkload:
    path = Path(path)
    data = read_yaml(path)
    try:
        if not isinstance(data, dict) or "intents" not in data or not ("cholesky" in data or "stream" in data):
            raise ValueError(
                "a workload to run names 'intents' and a 'cholesky' graph ({n: ..., tile: ...}) "
                "or a 'stream' ({count: ..., mix: [{kind: ..., tile: ...}]})"
            )
        name = str(data.get("name", path.stem))
        intents = tuple((path.parent / str(p)).resolve() for p in data["intents"])
        if "stream" in data:
            st = data["stream"]
            mix = tuple(StreamMix(str(m["kind"]), int(m["tile"]), float(m.get("weight", 1.0))) for m in st["mix"])
            for m in mix:
                if m.kind not in STREAM_KINDS or m.tile <= 0 or not m.weight > 0:
                    raise ValueError(
                        f"stream: a mix entry is a kind of {', '.join(STREAM_KINDS)}, a positive tile and weight"
                        f" (got {m.kind}, tile {m.tile}, weight {m.weight})"
                    )
            count = int(st["count"])
            if count <= 0 or not mix:
                raise ValueError("stream: count must be positive and the mix not empty")
            return RealWorkload(name, intents, 0, 0, int(st.get("seed", 0)), mix, count)
        c = data["cholesky"]
        n, tile = int(c["n"]), int(c["tile"])
        if tile <= 0 or n <= 0 or n % tile:
            raise ValueError(f"cholesky: n ({n}) must be a positive multiple of tile ({tile})")
        return RealWorkload(name, intents, n, tile, int(c.get("seed", 0)))
    except KeyError as exc:
        raise AtlasError(None, f"{path}: missing {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise AtlasError(None, f"{path}: {exc}") from None


TOLERANCE = 1e-8  # relative to the result's largest entry


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

    def describe(self) -> str:
        n = self.matrix.shape[0]
        return f"Cholesky of {n}x{n} in {self.tile}x{self.tile} tiles"

    def verdict(self, err: float) -> str:
        return f"the factor {'matches' if err < TOLERANCE else 'DIFFERS from'} numpy's to {err:.1e}"


@dataclass
class Stream:
    """Independent tile kernels, each on data of its own, and numpy's
    result for each."""

    market: Front
    calls: list[tuple[str, list[Data], list[np.ndarray]]]  # kind, its data, its inputs as they were

    @staticmethod
    def submit(market: Front, count: int, mix: tuple[StreamMix, ...], seed: int) -> "Stream":
        rng = np.random.default_rng(seed)
        w = np.array([m.weight for m in mix])
        calls = []
        for i in range(count):
            m = mix[int(rng.choice(len(mix), p=w / w.sum()))]
            b = m.tile
            if m.kind == "potrf":
                ins = [spd(b, int(rng.integers(1 << 30)))]
            elif m.kind == "trsm":  # a well-conditioned lower triangle, then the tile it solves for
                ins = [np.linalg.cholesky(spd(b, int(rng.integers(1 << 30)))), rng.standard_normal((b, b))]
            elif m.kind == "syrk":
                ins = [rng.standard_normal((b, b)), rng.standard_normal((b, b))]
            else:
                ins = [rng.standard_normal((b, b)) for _ in range(3)]
            data = [market.put(x, f"s{i}.{k}") for k, x in enumerate(ins)]
            market.submit(m.kind, b, *data)
            calls.append((m.kind, data, ins))
        return Stream(market, calls)

    def error(self) -> float:
        """The largest difference from numpy's result over every task,
        relative to that result's largest entry."""
        worst = 0.0
        for kind, data, ins in self.calls:
            b = ins[0].shape[0]
            got = data[-1].array.reshape(b, b)
            if kind == "potrf":
                want = np.linalg.cholesky(ins[0])
                got = np.tril(got)
            elif kind == "trsm":
                want = np.linalg.solve(ins[0], ins[1].T).T  # X with X L^T = A
            elif kind == "syrk":
                want = ins[1] - ins[0] @ ins[0].T
            else:
                want = ins[2] - ins[0] @ ins[1].T
            worst = max(worst, float(np.abs(got - want).max() / np.abs(want).max()))
        return worst

    def describe(self) -> str:
        return f"a stream of {len(self.calls)} independent tile kernels"

    def verdict(self, err: float) -> str:
        return f"every result {'matches' if err < TOLERANCE else 'DIFFERS from'} numpy's to {err:.1e}"


def tasks_by_kind(tasks: list[Task]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tasks:
        out[t.kind] = out.get(t.kind, 0) + 1
    return out
