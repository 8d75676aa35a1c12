"""The genetic search itself, with made-up fitness functions: deterministic,
bounded, stops on a plateau, survives candidates that crash, finds a good
genome in a space too large to try whole."""

import random

import pytest

from atlas.search.explode import Evaluation, Genetic, Genome, Options, Space, crossover, mutate
from atlas.search.worker import Measured

SPACE = Space(
    roots=("r0", "r1"),
    shapes=("plain", "hot-path"),
    vector_width=(0, 1, 4, 8, 16),
    interleave=(0, 1, 2, 4),
    unroll=(0, 1, 2, 4),
    prefer_width_bits=(0, 256, 512),
)


def bowl(g: Genome) -> Evaluation:
    """A fitness landscape with one best genome: vw 8, il 4, ur 2, hot path, both atlas forms."""
    t = 100.0
    t *= {0: 1.0, 1: 1.6, 4: 0.9, 8: 0.7, 16: 0.8}[g.vector_width]
    t *= {0: 1.0, 1: 1.2, 2: 0.95, 4: 0.85}[g.interleave]
    t *= {0: 1.0, 1: 1.1, 2: 0.9, 4: 1.05}[g.unroll]
    t *= 0.8 if g.shape == "hot-path" else 1.0
    t *= 1.0 - 0.05 * sum(g.forms)
    return Evaluation(g, Measured.OK, times=[t, 2 * t])


BEST = Genome((True, True), "hot-path", 8, 4, 2, 0)


def test_genome_round_trip_and_description():
    g = Genome((True, False), "tier64", 8, 2, 0, 512)
    assert Genome.from_dict(g.as_dict()) == g
    assert g.describe() == "tier64 atlas 1/2 vw=8 il=2 pw=512"
    assert SPACE.default() == Genome((True, True))
    assert SPACE.size() == 4 * 2 * 5 * 4 * 4 * 3


def test_mutation_and_crossover_stay_in_the_space():
    rng = random.Random(1)
    g = SPACE.default()
    for _ in range(200):
        m = mutate(g, SPACE, rng)
        assert m != g and SPACE.contains(m)
        c = crossover(g, m, SPACE, rng)
        assert SPACE.contains(c)
        for name in ("shape", "vector_width", "interleave", "unroll", "prefer_width_bits"):
            assert getattr(c, name) in (getattr(g, name), getattr(m, name))
        g = m


def test_finds_the_best_of_a_large_space_with_few_evaluations():
    ga = Genetic(SPACE, bowl, Options(max_evals=80, budget_s=60, plateau=20, seed=0))
    best, how = ga.run()
    assert how.evaluations <= 80 < SPACE.size()
    assert best.fitness <= bowl(BEST).times[0] / bowl(SPACE.default()).times[0] * 1.15
    assert best.fitness < 0.6  # far below the default's 1.0
    assert ga.order[0] == SPACE.default()  # the default is the baseline, measured first


def test_deterministic_for_a_seed():
    def order(seed):
        ga = Genetic(SPACE, bowl, Options(max_evals=30, seed=seed, plateau=99))
        ga.run()
        return ga.order

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_stops_on_a_plateau():
    flat = lambda g: Evaluation(g, Measured.OK, times=[100.0])  # noqa: E731
    ga = Genetic(SPACE, flat, Options(max_evals=500, plateau=3, population=6))
    best, how = ga.run()
    assert how.stop.startswith("plateau")
    assert how.evaluations < 500
    assert best.genome == SPACE.default()  # nothing better than the default: keep it


def test_stops_at_the_time_limit():
    ga = Genetic(SPACE, bowl, Options(max_evals=500, budget_s=0))
    best, how = ga.run()
    assert how.stop == "time limit" and how.evaluations == 1


def test_crashing_and_hanging_candidates_cost_only_themselves():
    def risky(g):
        if g.vector_width == 16:
            return Evaluation(g, Measured.CRASHED, detail="SIGSEGV")
        if g.unroll == 4:
            return Evaluation(g, Measured.TIMEOUT, detail="killed")
        return bowl(g)

    ga = Genetic(SPACE, risky, Options(max_evals=60, plateau=20))
    best, how = ga.run()
    statuses = {e.status.value for e in ga.evaluated.values()}
    assert {"crashed", "timeout"} <= statuses
    assert best.status is Measured.OK and best.genome.vector_width != 16 and best.genome.unroll != 4
    assert best.fitness < 1.0


def test_a_default_that_does_not_run_ends_the_search():
    broken = lambda g: Evaluation(g, Measured.ERROR, detail="no")  # noqa: E731
    best, how = Genetic(SPACE, broken, Options()).run()
    assert best.status is Measured.ERROR and how.evaluations == 1
    assert "did not run" in how.stop


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_never_measures_a_genome_twice(seed):
    calls = []

    def counting(g):
        calls.append(g)
        return bowl(g)

    Genetic(SPACE, counting, Options(max_evals=50, seed=seed, plateau=99)).run()
    assert len(calls) == len(set(calls))
