"""The search wired into the compiler: measured in workers, archived,
reused, profile-driven, and speculative tiers that count their fallbacks."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from atlas.meaning import interp, ir
from atlas.machine import probe as hwprobe
from atlas.machine.backend import get as get_backend
from atlas.machine.manifest import Origin
from atlas.tools.cli import main
from atlas.pipeline import compile_files, front, middle
from atlas.search.archive import intent_hash
from atlas.search.explode import Evaluation, Genome, Options, Search, Space, Target, pinned
from atlas.search.worker import Measured

ROOT = Path(__file__).resolve().parent.parent
INTENTS = ROOT / "intents"
FIXTURE = hwprobe.load_probe(ROOT / "tests/fixtures/probe-popcnt.json")
needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler to link")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ATLAS_ARCHIVE", str(tmp_path / "archive.sqlite3"))


@pytest.fixture(scope="module")
def here():
    return hwprobe.probe()


def _search(path, probe, options, name):
    module, specialised, _ = front([path], probe)
    verified, _ = middle(specialised, probe)
    target = Target(
        specialised,
        verified.module,
        verified.roots,
        verified.proven(),
        probe,
        get_backend("x86_64"),
        intent_hash(module),
        hwprobe.fingerprint(probe),
        verified.alternatives,
    )
    return Search(target, name, options)


def _profile(tmp_path, name, text):
    from atlas.search.profile import load_profile

    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    return load_profile(p)


HOT = """function: tiered
sizes: [1500]
arrays:
  x: {mix: [{weight: 90, uniform: [21, 1000]}, {weight: 8, uniform: [11, 20]}, {weight: 2, uniform: [-1000, 10]}]}
"""
COLD = HOT.replace("weight: 90, uniform: [21, 1000]", "weight: 2, uniform: [21, 1000]").replace(
    "weight: 2, uniform: [-1000, 10]", "weight: 90, uniform: [-1000, 10]"
)


def work_done(search: Search):
    """A deterministic fitness for tests: the expressions the interpreter
    evaluates running the candidate on the profile (timings are for the
    benchmark, not for tests)."""

    def measure(g: Genome) -> Evaluation:
        made = search.candidates.shape(g.forms, g.shape)
        if made is None:
            return Evaluation(g, Measured.INAPPLICABLE)
        module = ir.Module((made[0],), ())
        count = [0]
        original = interp._Frame.expr

        def counting(frame, e):
            count[0] += 1
            return original(frame, e)

        interp._Frame.expr = counting
        try:
            for args in search.inputs:
                interp.run(module, search.fn_name, *[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        finally:
            interp._Frame.expr = original
        # the knobs do not change the work; a tiny tie-break keeps the default's
        return Evaluation(g, Measured.OK, times=[count[0] * (1 + 1e-6 * sum(map(bool, g.as_dict().values())))])

    return measure


def champion(tmp_path, profile_text):
    prof = _profile(tmp_path, "tiered", profile_text)
    s = _search(INTENTS / "tiered.ax", FIXTURE, Options(profiles={"tiered": prof}, max_evals=40, plateau=4), "tiered")
    try:
        s.measure = work_done(s)
        best, _ = s.run()
        return best, s
    finally:
        s.close()


def test_a_different_profile_gives_a_different_champion(tmp_path):
    hot, s1 = champion(tmp_path, HOT)
    cold, s2 = champion(tmp_path, COLD)
    assert "hot-path" in s1.space.shapes and "tier64" in s1.space.shapes
    f_hot = s1.candidates.shape(hot.genome.forms, hot.genome.shape)[0]
    f_cold = s2.candidates.shape(cold.genome.forms, cold.genome.shape)[0]
    assert f_hot != f_cold
    text_hot, text_cold = ir.pretty_function(f_hot), ir.pretty_function(f_cold)
    # the hot profile's champion tests x[i] > 20 first; the cold one's does not
    assert hot.genome.shape == "hot-path" and "x[i] > 20" in text_hot
    assert "x[i] > 20" not in text_cold
    assert hot.fitness < 1.0


def test_hot_path_first_is_proven_and_tested_once(tmp_path):
    hot, s = champion(tmp_path, HOT)
    fn, evidence = s.candidates.shape(hot.genome.forms, "hot-path")
    assert evidence["shape"] == "hoist" and "z3" in evidence["proof"].lower()
    loop = fn.body[0]
    assert isinstance(loop, ir.For)
    first = loop.body[0]
    assert isinstance(first, ir.If) and ir.pretty_expr(first.cond) == "(x[i] > 20i32)"
    assert not any(isinstance(st, ir.If) for st in first.then)  # the hot path runs straight through


@needs_cc
def test_second_compile_hits_the_archive(tmp_path, here, monkeypatch):
    opts = dict(max_evals=3, budget_s=30, generated_size=512)
    first = compile_files([INTENTS / "saxpy.ax"], here, tmp_path / "a", search=Options(**opts))
    found = first.manifest.functions["saxpy"].search
    assert found.origin is Origin.SEARCHED and found.evaluations == 3

    import atlas.search.worker

    def no_measuring(*a, **k):
        raise AssertionError("an unchanged recompile must not measure anything")

    monkeypatch.setattr(atlas.search.worker, "measure", no_measuring)
    again = compile_files([INTENTS / "saxpy.ax"], here, tmp_path / "b", search=Options(**opts))
    found2 = again.manifest.functions["saxpy"].search
    assert found2.origin is Origin.ARCHIVE
    assert found2.genome == found.genome
    # the champion's timings by input size, kept through the archive (what a market plans on)
    assert len(found.sizes) == len(found.inputs) == len(found.median_ns) and 512 in found.sizes
    assert [f"arrays of {n} elements" in d for n, d in zip(found.sizes, found.inputs)] == [True] * len(found.sizes)
    assert (found2.sizes, found2.median_ns) == (found.sizes, found.median_ns)
    # the emitted library carries none of the bookkeeping
    lib = (tmp_path / "b" / again.manifest.library).read_bytes()
    assert b"archive" not in lib and b"sqlite" not in lib.lower()
    # `atlas variants` shows what was tried
    result = CliRunner().invoke(main, ["variants", str(INTENTS / "saxpy.ax")])
    assert result.exit_code == 0, result.output
    assert "saxpy: 3 variants" in result.output


class _Saboteur:
    """The x86_64 backend, except that two knob settings produce a library
    whose function crashes (vector width 4) or never returns (width 8)."""

    name = "x86_64"

    def __init__(self):
        self.real = get_backend("x86_64")

    def emit(self, module, probe, outdir, realise=None):
        import subprocess

        emitted = self.real.emit(module, probe, outdir, realise)
        width = next(iter((realise or {}).values())).vector_width if realise else 0
        if width in (4, 8):
            body = "*(volatile int *)0 = 1;" if width == 4 else "for (;;) {}"
            src = Path(outdir) / "bad.c"
            src.write_text(
                f"#include <stdint.h>\nvoid saxpy(uint64_t n, float a, const float *x, float *y) {{ {body} }}\n"
            )
            subprocess.run(
                ["cc", "-O1", "-shared", "-fPIC", "-o", str(Path(outdir) / emitted.manifest["library"]), str(src)],
                check=True,
            )
        return emitted


@needs_cc
def test_a_candidate_that_crashes_or_hangs_costs_only_itself(tmp_path, here):
    s = _search(INTENTS / "saxpy.ax", here, Options(max_evals=3, timeout_s=3, generated_size=256), "saxpy")
    try:
        s.backend = _Saboteur()
        forms = s.candidates.default_forms()  # held as they are: only the width varies
        s._space = Space(
            roots=s.candidates.roots,
            choices=tuple((k,) for k in forms),
            defaults=forms,
            vector_width=(0, 4, 8),
            interleave=(0,),
            unroll=(0,),
            prefer_width_bits=(0,),
        )
        best, how = s.run()
        statuses = {g.vector_width: e.status.value for g, e in s.evaluated.items()}
    finally:
        s.close()
    assert statuses == {0: "ok", 4: "crashed", 8: "timeout"}
    assert best.status is Measured.OK and best.genome.vector_width == 0


@needs_cc
def test_a_speculative_tier_counts_its_fallbacks_and_feedback_steers_the_next_search(tmp_path, here):
    tier = pinned("tier64")
    prof = _profile(tmp_path, "tiered", HOT.replace("sizes: [1500]", "sizes: [4096]"))
    out = tmp_path / "tier"
    compiled = compile_files(
        [INTENTS / "tiered.ax"], here, out, search=Options(profiles={"tiered": prof}, fixed={"tiered": tier})
    )
    shape = compiled.manifest.functions["tiered"].evidence.shape
    assert shape["shape"] == "tier" and shape["block"] == 64

    from atlas.machine.runtime import load

    lib = load(out)
    n = 64 * 100
    hot = np.random.default_rng(0).integers(21, 1000, n, dtype=np.int32)
    want = np.empty(n, np.int32)
    interp.run(front([INTENTS / "tiered.ax"], FIXTURE)[1], "tiered", n, hot, want)
    got = np.zeros(n, np.int32)
    lib.tiered(n, hot, got)
    assert np.array_equal(got, want)
    assert lib.counters()["tiered"] == {"blocks": 100, "fallbacks": 0}

    # production data is not the profile: one element in ten is cold
    feedback = tmp_path / "feedback.json"
    data = hot.copy()
    data[::10] = -7
    np.save(tmp_path / "data.npy", data)
    lib.reset_counters()
    result = CliRunner().invoke(
        main, ["run", str(out), "tiered", str(n), f"@{tmp_path / 'data.npy'}", "zeros", "--feedback", str(feedback)]
    )
    assert result.exit_code == 0, result.output
    counts = json.loads(feedback.read_text())["functions"]["tiered"]
    assert counts["blocks"] == 100 and counts["fallbacks"] == 100 and counts["block"] == 64

    # the next search is told: no tier whose blocks would mostly fall back is offered
    from atlas.tools.cli import _read_feedback

    s = _search(
        INTENTS / "tiered.ax", FIXTURE, Options(profiles={"tiered": prof}, feedback=_read_feedback(feedback)), "tiered"
    )
    try:
        offered = s.space.shapes
        notes = s.candidates.notes
    finally:
        s.close()
    assert not any(name.startswith("tier") for name in offered)
    assert "hot-path" in offered
    assert any("feedback shows 100 fallbacks in 100 blocks of 64" in note for note in notes)


def test_bad_search_options_are_clear_errors(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["compile", str(INTENTS / "tiered.ax"), "--pin", "tiered=bogus", "-o", str(tmp_path / "o")])
    assert r.exit_code == 1 and "unknown shape 'bogus'" in r.output and "Traceback" not in r.output
    r = runner.invoke(
        main, ["compile", str(INTENTS / "tiered.ax"), "--pin", "nope=plain", "--no-search", "-o", str(tmp_path / "o")]
    )
    assert r.exit_code == 1 and "--pin names no function of these files: nope" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("function: tiered\nsizes: [8]\narrays:\n  x: {uniform: [1, 2, 3]}\n")
    r = runner.invoke(main, ["compile", str(INTENTS / "tiered.ax"), "--profile", str(bad), "-o", str(tmp_path / "o")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert f"{bad}:4:" in r.output and "^" in r.output
    fb = tmp_path / "fb.json"
    fb.write_text("{not json")
    r = runner.invoke(main, ["compile", str(INTENTS / "tiered.ax"), "--feedback", str(fb), "-o", str(tmp_path / "o")])
    assert r.exit_code == 1 and f"{fb}:1:2: not JSON" in r.output
    assert not (tmp_path / "o").exists()  # nothing half-written


class _Clock:
    """A clock the tests move: the budget's arithmetic without waiting."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class _Timed:
    """Stands for a Search in explode._shares: timing its default costs
    `cost` seconds of the fake clock and gives `ns`."""

    def __init__(self, name, ns, cost, clock):
        self.fn_name, self.ns, self.cost, self.clock = name, ns, cost, clock

    def default_ns(self, until):
        self.until = until
        self.clock.now += self.cost
        return self.ns


def test_the_budget_is_shared_by_what_each_function_has_to_gain(monkeypatch):
    import atlas.search.explode as X

    clock = _Clock()
    monkeypatch.setattr(X.time, "monotonic", clock)
    small, big, broken = (
        _Timed("small", 1_000.0, 1.0, clock),
        _Timed("big", 9_000.0, 1.0, clock),
        _Timed("broken", None, 1.0, clock),
    )
    start = clock.now
    deadlines = []
    for s, until in X._shares([big, small, broken], clock.now + 60.0):
        deadlines.append((s.fn_name, until - clock.now))
        clock.now = until  # each search spends its whole share
    # each default within an equal share of what was left
    assert big.until - start == pytest.approx(20.0) and small.until - (start + 1) == pytest.approx(59.0 / 2)
    # the least first; shares in proportion (a tenth of the largest at least); nothing past the budget
    assert [n for n, _ in deadlines] == ["broken", "small", "big"]
    shares = dict(deadlines)
    assert shares["broken"] == pytest.approx(57.0 * 900 / 10_900)
    assert shares["big"] == pytest.approx(9 * shares["small"])
    assert clock.now == pytest.approx(start + 60.0)


@needs_cc
def test_a_candidate_in_flight_at_the_deadline_is_cut_off(tmp_path, here, monkeypatch):
    import atlas.search.explode as X
    import atlas.search.worker as W

    asked = []

    def slow(out, fn, args, repeats, timeout_s, cpu=None):
        asked.append(timeout_s)
        return W.Measurement(Measured.TIMEOUT, f"no answer within {timeout_s:g} s; killed")

    monkeypatch.setattr(W, "measure", slow)
    s = _search(INTENTS / "saxpy.ax", here, Options(generated_size=64, timeout_s=20), "saxpy")
    try:
        s.until = X.time.monotonic() + 3
        e = s._measure(s.space.default())
        assert e.status is Measured.TIMEOUT and e.cut_off and asked and asked[0] <= 3
        s.until = X.time.monotonic() - 1  # no time left: nothing is run
        assert s._measure(s.space.default()).cut_off and len(asked) == 1
        # a cut-off candidate is neither archived nor taken for its variant
        s._record(e)
        assert not s.by_hash
    finally:
        s.close()


@needs_cc
def test_a_compile_measures_nothing_unless_asked_and_takes_what_the_archive_holds(tmp_path, monkeypatch):
    import json as _json
    import atlas.search.worker

    monkeypatch.setenv("ATLAS_ARCHIVE", str(tmp_path / "archive.sqlite3"))
    runner = CliRunner()
    calls = []
    real = atlas.search.worker.measure

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(atlas.search.worker, "measure", counted)
    src = str(INTENTS / "saxpy.ax")
    r = runner.invoke(main, ["compile", src, "-o", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    assert "not searched: saxpy" in r.output and "--search" in r.output and not calls
    # the stages line accounts for the whole compile
    assert re.search(r"stages: probe \d+ ms .* rules \d+ ms .* other \d+ ms  \(wall \d+\.\d s\)", r.output)
    assert "search" not in _json.loads((tmp_path / "a" / "manifest.json").read_text())["functions"]["saxpy"]
    r = runner.invoke(main, ["compile", src, "--budget", "5", "--evals", "2", "-o", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    assert calls and "not searched" not in r.output
    crowned = _json.loads((tmp_path / "b" / "manifest.json").read_text())["functions"]["saxpy"]["search"]
    calls.clear()
    r = runner.invoke(main, ["compile", src, "-o", str(tmp_path / "c")])  # the champion, unmeasured
    assert r.exit_code == 0, r.output
    again = _json.loads((tmp_path / "c" / "manifest.json").read_text())["functions"]["saxpy"]["search"]
    assert not calls and again["from_archive"] and again["genome"] == crowned["genome"]
    assert "champion from the archive" in r.output and "not searched" not in r.output
    # for another machine's probe there is nothing to time here, and nothing to suggest
    fixture = str(Path(__file__).parent / "fixtures" / "probe-popcnt.json")
    r = runner.invoke(main, ["compile", src, "--hw", fixture, "-o", str(tmp_path / "d")])
    assert r.exit_code == 0 and "not searched" not in r.output and not calls


@needs_cc
def test_a_search_left_no_time_crowns_nothing(tmp_path, here, monkeypatch):
    import atlas.search.explode as X
    from atlas.search.archive import Archive

    archive = tmp_path / "a.sqlite3"
    s = _search(INTENTS / "saxpy.ax", here, Options(generated_size=64, archive_path=str(archive)), "saxpy")
    try:
        out = X._searched(s, until=X.time.monotonic() - 1)
    finally:
        s.close()
    assert out.summary.stop.startswith("no time left") and out.genome == s.space.default()
    with Archive(archive) as a:
        assert a.champion(s.intent, s.machine, "saxpy", s.context) is None


@needs_cc
def test_the_next_candidate_is_compiled_while_this_one_is_timed(here, monkeypatch):
    """With two cores: each candidate is compiled once, on the build thread,
    the one after it started before it is timed; the timing worker is pinned
    to the core the build thread keeps off."""
    import os
    import threading

    import atlas.search.worker as W

    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: candidates are compiled and timed in turn")
    monkeypatch.delenv("ATLAS_SEARCH_THREADS")  # the suite turns it off for every other test
    events: list[tuple[str, str]] = []
    real = W.measure

    def timed(out, fn, args, repeats, timeout_s, cpu=None):
        events.append(("time", Path(out).name))
        assert cpu == max(os.sched_getaffinity(0))
        return real(out, fn, args, repeats=1, timeout_s=timeout_s, cpu=cpu)

    monkeypatch.setattr(W, "measure", timed)
    s = _search(INTENTS / "saxpy.ax", here, Options(generated_size=64, repeats=1), "saxpy")
    emit = s.backend.emit

    def counted(module, probe, out, realise):
        events.append(("build", Path(out).name, threading.current_thread().name))
        return emit(module, probe, out, realise)

    monkeypatch.setattr(s.backend, "emit", counted)
    try:
        import random

        from atlas.search.explode import mutate

        rng = random.Random(1)
        first = s.space.default()
        second = next(g for g in (mutate(first, s.space, rng, rate=0.9) for _ in range(100)) if g != first)
        s.prefetch(second)
        assert s._measure(first).status is Measured.OK
        assert s._measure(second).status in (Measured.OK, Measured.WRONG)
    finally:
        s.close()
    builds = [e for e in events if e[0] == "build"]
    assert len(builds) == 2 and all(e[2].startswith("atlas-build") for e in builds)
    times = [e[1] for e in events if e[0] == "time"]
    # the second candidate's folder was made before the first was timed
    assert events.index(builds[1]) < events.index(("time", times[0]))


def test_the_genome_chooses_among_the_e_class_members_each_proven(here):
    """A root whose class holds several forms (a saturating add written as a
    carry test: `add_sat`, and the select in two spellings) offers each of
    them, proven, and every combination computes what the source does."""
    from atlas.meaning.terms import Term

    s = _search(INTENTS / "naive.ax", here, Options(generated_size=64), "add_clamped")
    try:
        space = s.space
        assert max(len(c) for c in space.choices) >= 3
        root = next(r for r, c in zip(space.roots, space.choices) if len(c) >= 3)
        forms = s.candidates.forms(root)
        assert forms[0] == s.candidates.sources[root] and len(set(forms)) == len(forms)
        assert any(t.op == "add_sat" for t in forms)
        source = ir.Module((s.candidates.base(tuple(0 for _ in space.roots)),), ())
        rng = np.random.default_rng(3)
        a, b = rng.integers(0, 256, 64, dtype=np.uint8), rng.integers(0, 256, 64, dtype=np.uint8)
        want = np.zeros(64, np.uint8)
        interp.run(source, "add_clamped", 64, a, b, want)
        for k in range(len(forms)):
            g = space.default()
            g = Genome(tuple(k if r == root else f for r, f in zip(space.roots, g.forms)))
            assert space.contains(g)
            got = np.zeros(64, np.uint8)
            interp.run(ir.Module((s.candidates.base(g.forms),), ()), "add_clamped", 64, a, b, got)
            assert np.array_equal(got, want), forms[k]
        # a member that is not equal (an e-graph fault) is refuted, not offered
        wrong = Term("sub", forms[0].ty, forms[0].args[1:] if forms[0].op == "select" else forms[0].args)
        s.candidates.alternatives = {**s.candidates.alternatives, root: (*s.candidates.alternatives[root], wrong)}
        s.candidates._forms.clear()
        s.candidates._unproven[root] = s.candidates._distinct_forms(root)
        assert wrong in s.candidates._unproven[root]  # put to Z3, not dropped before
        assert wrong not in s.candidates.forms(root)
        assert any("refuted" in note for note in s.candidates.notes)
    finally:
        s.close()
