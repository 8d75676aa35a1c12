"""A backend may layer rules of its own over the shared ones; they are
proven like every rule before the e-graph sees them."""
import pytest

from atlas.check import check
from atlas.pipeline import middle
from atlas.rules import UnsoundRule
from atlas.specialise import specialise
from atlas.syntax import parse

PROBE = {"cpu": {"arch": "x86_64", "features": ["popcnt"], "cores": 1, "threads": 1, "cache": {}},
         "gpus": [], "pci": []}
SRC = "fn f(x: u32) -> u32 { return x * 6; }"


def module():
    return specialise(check(parse(SRC, "t.ax")), PROBE)[0]


def write(tmp_path, rhs):
    p = tmp_path / "mine.yaml"
    p.write_text(f"ruleset: mine\nrules:\n  - name: mul-6-layered\n    lhs: x * 6\n    rhs: {rhs}\n"
                 "    types: [u32]\n")
    return p


def test_layered_rules_join_the_shared_ones(tmp_path):
    verified, account = middle(module(), PROBE, rule_paths=[write(tmp_path, "(x << 2) + (x << 1)")])
    assert "mine" in account["rules"]["per_ruleset"]
    assert "algebra" in account["rules"]["per_ruleset"]
    assert verified.evidence["f"]["form"] in ("rewritten", "source")


def test_an_unsound_layered_rule_is_refused(tmp_path):
    with pytest.raises(UnsoundRule, match="mine.yaml:3: rule 'mul-6-layered' is unsound for u32: with x = "):
        middle(module(), PROBE, rule_paths=[write(tmp_path, "(x << 2) + x")])
