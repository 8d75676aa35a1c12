"""A backend may layer rules of its own over the shared ones; they are
proven like every rule before the e-graph sees them."""

from importlib.metadata import EntryPoint
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from atlas.machine import backend
from atlas.front.check import check
from atlas.tools.cli import main
from atlas.pipeline import middle, rule_files
from atlas.logic.rules import UnsoundRule
from atlas.front.specialise import specialise
from atlas.front.syntax import parse
from atlas.backends.x86_64 import X86Backend
from atlas.machine.probe import Cpu, Probe

PROBE = Probe(cpu=Cpu(arch="x86_64", features=("popcnt",), cores=1, threads=1))
SRC = "fn f(x: u32) -> u32 { return x * 6; }"


def module():
    return specialise(check(parse(SRC, "t.ax")), PROBE)[0]


def layered(path):
    """The rule files compile loads for a backend that declares `path`."""
    return rule_files(SimpleNamespace(rule_paths=(path,)))


def write(tmp_path, rhs):
    p = tmp_path / "mine.yaml"
    p.write_text(f"ruleset: mine\nrules:\n  - name: mul-6-layered\n    lhs: x * 6\n    rhs: {rhs}\n    types: [u32]\n")
    return p


def test_layered_rules_join_the_shared_ones(tmp_path):
    verified, account = middle(module(), PROBE, rule_paths=layered(write(tmp_path, "(x << 2) + (x << 1)")))
    assert "mine" in account["rules"]["per_ruleset"]
    assert "algebra" in account["rules"]["per_ruleset"]
    assert verified.evidence["f"].form.value in ("rewritten", "source")


def test_an_unsound_layered_rule_is_refused(tmp_path):
    with pytest.raises(UnsoundRule, match="mine.yaml:3: rule 'mul-6-layered' is unsound for u32: with x = "):
        middle(module(), PROBE, rule_paths=layered(write(tmp_path, "(x << 2) + x")))


class Layered(X86Backend):
    """A backend that layers a rule of its own (set by the test)."""

    name = "layered"
    rule_paths: tuple = ()


def test_explain_shows_the_atlas_the_backend_compiles_with(monkeypatch, tmp_path):
    monkeypatch.setattr(Layered, "rule_paths", (write(tmp_path, "(x << 2) + (x << 1)"),))
    eps = [
        EntryPoint("layered", f"{__name__}:Layered", backend.GROUP),
        EntryPoint("x86_64", "atlas.backends.x86_64:X86Backend", backend.GROUP),
    ]
    monkeypatch.setattr(backend, "entry_points", lambda group: eps if group == backend.GROUP else [])
    src = tmp_path / "t.ax"
    src.write_text(SRC)
    hw = str(Path(__file__).parent / "fixtures" / "probe-nopopcnt.json")
    args = ["explain", str(src), "--hw", hw, "--format", "json", "--no-learned"]
    layered = CliRunner().invoke(main, args + ["--backend", "layered"])
    plain = CliRunner().invoke(main, args)
    assert layered.exit_code == 0 and plain.exit_code == 0, layered.output + plain.output
    assert "mul-6-layered" in layered.output and "mul-6-layered" not in plain.output


class Dumps(X86Backend):
    """A backend with a dump stage of its own."""

    name = "dumps"
    dump_stages = X86Backend.dump_stages + ("mine",)


def test_dump_stages_are_the_pipelines_and_the_backends(monkeypatch, tmp_path):
    eps = [
        EntryPoint("dumps", f"{__name__}:Dumps", backend.GROUP),
        EntryPoint("x86_64", "atlas.backends.x86_64:X86Backend", backend.GROUP),
    ]
    monkeypatch.setattr(backend, "entry_points", lambda group: eps if group == backend.GROUP else [])
    src = tmp_path / "t.ax"
    src.write_text(SRC)
    hw = str(Path(__file__).parent / "fixtures" / "probe-nopopcnt.json")
    args = ["compile", str(src), "--hw", hw, "--no-search", "--dump", "mine", "-o", str(tmp_path / "o")]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1 and "unknown stage 'mine'" in refused.output
    assert "ptx" not in refused.output and "asm" in refused.output and "explode" in refused.output
    accepted = CliRunner().invoke(main, args + ["--backend", "dumps"])
    assert accepted.exit_code == 0, accepted.output
