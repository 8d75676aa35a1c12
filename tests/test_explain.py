"""`atlas explain`: golden snapshots of the JSON document, the text a person
reads, the Graphviz output, and the rule attribution on a hand-made rule set.

Goldens (tests/golden/explain/):

    <stem>.json   one atlas per intent file, probe tests/fixtures/probe-popcnt.json
    all.json      every intent together: the project atlas

They hold the document less its volatile fields (times, proof-cache hits,
see atlas.tools.explain.VOLATILE).  After a deliberate change (to explain, the
rules, the cost model or the intents) rewrite them with

    python tests/test_explain.py --regen

and read `git diff tests/golden/explain` before keeping it.  The tests
themselves never rewrite anything.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "explain"
PROBE = "tests/fixtures/probe-popcnt.json"
NOPOPCNT = "tests/fixtures/probe-nopopcnt.json"
STEMS = sorted(p.stem for p in (ROOT / "intents").glob("*.ax"))


def _files(stem: str) -> list[str]:
    """Paths as the goldens spell them: relative to the repository root."""
    if stem == "all":
        return [f"intents/{s}.ax" for s in STEMS]
    return [f"intents/{stem}.ax"]


@functools.lru_cache(maxsize=None)
def document(stem: str, probe: str = PROBE, show_all: bool = False) -> dict:
    """The full document (volatile fields included), computed once per run."""
    from atlas.tools.explain import explain
    from atlas.machine.probe import load_probe

    cwd = os.getcwd()
    os.chdir(ROOT)  # locations name the files as they were given
    try:
        return explain(_files(stem), load_probe(probe), probe, show_all=show_all)
    finally:
        os.chdir(cwd)


def snapshot(stem: str) -> dict:
    from atlas.tools.explain import strip_volatile

    return strip_volatile(document(stem))


def regen() -> None:
    sys.path.insert(0, str(ROOT))
    from atlas.tools.explain import to_json

    GOLDEN.mkdir(parents=True, exist_ok=True)
    for stem in STEMS + ["all"]:
        path = GOLDEN / f"{stem}.json"
        path.write_text(to_json(snapshot(stem)))
        print(f"wrote {path.relative_to(ROOT)}")


def dot_problems(text: str) -> list[str]:
    """Why `text` is not a well-formed digraph as render_dot writes it: it
    starts with `digraph`, its braces balance (outside quoted strings), and
    every edge endpoint is a declared node."""
    problems = []
    if not text.startswith("digraph"):
        problems.append("does not start with `digraph`")
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)  # drop quoted labels
    depth = 0
    for ch in bare:
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            problems.append("a `}` closes nothing")
            break
    if depth:
        problems.append(f"{depth} unclosed `{{`")
    declared, edges = set(), []
    for stmt in re.split(r"[;{}\n]", bare):
        stmt = stmt.strip()
        edge = re.fullmatch(r"(\w+)\s*->\s*(\w+)(\s*\[.*\])?", stmt)
        node = re.fullmatch(r"(\w+)(\s*\[.*\])?", stmt)
        if edge:
            edges += edge.group(1, 2)
        elif node and node.group(1) not in ("node", "graph", "edge", "subgraph", "digraph"):
            declared.add(node.group(1))
    problems += [f"edge endpoint {e} is not declared" for e in edges if e not in declared]
    return problems


def _cli(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "atlas.tools.cli", "explain", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]:
        regen()
    else:
        sys.exit("usage: python tests/test_explain.py --regen   (rewrites tests/golden/explain/*.json)")
else:
    import pytest

    from atlas.meaning import ir
    from atlas.tools.explain import render_dot, render_text, to_json

    # -- goldens

    @pytest.mark.parametrize("stem", STEMS + ["all"])
    def test_golden(stem):
        path = GOLDEN / f"{stem}.json"
        assert path.exists(), f"no golden {path.relative_to(ROOT)}: run python tests/test_explain.py --regen"
        expected = json.loads(path.read_text())
        got = json.loads(to_json(snapshot(stem)))
        if got != expected:  # name the first difference, not two 100 kB blobs
            pytest.fail(
                f"{path.relative_to(ROOT)} differs at {_first_difference(expected, got)}; "
                "if the change is intended: python tests/test_explain.py --regen"
            )

    def test_every_golden_has_an_intent():
        orphans = [p.name for p in GOLDEN.glob("*.json") if p.stem not in STEMS + ["all"]]
        assert not orphans

    # -- what a person reads

    def test_popcount_without_popcnt_shows_the_merge():
        """Compiled for a machine without popcnt, the bit-slicing chain and
        popcount(...) sit in one class, and the rule that merged them is named."""
        doc = document("popcount_total", NOPOPCNT)
        text = render_text(doc)
        assert "popcount costs 12" in text  # the probe's effect on the cost model
        blocks = _class_blocks(text)
        merged = [b for b in blocks if "popcount(w[" in b and "0x101010101010101u64" in b]
        assert merged, "no class holds both popcount(...) and the bit-slicing chain"
        block = merged[0]
        rule = re.search(r"merged by [^\n]*(popcount-swar-u64) \(bits\)", block)
        assert rule, block
        # the chosen member is popcount (cheaper even at its fallback cost), made by that rule
        chosen = [ln for ln in block.splitlines() if "chosen" in ln]
        assert chosen and "popcount(w[" in chosen[0]
        assert re.search(r"\[chosen; by [^\]]*\bpopcount-swar-u64\b", chosen[0]), chosen[0]
        # and the root it sits under was rewritten and proven
        # (the class tag may say how the root is priced where it runs: in a loop carrying total)
        where = r"total +intents/popcount_total\.ax:\d+:\d+ +-> c\d+( \([^)]*\))? +rewritten, proven by Z3"
        assert re.search(where, text)

    def test_text_has_every_section():
        text = render_text(document("popcount_total", NOPOPCNT))
        for head in (
            "probe",
            "atlas",
            "saturation",
            "rules",
            "fn popcount_total",
            "loop ",
            "shared across intents",
            "rule matches",
        ):
            assert head in text
        assert "\x1b[" not in text  # no colour unless asked

    # -- the project atlas

    def test_project_atlas_shares_classes_between_functions():
        doc = document("all")
        shared = doc["shared"]["classes"]
        assert any(len(s["functions"]) >= 2 for s in shared)
        fns = set(doc["functions_in_order"])
        for s in shared:
            assert set(s["functions"]) <= fns and len(s["functions"]) >= 2
            assert not s["leaf"]  # leaves only with --all

    def test_compression_is_consistent():
        doc = document("all")
        a = doc["atlas"]
        assert a["compression"] == round(a["source_nodes"] / a["eclasses"], 3)
        assert a["eclasses"] == len(doc["classes"]) == a["iterations"][-1]["eclasses"]
        assert a["enodes"] == sum(c["member_count"] for c in doc["classes"]) == a["iterations"][-1]["enodes"]
        assert a["source_distinct_nodes"] <= a["source_nodes"]
        assert a["roots"] == sum(len(f["roots"]) for f in doc["functions"])
        # every class of a root's source term is numbered before anything the rules added
        ids = [int(c["id"][1:]) for c in doc["classes"]]
        assert ids == list(range(1, len(ids) + 1))

    def test_roots_and_evidence_agree():
        for stem in ("all",):
            for f in document(stem)["functions"]:
                ev = f["evidence"]
                assert ev["roots"] == len(f["roots"])
                assert ev["rewritten"] == sum(r["rewritten"] for r in f["roots"])
                proven = sum(r["status"] == "proven by Z3" for r in f["roots"])
                assert proven == ev["proven"]
                for r in f["roots"]:
                    assert (r["status"] == "unchanged") == (not r["rewritten"])
                    assert r["cost"] <= r["source_cost"]

    # -- graphviz

    def test_dot_is_a_digraph():
        assert dot_problems(render_dot(document("popcount_total", NOPOPCNT))) == []

    def test_dot_checker_catches_mistakes():
        assert dot_problems("graph g { a -> b; }")
        assert dot_problems("digraph g { a [label=x]; a -> b; }")
        assert dot_problems('digraph g { a [label="}"]; ')
        assert dot_problems('digraph g { a [label="{"]; a -> a; }') == []

    # -- the command

    def test_cli_dot():
        proc = _cli("intents/saxpy.ax", "--format", "dot")
        assert proc.returncode == 0, proc.stderr
        assert dot_problems(proc.stdout) == []
        assert "Traceback" not in proc.stderr

    def test_cli_missing_file():
        proc = _cli("intents/no_such_intent.ax", "--hw", PROBE)
        assert proc.returncode == 1
        assert proc.stdout == ""
        assert "intents/no_such_intent.ax" in proc.stderr and "cannot read" in proc.stderr
        assert "Traceback" not in proc.stderr

    def test_cli_bad_probe(tmp_path):
        bad = tmp_path / "probe.json"
        bad.write_text("{ not json")
        proc = _cli("intents/saxpy.ax", "--hw", str(bad))
        assert proc.returncode == 1
        assert str(bad) in proc.stderr and "Traceback" not in proc.stderr

    # -- attribution, on rules made here (independent of primitives/rules)

    def test_rule_attribution_by_e_matching(tmp_path):
        from atlas.tools.explain import explain
        from atlas.machine.probe import load_probe
        from atlas.logic.rules import Rule
        from atlas.meaning.terms import Term, const

        R = functools.partial(Rule, source="test")  # name, ruleset, ty, lhs, rhs

        U = ir.U32
        a, b = Term("var", U, (), "?a"), Term("var", U, (), "?b")
        rules = [
            R("mul2-shl", "bits", U, Term("mul", U, (a, const(2, U))), Term("shl", U, (a, const(1, U)))),
            R("add-zero", "algebra", U, Term("add", U, (a, const(0, U))), a),
            R("add-commutes", "algebra", U, Term("add", U, (a, b)), Term("add", U, (b, a))),
            R("never", "algebra", U, Term("sub", U, (a, a)), const(0, U)),
        ]
        src = tmp_path / "f.ax"
        src.write_text("fn f(x: u32, y: u32) -> u32 {\n    return (x * 2) + 0;\n}\n")
        doc = explain([src], load_probe(ROOT / PROBE), "fixture", rules=rules, show_all=True)
        by_best = {c["best"]: c for c in doc["classes"]}
        shl = by_best["(x << 1u32)"]
        members = {m["term"]: m for m in shl["members"]}
        assert members["(x << 1u32)"]["by"] == ["mul2-shl"] and members["(x << 1u32)"]["chosen"]
        assert members["(x * 2u32)"].get("source") and "by" not in members["(x * 2u32)"]
        # x*2 + 0 collapses into the class of x*2 by add-zero; 0 + x*2 comes from commuting
        plus = {m["term"]: m for m in shl["members"]}
        assert plus["((x << 1u32) + 0u32)"]["collapses_by"] == ["add-zero"]
        assert plus["(0u32 + (x << 1u32))"]["by"] == ["add-commutes"]
        assert {m["rule"] for m in shl["merged_by"]} == {"mul2-shl", "add-zero", "add-commutes"}
        # a rule that never matched is never named
        assert "never" not in json.dumps(doc["classes"])
        root = doc["functions"][0]["roots"][0]
        assert root["rewritten"] and root["status"] == "proven by Z3"
        assert root["chosen"] == "(x << 1u32)" and root["cost"] < root["source_cost"]


def _first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path} ({type(a).__name__} vs {type(b).__name__})"
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}.{k} (only in {'golden' if k in a else 'output'})"
            if a[k] != b[k]:
                return _first_difference(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path} (length {len(a)} vs {len(b)})"
    return f"{path}: {json.dumps(a)[:200]} vs {json.dumps(b)[:200]}"


def _class_blocks(text: str) -> list[str]:
    """The text of each class listing (its header and member lines)."""
    blocks, cur = [], None
    for line in text.splitlines():
        if re.match(r"^ {6}class c\d+ ", line):
            cur = [line]
            blocks.append(cur)
        elif cur is not None and re.match(r"^ {7}", line):
            cur.append(line)
        else:
            cur = None
    return ["\n".join(b) for b in blocks]


def test_each_loop_shows_its_proven_forms():
    """Beside the loop as written: the shapes that apply, each with what proves it."""
    forms = {f["name"]: [lf["shape"] for lf in f["loop_forms"]] for f in document("all")["functions"]}
    assert forms["inet_checksum"] == ["deferred-reduction", "inbounds"]
    assert forms["matmul"] == ["inbounds", "interchange", "unroll-jam"]
    assert forms["sum_f32"] == ["inbounds"]
    assert forms["scale"] == []  # no loop
    (inet,) = [f for f in document("all")["functions"] if f["name"] == "inet_checksum"]
    assert "ones-complement mod 65535" in inet["loop_forms"][0]["what"]
    assert "6 of 6 obligations proven by Z3" in inet["loop_forms"][0]["what"]
