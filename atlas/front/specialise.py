"""Specialise: decide every `when hw.*` branch from the probe.

The branch not taken is dropped from the IR here, before any code is
generated, so the artefact holds no code, data or check for it.  The
decisions are returned for the manifest, so a person can see what was kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..meaning import ir
from . import facts
from ..machine.probe import Probe


@dataclass(frozen=True)
class Decision:
    where: str  # file:line:col of the `when`
    condition: str  # as written, in intent syntax
    taken: str  # 'then' or 'else'

    def as_dict(self) -> dict:
        return {"where": self.where, "condition": self.condition, "taken": self.taken}


_CMP = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def holds(cond: ir.HwCond, probe: Probe) -> bool:
    if isinstance(cond, ir.FactNot):
        return not holds(cond.a, probe)
    if isinstance(cond, ir.FactBin):
        a = holds(cond.a, probe)
        return (a and holds(cond.b, probe)) if cond.op == "land" else (a or holds(cond.b, probe))
    return _CMP[cond.op](facts.fact_value(probe, cond.path), cond.value)


def specialise(module: ir.Module, probe: Probe) -> tuple[ir.Module, list[Decision]]:
    decisions: list[Decision] = []

    def block(stmts) -> tuple:
        out: list[ir.Stmt] = []
        for s in stmts:
            if isinstance(s, ir.When):
                taken = holds(s.cond, probe)
                decisions.append(Decision(str(s.span), ir.pretty_expr(s.cond), "then" if taken else "else"))
                out.extend(block(s.then if taken else s.else_))
            elif isinstance(s, ir.If):
                out.append(ir.If(s.cond, block(s.then), block(s.else_), s.span))
            elif isinstance(s, ir.For):
                out.append(ir.For(s.var, s.ty, s.lo, s.hi, block(s.body), s.span, s.lanes))
            elif isinstance(s, ir.While):
                out.append(ir.While(s.cond, block(s.body), s.span))
            else:
                out.append(s)
        return tuple(out)

    functions = tuple(replace(f, body=block(f.body)) for f in module.functions)
    return ir.Module(functions, module.sources, module.devices), decisions
