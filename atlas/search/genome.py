"""The genome: a variant of one function named by a small immutable record
of choices (see atlas/search/explode.py), the space of values each gene may
take, and the moves of the genetic search over it."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from ..machine.backend import Realisation


@dataclass(frozen=True)
class Genome:
    forms: tuple[int, ...] = ()  # per root (Space.roots): which of its forms (0: the source's)
    shape: str = "plain"
    vector_width: int = 0  # 0: the backend decides
    interleave: int = 0
    unroll: int = 0
    prefer_width_bits: int = 0

    def realisation(self) -> Realisation:
        return Realisation(self.vector_width, self.interleave, self.unroll, self.prefer_width_bits)

    def as_dict(self) -> dict:
        return {"forms": list(self.forms), "shape": self.shape, **self.realisation().as_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> "Genome":
        return cls(
            tuple(int(x) for x in d.get("forms", ())),
            d.get("shape", "plain"),
            int(d.get("vector_width", 0)),
            int(d.get("interleave", 0)),
            int(d.get("unroll", 0)),
            int(d.get("prefer_width_bits", 0)),
        )

    def describe(self) -> str:
        knobs = [
            f"{k}={v}"
            for k, v in (
                ("vw", self.vector_width),
                ("il", self.interleave),
                ("ur", self.unroll),
                ("pw", self.prefer_width_bits),
            )
            if v
        ]
        forms = ""
        if self.forms:
            forms = f"atlas {sum(map(bool, self.forms))}/{len(self.forms)}"
            if any(f > 1 for f in self.forms):  # beyond the cheapest member somewhere: say which
                forms = "forms " + ".".join(map(str, self.forms))
        return " ".join(filter(None, [self.shape, forms, *knobs])) or "default"


KNOBS = ("vector_width", "interleave", "unroll", "prefer_width_bits")


@dataclass(frozen=True)
class Space:
    """The values each gene may take for one function."""

    roots: tuple[str, ...] = ()
    choices: tuple[tuple[int, ...], ...] = ()  # per root: the forms on offer (default: 0 and 1)
    defaults: tuple[int, ...] = ()  # per root: the form compiled without a search (default: 1)
    shapes: tuple[str, ...] = ("plain",)
    vector_width: tuple[int, ...] = (0, 1, 4, 8, 16)
    interleave: tuple[int, ...] = (0, 1, 2, 4)
    unroll: tuple[int, ...] = (0, 1, 2, 4)
    prefer_width_bits: tuple[int, ...] = (0, 256)

    def default(self) -> Genome:
        """What the compiler does without a search: every proven rewrite, the
        loops as written, the backend's own choices."""
        return Genome(self.defaults or tuple(1 for _ in self.roots))

    def form_choices(self) -> tuple[tuple[int, ...], ...]:
        return self.choices or tuple((0, 1) for _ in self.roots)

    def genes(self) -> list[tuple[str, tuple]]:
        out: list[tuple[str, tuple]] = [(f"form:{i}", c) for i, c in enumerate(self.form_choices())]
        out.append(("shape", self.shapes))
        return out + [(k, getattr(self, k)) for k in KNOBS]

    def contains(self, g: Genome) -> bool:
        return (
            len(g.forms) == len(self.roots)
            and all(f in c for f, c in zip(g.forms, self.form_choices()))
            and g.shape in self.shapes
            and all(getattr(g, k) in getattr(self, k) for k in KNOBS)
        )

    def draw(self, rng: random.Random) -> Genome:
        """A genome with every gene drawn uniformly from its values."""
        g = self.default()
        for name, values in self.genes():
            g = with_gene(g, name, rng.choice(values))
        return g

    def size(self) -> int:
        return math.prod(len(v) for _, v in self.genes())


def gene_value(g: Genome, gene: str):
    if gene.startswith("form:"):
        return g.forms[int(gene[5:])]
    return getattr(g, gene)


def with_gene(g: Genome, gene: str, value) -> Genome:
    if gene.startswith("form:"):
        i = int(gene[5:])
        return replace(g, forms=g.forms[:i] + (value,) + g.forms[i + 1 :])
    return replace(g, **{gene: value})


def mutate(g: Genome, space: Space, rng: random.Random, rate: float = 0.3) -> Genome:
    """Each gene changes with probability `rate`; at least one changes."""
    genes = [(n, v) for n, v in space.genes() if len(v) > 1]
    if not genes:
        return g
    forced = rng.randrange(len(genes))
    for k, (name, values) in enumerate(genes):
        if k == forced or rng.random() < rate:
            g = with_gene(g, name, rng.choice([v for v in values if v != gene_value(g, name)]))
    return g


def crossover(a: Genome, b: Genome, space: Space, rng: random.Random) -> Genome:
    """Uniform crossover: each gene from either parent."""
    child = a
    for name, _ in space.genes():
        if rng.random() < 0.5:
            child = with_gene(child, name, gene_value(b, name))
    return child
