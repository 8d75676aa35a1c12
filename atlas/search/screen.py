"""A learned cost model that screens the search's candidates before any is
measured.

Measuring a variant costs a compile and a timed run; predicting one costs
a dot product.  So the genetic search breeds several times more children
than it will measure, this model ranks them, and the most promising are
measured (with a few drawn at random beside them, so the model's blind
spots still get explored).  This is the division of labour of Ansor and
MetaSchedule, at the scale of one function's space: a ridge regression on
the genes, one indicator per gene value plus the pairs of knobs that act
together (vector width with interleave, unroll and preferred width; the
loop shape with every knob), trained on the mean log time per input of
every variant measured so far, in this search and in the archive's earlier
searches of the same function, machine and inputs.  Candidates are ranked
by the prediction less its uncertainty (LinUCB's bound): a gene value that
was never measured is not predicted at the average and passed over for
ever, it is tried.

The first generation is drawn uniformly over the space; each later pool is
half children of the best, half drawn afresh.  The model decides only the
order of measurement, never what is emitted:
every winner is measured, confirmed against the default and validated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .genome import Genome, Space, gene_value, with_gene

MIN_TRAIN = 6  # measured variants before the model's ranking is used
RIDGE = 1.0  # the penalty on each weight: few measurements, many features
OPTIMISM = 1.0  # how many units of the model's noise an untried gene value is given
PAIRS = (
    ("vector_width", "interleave"),
    ("vector_width", "unroll"),
    ("vector_width", "prefer_width_bits"),
    ("shape", "vector_width"),
    ("shape", "interleave"),
    ("shape", "unroll"),
    ("shape", "prefer_width_bits"),
)


def target(times: Iterable[float]) -> float | None:
    """What the model predicts: the mean log time over the inputs (None
    where a time is missing), so searches on the same inputs compare."""
    ts = list(times)
    if not ts or not all(t and t > 0 for t in ts):
        return None
    return sum(math.log(t) for t in ts) / len(ts)


@dataclass
class Screening:
    """How many genomes the search bred, how many the model ranked."""

    considered: int = 0
    screened: int = 0


class CostModel:
    """Ridge regression over indicator features of one Space's genes."""

    def __init__(self, space: Space):
        self.space = space
        index: dict[tuple, int] = {}
        for name, values in space.genes():
            for v in values:
                index[(name, v)] = len(index)
        genes = dict(space.genes())
        for a, b in PAIRS:
            if len(genes.get(a, ())) > 1 and len(genes.get(b, ())) > 1:
                for va in genes[a]:
                    for vb in genes[b]:
                        index[(a, va, b, vb)] = len(index)
        self.index = index
        self.weights: np.ndarray | None = None
        self.inverse = np.zeros((0, 0))
        self.noise = 0.0
        self.mean = 0.0
        self.trained_on = 0

    def features(self, g: Genome) -> np.ndarray:
        x = np.zeros(len(self.index))
        for name, _ in self.space.genes():
            k = self.index.get((name, gene_value(g, name)))
            if k is not None:
                x[k] = 1.0
        for a, b in PAIRS:
            k = self.index.get((a, gene_value(g, a), b, gene_value(g, b)))
            if k is not None:
                x[k] = 1.0
        return x

    def fit(self, samples: list[tuple[Genome, float]]) -> bool:
        """Train on (genome, target) pairs; whether there were enough."""
        samples = [(g, y) for g, y in samples if self.space.contains(g)]
        self.trained_on = len(samples)
        if len(samples) < MIN_TRAIN:
            self.weights = None
            return False
        X = np.array([self.features(g) for g, _ in samples])
        y = np.array([y for _, y in samples])
        self.mean = float(y.mean())
        A = X.T @ X + RIDGE * np.eye(X.shape[1])
        self.inverse = np.linalg.inv(A)
        self.weights = self.inverse @ (X.T @ (y - self.mean))
        residual = y - self.mean - X @ self.weights
        self.noise = max(float(np.sqrt(np.mean(residual**2))), float(np.std(y)) / 4, 1e-3)
        return True

    @property
    def ready(self) -> bool:
        return self.weights is not None

    def predict(self, genomes: list[Genome]) -> np.ndarray:
        if self.weights is None:
            raise ValueError("the model is not trained")
        if not genomes:
            return np.zeros(0)
        return np.array([self.features(g) for g in genomes]) @ self.weights + self.mean

    def improve(self, g: Genome, sweeps: int = 2) -> Genome:
        """Coordinate descent on the prediction: each gene in turn set to
        its best predicted value, the others held."""
        for _ in range(sweeps):
            for name, values in self.space.genes():
                options = [with_gene(g, name, v) for v in values]
                g = self.rank(options)[0]
        return g

    def optimistic(self, genomes: list[Genome]) -> np.ndarray:
        """The prediction less its uncertainty (LinUCB's bound, for times):
        a gene value the model has rarely or never seen measured is given
        the benefit of the doubt, so it gets measured rather than
        predicted at the average for ever."""
        if self.weights is None or not genomes:
            return self.predict(genomes)
        X = np.array([self.features(g) for g in genomes])
        spread = np.sqrt(np.einsum("ij,jk,ik->i", X, self.inverse, X))
        return X @ self.weights + self.mean - OPTIMISM * self.noise * spread

    def rank(self, genomes: list[Genome], optimistic: bool = False) -> list[Genome]:
        """Best predicted first (ties in the order given); with
        `optimistic`, by the bound of `optimistic`."""
        scores = self.optimistic(genomes) if optimistic else self.predict(genomes)
        order = sorted(range(len(genomes)), key=lambda i: (scores[i], i))
        return [genomes[i] for i in order]
