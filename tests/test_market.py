"""The compute market's brain in simulation: dependency inference, the
policies on small graphs whose best schedules are known, bookkeeping,
selectors (checked, evaluated, compiled), evolution, the report, the trace,
the workload files and the CLI."""

from __future__ import annotations

import collections
import json
import math
import random

import numpy as np
import pytest
from click.testing import CliRunner

from atlas.front.diagnostics import AtlasError
from atlas.market import dispatch, evolve, policies, report, sim, store, workloads
from atlas.market.models import PerfModel
from atlas.market.records import DONE, Ledger
from atlas.market.selector import FEATURES, HAND_WRITTEN, Selector
from atlas.market.tasks import Access, Handle, Task, TaskGraph, Use
from atlas.meaning import interp
from atlas.front.check import check
from atlas.front.syntax import parse

HEAD = HAND_WRITTEN[HAND_WRITTEN.index("fn bid") : HAND_WRITTEN.index("{") + 1]


def selector(body: str) -> Selector:
    return Selector.parse(f"{HEAD}\n    {body}\n}}\n")


# ---------------------------------------------------------------- dependencies


def test_dependencies_follow_the_data_accesses():
    a, b = Handle("a", 8), Handle("b", 8)
    g = TaskGraph()
    w1 = g.submit(Task("k", 1, (Use(a, Access.W),)))
    r1 = g.submit(Task("k", 1, (Use(a, Access.R),)))
    r2 = g.submit(Task("k", 1, (Use(a, Access.R), Use(b, Access.W))))
    w2 = g.submit(Task("k", 1, (Use(a, Access.RW),)))
    r3 = g.submit(Task("k", 1, (Use(b, Access.R),)))
    assert w1.deps == ()
    assert r1.deps == (w1.ident,) and r2.deps == (w1.ident,)  # read after write; readers run together
    assert w2.deps == (w1.ident, r1.ident, r2.ident)  # write after read and after write
    assert r3.deps == (r2.ident,)
    # what each reads from an earlier writer, apart from what only orders it
    assert r1.needs == (w1.ident,) and w2.needs == (w1.ident,) and r3.needs == (r2.ident,)


def _tile_kernels(A, tiles, t, task):
    """Run one Cholesky tile task on the blocks of A (numpy, lower triangle)."""
    blk = lambda i, j: A[i * t : (i + 1) * t, j * t : (j + 1) * t]  # noqa: E731
    if task.kind == "potrf":
        k, _ = task.args
        blk(k, k)[:] = np.linalg.cholesky(blk(k, k))
    elif task.kind == "trsm":
        i, k = task.args
        blk(i, k)[:] = np.linalg.solve(blk(k, k), blk(i, k).T).T
    elif task.kind == "syrk":
        i, k = task.args
        blk(i, i)[:] -= blk(i, k) @ blk(i, k).T
    else:
        i, j, k = task.args
        blk(i, j)[:] -= blk(i, k) @ blk(j, k).T


@pytest.mark.parametrize("order_seed", [1, 2, 3])
def test_the_cholesky_graph_gives_the_factor_in_any_order_its_dependencies_allow(order_seed):
    """Run the tiles in a random order that respects only the inferred
    dependencies: the factor is numpy's.  A missing dependency would let a
    tile be read before it is final."""
    tiles, t = 4, 3
    g = workloads.cholesky(tiles, t)
    assert [sum(1 for x in g.tasks if x.kind == k) for k in workloads.CHOLESKY_KINDS] == [4, 6, 6, 4]
    rng = np.random.default_rng(0)
    m = rng.standard_normal((tiles * t, tiles * t))
    spd = m @ m.T + tiles * t * np.eye(tiles * t)
    A = spd.copy()
    waiting = [len(x.deps) for x in g.tasks]
    succ = g.successors()
    ready = [x.ident for x in g.tasks if not x.deps]
    pick = random.Random(order_seed)
    while ready:
        i = ready.pop(pick.randrange(len(ready)))
        _tile_kernels(A, tiles, t, g.tasks[i])
        for s in succ[i]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    assert np.allclose(np.tril(A), np.linalg.cholesky(spd))


# ---------------------------------------------------------------- the policies


def _platform(units, costs, noise=0.0):
    """Exact run times and free transfers, so the best schedule is known."""
    return sim.Platform(
        tuple(units), {k: sim.Cost(*v) for k, v in costs.items()}, bandwidth=math.inf, latency=0.0, noise=noise
    )


def _independent(n, kind="k", size=1):
    g = TaskGraph()
    for i in range(n):
        g.submit(Task(kind, size, (Use(Handle(f"d{i}", 8), Access.RW),)))
    return g


ALL = [lambda: policies.Eager(), lambda: policies.WorkStealing(), lambda: policies.Dmda(), lambda: policies.Random()]


@pytest.mark.parametrize("make", ALL + [lambda: policies.Market({"cpu": Selector.parse(HAND_WRITTEN)})])
def test_identical_units_split_equal_tasks_evenly(make):
    """Four equal tasks on two equal units: the best makespan is two tasks'
    time, and every policy but random must reach it."""
    p = _platform([sim.UnitSpec("cpu0", "cpu"), sim.UnitSpec("cpu1", "cpu")], {("k", "cpu"): (1.0, 0.0)})
    pol = make()
    run = sim.simulate(_independent(4), p, pol, dispatch.Dispatcher(), seed=0)
    if pol.name == "random":
        assert run.makespan in (2.0, 3.0, 4.0)
    else:
        assert run.makespan == 2.0
    assert sorted(t.end for t in run.times) == (
        [1.0, 1.0, 2.0, 2.0] if pol.name != "random" else sorted(t.end for t in run.times)
    )


def test_a_chain_runs_in_order_whatever_the_policy():
    h = Handle("x", 8)
    g = TaskGraph()
    for _ in range(5):
        g.submit(Task("k", 1, (Use(h, Access.RW),)))
    p = _platform([sim.UnitSpec("cpu0", "cpu"), sim.UnitSpec("cpu1", "cpu")], {("k", "cpu"): (1.0, 0.0)})
    for make in ALL:
        run = sim.simulate(g, p, make(), dispatch.Dispatcher(), seed=0)
        assert [t.end for t in run.times] == [1.0, 2.0, 3.0, 4.0, 5.0]


def _fast_and_slow():
    """A unit ten times faster than the other at the only kind."""
    return _platform(
        [sim.UnitSpec("cpu0", "cpu"), sim.UnitSpec("gpu0", "gpu", node=1)],
        {("k", "cpu"): (10.0, 0.0), ("k", "gpu"): (1.0, 0.0)},
    )


def _measured(**seconds) -> PerfModel:
    """A history model that has seen kind k on each class, `seconds` each."""
    model = PerfModel()
    for klass, t in seconds.items():
        for _ in range(policies.CALIBRATION):
            model.observe("k", 1, klass, t)
    return model


def test_dmda_sends_work_to_the_fast_unit_and_eager_does_not():
    """Eight equal tasks, one unit 10x faster, the models measured: the best
    schedule runs all eight on the fast unit (8 s); eager gives the slow
    unit the first task (10 s)."""
    p = _fast_and_slow()
    g = _independent(8)
    dmda = sim.simulate(g, p, policies.Dmda(), dispatch.Dispatcher(), seed=0, model=_measured(cpu=10.0, gpu=1.0))
    eager = sim.simulate(g, p, policies.Eager(), dispatch.Dispatcher(), seed=0)
    assert dmda.makespan == 8.0 and all(t.unit == 1 for t in dmda.times)
    assert eager.makespan == 10.0


def test_dmda_places_each_task_where_a_look_at_every_unit_says_it_ends_first():
    """Units of one class share a prediction and units on nodes that hold
    none of a task's data share a transfer, so dmda works each out once a
    placement: on 56 cores and 8 GPUs, each its own memory node, with the
    history measured, every task goes to the first unit that a look at
    every unit says ends it first."""
    w = workloads.load("workloads/cholesky-64.yaml")
    g = workloads.cholesky(8, 64)
    first = sim.simulate(g, w.platform, policies.Dmda(), dispatch.Dispatcher(), seed=3)
    checked = []

    class Checked(policies.Dmda):
        def place(self, task, state):
            queued = list(self.queued_until)
            got = super().place(task, state)
            known = self.capable(task, state)
            ends = [
                max(state.now, u.busy_until, queued[u.index]) + state.transfer(task, u) + state.predicted(task, u)
                for u in known
            ]
            assert got is known[ends.index(min(ends))]
            checked.append(task.ident)
            return got

    sim.simulate(g, w.platform, Checked(), dispatch.Dispatcher(), seed=4, model=first.model)
    assert len(checked) == len(g)


def test_dmda_calibrates_each_class_it_has_no_history_for():
    p = _fast_and_slow()
    run = sim.simulate(_independent(8), p, policies.Dmda(), dispatch.Dispatcher(), seed=0)
    assert {t.unit for t in run.times} == {0, 1}
    assert run.model.samples("k", 1, "cpu") >= 1 and run.model.samples("k", 1, "gpu") >= 1


def test_dmda_sends_a_class_it_calibrates_no_more_than_calibration_takes():
    """Forty tasks ready at once; the gpu class is measured, the cpu class
    not: the cpu unit gets its calibration runs, not the whole wave."""
    p = _platform(
        [sim.UnitSpec("cpu0", "cpu")] + [sim.UnitSpec(f"gpu{i}", "gpu", node=1) for i in range(4)],
        {("k", "cpu"): (1.0, 0.0), ("k", "gpu"): (1.0, 0.0)},
    )
    run = sim.simulate(_independent(40), p, policies.Dmda(), dispatch.Dispatcher(), seed=0, model=_measured(gpu=1.0))
    assert sum(t.unit == 0 for t in run.times) == policies.CALIBRATION
    assert run.makespan <= 10.0  # 37 tasks on four units


@pytest.mark.parametrize("make", ALL)
def test_a_retired_unit_gives_back_what_it_was_given_and_takes_nothing_more(make):
    """A unit whose machine left: the policy hands back the tasks it had
    queued for it and never offers it another; a unit that joins is asked
    like the others, and nothing is lost or given twice."""
    p = _platform([sim.UnitSpec("cpu0", "cpu"), sim.UnitSpec("cpu1", "cpu")], {("k", "cpu"): (1.0, 0.0)})
    g = _independent(6)
    state = sim.State(g, p, PerfModel(), dispatch.Dispatcher())
    pol = make()
    pol.start(state, 0)
    for t in g.tasks:
        pol.ready(t, state)
    gone = state.units[1]
    state.lose(gone)
    back = pol.retire(gone, state)
    for t in back:
        pol.ready(t, state)
    assert pol.pick(gone, state) is None
    late = sim.UnitState(sim.UnitSpec("cpu2", "cpu"), 2)
    state.join(late)
    pol.join(late, state)
    taken = []
    for u in (state.units[0], late, state.units[0], late, state.units[0], late):
        t = pol.pick(u, state)
        if t is not None:
            taken.append(t.ident)
    while (t := pol.pick(state.units[0], state)) is not None:
        taken.append(t.ident)
    assert sorted(taken) == list(range(6))  # nothing lost, nothing twice


def test_a_selector_can_leave_work_to_a_faster_unit():
    """The slow unit bids only where it is the better place (`advantage`);
    the market then matches the best schedule; the hand-written selector,
    which ignores the other units, does not."""
    p = _fast_and_slow()
    g = _independent(8)
    model = _measured(cpu=10.0, gpu=1.0)
    wise = selector("return select(advantage < 1.0, -1.0, reward);")
    run = sim.simulate(g, p, policies.Market({"cpu": wise, "gpu": wise}), dispatch.Dispatcher(), seed=0, model=model)
    assert run.makespan == 8.0 and all(t.unit == 1 for t in run.times)
    hand = Selector.parse(HAND_WRITTEN)
    naive = sim.simulate(
        g,
        p,
        policies.Market({"cpu": hand, "gpu": hand}),
        dispatch.Dispatcher(),
        seed=0,
        model=_measured(cpu=10.0, gpu=1.0),
    )
    assert naive.makespan > 8.0


def test_the_market_clears_when_every_unit_declines():
    never = selector("return -1.0;")
    p = _platform([sim.UnitSpec("cpu0", "cpu")], {("k", "cpu"): (1.0, 0.0)})
    run = sim.simulate(_independent(3), p, policies.Market({"cpu": never}), dispatch.Dispatcher(), seed=0)
    assert run.makespan == 3.0


def test_transfers_are_paid_once_and_a_write_invalidates_other_copies():
    h = Handle("x", 12_000)
    g = TaskGraph()
    g.submit(Task("k", 1, (Use(h, Access.R),)))
    g.submit(Task("k", 1, (Use(h, Access.R),)))
    g.submit(Task("w", 1, (Use(h, Access.RW),)))
    g.submit(Task("k", 1, (Use(h, Access.R),)))
    p = sim.Platform(
        (sim.UnitSpec("gpu0", "gpu", node=1), sim.UnitSpec("cpu0", "cpu")),
        {("k", "gpu"): sim.Cost(1.0, 0.0), ("w", "cpu"): sim.Cost(1.0, 0.0)},
        bandwidth=12_000.0,
        latency=0.5,
        noise=0.0,
    )
    run = sim.simulate(g, p, policies.Eager(), dispatch.Dispatcher(), seed=0)
    # the GPU copies x in (0.5 + 1 s), reads it again for free, the CPU's
    # write makes the GPU's copy stale, so the last read copies it again
    assert [t.transfer for t in run.times] == [1.5, 0.0, 0.0, 1.5]


def test_a_run_is_the_same_for_the_same_seed():
    w = workloads.load("workloads/cholesky-hetero.yaml")
    hand = Selector.parse(HAND_WRITTEN)
    runs = [
        sim.simulate(w.graph, w.platform, policies.Market({"cpu": hand, "gpu": hand}), dispatch.Dispatcher(), seed=5)
        for _ in range(2)
    ]
    assert [t.end for t in runs[0].times] == [t.end for t in runs[1].times]
    other = sim.simulate(w.graph, w.platform, policies.Dmda(), dispatch.Dispatcher(), seed=6)
    assert [t.end for t in other.times] != [t.end for t in runs[0].times]


class _AskingAll:
    """A policy that says work waits whenever a unit runs: the simulator
    then asks every idle unit at every event, as it did before it asked
    only while a task waits."""

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name

    def __getattr__(self, attr):
        return getattr(self.inner, attr)

    def waiting(self, state):
        return self.inner.waiting(state) or any(u.running is not None for u in state.units)


@pytest.mark.parametrize("path", ["workloads/cholesky-hetero.yaml", "workloads/stream-phase.yaml"])
@pytest.mark.parametrize("name", policies.NAMES)
def test_asking_idle_units_only_while_a_task_waits_changes_no_schedule(path, name):
    w = workloads.load(path)
    hand = Selector.parse(HAND_WRITTEN)

    def run(wrap):
        pol = policies.by_name(name, {k: hand for k in w.platform.classes()})
        return sim.simulate(w.graph, w.platform, wrap(pol), dispatch.Dispatcher(), seed=2)

    asked, plain = run(_AskingAll), run(lambda p: p)
    assert [(t.unit, t.start, t.end) for t in plain.times] == [(t.unit, t.start, t.end) for t in asked.times]
    assert plain.decisions < asked.decisions


def test_a_graph_is_paid_by_its_end():
    """For a graph the earnings fall as the makespan grows past the plan."""
    w = workloads.load("workloads/cholesky-hetero.yaml")
    runs = [sim.simulate(w.graph, w.platform, make(), dispatch.Dispatcher(), seed=1) for make in ALL]
    by_makespan = sorted(runs, key=lambda r: r.makespan)
    assert [r.earnings for r in by_makespan] == sorted((r.earnings for r in runs), reverse=True)


def test_a_task_no_unit_can_run_is_refused():
    p = _platform([sim.UnitSpec("cpu0", "cpu")], {("k", "cpu"): (1.0, 0.0)})
    with pytest.raises(ValueError, match="can run on no unit"):
        sim.simulate(_independent(1, kind="other"), p, policies.Eager(), dispatch.Dispatcher())


# ---------------------------------------------------------------- bookkeeping


def test_the_ledger_keeps_the_newest_records_in_order():
    led = Ledger(capacity=4)
    for i in range(6):
        led.append(1, 2, DONE, i, float(i), i + 0.5, 1.0, 2.0, 64)
    assert led.lost == 2 and led.written == 6
    rows = led.records()
    assert [r.task for r in rows] == [2, 3, 4, 5]
    assert rows[0].start == 2.0 and rows[0].end == 2.5 and rows[0].bytes == 64
    # another view of the same buffer, told how many were written, reads the
    # same records and goes on where the writer was, marks included
    view = Ledger(capacity=4, buffer=led.buffer, written=6)
    assert [r.task for r in view.records()] == [2, 3, 4, 5]
    view.append(1, 2, DONE, 6, 6.0, 6.5, 1.0, 2.0, 64)
    assert [r.task for r in view.records()] == [3, 4, 5, 6] and view.lost == 3


def test_a_simulated_run_records_every_task():
    w = workloads.load("workloads/cholesky-hetero.yaml")
    run = sim.simulate(w.graph, w.platform, policies.Dmda(), dispatch.Dispatcher(), seed=1)
    done = run.ledger.array()
    done = done[done["task"] >= 0]
    assert sorted(done["task"].tolist()) == list(range(len(w.graph)))
    assert math.isclose(float(run.ledger.array()["earnings"][done.size :].sum()), run.earnings)


def test_a_model_round_trips_through_its_file(tmp_path):
    m = PerfModel()
    for x in (1.0, 2.0, 3.0):
        m.observe("gemm", 1000, "cpu", x)
    m.save(tmp_path / "model.json")
    back = PerfModel.from_json(json.loads((tmp_path / "model.json").read_text()))
    assert back.predict("gemm", 1000, "cpu") == 2.0 and back.samples("gemm", 700, "cpu") == 3
    assert back.predict("gemm", 1000, "gpu") is None


def test_a_prior_stands_in_until_the_history_has_the_bucket():
    """The search's timings of a variant, per size, answer where nothing
    was seen: the measured size itself, a power law between the two
    measured sizes nearest, and never once a run time of the pair is seen;
    they are not kept with the history."""
    m = PerfModel()
    m.prior("gemm", "cpu", [(4096, 1e-6), (65536, 64e-6)])  # time grows as size^1.5
    assert m.predict("gemm", 4096, "cpu") == 1e-6
    assert math.isclose(m.predict("gemm", 16384, "cpu"), 8e-6)
    assert math.isclose(m.predict("gemm", 1 << 20, "cpu"), 64e-6 * 64)  # beyond: the nearest two's law
    assert m.predict("gemm", 4096, "gpu") is None and m.predict("potrf", 4096, "cpu") is None
    m.prior("potrf", "cpu", [(1000, 2e-6), (0, 5.0), (2000, math.nan)])  # nonsense points are dropped
    assert math.isclose(m.predict("potrf", 8000, "cpu"), 16e-6)  # one size: in proportion
    m.observe("gemm", 16384, "cpu", 3e-6)
    assert m.predict("gemm", 16384, "cpu") == 3e-6 and m.samples("gemm", 16384, "cpu") == 1
    assert math.isclose(m.predict("gemm", 65536, "cpu"), 64e-6)  # other buckets: still the prior
    assert PerfModel.from_json(m.to_json()).predict("gemm", 65536, "cpu") is None


def test_a_first_run_judges_kinds_without_history_by_the_times_it_sees():
    """A real run's first platform takes the search's timings (the prior),
    else guesses a nanosecond per element, where the history knows nothing
    of a kind: a stream's task of such a kind is allowed twice the time the
    model has seen by its end, and a graph's plan is made again on what ran
    before it is paid (the guessed plan ended 250 times too early, so the
    graph earned nothing)."""
    from types import SimpleNamespace

    from atlas.market.session import platform_for

    crew = SimpleNamespace(specs=(sim.UnitSpec("cpu0", "cpu"), sim.UnitSpec("cpu1", "cpu")), bandwidth=1e9, latency=0.0)
    stream = _independent(2, size=1000)
    model = PerfModel()
    model.prior("k", "cpu", [(1000, 4e-6)])
    seeded = platform_for(crew, stream, model)
    assert seeded.costs[("k", "cpu")].mean(1000) == pytest.approx(4e-6) and seeded.unseen == {("k", "cpu")}
    model.observe("k", 1000, "cpu", 5e-6)
    assert platform_for(crew, stream, model).unseen == frozenset()
    model = PerfModel()
    guessed = platform_for(crew, stream, model)
    assert guessed.costs[("k", "cpu")].mean(1000) == pytest.approx(1e-6) and guessed.unseen == {("k", "cpu")}
    d = dispatch.Dispatcher()
    d.start(sim.State(stream, guessed, model, d))
    task = stream.tasks[0]
    model.observe("k", 1000, "cpu", 250e-6)
    assert d.pay(task, 1.0, 250e-6) == 1.0 and d.pay(task, 1.0, 1e-3) == 0.5
    chain = TaskGraph()
    for _ in range(4):
        chain.submit(Task("k", 1000, (Use(Handle("x", 8), Access.RW),)))
    model = PerfModel()
    d = dispatch.Dispatcher()
    d.start(sim.State(chain, platform_for(crew, chain, model), model, d))
    assert math.isclose(d.target, 4e-6) and d.settle(1e-3) < 1e-100
    for _ in range(4):
        model.observe("k", 1000, "cpu", 250e-6)
    d.replan(sim.State(chain, platform_for(crew, chain, model), model, None))
    assert math.isclose(d.target, 1e-3) and d.settle(1e-3) == 1.0 and d.settle(1.25e-3) == 0.5


# ---------------------------------------------------------------- selectors


def _features(n, seed):
    rng = np.random.default_rng(seed)
    cols = {k: rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4, n) for k in FEATURES}
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    for k in FEATURES:
        cols[k][: len(special)] = rng.permutation(special)
    return cols


BODIES = [
    "return reward / (predicted + transfer + 1.0);",
    "return select(advantage < 0.5, -1.0, critical);",
    "let b: f64 = min(reward, others); if waited > 3.0 { b = b * 2.0; } return max(abs(b), sqrt(queued));",
    "return (kind - queued) * -(size) / kbytes;",
    "let n: i64 = kind as i64; return (n * 3 + 1) as f64 / (predicted + 0.5);",
]


@pytest.mark.parametrize("body", BODIES)
def test_bids_are_the_interpreters_values_bit_for_bit(body):
    """The vectorised bids (or, with integers inside, the element-by-element
    ones) against the reference interpreter running the intent function,
    on random features with zeros, infinities and NaNs among them."""
    sel = selector(body)
    cols = _features(40, 3)
    bids = sel.bids(cols)
    module = check(parse(sel.text, "<selector>"))
    for i in range(40):
        want = interp.run(module, "bid", *(np.float64(cols[k][i]) for k in FEATURES))
        assert np.float64(want).tobytes() == bids[i].tobytes() or (np.isnan(want) and np.isnan(bids[i]))


@pytest.mark.parametrize(
    "text, message",
    [
        ("fn other(x: f64) -> f64 { return x; }", "defines fn bid"),
        ("fn bid(x: f64) -> f64 { return x; }", "signature is bid"),
        (
            HEAD + " let s: f64 = 0.0; while s < reward { s = s + 1.0; } return s; }",
            "must be one term",
        ),
        (HEAD + " return reward +; }", "expected"),
    ],
)
def test_what_is_not_a_selector_is_refused_with_a_reason(text, message):
    with pytest.raises(AtlasError, match=message):
        Selector.parse(text)


def test_an_evolved_selector_round_trips_through_the_checker_and_the_compiler(tmp_path):
    """The genome printed as intent text, read back to the same tree,
    compiled by Atlas for this machine; the native function's bids are the
    vectorised ones bit for bit."""
    from atlas.machine.probe import probe

    tree = evolve.Tree(
        "select",
        (
            evolve.Tree("advantage"),
            evolve.Tree("const", value=0.5),
            evolve.Tree("neg", (evolve.Tree("kbytes"),)),
            evolve.Tree(
                "/",
                (evolve.Tree("critical"), evolve.Tree("+", (evolve.Tree("waited"), evolve.Tree("const", value=2.25)))),
            ),
        ),
    )
    sel = Selector.parse(evolve.source({"cpu": tree})["cpu"])
    assert evolve.tree_of(sel.term) == tree
    native = sel.compile(probe(), tmp_path / "sel")
    cols = _features(30, 9)
    bids = sel.bids(cols)
    for i in range(30):
        got = np.float64(native(*(float(cols[k][i]) for k in FEATURES)))
        assert got.tobytes() == bids[i].tobytes() or (np.isnan(got) and np.isnan(bids[i]))


@pytest.mark.cc
def test_a_round_compiled_by_atlas_bids_as_numpy_does_bit_for_bit(tmp_path):
    """Every body above, compiled as a loop over a round's columns: the
    same bits as the numpy evaluation (NaNs, infinities and signed zeros
    among the features), for rounds of every size as its buffer grows and
    is reused for smaller ones."""
    from atlas.machine.probe import probe

    for j, body in enumerate(BODIES):
        sel = selector(body)
        native = sel.compiled(probe(), tmp_path / f"round{j}")
        assert native.native is not None and native.text == sel.text
        for n in (8, 5, 100, 30, 1000, 7):
            cols = _features(n, n + j)
            want, got = sel.bids(cols), native.bids(cols)
            assert got.tobytes() == want.tobytes(), (body, n)


def _features_one_by_one(tasks, unit, state, critical):
    """FEATURES worked out task by task from the state, as a reader of
    selector.py would: the reference for the market's columns."""
    us = 1e6
    backlog = {k: sum(1 for t in tasks if t.kind == k) for k in state.kinds}
    size = collections.Counter((o.spec.klass, o.spec.node) for o in state.units if not o.gone)

    def others(t):  # dmda's estimate on every other unit, after its group shares out the kind's backlog
        best = math.inf
        for o in state.units:
            if o is not unit and state.can_run(t, o):
                p = state.predicted(t, o)
                best = min(
                    best, state.finish_estimate(t, o, p) + backlog[t.kind] * p / size[(o.spec.klass, o.spec.node)]
                )
        return best

    rows = []
    for t in tasks:
        predicted, transfer = state.predicted(t, unit) * us, state.transfer(t, unit) * us
        other = (others(t) - state.now) * us
        mine = predicted + transfer
        rows.append(
            {
                "kind": float(state.kinds.index(t.kind)),
                "size": float(t.size),
                "kbytes": t.nbytes / 1024.0,
                "reward": state.dispatcher.reward(t, state),
                "predicted": predicted,
                "transfer": transfer,
                "others": other,
                "advantage": other / mine if mine > 0 else math.inf,
                "waited": (state.now - state.ready_at[t.ident]) * us,
                "critical": critical[t.ident] * us,
                "queued": float(len(tasks)),
            }
        )
    return {k: np.array([r[k] for r in rows]) for k in FEATURES}


@pytest.mark.parametrize("workload", ["cholesky-hetero", "stream-phase", "cholesky-64"])
def test_the_pools_columns_are_each_tasks_features_at_every_pick(workload):
    """The market keeps its ready tasks as columns and works out what
    tasks share once per group, and the bids once per group of units that
    see the market alike; at every bid of a run whose data moves between a
    CPU's and a GPU's memory (and between eight GPUs' memories), the
    columns are, bit for bit, the features worked out task by task (the
    best other unit's finish by looking at every unit), and the bids
    (those a unit alike worked out, where one did) are the selector's on
    them."""
    w = workloads.load(f"workloads/{workload}.yaml")
    tiles = {"cholesky-hetero": 5, "cholesky-64": 10}
    graph = workloads.cholesky(tiles[workload], 64) if workload in tiles else w.graph
    if workload == "stream-phase":
        graph.tasks[:] = graph.tasks[:600]
    body = "return select(advantage < 1.0, waited - transfer, others / (critical + 1.0));"
    sel = Selector.parse(HAND_WRITTEN.replace("return reward / (predicted + transfer + 1.0);", body))
    checked = []

    class Checked(policies.Market):
        def _bids(self, unit, state):
            at, bids = super()._bids(unit, state)
            if at.size:
                tasks = [self.pool.tasks[i] for i in at.tolist()]
                want = _features_one_by_one(tasks, unit, state, self.pool.critical)
                got = self.pool.features(at, unit, policies._nearest(unit, state))
                for k in FEATURES:
                    assert got[k].tobytes() == want[k].tobytes(), (k, state.now)
                assert bids.tobytes() == sel.bids(want).tobytes(), state.now
                checked.append(len(tasks))
            return at, bids

    market = Checked({k: sel for k in w.platform.classes()})
    sim.simulate(graph, w.platform, market, dispatch.Dispatcher(), seed=2)
    assert len(checked) > 50 and max(checked) > 5
    assert len(checked) > market.worked, "no unit's bids were those of a unit alike"


def test_no_policy_beats_the_benchs_lower_bound_on_mean_run_times():
    """The bench's lower bound (the longest path from release to end, or
    the work spread over the units) holds for every policy when run times
    are their means, and is met by one unit running a chain."""
    from dataclasses import replace

    from atlas.tools.marketbench import lower_bound

    w = workloads.load("workloads/cholesky-hetero.yaml")
    exact = replace(w.platform, noise=0.0)
    small = workloads.Workload("small", exact, workloads.cholesky(5, 64))
    bound = lower_bound(small)
    hand = Selector.parse(HAND_WRITTEN)
    for pol in [*(policies.POLICIES[n]() for n in policies.POLICIES), policies.Market({"cpu": hand, "gpu": hand})]:
        run = sim.simulate(small.graph, exact, pol, dispatch.Dispatcher(), seed=0)
        assert run.makespan >= bound * (1 - 1e-12), pol.name
    p = sim.Platform((sim.UnitSpec("cpu0", "cpu"),), {("f", "cpu"): sim.Cost(1.0, 0.0)}, noise=0.0)
    g = TaskGraph()
    x = Handle("x", 8)
    for _ in range(3):
        g.submit(Task("f", 1, (Use(x, Access.RW),)))
    chain = workloads.Workload("chain", p, g)
    assert lower_bound(chain) == sim.simulate(g, p, policies.Eager(), dispatch.Dispatcher()).makespan == 3.0


def test_evolution_earns_more_on_its_replay_than_where_it_started():
    w = workloads.load("workloads/cholesky-hetero.yaml")
    small = workloads.cholesky(6, 256)
    hand = Selector.parse(HAND_WRITTEN)
    recorded = sim.simulate(
        small, w.platform, policies.Market({"cpu": hand, "gpu": hand}), dispatch.Dispatcher(), seed=1
    )
    ev = evolve.evolve(recorded, generations=4, population=8, seeds=(1,), seed=0)
    assert ev.history == sorted(ev.history)  # the best is kept
    assert ev.earnings > ev.initial
    for s in ev.selectors.values():
        assert Selector.parse(s.text).term == s.term


def test_a_gene_is_a_guard_and_a_bid_that_round_trip_as_one_selector():
    """A guard under 1 declines the task (bid -1), else the unit bids the
    bid; the selector's text reads back to the same gene, and a gene whose
    guard declines nothing is its bid alone (the hand-written selector)."""
    T = evolve.Tree
    gene = evolve.Gene(T("*", (T("advantage"), T("const", value=1.25))), T("+", (T("critical"), T("waited"))))
    sel = Selector.parse(evolve.source({"cpu": gene.tree()})["cpu"])
    back = evolve.tree_of(sel.term)
    assert back is not None and evolve.gene_of(back) == gene
    cols = _features(40, 3)
    with np.errstate(invalid="ignore"):  # the features hold infinities of both signs
        want = np.where(cols["advantage"] * 1.25 < 1.0, -1.0, cols["critical"] + cols["waited"])
    assert sel.bids(cols).tobytes() == want.tobytes()
    assert (want == -1.0).any() and (want != -1.0).any()
    assert evolve.Gene(evolve.NO_GUARD, evolve.HAND_TREE).tree() == evolve.HAND_TREE


def test_the_first_generation_holds_every_pairing_of_the_yardsticks_rules():
    """Placements (anywhere, dmda's earliest finish) times orders (FIFO,
    the critical path, the hand-written bid), each a genome of the first
    generation: one generation's best earns at least what each earns."""
    w = workloads.load("workloads/cholesky-hetero.yaml")
    small = workloads.cholesky(5, 256)
    hand = Selector.parse(HAND_WRITTEN)
    recorded = sim.simulate(small, w.platform, policies.Market({"cpu": hand, "gpu": hand}), dispatch.Dispatcher())
    assert len(evolve.RULES) == len(evolve.PLACEMENTS) * len(evolve.ORDERS) == 6
    ev = evolve.evolve(recorded, generations=1, population=8, seeds=(1,), seed=0)
    platform = evolve.fitted(recorded)
    for name, gene in evolve.RULES.items():
        text = evolve.source({"cpu": gene.tree()})["cpu"]
        sel = Selector.parse(text)
        got = sim.simulate(small, platform, policies.Market({"cpu": sel, "gpu": sel}), dispatch.Dispatcher(), seed=1)
        assert ev.history[0] >= got.earnings, name


def test_the_fitted_replay_platform_learns_the_run_times_from_the_records():
    p = _fast_and_slow()
    g = TaskGraph()
    for size in (1, 2, 3, 4) * 2:
        g.submit(Task("k", size, (Use(Handle(f"d{len(g)}", 8), Access.RW),)))
    truth = sim.Platform(p.units, {("k", "cpu"): sim.Cost(1.0, 2.0), ("k", "gpu"): sim.Cost(0.5, 0.25)}, noise=0.0)
    run = sim.simulate(g, truth, policies.Eager(), dispatch.Dispatcher(), seed=0)
    fit = evolve.fitted(run)
    for key, c in truth.costs.items():
        assert math.isclose(fit.costs[key].per_call, c.per_call, abs_tol=1e-9)
        assert math.isclose(fit.costs[key].per_element, c.per_element, abs_tol=1e-9)


# ---------------------------------------------------------------- report, trace, files, CLI


def test_the_trace_is_chrome_trace_json_with_a_slice_per_task():
    w = workloads.load("workloads/cholesky-hetero.yaml")
    run = sim.simulate(w.graph, w.platform, policies.Dmda(), dispatch.Dispatcher(), seed=1)
    data = json.loads(report.trace(run))
    tasks = [e for e in data["traceEvents"] if e.get("cat") == "task"]
    assert len(tasks) == len(w.graph)
    assert all(e["ph"] == "X" and e["dur"] > 0 and e["ts"] >= 0 for e in tasks)
    names = {e["tid"]: e["args"]["name"] for e in data["traceEvents"] if e.get("name") == "thread_name"}
    assert set(names.values()) == {u.name for u in w.platform.units}
    rep = report.report(run)
    assert sum(u.tasks for u in rep.units) == len(w.graph) and rep.makespan_s == run.makespan
    assert rep.latency_p50_s <= rep.latency_p95_s <= rep.makespan_s


@pytest.mark.parametrize(
    "text, message",
    [
        ("platform: [1, 2\n", ":1:"),
        ("cholesky: {tiles: 2, tile: 4}\n", "missing 'platform'"),
        (
            "platform: {units: [{class: cpu}], costs: {potrf: {cpu: [1, 0]}}}\ncholesky: {tiles: 2, tile: 4}\n",
            "no cost for syrk, trsm",
        ),
        ("platform: {units: [{class: cpu}], costs: {}}\n", "needs 'cholesky' or 'stream'"),
    ],
)
def test_a_bad_workload_file_is_a_clear_error(tmp_path, text, message):
    f = tmp_path / "w.yaml"
    f.write_text(text)
    with pytest.raises(AtlasError, match=message) as e:
        workloads.load(f)
    assert str(f) in str(e.value)


def test_the_cli_simulates_evolves_and_shows_the_selectors(tmp_path, monkeypatch):
    from atlas.tools.cli import main

    monkeypatch.setenv("ATLAS_CACHE_DIR", str(tmp_path / "cache"))
    wl = tmp_path / "small.yaml"
    wl.write_text(
        open("workloads/cholesky-hetero.yaml")
        .read()
        .replace("cholesky: {tiles: 12, tile: 256}", "cholesky: {tiles: 5, tile: 256}")
    )
    r = CliRunner().invoke(
        main, ["market", "simulate", str(wl), "--trace", str(tmp_path / "t.json"), "--json", str(tmp_path / "r.json")]
    )
    assert r.exit_code == 0, r.output
    for name in ("eager", "random", "ws", "dmda", "market"):
        assert f"\n{name} " in r.output
    assert "cpu hand-written" in r.output
    assert len(json.loads((tmp_path / "r.json").read_text())) == 5
    json.loads((tmp_path / "t.json").read_text())
    r = CliRunner().invoke(main, ["market", "evolve", str(wl), "--generations", "3", "--population", "6"])
    assert r.exit_code == 0, r.output
    assert "-- cpu: evolved" in r.output
    stored = "stored in" in r.output
    r = CliRunner().invoke(main, ["market", "selectors", str(wl)])
    assert r.exit_code == 0 and ("stored in" in r.output) == stored
    bad = tmp_path / "bad.yaml"
    bad.write_text("platform: [\n")
    r = CliRunner().invoke(main, ["market", "simulate", str(bad)])
    assert r.exit_code == 1 and "Traceback" not in r.output and str(bad) in r.output


def test_the_cli_offers_every_policy():
    from atlas.tools import cli

    assert cli.POLICY_NAMES == policies.NAMES


def test_stored_selectors_are_per_platform(tmp_path):
    w = workloads.load("workloads/cholesky-hetero.yaml")
    sel = selector("return critical;")
    store.save(w.platform, {"cpu": sel}, root=tmp_path)
    assert store.selectors(w.platform, root=tmp_path)["cpu"].term == sel.term
    other = workloads.load("workloads/stream-phase.yaml").platform
    assert store.selectors(other, root=tmp_path) == {}


def test_folding_a_genome_keeps_its_bids():
    """Random trees with constant parts: the folded tree's selector bids
    exactly what the unfolded one does (NaN where it does)."""
    import random as _random

    make = evolve._Maker(_random.Random(5))
    cols = _features(25, 4)
    checked = 0
    for i in range(60):
        t = make.ramped(i)
        f = evolve.folded(t)
        if f == t:
            continue
        checked += 1
        a = Selector.parse(evolve.source({"cpu": t})["cpu"]).bids(cols)
        b = Selector.parse(evolve.source({"cpu": f})["cpu"]).bids(cols)
        assert a.tobytes() == b.tobytes() or np.array_equal(a, b, equal_nan=True)
    assert checked >= 5


def test_a_reader_takes_each_record_once_it_is_written_through_every_lap():
    """A ring of two slots written 600 times (past the mark's 255 laps):
    the reader sees nothing before a record is written, then exactly it."""
    from atlas.market.records import Reader

    led = Ledger(capacity=2)
    reader = Reader(2, led.buffer)
    assert reader.next() is None
    for i in range(600):
        led.append(1, 0, DONE, i, float(i), i + 0.5, 0.0, 2.0, 8)
        row = reader.next()
        assert row is not None and row[3] == i and row[4] == float(i) and row[5] == i + 0.5
        assert reader.next() is None
    assert reader.taken == 600


def test_a_ledger_refuses_a_buffer_too_small_and_wraps_a_shared_one():
    from multiprocessing import shared_memory

    from atlas.market.records import RECORD_BYTES

    with pytest.raises(ValueError, match="needs 256 bytes"):
        Ledger(4, buffer=bytearray(255))
    shm = shared_memory.SharedMemory(create=True, size=3 * RECORD_BYTES)
    try:
        led = Ledger(3, buffer=shm.buf)
        for i in range(7):  # past the end of the buffer twice
            led.append(0, 0, DONE, i, 0.0, 1.0, 0.0, 0.0, 0)
        assert [r.task for r in led.records()] == [4, 5, 6] and led.lost == 4
        del led
    finally:
        shm.close()
        shm.unlink()
