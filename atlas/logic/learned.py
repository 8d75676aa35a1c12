"""Learned rules: what the superoptimiser proved, kept as rewrite rules.

A proven discovery (a term and the cheaper program Z3 proved equal to it)
is generalised into a rule of the ordinary rule-file format
(primitives/rules/*.yaml): its inputs, variables and array reads alike,
become pattern variables, so the rule applies wherever the same logic
appears again, under any names, in any intent.  Before the file is written
the rule is loaded back through the rule loader, which proves it with Z3
again and checks that its left side reads back as exactly the term it came
from (else it could never match).  Each rule carries its provenance.

The file is `$ATLAS_LEARNED`, else learned-rules.yaml in the cache
directory; `load_rules` reads it beside the shipped rules, so the next
compile gets the program by saturation, without searching.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import yaml

from .. import __version__
from ..meaning import ir
from . import rules as rulebook
from ..files import write_atomic
from ..meaning.terms import Term, const, natural_value, subterms

RULESET = "learned"
HEADER = (
    "# Rules the superoptimiser learned (`atlas superopt`), each proven by Z3\n"
    "# when found and again whenever this file is loaded.  Safe to delete:\n"
    "# a later search finds them again.\n"
)


def default_path() -> Path:
    named = os.environ.get("ATLAS_LEARNED")
    return Path(named) if named else rulebook.cache_dir() / "learned-rules.yaml"


def with_shipped(explicit=None, use: bool = True) -> rulebook.Rules:
    """The shipped rules and the learned ones of `paths(explicit, use)`, loaded."""
    return rulebook.load_rules([rulebook.SHIPPED, *paths(explicit, use)])


def paths(explicit=None, use: bool = True) -> list[Path]:
    """The learned-rule files a compile loads: `explicit`, else the default
    one, where it exists; none with use=False."""
    if not use:
        return []
    p = Path(explicit) if explicit else default_path()
    return [p] if p.exists() else []


def rule_name(function: str, ty: ir.Scalar) -> str:
    return f"learned-{re.sub(r'[^A-Za-z0-9_]+', '-', function)}-{ty}"


def generalise(source: Term, found: Term, pre: Term | None = None) -> tuple[str, str, dict[str, str], str | None]:
    """(lhs, rhs, vars, requires): the two sides in intent syntax with every
    input a pattern variable, each variable's type, and the precondition
    over the same variables (None without one)."""
    names: dict[str, str] = {}
    lhs, rhs = _patterned(source, names), _patterned(found, names)
    types = {u.value: u.ty.name for u in subterms(lhs) if u.op == "var"}
    text = None if pre is None else rulebook.pattern_text(_patterned(pre, names))
    return rulebook.pattern_text(lhs), rulebook.pattern_text(rhs), types, text


def _patterned(t: Term, names: dict[str, str]) -> Term:
    """`t` with its variables named as the rule's pattern variables
    (`names`, shared between the two sides, grows as they are met)."""
    if t.op == "var":
        return Term("var", t.ty, (), names.setdefault(t.value, _pattern_name(t.value, len(names))))
    return Term(t.op, t.ty, tuple(_patterned(a, names) for a in t.args), t.value) if t.args else t


def _pattern_name(name: str, k: int) -> str:
    # a variable of the source keeps its name; names the rule syntax
    # reserves (T, the type) or that are not identifiers get a plain one
    return name if name.isidentifier() and name != "T" and not name.startswith("_") else f"v{k}"


# ---------------------------------------------------------------- generalising

WIDTHS = (8, 16, 32, 64)
PROOF_MS = 20_000  # per width tried; bounded by Z3's resource limit too


def _equal(lhs: Term, rhs: Term, pre: Term | None = None) -> bool:
    """Proven equal by Z3 where `pre` holds (refuted or undecided: not)."""
    try:
        return rulebook.prove(lhs, rhs, timeout_ms=PROOF_MS, when=pre, rlimit=rulebook.PROOF_RLIMIT) is None
    except rulebook.Undecided:
        return False


def narrowest(source: Term, found: Term, pre: Term | None = None) -> tuple[Term, Term]:
    """The smallest pair the program replaces: where the two sides share
    their outer operators and all but one operand, the differing operands,
    innermost first, once Z3 proves them equal on their own (equal parts in
    an equal context make equal wholes, so the narrower rule is sound and
    fires in more places).  The whole pair where nothing narrower holds."""
    pairs = [(source, found)]
    s, f = source, found
    while s.args and (s.op, s.ty, s.value, len(s.args)) == (f.op, f.ty, f.value, len(f.args)):
        differ = [i for i, (a, b) in enumerate(zip(s.args, f.args)) if a != b]
        if len(differ) != 1:
            break
        s, f = s.args[differ[0]], f.args[differ[0]]
        pairs.append((s, f))
    for s, f in reversed(pairs[1:]):
        if s.args and _equal(s, f, pre):
            return s, f
    return source, found


def _width_constant(v: int, frm: int, to: int, signed: bool) -> int:
    """A constant that says something about the width `frm`, said of `to`:
    the width, the top bit's index, the all-ones mask, the top bit, the
    largest signed value.  Any other constant is kept."""
    named = {frm: to, frm - 1: to - 1}
    if not signed:
        named |= {
            (1 << frm) - 1: (1 << to) - 1,
            1 << (frm - 1): 1 << (to - 1),
            (1 << (frm - 1)) - 1: (1 << (to - 1)) - 1,
        }
    else:
        named |= {-(1 << (frm - 1)): -(1 << (to - 1)), (1 << (frm - 1)) - 1: (1 << (to - 1)) - 1}
    return named.get(v, v)


def _fits(v: int, ty: ir.Scalar) -> bool:
    lo = -(1 << (ty.bits - 1)) if ty.signed else 0
    hi = (1 << (ty.bits - 1)) if ty.signed else (1 << ty.bits)
    return lo <= v < hi


def at_width(ty: ir.Scalar, frm: int, to: int) -> ir.Scalar:
    """An integer type of `frm` bits as the one of `to` bits, same signedness."""
    if ty.is_int and ty.bits == frm:
        return next(u for u in ir.SCALARS.values() if u.is_int and u.bits == to and u.signed == ty.signed)
    return ty


def retyped(t: Term, frm: int, to: int, width_constants: bool) -> Term | None:
    """`t` with every integer of `frm` bits made `to` bits (signedness kept);
    constants too, with `width_constants` those that name the width said of
    the new one.  None where a constant does not fit its new type."""
    if t.op == "const" and t.ty.is_int:
        v, new = int(natural_value(t)), at_width(t.ty, frm, to)
        if width_constants:
            v = _width_constant(v, frm, to, t.ty.signed)
        return const(v, new) if _fits(v, new) else None
    if not t.args:
        return Term(t.op, at_width(t.ty, frm, to), (), t.value) if t.op == "var" else t
    args = [retyped(a, frm, to, width_constants) for a in t.args]
    if any(a is None for a in args):
        return None
    return Term(t.op, at_width(t.ty, frm, to), tuple(a for a in args if a is not None), t.value)


def width_of(source: Term) -> int | None:
    """The one width of the source's integer inputs, if they share one."""
    widths = {u.ty.bits for u in subterms(source) if u.op in ("var", "load") and u.ty.is_int}
    return widths.pop() if len(widths) == 1 else None


def other_widths(source: Term, found: Term, pre: Term | None = None) -> list[tuple[Term, Term, Term | None]]:
    """The pair (and its precondition) at each other width of 8..64 bits
    where Z3 proves it, the inputs' signedness kept: first with the
    constants that name the width said of the new one (31 -> 15 for a
    16-bit shift), else with the constants as they are."""
    frm = width_of(source)
    if frm not in WIDTHS:
        return []
    out = []
    for to in WIDTHS:
        if to == frm:
            continue
        tried = set()
        for named in (True, False):
            lhs, rhs = retyped(source, frm, to, named), retyped(found, frm, to, named)
            wide_pre = None if pre is None else retyped(pre, frm, to, named)
            if lhs is None or rhs is None or (pre is not None and wide_pre is None) or (lhs, rhs) in tried:
                continue
            tried.add((lhs, rhs))
            if _equal(lhs, rhs, wide_pre):
                out.append((lhs, rhs, wide_pre))
                break
    return out


def entries(
    function: str, where: str, lhs: Term, rhs: Term, ty: ir.Scalar, provenance: dict, pre: Term | None = None
) -> list[dict]:
    """The rule `lhs` -> `rhs` learned at `ty` (narrowed by `narrowest`
    first, where it can be), then the same at every other width where Z3
    proves it (`other_widths`), each a rule of its own.  With `pre` (the
    function's precondition), each holds only where it does (`requires`)."""
    first = entry(function, where, lhs, rhs, ty, provenance, pre)
    out = [first]
    frm = width_of(lhs)
    for wl, wr, wp in other_widths(lhs, rhs, pre):
        to = width_of(wl)
        assert frm is not None and to is not None  # other_widths found both
        e = entry(function, where, wl, wr, at_width(ty, frm, to), {**provenance, "generalised_from": first["name"]}, wp)
        e["name"] = f"{first['name']}-as-{to}-bit"  # never the name of a rule learned at that width itself
        e["doc"] = f"{first['doc']}, proven again for {to}-bit inputs"
        out.append(e)
    return out


def entry(
    function: str, where: str, source: Term, found: Term, ty: ir.Scalar, provenance: dict, pre: Term | None = None
) -> dict:
    lhs, rhs, types, requires = generalise(source, found, pre)
    return {
        "name": rule_name(function, ty),
        "lhs": lhs,
        "rhs": rhs,
        "types": ty.name,
        "vars": types,
        **({"requires": requires} if requires is not None else {}),
        "doc": f"found by the superoptimiser for {function} ({where})",
        "provenance": {
            "function": function,
            "where": where,
            "atlas": __version__,
            "found": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **provenance,
        },
    }


def read(path) -> list[dict]:
    p = Path(path)
    if not p.exists():
        return []
    doc = yaml.safe_load(p.read_text()) or {}
    return list(doc.get("rules") or [])


def add(path, entries: list[dict], expect: dict[str, Term] | None = None) -> list[rulebook.Rule]:
    """Add (or replace, by name) `entries` in the learned-rule file at `path`,
    atomically, once the rule loader has proven every rule of the new file.
    `expect` maps a rule name to the term its lhs must read back as.
    Returns the new file's rules."""
    p = Path(path)
    keep = [r for r in read(p) if r.get("name") not in {e["name"] for e in entries}]
    doc = {"ruleset": RULESET, "doc": "rules found and proven by the superoptimiser", "rules": keep + entries}
    text = HEADER + yaml.safe_dump(doc, sort_keys=False, width=1 << 16)
    p.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=p.parent) as tmp:
        trial = Path(tmp) / p.name
        trial.write_text(text)
        loaded = rulebook.load_rules([trial], cache=True)
    for r in loaded.all():
        want = (expect or {}).get(r.name)
        if want is not None and rulebook.without_marks(r.lhs) != _patterned(want, {}):
            raise rulebook.RuleError(
                f"learned rule {r.name}: its lhs does not read back as the term it was learned from; not stored"
            )
    write_atomic(p, text)
    return loaded.all()
