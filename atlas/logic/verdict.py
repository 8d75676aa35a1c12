"""What came of one claim put to Z3, as data: the status is what callers
decide on; the text (`str`) is what the evidence shows a person."""

from __future__ import annotations

from dataclasses import dataclass

from ..machine.manifest import Status  # the manifest records it

__all__ = ["Status", "Verdict", "of_check"]


@dataclass(frozen=True)
class Verdict:
    status: Status
    detail: str = ""  # the time taken, the counterexample, why Z3 stopped
    note: str = ""  # e.g. that the same claim was decided before

    @property
    def proven(self) -> bool:
        return self.status is Status.PROVEN

    def __str__(self) -> str:
        text = (
            self.detail
            if self.status is Status.UNSUPPORTED
            else f"{self.status.value} ({self.detail})"
            if self.detail
            else self.status.value
        )
        return f"{text}, {self.note}" if self.note else text


def of_check(result, solver, ms: float, shown=lambda name: name) -> Verdict:
    """The verdict of `solver.check()` on the negation of a claim: unsat
    proves the claim, a model refutes it (each variable under `shown(name)`)."""
    import z3

    if result == z3.unsat:
        return Verdict(Status.PROVEN, f"{ms:.0f} ms")
    if result == z3.sat:
        m = solver.model()
        cex = ", ".join(f"{shown(d.name())}={m[d]}" for d in sorted(m.decls(), key=lambda d: d.name()))
        return Verdict(Status.REFUTED, cex)
    return Verdict(Status.UNDECIDED, solver.reason_unknown())
