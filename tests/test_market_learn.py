"""Learning while the market runs: lessons hold only the past, the winner
is swapped in between rounds of bids, the simulator's learning is
deterministic, a real market learns in a process of its own and keeps
what it learned for this machine."""

from __future__ import annotations

import math
import time

import numpy as np

import pytest
from click.testing import CliRunner

import golden
from atlas.market import daemons, dispatch, learn, policies, sim, store, workloads
from atlas.market.models import PerfModel
from atlas.market.records import DONE
from atlas.market.selector import FEATURES, HAND_WRITTEN, Selector
from atlas.market.tasks import Access, Handle, Task, TaskGraph, Use
from atlas.machine.probe import probe

HEAD = HAND_WRITTEN[HAND_WRITTEN.index("fn bid") : HAND_WRITTEN.index("{") + 1]
SMALL = learn.Plan(every=40, window=120, generations=2, population=6, seeds=(1,))


def selector(body: str) -> Selector:
    return Selector.parse(f"{HEAD}\n    {body}\n}}\n")


def _platform() -> sim.Platform:
    units = (sim.UnitSpec("cpu0", "cpu"), sim.UnitSpec("cpu1", "cpu"), sim.UnitSpec("gpu0", "gpu", 1))
    costs = {
        ("small", "cpu"): sim.Cost(2e-5, 0.0),
        ("small", "gpu"): sim.Cost(6e-5, 0.0),
        ("big", "cpu"): sim.Cost(4e-4, 0.0),
        ("big", "gpu"): sim.Cost(5e-5, 0.0),
    }
    return sim.Platform(units, costs, noise=0.2)


def _stream(count: int = 240) -> TaskGraph:
    return workloads.stream(
        count, 5e-5, [workloads.Mix("small", 64)], after=[workloads.Mix("big", 4096)], switch=0.5, seed=3
    )


def test_a_lesson_holds_only_tasks_already_released_and_renumbers_them():
    g = _stream()
    run = sim.simulate(g, _platform(), policies.Eager(), dispatch.Dispatcher(), seed=1)
    now = g.tasks[150].release
    got = learn.lesson(g, run.platform, run.times, run.ledger.array(), now, {"cpu": HAND_WRITTEN}, SMALL)
    kept = [t for t in g.tasks if t.release <= now][-SMALL.window :]
    assert len(got.graph) == len(kept) == SMALL.window
    assert all(t.release <= now - kept[0].release for t in got.graph.tasks)
    assert [t.kind for t in got.graph.tasks] == [t.kind for t in kept]
    assert [t.ident for t in got.graph.tasks] == list(range(len(kept)))
    # every kept record is its task's, re-numbered
    assert len(got.records) == len(kept) and set(got.records["outcome"]) == {DONE}
    for r in got.records:
        old = kept[int(r["task"])]
        assert run.times[old.ident].end == r["end"]
    assert got.done == len(g)


def test_a_lessons_window_keeps_the_dependencies_inside_it_only():
    a = Handle("a", 8)
    g = TaskGraph()
    for _ in range(6):
        g.submit(Task("small", 1, (Use(a, Access.RW),)))  # a chain
    run = sim.simulate(g, _platform(), policies.Eager(), dispatch.Dispatcher())
    got = learn.lesson(g, run.platform, run.times, run.ledger.array(), 0.0, {}, learn.Plan(window=3))
    assert [t.deps for t in got.graph.tasks] == [(), (0,), (1,)]


def test_a_swap_takes_effect_from_the_next_round_of_bids():
    p = _platform()
    g = _stream(20)
    m = policies.Market({"cpu": selector("return 1.0;"), "gpu": selector("return 1.0;")})
    state = sim.State(g, p, PerfModel(), dispatch.Dispatcher())
    state.dispatcher.start(state)
    m.start(state, 0)
    for t in g.tasks[:3]:
        state.ready_at[t.ident] = 0.0
        m.ready(t, state)
    unit = state.units[0]
    before = m._bids(unit, state)[1]
    m.swap({"cpu": selector("return 0.0 - 1.0;"), "gpu": selector("return 1.0;")})
    after = m._bids(unit, state)[1]  # same clock, same pool: only the swap can change it
    assert list(before) == [1.0] * 3 and list(after) == [-1.0] * 3
    assert m.pick(unit, state) is None


def test_the_simulator_learns_while_it_runs_and_the_same_seed_learns_the_same():
    def once():
        slow = {
            "cpu": selector("return 0.0 - 1.0;"),
            "gpu": selector("return 0.0 - 1.0;"),
        }  # declines all: one at a time
        market = policies.Market(slow)
        learner = learn.Learner(SMALL, inline=True)
        run = sim.simulate(_stream(), _platform(), market, dispatch.Dispatcher(), seed=5, learner=learner)
        return run, learner, market

    run, learner, market = once()
    assert learner.given >= 2 and learner.swaps
    for sw in learner.swaps:
        assert sw.after > sw.before and sw.tasks <= SMALL.window
        assert sw.done % SMALL.every == 0 or sw.done >= SMALL.every
    # what bids at the end is what was swapped in last
    assert {k: s.text for k, s in market.selectors.items()} == learner.swaps[-1].texts
    stuck = sim.simulate(
        _stream(),
        _platform(),
        policies.Market({"cpu": selector("return 0.0 - 1.0;"), "gpu": selector("return 0.0 - 1.0;")}),
        dispatch.Dispatcher(),
        seed=5,
    )
    assert run.makespan < stuck.makespan and run.earnings > stuck.earnings
    again, learner2, _ = once()
    assert again.makespan == run.makespan and [s.texts for s in learner2.swaps] == [s.texts for s in learner.swaps]


def test_an_inline_lesson_is_answered_every_tasks_later():
    learner = learn.Learner(learn.Plan(every=10, generations=1, population=4, seeds=(1,)), inline=True)
    g = _stream(40)
    run = sim.simulate(g, _platform(), policies.Eager(), dispatch.Dispatcher(), seed=1)
    texts = {"cpu": HAND_WRITTEN, "gpu": HAND_WRITTEN}
    learner.give(learn.lesson(g, run.platform, run.times, run.ledger.array()[:12], math.inf, texts, learner.plan))
    assert not learner.due(15)
    assert learner.take(19, 0.0) is None and not learner.due(19)
    learner.take(22, 0.0)
    assert learner.due(22)


def test_only_a_market_learns():
    with pytest.raises(ValueError, match="only the market's selectors learn"):
        with daemons.Market([0]) as m:
            m.run(policies.Dmda(), learner=learn.Learner(SMALL))


@pytest.mark.cc
def test_atlas_market_run_learns_and_keeps_the_selector_for_this_machine(tmp_path, monkeypatch):
    from atlas.tools.cli import main

    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path / "cache"))
    wl = tmp_path / "w.yaml"
    wl.write_text(f"intents: [{golden.ROOT / 'intents' / 'market' / 'cholesky.ax'}]\ncholesky: {{n: 128, tile: 32}}\n")
    target = probe()
    bad = store.machine_folder(target) / "cpu.ax"
    bad.parent.mkdir(parents=True)
    bad.write_text(HAND_WRITTEN.replace("return", "retrun"))
    r = CliRunner().invoke(main, ["market", "run", str(wl), "--policy", "market"])
    assert r.exit_code == 1 and f"{bad}:" in r.output and "Traceback" not in r.output
    bad.write_text(selector("return 0.0 - 1.0;").text)  # declines every task: the market clears one at a time
    r = CliRunner().invoke(main, ["market", "run", str(wl), "--policy", "market"])
    assert r.exit_code == 0, r.output
    assert "market selector: kept for this machine" in r.output
    assert "learned after the run" in r.output and "kept for this machine in" in r.output
    assert "the factor matches numpy's" in r.output
    kept = store.machine_selectors(target)["cpu"]
    assert kept.text != selector("return 0.0 - 1.0;").text
    r = CliRunner().invoke(main, ["market", "selectors"])
    assert r.exit_code == 0 and kept.text in r.output and str(bad) in r.output
    r = CliRunner().invoke(main, ["market", "run", str(wl), "--policy", "market", "--no-learn"])
    assert r.exit_code == 0 and "learned" not in r.output
    assert store.machine_selectors(target)["cpu"].text == kept.text


@pytest.mark.cc
def test_a_lesson_crosses_to_the_learners_process_and_its_answer_comes_back_compiled(tmp_path):
    g = _stream()
    slow = {"cpu": selector("return 0.0 - 1.0;").text, "gpu": selector("return 0.0 - 1.0;").text}
    run = sim.simulate(
        g, _platform(), policies.Market({k: Selector.parse(t) for k, t in slow.items()}), dispatch.Dispatcher()
    )
    learner = learn.Learner(SMALL, build=(probe(), tmp_path / "learned"))
    learner.start()
    try:
        learner.give(learn.lesson(g, run.platform, run.times, run.ledger.array(), math.inf, slow, SMALL))
        got = None
        while got is None and learner._busy:
            time.sleep(0.05)
            got = learner.take(len(g), 1.5)
    finally:
        learner.close()
    assert got is not None and got.after > got.before and got.at == 1.5
    inline = learn.study(learn.lesson(g, run.platform, run.times, run.ledger.array(), math.inf, slow, SMALL))
    assert inline is not None and inline.texts == got.texts  # the same lesson learns the same anywhere
    # the learner compiled the winners' rounds: the market loads them and bids the same bits
    assert set(got.folders) == set(got.texts)
    compiled, plain = got.selectors(), inline.selectors()
    cols = {f: np.linspace(-3.0, 50.0, 40) + i for i, f in enumerate(FEATURES)}
    for k in got.texts:
        assert compiled[k].native is not None and plain[k].native is None
        assert compiled[k].bids(cols).tobytes() == plain[k].bids(cols).tobytes()
