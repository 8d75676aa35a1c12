"""The compile as data: the front end begins a Compilation, pipeline.STAGES
run in order over it, each where it applies; compile_files takes a
Request's fields."""

from __future__ import annotations

import pytest

import golden
from atlas import pipeline
from atlas.machine import backend
from atlas.machine.probe import load_probe
from atlas.meaning import ir

PROBE = load_probe(golden.FIXTURES / "probe-popcnt.json")
SRC = "fn f(x: u32) -> u32 { return x * 2 + x; }\n"


def _compilation(tmp_path, **request) -> pipeline.Compilation:
    src = tmp_path / "f.ax"
    src.write_text(SRC)
    req = pipeline.Request(learned=[], **request)
    return pipeline.begin([src], PROBE, req, backend.get(req.backend))


def test_the_stages_are_named_and_in_order():
    assert [s.name for s in pipeline.STAGES] == ["logic atlas", "explode"]


def test_a_stage_runs_only_where_it_applies(tmp_path):
    c = pipeline.run_stages(_compilation(tmp_path, use_atlas=False))
    assert c.verified is None and c.final == c.specialised and c.evidence == {}
    assert {"parse", "check", "specialise"} <= set(c.timings) and "saturate" not in c.timings
    c = pipeline.run_stages(_compilation(tmp_path))
    assert c.verified is not None and "verify" in c.timings and set(c.evidence) == {"f"}


def test_a_stage_added_to_the_list_sees_what_the_others_left(tmp_path):
    seen = []

    def count_functions(c: pipeline.Compilation) -> None:
        seen.append([f.name for f in c.final.functions])

    stages = pipeline.STAGES + (pipeline.Stage("count", count_functions),)
    c = pipeline.run_stages(_compilation(tmp_path), stages)
    assert seen == [["f"]] and isinstance(c.final, ir.Module)


def test_compile_files_takes_only_a_requests_fields(tmp_path):
    src = tmp_path / "f.ax"
    src.write_text(SRC)
    with pytest.raises(TypeError, match="use_atlass"):
        pipeline.compile_files([src], PROBE, tmp_path / "out", use_atlass=False)
    assert not (tmp_path / "out").exists()
