"""Per ruleset: saturating every intent with that ruleset alone and taking
the cheapest member of every class - without the Z3 check of `verify` -
preserves the interpreter's results on random inputs.  This tests the
e-graph and the rules end to end, independently of the prover."""

import pytest

import golden
from atlas.logic import differential, egraph, lower
from atlas.pipeline import front
from atlas.machine.probe import load_probe
from atlas.logic.rules import for_terms, load_rules
from atlas.logic.costs import costs as static_costs

RULES = load_rules()
RULESETS = sorted({r.ruleset for r in RULES})
INTENTS = sorted((golden.ROOT / "intents").glob("*.ax"))


@pytest.fixture(scope="module")
def project():
    _, module, _ = front(INTENTS, load_probe(golden.FIXTURES / "probe-nopopcnt.json"))
    return module


@pytest.mark.parametrize("ruleset", RULESETS)
def test_extraction_preserves_results(project, ruleset):
    _, roots = lower.transform(project)
    # conditioned rules take part as their instances for the program's constants
    rules = [r for r in for_terms(RULES, [r.term for r in roots]) if r.ruleset == ruleset and not r.reassoc]
    atlas = egraph.saturate(
        {r.name: (r.function, r.term) for r in roots},
        rules,
        costs=static_costs(load_probe(golden.FIXTURES / "probe-nopopcnt.json")),
    )
    extracted, _ = lower.transform(project, lambda r: atlas.extract(r.name))
    changed = sum(atlas.extract(r.name) != r.term for r in roots)
    for fn in project.functions:
        diff = differential.run_both(project, extracted, fn, seed=7)
        assert diff.agree, (ruleset, fn.name)
        assert diff.runs > 0, fn.name
    assert atlas.stop_reason == "saturated" or atlas.stop_reason.endswith("limit")
    if ruleset in ("algebra", "bits"):
        assert changed > 0  # these rulesets do change some of the intents' terms


def test_every_ruleset_is_tested():
    assert set(RULESETS) == {"algebra", "bits", "select", "strength"}
