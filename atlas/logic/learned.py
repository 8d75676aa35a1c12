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
from ..meaning.terms import Term, subterms

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


def generalise(source: Term, found: Term) -> tuple[str, str, dict[str, str]]:
    """(lhs, rhs, vars): the two sides in intent syntax with every input a
    pattern variable, and each variable's type."""
    names: dict[str, str] = {}
    lhs, rhs = _patterned(source, names), _patterned(found, names)
    types = {u.value: u.ty.name for u in subterms(lhs) if u.op == "var"}
    return rulebook.pattern_text(lhs), rulebook.pattern_text(rhs), types


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


def entry(function: str, where: str, source: Term, found: Term, ty: ir.Scalar, provenance: dict) -> dict:
    lhs, rhs, types = generalise(source, found)
    return {
        "name": rule_name(function, ty),
        "lhs": lhs,
        "rhs": rhs,
        "types": ty.name,
        "vars": types,
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
    for r in loaded:
        want = (expect or {}).get(r.name)
        if want is not None and rulebook.without_marks(r.lhs) != _patterned(want, {}):
            raise rulebook.RuleError(
                f"learned rule {r.name}: its lhs does not read back as the term it was learned from; not stored"
            )
    write_atomic(p, text)
    return list(loaded)
