"""`atlas explain`: the logic atlas, for people.

    doc = explain(paths, probe, probe_label)    one JSON-able dict, deterministic
    render_text(doc, color=...)                 for a terminal
    render_dot(doc)                             Graphviz text of the e-graph
    json.dumps(doc)                             for machines and golden tests

All the files together form ONE atlas: front() on all of them, one
saturation (atlas.logic.stages.saturate) and the proof of every rewritten root
(atlas.logic.stages.verify).  The document says which source expression landed in
which e-class, each class's members in intent syntax with their costs, the
chosen representative, the proof status, which rules merged what, and which
classes several functions share.

Class ids.  egglog's ids are an accident of insertion order, so classes are
renumbered c1, c2, ... in order of first appearance: the roots in source
order, each root's source term top-down, then whatever the rules added,
breadth first through the members.

Which rule merged what.  egglog does not record which rule created a node,
so we find out afterwards by e-matching over the saturated graph: rule r
explains member m of class C when r's lhs matches another member m' of C
(its pattern variables bound to classes) and r's rhs, instantiated with the
same bindings, is exactly m.  Firing r at m' therefore adds m to C (or finds
it there).  A rule whose rhs is a bare variable (`a + 0 => a`) explains why
m' sits in its operand's class; we say m' "collapses by" r.  Only rules that
matched during saturation are considered.  A member that no rule explains
and that is not in the source is shown without a rule, never with a guess.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from ..logic import costs as cost_model
from ..logic import egraph, lower, stages
from ..machine import probe as hwprobe
from ..logic.egraph import node_parts as node_head  # the encoding's one definition of (ctor, literals)
from ..logic.differential import VERDICT
from ..pipeline import front, logic_atlas, rule_files
from ..meaning import ir
from ..meaning.terms import Term, pretty, subterms
from ..machine.probe import Probe

FORMAT = "atlas-explain/1"

# Shown by default; --all shows everything.
MAX_MEMBERS = 6  # members listed per class
MAX_INNER = 4  # classes inside one root listed besides the root's own
MAX_SHARED = 12  # entries of "shared across intents"
MAX_TERM = 120  # characters of one pretty-printed term
MAX_RULES = 10  # most active rules in the footer

# Keys whose values change from run to run (times, proof-cache hits); the
# golden tests drop them, everything else is deterministic.
VOLATILE = frozenset({"elapsed_s", "prove_elapsed_s", "proven_now", "from_cache"})


# ---------------------------------------------------------------- the e-graph, read for matching


def _is_pvar(t: Term) -> bool:
    return t.op == "var" and isinstance(t.value, str) and t.value.startswith("?")


class _Graph:
    """The saturated e-graph as plain tuples: class -> nodes (ctor, lits, kids),
    and the reverse index node -> class, for e-matching rule patterns."""

    def __init__(self, atlas: egraph.Atlas):
        self.classes = {c.id: c for c in atlas.classes()}
        self.nodes = {cid: [(n.ctor, n.lits, n.kids) for n in c.nodes] for cid, c in self.classes.items()}
        self.index = {n: cid for cid, ns in self.nodes.items() for n in ns}
        self.heads: dict[tuple, list] = defaultdict(list)
        for cid, ns in self.nodes.items():
            for n in ns:
                self.heads[n[:2]].append((cid, n))
        self._head_memo: dict[int, tuple] = {}  # by identity: hashing a big pattern is slow
        self._vars: dict[int, tuple] = {}
        self._memo: dict[tuple, list] = {}

    def head(self, pat: Term) -> tuple:
        k = id(pat)
        if k not in self._head_memo:
            self._head_memo[k] = (pat, node_head(pat))  # the term kept alive: its id stays its own
        return self._head_memo[k][1]

    def class_of(self, t: Term, memo: dict) -> str:
        """The class of a closed (source) term."""
        if t not in memo:
            kids = tuple(self.class_of(a, memo) for a in t.args)
            ctor, lits = self.head(t)
            memo[t] = self.index[(ctor, lits, kids)]
        return memo[t]

    def node_of(self, t: Term, memo: dict) -> tuple:
        ctor, lits = self.head(t)
        return (ctor, lits, tuple(self.class_of(a, memo) for a in t.args))

    # -- e-matching
    # Each (pattern node, class, bindings of its variables) is matched once
    # and its distinct results kept: a big pattern (a learned rule is an
    # unrolled loop) over classes with many equal members would otherwise
    # be matched along every combination of them.

    def match(self, pat: Term, cid: str, env: dict) -> list[dict]:
        """Every extension of env under which pat matches some member of cid."""
        if _is_pvar(pat):
            if self.classes[cid].ty != pat.ty:
                return []
            bound = env.get(pat.value)
            if bound is None:
                return [{**env, pat.value: cid}]
            return [env] if bound == cid else []
        names = self.pattern_vars(pat)
        key = (id(pat), cid, tuple(env.get(v) for v in names))
        if key not in self._memo:
            mine = {v: env[v] for v in names if v in env}
            head = self.head(pat)
            found: dict = {}
            for n in self.nodes[cid]:
                if n[:2] == head:
                    for e in self.match_kids(pat.args, n[2], mine):
                        found.setdefault(frozenset(e.items()), e)
                        if len(mine) == len(names):
                            break  # all bound: one match decides
            self._memo[key] = list(found.values())
        return [{**env, **e} for e in self._memo[key]]

    def match_kids(self, pats, kids, env) -> list[dict]:
        envs = [env]
        for pat, kid in zip(pats, kids):
            step: dict = {}
            for e in envs:
                for f in self.match(pat, kid, e):
                    step.setdefault(frozenset(f.items()), f)
            envs = list(step.values())
            if not envs:
                break
        return envs

    def pattern_vars(self, pat: Term) -> tuple:
        k = id(pat)
        if k not in self._vars:
            if _is_pvar(pat):
                names = (pat.value,)
            else:
                names = tuple(sorted({v for a in pat.args for v in self.pattern_vars(a)}))
            self._vars[k] = (pat, names)
        return self._vars[k][1]

    def build(self, pat: Term, env: dict):
        """The class holding pat instantiated by env, or None when that term
        is not in the graph."""
        if _is_pvar(pat):
            return env.get(pat.value)
        kids = []
        for a in pat.args:
            k = self.build(a, env)
            if k is None:
                return None
            kids.append(k)
        return self.index.get(self.head(pat) + (tuple(kids),))


def _attribute(g: _Graph, rules, fired: dict) -> dict:
    """class -> list of (rule, lhs node, rhs node or None), found by e-matching
    (see the module docstring)."""
    found: dict[str, set] = defaultdict(set)
    for r in rules:
        if not fired.get(r.name) or _is_pvar(r.lhs):
            continue
        for cid, n in g.heads.get(g.head(r.lhs), ()):
            for env in g.match_kids(r.lhs.args, n[2], {}):
                if _is_pvar(r.rhs):
                    if env.get(r.rhs.value) == cid:
                        found[cid].add((r.name, r.ruleset, n, None))
                    continue
                kids = []
                for a in r.rhs.args:
                    kids.append(g.build(a, env))
                if None in kids:
                    continue
                m = g.head(r.rhs) + (tuple(kids),)
                if m != n and g.index.get(m) == cid:
                    found[cid].add((r.name, r.ruleset, n, m))
    return found


# ---------------------------------------------------------------- the document


def explain(
    paths, probe: Probe, probe_label: str, *, show_all: bool = False, rules=None, limits: egraph.Limits | None = None
) -> dict:
    """Everything `atlas explain` shows, as one deterministic JSON-able dict.
    Lists are cut to the MAX_* sizes unless show_all (the cut is recorded)."""
    paths = [str(p) for p in paths]
    if rules is None:  # what a compile for the default backend loads
        from ..logic import learned
        from ..machine.backend import DEFAULT, get
        from ..logic.rules import load_rules

        rules = load_rules(rule_files(get(DEFAULT), learned.paths()))
    readings: dict = {}
    _, module, decisions = front(paths, probe, readings=readings)
    sat, verified = logic_atlas(module, probe, rules, limits)
    report = sat.atlas.report()
    view = _Numbered(sat)
    attributed = _attribute(view.g, sat.rules, sat.atlas.rule_matches)
    classes = {cid: view.class_doc(cid, attributed, show_all) for cid in view.order}
    shared_doc = _shared_doc(report, view.cname, classes, show_all)
    doc = {
        "format": FORMAT,
        "files": paths,
        "probe": _probe_doc(probe, probe_label),
        "decisions": [d.as_dict() for d in decisions],
        "functions_in_order": [f.name for f in module.functions],
        "atlas": _atlas_doc(report),
        "rules": _rules_doc(sat, report),
        "functions": _function_docs(module, sat, verified, view, classes, readings),
        "shared": {
            "count": len(shared_doc),
            "count_with_leaves": len(report["shared_classes"]),
            "classes": shared_doc if show_all else shared_doc[:MAX_SHARED],
            "by_structure": report["shared_by_structure"],
        },
        "classes": [classes[cid] for cid in view.order],
        "show_all": show_all,
    }
    if module.devices:  # their operations are emitted as written, not terms of the atlas
        doc["devices"] = [
            {"name": d.name, "pci": d.ids, "registers": len(d.registers), "operations": [f.name for f in d.ops]}
            for d in module.devices
        ]
    return doc


class _Numbered:
    """The saturated e-graph with its classes numbered as the document shows
    them: roots in order, each source term top-down, then breadth first
    through the members, then the rest; and each member's text and cost."""

    def __init__(self, sat) -> None:
        g = self.g = _Graph(sat.atlas)
        self.memo: dict[Term, str] = {}
        self.order: list[str] = []
        self.seen: set[str] = set()
        self.source_nodes: set[tuple] = set()
        for r in sat.roots:
            for t in _preorder(r.term):
                self._see(g.class_of(t, self.memo))
                self.source_nodes.add(g.node_of(t, self.memo))
        member_terms = {cid: dict(zip(g.nodes[cid], c.members())) for cid, c in g.classes.items()}
        printed: dict = {}  # one text per distinct subterm, shared by every member
        self.member_text = {cid: {n: pretty(t, printed) for n, t in ms.items()} for cid, ms in member_terms.items()}
        self.totals = {cid: {(n.ctor, n.lits, n.kids): n.total for n in c.nodes} for cid, c in g.classes.items()}
        i = 0
        while i < len(self.order):  # breadth first through the members
            cid = self.order[i]
            for n in sorted(g.nodes[cid], key=lambda n: self.member_key(cid, n)):
                for k in n[2]:
                    self._see(k)
            i += 1
        for cid in sorted(set(g.classes) - self.seen, key=lambda c: (pretty(g.classes[c].best), str(g.classes[c].ty))):
            self._see(cid)
        self.cname = {cid: f"c{j + 1}" for j, cid in enumerate(self.order)}
        self.owners = defaultdict(set)  # class -> functions whose source terms reach it
        self.roots_in = defaultdict(list)  # class -> root names landing in it
        for r in sat.roots:
            self.roots_in[self.memo[r.term]].append(r.name)
            for t in subterms(r.term):
                self.owners[self.memo[t]].add(r.function)

    def _see(self, cid) -> None:
        if cid not in self.seen:
            self.seen.add(cid)
            self.order.append(cid)

    def member_key(self, cid, n):
        return (self.totals[cid][n], self.member_text[cid][n], n[0], repr(n[1]))

    def class_doc(self, cid: str, attributed, show_all: bool) -> dict:
        g, cname = self.g, self.cname
        c = g.classes[cid]
        chosen = _chosen_node(g, cid)
        produced: dict[tuple, set[str]] = defaultdict(set)  # node -> rules that made it
        collapses: dict[tuple, set[str]] = defaultdict(set)  # node -> rules that rewrite it to one of its kids
        merged: dict[tuple[str, str], int] = defaultdict(int)  # (ruleset, rule) -> node pairs merged
        for rule, ruleset, lhs, rhs in attributed.get(cid, ()):
            merged[(ruleset, rule)] += 1
            if rhs is None:
                collapses[lhs].add(rule)
            else:
                produced[rhs].add(rule)
        nodes = sorted(g.nodes[cid], key=lambda n: (n != chosen, n not in self.source_nodes, self.member_key(cid, n)))
        shown = nodes if show_all else nodes[:MAX_MEMBERS]
        members = []
        for n in shown:
            m = {"term": self.member_text[cid][n], "cost": self.totals[cid][n]}
            if n == chosen:
                m["chosen"] = True
            if n in self.source_nodes:
                m["source"] = True
            if produced.get(n):
                m["by"] = sorted(produced[n])
            if collapses.get(n):
                m["collapses_by"] = sorted(collapses[n])
            m["op"] = _op_label(n)
            m["kids"] = [cname[k] for k in n[2]]
            members.append(m)
        return {
            "id": cname[cid],
            "type": str(c.ty),
            "best": pretty(c.best),
            "cost": c.cost,
            "member_count": len(nodes),
            "members": members,
            "merged_by": [{"rule": rule, "ruleset": rs, "pairs": k} for (rs, rule), k in sorted(merged.items())],
            "functions": sorted(self.owners.get(cid, ())),
            "roots": sorted(self.roots_in.get(cid, ())),
        }


def _loop_forms(verified) -> dict[str, list[dict]]:
    """Per function, the proven forms of its loops that the search chooses
    among beside the loops as written: each shape that applies to the
    atlas's form, with what it rests on (proven here, not run: the search
    runs each once more).  Hot paths and tiers need a profile: not listed."""
    from ..search.explode import LOOP_SHAPES, shaped

    out: dict[str, list[dict]] = defaultdict(list)
    for f in verified.module.functions:
        if not ir.has_loops(f.body):
            continue
        base = lower.tidy(f)
        for name in LOOP_SHAPES:
            made = shaped(name, base, differential=False)
            if made is not None:
                out[f.name].append({"shape": name, "what": _shape_summary(name, made.evidence)})
    return out


def _shape_summary(name: str, ev: dict) -> str:
    """One line of what a loop shape did and what proves it."""
    if name == "deferred-reduction":
        return "; ".join(
            f"{lp['loop']}: {', '.join(lp['accumulators'])} summed in {lp['wide_type']} blocks of {lp['block']}, "
            f"{sum(v.startswith('proven') for v in lp['obligations'].values())} of {len(lp['obligations'])} "
            "obligations proven by Z3" + (f"; {lp['closed_form']}" if lp.get("closed_form") else "")
            for lp in ev["loops"]
        )
    guard = "" if ev.get("guard") in (None, "true") else f" under the guard {ev['guard']}"
    if name == "interchange":
        return "; ".join(
            f"{nst['loop']}: the reduction into {nst['array']}[{nst['index']}] interchanged (ikj), "
            f"slots proven distinct and in range by Z3{guard}"
            for nst in ev["nests"]
        )
    if name == "fusion":
        checks = [c for f in ev["fused"] for c in f["checks"]]
        return (
            "; ".join(f"the loops at {f['loops']} fused" for f in ev["fused"])
            + f", {_plural(len(checks), 'pair')} of accesses proven apart by Z3{guard}"
        )
    if name == "unroll-jam":
        return (
            "; ".join(f"{j['loop']}: {j['rows']} rows of {j['array']} summed in one inner loop" for j in ev["jammed"])
            + guard
        )
    if name == "fission":
        checks = [c for f in ev["split"] for c in f["checks"]]
        return (
            "; ".join(f"{f['loop']}: split into {f['loops']} loops" for f in ev["split"])
            + f", {_plural(len(checks), 'pair')} of accesses proven apart by Z3{guard}"
        )
    if name == "tiling":
        return "; ".join(
            f"{t['loop']}: run in {t['tile']} x {t['tile']} tiles, "
            f"{_plural(len(t['checks']), 'pair')} of accesses proven never to meet by Z3{guard}"
            for t in ev["tiled"]
        )
    if name in ("scan-lanes", "arg-lanes", "affine-lanes"):
        unit = "steps" if name == "scan-lanes" else "elements"
        return "; ".join(
            f"{lp['loop']}: {lp['scan'] if name == 'scan-lanes' else lp['fold']}, run a vector of {unit} at a time, "
            f"{sum(v == 'proven' for v in lp['obligations'].values())} of {len(lp['obligations'])} laws proven by Z3"
            for lp in ev["loops"]
        )
    if name != "inbounds":  # a shape this summary does not know: its own account of its proof
        return str(ev.get("proof", "proven"))
    accesses = list(dict.fromkeys(ev["accesses"]))  # each access once, in order
    shown = ", ".join(accesses[:4]) + (f" and {len(accesses) - 4} more" if len(accesses) > 4 else "")
    return f"{_plural(len(accesses), 'access')} proven in range by Z3, read unchecked ({shown}){guard}"


def _function_docs(module, sat, verified, view: _Numbered, classes: dict, readings: dict) -> list[dict]:
    """Per function, in source order: where each root landed, what was
    chosen and why, its loops (with their proven forms), the while loops
    the front end read as for loops, and its evidence."""
    atlas, memo, cname = sat.atlas, view.memo, view.cname
    loops = defaultdict(list)
    for lf in lower.loop_forms(module):
        loops[lf["function"]].append({"where": lf["where"], "form": lf["form"]})
    forms = _loop_forms(verified)
    functions = []
    for f in module.functions:
        roots = []
        for r in (r for r in sat.roots if r.function == f.name):
            cid = memo[r.term]
            outcome = verified.outcomes[r.name]
            best = outcome.term  # the form emitted
            rewritten = outcome.status is not stages.RootStatus.UNCHANGED  # a rewrite was attempted
            inner: list[str] = []
            changed: list[str] = []
            for t in _preorder(r.term)[1:]:
                k = memo[t]
                if k == cid or k in inner or k in changed or classes[k]["member_count"] < 2:
                    continue
                # classes whose choice differs from the source come first: they explain the rewrite
                (changed if view.g.classes[k].best != t else inner).append(k)
            inner = changed + inner
            roots.append(
                {
                    "role": r.role,
                    "where": str(r.where),
                    "class": cname[cid],
                    "source": pretty(r.term),
                    "source_cost": atlas.cost(r.term, r.loop),
                    "chosen": pretty(best),
                    "cost": atlas.cost(best, r.loop),
                    "loop": None if r.loop is None else sorted(r.loop),
                    "rewritten": rewritten,
                    "status": str(outcome),
                    "inner_classes": [cname[k] for k in inner],
                }
            )
        functions.append(
            {
                "name": f.name,
                "where": str(f.span),
                "roots": roots,
                "loops": loops.get(f.name, []),
                "loop_forms": forms.get(f.name, []),
                "evidence": verified.evidence[f.name].to_json() if f.name in verified.evidence else {},
                **({"requires": ir.pretty_expr(f.requires)} if f.requires is not None else {}),
                **({"reading": readings[f.name].to_json()} if f.name in readings else {}),
            }
        )
    return functions


def _shared_doc(report: dict, cname: dict, classes: dict, show_all: bool) -> list[dict]:
    """The classes several functions share (leaves only with show_all)."""
    shared = [s for s in report["shared_classes"] if show_all or not s["leaf"]]
    return sorted(
        (
            {
                "class": cname[s["class"]],
                "type": classes[s["class"]]["type"],
                "best": s["best"],
                "cost": s["cost"],
                "leaf": s["leaf"],
                "functions": s["intents"],
            }
            for s in shared
        ),
        key=lambda s: int(s["class"][1:]),
    )


def _atlas_doc(report: dict) -> dict:
    return {
        "roots": report["roots"],
        "source_nodes": report["source_nodes"],
        "source_distinct_nodes": report["source_distinct_nodes"],
        "eclasses": report["eclasses"],
        "enodes": report["enodes"],
        "compression": report["compression"],
        "iterations": [
            {
                "iteration": s["iteration"],
                "enodes": s["nodes"],
                "eclasses": s["classes"],
                "matches": s["matches"],
                "elapsed_s": round(s["seconds"], 4),
            }
            for s in report["iterations"]
        ],
        "stop_reason": report["stop_reason"],
        "limits": report["limits"],
        "elapsed_s": report["seconds"],
        "cost_model": report["cost_model"],
    }


def _preorder(t: Term) -> list[Term]:
    """Each distinct subterm once, parents before children."""
    seen, out, stack = set(), [], [t]
    while stack:
        u = stack.pop()
        if u in seen:
            continue
        seen.add(u)
        out.append(u)
        stack.extend(reversed(u.args))
    return out


def _chosen_node(g: _Graph, cid: str) -> tuple:
    """The member extraction chose: the node the class's best term is rooted at."""
    best = g.classes[cid].best
    kids = tuple(g.class_of(a, {}) for a in best.args)
    return g.head(best) + (kids,)


_SYM = {**ir.BINARY_SYMBOL, "neg": "-", "not": "~"}


def _op_label(n: tuple) -> str:
    """One e-node alone, for the graph: its operator (and literal for leaves)."""
    ctor, lits, _ = n
    if ctor in ("Var", "Int", "Flt", "Bool"):
        t = egraph.build_node(ctor, list(lits), [])
        return pretty(t)
    if ctor == "Load":
        return f"{lits[0]}[·]"
    op = egraph.BY_CTOR[ctor][0]
    if op == "cast":
        return f"as {lits[0]}"
    return _SYM.get(op, op)


def _probe_doc(probe: Probe, label: str) -> dict:
    # What this probe changes in the cost model (e.g. popcount without popcnt).
    base, here = cost_model.costs(None), cost_model.costs(probe)
    return {
        "source": label,
        "fingerprint": hwprobe.fingerprint(probe),
        "arch": probe.cpu.arch,
        "uarch": probe.cpu.uarch,
        "costs_changed": {op: here[op] for op in sorted(here) if here[op] != base.get(op)},
    }


def _rules_doc(sat, report: dict) -> dict:
    st = sat.rule_stats
    # Proven at load: every type instance of every template but the reassoc-only
    # ones (conditioned templates are proven for all constants they admit; egglog
    # then receives their instances for this program's constants: "loaded").
    reassoc_per: dict[str, int] = defaultdict(int)
    for r in sat.rules:
        reassoc_per[r.ruleset] += r.reassoc
    proven_per = {
        rs: counts[1] - reassoc_per.get(rs, 0) for rs, counts in (getattr(st, "rulesets", None) or {}).items()
    }
    # rules made for this program (idioms recognised by their values) are
    # proven as they are made: every one given to the e-graph
    from ..logic import idioms, loops

    proven_per[idioms.RULESET] = sum(r.ruleset == idioms.RULESET for r in sat.rules)
    # loop rules are proven by induction when they load (atlas/logic/loops.py)
    for r in sat.rules:
        if isinstance(r, loops.LoopRule):
            proven_per[r.ruleset] = proven_per.get(r.ruleset, 0) + 1
    matches = report["rule_matches"]
    ruleset_of = {r.name: r.ruleset for r in sat.rules}
    per_set = {}
    for rs in sorted({r.ruleset for r in sat.rules}):
        tpl_inst = (getattr(st, "rulesets", None) or {}).get(rs, [None, None])
        per_set[rs] = {
            "templates": tpl_inst[0],
            "instances": tpl_inst[1],
            "proven": proven_per.get(rs, 0),
            "loaded": report["rules_per_ruleset"].get(rs, 0),
            "matches": sum(v for k, v in matches.items() if ruleset_of.get(k) == rs),
        }
    return {
        "templates": getattr(st, "templates", None),
        "instances": len(sat.rules),
        "proven": sum(proven_per.values()),
        "reassoc_only": sum(1 for r in sat.rules if r.reassoc),
        "proven_now": getattr(st, "proven", None),
        "from_cache": getattr(st, "cached", None),
        "elapsed_s": round(getattr(st, "seconds", 0.0) or 0.0, 3),
        "prove_elapsed_s": round(getattr(st, "prove_seconds", 0.0) or 0.0, 3),
        "rulesets": per_set,
        "reassoc_skipped": report["reassoc_rules_skipped"],
        "matches": {k: matches[k] for k in sorted(matches)},
    }


def strip_volatile(doc):
    """The document without what changes from run to run (times, cache hits)."""
    if isinstance(doc, dict):
        return {k: strip_volatile(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [strip_volatile(v) for v in doc]
    return doc


def to_json(doc: dict) -> str:
    return json.dumps(doc, indent=1) + "\n"


# ---------------------------------------------------------------- text


class _Style:
    def __init__(self, color: bool):
        self.color = color

    def __call__(self, text: str, **kw) -> str:
        if not self.color:
            return text
        import click

        return click.style(text, **kw)


def _cut(text: str, full: bool, limit: int = MAX_TERM) -> str:
    """A long term with its middle elided: both ends say the most about it."""
    if full or len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head - 3
    return f"{text[:head]} … {text[-tail:]}"


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}es" if word.endswith(("ss", "ch")) else f"{n} {word}s"


def render_text(doc: dict, color: bool = False) -> str:
    s = _Style(color)
    out: list[str] = []
    _header_text(doc, s, out.append)
    _functions_text(doc, s, out.append)
    _shared_text(doc, s, out.append)
    _matches_text(doc, s, out.append)
    return "\n".join(out) + "\n"


def _header_text(doc: dict, s: _Style, w) -> None:
    """The files, the probe and its decisions, the atlas's figures and the rules'."""
    a, rl = doc["atlas"], doc["rules"]
    w(s("atlas explain", bold=True) + "  " + " ".join(doc["files"]))
    p = doc["probe"]
    costs = ", ".join(f"{op} costs {c}" for op, c in p["costs_changed"].items())
    w(
        _label(s, "probe")
        + f"{p['source']} ({p['arch']} {p['uarch']}, fingerprint {p['fingerprint']})"
        + (f"; {costs}" if costs else "")
    )
    for d in doc["decisions"]:
        w(_label(s, "decision") + f"{d['where']}: when {d['condition']} -> {d['taken']} branch")
    fns = doc["functions_in_order"]
    w(_label(s, "functions") + f"{len(fns)}: {', '.join(fns)}")
    for d in doc.get("devices", []):
        w(
            _label(s, "device") + f"{d['name']} ({d['pci']}): {d['registers']} registers, "
            f"{len(d['operations'])} operations, emitted as written (not in the atlas)"
        )
    _atlas_text(a, s, w)
    _rules_text(rl, s, w)


def _label(s: _Style, name: str) -> str:
    """A header line's name, in bold, in a column of its own."""
    return s(f"  {name:<11}", bold=True)


def _atlas_text(a: dict, s: _Style, w) -> None:
    """The atlas's size and compression, and how its saturation went."""
    w(
        _label(s, "atlas") + f"{_plural(a['roots'], 'root')}, {a['source_nodes']} source term nodes "
        f"({a['source_distinct_nodes']} distinct) -> {a['eclasses']} e-classes, {a['enodes']} e-nodes; "
        f"compression {a['compression']} (source nodes per e-class)"
    )
    lim = a["limits"]
    w(
        _label(s, "saturation")
        + f"{_plural(len(a['iterations']) - 1, 'iteration')}, stopped: "
        + s(a["stop_reason"], fg="yellow" if "limit" in a["stop_reason"] else "green")
        + f" (limits: {lim['nodes']} e-nodes, {lim['iterations']} iterations, {lim['seconds']:g} s"
        + (f", {lim['matches']} matches per rule and pass" if "matches" in lim else "")
        + ")"
        + (f" in {a['elapsed_s']:.2f} s" if "elapsed_s" in a else "")
    )
    sizes = [f"{it['iteration']}: {it['enodes']}/{it['eclasses']}" for it in a["iterations"]]
    w(" " * 13 + "e-nodes/e-classes per iteration  " + "  ".join(sizes))
    if "cost_model" in a:
        w(_label(s, "costs") + f"members weighed by {a['cost_model']}")


def _rules_text(rl: dict, s: _Style, w) -> None:
    """The rules: how many were proven and how, and per ruleset."""
    how = ""
    if rl.get("proven_now") is not None:
        if rl["proven_now"] == 0 and rl.get("from_cache"):
            how = f" (proofs from the cache, loaded in {rl.get('elapsed_s', 0):.2f} s)"
        else:
            how = f" by Z3 in {rl.get('prove_elapsed_s', 0):.2f} s" + (
                f" ({rl['from_cache']} from the cache)" if rl.get("from_cache") else ""
            )
    w(
        _label(s, "rules")
        + f"{rl['proven']} proven{how}"
        + (f" from {rl['templates']} templates" if rl.get("templates") is not None else "")
        + f"; {rl['instances']} given to the e-graph for these constants"
        + (f"; {rl['reassoc_only']} reassoc-only (not used)" if rl["reassoc_only"] else "")
    )
    for name, r in rl["rulesets"].items():
        w(
            " " * 13 + f"{name:<14} {r['proven']:>4} proven, {r['loaded']:>4} loaded, "
            f"{r['matches']:>6} {'match' if r['matches'] == 1 else 'matches'}"
        )


def _functions_text(doc: dict, s: _Style, w) -> None:
    """Each function: its evidence, its loops, where each root landed."""
    full = doc["show_all"]
    classes = {c["id"]: c for c in doc["classes"]}
    shown: set[str] = set()  # each class in detail once, later by its id

    w("")
    w(
        s("legend", bold=True) + "  member lines: cost, term in intent syntax, and [chosen] the extracted one, "
        "[source] as the intent wrote it"
    )
    w("        (its operands in their chosen form), [by R] rule R rewrites another member of the class into this one,")
    w("        [equals an operand by R] rule R puts it in the class of one of its own operands")
    for f in doc["functions"]:
        e = f["evidence"]
        w("")
        head = s(f"fn {f['name']}", bold=True) + f"  {f['where']}"
        if e:
            diff = e.get("differential") or {}
            head += (
                f"   {e.get('form', '?')}: {e.get('rewritten', 0)} of {_plural(e.get('roots', 0), 'root')} "
                f"rewritten, {e.get('proven', 0)} proven by Z3"
            )
            if e.get("loops_proven"):
                head += f" ({_plural(e['loops_proven'], 'whole loop')}, by induction)"
            if diff:
                verdict = VERDICT.get(diff.get("agree"), "?")
                head += f"; differential {diff.get('runs', 0)} runs " + (
                    verdict if diff.get("agree") else s(verdict, fg="red")
                )
        w(head)
        if "requires" in f:
            w(f"  requires {f['requires']}: what is proven holds where this does; calls that break it are refused")
        if "reading" in f:  # the front end's: before the atlas saw the function
            r, check = f["reading"], f["reading"]["validation"]
            kept = "read as a for loop" if r["kept"] else s("kept as written (its check failed)", fg="red")
            for where in r["loops"]:
                w(f"  while {where}: {kept}")
            w(f"    checked against the function as written: {check['proven']}; {check['tested']}")
        for lf in f["loops"]:
            w(f"  loop {lf['where']}: {s(lf['form'], fg='cyan')}")
        for lf in f.get("loop_forms", []):
            w(f"  loop form {s(lf['shape'], fg='cyan')}: {lf['what']}")
        v = e.get("validation") or {}
        if v:  # what was proven of this function, what tested, what neither
            w(f"  proven:  {v['proven']}")
            w(f"  tested:  {v['tested']}")
            w(f"  neither: {v['neither']}")
        elif e.get("proof"):
            w(f"  evidence: {e['proof']}")
        for r in f["roots"]:
            _root_text(r, classes, s, full, w, shown)


def _shared_text(doc: dict, s: _Style, w) -> None:
    full = doc["show_all"]
    sh = doc["shared"]
    w("")
    hidden = sh["count_with_leaves"] - sh["count"]
    w(
        s("shared across intents", bold=True)
        + f"  {_plural(sh['count'], 'class')} reached by several functions"
        + (f" ({hidden} leaf classes such as variables and constants not listed; --all lists them)" if hidden else "")
    )
    if not sh["count"]:
        w("  (none)")
    for x in sh["classes"]:
        w(
            f"  {s(format(x['class'], '<6'), fg='magenta')} {x['type']:<5} cost {x['cost']:<4} "
            f"{_cut(x['best'], full)}   <- {', '.join(x['functions'])}"
        )
    if len(sh["classes"]) < sh["count"]:
        w(f"  … {sh['count'] - len(sh['classes'])} more (--all)")
    structure = sh.get("by_structure", [])
    w(
        s("shared by structure", bold=True)
        + f"  {_plural(len(structure), 'pattern')} of up to a dozen nodes in several functions once names are set aside"
        + " (a report: over different variables they are different values, so not one class)"
    )
    for x in structure if full else structure[:MAX_SHARED]:
        w(f"  {x['pattern']}   <- {', '.join(x['intents'])}")
    if not full and len(structure) > MAX_SHARED:
        w(f"  … {len(structure) - MAX_SHARED} more (--all)")


def _matches_text(doc: dict, s: _Style, w) -> None:
    """The rules that fired, most matches first."""
    full, rl = doc["show_all"], doc["rules"]
    m = {k: v for k, v in rl["matches"].items() if v}
    top = sorted(m.items(), key=lambda kv: (-kv[1], kv[0]))
    w("")
    w(s("rule matches", bold=True) + f"  {_plural(len(top), 'rule')} matched, {sum(m.values())} matches in all")
    shown = top if full else top[:MAX_RULES]
    if shown:
        w("  " + ", ".join(f"{k} {v}" for k, v in shown) + ("" if len(shown) == len(top) else ", … (--all)"))


def _root_text(r: dict, classes: dict, s: _Style, full: bool, w, shown: set) -> None:
    c = classes[r["class"]]
    tag = s(r["class"], fg="magenta")
    if r["loop"] is not None:  # priced as it runs (costs.estimate)
        tag += f" ({cost_model.where_priced(frozenset(r['loop']))})"
    if r["rewritten"]:
        st = s(r["status"], fg="green" if r["status"].startswith("proven") else "red")
        w(f"  {s(r['role'], bold=True)}  {r['where']}  -> {tag}  rewritten, {st}")
        w(f"      source  {r['source_cost']:>5}  {_cut(r['source'], full)}")
        w(f"      chosen  {r['cost']:>5}  {_cut(r['chosen'], full)}")
    else:
        w(
            f"  {s(r['role'], bold=True)}  {r['where']}  -> {tag}  {r['status']}, cost {r['cost']}: "
            f"{_cut(r['chosen'], full)}"
        )
    again, more, listed = [], 0, 0
    own = [c["id"]] if c["member_count"] > 1 else []
    for k in own + r["inner_classes"]:
        if k in shown:
            again.append(k)
        elif full or k in own or listed < MAX_INNER:
            listed += k not in own
            shown.add(k)
            _class_text(classes[k], s, full, w)
        else:
            more += 1
    if again:
        w(f"      also {', '.join(again)} (shown above)")
    if more > 0:
        w(f"      … {_plural(more, 'more class')} with alternatives inside this root (--all)")


def _class_text(c: dict, s: _Style, full: bool, w) -> None:
    merged = ", ".join(f"{m['rule']} ({m['ruleset']})" for m in c["merged_by"])
    w(
        f"      {s('class ' + c['id'], fg='magenta')} {c['type']}, {_plural(c['member_count'], 'member')}"
        + (f"; merged by {merged}" if merged else "")
    )
    for m in c["members"]:
        notes = []
        if m.get("chosen"):
            notes.append(s("chosen", fg="green"))
        if m.get("source"):
            notes.append("source")
        if m.get("by"):
            notes.append("by " + ", ".join(m["by"]))
        if m.get("collapses_by"):
            notes.append("equals an operand by " + ", ".join(m["collapses_by"]))
        mark = s("*", fg="green") if m.get("chosen") else " "
        w(f"       {mark}{m['cost']:>5}  {_cut(m['term'], full)}" + (f"   [{'; '.join(notes)}]" if notes else ""))
    more = c["member_count"] - len(c["members"])
    if more > 0:
        w(f"              … {_plural(more, 'more member')} (--all)")


# ---------------------------------------------------------------- Graphviz


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(doc: dict) -> str:
    """The e-graph: one cluster per e-class (labelled with its id, type and
    chosen member), one box per e-node shown, edges from an e-node to its
    child classes; classes where a root lands are drawn bold and red."""
    full = doc["show_all"]
    out = [
        "digraph atlas {",
        "  compound=true;",
        "  rankdir=TB;",
        '  node [shape=box, fontname="monospace", fontsize=10];',
        '  graph [fontname="monospace", fontsize=10];',
    ]
    first: dict[str, str] = {}
    edges = []
    for c in doc["classes"]:
        cid = c["id"]
        is_root = bool(c["roots"])
        label = f"{cid} : {c['type']}   best {_cut(c['best'], full, MAX_TERM // 2)}   cost {c['cost']}"
        if c["member_count"] > len(c["members"]):
            label += f"   (+{c['member_count'] - len(c['members'])} more members)"
        out.append(f"  subgraph cluster_{cid} {{")
        out.append(f"    label={_dot_str(label)};")
        out.append(
            '    style="rounded,bold"; color=red; penwidth=2;' if is_root else "    style=rounded; color=gray50;"
        )
        for j, m in enumerate(c["members"]):
            node = f"{cid}_{j}"
            first.setdefault(cid, node)
            attrs = [
                f"label={_dot_str(m['op'])}",
                f"tooltip={_dot_str(_cut(m['term'], full) + '  cost ' + str(m['cost']))}",
            ]
            if m.get("chosen"):
                attrs.append("style=filled, fillcolor=palegreen")
            out.append(f"    {node} [{', '.join(attrs)}];")
            for k in m["kids"]:
                edges.append((node, cid, k))
        out.append("  }")
    for node, cid, k in edges:
        # an edge ends at the child cluster (lhead); a class may hold a node
        # over itself (x * 1 in the class of x): then a plain loop
        tail = "" if k == cid else f" [lhead=cluster_{k}]"
        out.append(f"  {node} -> {first[k]}{tail};")
    out.append("}")
    return "\n".join(out) + "\n"


RENDERERS = {
    "text": render_text,
    "json": lambda doc, color=False: to_json(doc),
    "dot": lambda doc, color=False: render_dot(doc),
}


class GraphvizError(Exception):
    """Graphviz is missing or failed; str() is the message."""


def render_graphviz(dot_text: str, output: str) -> None:
    """Render dot text to output (.svg, .png or .pdf) with Graphviz `dot`."""
    import shutil
    import subprocess

    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizError("Graphviz `dot` is not installed; write a .dot file instead")
    fmt = Path(output).suffix[1:]
    proc = subprocess.run([exe, f"-T{fmt}", "-o", output], input=dot_text, text=True, capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise GraphvizError(f"dot failed: {proc.stderr.strip()}")
