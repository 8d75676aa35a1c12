"""Validate: each function to be emitted, checked against its source as a
whole function.

Proving the pieces (the atlas's roots, a shape's loop body) does not prove
the function: the order of stores and assignments between them is where
faults hide.  So whatever will be emitted is checked whole:

  proven  by Z3 (bodies.prove_functions): loop-free code for every input;
          code with loops by bounded symbolic execution, for every input on
          which each loop runs at most K times, K past every constant index
          the function uses; and, where the atlas's rewritten terms were
          each proven for every input, in two steps: the function with its
          terms put back in source form (its run form, the source's loops
          in their places) proven equal to the source in lock-step
          (bodies.prove_same_shape), for every input with no bound;
  tested  by differential runs in the interpreter (atlas/logic/differential.py):
          lengths and trip counts from 0 up to 64 and past every constant
          index, every loop run to its end; a run that cannot finish is a
          disagreement.

A function is validated when both hold; one that is not is emitted in its
source form, and its evidence says why.  The evidence names, per function,
what was proven, what was only tested and what was neither.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import bodies, differential
from ..meaning import ir
from .verdict import Status
from ..machine.manifest import Check, ProofRecord, Reading

K = 8  # the least bound: every trip count 0..8
MAX_K = 64  # a constant index past this is left to the tests
BUDGET = 20_000  # statements unrolled per function, all loops together
# Statements unrolled by the whole climb 2, 4, 8, ... K: a bound that would
# pass it is not tried (the evidence says which bound was proven).  Counted
# in statements, so the same on any machine; a generated program with a
# constant index of 40 took 197 s to climb to 32 without it, 9 s to 16 with it.
LADDER_BUDGET = 20_000
RLIMIT = 8_000_000  # Z3's resource units per claim (about 5 s here), the same on every machine;
# past it, a smaller bound or the proof in two steps
TIMEOUT_MS = 60_000  # a safety net only


@dataclass(frozen=True)
class Validation:
    function: str
    identical: bool  # the candidate is the source itself: nothing to check
    proof: bodies.FunctionProof | None
    tested: differential.Runs | None  # None: nothing was run (identical, or refuted first)
    # proven in two steps: the function with every term in source form (the
    # same statements around them) equal to the source whole, and this many
    # rewritten terms each equal to the one it replaces
    composed_of: int | None = None
    requires: str = ""  # the function's precondition, as written: proofs and runs are where it holds
    # proven in two steps: the function with this many rewritten loops put
    # back as written equal to the source whole, and each rewritten loop
    # equal to the loop it replaced by its shape's own induction
    sites: int | None = None

    @property
    def validated(self) -> bool:
        return self.identical or (
            self.proof is not None
            and self.proof.status is Status.PROVEN
            and self.tested is not None
            and self.tested.agree is True
        )

    def proven_text(self) -> str:
        """What was proven, for this function only."""
        if self.identical:
            return "nothing to prove: the emitted code is the source form, translated directly"
        p = self.proof
        if p is None:
            return "not proven (no proof was attempted)"
        if p.status is not Status.PROVEN:
            return f"not proven ({p.status.value}: {p.detail})"
        meets = f" that meets its precondition `{self.requires}`" if self.requires else ""
        if p.same_shape:
            scope = (
                f"for every input{meets}, with no bound on any loop (the same loops and branches in the same "
                "places; the straight code between them proven equal from any state the two share, and so each "
                "loop by induction over its iterations)"
            )
        elif p.bound is None:
            scope = f"for every input{meets}"
        elif p.cases:
            scope = (
                f"for {p.cases} and every value of the other inputs{meets} on which no loop runs more than "
                f"{p.bound} times (bounded symbolic execution, one size at a time, K = {p.bound})"
            )
        else:
            scope = (
                f"for every input{meets} on which no loop runs more than {p.bound} times (bounded symbolic "
                f"execution, K = {p.bound}; loops with constant bounds unrolled whole)"
            )
        if self.composed_of is not None:
            return (
                f"Z3, in two steps: the function with its terms in source form equal to the source "
                f"as a whole function {scope}; {_each(self.composed_of)} equal to the term it replaces, for every input"
            )
        if self.sites is not None:
            loops = "its rewritten loop" if self.sites == 1 else f"its {self.sites} rewritten loops"
            each = "that loop" if self.sites == 1 else "each"
            return (
                f"Z3, in two steps: the function with {loops} put back as written equal to the source as a "
                f"whole function {scope}; {each} equal to the loop it replaces from every state on entry, "
                "by induction over its iterations (its shape's obligations)"
            )
        return f"Z3: equal to the source as a whole function {scope}"

    def tested_text(self) -> str:
        t = self.tested
        if t is None:
            return "not needed" if self.identical else "no run could be made"
        if not t.runs and t.agree is not False:
            why = t.unrunnable or t.note
            return "no run could be made" + (f" ({why})" if why else "")
        verdict = {True: "all agree", False: "DISAGREED", None: "inconclusive"}[t.agree]
        what = (
            f"{', '.join(t.sizes)} (lengths and trip counts) {t.lengths}, other inputs random with edge values"
            if t.sizes
            else "random inputs with edge values"
        )
        if self.requires:
            what += ", each meeting the precondition"
        note = f" ({t.note})" if t.note else ""
        return f"{t.runs} differential runs in the interpreter, {what}: {verdict}{note}"

    def untested_text(self) -> str:
        """What neither the proof nor the tests cover."""
        if self.identical:
            return "none: the source form is the intent's own meaning"
        p = self.proof
        if p is None:
            return "every input not among the tested ones"
        if p.status is Status.PROVEN and p.bound is None:
            return "none" + (" (a call whose inputs break the precondition is refused)" if self.requires else "")
        if p.status is Status.PROVEN:
            past = (
                f"inputs with {p.cases.replace(' = 0..', ' past ').replace(', ', ' or ')}"
                if p.cases
                else f"inputs on which a loop runs more than {p.bound} times"
            )
            return f"{past}: tested only, up to length {self.tested.max_length if self.tested else '?'}"
        return "every input not among the tested ones"

    def why_not(self) -> str:
        """Why a function is not validated: its proof, then its runs."""
        return f"{self.proven_text()}; {self.tested_text()}"

    def check(self) -> Check:
        """The manifest's record of this function's check."""
        proof = None
        if self.proof is not None:
            method = (
                "z3 lock-step, loop by loop"
                if self.proof.same_shape
                else "z3 bounded symbolic execution"
                if self.proof.bound
                else "z3 whole-function equivalence"
            )
            if self.composed_of is not None:
                method += f", with the terms in source form; z3 per rewritten term ({self.composed_of})"
            if self.sites is not None:
                method += f", with the rewritten loops as written; z3 by induction per rewritten loop ({self.sites})"
            proof = ProofRecord(self.proof.status, self.proof.bound, method, self.proof.detail, self.proof.cases or "")
        return Check(self.validated, self.proven_text(), self.tested_text(), self.untested_text(), proof, self.runs)

    @property
    def runs(self) -> dict | None:
        """The differential runs' record, where any were made."""
        return None if self.tested is None else self.tested.to_json()


def bound_for(fn: ir.Function) -> int:
    """K: at least 8, and past the largest constant index the function uses
    (a store to a[9] is only seen with ten elements), at most MAX_K."""
    return max(K, min(MAX_K, differential.largest_constant_index(fn) + 2))


def function(
    source: ir.Function,
    candidate: ir.Function,
    module: ir.Module | None = None,
    seed: int = 0,
    run_form: ir.Function | None = None,
    terms_proven: int = 0,
    sites: frozenset[str] = frozenset(),
) -> Validation:
    """Check `candidate` against `source` (`module` gives the callees).  With
    `run_form` (the candidate with every rewritten term put back in source
    form) and the count of those terms proven, a whole-function proof that
    Z3 cannot decide in time may be made in two steps instead; so too with
    `sites`, the places (file:line:col) of loops a shape replaced by a
    statement proven equal to the loop on its own, by induction."""
    if candidate == source:
        return Validation(source.name, True, None, None)
    # The same pair comes back within one process (each flag combination of
    # a campaign, a test compiling one file again): the answer is a function
    # of the arguments alone, so it is kept rather than proven again.
    key = (source, candidate, module.functions if module is not None else None, seed, run_form, terms_proven, sites)
    if key not in _DONE:
        if len(_DONE) >= MAX_KEPT:
            _DONE.clear()
        _DONE[key] = _function(source, candidate, module, seed, run_form, terms_proven, sites)
    return _DONE[key]


def _each(n: int) -> str:
    return "its one rewritten term" if n == 1 else f"each of its {n} rewritten terms"


_DONE: dict[tuple, Validation] = {}
MAX_KEPT = 256


def _function(
    source: ir.Function,
    candidate: ir.Function,
    module: ir.Module | None,
    seed: int,
    run_form: ir.Function | None,
    terms_proven: int,
    sites: frozenset[str] = frozenset(),
) -> Validation:
    k = bound_for(source)
    proof = prove(source, candidate, k)
    composed = put_back = None
    whole = proof.status is Status.PROVEN and proof.bound is None
    if run_form is not None and proof.status is not Status.REFUTED and not whole:
        # The run form has the source's loops in their places: proven equal
        # to it for every input, it makes the terms' proofs (each for every
        # input) a proof of the whole function with no bound, where the
        # direct proof above holds up to K iterations or is undecided.
        if bodies.prove_same_shape(source, run_form) is None:
            proof, composed = bodies.FunctionProof(Status.PROVEN, None, same_shape=True), terms_proven
        elif proof.status is Status.UNDECIDED:
            first = prove(source, run_form, k)
            if first.status is Status.PROVEN:
                proof, composed = first, terms_proven
    if sites and proof.status is not Status.REFUTED and not whole and composed is None:
        # Each site, a statement proven equal to the loop it holds as its
        # fallback, put back as that loop: what is left to prove is that the
        # rest is the source's, in lock-step, with no bound.
        restored, count = _put_back(candidate.body, sites)
        if count and bodies.prove_same_shape(source, replace(candidate, body=restored)) is None:
            proof, put_back = bodies.FunctionProof(Status.PROVEN, None, same_shape=True), count
    tested = None
    if proof.status is not Status.REFUTED:  # a counterexample already decides it
        tested = differential.function(source, candidate, module, seed)
    pre = ir.pretty_expr(source.requires) if source.requires is not None else ""
    return Validation(source.name, False, proof, tested, composed, pre, put_back)


def _put_back(stmts: tuple, sites: frozenset[str]) -> tuple[tuple, int]:
    """`stmts` with each site (an `if` at one of `sites` whose else branch is
    the one loop it replaced, at the same place) back as that loop, and how
    many were put back."""
    count = 0

    def walk(block: tuple) -> tuple:
        nonlocal count
        out: list[ir.Stmt] = []
        for s in block:
            if isinstance(s, ir.If) and str(s.span) in sites and len(s.else_) == 1:
                loop = s.else_[0]
                if isinstance(loop, ir.For) and loop.span == s.span:
                    out.append(loop)
                    count += 1
                    continue
            out.append(ir.walk_blocks(s, walk))
        return tuple(out)

    return walk(stmts), count


def prove(source: ir.Function, candidate: ir.Function, k: int) -> bodies.FunctionProof:
    """The proof at the largest bound of 2, 4, 8, ... up to k that Z3
    decides, smallest first: a bound Z3 cannot decide within its limit costs
    that limit once, not again for each bound below it, and a smaller bound
    is said plainly rather than no proof at all.  A proof that holds for
    every trip count (no loop's count depends on the input) ends the climb."""
    sizes = tuple(sorted(differential.small_params(source)))
    best, spent, ladder = None, 0, _ladder(k)
    for rung, bound in enumerate(ladder):
        proof = bodies.prove_functions(source, candidate, bound, BUDGET, TIMEOUT_MS, sizes, RLIMIT)
        spent += proof.steps
        if proof.status is not Status.PROVEN:
            if proof.status is Status.REFUTED or best is None:
                return proof  # a counterexample decides it; else why not even the least bound
            return best
        if proof.bound is None:
            return proof
        best = proof
        if rung + 1 < len(ladder) and spent + _foreseen(proof.steps, bound, ladder[rung + 1]) > LADDER_BUDGET:
            return best  # the next bound would cost more than the climb may: this one is said
    assert best is not None, "the ladder is never empty"
    return best


def _foreseen(steps: int, bound: int, nxt: int) -> int:
    """The statements the next bound will unroll, from this one's: they grow
    with the square of the bound where the sizes are taken one at a time
    (more cases, each longer), which is the costly case."""
    return steps * (nxt * nxt) // (bound * bound)


def _ladder(k: int) -> list[int]:
    """2, 4, 8, ... below k, then k."""
    out, b = [], 2
    while b < k:
        out.append(b)
        b *= 2
    return out + [k]


def searched(
    source: ir.Module, fallback: ir.Module, chosen: ir.Module, names, seed: int = 0, sites: dict | None = None
) -> tuple[ir.Module, dict[str, Validation]]:
    """The search's champions (functions `names` of `chosen`) checked against
    their source; one that is not validated gives way to its form in
    `fallback` (the atlas's validated form, or the source).  `sites`: per
    function, the places of the loops its shape proved on their own."""
    out, checks = [], {}
    for fn in chosen.functions:
        keep = fallback.function(fn.name)
        if fn.name in names and fn != keep:
            own = (sites or {}).get(fn.name, frozenset())
            v = function(source.function(fn.name), fn, chosen, seed, sites=own)
            checks[fn.name] = v
            if not v.validated:
                fn = keep
        out.append(fn)
    return ir.Module(tuple(out), chosen.sources, chosen.devices), checks


def readings(written: ir.Module, read: ir.Module) -> tuple[ir.Module, dict[str, Reading]]:
    """The front end's readings (`read`, the module `written` with its
    counted while loops read as for loops) checked whole, each function
    against itself as written: one that is not validated keeps its while
    loops.  Returns the module every later stage takes for the source, and
    each read function's record."""
    out, found = [], {}
    for fn in read.functions:
        plain = written.function(fn.name)
        if fn != plain:
            v = function(plain, fn, written)
            found[fn.name] = Reading(_gone_whiles(plain, fn), v.validated, v.check())
            fn = fn if v.validated else plain
        out.append(fn)
    return replace(read, functions=tuple(out)), found


def _gone_whiles(plain: ir.Function, read: ir.Function) -> tuple[str, ...]:
    """Where the while loops of `plain` that `read` no longer has are."""
    left = {s.span for s in ir.walk_stmts(read.body) if isinstance(s, ir.While)}
    return tuple(str(s.span) for s in ir.walk_stmts(plain.body) if isinstance(s, ir.While) and s.span not in left)
