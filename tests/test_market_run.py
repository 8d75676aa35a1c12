"""The market on this machine's cores: daemons that run compiled tasks on
shared arrays, under every policy, through crashes, kill -9 and hangs,
with nothing lost and nothing run twice into the result."""

from __future__ import annotations

import numpy as np
import pytest
from pathlib import Path
from click.testing import CliRunner

import golden
from atlas.market import daemons, execute, learn, policies
from atlas.market.records import DONE
from atlas.market.selector import HAND_WRITTEN, Selector
from atlas.machine.probe import probe
from atlas.pipeline import compile_files

pytestmark = pytest.mark.cc

KERNELS = """
fn scale(n: u64, k: f64, x: mut [f64; n]) {
    for i in 0..n { x[i] = x[i] * k; }
}
fn addto(n: u64, x: [f64; n], y: mut [f64; n]) {
    for i in 0..n { y[i] = y[i] + x[i]; }
}
"""


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    where = tmp_path_factory.mktemp("market-kernels")
    (where / "k.ax").write_text(KERNELS)
    compile_files([str(where / "k.ax")], probe(), where / "out", search=None)
    return where / "out"


def _graph(m: daemons.Market, n: int = 16):
    """x = 2x; y += x; y = 3y; x = x / 2; z += y: five tasks, a chain with a side branch."""
    x = m.put(np.arange(n, dtype=np.float64), "x")
    y = m.put(np.ones(n), "y")
    z = m.put(np.full(n, 10.0), "z")
    m.submit("scale", n, 2.0, x)
    m.submit("addto", n, x, y)
    m.submit("scale", n, 3.0, y)
    m.submit("scale", n, 0.5, x)
    m.submit("addto", n, y, z)
    a = np.arange(n, dtype=np.float64)
    want_y = (1 + 2 * a) * 3
    return (x, a), (y, want_y), (z, 10 + want_y)


def _policies():
    hand = Selector.parse(HAND_WRITTEN)
    return [
        policies.Eager(),
        policies.Random(),
        policies.WorkStealing(),
        policies.Dmda(),
        policies.Market({"cpu": hand}),
    ]


@pytest.mark.parametrize("pol", _policies(), ids=lambda p: p.name)
def test_every_policy_computes_the_sequential_result(kernels, pol):
    with daemons.Market() as m:
        m.register(kernels)
        checks = _graph(m)
        out = m.run(pol)
        for data, want in checks:
            assert np.array_equal(data.array, want)
        assert out.failed == {} and out.restarts == 0
        done = out.run.ledger.array()
        assert sorted(done[done["outcome"] == DONE]["task"].tolist()) == list(range(5))
        # the daemons' own records: each task once, by the unit that ran it
        assert out.executed is not None and sorted(out.executed["task"].tolist()) == list(range(5))
        assert [int(out.executed[out.executed["task"] == i]["unit"][0]) for i in range(5)] == [
            t.unit for t in out.run.times
        ]
        assert all(t.end >= t.start >= 0 for t in out.run.times)


@pytest.mark.parametrize("fault", ["crash", "kill", "hang"])
def test_a_lost_task_is_run_again_from_its_saved_data(kernels, fault):
    """Task 1 (y += x) loses its daemon: a crash after it scribbled on y,
    a kill -9, or a hang past the timeout.  The daemon is started again, y
    is put back, the task runs once more, and the result is exact."""
    with daemons.Market(timeout=5.0 if fault == "hang" else 60.0) as m:
        m.register(kernels)
        checks = _graph(m)
        out = m.run(policies.Eager(), inject={1: fault})
        for data, want in checks:
            assert np.array_equal(data.array, want)
        assert out.failed == {} and out.restarts == 1 and out.retried == 1


@pytest.mark.parametrize("fault", ["crash", "kill", "hang"])
@pytest.mark.parametrize("prefetch, refill", [(0, None), (3, None), (7, 3)])
def test_tasks_a_lost_daemon_held_and_had_not_begun_are_offered_again(kernels, fault, prefetch, refill):
    """Forty independent tasks, the daemons holding up to `prefetch` each
    beyond the one they run (sent in batches when refilled at `refill`):
    the one lost is run again, those queued behind it on the lost daemon go
    elsewhere or wait, and every array is scaled exactly once."""
    timeout = 5.0 if fault == "hang" else 60.0
    with daemons.Market(timeout=timeout, prefetch=prefetch, refill=refill) as m:
        m.register(kernels)
        arrays = [m.put(np.full(8, float(i + 1))) for i in range(40)]
        for a in arrays:
            m.submit("scale", 8, 2.0, a)
        out = m.run(policies.Eager(), inject={5: fault})
        assert out.failed == {} and out.restarts == 1 and out.retried == 1
        for i, a in enumerate(arrays):
            assert np.array_equal(a.array, np.full(8, 2.0 * (i + 1))), i
        done = out.run.ledger.array()
        assert sorted(done[done["outcome"] == DONE]["task"].tolist()) == list(range(40))


def test_without_retries_the_task_and_what_needs_it_fail_and_the_rest_completes(kernels):
    with daemons.Market(retries=0) as m:
        m.register(kernels)
        (x, want_x), _, _ = _graph(m)
        out = m.run(policies.Eager(), inject={1: "crash"})
        assert set(out.failed) == {1, 2, 4}  # y += x, then y = 3y and z += y, which read what it wrote
        assert "died" in out.failed[1] and "task 1" in out.failed[2]
        # x = x / 2 only waited for y += x to read x: released, it runs
        assert np.array_equal(x.array, want_x)
        assert out.restarts == 1


def test_a_call_the_contract_refuses_fails_alone_and_the_daemon_lives_on(kernels):
    with daemons.Market() as m:
        m.register(kernels)
        short = m.put(np.ones(4), "short")
        fine = m.put(np.ones(8), "fine")
        m.submit("scale", 8, 2.0, short)  # n = 8 over an array of 4: refused by the call's checks
        m.submit("scale", 8, 2.0, fine)
        seen: list[tuple[int, int, int]] = []
        out = m.run(policies.Eager(), progress=lambda *a: seen.append(a))
        assert list(out.failed) == [0] and "length" in out.failed[0]
        assert sorted(seen) == [(0, 1, 2), (1, 1, 2)] or sorted(seen) == [(1, 0, 2), (1, 1, 2)]
        assert np.array_equal(fine.array, np.full(8, 2.0)) and out.restarts == 0


def test_the_market_reads_each_daemons_ring_through_many_laps(kernels, monkeypatch):
    """The daemons' ledgers are the market's word of what ended: with rings
    of three records, 60 tasks lap them many times, each task is taken
    once, in the order its daemon ran it, and a failure in between keeps
    its own error."""
    monkeypatch.setattr(daemons, "LEDGER_RECORDS", 3)
    with daemons.Market(prefetch=1) as m:
        m.register(kernels)
        arrays = [m.put(np.full(8, float(i + 1))) for i in range(60)]
        short = m.put(np.ones(4), "short")
        for i, a in enumerate(arrays):
            m.submit("scale", 8, 2.0, a)
            if i == 30:
                m.submit("scale", 8, 2.0, short)  # refused: the call's length check
        out = m.run(policies.Eager())
        assert list(out.failed) == [31] and "length" in out.failed[31]
        for i, a in enumerate(arrays):
            assert np.array_equal(a.array, np.full(8, 2.0 * (i + 1))), i
        done = out.run.ledger.array()
        assert sorted(done[done["outcome"] == DONE]["task"].tolist()) == [i for i in range(61) if i != 31]


def test_a_market_refuses_to_prefetch_past_its_daemons_rings(kernels):
    with pytest.raises(daemons.MarketError, match="prefetch"):
        daemons.Market(prefetch=daemons.LEDGER_RECORDS)


def test_bad_submissions_are_refused_before_anything_runs(kernels):
    with daemons.Market() as m:
        m.register(kernels)
        x = m.put(np.ones(4, dtype=np.float32))
        with pytest.raises(daemons.MarketError, match="no registered function 'nope'"):
            m.submit("nope", 4)
        with pytest.raises(daemons.MarketError, match="holds f64, the data is float32"):
            m.submit("scale", 4, 2.0, x)
        with pytest.raises(daemons.MarketError, match="pass the Data"):
            m.submit("scale", 4, 2.0, np.ones(4))


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "own-process"])
def test_a_market_on_the_daemons_learns_without_losing_or_repeating_a_task(kernels, inline):
    n, count = 64, 120
    with daemons.Market() as m:
        m.register(kernels)
        xs = [m.put(np.full(n, float(i))) for i in range(count)]
        for x in xs:
            m.submit("scale", n, 2.0, x)
            m.submit("scale", n, 3.0, x)
        declines = HAND_WRITTEN.replace("return reward / (predicted + transfer + 1.0);", "return 0.0 - 1.0;")
        slow = policies.Market({"cpu": Selector.parse(declines)})  # the market clears one task at a time
        learner = learn.Learner(learn.Plan(every=30, window=200, generations=2, population=6), inline=inline)
        out = m.run(slow, learner=learner)
        assert out.failed == {}
        for i, x in enumerate(xs):
            assert np.array_equal(x.array, np.full(n, 6.0 * i))  # each task ran once: 2 * 3
    assert learner.given >= 1
    if inline:  # answered within the run, so swapped in
        assert learner.swaps and {k: s.text for k, s in slow.selectors.items()} == learner.swaps[-1].texts
    assert learner._proc is None  # the learner's process is gone with the run


def test_the_searchs_timings_in_the_manifest_seed_the_run_time_model(kernels, tmp_path):
    """A function the search timed (its manifest's champion timings, by
    input size) is planned on those times from the first run; one it did
    not is guessed; both are judged by the times the run sees."""
    import json
    import shutil

    art = tmp_path / "art"
    shutil.copytree(kernels, art)
    manifest = json.loads((art / "manifest.json").read_text())
    manifest["functions"]["scale"]["search"] = {"genome": "plain", "median_ns": [2e6, 16e6], "sizes": [16, 128]}
    (art / "manifest.json").write_text(json.dumps(manifest))
    with daemons.Market() as m:
        m.register(art)
        assert m.measured == {"scale": ((16, 2e-3), (128, 16e-3))}
        _graph(m)
        out = m.run(policies.Dmda())
        assert out.failed == {}
        assert out.run.platform.unseen == {("addto", "cpu"), ("scale", "cpu")}
        assert out.run.platform.costs[("scale", "cpu")].mean(16) == pytest.approx(2e-3)
        assert out.run.platform.costs[("addto", "cpu")].mean(16) == pytest.approx(16e-9)
        # the history replaced the prior where the run saw the kind
        assert out.run.model.samples("scale", 16, "cpu") == 3
        assert out.run.model.predict("scale", 16, "cpu") != pytest.approx(2e-3)


def test_the_tiled_cholesky_runs_on_the_daemons_and_matches_numpy(tmp_path):
    out = tmp_path / "chol"
    compile_files([str(golden.ROOT / "intents" / "market" / "cholesky.ax")], probe(), out, search=None)
    matrix = execute.spd(64, 1)
    with daemons.Market() as m:
        m.register(out)
        job = execute.Cholesky.submit(m, matrix, 16)
        assert execute.tasks_by_kind(m.graph.tasks) == {"potrf": 4, "trsm": 6, "syrk": 6, "gemm": 4}
        res = m.run(policies.Dmda())
        assert res.failed == {}
        assert job.correct() and job.error() < 1e-12


def test_atlas_market_run_checks_the_factor(tmp_path, monkeypatch):
    from atlas.tools.cli import main

    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path / "cache"))
    wl = tmp_path / "w.yaml"
    wl.write_text(f"intents: [{golden.ROOT / 'intents' / 'market' / 'cholesky.ax'}]\ncholesky: {{n: 96, tile: 32}}\n")
    r = CliRunner().invoke(main, ["market", "run", str(wl), "--policy", "market", "--trace", str(tmp_path / "t.json")])
    assert r.exit_code == 0, r.output
    assert "10 tasks" in r.output and "market: the factor matches numpy's" in r.output
    assert (tmp_path / "cache").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("intents: [x.ax]\ncholesky: {n: 100, tile: 32}\n")
    r = CliRunner().invoke(main, ["market", "run", str(bad)])
    assert r.exit_code == 1 and "multiple of tile" in r.output and "Traceback" not in r.output


def test_the_bench_measures_the_record_site_and_empty_tasks_and_renders(tmp_path):
    import os

    from atlas.tools import marketbench as MB

    f = MB.Figures(workers=len(os.sched_getaffinity(0)))
    f.record_ns = MB.record_cost(20_000)
    f.empty_task_us = MB.empty_tasks(probe(), sorted(os.sched_getaffinity(0)), 40, tmp_path)
    f.empty_task_us_batched = MB.empty_tasks(probe(), sorted(os.sched_getaffinity(0)), 40, tmp_path, *MB.BATCHED)
    assert f.record_ns > 0 and f.empty_task_us > 0 and f.empty_task_us_batched > 0
    f.real = {"eager": {"makespan_ms": 1.0, "error": 1e-16, "failed": 0.0}}
    f.real_size = (64, 16)
    text = MB.render(f)
    assert "ns per record" in text and "per empty task" in text and "eager" in text
    assert f"refilled at {MB.BATCHED[1]}" in text


def test_the_bench_evolves_on_each_workloads_replay_and_judges_elsewhere_too(tmp_path):
    """Each simulated workload gets selectors evolved on its own replay;
    one judged also with another's shows that row, and the report says
    what the first generation earned beside the hand-written selector."""
    from atlas.tools import marketbench as MB

    shipped = Path("workloads/cholesky-hetero.yaml").read_text()
    (tmp_path / "a.yaml").write_text(shipped.replace("tiles: 12", "tiles: 4").replace("cholesky-hetero", "a"))
    (tmp_path / "b.yaml").write_text(
        shipped.replace("tiles: 12", "tiles: 5").replace("count: 8", "count: 3").replace("cholesky-hetero", "b")
    )
    f = MB.Figures()
    tiny = MB.Evolution(2, 6, (1,))
    MB.simulated(tmp_path / "a.yaml", [11], f, tiny, lambda _: None)
    MB.simulated(tmp_path / "b.yaml", [11], f, tiny.smaller(), lambda _: None, also="a")
    assert set(f.simulated["a"]) == set(MB.POLICY_ORDER)
    assert set(f.simulated["b"]) == {*MB.POLICY_ORDER, MB.ELSEWHERE}
    assert f.evolution["b"]["generations"] == 1 and f.evolution["b"]["population"] == 4
    for w in ("a", "b"):
        ev = f.evolution[w]
        assert ev["replay_evolved"] >= ev["replay_first_generation"] >= ev["replay_initial"] > 0
    text = MB.render(f)
    assert "evolved elsewhere" in text and "best of the first generation" in text and "evolved gpu:" in text


def test_the_phase_change_is_measured_window_by_window(tmp_path):
    """A stream whose mix changes: every policy's windows of tasks from the
    change, and from which task each serves every window within 10% of the
    best policy's rate."""
    from atlas.tools import marketbench as MB

    rates = {"slow": [1.0, 1.0, 2.0, 2.0], "fast": [2.0, 2.0, 2.0, 2.0], "late": [2.0, 2.0, 2.0, 1.0]}
    assert MB.recovery(rates, "fast") == 0
    assert MB.recovery(rates, "slow") == 2 * MB.WINDOW
    assert MB.recovery(rates, "late") is None
    shipped = Path("workloads/stream-phase.yaml").read_text()
    (tmp_path / "s.yaml").write_text(shipped.replace("count: 4000", "count: 1100").replace("stream-phase", "s"))
    f = MB.Figures()
    MB.simulated(tmp_path / "s.yaml", [11], f, MB.Evolution(1, 4, (1,)), lambda _: None)
    assert set(f.phase["s"]) == set(MB.POLICY_ORDER)
    assert all(len(r) == 2 and min(r) > 0 for r in f.phase["s"].values())  # 550 tasks after the change
    assert min(n for n in f.recovered["s"].values() if n is not None) == 0  # the best is within 10% of itself
    assert "after the phase change" in MB.render(f)


def test_an_unreachable_ray_cluster_is_a_clear_error(tmp_path):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("this process has joined a Ray cluster already")
    from atlas.tools.cli import main

    work = tmp_path / "w.yaml"
    work.write_text("intents: [k.ax]\ncholesky: {n: 4, tile: 2}\n")
    (tmp_path / "k.ax").write_text(KERNELS)
    wrong = {"127.0.0.1:1": "cannot reach a Ray cluster at 127.0.0.1:1", "nowhere": "expected HOST:PORT"}
    for address, said in wrong.items():
        r = CliRunner().invoke(main, ["market", "run", str(work), "--ray", address])
        assert r.exit_code == 1 and said in r.output and "Traceback" not in r.output
