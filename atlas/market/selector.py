"""Selectors: how a unit bids for tasks, written as an intent function.

A selector is the intent function `bid` over FEATURES, every one an
f64, returning an f64 bid; a unit takes the ready task it bids most for,
and leaves a task alone when its best bid is not above zero (unless every
unit is idle: then the market clears, see policies.Market).  It is read by
Atlas's own front end and must flatten to one term (no while loop, array,
call or store): every operator of the language is total (semantics.py
defines division by zero, NaN, and the rest), so a selector that is
accepted can never fault, hang or crash the daemon that runs it.

The one term is what is evaluated everywhere: over every ready task at
once with numpy (`Selector.bids`, the simulator's and the evolution's
path, bit for bit the interpreter's arithmetic), or compiled by Atlas
(`Selector.compiled`: a loop of `bid` over a round's feature columns, one
native call a round, what a market on real units bids with)."""

from __future__ import annotations

import functools

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..front.check import check
from ..front.diagnostics import AtlasError
from ..front.syntax import parse
from ..logic.flatten import Refused, flatten
from ..meaning import ir
from ..meaning import semantics as sem
from ..meaning.terms import Term, evaluate, subterms

# What a unit knows when it bids, per ready task (times in microseconds).
FEATURES = (
    "kind",  # the task kind's index in the workload
    "size",  # elements
    "kbytes",  # the data the task reads and writes
    "reward",  # what the dispatcher pays for it, now
    "predicted",  # this unit's expected run time, from its history
    "transfer",  # the time to bring its data to this unit
    "others",  # the earliest the best other unit could finish it (dmda's estimate)
    "advantage",  # others over this unit's predicted + transfer time: above 1, this unit is the better place
    "waited",  # since it became ready
    "critical",  # its longest path to the end of the graph
    "queued",  # ready tasks in the market
)

HAND_WRITTEN = """\
// The initial selector: the reward per microsecond this unit would spend.
fn bid(kind: f64, size: f64, kbytes: f64, reward: f64, predicted: f64, transfer: f64,
          others: f64, advantage: f64, waited: f64, critical: f64, queued: f64) -> f64 {
    return reward / (predicted + transfer + 1.0);
}
"""


@dataclass(frozen=True)
class Selector:
    """A checked selector: its text and the one term it computes."""

    text: str
    term: Term
    file: str = "<selector>"
    native: Any = field(default=None, compare=False, repr=False)  # a _Round, where compiled

    @staticmethod
    def parse(text: str, file: str = "<selector>") -> "Selector":
        """The selector in `text`, or an AtlasError saying why it is not one."""
        module = check(parse(text, file))
        fns = {f.name: f for f in module.functions}
        if "bid" not in fns:
            raise AtlasError(None, f"{file}: a selector defines fn bid({', '.join(FEATURES)}) -> f64")
        fn = fns["bid"]
        names = tuple(p.name for p in fn.params)
        if names != FEATURES or any(p.ty != ir.F64 for p in fn.params) or fn.ret != ir.F64:
            raise AtlasError(
                fn.span,
                f"a selector's signature is bid({', '.join(f + ': f64' for f in FEATURES)}) -> f64",
            )
        try:
            term = flatten(fn, straight_too=True)
        except Refused as exc:
            raise AtlasError(fn.span, f"a selector must be one term, so that it always ends: {exc}") from None
        return Selector(text, term, file)

    def bids(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        """The bid for each task: `features` maps each of FEATURES to an
        array (one entry per task), the result has their length."""
        n = len(next(iter(features.values())))
        if self.native is not None:
            return self.native.bids(features, n)
        if self._vectorisable:
            with np.errstate(all="ignore"):
                out = evaluate(self.term, _VECTOR, {k: np.asarray(v, dtype=np.float64) for k, v in features.items()})
            return np.broadcast_to(np.asarray(out, dtype=np.float64), (n,)).copy()
        # integer arithmetic inside: element by element, as the interpreter does
        py = sem.PyDomain()
        cols = [np.asarray(features[k], dtype=np.float64) for k in FEATURES]
        return np.array(
            [float(evaluate(self.term, py, {k: np.float64(c[i]) for k, c in zip(FEATURES, cols)})) for i in range(n)]
        )

    @functools.cached_property
    def _vectorisable(self) -> bool:
        return _vectorisable(self.term)

    def compile(self, probe, out: Path):
        """Compile the selector with Atlas for `probe` into the folder `out`;
        the loaded native function, called with the FEATURES in order."""
        from ..machine import runtime

        _build(self.text, probe, Path(out))
        return runtime.load(out).bid

    def round_text(self) -> str:
        """The selector and `bids`, a loop of it over a round's columns:
        the intent Atlas compiles for a market."""
        cols = ", ".join(f"{f}: [f64; n]" for f in FEATURES)
        call = ", ".join(f"{f}[i]" for f in FEATURES)
        loop = f"fn bids(n: u64, {cols}, out: mut [f64; n]) {{\n    for i in 0..n {{ out[i] = bid({call}); }}\n}}\n"
        return f"{self.text.rstrip()}\n\n// one round of bids, a call for every ready task\n{loop}"

    def build_round(self, probe, out: Path) -> None:
        """Compile the round (`round_text`) with Atlas for `probe` into the
        folder `out`, without loading it (the learner's process builds
        what the market loads)."""
        _build(self.round_text(), probe, Path(out), search=None)

    def compiled(self, probe, out: Path) -> "Selector":
        """This selector, bidding through its round compiled by Atlas for
        `probe` into the folder `out` (the same bids, bit for bit)."""
        self.build_round(probe, out)
        return self.loaded(out)

    def loaded(self, out: Path) -> "Selector":
        """This selector bidding through the round compiled in `out`."""
        from ..machine import runtime

        return replace(self, native=_Round(runtime.load(out).bids))


def _build(text: str, probe, out: Path, **request) -> None:
    """Compile intent `text` into the folder `out`, its source kept beside it."""
    from ..pipeline import compile_files
    from ..files import write_atomic

    out.parent.mkdir(parents=True, exist_ok=True)
    src = out.parent / f"{out.name}.ax"
    write_atomic(src, text)
    compile_files([str(src)], probe, out, **request)


class _Round:
    """A compiled round: the feature columns copied into one buffer of its
    own (rows of a 2-d array, so every column is contiguous and none
    overlaps another), checked by the runtime once per size of buffer, then
    one native call per round with the count of tasks.  The loop reads and
    writes the first n entries of each row only, so a buffer longer than the
    round is safe."""

    def __init__(self, fn):
        self.fn = fn
        self.cols = np.empty((len(FEATURES) + 1, 0))
        self.addrs: list[int] = []

    def bids(self, features: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        if self.cols.shape[1] < n:
            self.cols = np.empty((len(FEATURES) + 1, max(n, 2 * self.cols.shape[1], 64)))
            rows = list(self.cols)
            self.addrs = self.fn.c_args(self.cols.shape[1], *rows)[1:]  # the runtime's checks, once
        for j, f in enumerate(FEATURES):
            self.cols[j, :n] = features[f]
        self.fn.raw(n, *self.addrs)
        return self.cols[-1, :n].copy()


def _vectorisable(t: Term) -> bool:
    """Every value in the term a float or a boolean (numpy runs those
    exactly as the interpreter's scalars do)."""
    return all(s.ty.is_float or s.ty.is_bool for s in subterms(t))


class _VectorFloats:
    """semantics.Domain's float and boolean operations over numpy arrays:
    the same IEEE operations, round to nearest even, no contraction, that
    PyDomain runs on numpy scalars."""

    @staticmethod
    def _ty(w: int):
        return np.float32 if w == 32 else np.float64

    def fconst(self, w, v):
        return self._ty(w)(v)

    def fadd(self, w, a, b):
        return a + b

    def fsub(self, w, a, b):
        return a - b

    def fmul(self, w, a, b):
        return a * b

    def fdiv(self, w, a, b):
        return a / b

    def fneg(self, w, a):
        return -a

    def fabs(self, w, a):
        return np.abs(a)

    def fsqrt(self, w, a):
        return np.sqrt(a)

    def feq(self, w, a, b):
        return a == b

    def flt(self, w, a, b):
        return a < b

    def fle(self, w, a, b):
        return a <= b

    def fisnan(self, w, a):
        return np.isnan(a)

    def fcvt(self, w_from, w_to, a):
        return np.asarray(a).astype(self._ty(w_to))

    def bool(self, v):
        return np.bool_(v)

    def band(self, a, b):
        return np.logical_and(a, b)

    def bor(self, a, b):
        return np.logical_or(a, b)

    def bnot(self, a):
        return np.logical_not(a)

    def ite(self, c, a, b):
        return np.where(c, a, b)


_VECTOR = _VectorFloats()
