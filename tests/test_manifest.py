"""The manifest as typed data: what the pipeline writes reads back whole,
each function's evidence and search are typed, and a damaged manifest is
refused with where it is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atlas.logic import verdict
from atlas.machine import runtime
from atlas.machine.manifest import (
    DamagedManifest,
    Evidence,
    Form,
    FunctionEntry,
    Manifest,
    Origin,
    SearchSummary,
    Status,
)
from atlas.machine.probe import load_probe, probe as probe_this
from atlas.pipeline import compile_files
from atlas.search import explode

ROOT = Path(__file__).resolve().parents[1]
POPCNT = load_probe(ROOT / "tests" / "fixtures" / "probe-popcnt.json")

REWRITTEN = """
fn halves(n: u64, x: [u32; n], out: mut [u32; n]) {
    for i in 0..n { out[i] = x[i] / 2u32 + x[i] * 4u32; }
}
fn scale(a: u32) -> u32 { return a * 8u32; }
"""


def _disk(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


@pytest.mark.parametrize("how", [dict(), dict(use_atlas=False)], ids=["atlas", "no atlas"])
def test_what_the_pipeline_writes_reads_back_whole(tmp_path, how):
    src = tmp_path / "k.ax"
    src.write_text(REWRITTEN)
    compiled = compile_files([src], POPCNT, tmp_path / "out", learned=[], **how)
    on_disk = _disk(tmp_path / "out")
    again = Manifest.read(tmp_path / "out")
    assert again.to_json() == on_disk == compiled.manifest.to_json()
    assert set(again.functions) == {"halves", "scale"}
    ev = again.functions["scale"].evidence
    if how:
        assert ev == Evidence.untouched() and ev.terms is None
    else:  # a * 8 -> a << 3: proven, rewritten
        assert ev.form is Form.REWRITTEN and ev.terms.rewritten == ev.terms.proven == 1
        assert ev.check.validated and ev.check.proof.status is Status.PROVEN


def test_a_pinned_search_is_typed_in_the_manifest(tmp_path):
    src = tmp_path / "k.ax"
    src.write_text(REWRITTEN)
    opts = explode.Options(fixed={"halves": explode.pinned("inbounds")}, only_fixed=True, reuse=False)
    compile_files([src], probe_this(), tmp_path / "out", learned=[], search=opts)
    entry = Manifest.read(tmp_path / "out").functions["halves"]
    assert entry.search.origin is Origin.PINNED and "inbounds" in entry.search.genome
    assert entry.evidence.form in (Form.SEARCHED, Form.REWRITTEN, Form.SOURCE)
    if entry.evidence.form is Form.SEARCHED:
        assert entry.evidence.check.validated and entry.search.emitted
    assert entry.evidence.shape is not None and entry.evidence.atlas_forms is not None


def test_the_search_summary_keeps_the_archive_keys():
    s = SearchSummary("plain", Origin.ARCHIVE, stop="time limit", evaluations=3, speedup=1.5)
    data = s.to_json()
    assert data["from_archive"] is True and "fixed" not in data
    assert SearchSummary.from_json(data, "x") == s
    pinned = SearchSummary("tier64", Origin.PINNED, emitted=False)
    assert pinned.to_json() == {"genome": "tier64", "fixed": True, "emitted": False}
    assert SearchSummary.from_json(pinned.to_json(), "x") == pinned


def test_one_proof_status_for_the_prover_and_the_manifest():
    assert verdict.Status is Status


@pytest.mark.parametrize(
    "damage, said",
    [
        (lambda m: m["functions"]["scale"]["evidence"].update(form="polished"), "'polished' is not one of"),
        (
            lambda m: m["functions"]["scale"]["evidence"]["validation"]["proof"].update(status="maybe"),
            "evidence.validation.proof.status",
        ),
        (lambda m: m["functions"]["scale"].update(counters="entry"), "'counters' is 'entry', not list"),
        (lambda m: m["functions"]["scale"].update(params=[{"name": "a", "type": "u33"}]), "no scalar type"),
        (lambda m: m.update(cpu_flags="sse2"), "'cpu_flags' is 'sse2', not list"),
        (lambda m: m["functions"].update(scale=[1]), "expected a JSON object"),
    ],
)
def test_a_damaged_manifest_says_where(tmp_path, damage, said):
    src = tmp_path / "k.ax"
    src.write_text(REWRITTEN)
    out = tmp_path / "out"
    compile_files([src], POPCNT, out, learned=[])
    data = _disk(out)
    damage(data)
    (out / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(DamagedManifest) as exc:
        Manifest.read(out)
    assert said in str(exc.value) and "manifest.json" in str(exc.value) and "recompile" in str(exc.value)
    with pytest.raises(ValueError, match="recompile"):
        runtime.load(out, check_cpu=False)


def test_an_entry_keeps_the_backends_own_fields():
    data = {
        "signature": "fn f(a: u8) -> u8",
        "params": [{"name": "a", "type": "u8"}],
        "ret": "u8",
        "reassoc": False,
        "symbol": "f_sym",
        "counters": ["entry"],
        "gpu": None,
        "gpu_why_not": "no loop",
    }
    e = FunctionEntry.from_json("f", data, "m")
    assert e.symbol == "f_sym" and e.counters == ("entry",) and e.target == {"gpu": None, "gpu_why_not": "no loop"}
    assert e.function.params[0].name == "a" and e.function.ret.name == "u8"
    assert e.to_json() == data
